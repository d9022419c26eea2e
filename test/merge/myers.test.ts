import { describe, it, expect } from "vitest";
import fc from "fast-check";
import { matchingBlocks, Interner } from "../../src/merge/myers.js";

// Length of a longest common subsequence, by the textbook O(NM) dynamic programme.
function lcsLength(a: readonly number[], b: readonly number[]): number {
  let prev = new Array<number>(b.length + 1).fill(0);
  for (let i = 1; i <= a.length; i++) {
    const cur = new Array<number>(b.length + 1).fill(0);
    for (let j = 1; j <= b.length; j++) {
      cur[j] = a[i - 1] === b[j - 1] ? prev[j - 1] + 1 : Math.max(prev[j], cur[j - 1]);
    }
    prev = cur;
  }
  return prev[b.length];
}

function checkBlocks(a: readonly number[], b: readonly number[]): number {
  const blocks = matchingBlocks(a, b);
  let ea = 0, eb = 0, total = 0;
  for (const blk of blocks) {
    expect(blk.length).toBeGreaterThan(0);
    expect(blk.aStart).toBeGreaterThanOrEqual(ea);
    expect(blk.bStart).toBeGreaterThanOrEqual(eb);
    // coalesced: two blocks never touch in both sequences at once
    expect(blk.aStart === ea && blk.bStart === eb && total > 0).toBe(false);
    for (let i = 0; i < blk.length; i++) expect(a[blk.aStart + i]).toBe(b[blk.bStart + i]);
    ea = blk.aStart + blk.length;
    eb = blk.bStart + blk.length;
    total += blk.length;
  }
  expect(ea).toBeLessThanOrEqual(a.length);
  expect(eb).toBeLessThanOrEqual(b.length);
  return total;
}

describe("matchingBlocks (Myers, linear space)", () => {
  it("handles empty and identical inputs", () => {
    expect(matchingBlocks([], [])).toEqual([]);
    expect(matchingBlocks([1, 2], [])).toEqual([]);
    expect(matchingBlocks([], [1])).toEqual([]);
    expect(matchingBlocks([1, 2, 3], [1, 2, 3])).toEqual([{ aStart: 0, bStart: 0, length: 3 }]);
  });

  it("finds the classic ABCABBA / CBABAC LCS of length 4", () => {
    const tok = (s: string) => [...s].map((c) => c.charCodeAt(0));
    expect(checkBlocks(tok("ABCABBA"), tok("CBABAC"))).toBe(4);
  });

  it("is a valid, optimal common subsequence on random inputs", () => {
    const seq = fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 40 });
    fc.assert(
      fc.property(seq, seq, (a, b) => {
        expect(checkBlocks(a, b)).toBe(lcsLength(a, b));
      }),
      { numRuns: 400 },
    );
  });

  it("is optimal on a larger alphabet and on small edits of long inputs", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 50 }), { minLength: 50, maxLength: 200 }),
        fc.array(fc.tuple(fc.nat(), fc.boolean(), fc.integer({ min: 0, max: 50 })), { maxLength: 8 }),
        (a, edits) => {
          const b = a.slice();
          for (const [at, del, v] of edits) {
            const i = at % (b.length + 1);
            if (del && i < b.length) b.splice(i, 1);
            else b.splice(i, 0, v);
          }
          expect(checkBlocks(a, b)).toBe(lcsLength(a, b));
        },
      ),
      { numRuns: 100 },
    );
  });

  it("stays fast and exact for a small change in a large input", () => {
    const a = Array.from({ length: 200_000 }, (_, i) => i);
    const b = a.slice();
    b.splice(100_000, 3, -1, -2);
    b.splice(5, 1);
    const blocks = matchingBlocks(a, b);
    expect(blocks.reduce((n, x) => n + x.length, 0)).toBe(200_000 - 4);
  });

  it("interns equal strings to equal tokens", () => {
    const i = new Interner();
    const x = i.tokens(["a", "b", "a"]);
    const y = i.tokens(["b", "c"]);
    expect([...x]).toEqual([0, 1, 0]);
    expect([...y]).toEqual([1, 2]);
  });
});
