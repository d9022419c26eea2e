/**
 * Myers' O(ND) difference algorithm, linear-space variant (the "middle snake" bisection of
 * Myers 1986, section 4b), over sequences of integer tokens.
 *
 * Callers intern their elements (lines, code points) to integers first, so the inner loop compares
 * numbers, not strings. The result is a longest common subsequence expressed as matching blocks.
 */

/** A run of `length` equal tokens: `a[aStart + i] === b[bStart + i]` for `0 <= i < length`. */
export interface MatchingBlock {
  readonly aStart: number;
  readonly bStart: number;
  readonly length: number;
}

/** Sequences of tokens the algorithm reads; `Int32Array`s and plain arrays both fit. */
export type TokenSequence = ArrayLike<number>;

/**
 * The matching blocks of a minimal edit script between `a` and `b`: sorted by position in both
 * sequences, non-overlapping, non-empty, adjacent runs coalesced. Every token outside a block was
 * deleted (in `a`) or inserted (in `b`).
 *
 * Cost: O((N + M) · D) time where D is the size of the edit script, O(N + M) memory; identical
 * prefixes and suffixes are stripped first, so small edits in large inputs are cheap.
 */
export function matchingBlocks(a: TokenSequence, b: TokenSequence): MatchingBlock[] {
  const raw: number[] = [];
  diffRange(a, 0, a.length, b, 0, b.length, raw);
  const blocks: MatchingBlock[] = [];
  for (let i = 0; i < raw.length; i += 3) {
    const aStart = raw[i], bStart = raw[i + 1], length = raw[i + 2];
    if (length === 0) continue;
    const last = blocks[blocks.length - 1];
    if (last !== undefined && last.aStart + last.length === aStart && last.bStart + last.length === bStart) {
      blocks[blocks.length - 1] = { aStart: last.aStart, bStart: last.bStart, length: last.length + length };
    } else {
      blocks.push({ aStart, bStart, length });
    }
  }
  return blocks;
}

/** Interns strings to dense integers so that equal strings get equal tokens across sequences. */
export class Interner {
  private readonly ids = new Map<string, number>();

  /** The token of `s`, allocating a new one the first time `s` is seen. O(length of s). */
  token(s: string): number {
    let id = this.ids.get(s);
    if (id === undefined) {
      id = this.ids.size;
      this.ids.set(s, id);
    }
    return id;
  }

  /** Tokens of every element of `items`, in order. */
  tokens(items: readonly string[]): Int32Array {
    const out = new Int32Array(items.length);
    for (let i = 0; i < items.length; i++) out[i] = this.token(items[i]);
    return out;
  }
}

// Appends (aStart, bStart, length) triples, in order, for the LCS of a[aLo..aHi) and b[bLo..bHi).
function diffRange(
  a: TokenSequence, aLo: number, aHi: number,
  b: TokenSequence, bLo: number, bHi: number,
  out: number[],
): void {
  const prefixStart = aLo, prefixStartB = bLo;
  while (aLo < aHi && bLo < bHi && a[aLo] === b[bLo]) { aLo++; bLo++; }
  if (aLo > prefixStart) out.push(prefixStart, prefixStartB, aLo - prefixStart);
  let suffix = 0;
  while (aHi > aLo && bHi > bLo && a[aHi - 1] === b[bHi - 1]) { aHi--; bHi--; suffix++; }
  if (aLo < aHi && bLo < bHi) {
    const split = bisect(a, aLo, aHi, b, bLo, bHi);
    if (split !== undefined) {
      const [x, y] = split;
      diffRange(a, aLo, aLo + x, b, bLo, bLo + y, out);
      diffRange(a, aLo + x, aHi, b, bLo + y, bHi, out);
    }
  }
  if (suffix > 0) out.push(aHi, bHi, suffix);
}

// Finds a point (x, y), relative to (aLo, bLo), on an optimal edit path, by running the forward
// and backward searches until they overlap. Returns undefined when nothing is in common.
// Both inputs are non-empty and differ in their first and last tokens (the caller strips those),
// which guarantees the split makes both halves strictly smaller.
function bisect(
  a: TokenSequence, aLo: number, aHi: number,
  b: TokenSequence, bLo: number, bHi: number,
): [number, number] | undefined {
  const n = aHi - aLo, m = bHi - bLo;
  const maxD = Math.ceil((n + m) / 2);
  const offset = maxD + 1;
  const size = 2 * maxD + 3;
  const vf = new Int32Array(size).fill(-1);
  const vb = new Int32Array(size).fill(-1);
  vf[offset + 1] = 0;
  vb[offset + 1] = 0;
  const delta = n - m;
  // With an odd delta the paths can only meet on a forward step, with an even one on a backward step.
  const front = (delta & 1) !== 0;
  // Diagonals that ran off the grid are excluded from later rounds.
  let kfStart = 0, kfEnd = 0, kbStart = 0, kbEnd = 0;
  for (let d = 0; d < maxD; d++) {
    for (let k = -d + kfStart; k <= d - kfEnd; k += 2) {
      const ko = offset + k;
      let x = k === -d || (k !== d && vf[ko - 1] < vf[ko + 1]) ? vf[ko + 1] : vf[ko - 1] + 1;
      let y = x - k;
      while (x < n && y < m && a[aLo + x] === b[bLo + y]) { x++; y++; }
      vf[ko] = x;
      if (x > n) kfEnd += 2;
      else if (y > m) kfStart += 2;
      else if (front) {
        const kbo = offset + delta - k;
        if (kbo >= 0 && kbo < size && vb[kbo] !== -1 && x >= n - vb[kbo]) return [x, y];
      }
    }
    for (let k = -d + kbStart; k <= d - kbEnd; k += 2) {
      const ko = offset + k;
      let x = k === -d || (k !== d && vb[ko - 1] < vb[ko + 1]) ? vb[ko + 1] : vb[ko - 1] + 1;
      let y = x - k;
      while (x < n && y < m && a[aHi - 1 - x] === b[bHi - 1 - y]) { x++; y++; }
      vb[ko] = x;
      if (x > n) kbEnd += 2;
      else if (y > m) kbStart += 2;
      else if (!front) {
        const kfo = offset + delta - k;
        if (kfo >= 0 && kfo < size && vf[kfo] !== -1) {
          const xf = vf[kfo];
          const yf = xf - (kfo - offset);
          if (xf >= n - x) return [xf, yf];
        }
      }
    }
  }
  return undefined;
}
