import { afterEach, describe, expect, it } from "vitest";
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { PackDirectory } from "../../../../src/backends/git/pack/pack-directory.js";
import { PackIndex, writePackIndex } from "../../../../src/codec/pack/pack-index.js";
import { PackReader } from "../../../../src/backends/git/pack/pack-reader.js";
import { PackWriter } from "../../../../src/codec/pack/pack-writer.js";
import { createDelta } from "../../../../src/codec/pack/delta.js";
import { repack } from "../../../../src/backends/git/pack/repack.js";
import { hashObject, type RawObject } from "../../../../src/codec/object.js";
import type { HashAlgorithm } from "../../../../src/core/hash.js";
import { allObjects, git, makeRepo, removeDir, tempDir } from "./git-fixtures.js";

const dirs: string[] = [];
function dirFor(): string {
  const d = tempDir();
  dirs.push(d);
  return d;
}
afterEach(() => {
  while (dirs.length > 0) removeDir(dirs.pop()!);
});

/** Source repo made by git, and an empty bare repo of the same format to write our pack into. */
function setup(algorithm: HashAlgorithm): { src: string; dst: string; objects: RawObject[] } {
  const src = dirFor();
  makeRepo(src, { algorithm, commits: 30 });
  const dst = dirFor();
  git(dst, ["init", "-q", "--bare", `--object-format=${algorithm}`, "."]);
  return { src, dst, objects: allObjects(src).map((o) => ({ type: o.type, data: new Uint8Array(o.data) })) };
}

function copyRefs(src: string, dst: string): void {
  for (const line of git(src, ["for-each-ref", "--format=%(objectname) %(refname)"]).toString().trim().split("\n")) {
    const [hash, ref] = line.split(" ");
    git(dst, ["update-ref", ref, hash]);
  }
}

/** Checks a pack we wrote with git: index-pack --strict regenerates the same .idx; verify-pack; fsck. */
function checkWithGit(src: string, dst: string, name: string): string {
  const packDir = join(dst, "objects", "pack");
  const pack = join(packDir, `pack-${name}.pack`);
  const regenerated = join(dirFor(), "check.idx");
  git(dst, ["index-pack", "--strict", "-o", regenerated, pack]);
  expect(readFileSync(join(packDir, `pack-${name}.idx`)).equals(readFileSync(regenerated))).toBe(true);
  const verify = git(dst, ["verify-pack", "-v", join(packDir, `pack-${name}.idx`)]).toString();
  copyRefs(src, dst);
  git(dst, ["fsck", "--strict", "--no-dangling"]);
  expect(readdirSync(packDir).filter((f) => f.startsWith("tmp_"))).toEqual([]);
  return verify;
}

describe("writePack", () => {
  for (const algorithm of ["sha1", "sha256"] as const) {
    for (const deltas of [false, true]) {
      it(`${algorithm}, ${deltas ? "with" : "without"} deltas: git index-pack --strict, verify-pack and fsck --strict accept it`, async () => {
        const { src, dst, objects } = setup(algorithm);
        const pd = new PackDirectory(join(dst, "objects", "pack"), algorithm);
        // Duplicates are stored once.
        const written = await pd.writePack([...objects, objects[0]], { deltas });
        expect(written.count).toBe(objects.length);
        expect(written.name).toMatch(algorithm === "sha1" ? /^[0-9a-f]{40}$/ : /^[0-9a-f]{64}$/);
        const verify = checkWithGit(src, dst, written.name);
        const chains = /chain length = (\d+)/g;
        if (deltas) expect(verify).toMatch(chains);
        else expect(verify).not.toMatch(chains);
        // Readable at once through the same directory, and by git.
        for (const o of allObjects(src)) {
          const got = await pd.get(o.hash);
          expect(Buffer.from(got!.data).equals(o.data)).toBe(true);
          expect(got!.type).toBe(o.type);
        }
        expect(allObjects(dst).length).toBe(objects.length);
        await pd.close();
      });
    }
  }

  it("deltas make the pack smaller (successive versions of files)", async () => {
    const { dst, objects } = setup("sha1");
    const packDir = join(dst, "objects", "pack");
    const pd = new PackDirectory(packDir, "sha1");
    const plain = await pd.writePack(objects);
    const delta = await pd.writePack(objects, { deltas: true });
    const size = (n: string) => readFileSync(join(packDir, `pack-${n}.pack`)).length;
    expect(size(delta.name)).toBeLessThan(size(plain.name) * 0.6);
    await pd.close();
  });

  it("accepts an async iterable and writes nothing for no objects", async () => {
    const { dst, objects } = setup("sha1");
    const packDir = join(dst, "objects", "pack");
    const pd = new PackDirectory(packDir, "sha1");
    expect(await pd.writePack([])).toEqual({ name: "", count: 0 });
    expect(readdirSync(packDir)).toEqual([]);
    async function* gen() {
      yield* objects.slice(0, 10);
    }
    expect((await pd.writePack(gen())).count).toBe(10);
    await pd.close();
  });

  it("rejects something that is not an object, leaving no temporary file", async () => {
    const dst = dirFor();
    const pd = new PackDirectory(dst, "sha1");
    const bad = [{ type: "blob", data: new Uint8Array(3) }, { type: "nope", data: new Uint8Array(1) }] as unknown as RawObject[];
    await expect(pd.writePack(bad)).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    expect(readdirSync(dst)).toEqual([]);
    await pd.close();
  });
});

