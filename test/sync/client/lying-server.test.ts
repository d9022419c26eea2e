import { describe, it, expect, afterAll } from "vitest";
import { createServer, type Server } from "node:http";
import { Repo } from "../../../src/store/repo.js";
import { Remote } from "../../../src/sync/remote.js";
import { cloneRepo, fetchRemote, pullBranch } from "../../../src/sync/operations.js";
import { concatBytes, encodePktLine, FLUSH_PKT } from "../../../src/sync/pkt-line.js";
import { PackWriter } from "../../../src/codec/pack/pack-writer.js";
import type { RawObject } from "../../../src/codec/object.js";
import { isIrminError } from "../../../src/core/errors.js";
import { decodeCommit } from "../../../src/codec/commit.js";

/** The bytes of a pack of `objects`. */
async function packOf(objects: RawObject[]): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  const w = new PackWriter((c) => void chunks.push(c), objects.length, "sha1");
  for (const o of objects) await w.writeObject(o.type, o.data);
  await w.finish();
  return concatBytes(chunks);
}

function sideband(bytes: Uint8Array): Uint8Array {
  const parts: Uint8Array[] = [];
  for (let o = 0; o < bytes.length; o += 1000) parts.push(encodePktLine(concatBytes([Uint8Array.of(1), bytes.subarray(o, o + 1000)])));
  return concatBytes(parts);
}

/** A smart-HTTP v0 server that advertises `main` at `head` and answers every fetch with `pack`. */
async function lyingServer(head: string, pack: Uint8Array): Promise<{ url: string; close: () => Promise<void> }> {
  const server: Server = createServer((req, res) => {
    if (req.method === "GET") {
      res.setHeader("content-type", "application/x-git-upload-pack-advertisement");
      res.end(concatBytes([encodePktLine("# service=git-upload-pack\n"), FLUSH_PKT, encodePktLine(`${head} HEAD\0multi_ack_detailed side-band-64k ofs-delta thin-pack symref=HEAD:refs/heads/main\n`), encodePktLine(`${head} refs/heads/main\n`), FLUSH_PKT]));
      return;
    }
    req.resume();
    req.on("end", () => {
      res.setHeader("content-type", "application/x-git-upload-pack-result");
      res.end(concatBytes([encodePktLine("NAK\n"), sideband(pack), FLUSH_PKT]));
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const addr = server.address();
  const port = typeof addr === "object" && addr !== null ? addr.port : 0;
  return { url: `http://127.0.0.1:${port}/lie.git`, close: () => new Promise((r) => server.close(() => r())) };
}

describe("a remote that lies", async () => {
  // The real objects of a two-commit history, to pick from.
  const source = await Repo.memory();
  await source.branch("main").set("a", "first");
  const c2 = (await source.branch("main").set("b", "second"))!;
  const objects = source.internals.backend.objects;
  const commit = (await objects.get(c2.hash))!;
  const tree = (await objects.get(decodeCommit(commit.data, "sha1").tree))!;
  const servers: { close: () => Promise<void> }[] = [];
  afterAll(async () => {
    for (const s of servers) await s.close();
  });

  async function expectRefused(pack: Uint8Array): Promise<void> {
    const s = await lyingServer(c2.hash, pack);
    servers.push(s);
    const local = await Repo.memory();
    const main = local.branch("main");
    await main.set("mine", "kept");
    const before = (await main.head())!.hash;
    const remote = Remote.url(s.url, { protocol: 0 });
    await expect(fetchRemote(local, remote, "main")).rejects.toSatisfy((e: unknown) => isIrminError(e, "CORRUPT"));
    await expect(pullBranch(main, remote)).rejects.toSatisfy((e: unknown) => isIrminError(e, "CORRUPT"));
    await expect(pullBranch(main, remote, { strategy: "set" })).rejects.toSatisfy((e: unknown) => isIrminError(e, "CORRUPT"));
    expect((await main.head())!.hash).toBe(before);
    expect(await local.branches()).toEqual(["main"]);
    await expect(cloneRepo(remote, { backend: "memory" })).rejects.toSatisfy((e: unknown) => isIrminError(e, "CORRUPT"));
  }

  it("advertises a commit and sends a pack without it: CORRUPT, no branch moved", async () => {
    await expectRefused(await packOf([{ type: "blob", data: new TextEncoder().encode("something else") }]));
  });

  it("sends the commit without its tree: CORRUPT", async () => {
    await expectRefused(await packOf([commit]));
  });

  it("sends the commit and tree but not the parent: CORRUPT", async () => {
    await expectRefused(await packOf([commit, tree]));
  });

  it("sends a pack whose checksum is wrong: CORRUPT", async () => {
    const pack = await packOf([commit, tree]);
    pack[pack.length - 1] ^= 1;
    await expectRefused(pack);
  });

  it("sends garbage instead of a pack: CORRUPT", async () => {
    await expectRefused(new TextEncoder().encode("PACK this is not a pack at all"));
  });
});
