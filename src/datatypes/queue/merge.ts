/**
 * The 3-way merge of queues. Each element has a unique name that always holds the same value, so
 * a queue is a set of elements kept in key order, and the merge is a set merge: an element is in
 * the result when both sides have it, or when one side has it and the ancestor did not (it was
 * pushed since, or merged in from elsewhere). An element of the ancestor missing on one side was
 * popped there: it is gone. Since an element is never pushed twice, this is exactly "every element
 * pushed on either side and popped on neither", also through criss-cross histories.
 *
 * The walk is the tree merge's, with one difference that matters for queues: a directory that one
 * side emptied (all its elements popped) and the other changed (popped some, or pushed into it) is
 * merged against an empty directory instead of conflicting. Subtrees equal on two of the three
 * sides are decided by hash without being read. Pops remove a prefix and pushes add a suffix, so
 * the walk reads only the trees on the front and back edges of the queue: O(depth) trees, and as
 * many new trees, whatever the number of operations on either side (plus one leaf per 64 elements
 * pushed concurrently on both sides into the same epochs, which interleave).
 */
import { corrupt } from "../../core/errors.js";
import { Node, type Child, type TreeContext } from "../../tree/node.js";
import { TYPE_ENTRY, typedNode } from "../marker.js";

const NONE: ReadonlyMap<string, Child> = new Map();

/** The 3-way merge of two queue subtrees (`old` undefined: the union). Never conflicts; the result does not depend on the order of `a` and `b`. */
export async function mergeQueues(ctx: TreeContext, old: Node | undefined, a: Node, b: Node): Promise<Node> {
  const merged = await mergeDirs(ctx, old, a, b, "");
  if (merged !== undefined && (await ctx.load(merged)).has(TYPE_ENTRY)) return merged;
  return typedNode(ctx, "queue", new Map(merged === undefined ? [] : await ctx.load(merged)));
}

async function sameNode(ctx: TreeContext, x: Node, y: Node): Promise<boolean> {
  return x === y || (await ctx.hashNode(x)) === (await ctx.hashNode(y));
}

/** The merge of three directories, `undefined` standing for an empty (absent) one; `undefined` when the result is empty. */
async function mergeDirs(ctx: TreeContext, o: Node | undefined, a: Node | undefined, b: Node | undefined, where: string): Promise<Node | undefined> {
  if (a === undefined || b === undefined) {
    // No ancestor here: what either side has was added since.
    if (o === undefined) return a ?? b;
  } else if (await sameNode(ctx, a, b)) {
    return a;
  }
  if (o !== undefined) {
    if (a !== undefined && (await sameNode(ctx, o, a))) return b;
    if (b !== undefined && (await sameNode(ctx, o, b))) return a;
    if (a === undefined && b === undefined) return undefined;
  }
  const eo = o === undefined ? NONE : await ctx.load(o);
  const ea = a === undefined ? NONE : await ctx.load(a);
  const eb = b === undefined ? NONE : await ctx.load(b);
  const out = new Map<string, Child>();
  const take = (name: string, x: Child | undefined, y: Child | undefined, z: Child | undefined): void => {
    const present = x ?? y!;
    // On one side only: kept when new, gone when the ancestor had it (the other side popped it).
    if (x === undefined || y === undefined) {
      if (z === undefined) out.set(name, present);
      return;
    }
    if (x.kind !== "contents" || y.kind !== "contents") throw corrupt(`queue entry ${where}${name} is a value on one side and a directory on the other`);
    // A name always holds the same element; should two stores disagree, keep a deterministic one.
    out.set(name, x.hash <= y.hash ? x : y);
  };
  for (const [name, x] of ea) {
    const y = eb.get(name);
    const z = eo.get(name);
    if (x.kind === "node" || y?.kind === "node") {
      const dir = (c: Child | undefined): Node | undefined => {
        if (c === undefined) return undefined;
        if (c.kind !== "node") throw corrupt(`queue entry ${where}${name} is a value on one side and a directory on the other`);
        return c.node;
      };
      const merged = await mergeDirs(ctx, dir(z), dir(x), dir(y), `${where}${name}/`);
      if (merged !== undefined) out.set(name, { kind: "node", node: merged });
    } else {
      take(name, x, y, z);
    }
  }
  for (const [name, y] of eb) {
    if (ea.has(name)) continue;
    const z = eo.get(name);
    if (y.kind === "node" && z !== undefined) {
      if (z.kind !== "node") throw corrupt(`queue entry ${where}${name} is a value on one side and a directory on the other`);
      const merged = await mergeDirs(ctx, z.node, undefined, y.node, `${where}${name}/`);
      if (merged !== undefined) out.set(name, { kind: "node", node: merged });
    } else {
      take(name, undefined, y, z);
    }
  }
  if (out.size === 0) return undefined;
  // Reuse a side's tree when the result is that tree: no new object to write.
  if (a !== undefined && sameEntries(out, ea)) return a;
  if (b !== undefined && sameEntries(out, eb)) return b;
  return Node.fromEntries(out);
}

function sameEntries(x: ReadonlyMap<string, Child>, y: ReadonlyMap<string, Child>): boolean {
  if (x.size !== y.size) return false;
  for (const [name, c] of x) if (y.get(name) !== c) return false;
  return true;
}
