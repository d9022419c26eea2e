/**
 * Where the rope cuts: content-defined boundaries, so that the shape of a rope depends only on its
 * text (equal texts are equal trees, whatever edits produced them; that makes merges of equal
 * subtrees hit by hash and makes merge(a, b) and merge(b, a) the same tree).
 *
 * - Leaves: a cut may fall after position `p` when a rolling (gear) hash of the 32 code units
 *   before `p` has its top {@link LEAF_MASK_BITS} bits zero; the greedy rule takes the first such
 *   position at least {@link LEAF_MIN} units after the previous cut, or cuts at {@link LEAF_MAX}.
 *   A cut never falls inside a surrogate pair, so every leaf is valid UTF-8.
 * - Inner levels: an item (leaf or subtree) may end its group when its hash's top 4 bits are zero;
 *   a group holds at least {@link MIN_FANOUT} items (except the last of a level) and at most
 *   {@link MAX_FANOUT}.
 *
 * Because whether a position may be a cut depends only on a bounded window before it, a greedy
 * chunking restarted from any earlier cut reproduces the same cuts: an edit re-chunks from the cut
 * before it until a new cut lands on an old one, which is what makes edits O(log n).
 */
import type { Hash } from "../../core/hash.js";

/** Fewest UTF-16 code units in a leaf (except the last leaf of a text). At least {@link WINDOW}. */
export const LEAF_MIN = 256;
/** Most UTF-16 code units in a leaf (at most 3 × that in UTF-8 bytes). */
export const LEAF_MAX = 4096;
/** A cut is allowed after a position with probability 2^-LEAF_MASK_BITS (mean leaf ≈ 1.3 K units). */
const LEAF_MASK_BITS = 10;
/** Code units the gear hash sees (a 32-bit hash shifted once per unit forgets older units). */
export const WINDOW = 32;
/** Fewest items in an inner node (except the last node of a level): each level at least halves. */
export const MIN_FANOUT = 2;
/** Most items in an inner node. */
export const MAX_FANOUT = 64;

// The gear hash's per-unit value: a fixed 32-bit mix (murmur3's finaliser) of the code unit.
function gear(c: number): number {
  let h = Math.imul(c ^ 0x9e3779b9, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

const GEAR = new Uint32Array(65536);
for (let c = 0; c < 65536; c++) GEAR[c] = gear(c);

/** True for a UTF-16 high (leading) surrogate. */
export function isHighSurrogate(c: number): boolean {
  return c >= 0xd800 && c <= 0xdbff;
}

/** True for a UTF-16 low (trailing) surrogate. */
export function isLowSurrogate(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff;
}

/**
 * The lengths of the longest common prefix and suffix of `x` and `y` that do not overlap in the
 * shorter one and end on whole code points (never inside a surrogate pair). O(prefix + suffix).
 */
export function commonAffixes(x: string, y: string): [number, number] {
  const max = Math.min(x.length, y.length);
  let p = 0;
  while (p < max && x.charCodeAt(p) === y.charCodeAt(p)) p++;
  if (p > 0 && isHighSurrogate(x.charCodeAt(p - 1))) p--;
  let q = 0;
  while (q < max - p && x.charCodeAt(x.length - 1 - q) === y.charCodeAt(y.length - 1 - q)) q++;
  if (q > 0 && isLowSurrogate(x.charCodeAt(x.length - q))) q--;
  return [p, q];
}

/**
 * Whether position `p` of well-formed `s` falls inside a surrogate pair (`0 < p`; `p` may be
 * `s.length` when `s` is a prefix of a longer well-formed text).
 */
export function splitsPair(s: string, p: number): boolean {
  return p > 0 && isHighSurrogate(s.charCodeAt(p - 1));
}

/**
 * The greedy cut after `from` in `buf` (a cut itself): the end of the leaf starting at `from`.
 * `atEnd` says the text ends at `buf.length`; otherwise `undefined` when `buf` is too short to
 * decide (the caller appends the next leaf and asks again). O(length of the leaf).
 */
export function nextLeafCut(buf: string, from: number, atEnd: boolean): number | undefined {
  const limit = from + LEAF_MAX;
  const stop = Math.min(limit, buf.length);
  let p = from + LEAF_MIN;
  if (p <= stop) {
    let h = 0;
    for (let i = p - WINDOW; i < p; i++) h = ((h << 1) + GEAR[buf.charCodeAt(i)]) | 0;
    for (;;) {
      if (p === limit) return splitsPair(buf, p) ? p - 1 : p;
      if (h >>> (32 - LEAF_MASK_BITS) === 0 && !splitsPair(buf, p)) return p;
      if (p === stop) break;
      h = ((h << 1) + GEAR[buf.charCodeAt(p)]) | 0;
      p++;
    }
  }
  if (atEnd) return buf.length > from ? buf.length : undefined;
  return undefined;
}

/** Whether an item whose Git id is `hash` may end a group of an inner level (probability 1/16). */
export function endsGroup(hash: Hash): boolean {
  return (parseInt(hash.slice(0, 2), 16) & 0xf0) === 0;
}

/**
 * The greedy end (exclusive) of the group starting at `from` over items whose cut candidacy is
 * `candidate[i]`, `n` items known; `atEnd` says the level ends at `n`. `undefined` when more
 * items are needed to decide.
 */
export function nextGroupCut(candidate: (i: number) => boolean, from: number, n: number, atEnd: boolean): number | undefined {
  const limit = from + MAX_FANOUT;
  for (let p = from + MIN_FANOUT; p <= Math.min(limit, n); p++) {
    if (p === limit || candidate(p - 1)) return p;
  }
  if (atEnd) return n > from ? n : undefined;
  return undefined;
}
