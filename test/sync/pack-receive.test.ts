import { describe, it, expect, afterAll } from "vitest";
import fc from "fast-check";
import { join } from "node:path";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { allObjects, git, gitText, tempDir } from "../backends/git/git-cli.js";
import { memoryBackend } from "../../src/backends/memory/memory-backend.js";
import { receivePack } from "../../src/sync/pack-receive.js";
import { isIrminError } from "../../src/core/errors.js";
import { hashObject } from "../../src/codec/object.js";
import { PackWriter } from "../../src/codec/pack/pack-writer.js";
import { concatBytes } from "../../src/sync/pkt-line.js";
import type { SyncProgress } from "../../src/sync/progress.js";
import type { ObjectStore } from "../../src/backend/object-store.js";
import { gitBackend } from "../../src/backends/git/git-backend.js";

async function* chunked(bytes: Uint8Array, size: number): AsyncIterable<Uint8Array> {
  for (let o = 0; o < bytes.length; o += size) yield bytes.subarray(o, o + size);
}

const tmp = tempDir("irmin-pack-receive-");
afterAll(() => tmp.remove());

/** A repository whose one file is rewritten in 30 commits (deltas), then `git gc --aggressive`. */
function makeRepo(): { dir: string; first: string; head: string } {
  const dir = join(tmp.dir, "repo");
  git(tmp.dir, ["init", "-q", "-b", "main", dir]);
  let first = "";
  const lines = Array.from({ length: 200 }, (_, i) => `line ${i} of a file that changes a little in every commit`);
  for (let c = 0; c < 30; c++) {
    lines[(c * 7) % lines.length] = `changed in commit ${c}`;
    lines.push(`appended ${c}`);
    const f = join(dir, "file.txt");
    writeFileSync(f, lines.join("\n"));
    writeFileSync(join(dir, `small-${c % 3}.txt`), `small ${c}\n`);
    git(dir, ["add", "-A"]);
    git(dir, ["commit", "-q", "-m", `commit ${c}`]);
    if (c === 14) first = gitText(dir, ["rev-parse", "HEAD"]);
  }
  git(dir, ["gc", "-q", "--aggressive"]);
  return { dir, first, head: gitText(dir, ["rev-parse", "HEAD"]) };
}

const repo = makeRepo();
const gitDir = join(repo.dir, ".git");
const packOf = (revs: string, args: string[] = []): Uint8Array => new Uint8Array(git(repo.dir, ["pack-objects", "--stdout", "--revs", ...args], `${revs}\n`));
const fullOfs = packOf("main", ["--delta-base-offset"]);
const fullRef = packOf("main");

async function expectStoreHasAll(store: ObjectStore, expected: Map<string, { type: string; data: Uint8Array }>): Promise<void> {
  for (const [hash, o] of expected) {
    const got = await store.get(hash);
    expect(got?.type, hash).toBe(o.type);
    expect(Buffer.from(got!.data).equals(Buffer.from(o.data))).toBe(true);
  }
}

async function expectCorrupt(p: Promise<unknown>, code = "CORRUPT"): Promise<void> {
  await expect(p).rejects.toSatisfy((e: unknown) => isIrminError(e, code as "CORRUPT"));
}

