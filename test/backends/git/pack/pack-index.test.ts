import { afterAll, beforeAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import { copyFileSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { PackIndex, writePackIndex, type PackIndexEntry } from "../../../../src/codec/pack/pack-index.js";
import { crc32 } from "../../../../src/codec/pack/crc32.js";
import {
  decodeEntryHeader,
  decodeOfsDistance,
  encodeEntryHeader,
  encodeOfsDistance,
  type PackTypeCode,
} from "../../../../src/codec/pack/pack-format.js";
import { PackDirectory } from "../../../../src/backends/git/pack/pack-directory.js";
import { isIrminError } from "../../../../src/core/errors.js";
import { allObjects, git, makeRepo, removeDir, tempDir } from "./git-fixtures.js";

/** offset of every object according to `git verify-pack -v`. */
function gitOffsets(cwd: string, idx: string): Map<string, number> {
  const map = new Map<string, number>();
  for (const line of git(cwd, ["verify-pack", "-v", idx]).toString().split("\n")) {
    const m = /^([0-9a-f]{40,64}) +\w+ +\d+ +\d+ +(\d+)/.exec(line);
    if (m) map.set(m[1], Number(m[2]));
  }
  return map;
}

function expectOnlyIrminErrors(fn: () => void): void {
  try {
    fn();
  } catch (e) {
    if (!isIrminError(e)) throw e;
  }
}

describe("pack format primitives", () => {
  it("crc32 matches the standard check value", () => {
    expect(crc32(new TextEncoder().encode("123456789"))).toBe(0xcbf43926);
    const a = new TextEncoder().encode("12345");
    const b = new TextEncoder().encode("6789");
    expect(crc32(b, crc32(a))).toBe(0xcbf43926);
  });

  it("entry headers and OFS distances round-trip, with git's known encodings", () => {
    expect([...encodeEntryHeader(3, 15)]).toEqual([0x3f]);
    expect([...encodeEntryHeader(1, 16)]).toEqual([0x90, 0x01]);
    expect([...encodeOfsDistance(127)]).toEqual([0x7f]);
    expect([...encodeOfsDistance(128)]).toEqual([0x80, 0x00]);
    fc.assert(
      fc.property(fc.constantFrom<PackTypeCode>(1, 2, 3, 4, 6, 7), fc.maxSafeNat(), (code, size) => {
        const enc = encodeEntryHeader(code, size);
        expect(decodeEntryHeader(enc, 0)).toEqual({ code, size, length: enc.length });
      }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 48 }), (d) => {
        const enc = encodeOfsDistance(d);
        expect(decodeOfsDistance(enc, 0)).toEqual({ distance: d, length: enc.length });
      }),
    );
  });

  it("writePackIndex round-trips through PackIndex.parse, including 64-bit offsets", () => {
    const entries: PackIndexEntry[] = [];
    for (let i = 0; i < 300; i++) {
      const hash = (i * 2654435761).toString(16).padStart(8, "0").repeat(5).slice(0, 40);
      entries.push({ hash, offset: i % 3 === 0 ? 2 ** 31 + i * 1000 : 12 + i * 50, crc32: (i * 99991) >>> 0 });
    }
    const checksum = new Uint8Array(20).fill(7);
    const idx = PackIndex.parse(writePackIndex(entries, checksum, "sha1"), "sha1");
    expect(idx.count).toBe(300);
    expect(idx.packChecksum).toEqual(checksum);
    for (const e of entries) {
      const i = idx.find(e.hash);
      expect(idx.offsetAt(i)).toBe(e.offset);
      expect(idx.crc32At(i)).toBe(e.crc32);
    }
    expect([...idx.hashes()]).toEqual(entries.map((e) => e.hash).sort());
    expect(idx.offsetOf("f".repeat(40))).toBeUndefined();
    expect(idx.offsetOf("not a hash")).toBeUndefined();
  });
});