describe("PackWriter (streaming to a sink)", () => {
  it("writes full objects, OFS_DELTA and REF_DELTA entries that git indexes identically", async () => {
    const { src, dst, objects } = setup("sha1");
    const blobs = objects.filter((o) => o.type === "blob").sort((a, b) => b.data.length - a.data.length);
    const chunks: Uint8Array[] = [];
    const writer = new PackWriter((c) => void chunks.push(c), objects.length, "sha1");
    const byHashOffset = new Map<string, number>();
    const blobSet = new Set(blobs);
    for (const o of objects) if (!blobSet.has(o)) await writer.writeObject(o.type, o.data);
    // The biggest blob full; the rest as deltas against it, alternating OFS and REF.
    const first = blobs[0];
    const firstHash = hashObject("sha1", first.type, first.data);
    byHashOffset.set(firstHash, (await writer.writeObject(first.type, first.data)).offset);
    for (let i = 1; i < blobs.length; i++) {
      const h = hashObject("sha1", "blob", blobs[i].data);
      const delta = createDelta(first.data, blobs[i].data);
      if (i % 2 === 0) await writer.writeOfsDelta(h, byHashOffset.get(firstHash)!, delta);
      else await writer.writeRefDelta(h, firstHash, delta);
    }
    await expect(writer.writeObject("blob", new Uint8Array(1))).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    const checksum = await writer.finish();
    const name = Buffer.from(checksum).toString("hex");
    const packDir = join(dst, "objects", "pack");
    writeFileSync(join(packDir, `pack-${name}.pack`), Buffer.concat(chunks));
    writeFileSync(join(packDir, `pack-${name}.idx`), writePackIndex(writer.entries, checksum, "sha1"));
    checkWithGit(src, dst, name);
    const index = PackIndex.parse(readFileSync(join(packDir, `pack-${name}.idx`)), "sha1");
    const reader = await PackReader.open(join(packDir, `pack-${name}.pack`), index);
    const kinds = new Set<string>();
    for (const e of index.entries()) kinds.add((await reader.entryAt(e.offset)).kind);
    expect([...kinds].sort()).toEqual(["object", "ofs-delta", "ref-delta"]);
    await reader.close();
  });

  it("refuses to finish with fewer entries than announced", async () => {
    const writer = new PackWriter(() => undefined, 2, "sha1");
    await writer.writeObject("blob", new Uint8Array(0));
    await expect(writer.finish()).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
  });
});

describe("thin packs and the external resolver", () => {
  it("a REF_DELTA whose base is outside the packs is resolved through setExternalResolver", async () => {
    const dst = dirFor();
    const base = new TextEncoder().encode("base content line\n".repeat(50));
    const target = new TextEncoder().encode("base content line\n".repeat(30) + "changed\n" + "base content line\n".repeat(20));
    const baseHash = hashObject("sha1", "blob", base);
    const targetHash = hashObject("sha1", "blob", target);
    const chunks: Uint8Array[] = [];
    const writer = new PackWriter((c) => void chunks.push(c), 1, "sha1");
    await writer.writeRefDelta(targetHash, baseHash, createDelta(base, target));
    const checksum = await writer.finish();
    const name = Buffer.from(checksum).toString("hex");
    writeFileSync(join(dst, `pack-${name}.pack`), Buffer.concat(chunks));
    writeFileSync(join(dst, `pack-${name}.idx`), writePackIndex(writer.entries, checksum, "sha1"));
    const pd = new PackDirectory(dst, "sha1");
    await expect(pd.get(targetHash)).rejects.toMatchObject({ code: "CORRUPT" });
    const asked: string[] = [];
    pd.setExternalResolver(async (h) => {
      asked.push(h);
      return h === baseHash ? { type: "blob", data: base } : undefined;
    });
    expect(Buffer.from((await pd.get(targetHash))!.data).equals(Buffer.from(target))).toBe(true);
    expect(asked).toEqual([baseHash]);
    expect(await pd.has(baseHash)).toBe(false);
    await pd.close();
  });
});

describe("repack", () => {
  it("packs loose objects with the existing packs into one and removes the old packs", async () => {
    const { src, dst, objects } = setup("sha1");
    const packDir = join(dst, "objects", "pack");
    const pd = new PackDirectory(packDir, "sha1");
    await pd.writePack(objects.slice(0, 40));
    await pd.writePack(objects.slice(40, 80));
    expect(pd.packNames().length).toBe(2);
    const result = await repack(pd, objects.slice(80), { all: true });
    expect(result.count).toBe(objects.length);
    expect(result.removed.length).toBe(2);
    expect(pd.packNames()).toEqual([result.name]);
    expect(readdirSync(packDir).sort()).toEqual([`pack-${result.name}.idx`, `pack-${result.name}.pack`]);
    checkWithGit(src, dst, result.name);
    await pd.close();
  });
});