describe("receivePack", () => {
  it("stores every object of a pack with deep OFS_DELTA chains (git gc --aggressive)", async () => {
    const verify = gitText(gitDir, ["verify-pack", "-v", ...readdirSync(join(gitDir, "objects/pack")).filter((f: string) => f.endsWith(".idx")).map((f: string) => join(gitDir, "objects/pack", f))]);
    expect(verify).toMatch(/chain length = ([3-9]|\d\d+)/);
    const store = memoryBackend().objects;
    const progress: SyncProgress[] = [];
    const r = await receivePack(store, "sha1", chunked(fullOfs, 1000), { onProgress: (p) => progress.push(p) });
    const expected = allObjects(gitDir);
    expect(r.count).toBe(expected.size);
    expect(new Set(r.hashes)).toEqual(new Set(expected.keys()));
    await expectStoreHasAll(store, expected);
    expect(progress.some((p) => p.phase === "resolving")).toBe(true);
    expect(progress.at(-1)).toMatchObject({ phase: "writing", done: expected.size, total: expected.size });
  });

  it("stores a pack of REF_DELTAs (no ofs-delta), fed one small chunk at a time", async () => {
    const store = memoryBackend().objects;
    const r = await receivePack(store, "sha1", chunked(fullRef, 7), { batchSize: 5 });
    await expectStoreHasAll(store, allObjects(gitDir));
    expect(r.hashes).toContain(repo.head);
  });

  it("completes a thin pack from objects already stored, and refuses it without them", async () => {
    const thin = packOf(`main\n^${repo.first}`, ["--thin", "--delta-base-offset"]);
    const base = memoryBackend().objects;
    await receivePack(base, "sha1", chunked(packOf(repo.first), 4096));
    const before = new Set<string>();
    for await (const h of base.hashes()) before.add(h);
    const r = await receivePack(base, "sha1", chunked(thin, 4096));
    expect(r.hashes).toContain(repo.head);
    await expectStoreHasAll(base, allObjects(gitDir));
    await expectCorrupt(receivePack(memoryBackend().objects, "sha1", chunked(thin, 4096)));
  });

  it("accepts an empty pack", async () => {
    const empty = new Uint8Array(git(repo.dir, ["pack-objects", "--stdout"], ""));
    expect(await receivePack(memoryBackend().objects, "sha1", chunked(empty, 5))).toMatchObject({ count: 0, hashes: [] });
  });

  it("refuses every truncation of a pack with CORRUPT", async () => {
    const small = packOf(`${repo.first}\n^${repo.first}~2`, ["--delta-base-offset"]);
    for (let cut = 0; cut < small.length; cut += Math.max(1, Math.floor(small.length / 60))) {
      await expectCorrupt(receivePack(memoryBackend().objects, "sha1", chunked(small.subarray(0, cut), 64)));
    }
    await expectCorrupt(receivePack(memoryBackend().objects, "sha1", chunked(small.subarray(0, small.length - 1), 64)));
  });

  it("refuses a flipped byte, junk after the checksum and a bad signature", async () => {
    const bad = fullOfs.slice();
    bad[Math.floor(bad.length / 2)] ^= 0x40;
    await expectCorrupt(receivePack(memoryBackend().objects, "sha1", chunked(bad, 4096)));
    await expectCorrupt(receivePack(memoryBackend().objects, "sha1", chunked(concatBytes([fullOfs, new Uint8Array([1])]), 4096)));
    const sig = fullOfs.slice();
    sig[0] = 0x51;
    await expectCorrupt(receivePack(memoryBackend().objects, "sha1", chunked(sig, 4096)));
  });

  it("refuses a delta that copies outside its base, and a delta base that is not an entry", async () => {
    const baseData = new TextEncoder().encode("0123456789");
    const baseHash = hashObject("sha1", "blob", baseData);
    // Header: base size 10, result size 20; then copy offset 0 size 20 (past the 10-byte base).
    const delta = Uint8Array.from([10, 20, 0x80 | 0x10, 20]);
    const chunks: Uint8Array[] = [];
    const w = new PackWriter((c) => void chunks.push(c), 2, "sha1");
    await w.writeObject("blob", baseData);
    await w.writeRefDelta("0".repeat(39) + "1", baseHash, delta);
    await w.finish();
    await expectCorrupt(receivePack(memoryBackend().objects, "sha1", chunked(concatBytes(chunks), 100)));

    const chunks2: Uint8Array[] = [];
    const w2 = new PackWriter((c) => void chunks2.push(c), 2, "sha1");
    await w2.writeObject("blob", baseData);
    await w2.writeOfsDelta("0".repeat(39) + "1", 13, Uint8Array.from([10, 10, 0x80 | 0x10, 10]));
    await w2.finish();
    await expectCorrupt(receivePack(memoryBackend().objects, "sha1", chunked(concatBytes(chunks2), 100)));
  });

  it("refuses a malformed tree even when the pack itself is well formed", async () => {
    const chunks: Uint8Array[] = [];
    const w = new PackWriter((c) => void chunks.push(c), 1, "sha1");
    await w.writeObject("tree", new TextEncoder().encode("100644 a\0short"));
    await w.finish();
    await expectCorrupt(receivePack(memoryBackend().objects, "sha1", chunked(concatBytes(chunks), 100)));
  });

  it("stops past maxBytes with INVALID_ARGUMENT", async () => {
    await expectCorrupt(receivePack(memoryBackend().objects, "sha1", chunked(fullOfs, 1024), { maxBytes: 2048 }), "INVALID_ARGUMENT");
    await receivePack(memoryBackend().objects, "sha1", chunked(fullOfs, 1024), { maxBytes: fullOfs.length });
  });

  it("turns a failing source into IO", async () => {
    async function* failing(): AsyncIterable<Uint8Array> {
      yield fullOfs.subarray(0, 100);
      throw new Error("connection reset");
    }
    await expectCorrupt(receivePack(memoryBackend().objects, "sha1", failing()), "IO");
  });

  it("seeded fuzzing: mutated packs either store or fail with an IrminError", async () => {
    const small = packOf(`${repo.first}\n^${repo.first}~3`, ["--delta-base-offset"]);
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }), { minLength: 1, maxLength: 4 }),
        fc.option(fc.nat()),
        fc.integer({ min: 1, max: 500 }),
        async (edits, cut, chunk) => {
          const bytes = small.slice();
          for (const e of edits) bytes[12 + (e.at % (bytes.length - 12))] = e.value;
          const input = cut === null ? bytes : bytes.subarray(0, cut % bytes.length);
          try {
            await receivePack(memoryBackend().objects, "sha1", chunked(input, chunk), { maxObjectBytes: 1 << 20 });
          } catch (e) {
            expect(isIrminError(e), String(e)).toBe(true);
          }
        },
      ),
      { seed: 20240605, numRuns: 300 },
    );
  });

  describe("into a git backend (the pack kept as received)", () => {
    const packFiles = (dir: string) => readdirSync(join(dir, "objects/pack")).sort();

    it("keeps the pack byte for byte with an index git accepts, and links nothing outside", async () => {
      const dir = join(tmp.dir, "sink-full");
      const backend = await gitBackend({ path: dir });
      try {
        const progress: SyncProgress[] = [];
        const r = await receivePack(backend.objects, "sha1", chunked(fullOfs, 1000), { onProgress: (p) => progress.push(p) });
        const expected = allObjects(gitDir);
        expect(r.count).toBe(expected.size);
        expect(r.links).toEqual({ outside: [], outsideParents: [] });
        const files = packFiles(dir);
        expect(files.filter((f) => f.startsWith("tmp_"))).toEqual([]);
        const pack = files.find((f) => f.endsWith(".pack"))!;
        expect(Buffer.from(readFileSync(join(dir, "objects/pack", pack))).equals(Buffer.from(fullOfs))).toBe(true);
        git(dir, ["index-pack", "--strict", "-o", join(tmp.dir, "check.idx"), join(dir, "objects/pack", pack)]);
        expect(Buffer.from(readFileSync(join(tmp.dir, "check.idx"))).equals(readFileSync(join(dir, "objects/pack", pack.replace(/\.pack$/, ".idx"))))).toBe(true);
        await expectStoreHasAll(backend.objects, expected);
        expect(progress.at(-1)).toMatchObject({ phase: "writing", done: expected.size, total: expected.size });
      } finally {
        await backend.close();
      }
      git(dir, ["fsck", "--strict", "--no-dangling"]);
    });

    it("stores a thin pack object by object (its bases are elsewhere), and keeps nothing of a bad pack", async () => {
      const dir = join(tmp.dir, "sink-thin");
      const backend = await gitBackend({ path: dir });
      try {
        await receivePack(backend.objects, "sha1", chunked(packOf(repo.first), 4096));
        const thin = packOf(`main\n^${repo.first}`, ["--thin", "--delta-base-offset"]);
        const r = await receivePack(backend.objects, "sha1", chunked(thin, 4096));
        expect(r.hashes).toContain(repo.head);
        // The thin deltas' bases are named as outside the pack.
        expect(r.links.outside.length + r.links.outsideParents.length).toBeGreaterThan(0);
        await expectStoreHasAll(backend.objects, allObjects(gitDir));
        const before = packFiles(dir);
        const bad = fullOfs.slice();
        bad[bad.length - 30] ^= 0x40;
        await expectCorrupt(receivePack(backend.objects, "sha1", chunked(bad, 4096)));
        expect(packFiles(dir)).toEqual(before);
      } finally {
        await backend.close();
      }
      git(dir, ["fsck", "--strict", "--no-dangling"]);
    });
  });
});
