import { describe, it, expect, beforeAll, afterAll } from "vitest";
import fc from "fast-check";
import { gzipSync } from "node:zlib";
import { memoryBackend } from "../../../src/backends/memory/memory-backend.js";
import { encodeCommit } from "../../../src/codec/commit.js";
import { encodeTree } from "../../../src/codec/tree.js";
import type { Hash } from "../../../src/core/hash.js";
import { Repo } from "../../../src/store/repo.js";
import { packStream } from "../../../src/sync/pack-send.js";
import { concatBytes, DELIM_PKT, encodePktLine, FLUSH_PKT, PktLineReader, RESPONSE_END_PKT } from "../../../src/sync/pkt-line.js";
import { gitAsync, tempDir } from "./fixture.js";
import { serve, type TestServer } from "./serve.js";

const ZERO = "0".repeat(40);
const who = { name: "A", email: "a@x", timestamp: 1700000000, timezone: "+0000" };

async function collect(stream: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const c of stream) parts.push(c);
  return concatBytes(parts);
}

/** A commit on top of `parent` with one new file, and a pack of its new objects (commit, tree, blob). */
async function newCommit(parent: Hash, text: string, options: { withoutTree?: boolean } = {}): Promise<{ commit: Hash; pack: Uint8Array }> {
  const scratch = memoryBackend();
  const blob = await scratch.objects.put("blob", new TextEncoder().encode(text));
  const tree = await scratch.objects.put("tree", encodeTree([{ name: "file", mode: "100644", hash: blob }], "sha1"));
  const commit = await scratch.objects.put("commit", encodeCommit({ tree, parents: [parent], author: who, committer: who, extraHeaders: [], message: `${text}\n` }));
  const pack = await collect(packStream(scratch.objects, "sha1", options.withoutTree === true ? [commit] : [commit, tree, blob]));
  return { commit, pack };
}

/** Decodes a response body of pkt-lines (no side-band) into text lines; "0000" for flushes. */
async function pktLines(body: Uint8Array): Promise<string[]> {
  const reader = new PktLineReader((async function* () { yield body; })());
  const out: string[] = [];
  for (let p = await reader.next(); p !== undefined; p = await reader.next()) out.push(p.type === "data" ? new TextDecoder().decode(p.data).replace(/\n$/, "") : p.type);
  return out;
}