describe("pack indexes made by git", () => {
  let dir: string;
  let packFile: string;
  let idxFile: string;

  beforeAll(() => {
    dir = tempDir();
    makeRepo(dir, { commits: 30 });
    git(dir, ["repack", "-adf", "--depth=50"]);
    const packDir = join(dir, "objects", "pack");
    const name = readdirSync(packDir).find((f) => f.endsWith(".pack"))!;
    packFile = join(packDir, name);
    idxFile = packFile.replace(/\.pack$/, ".idx");
  });
  afterAll(() => removeDir(dir));

  it("our index of git's pack is byte-identical to git's", () => {
    const idx = PackIndex.parse(readFileSync(idxFile), "sha1");
    expect(idx.version).toBe(2);
    const rewritten = writePackIndex(idx.entries(), idx.packChecksum, "sha1");
    expect(Buffer.from(rewritten).equals(readFileSync(idxFile))).toBe(true);
  });

  it("reads a version 1 index (git index-pack --index-version=1)", async () => {
    const other = tempDir();
    try {
      copyFileSync(packFile, join(other, "pack-x.pack"));
      git(dir, ["index-pack", "--index-version=1", "-o", join(other, "pack-x.idx"), join(other, "pack-x.pack")]);
      const bytes = readFileSync(join(other, "pack-x.idx"));
      const v1 = PackIndex.parse(bytes, "sha1");
      expect(v1.version).toBe(1);
      expect(v1.crc32At(0)).toBeUndefined();
      const offsets = gitOffsets(dir, idxFile);
      expect(v1.count).toBe(offsets.size);
      for (const [hash, offset] of offsets) expect(v1.offsetOf(hash)).toBe(offset);
      // And objects read through it (the directory matches on pack-<hex>.idx names).
      const sum = Buffer.from(v1.packChecksum).toString("hex");
      copyFileSync(join(other, "pack-x.pack"), join(other, `pack-${sum}.pack`));
      copyFileSync(join(other, "pack-x.idx"), join(other, `pack-${sum}.idx`));
      const pd = new PackDirectory(other, "sha1");
      for (const o of allObjects(dir)) expect(Buffer.from((await pd.get(o.hash))!.data).equals(o.data)).toBe(true);
      await pd.close();
    } finally {
      removeDir(other);
    }
  });

  it("reads 64-bit offset entries (git index-pack --index-version=2,<offset>)", async () => {
    const other = tempDir();
    try {
      const idx = PackIndex.parse(readFileSync(idxFile), "sha1");
      const sum = Buffer.from(idx.packChecksum).toString("hex");
      copyFileSync(packFile, join(other, `pack-${sum}.pack`));
      git(dir, ["index-pack", "--index-version=2,0x400", "-o", join(other, `pack-${sum}.idx`), join(other, `pack-${sum}.pack`)]);
      const bytes = readFileSync(join(other, `pack-${sum}.idx`));
      const large = PackIndex.parse(bytes, "sha1");
      const offsets = gitOffsets(dir, idxFile);
      const beyond = [...offsets.values()].filter((o) => o > 0x400).length;
      expect(beyond).toBeGreaterThan(100);
      // The index really has a 64-bit table: 8 bytes per entry past the threshold.
      expect(bytes.length - readFileSync(idxFile).length).toBe(8 * beyond);
      for (const [hash, offset] of offsets) expect(large.offsetOf(hash)).toBe(offset);
      const pd = new PackDirectory(other, "sha1");
      for (const o of allObjects(dir)) expect(Buffer.from((await pd.get(o.hash))!.data).equals(o.data)).toBe(true);
      await pd.close();
    } finally {
      removeDir(other);
    }
  });

  it("a truncated index is CORRUPT", () => {
    const bytes = readFileSync(idxFile);
    for (const cut of [0, 7, 100, 1032, bytes.length - 41, bytes.length - 1]) {
      for (const verifyChecksum of [true, false]) {
        try {
          PackIndex.parse(bytes.subarray(0, cut), "sha1", { verifyChecksum });
          expect.fail(`parsed an index truncated at ${cut}`);
        } catch (e) {
          expect(isIrminError(e, "CORRUPT")).toBe(true);
        }
      }
    }
  });

  it("a flipped byte is caught by the checksum", () => {
    const bytes = Buffer.from(readFileSync(idxFile));
    bytes[2000] ^= 1;
    expect(() => PackIndex.parse(bytes, "sha1")).toThrow(/checksum/);
  });

  it("parsing and querying mutated indexes only throws IrminError (fuzz)", () => {
    const good = readFileSync(idxFile);
    const hashes = [...PackIndex.parse(good, "sha1").hashes()];
    fc.assert(
      fc.property(
        fc.array(fc.record({ at: fc.nat({ max: good.length - 1 }), v: fc.integer({ min: 0, max: 255 }) }), { maxLength: 8 }),
        fc.nat({ max: good.length }),
        fc.nat({ max: hashes.length - 1 }),
        (flips, len, pick) => {
          const bytes = Buffer.from(good.subarray(0, Math.max(len, good.length - 200)));
          for (const f of flips) if (f.at < bytes.length) bytes[f.at] = f.v;
          expectOnlyIrminErrors(() => {
            const idx = PackIndex.parse(bytes, "sha1", { verifyChecksum: false });
            const i = idx.find(hashes[pick]);
            if (i >= 0) idx.entryEnd(idx.offsetAt(i), 100_000);
            for (let k = 0; k < idx.count && k < 50; k++) idx.hashAt(k);
          });
        },
      ),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3000 }), (bytes) => {
        expectOnlyIrminErrors(() => PackIndex.parse(bytes, "sha1", { verifyChecksum: false }).find(hashes[0]));
      }),
      { numRuns: 300 },
    );
  });
});
