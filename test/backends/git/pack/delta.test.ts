import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { applyDelta, createDelta, deltaSizes } from "../../../../src/codec/pack/delta.js";
import { isIrminError } from "../../../../src/core/errors.js";
import { rng } from "./git-fixtures.js";

function randomBytes(n: number, seed: number): Uint8Array {
  const next = rng(seed);
  return Uint8Array.from({ length: n }, () => Math.floor(next() * 256));
}

function expectCorrupt(fn: () => unknown): void {
  try {
    fn();
  } catch (e) {
    expect(isIrminError(e, "CORRUPT")).toBe(true);
    return;
  }
  expect.fail("expected CORRUPT");
}

describe("applyDelta", () => {
  const base = new TextEncoder().encode("hello, world");

  it("applies copies and inserts (hand-written golden delta)", () => {
    // base size 12, result size 11; copy 5 bytes at 0, insert "!!!", copy 3 bytes at 7.
    const delta = Uint8Array.from([12, 11, 0x90, 5, 3, 0x21, 0x21, 0x21, 0x91, 7, 3]);
    expect(new TextDecoder().decode(applyDelta(base, delta))).toBe("hello!!!wor");
    expect(deltaSizes(delta)).toEqual({ baseSize: 12, resultSize: 11, headerLength: 2 });
  });

  it("treats a copy size of 0 as 0x10000", () => {
    const big = randomBytes(0x10000 + 10, 3);
    const delta = Uint8Array.from([0x8a, 0x80, 0x04, 0x80, 0x80, 0x04, 0x81, 10]);
    expect(applyDelta(big, delta)).toEqual(big.subarray(10, 10 + 0x10000));
  });

  it("rejects a copy outside the base, size mismatches, opcode 0 and truncation with CORRUPT", () => {
    expectCorrupt(() => applyDelta(base, Uint8Array.from([12, 5, 0x91, 10, 5]))); // 10 + 5 > 12
    expectCorrupt(() => applyDelta(base, Uint8Array.from([11, 5, 0x90, 5]))); // wrong base size
    expectCorrupt(() => applyDelta(base, Uint8Array.from([12, 6, 0x90, 5]))); // result shorter than declared
    expectCorrupt(() => applyDelta(base, Uint8Array.from([12, 4, 0x90, 5]))); // result longer than declared
    expectCorrupt(() => applyDelta(base, Uint8Array.from([12, 1, 0]))); // reserved opcode
    expectCorrupt(() => applyDelta(base, Uint8Array.from([12, 3, 3, 0x41]))); // insert truncated
    expectCorrupt(() => applyDelta(base, Uint8Array.from([12, 3, 0x91]))); // copy args truncated
    expectCorrupt(() => applyDelta(base, Uint8Array.from([0x80]))); // header truncated
  });

  it("only ever throws IrminError on arbitrary input (fuzz)", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.uint8Array({ maxLength: 64 }), (b, d) => {
        try {
          const out = applyDelta(b, d);
          expect(out.length).toBe(deltaSizes(d).resultSize);
        } catch (e) {
          expect(isIrminError(e, "CORRUPT")).toBe(true);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it("only ever throws IrminError on mutated valid deltas (fuzz)", () => {
    const b = randomBytes(300, 5);
    const t = Uint8Array.from([...b.subarray(100, 250), 1, 2, 3, ...b.subarray(0, 90)]);
    const good = createDelta(b, t);
    fc.assert(
      fc.property(fc.nat({ max: good.length - 1 }), fc.integer({ min: 0, max: 255 }), fc.nat({ max: good.length }), (at, v, cut) => {
        const d = good.slice(0, Math.max(cut, at + 1));
        d[at] = v;
        try {
          applyDelta(b, d);
        } catch (e) {
          expect(isIrminError(e, "CORRUPT")).toBe(true);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe("createDelta", () => {
  it("round-trips through applyDelta for arbitrary base and target", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), fc.uint8Array({ maxLength: 400 }), (b, t) => {
        expect(applyDelta(b, createDelta(b, t))).toEqual(t);
      }),
      { numRuns: 500 },
    );
  });

  it("round-trips for targets made by editing the base, and is small for small edits", () => {
    const edit = fc.record({ at: fc.nat(), remove: fc.nat({ max: 50 }), insert: fc.uint8Array({ maxLength: 40 }) });
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1000 }), fc.integer({ min: 0, max: 6000 }), fc.array(edit, { maxLength: 5 }), (seed, n, edits) => {
        const b = randomBytes(n, seed);
        let t = b;
        for (const e of edits) {
          const at = t.length === 0 ? 0 : e.at % t.length;
          t = Uint8Array.from([...t.subarray(0, at), ...e.insert, ...t.subarray(at + e.remove)]);
        }
        const d = createDelta(b, t);
        expect(applyDelta(b, d)).toEqual(t);
        // Each edit costs at most a few blocks of literal data plus copy ops.
        expect(d.length).toBeLessThanOrEqual(16 + edits.length * (2 * 32 + 60 + 16) + Math.ceil(t.length / 0x10000) * 8);
      }),
      { numRuns: 150 },
    );
  });

  it("round-trips when the target keeps the base's two ends, even overlapping ones (the prefix/suffix fast path)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1000 }), fc.integer({ min: 0, max: 3000 }), fc.nat(), fc.nat(), fc.uint8Array({ maxLength: 300 }), fc.boolean(), (seed, n, i, j, middle, lowEntropy) => {
        const b = lowEntropy ? randomBytes(n, seed).map((x) => x & 1) : randomBytes(n, seed);
        const head = b.subarray(0, n === 0 ? 0 : i % (n + 1));
        const tail = b.subarray(n === 0 ? 0 : j % (n + 1));
        const t = Uint8Array.from([...head, ...middle, ...tail]);
        const d = createDelta(b, t);
        expect(applyDelta(b, d)).toEqual(t);
        // The kept ends cost copy instructions, not their bytes.
        expect(d.length).toBeLessThanOrEqual(2 * 16 + middle.length + Math.ceil(middle.length / 127) + 4 * 40);
      }),
      { numRuns: 300 },
    );
  });

  it("handles copies longer than 64 KiB and offsets past 16 MiB", () => {
    // Zeros (one block hash, cheap to index) then random bytes past the 16 MiB mark.
    const b = new Uint8Array(17 * 1024 * 1024 + 200_000);
    b.set(randomBytes(200_000, 9), 17 * 1024 * 1024);
    const t = Uint8Array.from([...b.subarray(17 * 1024 * 1024, 17 * 1024 * 1024 + 150_000), 7, 7, 7]);
    const d = createDelta(b, t);
    expect(applyDelta(b, d)).toEqual(t);
    expect(d.length).toBeLessThan(64);
  });
});
