/**
 * The 3-way merge of ropes (the paper's section 4.2 and the Ezirmin post).
 *
 * At each level, the items of each side are aligned with the ancestor's by a diff of their Git ids
 * (src/merge/myers.ts), giving the runs of items each side changed. Runs of both sides that overlap
 * or touch form one region; a region only one side changed is taken from that side (when it is
 * `a`'s, nothing is read at all; when it is `b`'s, only b's changed subtrees are followed down to
 * their leaves); a region both sides changed is looked at one level further down, until the
 * leaves, where the texts are merged by a character diff (src/merge/diff3.ts) of each side against
 * the ancestor and an operational transform ({@link transformMerge}). The regions' results are then
 * spliced into `a`. So the cost follows the changes: O(log n) per changed region plus the size of
 * what both sides changed, never O(n) unless the changes are.
 *
 * The merged text does not depend on which side is `a`, and a rope's shape depends only on its
 * text, so merging a into b and b into a give the same tree.
 */
import { diff, type TextEdit } from "../../merge/diff3.js";
import { Interner, matchingBlocks } from "../../merge/myers.js";
import type { TreeContext } from "../../tree/node.js";
import { commonAffixes } from "./chunking.js";
import { spliceRope } from "./rope-edit.js";
import { childItems, collectText, itemHash, leafString, levelHeight, sumLengths, type Item } from "./rope-node.js";

/** A run of items one side changed: the ancestor's `[o0, o1)` became the side's `[n0, n1)`. */
interface Run {
  readonly o0: number;
  readonly o1: number;
  readonly n0: number;
  readonly n1: number;
}

/** Replace `[aStart, aEnd)` of `a`'s text with `text`. */
interface Hunk {
  readonly aStart: number;
  readonly aEnd: number;
  readonly text: string;
}

/**
 * The top level of the merge of the ropes whose top levels are `old` (`[]` for no ancestor), `a`
 * and `b`. Never conflicts; the result is the same with `a` and `b` swapped.
 */
export async function mergeRopes(ctx: TreeContext, old: readonly Item[], a: readonly Item[], b: readonly Item[]): Promise<Item[]> {
  const [ho, ha, hb] = await Promise.all([levelHeight(ctx, old), levelHeight(ctx, a), levelHeight(ctx, b)]);
  const h = Math.min(ho, ha, hb);
  const hunks: Hunk[] = [];
  await merge3(ctx, await lower(ctx, old, ho - h), await lower(ctx, a, ha - h), await lower(ctx, b, hb - h), h, 0, hunks);
  let top = [...a];
  for (let i = hunks.length - 1; i >= 0; i--) top = await spliceRope(ctx, top, hunks[i].aStart, hunks[i].aEnd, hunks[i].text);
  return top;
}

// The items `levels` levels below `items` (every node of those levels is read: the top levels of
// ropes of similar sizes hold few items).
async function lower(ctx: TreeContext, items: readonly Item[], levels: number): Promise<Item[]> {
  let out = [...items];
  for (let k = 0; k < levels; k++) out = await children(ctx, out);
  return out;
}

async function children(ctx: TreeContext, items: readonly Item[]): Promise<Item[]> {
  const out: Item[] = [];
  for (const item of items) out.push(...(await childItems(ctx, item)));
  return out;
}

async function textOf(ctx: TreeContext, items: readonly Item[]): Promise<string> {
  const out: string[] = [];
  await collectText(ctx, items, out);
  return out.join("");
}

// The runs of items that differ between `o` and `n`, aligned by Git id, in order.
async function changedRuns(ctx: TreeContext, o: readonly Item[], n: readonly Item[]): Promise<Run[]> {
  const interner = new Interner();
  const ot = new Int32Array(o.length);
  const nt = new Int32Array(n.length);
  for (let i = 0; i < o.length; i++) ot[i] = interner.token(await itemHash(ctx, o[i]));
  for (let i = 0; i < n.length; i++) nt[i] = interner.token(await itemHash(ctx, n[i]));
  const runs: Run[] = [];
  let io = 0, inn = 0;
  for (const blk of [...matchingBlocks(ot, nt), { aStart: o.length, bStart: n.length, length: 0 }]) {
    if (io < blk.aStart || inn < blk.bStart) runs.push({ o0: io, o1: blk.aStart, n0: inn, n1: blk.bStart });
    io = blk.aStart + blk.length;
    inn = blk.bStart + blk.length;
  }
  return runs;
}

// Where the ancestor's boundary `x` (not inside a run) falls in the side: before any run that
// inserts at `x` (`start`) or after it (`end`).
function mapBoundary(runs: readonly Run[], x: number, start: boolean): number {
  let shift = 0;
  for (const r of runs) {
    if (r.o1 < x || (r.o1 === x && !(start && r.o0 === x))) shift = r.n1 - r.o1;
    else break;
  }
  return x + shift;
}

