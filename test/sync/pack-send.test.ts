import { describe, it, expect, beforeAll, afterAll } from "vitest";
import fc from "fast-check";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { gitBackend } from "../../src/backends/git/git-backend.js";
import { memoryBackend } from "../../src/backends/memory/memory-backend.js";
import type { Backend } from "../../src/backend/backend.js";
import type { ObjectStore } from "../../src/backend/object-store.js";
import { encodeCommit } from "../../src/codec/commit.js";
import { encodeTree, type TreeEntry } from "../../src/codec/tree.js";
import { objectsToSend, packStream } from "../../src/sync/pack-send.js";
import { fileText, gitOut, makeHistory, revListObjects, runGit, tempDir } from "./server/fixture.js";

async function collect(stream: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of stream) parts.push(Buffer.from(c));
  return Buffer.concat(parts);
}

/** `git verify-pack -v` summary: object ids and how many entries are deltas. */
function verifyPack(dir: string, pack: Buffer, name: string): { ids: string[]; deltas: number } {
  const path = join(dir, `${name}.pack`);
  writeFileSync(path, pack);
  runGit(["index-pack", "--strict", "-o", join(dir, `${name}.idx`), path], { cwd: dir });
  const out = gitOut(["verify-pack", "-v", path], { cwd: dir });
  const ids: string[] = [];
  let deltas = 0;
  for (const line of out.split("\n")) {
    const m = /^([0-9a-f]{40}) (\w+) +\d+ \d+ \d+(?: (\d+) [0-9a-f]{40})?$/.exec(line);
    if (m === null) continue;
    ids.push(m[1]);
    if (m[3] !== undefined) deltas++;
  }
  return { ids, deltas };
}

/** Wraps a store to count `get` calls. */
function counting(objects: ObjectStore): { store: ObjectStore; reads: () => number } {
  let reads = 0;
  const store: ObjectStore = {
    algorithm: objects.algorithm,
    get: (h) => {
      reads++;
      return objects.get(h);
    },
    has: (h) => objects.has(h),
    put: (t, d) => objects.put(t, d),
    putMany: (l) => objects.putMany(l),
    hashes: () => objects.hashes(),
  };
  return { store, reads: () => reads };
}

