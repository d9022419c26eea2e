import { describe, it, expect } from "vitest";
import fc from "fast-check";
import { decodeTree, encodeTree, MODE_GITLINK, type TreeEntry } from "../../src/codec/tree.js";
import { toHex } from "../../src/core/hash.js";
import { isIrminError } from "../../src/core/errors.js";
import { scanTree, ENTRY_GITLINK } from "../../src/sync/tree-links.js";
import { IdSet } from "../../src/sync/id-set.js";

/** What scanTree reports: the ids of its links, or "CORRUPT". */
function scanned(data: Uint8Array): string[] | "CORRUPT" {
  const out: string[] = [];
  try {
    scanTree(data, 20, "t", (d, pos, kind) => out.push(`${kind === ENTRY_GITLINK ? "g" : "o"}${toHex(d, pos, 20)}`));
  } catch (e) {
    if (isIrminError(e, "CORRUPT")) return "CORRUPT";
    throw e;
  }
  return out;
}

/** The same from decodeTree. */
function decoded(data: Uint8Array): string[] | "CORRUPT" {
  try {
    return decodeTree(data, "sha1").map((e) => `${e.mode === MODE_GITLINK ? "g" : "o"}${e.hash}`);
  } catch (e) {
    if (isIrminError(e, "CORRUPT")) return "CORRUPT";
    throw e;
  }
}

const name = fc.constantFrom("a", "a.b", "a-c", "b", "a0", ".git", "..", ".", "x/y", "A", "é", "ab", "a.");
const mode = fc.constantFrom("100644", "100755", "120000", "40000", "040000", "160000", "100664", "0", "777777");
const entry = fc.record({ name, mode, hash: fc.uint8Array({ minLength: 20, maxLength: 20 }).map((b) => toHex(b)) });

/** A tree body written entry by entry in the given order (no sorting, no checks). */
function rawTree(entries: { name: string; mode: string; hash: string }[]): Uint8Array {
  const parts: number[] = [];
  for (const e of entries) {
    for (const c of Buffer.from(`${e.mode} ${e.name}\0`)) parts.push(c);
    for (const c of Buffer.from(e.hash, "hex")) parts.push(c);
  }
  return Uint8Array.from(parts);
}

describe("scanTree", () => {
  it("accepts and refuses exactly what decodeTree does, and links the same entries", () => {
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 8 }), fc.boolean(), (entries, sorted) => {
        let data: Uint8Array;
        if (sorted) {
          try {
            data = encodeTree(entries as TreeEntry[], "sha1");
          } catch {
            data = rawTree(entries);
          }
        } else data = rawTree(entries);
        expect(scanned(data)).toEqual(decoded(data));
      }),
      { seed: 5, numRuns: 3000 },
    );
  });

  it("agrees with decodeTree on truncated and mutated trees", () => {
    const good = encodeTree(
      [
        { name: "a", mode: "100644", hash: "1".repeat(40) },
        { name: "a.b", mode: "100644", hash: "2".repeat(40) },
        { name: "a", mode: "40000", hash: "3".repeat(40) } as TreeEntry,
      ].slice(0, 2),
      "sha1",
    );
    // File "a", file "a.b", tree "a": a duplicate name two entries apart.
    const dup = rawTree([
      { name: "a", mode: "100644", hash: "1".repeat(40) },
      { name: "a.b", mode: "100644", hash: "2".repeat(40) },
      { name: "a", mode: "40000", hash: "3".repeat(40) },
    ]);
    expect(decoded(dup)).toBe("CORRUPT");
    expect(scanned(dup)).toBe("CORRUPT");
    fc.assert(
      fc.property(fc.nat(good.length), fc.nat(good.length - 1), fc.integer({ min: 0, max: 255 }), (cut, at, byte) => {
        const t = good.subarray(0, cut);
        expect(scanned(t)).toEqual(decoded(t));
        const m = good.slice();
        m[at] = byte;
        expect(scanned(m)).toEqual(decoded(m));
      }),
      { seed: 7, numRuns: 2000 },
    );
  });
});

describe("IdSet", () => {
  it("keeps distinct ids with their flags, like a Set of hex strings", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 300 }), fc.constantFrom(1, 2)), { maxLength: 2000 }), (adds) => {
        const set = new IdSet(20, 4);
        const model = new Map<string, number>();
        for (const [k, flag] of adds) {
          const id = new Uint8Array(20);
          id[19] = k & 255;
          id[18] = k >> 8;
          const i = set.add(id, 0, flag);
          const hex = toHex(id);
          model.set(hex, (model.get(hex) ?? 0) | flag);
          expect(set.hexAt(i)).toBe(hex);
          expect(set.indexOf(id, 0)).toBe(i);
        }
        expect(set.size).toBe(model.size);
        for (let i = 0; i < set.size; i++) expect(set.flags(i)).toBe(model.get(set.hexAt(i)));
      }),
      { seed: 3, numRuns: 100 },
    );
  });
});