describe("bad input to the server", () => {
  let repo: Repo<string>;
  let guarded: Repo<string>;
  let server: TestServer;
  let guardedServer: TestServer;
  let base: Hash;
  const post = async (name: string, service: string, body: Uint8Array, headers: Record<string, string> = {}) => {
    const res = await fetch(`${(name === "guarded.git" ? guardedServer : server).url(name)}/${service}`, { method: "POST", body, headers: { "Content-Type": `application/x-${service}-request`, ...headers } });
    return { status: res.status, body: new Uint8Array(await res.arrayBuffer()) };
  };
  const push = (commands: string[], pack?: Uint8Array, name = "r.git") =>
    post(name, "git-receive-pack", concatBytes([...commands.map((c, i) => encodePktLine(i === 0 ? `${c}\0report-status\n` : `${c}\n`)), FLUSH_PKT, ...(pack ? [pack] : [])]));
  const refs = () => repo.internals.backend.refs.list();

  beforeAll(async () => {
    repo = await Repo.memory();
    base = (await repo.branch("main").set("a", "1")).hash;
    await repo.branch("other").set("b", "2");
    guarded = await Repo.memory();
    await guarded.branch("main").set("a", "1");
    server = await serve(new Map<string, Repo<unknown>>([["r.git", repo as Repo<unknown>]]));
    guardedServer = await serve(new Map<string, Repo<unknown>>([["guarded.git", guarded as Repo<unknown>]]), { denyNonFastForwards: true });
  });
  afterAll(async () => {
    await server.stop();
    await guardedServer.stop();
    await repo.close();
    await guarded.close();
  });

  it("a truncated, corrupt or misnamed pack moves no ref", async () => {
    const before = await refs();
    const { commit, pack } = await newCommit(base, "x");
    const truncated = pack.subarray(0, pack.length - 30);
    const flipped = pack.slice();
    flipped[Math.floor(pack.length / 2)] ^= 0x55;
    const badSum = pack.slice();
    badSum[pack.length - 1] ^= 1;
    const garbage = new TextEncoder().encode("this is not a pack at all");
    for (const p of [truncated, flipped, badSum, garbage, new Uint8Array(0), pack.subarray(0, 12)]) {
      const r = await push([`${base} ${commit} refs/heads/main`, `${ZERO} ${commit} refs/heads/new`], p);
      expect(r.status).toBe(200);
      const lines = await pktLines(r.body);
      expect(lines[0]).toMatch(/^unpack (?!ok)/);
      expect(lines.slice(1, 3)).toEqual(["ng refs/heads/main unpacker error", "ng refs/heads/new unpacker error"]);
      expect(await refs()).toEqual(before);
    }
  });

  it("refuses an incomplete push, a funny ref name, a stale old value; applies the rest", async () => {
    const before = await refs();
    const incomplete = await newCommit(base, "y", { withoutTree: true });
    let r = await push([`${base} ${incomplete.commit} refs/heads/main`], incomplete.pack);
    expect(await pktLines(r.body)).toEqual(["unpack ok", "ng refs/heads/main missing necessary objects", "flush"]);
    expect(await refs()).toEqual(before);

    const good = await newCommit(base, "z");
    const other = before.find((x) => x.name === "refs/heads/other")!.hash;
    r = await push([`${ZERO} ${good.commit} refs/heads/a..b`, `${ZERO} ${good.commit} HEAD`, `${base} ${good.commit} refs/heads/other`, `${base} ${good.commit} refs/heads/main`], good.pack);
    const lines = await pktLines(r.body);
    expect(lines[0]).toBe("unpack ok");
    expect(lines[1]).toMatch(/^ng refs\/heads\/a\.\.b funny refname/);
    expect(lines[2]).toMatch(/^ng HEAD funny refname/);
    expect(lines[3]).toMatch(/^ng refs\/heads\/other failed to update ref/);
    expect(lines[4]).toBe("ok refs/heads/main");
    expect(await repo.internals.backend.refs.get("refs/heads/main")).toBe(good.commit);
    expect(await repo.internals.backend.refs.get("refs/heads/other")).toBe(other);

    // Atomic: one bad update refuses them all.
    const next = await newCommit(good.commit, "w");
    r = await post("r.git", "git-receive-pack", concatBytes([encodePktLine(`${good.commit} ${next.commit} refs/heads/main\0report-status atomic\n`), encodePktLine(`${base} ${next.commit} refs/heads/other\n`), FLUSH_PKT, next.pack]));
    expect((await pktLines(r.body)).slice(0, 3)).toEqual(["unpack ok", "ng refs/heads/main atomic push failed", expect.stringMatching(/^ng refs\/heads\/other/)]);
    expect(await repo.internals.backend.refs.get("refs/heads/main")).toBe(good.commit);

    // Deleting: needs the right old value.
    r = await push([`${base} ${ZERO} refs/heads/other`]);
    expect((await pktLines(r.body))[1]).toMatch(/^ng refs\/heads\/other/);
    r = await push([`${other} ${ZERO} refs/heads/other`]);
    expect((await pktLines(r.body))[1]).toBe("ok refs/heads/other");
    expect(await repo.internals.backend.refs.get("refs/heads/other")).toBeUndefined();
  });

  it("denyNonFastForwards refuses a forced push", async () => {
    const head = (await guarded.branch("main").head())!.hash;
    const unrelated = await newCommit(head, "q");
    // A commit whose parent is not the head: a rewrite.
    const scratch = memoryBackend();
    const tree = await scratch.objects.put("tree", encodeTree([], "sha1"));
    const rewrite = await scratch.objects.put("commit", encodeCommit({ tree, parents: [], author: who, committer: who, extraHeaders: [], message: "rewrite\n" }));
    const pack = await collect(packStream(scratch.objects, "sha1", [rewrite, tree]));
    let r = await push([`${head} ${rewrite} refs/heads/main`], pack, "guarded.git");
    expect((await pktLines(r.body))[1]).toBe("ng refs/heads/main non-fast-forward");
    r = await push([`${head} ${unrelated.commit} refs/heads/main`], unrelated.pack, "guarded.git");
    expect((await pktLines(r.body))[1]).toBe("ok refs/heads/main");
  });

  it("answers bad upload-pack requests with ERR, reads gzip bodies", async () => {
    const want = (await repo.branch("main").head())!.hash;
    let r = await post("r.git", "git-upload-pack", concatBytes([encodePktLine(`want ${"1".repeat(40)} side-band-64k\n`), FLUSH_PKT, encodePktLine("done\n")]));
    expect((await pktLines(r.body))[0]).toMatch(/^ERR upload-pack: not our ref/);
    r = await post("r.git", "git-upload-pack", concatBytes([encodePktLine(`want ${want}\n`), encodePktLine("deepen 0\n"), FLUSH_PKT]));
    expect((await pktLines(r.body))[0]).toMatch(/^ERR upload-pack: invalid deepen/);
    const lsRefs = concatBytes([encodePktLine("command=ls-refs\n"), encodePktLine("object-format=sha1\n"), DELIM_PKT, encodePktLine("symrefs\n"), FLUSH_PKT]);
    r = await post("r.git", "git-upload-pack", gzipSync(lsRefs), { "Git-Protocol": "version=2", "Content-Encoding": "gzip" });
    const lines = await pktLines(r.body);
    expect(lines).toContain(`${want} HEAD symref-target:refs/heads/main`);
    expect(lines).toContain(`${want} refs/heads/main`);
    r = await post("r.git", "git-upload-pack", gzipSync(lsRefs).subarray(0, 10), { "Git-Protocol": "version=2", "Content-Encoding": "gzip" });
    expect(r.status).toBeGreaterThanOrEqual(200);
    r = await post("r.git", "git-upload-pack", lsRefs, { "Git-Protocol": "version=2", "Content-Encoding": "br" });
    expect(r.status).toBe(415);
  });

  it("seeded fuzzed request bodies never crash the server", async () => {
    const want = (await repo.branch("main").head())!.hash;
    const line = fc.oneof(
      fc.constantFrom(`want ${want}`, `want ${want} multi_ack_detailed side-band-64k thin-pack ofs-delta no-done include-tag`, `have ${base}`, `have ${"2".repeat(40)}`, "done", "deepen 1", "deepen 0", "deepen 99999999999", `shallow ${base}`, "shallow zz", "command=fetch", "command=ls-refs", "command=nope", "object-format=sha256", "ref-prefix refs/", "peel", "symrefs", "unborn", "thin-pack", "ofs-delta", "no-progress", `${base} ${want} refs/heads/fuzz`, `${ZERO} ${ZERO} refs/heads/x`, `${want} ${ZERO} refs/heads/main`),
      fc.string({ maxLength: 60 }),
    );
    const pkt = fc.oneof(
      line.map((l) => encodePktLine(`${l}\n`)),
      fc.constantFrom(FLUSH_PKT, DELIM_PKT, RESPONSE_END_PKT, new TextEncoder().encode("0003"), new TextEncoder().encode("zzzz"), new TextEncoder().encode("ffff")),
      fc.uint8Array({ maxLength: 40 }),
    );
    const before = await refs();
    await fc.assert(
      fc.asyncProperty(fc.constantFrom("v0", "v2", "receive"), fc.array(pkt, { maxLength: 12 }), async (kind, packets) => {
        const body = concatBytes(packets);
        const r = await post("r.git", kind === "receive" ? "git-receive-pack" : "git-upload-pack", body, kind === "v2" ? { "Git-Protocol": "version=2" } : {});
        expect([200, 400, 403, 404, 415, 500]).toContain(r.status);
      }),
      { seed: 42, numRuns: 300 },
    );
    // Fuzzed pushes carry no valid pack, so no ref moved; the server still serves a real client.
    expect(await refs()).toEqual(before);
    const cwd = tempDir("irmin-fuzz-");
    try {
      const out = await gitAsync(["ls-remote", server.url("r.git")], { cwd: cwd.dir });
      expect(out.stdout).toContain("refs/heads/main");
    } finally {
      cwd.remove();
    }
  });
});
