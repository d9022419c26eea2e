import { afterEach, describe, expect, it } from "vitest";
import { readFileSync, readdirSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { PackDirectory } from "../../../../src/backends/git/pack/pack-directory.js";
import { PackIndex } from "../../../../src/codec/pack/pack-index.js";
import { PackReader } from "../../../../src/backends/git/pack/pack-reader.js";
import { DeltaBaseCache } from "../../../../src/backends/git/pack/delta-base-cache.js";
import type { HashAlgorithm } from "../../../../src/core/hash.js";
import { allObjects, git, makeRepo, removeDir, tempDir, type GitObject } from "./git-fixtures.js";

const dirs: string[] = [];
function repoDir(): string {
  const d = tempDir();
  dirs.push(d);
  return d;
}
afterEach(() => {
  while (dirs.length > 0) removeDir(dirs.pop()!);
});

async function expectAllReadable(pd: PackDirectory, objects: readonly GitObject[]): Promise<void> {
  for (const o of objects) {
    const got = await pd.get(o.hash);
    expect(got, o.hash).toBeDefined();
    expect(got!.type).toBe(o.type);
    expect(Buffer.from(got!.data).equals(o.data), o.hash).toBe(true);
  }
}

/** How many entries of each kind the packs of a directory hold, read with PackReader. */
async function entryKinds(packDir: string, algorithm: HashAlgorithm): Promise<Record<string, number>> {
  const kinds: Record<string, number> = { object: 0, "ofs-delta": 0, "ref-delta": 0 };
  for (const f of readdirSync(packDir).filter((n) => n.endsWith(".idx"))) {
    const index = PackIndex.parse(readFileSync(join(packDir, f)), algorithm);
    const reader = await PackReader.open(join(packDir, f.replace(/idx$/, "pack")), index);
    for (const e of index.entries()) kinds[(await reader.entryAt(e.offset)).kind]++;
    await reader.close();
  }
  return kinds;
}

describe("PackDirectory reads every object of packs made by git", () => {
  const cases: { name: string; algorithm: HashAlgorithm; args: string[][]; expect: (k: Record<string, number>) => void }[] = [
    {
      name: "repack -adf --depth=50 (OFS_DELTA chains)",
      algorithm: "sha1",
      args: [["repack", "-adf", "--depth=50", "--window=50"]],
      expect: (k) => expect(k["ofs-delta"]).toBeGreaterThan(50),
    },
    { name: "gc --aggressive", algorithm: "sha1", args: [["gc", "--aggressive", "--quiet"]], expect: (k) => expect(k["ofs-delta"]).toBeGreaterThan(50) },
    {
      name: "repack -a -d -F (no object reuse)",
      algorithm: "sha1",
      args: [["repack", "-adf"], ["repack", "-a", "-d", "-F"]],
      expect: (k) => expect(k["ofs-delta"]).toBeGreaterThan(50),
    },
    {
      name: "REF_DELTA (repack.useDeltaBaseOffset=false)",
      algorithm: "sha1",
      args: [["-c", "repack.useDeltaBaseOffset=false", "repack", "-adf", "--depth=50"]],
      expect: (k) => {
        expect(k["ref-delta"]).toBeGreaterThan(50);
        expect(k["ofs-delta"]).toBe(0);
      },
    },
    { name: "SHA-256 repository, gc", algorithm: "sha256", args: [["gc", "--aggressive", "--quiet"]], expect: (k) => expect(k["ofs-delta"]).toBeGreaterThan(50) },
    {
      name: "SHA-256 repository, REF_DELTA",
      algorithm: "sha256",
      args: [["-c", "repack.useDeltaBaseOffset=false", "repack", "-adf"]],
      expect: (k) => expect(k["ref-delta"]).toBeGreaterThan(50),
    },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const dir = repoDir();
      makeRepo(dir, { algorithm: c.algorithm, commits: 40 });
      for (const args of c.args) git(dir, args);
      const packDir = join(dir, "objects", "pack");
      expect(readdirSync(join(dir, "objects")).filter((n) => /^[0-9a-f]{2}$/.test(n))).toEqual([]);
      c.expect(await entryKinds(packDir, c.algorithm));
      const objects = allObjects(dir);
      expect(objects.length).toBeGreaterThan(150);
      const pd = new PackDirectory(packDir, c.algorithm);
      await expectAllReadable(pd, objects);
      for (const o of objects) expect(await pd.has(o.hash)).toBe(true);
      const listed = [];
      for await (const h of pd.hashes()) listed.push(h);
      expect(listed.sort()).toEqual(objects.map((o) => o.hash).sort());
      const absent = c.algorithm === "sha1" ? "0".repeat(40) : "0".repeat(64);
      expect(await pd.get(absent)).toBeUndefined();
      expect(await pd.has(absent)).toBe(false);
      expect(await pd.get("nonsense")).toBeUndefined();
      await pd.close();
      await expect(pd.get(objects[0].hash)).rejects.toMatchObject({ code: "CLOSED" });
    });
  }
});

