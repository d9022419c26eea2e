/**
 * One edit of a rope: replace the code units `[start, end)` with a string, re-chunking only around
 * the edit. The rope's shape is a function of its text (see chunking.ts); an edit rebuilds the
 * leaves from the cut before it until a new cut lands on an old leaf boundary, then the groups of
 * each level above the same way, then the top. Cost: O(height) nodes read and written plus the
 * leaves the edit touches (O(log n) objects for an edit of bounded size).
 */
import { invalidArgument } from "../../core/errors.js";
import type { TreeContext } from "../../tree/node.js";
import { endsGroup, LEAF_MAX, LEAF_MIN, MAX_FANOUT, MIN_FANOUT, nextGroupCut, nextLeafCut, splitsPair } from "./chunking.js";

/**
 * Old leaves (or nodes, on the levels above) an edit re-chunks past the ones it changed before it
 * stops waiting for a new cut to land on an old one. Ordinary text resynchronises within one or two
 * (the chance of missing eight in a row is about 1e-6); text with no content-defined cut points
 * (one character or a short pattern repeated over more than eight leaves) never would, and every
 * edit there would cost O(n). Past the limit, the edit ends its last leaf (node) on the next old
 * boundary, keeping leaves and nodes within their size bounds, so the depth bound holds; only the
 * shape of such stretches then depends on their history, not on the text alone.
 */
const RESYNC_LIMIT = 8;
import { childItems, itemHash, leafItem, leafString, levelHeight, nodeItem, sumLengths, type Item } from "./rope-node.js";

/** `items[a..r)` of a level's window replaced by `items`. */
interface Splice {
  readonly a: number;
  readonly r: number;
  readonly items: Item[];
}

/** A contiguous window of one level, in its state before the edit. */
interface Level {
  /** The items of the window (old state; the window grows to the right when re-chunking needs it). */
  readonly items: Item[];
  /** Offset in the text of `items[0]`. */
  readonly base: number;
  /** Below the top: where each covered parent's children start in `items`. */
  readonly starts: number[];
  /** Below the top: index in the level above of the first covered parent. */
  readonly parentFrom: number;
}

/**
 * The top level of the rope whose top level is `top`, after replacing `[start, end)` with `text`.
 * `0 <= start <= end <= length` must hold (checked by the caller); INVALID_ARGUMENT when `start`
 * or `end` falls inside a surrogate pair or `text` is not well-formed (checked by the caller too).
 * Nodes built are in memory (written with the next commit); `top` is not changed.
 */
export async function spliceRope(ctx: TreeContext, top: readonly Item[], start: number, end: number, text: string): Promise<Item[]> {
  const editor = new RopeEditor(ctx);
  return editor.splice(top, start, end, text);
}

class RopeEditor {
  private levels: Level[] = [];

  constructor(private readonly ctx: TreeContext) {}

  async splice(top: readonly Item[], start: number, end: number, text: string): Promise<Item[]> {
    const h = await levelHeight(this.ctx, top);
    this.levels = new Array<Level>(h + 1);
    this.levels[h] = { items: [...top], base: 0, starts: [], parentFrom: 0 };
    for (let k = h; k > 0; k--) {
      const up = this.levels[k];
      const [ri, rj] = cover(up.items, up.base, start, end);
      const items: Item[] = [];
      const starts: number[] = [];
      for (let i = ri; i <= rj; i++) {
        starts.push(items.length);
        items.push(...(await childItems(this.ctx, up.items[i])));
      }
      this.levels[k - 1] = { items, base: up.base + sumLengths(up.items, 0, ri), starts, parentFrom: ri };
    }
    let sp = await this.rechunkLeaves(start, end, text);
    for (let k = 1; k <= h; k++) sp = await this.rechunkGroups(k, sp);
    const old = this.levels[h].items;
    return normalizeTop(this.ctx, [...old.slice(0, sp.a), ...sp.items, ...old.slice(sp.r)]);
  }

  // Appends the children of the next parent to the window of level k; false at the end of the text.
  private async extend(k: number): Promise<boolean> {
    if (k === this.levels.length - 1) return false;
    const level = this.levels[k];
    const up = this.levels[k + 1];
    const next = level.parentFrom + level.starts.length;
    if (next >= up.items.length && !(await this.extend(k + 1))) return false;
    level.starts.push(level.items.length);
    level.items.push(...(await childItems(this.ctx, up.items[next])));
    return true;
  }

  private async rechunkLeaves(start: number, end: number, text: string): Promise<Splice> {
    const { ctx } = this;
    const level = this.levels[0];
    const { items } = level;
    let buf: string;
    let ri = 0;
    let consumed = 0;
    if (items.length === 0) {
      buf = text;
    } else {
      const [i, j] = cover(items, level.base, start, end);
      ri = i;
      consumed = j + 1;
      const firstAt = level.base + sumLengths(items, 0, i);
      const first = await leafString(ctx, items[i]);
      const lastAt = j === i ? firstAt : level.base + sumLengths(items, 0, j);
      const last = j === i ? first : await leafString(ctx, items[j]);
      if (splitsPair(first, start - firstAt)) throw invalidArgument(`text: position ${start} is inside a surrogate pair`);
      if (splitsPair(last, end - lastAt)) throw invalidArgument(`text: position ${end} is inside a surrogate pair`);
      buf = first.slice(0, start - firstAt) + text + last.slice(end - lastAt);
    }
    // Old leaf ends inside buf (all at or after the edit): where a new cut may resynchronise.
    const oldEnds: number[] = [buf.length];
    const oldEndIndex: number[] = [consumed];
    let ptr = 0;
    let pulled = 0;
    const out: Item[] = [];
    let pos = 0;
    while (pos < buf.length) {
      let cut = nextLeafCut(buf, pos, false);
      if (cut === undefined) {
        const tail = buf.length - pos;
        const more = consumed < items.length || (await this.extend(0));
        if (more && (pulled < RESYNC_LIMIT || (tail < LEAF_MIN && pulled === RESYNC_LIMIT))) {
          buf += await leafString(ctx, items[consumed]);
          consumed++;
          pulled++;
          oldEnds.push(buf.length);
          oldEndIndex.push(consumed);
          continue;
        }
        if (more && tail > LEAF_MAX) {
          // Forced resynchronisation after a pull: split the tail in two leaves of legal sizes.
          let half = buf.length - LEAF_MIN;
          if (splitsPair(buf, half)) half--;
          out.push(leafItem(ctx, buf.slice(pos, half)));
          pos = half;
        }
        cut = buf.length;
      }
      out.push(leafItem(ctx, buf.slice(pos, cut)));
      pos = cut;
      while (ptr < oldEnds.length && oldEnds[ptr] < cut) ptr++;
      if (ptr < oldEnds.length && oldEnds[ptr] === cut) {
        consumed = oldEndIndex[ptr];
        break;
      }
    }
    return { a: ri, r: consumed, items: out };
  }