describe("objectsToSend and packStream on a history made by git", () => {
  const tmp = tempDir("irmin-pack-send-");
  const repo = join(tmp.dir, "repo.git");
  let backend: Backend;
  const rev = (r: string) => gitOut(["--git-dir", repo, "rev-parse", r]);
  beforeAll(async () => {
    makeHistory(repo, 20);
    backend = await gitBackend({ path: repo });
  });
  afterAll(async () => {
    await backend.close();
    tmp.remove();
  });

  // The last column: paths git finds known that the walk sends anyway (a rename: the blob is in
  // the boundary commit at another path, and the walk does not read whole boundary trees).
  const cases: [string, string[], string[], string[]][] = [
    ["a full clone", ["main"], [], []],
    ["a clone of two branches and a tag", ["main", "side", "v1"], [], []],
    ["a fetch of a few commits", ["main"], ["main~3"], []],
    ["a fetch across the merge and a rename", ["main"], ["main~10", "side~2"], ["moved/f2.txt"]],
    ["a fetch across the merge", ["main~6"], ["main~10", "side~2"], []],
    ["a fetch of the side branch only", ["side"], ["main~15"], []],
    ["nothing new", ["main~2"], ["main"], []],
  ];
  for (const [name, wants, haves, extraPaths] of cases) {
    it(`matches git rev-list --objects: ${name}`, async () => {
      const w = wants.map(rev);
      const h = haves.map(rev);
      const r = await objectsToSend(backend.objects, "sha1", w, h);
      expect(new Set(r.hashes).size).toBe(r.hashes.length);
      const expected = revListObjects(repo, w, h);
      const extra = extraPaths.map((p) => rev(`main:${p}`));
      expect(new Set(r.hashes)).toEqual(new Set([...expected, ...extra]));
      expect(r.shallow).toEqual([]);
    });
  }

  it("packs what git index-pack --strict accepts, with deltas on similar blobs", async () => {
    const r = await objectsToSend(backend.objects, "sha1", [rev("main"), rev("side"), rev("v1")], []);
    // Compressed here (no copy of stored entries): the delta search and zlib at work.
    const pack = await collect(packStream(backend.objects, "sha1", r.hashes, { reuse: false }));
    const v = verifyPack(tmp.dir, pack, "full");
    expect(new Set(v.ids)).toEqual(new Set(r.hashes));
    expect(v.deltas).toBeGreaterThan(15);
    // Without deltas the same objects, bigger.
    const plain = await collect(packStream(backend.objects, "sha1", r.hashes, { deltas: false, reuse: false }));
    const vp = verifyPack(tmp.dir, plain, "plain");
    expect(vp.deltas).toBe(0);
    expect(new Set(vp.ids)).toEqual(new Set(r.hashes));
    expect(plain.length).toBeGreaterThan(pack.length * 1.5);
    // REF_DELTA against earlier entries when the receiver cannot take OFS_DELTA.
    const refs = await collect(packStream(backend.objects, "sha1", r.hashes, { ofsDelta: false, reuse: false }));
    const vr = verifyPack(tmp.dir, refs, "refdelta");
    expect(vr.deltas).toBe(v.deltas);
  });

  it("copies what git gc packed (deltas included) without reading the objects, as OFS or REF deltas", async () => {
    const gced = join(tmp.dir, "gced.git");
    runGit(["clone", "-q", "--bare", repo, gced], { cwd: tmp.dir });
    runGit(["--git-dir", gced, "gc", "-q", "--aggressive"], { cwd: tmp.dir });
    const served = await gitBackend({ path: gced });
    try {
      const r = await objectsToSend(served.objects, "sha1", [rev("main"), rev("side"), rev("v1")], []);
      let reads = 0;
      const store = Object.create(served.objects) as ObjectStore;
      store.get = (h) => {
        reads++;
        return served.objects.get(h);
      };
      for (const ofsDelta of [true, false]) {
        reads = 0;
        const pack = await collect(packStream(store, "sha1", r.hashes, { ofsDelta }));
        const v = verifyPack(tmp.dir, pack, `reused-${ofsDelta}`);
        expect(new Set(v.ids)).toEqual(new Set(r.hashes));
        expect(v.deltas).toBeGreaterThan(15);
        // Only objects whose stored delta base is not sent are read (and compressed) here.
        expect(reads).toBeLessThan(r.hashes.length / 10);
      }
      // A thin pack: bases the receiver has are named, not sent.
      const older = await objectsToSend(served.objects, "sha1", [rev("main")], [rev("main~5")]);
      const thin = await collect(packStream(store, "sha1", older.hashes, { thinBases: [...new Set(older.baseHints.values())], baseHints: older.baseHints }));
      const fixed = join(tmp.dir, "fixed");
      runGit(["clone", "-q", "--bare", gced, fixed], { cwd: tmp.dir });
      runGit(["--git-dir", fixed, "index-pack", "--strict", "--stdin", "--fix-thin"], { cwd: tmp.dir, input: thin });
    } finally {
      await served.close();
    }
  });

  it("streams in chunks and reports progress", async () => {
    const r = await objectsToSend(backend.objects, "sha1", [rev("main")], []);
    const seen: number[] = [];
    let chunks = 0;
    for await (const c of packStream(backend.objects, "sha1", r.hashes, { onProgress: (p) => seen.push(p.done) })) {
      expect(c.length).toBeGreaterThan(0);
      chunks++;
    }
    expect(chunks).toBeGreaterThanOrEqual(1);
    expect(seen.at(-1)).toBe(r.hashes.length);
  });

  it("makes a thin pack that git completes with --fix-thin", async () => {
    const r = await objectsToSend(backend.objects, "sha1", [rev("main")], [rev("main~1")]);
    expect(r.baseHints.size).toBeGreaterThan(0);
    const pack = await collect(packStream(backend.objects, "sha1", r.hashes, { thinBases: [...r.baseHints.values()], baseHints: r.baseHints }));
    // A receiver that has main~1: a clone of it.
    const client = join(tmp.dir, "thin-client.git");
    runGit(["init", "-q", "--bare", client]);
    runGit(["--git-dir", repo, "push", "-q", client, `${rev("main~1")}:refs/heads/main`]);
    runGit(["--git-dir", client, "index-pack", "--strict", "--fix-thin", "--stdin"], { input: pack });
    runGit(["--git-dir", client, "update-ref", "refs/heads/main", rev("main")]);
    runGit(["--git-dir", client, "fsck", "--strict"]);
    // The pack refers to objects outside itself: index-pack refuses it without --fix-thin.
    const other = join(tmp.dir, "thin-other.git");
    runGit(["init", "-q", "--bare", other]);
    expect(() => runGit(["--git-dir", other, "index-pack", "--stdin"], { input: pack })).toThrow();
  });

  it("sends the shallow boundary with depth", async () => {
    const r = await objectsToSend(backend.objects, "sha1", [rev("main")], [], { depth: 1 });
    expect(r.shallow).toEqual([rev("main")]);
    const tree = rev("main^{tree}");
    expect(new Set(r.hashes)).toEqual(new Set([rev("main"), ...revListObjects(repo, [tree], [])]));
    const r2 = await objectsToSend(backend.objects, "sha1", [rev("main")], [], { depth: 3 });
    expect(r2.shallow).toEqual([rev("main~2")]);
    // Deepening a clone whose boundary is main: main's ancestors up to depth 3 arrive.
    const r3 = await objectsToSend(backend.objects, "sha1", [rev("main")], [rev("main")], { depth: 3, shallow: [rev("main")] });
    expect(r3.unshallow).toEqual([rev("main")]);
    expect(r3.shallow).toEqual([rev("main~2")]);
    expect(r3.hashes).toContain(rev("main~1"));
    expect(r3.hashes).toContain(rev("main~2"));
    expect(r3.hashes).not.toContain(rev("main~3"));
    expect(r3.hashes).not.toContain(rev("main"));
  });

  it("NOT_FOUND for a missing want, ignores a missing have", async () => {
    await expect(objectsToSend(backend.objects, "sha1", ["1".repeat(40)], [])).rejects.toMatchObject({ code: "NOT_FOUND" });
    const r = await objectsToSend(backend.objects, "sha1", [rev("main")], ["2".repeat(40), rev("main~1")]);
    expect(new Set(r.hashes)).toEqual(new Set(revListObjects(repo, [rev("main")], [rev("main~1")])));
    await expect(objectsToSend(backend.objects, "sha1", ["xyz"], [])).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
  });
});

