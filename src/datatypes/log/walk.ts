/**
 * Reading the log's chunked tree: the newest entries before a key (pages), and the entries one
 * tree has that the other has not (merges). Both walk only what they need: reading k entries costs
 * O(k + log n) reads; the difference of two trees skips every subtree the two share (same hash).
 */
import { corrupt } from "../../core/errors.js";
import type { Child, Node, TreeContext } from "../../tree/node.js";
import { nodeElems, type Elem, type Item, type Top } from "./chunked-tree.js";

/**
 * Up to `limit` entries of `top` with keys below `before` (all when undefined), newest first.
 * Cost: one read per level to reach the first one, then one per node of entries returned (blobs not
 * read).
 */
export async function newestEntries(ctx: TreeContext, top: Top, before: string | undefined, limit: number): Promise<Elem[]> {
  const out: Elem[] = [];
  await collect(ctx, top.elems, top.height, before, limit, out);
  return out;
}

async function collect(ctx: TreeContext, elems: readonly Elem[], level: number, before: string | undefined, limit: number, out: Elem[]): Promise<void> {
  for (let i = elems.length - 1; i >= 0 && out.length < limit; i--) {
    const [name, child] = elems[i];
    // A child's keys are all ≥ its name: skip it whole when its name is past the cursor.
    if (before !== undefined && name >= before) continue;
    if (level === 0) out.push(elems[i]);
    else await collect(ctx, await nodeElems(ctx, asNode(child), level - 1), level - 1, before, limit, out);
  }
}

function asNode(child: Child): Node {
  // nodeElems checked the kinds of every entry at this level
  return (child as { node: Node }).node;
}

/** A place in one of the two walks: an entry (level −1) or a subtree of that level, with an upper bound on its keys. */
interface Cursor {
  readonly name: string;
  readonly child: Child;
  readonly level: number;
  /** Every key under this item is below `bound` (undefined: no bound). */
  readonly bound: string | undefined;
}

/** What one side has that the other has not: entries, and whole subtrees not opened. */
export interface Exclusive {
  readonly items: Item[];
  readonly subtrees: Cursor[];
}

/**
 * The entries only `a` has and the entries only `b` has. Walks both trees in key order like a merge
 * of two sorted streams, dropping subtrees found on both sides with the same hash, and leaving
 * unopened the subtrees that lie entirely between the other side's keys (see {@link estimate} and
 * {@link expandAll}). Cost: O(d · log n) reads for d differing entries, whatever n is.
 */
export async function difference(ctx: TreeContext, a: Top, b: Top): Promise<{ a: Exclusive; b: Exclusive }> {
  const sa = start(a);
  const sb = start(b);
  const onlyA: Exclusive = { items: [], subtrees: [] };
  const onlyB: Exclusive = { items: [], subtrees: [] };
  const expand = async (stack: Cursor[]) => push(stack, await open(ctx, stack.pop()!));
  while (sa.length > 0 && sb.length > 0) {
    const x = sa[sa.length - 1];
    const y = sb[sb.length - 1];
    if (x.name === y.name) {
      if (x.level < 0 && y.level < 0) {
        sa.pop();
        sb.pop();
        if (!sameChild(x.child, y.child)) {
          onlyA.items.push(itemOf(x));
          onlyB.items.push(itemOf(y));
        }
      } else if (x.level === y.level) {
        if ((await ctx.hashNode(asNode(x.child))) === (await ctx.hashNode(asNode(y.child)))) {
          sa.pop();
          sb.pop();
        } else {
          await expand(sa);
          await expand(sb);
        }
      } else await expand(x.level > y.level ? sa : sb);
      continue;
    }
    const [stack, it, other, out] = x.name < y.name ? [sa, x, y, onlyA] : [sb, y, x, onlyB];
    if (it.level < 0) {
      stack.pop();
      out.items.push(itemOf(it));
    } else if (it.bound !== undefined && it.bound <= other.name) {
      // Every key of `it` is below the other side's next key: the whole subtree is exclusive.
      stack.pop();
      out.subtrees.push(it);
    } else await expand(stack);
  }
  for (const [stack, out] of [
    [sa, onlyA],
    [sb, onlyB],
  ] as const) {
    for (let i = stack.length - 1; i >= 0; i--) {
      if (stack[i].level < 0) out.items.push(itemOf(stack[i]));
      else out.subtrees.push(stack[i]);
    }
  }
  return { a: onlyA, b: onlyB };
}

/** A cheap upper bound on the entries of `x` (subtrees counted by their level, at 32 per node). */
export function estimate(x: Exclusive): number {
  let n = x.items.length;
  for (const s of x.subtrees) n += 32 ** (s.level + 1);
  return n;
}

/** Every entry of `x`, sorted by key (opens its subtrees). */
export async function expandAll(ctx: TreeContext, x: Exclusive): Promise<Item[]> {
  const out = [...x.items];
  for (const s of x.subtrees) {
    const stack = [s];
    while (stack.length > 0) {
      const c = stack.pop()!;
      if (c.level < 0) out.push(itemOf(c));
      else push(stack, await open(ctx, c));
    }
  }
  return out.sort((p, q) => (p.key < q.key ? -1 : p.key > q.key ? 1 : 0));
}

function start(top: Top): Cursor[] {
  const stack: Cursor[] = [];
  push(stack, cursors(top.elems, top.height - 1, undefined));
  return stack;
}

async function open(ctx: TreeContext, c: Cursor): Promise<Cursor[]> {
  return cursors(await nodeElems(ctx, asNode(c.child), c.level), c.level - 1, c.bound);
}

function cursors(elems: readonly Elem[], level: number, bound: string | undefined): Cursor[] {
  return elems.map(([name, child], i) => ({ name, child, level, bound: i + 1 < elems.length ? elems[i + 1][0] : bound }));
}

/** Pushes `list` (in key order) so that its first item is on top. */
function push(stack: Cursor[], list: readonly Cursor[]): void {
  for (let i = list.length - 1; i >= 0; i--) stack.push(list[i]);
}

function itemOf(c: Cursor): Item {
  if (c.child.kind !== "contents") throw corrupt(`log tree entry ${c.name} is a directory where values are`);
  return { key: c.name, child: c.child };
}

function sameChild(x: Child, y: Child): boolean {
  return x.kind === "contents" && y.kind === "contents" && x.hash === y.hash;
}