describe("PackDirectory follows the directory", () => {
  it("reads many packs, finds packs added after it was created, drops removed ones", async () => {
    const dir = repoDir();
    const packDir = join(dir, "objects", "pack");
    makeRepo(dir, { commits: 10, seed: 1 });
    git(dir, ["repack", "-d"]);
    makeRepo(dir, { commits: 10, seed: 2, existing: true });
    git(dir, ["repack", "-d"]);
    makeRepo(dir, { commits: 10, seed: 3, existing: true, branch: "refs/heads/other" });
    git(dir, ["repack", "-d"]);
    expect(readdirSync(packDir).filter((f) => f.endsWith(".idx")).length).toBe(3);
    const pd = new PackDirectory(packDir, "sha1");
    const before = allObjects(dir);
    await expectAllReadable(pd, before);
    expect(pd.packNames().length).toBe(3);

    // A new pack written behind our back: its objects are found without reopening.
    makeRepo(dir, { commits: 5, seed: 4, existing: true });
    git(dir, ["repack", "-d"]);
    const after = allObjects(dir);
    const fresh = after.filter((o) => !before.some((b) => b.hash === o.hash));
    expect(fresh.length).toBeGreaterThan(5);
    await expectAllReadable(pd, fresh);
    expect(pd.packNames().length).toBe(4);

    // git repack -adf replaces every pack with one: the old ones are dropped on the next miss.
    git(dir, ["repack", "-adf", "--depth=50"]);
    await expectAllReadable(pd, after);
    expect(await pd.get("1".repeat(40))).toBeUndefined();
    const current = readdirSync(packDir).filter((f) => f.endsWith(".idx")).map((f) => f.slice(5, -4));
    expect(pd.packNames()).toEqual(current);
    await pd.close();
  });

  it("a pack replaced between the listing and its opening (a roll-up in another process) does not hide its objects", async () => {
    const dir = repoDir();
    const packDir = join(dir, "objects", "pack");
    makeRepo(dir, { commits: 4, seed: 5 });
    git(dir, ["repack", "-d"]);
    const pd = new PackDirectory(packDir, "sha1");
    await pd.rescan();
    const before = allObjects(dir);
    // A new pack appears; when this instance goes to open it, another writer has already rolled
    // every pack into a new one (git repack -adf writes the new pack, then deletes the old ones).
    makeRepo(dir, { commits: 4, seed: 6, existing: true });
    git(dir, ["repack", "-d"]);
    const fresh = allObjects(dir).filter((o) => !before.some((b) => b.hash === o.hash));
    const inner = pd as unknown as { openPack(name: string): unknown };
    const openPack = inner.openPack.bind(pd);
    let replaced = false;
    inner.openPack = (name: string) => {
      if (!replaced) {
        replaced = true;
        makeRepo(dir, { commits: 1, seed: 7, existing: true });
        git(dir, ["repack", "-adf"]);
      }
      return openPack(name);
    };
    await expectAllReadable(pd, fresh);
    expect(replaced).toBe(true);
    await pd.close();
  });

  it("a removed pack is not read", async () => {
    const dir = repoDir();
    const packDir = join(dir, "objects", "pack");
    makeRepo(dir, { commits: 5, seed: 1 });
    git(dir, ["repack", "-d"]);
    const first = allObjects(dir);
    makeRepo(dir, { commits: 5, seed: 2, existing: true, branch: "refs/heads/b" });
    git(dir, ["repack", "-d"]);
    const pd = new PackDirectory(packDir, "sha1");
    await expectAllReadable(pd, first);
    const idxFiles = readdirSync(packDir).filter((f) => f.endsWith(".idx"));
    expect(idxFiles.length).toBe(2);
    // Remove the pack holding the first objects (git gc does this after repacking).
    const victim = idxFiles.find((f) => PackIndex.parse(readFileSync(join(packDir, f)), "sha1").find(first[0].hash) >= 0)!;
    unlinkSync(join(packDir, victim));
    unlinkSync(join(packDir, victim.replace(/idx$/, "pack")));
    expect(await pd.rescan()).toBe(true);
    for (const o of first) expect(await pd.get(o.hash)).toBeUndefined();
    expect(pd.packNames()).toEqual(readdirSync(packDir).filter((f) => f.endsWith(".idx")).map((f) => f.slice(5, -4)));
    await pd.close();
  });

  it("an empty or missing pack directory holds nothing", async () => {
    const dir = repoDir();
    const pd = new PackDirectory(join(dir, "nope"), "sha1");
    expect(await pd.get("1".repeat(40))).toBeUndefined();
    const listed = [];
    for await (const h of pd.hashes()) listed.push(h);
    expect(listed).toEqual([]);
    await pd.close();
  });
});

describe("delta base cache", () => {
  it("reading every object of a deltified pack reads far fewer entries with the cache, and callers own their bytes", async () => {
    const dir = repoDir();
    makeRepo(dir, { commits: 60, files: 2 });
    git(dir, ["repack", "-adf", "--depth=50", "--window=50"]);
    const packDir = join(dir, "objects", "pack");
    const idxName = readdirSync(packDir).find((f) => f.endsWith(".idx"))!;
    const index = PackIndex.parse(readFileSync(join(packDir, idxName)), "sha1");
    const objects = allObjects(dir);
    const readAll = async (reader: PackReader) => {
      for (const o of objects) expect(Buffer.from((await reader.get(o.hash))!.data).equals(o.data)).toBe(true);
      return reader.entriesRead;
    };
    const packPath = join(packDir, idxName.replace(/idx$/, "pack"));
    const uncached = await readAll(await PackReader.open(packPath, index));
    const cache = new DeltaBaseCache();
    const cachedReader = await PackReader.open(packPath, index, { cache });
    const cached = await readAll(cachedReader);
    // Without a cache every object re-reads its whole chain; with it, about one read per object.
    expect(uncached).toBeGreaterThan(3 * objects.length);
    expect(cached).toBeLessThan(1.5 * objects.length);
    expect(cache.size).toBeGreaterThan(0);
    // Mutating what we were given does not poison the cache.
    for (const o of objects) (await cachedReader.get(o.hash))!.data.fill(0);
    await readAll(cachedReader);
    await cachedReader.close();
  });
});
