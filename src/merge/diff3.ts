/**
 * Line-based three-way merge (diff3) and character-level diff.
 *
 * The merge follows the classic diff3 construction (Khanna, Kunal and Pierce, "A Formal
 * Investigation of Diff3"): diff the ancestor against each side, keep the ancestor lines that both
 * sides left untouched as synchronisation points, and decide each region between them on its own.
 * Like git, changes that touch the same or adjacent ancestor lines form one region, so they merge
 * only when one side left it alone or both made the same change.
 */
import { invalidArgument } from "../core/errors.js";
import { Interner, matchingBlocks, type MatchingBlock } from "./myers.js";

/** One region where both sides changed the same ancestor lines differently; half-open, 0-based. */
export interface Diff3Conflict {
  /** Lines [oldStart, oldEnd) of the ancestor. */
  readonly oldStart: number;
  readonly oldEnd: number;
  /** Lines [aStart, aEnd) of side a. */
  readonly aStart: number;
  readonly aEnd: number;
  /** Lines [bStart, bEnd) of side b. */
  readonly bStart: number;
  readonly bEnd: number;
}

/** Outcome of {@link diff3Merge}. */
export type Diff3Result =
  | { readonly ok: true; readonly lines: string[] }
  | {
      readonly ok: false;
      readonly conflicts: Diff3Conflict[];
      /** The merge with git-style `<<<<<<<`, `|||||||`, `=======`, `>>>>>>>` markers (diff3 style). */
      readonly lines: string[];
    };

/** Labels printed after the conflict markers of {@link diff3Merge}'s marked output. */
export interface Diff3Labels {
  readonly a?: string;
  readonly old?: string;
  readonly b?: string;
}

interface SyncRegion {
  readonly old: number;
  readonly a: number;
  readonly b: number;
  readonly length: number;
}

/**
 * Splits text into lines, each keeping its terminator (`\n`, so `\r\n` stays intact), the last
 * one possibly without. `splitLines(s).join("") === s` always, so line endings and the presence
 * of a final newline survive a merge. `""` gives `[]`.
 */
export function splitLines(text: string): string[] {
  const lines: string[] = [];
  let start = 0;
  for (;;) {
    const nl = text.indexOf("\n", start);
    if (nl < 0) break;
    lines.push(text.slice(start, nl + 1));
    start = nl + 1;
  }
  if (start < text.length) lines.push(text.slice(start));
  return lines;
}

/**
 * Three-way merge of line arrays. `old` is the common ancestor (pass `[]` when there is none, as
 * git does for add/add). Returns the merged lines, or every conflicting region together with a
 * marked-up merge. Deterministic, and symmetric: swapping `a` and `b` gives the same lines on
 * success and the same regions (sides swapped) on conflict.
 *
 * Cost: two Myers diffs, O((N + M) · D) for D the number of changed lines.
 */
export function diff3Merge(
  old: readonly string[],
  a: readonly string[],
  b: readonly string[],
  labels: Diff3Labels = {},
): Diff3Result {
  const interner = new Interner();
  const o = interner.tokens(old), at = interner.tokens(a), bt = interner.tokens(b);
  const regions = syncRegions(matchingBlocks(o, at), matchingBlocks(o, bt), old.length, a.length, b.length);
  const lines: string[] = [];
  const conflicts: Diff3Conflict[] = [];
  let io = 0, ia = 0, ib = 0;
  for (const r of regions) {
    if (io < r.old || ia < r.a || ib < r.b) {
      const aSame = rangeEqual(o, io, r.old, at, ia, r.a);
      const bSame = rangeEqual(o, io, r.old, bt, ib, r.b);
      if (bSame || rangeEqual(at, ia, r.a, bt, ib, r.b)) {
        pushRange(lines, a, ia, r.a);
      } else if (aSame) {
        pushRange(lines, b, ib, r.b);
      } else {
        conflicts.push({ oldStart: io, oldEnd: r.old, aStart: ia, aEnd: r.a, bStart: ib, bEnd: r.b });
        pushMarked(lines, labels, a.slice(ia, r.a), old.slice(io, r.old), b.slice(ib, r.b));
      }
    }
    pushRange(lines, old, r.old, r.old + r.length);
    io = r.old + r.length;
    ia = r.a + r.length;
    ib = r.b + r.length;
  }
  return conflicts.length === 0 ? { ok: true, lines } : { ok: false, conflicts, lines };
}

