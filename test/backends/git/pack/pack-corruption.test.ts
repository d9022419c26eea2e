import { afterAll, beforeAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { PackDirectory } from "../../../../src/backends/git/pack/pack-directory.js";
import { PackIndex, writePackIndex } from "../../../../src/codec/pack/pack-index.js";
import { PackWriter } from "../../../../src/codec/pack/pack-writer.js";
import { decodeEntryHeader } from "../../../../src/codec/pack/pack-format.js";
import { hashObject } from "../../../../src/codec/object.js";
import { isIrminError } from "../../../../src/core/errors.js";
import { allObjects, git, makeRepo, removeDir, tempDir, type GitObject } from "./git-fixtures.js";

let src: string;
let objects: GitObject[];
/** pack and idx bytes of a pack without deltas, and of one with long OFS_DELTA chains */
let plain: { name: string; pack: Buffer; idx: Buffer };
let deltified: { name: string; pack: Buffer; idx: Buffer };
const scratch: string[] = [];

function packOf(dir: string): { name: string; pack: Buffer; idx: Buffer } {
  const packDir = join(dir, "objects", "pack");
  const idx = readdirSync(packDir).find((f) => f.endsWith(".idx"))!;
  return { name: idx.slice(5, -4), idx: readFileSync(join(packDir, idx)), pack: readFileSync(join(packDir, idx.replace(/idx$/, "pack"))) };
}

/** A directory holding the given pack files. */
function install(name: string, pack: Uint8Array, idx: Uint8Array): string {
  const d = tempDir();
  scratch.push(d);
  writeFileSync(join(d, `pack-${name}.pack`), pack);
  writeFileSync(join(d, `pack-${name}.idx`), idx);
  return d;
}

beforeAll(() => {
  src = tempDir();
  makeRepo(src, { commits: 25 });
  git(src, ["repack", "-adf", "--window=0"]);
  plain = packOf(src);
  git(src, ["repack", "-adf", "--depth=50", "--window=50"]);
  deltified = packOf(src);
  objects = allObjects(src);
});
afterAll(() => {
  removeDir(src);
  for (const d of scratch) removeDir(d);
});

async function readAll(pd: PackDirectory): Promise<{ ok: number; corrupt: string[] }> {
  let ok = 0;
  const corrupt: string[] = [];
  for (const o of objects) {
    try {
      const got = await pd.get(o.hash);
      // Never wrong bytes: either the right object or an error.
      expect(got).toBeDefined();
      expect(Buffer.from(got!.data).equals(o.data)).toBe(true);
      ok++;
    } catch (e) {
      if (!isIrminError(e, "CORRUPT")) throw e;
      corrupt.push(o.hash);
    }
  }
  return { ok, corrupt };
}

describe("corrupt packs", () => {
  it("a flipped byte in an entry's data makes that object CORRUPT and leaves the others readable", async () => {
    const index = PackIndex.parse(plain.idx, "sha1");
    const blob = objects.filter((o) => o.type === "blob").sort((a, b) => b.data.length - a.data.length)[0];
    const offset = index.offsetOf(blob.hash)!;
    const end = index.entryEnd(offset, plain.pack.length - 20);
    const pack = Buffer.from(plain.pack);
    const at = offset + decodeEntryHeader(pack, offset).length + Math.floor((end - offset) / 2);
    pack[at] ^= 0x40;
    const pd = new PackDirectory(install(plain.name, pack, plain.idx), "sha1");
    await expect(pd.get(blob.hash)).rejects.toMatchObject({ code: "CORRUPT" });
    const { ok, corrupt } = await readAll(pd);
    expect(corrupt).toEqual([blob.hash]);
    expect(ok).toBe(objects.length - 1);
    await pd.close();
  });

  it("random byte flips in a deltified pack give CORRUPT or the right bytes, never a crash (fuzz)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ at: fc.integer({ min: 12, max: deltified.pack.length - 21 }), v: fc.integer({ min: 1, max: 255 }) }), {
          minLength: 1,
          maxLength: 3,
        }),
        async (flips) => {
          const pack = Buffer.from(deltified.pack);
          for (const f of flips) pack[f.at] ^= f.v;
          const pd = new PackDirectory(install(deltified.name, pack, deltified.idx), "sha1");
          await readAll(pd);
          await pd.close();
        },
      ),
      { numRuns: 25 },
    );
  });

  it("a truncated pack is CORRUPT", async () => {
    for (const cut of [0, 11, 500, deltified.pack.length - 1]) {
      const pd = new PackDirectory(install(deltified.name, deltified.pack.subarray(0, cut), deltified.idx), "sha1");
      await expect(pd.get(objects[0].hash)).rejects.toMatchObject({ code: "CORRUPT" });
      await expect(pd.has(objects[0].hash)).rejects.toMatchObject({ code: "CORRUPT" });
      await pd.close();
    }
  });

  it("a truncated index is CORRUPT, and does not hide the other packs", async () => {
    const d = install(deltified.name, deltified.pack, deltified.idx.subarray(0, deltified.idx.length - 30));
    const pd = new PackDirectory(d, "sha1");
    await expect(pd.get(objects[0].hash)).rejects.toMatchObject({ code: "CORRUPT" });
    writeFileSync(join(d, `pack-${plain.name}.pack`), plain.pack);
    writeFileSync(join(d, `pack-${plain.name}.idx`), plain.idx);
    expect(Buffer.from((await pd.get(objects[0].hash))!.data).equals(objects[0].data)).toBe(true);
    await pd.close();
  });

  it("an index that belongs to another pack is CORRUPT", async () => {
    const pd = new PackDirectory(install(deltified.name, plain.pack, deltified.idx), "sha1");
    await expect(pd.get(objects[0].hash)).rejects.toMatchObject({ code: "CORRUPT" });
    await pd.close();
  });

  it("a delta copying outside its base is CORRUPT", async () => {
    const base = new TextEncoder().encode("0123456789");
    const target = new TextEncoder().encode("89AB");
    const chunks: Uint8Array[] = [];
    const writer = new PackWriter((c) => void chunks.push(c), 2, "sha1");
    const b = await writer.writeObject("blob", base);
    // base size 10, result 4: copy 4 bytes at offset 8 (past the end of the base).
    await writer.writeOfsDelta(hashObject("sha1", "blob", target), b.offset, Uint8Array.from([10, 4, 0x91, 8, 4]));
    const sum = await writer.finish();
    const name = Buffer.from(sum).toString("hex");
    const pd = new PackDirectory(install(name, Buffer.concat(chunks), writePackIndex(writer.entries, sum, "sha1")), "sha1");
    expect(await pd.get(b.hash)).toBeDefined();
    await expect(pd.get(hashObject("sha1", "blob", target))).rejects.toMatchObject({ code: "CORRUPT" });
    await pd.close();
  });

  it("an object whose bytes do not match its id is CORRUPT", async () => {
    const chunks: Uint8Array[] = [];
    const writer = new PackWriter((c) => void chunks.push(c), 1, "sha1");
    const claimed = hashObject("sha1", "blob", new TextEncoder().encode("something else"));
    await writer.writeObject("blob", new TextEncoder().encode("content"), claimed);
    const sum = await writer.finish();
    const name = Buffer.from(sum).toString("hex");
    const pd = new PackDirectory(install(name, Buffer.concat(chunks), writePackIndex(writer.entries, sum, "sha1")), "sha1");
    await expect(pd.get(claimed)).rejects.toMatchObject({ code: "CORRUPT" });
    await pd.close();
  });
});