async function merge3(ctx: TreeContext, o: Item[], a: Item[], b: Item[], h: number, aBase: number, out: Hunk[]): Promise<void> {
  const ra = await changedRuns(ctx, o, a);
  const rb = await changedRuns(ctx, o, b);
  // Regions: runs of both sides that overlap or touch (closed intervals), in order.
  const all = [...ra.map((r) => ({ r, side: 0 })), ...rb.map((r) => ({ r, side: 1 }))].sort((x, y) => x.r.o0 - y.r.o0 || x.r.o1 - y.r.o1);
  let k = 0;
  while (k < all.length) {
    let i = all[k].r.o0, j = all[k].r.o1;
    let sides = 0;
    while (k < all.length && all[k].r.o0 <= j) {
      j = Math.max(j, all[k].r.o1);
      i = Math.min(i, all[k].r.o0);
      sides |= 1 << all[k].side;
      k++;
    }
    if (sides === 1) continue; // only a changed it: a already holds it
    const ai = mapBoundary(ra, i, true), aj = mapBoundary(ra, j, false);
    const aStart = aBase + sumLengths(a, 0, ai);
    if (sides === 2) {
      // Only b changed it: here a's items are the ancestor's.
      await takeB(ctx, o.slice(i, j), b.slice(mapBoundary(rb, i, true), mapBoundary(rb, j, false)), h, aStart, out);
      continue;
    }
    const bi = mapBoundary(rb, i, true), bj = mapBoundary(rb, j, false);
    if (h > 0) {
      await merge3(ctx, await children(ctx, o.slice(i, j)), await children(ctx, a.slice(ai, aj)), await children(ctx, b.slice(bi, bj)), h - 1, aStart, out);
      continue;
    }
    const [ot, at, bt] = await Promise.all([leavesText(ctx, o.slice(i, j)), leavesText(ctx, a.slice(ai, aj)), leavesText(ctx, b.slice(bi, bj))]);
    const merged = transformMerge(ot, diff(ot, at), diff(ot, bt));
    pushTrimmed(out, aStart, at, merged);
  }
}

async function leavesText(ctx: TreeContext, leaves: readonly Item[]): Promise<string> {
  let s = "";
  for (const leaf of leaves) s += await leafString(ctx, leaf);
  return s;
}

// A hunk turning `before` (at `aStart` in a) into `after`, without their common prefix and suffix
// (kept whole code points, so the splice never cuts a surrogate pair).
function pushTrimmed(out: Hunk[], aStart: number, before: string, after: string): void {
  if (before === after) return;
  const [p, q] = commonAffixes(before, after);
  out.push({ aStart: aStart + p, aEnd: aStart + before.length - q, text: after.slice(p, after.length - q) });
}

// A region only b changed (a's items there are `o`'s): follow b's changed subtrees down to the
// leaves and take b's text for them.
async function takeB(ctx: TreeContext, o: Item[], b: Item[], h: number, aStart: number, out: Hunk[]): Promise<void> {
  for (const r of await changedRuns(ctx, o, b)) {
    const at = aStart + sumLengths(o, 0, r.o0);
    if (h > 0 && r.o0 < r.o1 && r.n0 < r.n1) {
      await takeB(ctx, await children(ctx, o.slice(r.o0, r.o1)), await children(ctx, b.slice(r.n0, r.n1)), h - 1, at, out);
    } else {
      out.push({ aStart: at, aEnd: at + sumLengths(o, r.o0, r.o1), text: await textOf(ctx, b.slice(r.n0, r.n1)) });
    }
  }
}

/**
 * The operational-transform merge of two edit lists against the same text `old` (each sorted,
 * non-overlapping, non-adjacent, positions in `old`, as `diff` returns them). A code unit deleted
 * by either side is gone; every inserted string stays. An edit's inserted text sits where its
 * deleted text was (anchored after it), so a replacement on one side and an insertion at the same
 * place on the other keep the insertion first ("abc": a replaces "b" by "x", b inserts "y" before
 * "b": "ayxc"). Two different insertions at the same place go in code-unit order of their texts,
 * the same insertion on both sides is kept once: the result does not depend on the order of the
 * sides. O(old + inserted).
 */
export function transformMerge(old: string, a: readonly TextEdit[], b: readonly TextEdit[]): string {
  const deleted = new Uint8Array(old.length);
  const inserts = [new Map<number, string>(), new Map<number, string>()];
  [a, b].forEach((edits, side) => {
    for (const e of edits) {
      deleted.fill(1, e.pos, e.pos + e.deleteCount);
      if (e.insertText.length > 0) {
        const at = e.pos + e.deleteCount;
        inserts[side].set(at, (inserts[side].get(at) ?? "") + e.insertText);
      }
    }
  });
  const out: string[] = [];
  let run = 0;
  for (let g = 0; g <= old.length; g++) {
    const x = inserts[0].get(g), y = inserts[1].get(g);
    if (x !== undefined || y !== undefined) {
      if (run < g) out.push(old.slice(run, g));
      run = g;
      if (x === undefined || y === undefined || x === y) out.push((x ?? y)!);
      else if (x < y) out.push(x, y);
      else out.push(y, x);
    }
    if (g < old.length && deleted[g] === 1) {
      if (run < g) out.push(old.slice(run, g));
      run = g + 1;
    }
  }
  if (run < old.length) out.push(old.slice(run));
  return out.join("");
}