/** A linear history in memory: commit i adds `d<i % 10>/f<i>` to a growing tree. */
async function linearHistory(objects: ObjectStore, n: number): Promise<string[]> {
  const dirs = new Map<string, TreeEntry[]>();
  const commits: string[] = [];
  for (let i = 0; i < n; i++) {
    const blob = await objects.put("blob", new TextEncoder().encode(`value ${i}\n`));
    const d = `d${i % 10}`;
    const entries = [...(dirs.get(d) ?? []), { name: `f${i}`, mode: "100644", hash: blob }].sort((a, b) => (a.name < b.name ? -1 : 1));
    dirs.set(d, entries);
    const root: TreeEntry[] = [];
    for (const [name, list] of [...dirs].sort((a, b) => (a[0] < b[0] ? -1 : 1))) root.push({ name, mode: "40000", hash: await objects.put("tree", encodeTree(list, "sha1")) });
    const tree = await objects.put("tree", encodeTree(root, "sha1"));
    const who = { name: "A", email: "a@x", timestamp: 1700000000 + i, timezone: "+0000" };
    commits.push(await objects.put("commit", encodeCommit({ tree, parents: commits.length > 0 ? [commits[commits.length - 1]] : [], author: who, committer: who, extraHeaders: [], message: `c${i}\n` })));
  }
  return commits;
}

