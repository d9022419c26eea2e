import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { toHex } from "../../src/core/hash.js";
import { writePackIndex, writePackIndexColumns } from "../../src/codec/pack/pack-index.js";

describe("writePackIndexColumns", () => {
  it("writes the same bytes as writePackIndex, whatever the entry order (sha1 and sha256)", () => {
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
          const expected = writePackIndex(uniq.map((id, k) => ({ hash: toHex(id), offset: offs[k], crc32: crcs[k] })), checksum, algorithm);
          expect(writePackIndexColumns(ids, offs, crcs, n, checksum, algorithm)).toEqual(expected);
        },
      ),
      { numRuns: 150 },
    );
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