  // Level k's items are groups of level k-1's; `sp` changed level k-1. Returns the change of level k.
  private async rechunkGroups(k: number, sp: Splice): Promise<Splice> {
    const { ctx } = this;
    const level = this.levels[k - 1];
    const { items, starts } = level;
    const parentOf = (i: number): number => {
      let q = 0;
      while (q + 1 < starts.length && starts[q + 1] <= i) q++;
      return q;
    };
    const endOf = (q: number): number => (q + 1 < starts.length ? starts[q + 1] : items.length);
    const q0 = parentOf(sp.a);
    const seq: Item[] = [...items.slice(starts[q0], sp.a), ...sp.items];
    let lastParent = sp.r > sp.a ? parentOf(sp.r - 1) : q0;
    seq.push(...items.slice(sp.r, endOf(lastParent)));
    const oldEnds: number[] = [seq.length];
    const oldEndParent: number[] = [lastParent];
    const cand: boolean[] = [];
    const candidate = (i: number): boolean => cand[i];
    let ptr = 0;
    let pulled = 0;
    const out: Item[] = [];
    let pos = 0;
    while (pos < seq.length) {
      for (let i = cand.length; i < seq.length; i++) cand.push(endsGroup(await itemHash(ctx, seq[i])));
      let cut = nextGroupCut(candidate, pos, seq.length, false);
      if (cut === undefined) {
        const tail = seq.length - pos;
        const more = lastParent + 1 < starts.length || (await this.extend(k - 1));
        if (more && (pulled < RESYNC_LIMIT || (tail < MIN_FANOUT && pulled === RESYNC_LIMIT))) {
          lastParent++;
          pulled++;
          seq.push(...items.slice(starts[lastParent], endOf(lastParent)));
          oldEnds.push(seq.length);
          oldEndParent.push(lastParent);
          continue;
        }
        if (more && tail > MAX_FANOUT) {
          // Forced resynchronisation after a pull: split the tail in two groups of legal sizes.
          out.push(nodeItem(seq.slice(pos, seq.length - MIN_FANOUT)));
          pos = seq.length - MIN_FANOUT;
        }
        cut = seq.length;
      }
      out.push(nodeItem(seq.slice(pos, cut)));
      pos = cut;
      while (ptr < oldEnds.length && oldEnds[ptr] < cut) ptr++;
      if (ptr < oldEnds.length && oldEnds[ptr] === cut) {
        lastParent = oldEndParent[ptr];
        break;
      }
    }
    return { a: level.parentFrom + q0, r: level.parentFrom + lastParent + 1, items: out };
  }
}

/**
 * The canonical top level for a level `top`: grouped into new levels while it does not fit one
 * group, and unwrapped while it is a single inner node. O(top size) plus the unwrapped nodes.
 */
export async function normalizeTop(ctx: TreeContext, top: Item[]): Promise<Item[]> {
  for (let guard = 0; guard < 200; guard++) {
    if (top.length === 1 && top[0].child.kind === "node") {
      top = await childItems(ctx, top[0]);
      continue;
    }
    const groups = await groupLevel(ctx, top);
    if (groups.length <= 1) return top;
    top = groups;
  }
  throw new Error("text: rope normalisation did not terminate"); // unreachable: every round halves the level
}

/** The items of the level above `items` (a whole level): its greedy groups, as new inner nodes. */
export async function groupLevel(ctx: TreeContext, items: readonly Item[]): Promise<Item[]> {
  const cand: boolean[] = [];
  for (const item of items) cand.push(endsGroup(await itemHash(ctx, item)));
  const out: Item[] = [];
  for (let pos = 0; pos < items.length; ) {
    const cut = nextGroupCut((i) => cand[i], pos, items.length, true)!;
    out.push(nodeItem(items.slice(pos, cut)));
    pos = cut;
  }
  return out;
}

/**
 * The items `[ri, rj]` of a window starting at text offset `base` that hold `[start, end)`: the
 * item holding `start` (the last one when `start` is the window's end) through the one holding
 * `end - 1` (just the first for an empty range).
 */
function cover(items: readonly Item[], base: number, start: number, end: number): [number, number] {
  let at = base;
  let ri = 0;
  while (ri < items.length - 1 && at + items[ri].length <= start) at += items[ri++].length;
  if (end <= start) return [ri, ri];
  let rj = ri;
  while (rj < items.length - 1 && at + items[rj].length < end) at += items[rj++].length;
  return [ri, rj];
}
