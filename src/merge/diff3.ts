/**
 * Line-based three-way merge (diff3) and character-level diff.
 *
 * The merge diffs the ancestor against each side (Myers), which gives each side's changes as hunks
 * (a range of ancestor lines and what replaced it; an empty range is an insertion), and applies
 * both sides' hunks to the ancestor. Unlike git, which also refuses changes to adjacent lines, two
 * hunks clash only when they change a common ancestor line, insert at the same place, or one
 * inserts strictly inside the range the other changed; clashing hunks merge only when both sides
 * turned that region into the same text. An insertion exactly at either end of a range the other
 * side changed lands there: before the other side's new lines at the start, after them at the end.
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

/** A change of one side: ancestor lines [oldStart, oldEnd) became that side's lines [start, end). */
interface Hunk {
  readonly oldStart: number;
  readonly oldEnd: number;
  readonly start: number;
  readonly end: number;
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
 * git does for add/add). Changes to different ancestor lines merge, adjacent ones included (see
 * the module comment for what clashes and where an insertion next to a change lands); a clash
 * merges only when both sides made the same change there. Returns the merged lines, or every
 * conflicting region together with a marked-up merge. Wherever `git merge-file` merges cleanly,
 * the result is the same. Deterministic, and symmetric: swapping `a` and `b` gives the same lines
 * on success and the same regions (sides swapped) on conflict.
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
  const ha = hunks(o, at, matchingBlocks(o, at));
  const hb = hunks(o, bt, matchingBlocks(o, bt));
  const lines: string[] = [];
  const conflicts: Diff3Conflict[] = [];
  let io = 0, i = 0, j = 0;
  while (i < ha.length || j < hb.length) {
    // The next region: the earlier hunk (an insertion before a change starting at the same line),
    // then every hunk of either side that clashes with what the region holds so far.
    const first = j >= hb.length || (i < ha.length && before(ha[i], hb[j])) ? ha[i] : hb[j];
    let oldStart = first.oldStart, oldEnd = first.oldEnd;
    const i0 = i, j0 = j;
    for (;;) {
      if (i < ha.length && clashes(ha[i], oldStart, oldEnd)) ({ oldStart, oldEnd } = grow(ha[i++], oldStart, oldEnd));
      else if (j < hb.length && clashes(hb[j], oldStart, oldEnd)) ({ oldStart, oldEnd } = grow(hb[j++], oldStart, oldEnd));
      else break;
    }
    pushRange(lines, old, io, oldStart);
    io = oldEnd;
    const sa = sideRange(ha, i0, i, oldStart, oldEnd), sb = sideRange(hb, j0, j, oldStart, oldEnd);
    if (i === i0 || (j !== j0 && rangeEqual(at, sa.start, sa.end, bt, sb.start, sb.end))) {
      pushRange(lines, b, sb.start, sb.end);
    } else if (j === j0) {
      pushRange(lines, a, sa.start, sa.end);
    } else {
      conflicts.push({ oldStart, oldEnd, aStart: sa.start, aEnd: sa.end, bStart: sb.start, bEnd: sb.end });
      pushMarked(lines, labels, a.slice(sa.start, sa.end), old.slice(oldStart, oldEnd), b.slice(sb.start, sb.end));
    }
  }
  pushRange(lines, old, io, old.length);
  return conflicts.length === 0 ? { ok: true, lines } : { ok: false, conflicts, lines };
}

// One side's hunks, in order: the gaps between the blocks it shares with the ancestor. A pure
// insertion or deletion of lines equal to the ones after it could sit lower (deleting one of
// two equal lines): each is moved as low as it can go, as git does, so that both sides making the
// same such change give the same hunk. Hunks that then touch become one.
function hunks(o: Int32Array, side: Int32Array, blocks: readonly MatchingBlock[]): Hunk[] {
  const gaps: Hunk[] = [];
  let io = 0, is = 0;
  for (const blk of [...blocks, { aStart: o.length, bStart: side.length, length: 0 }]) {
    if (io < blk.aStart || is < blk.bStart) gaps.push({ oldStart: io, oldEnd: blk.aStart, start: is, end: blk.bStart });
    io = blk.aStart + blk.length;
    is = blk.bStart + blk.length;
  }
  const out: Hunk[] = [];
  for (let k = 0; k < gaps.length; k++) {
    const g = gaps[k];
    const limit = k + 1 < gaps.length ? gaps[k + 1].oldStart : o.length;
    // How far the lines below let a pure deletion (or insertion) slide: each step drops (adds)
    // the next line instead of the first one, the same change.
    let slide = 0;
    if (g.start === g.end) while (g.oldEnd + slide < limit && o[g.oldEnd + slide] === o[g.oldStart + slide]) slide++;
    else if (g.oldStart === g.oldEnd) while (g.oldEnd + slide < limit && side[g.end + slide] === side[g.start + slide]) slide++;
    const oldStart = g.oldStart + slide, oldEnd = g.oldEnd + slide, start = g.start + slide, end = g.end + slide;
    const prev = out[out.length - 1];
    if (prev !== undefined && prev.oldEnd === oldStart) out[out.length - 1] = { oldStart: prev.oldStart, oldEnd, start: prev.start, end };
    else out.push({ oldStart, oldEnd, start, end });
  }
  return out;
}

// Whether x comes first: it starts earlier, or is an insertion where y's change starts.
function before(x: Hunk, y: Hunk): boolean {
  return x.oldStart < y.oldStart || (x.oldStart === y.oldStart && x.oldEnd === x.oldStart && y.oldEnd > y.oldStart);
}

// Whether h must be decided together with the region [s, e) of the ancestor: they change a common
// line, insert at the same place, or one inserts strictly inside the other.
function clashes(h: Hunk, s: number, e: number): boolean {
  if (h.oldStart < h.oldEnd && s < e) return h.oldStart < e && s < h.oldEnd;
  if (h.oldStart === h.oldEnd && s === e) return h.oldStart === s;
  if (h.oldStart === h.oldEnd) return s < h.oldStart && h.oldStart < e;
  return h.oldStart < s && s < h.oldEnd;
}

function grow(h: Hunk, s: number, e: number): { oldStart: number; oldEnd: number } {
  return { oldStart: Math.min(s, h.oldStart), oldEnd: Math.max(e, h.oldEnd) };
}

// The lines of a side that stand for the ancestor's [s, e), given that side's hunks [from, to)
// (all inside it): the ancestor lines around them, shifted by what the hunks before changed.
function sideRange(hs: readonly Hunk[], from: number, to: number, s: number, e: number): { start: number; end: number } {
  if (from === to) {
    const shift = from === 0 ? 0 : hs[from - 1].end - hs[from - 1].oldEnd;
    return { start: s + shift, end: e + shift };
  }
  const first = hs[from], last = hs[to - 1];
  return { start: first.start - (first.oldStart - s), end: last.end + (e - last.oldEnd) };
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