// Ancestor runs matched, unchanged, on both sides, in order, ending with an empty sentinel at the
// ends of all three inputs.
function syncRegions(
  oa: readonly MatchingBlock[], ob: readonly MatchingBlock[],
  oldLength: number, aLength: number, bLength: number,
): SyncRegion[] {
  const out: SyncRegion[] = [];
  let i = 0, j = 0;
  while (i < oa.length && j < ob.length) {
    const x = oa[i], y = ob[j];
    const start = Math.max(x.aStart, y.aStart);
    const end = Math.min(x.aStart + x.length, y.aStart + y.length);
    if (start < end) {
      out.push({ old: start, a: x.bStart + (start - x.aStart), b: y.bStart + (start - y.aStart), length: end - start });
    }
    if (x.aStart + x.length < y.aStart + y.length) i++;
    else j++;
  }
  out.push({ old: oldLength, a: aLength, b: bLength, length: 0 });
  return out;
}

function rangeEqual(x: Int32Array, xs: number, xe: number, y: Int32Array, ys: number, ye: number): boolean {
  if (xe - xs !== ye - ys) return false;
  for (let k = 0; k < xe - xs; k++) if (x[xs + k] !== y[ys + k]) return false;
  return true;
}

function pushRange(out: string[], src: readonly string[], start: number, end: number): void {
  for (let k = start; k < end; k++) out.push(src[k]);
}

function pushMarked(
  out: string[], labels: Diff3Labels,
  a: readonly string[], old: readonly string[], b: readonly string[],
): void {
  const marker = (m: string, label: string | undefined): string => (label ? `${m} ${label}\n` : `${m}\n`);
  // A side whose last line has no newline would glue the next marker onto it.
  const side = (lines: readonly string[]): void => {
    for (const l of lines) out.push(l);
    const last = lines[lines.length - 1];
    if (last !== undefined && !last.endsWith("\n")) out.push("\n");
  };
  out.push(marker("<<<<<<<", labels.a));
  side(a);
  out.push(marker("|||||||", labels.old));
  side(old);
  out.push(marker("=======", undefined));
  side(b);
  out.push(marker(">>>>>>>", labels.b));
}

/**
 * One edit of a text: at `pos` (a UTF-16 index into the *original* text, as `String#slice` counts),
 * remove `deleteCount` UTF-16 code units, then insert `insertText`.
 */
export interface TextEdit {
  readonly pos: number;
  readonly deleteCount: number;
  readonly insertText: string;
}

/**
 * Character-level diff from `a` to `b`: a minimal list of edits, sorted by `pos`, non-overlapping
 * and non-adjacent, every position relative to `a` (apply them with {@link applyEdits}). Compares
 * whole code points, so a surrogate pair is never split; positions and counts are in UTF-16 units.
 * `diff(a, a)` is `[]`. Cost O((N + M) · D).
 */
export function diff(a: string, b: string): TextEdit[] {
  const ac = codePoints(a), bc = codePoints(b);
  const blocks = matchingBlocks(ac.points, bc.points);
  blocks.push({ aStart: ac.points.length, bStart: bc.points.length, length: 0 });
  const edits: TextEdit[] = [];
  let ia = 0, ib = 0;
  for (const blk of blocks) {
    if (ia < blk.aStart || ib < blk.bStart) {
      const pos = ac.offsets[ia];
      edits.push({
        pos,
        deleteCount: ac.offsets[blk.aStart] - pos,
        insertText: b.slice(bc.offsets[ib], bc.offsets[blk.bStart]),
      });
    }
    ia = blk.aStart + blk.length;
    ib = blk.bStart + blk.length;
  }
  return edits;
}

/**
 * Applies edits whose positions are all relative to `text` (as {@link diff} returns them).
 * Throws `INVALID_ARGUMENT` when an edit falls outside `text` or edits are unsorted or overlap.
 * Cost O(length of the result).
 */
export function applyEdits(text: string, edits: readonly TextEdit[]): string {
  let out = "";
  let at = 0;
  for (const e of edits) {
    if (!Number.isInteger(e.pos) || !Number.isInteger(e.deleteCount) || e.deleteCount < 0 || e.pos < at || e.pos + e.deleteCount > text.length) {
      throw invalidArgument(`applyEdits: edit at ${e.pos} (delete ${e.deleteCount}) is out of order or outside a text of length ${text.length}`);
    }
    out += text.slice(at, e.pos) + e.insertText;
    at = e.pos + e.deleteCount;
  }
  return out + text.slice(at);
}

// Code points of s, and the UTF-16 offset of each (plus one past the end).
function codePoints(s: string): { points: Int32Array; offsets: number[] } {
  const points: number[] = [];
  const offsets: number[] = [];
  for (let i = 0; i < s.length; ) {
    const cp = s.codePointAt(i) as number;
    points.push(cp);
    offsets.push(i);
    i += cp > 0xffff ? 2 : 1;
  }
  offsets.push(s.length);
  return { points: Int32Array.from(points), offsets };
}
