import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { toHex } from "../../src/core/hash.js";
import { PackIndex, writePackIndex, writePackIndexColumns } from "../../src/codec/pack/pack-index.js";

describe("writePackIndexColumns", () => {
  it("writes an index that reads back every id with its offset and CRC, in id order, whatever the entry order (sha1 and sha256)", () => {
    fc.assert(
      fc.property(
        fc.constantFrom("sha1" as const, "sha256" as const),
        fc.uniqueArray(fc.uint8Array({ minLength: 32, maxLength: 32 }), { maxLength: 60, selector: (a) => toHex(a) }),
        fc.array(fc.oneof(fc.nat(), fc.integer({ min: 2 ** 31, max: 2 ** 40 })), { minLength: 60, maxLength: 60 }),
        fc.boolean(),
        (algorithm, raw, offsets, samePrefix) => {
          const h = algorithm === "sha1" ? 20 : 32;
          // Ids sharing their first bytes exercise the sort within a bucket.
          const idList = raw.map((r) => (samePrefix ? Uint8Array.from([7, 7, ...r.subarray(2, h)]) : r.subarray(0, h)));
          const uniq = [...new Map(idList.map((i) => [toHex(i), i])).values()];
          const n = uniq.length;
          const ids = new Uint8Array(n * h);
          uniq.forEach((id, k) => ids.set(id, k * h));
          const crcs = Uint32Array.from(uniq, (_, k) => (k * 2654435761) >>> 0);
          const offs = offsets.slice(0, n);
          const checksum = new Uint8Array(h).fill(9);
          // writePackIndex now delegates to the column writer, so the oracle is the index reader
          // (itself checked against git index-pack in test/backends/git/pack/pack-index.test.ts).
          const index = PackIndex.parse(writePackIndexColumns(ids, offs, crcs, n, checksum, algorithm), algorithm);
          const sorted = uniq.map((id, k) => ({ hash: toHex(id), offset: offs[k], crc: crcs[k] })).sort((a, b) => (a.hash < b.hash ? -1 : a.hash > b.hash ? 1 : 0));
          expect(index.count).toBe(n);
          sorted.forEach((e, i) => {
            expect(index.hashAt(i)).toBe(e.hash);
            expect(index.offsetAt(i)).toBe(e.offset);
            expect(index.crc32At(i)).toBe(e.crc);
            expect(index.offsetOf(e.hash)).toBe(e.offset);
          });
          expect(writePackIndex(sorted.map((e) => ({ hash: e.hash, offset: e.offset, crc32: e.crc })), checksum, algorithm)).toEqual(writePackIndexColumns(ids, offs, crcs, n, checksum, algorithm));
        },
      ),
      { numRuns: 150 },
    );
  });

  it("sorts large counts too (the two-byte buckets, from 4,096 ids), with ids sharing their first bytes", () => {
    for (const n of [4095, 4096, 9000]) {
      const h = 20;
      const ids = new Uint8Array(n * h);
      // A fixed pseudo-random fill; every 3rd id shares its first two bytes with the one before.
      let x = 12345;
      for (let i = 0; i < ids.length; i++) ids[i] = (x = (Math.imul(x, 1103515245) + 12345) >>> 0) >>> 24;
      for (let k = 3; k < n; k += 3) ids.copyWithin(k * h, (k - 1) * h, (k - 1) * h + 2);
      const offs = Array.from({ length: n }, (_, k) => 12 + k * 7);
      const crcs = Array.from({ length: n }, (_, k) => k);
      const index = PackIndex.parse(writePackIndexColumns(ids, offs, crcs, n, new Uint8Array(h), "sha1"), "sha1");
      const expected = Array.from({ length: n }, (_, k) => toHex(ids.subarray(k * h, (k + 1) * h))).sort();
      expect(index.count).toBe(n);
      for (let i = 0; i < n; i++) {
        expect(index.hashAt(i)).toBe(expected[i]);
        // Offsets and CRCs moved with their ids.
        const k = (index.offsetAt(i) - 12) / 7;
        expect(toHex(ids.subarray(k * h, (k + 1) * h))).toBe(expected[i]);
        expect(index.crc32At(i)).toBe(k);
      }
    }
  });

  it("refuses an id twice, a bad offset and short columns", () => {
    const ids = new Uint8Array(40).fill(1);
    const sum = new Uint8Array(20);
    expect(() => writePackIndexColumns(ids, [1, 2], [0, 0], 2, sum, "sha1")).toThrow(/twice/);
    ids[39] = 2;
    expect(() => writePackIndexColumns(ids, [1, -1], [0, 0], 2, sum, "sha1")).toThrow(/offset/);
    expect(() => writePackIndexColumns(ids, [1], [0, 0], 2, sum, "sha1")).toThrow(/shorter/);
    expect(writePackIndexColumns(ids, [1, 2], [0, 0], 2, sum, "sha1").length).toBe(8 + 1024 + 2 * 28 + 40);
  });
});