describe("objectsToSend across a path that changes kind", () => {
  it("a file that became a directory (and back) is walked as what it is now", async () => {
    const b = memoryBackend();
    const o = b.objects;
    const enc = (s: string) => new TextEncoder().encode(s);
    const who = { name: "A", email: "a@x", timestamp: 1700000000, timezone: "+0000" };
    const commit = async (tree: string, parents: string[]) => o.put("commit", encodeCommit({ tree, parents, author: who, committer: who, extraHeaders: [], message: "m\n" }));
    const file = await o.put("blob", enc("a file\n"));
    const c1 = await commit(await o.put("tree", encodeTree([{ name: "x", mode: "100644", hash: file }], "sha1")), []);
    const inner = await o.put("blob", enc("inside\n"));
    const dir = await o.put("tree", encodeTree([{ name: "y", mode: "100644", hash: inner }], "sha1"));
    const c2 = await commit(await o.put("tree", encodeTree([{ name: "x", mode: "40000", hash: dir }], "sha1")), [c1]);
    const again = await o.put("blob", enc("a file again\n"));
    const c3 = await commit(await o.put("tree", encodeTree([{ name: "x", mode: "100644", hash: again }], "sha1")), [c2]);
    const r2 = await objectsToSend(o, "sha1", [c2], [c1]);
    expect(r2.hashes).toHaveLength(4); // the commit, its root tree, the directory and its file
    expect(r2.hashes).toContain(dir);
    expect(r2.hashes).toContain(inner);
    const r3 = await objectsToSend(o, "sha1", [c3], [c2]);
    expect(r3.hashes).toContain(again);
    expect(r3.hashes).toHaveLength(3); // the commit, its root tree and the new file
  });
});

describe("objectsToSend cost", () => {
  it("reads what it sends, not the history or the whole tree", async () => {
    const reads: number[] = [];
    for (const n of [60, 300]) {
      const b = memoryBackend();
      const commits = await linearHistory(b.objects, n);
      const c = counting(b.objects);
      const r = await objectsToSend(c.store, "sha1", [commits[n - 1]], [commits[n - 3]]);
      // Two commits, each: a root tree, one directory, one blob.
      expect(r.hashes.length).toBe(8);
      reads.push(c.reads());
    }
    expect(reads[1]).toBe(reads[0]);
    expect(reads[0]).toBeLessThan(20);
  });
});

describe("packStream on random histories (memory backend)", () => {
  it("every pack passes git index-pack --strict and holds exactly the objects", async () => {
    const tmp = tempDir("irmin-pack-prop-");
    try {
      let run = 0;
      await fc.assert(
        fc.asyncProperty(fc.array(fc.tuple(fc.nat(5), fc.nat(30), fc.boolean()), { minLength: 1, maxLength: 12 }), async (steps) => {
          const b = memoryBackend();
          const files = new Map<string, string>();
          let parent: string | undefined;
          const commits: string[] = [];
          for (const [k, version, drop] of steps) {
            if (drop && files.size > 1) files.delete([...files.keys()][0]);
            else files.set(`f${k}`, fileText(k, 30 + k * 10, version));
            const entries: TreeEntry[] = [];
            for (const [name, text] of [...files].sort((a, bb) => (a[0] < bb[0] ? -1 : 1))) entries.push({ name, mode: "100644", hash: await b.objects.put("blob", new TextEncoder().encode(text)) });
            const tree = await b.objects.put("tree", encodeTree(entries, "sha1"));
            const who = { name: "A", email: "a@x", timestamp: 1700000000 + commits.length, timezone: "+0000" };
            parent = await b.objects.put("commit", encodeCommit({ tree, parents: parent === undefined ? [] : [parent], author: who, committer: who, extraHeaders: [], message: "m\n" }));
            commits.push(parent);
          }
          const r = await objectsToSend(b.objects, "sha1", [parent!], []);
          const pack = await collect(packStream(b.objects, "sha1", r.hashes, { window: 4 }));
          const v = verifyPack(tmp.dir, pack, `p${run++}`);
          expect(new Set(v.ids)).toEqual(new Set(r.hashes));
          let all = 0;
          for await (const _ of b.objects.hashes()) all++;
          expect(r.hashes.length).toBe(all);
        }),
        { seed: 5, numRuns: 12 },
      );
    } finally {
      tmp.remove();
    }
  });
});
