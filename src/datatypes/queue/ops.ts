/**
 * Push and pop on the unzipped epoch trie of queue/layout.ts. Both touch the root and one epoch
 * directory; once per epoch (64 operations) a push moves the full back epoch into the `b` groups
 * (carrying a full group up a level once per 16^k epochs) and a pop refills the front from the
 * `f`, `m` or `b` groups (descending one block per level it borrows from): O(1) amortised reads
 * and writes.
 *
 * Inside a transaction (`owner` set), directories this transaction built are changed in place
 * instead of copied: a push is then a couple of map updates plus the blob's hash.
 */
import { corrupt } from "../../core/errors.js";
import { Node, type Child, type ContentsChild, type TreeContext } from "../../tree/node.js";
import { nextTimestamp } from "../hlc.js";
import { markerChild, TYPE_ENTRY } from "../marker.js";
import {
  blockOf,
  digitOf,
  digitPrefix,
  dirOf,
  addLast,
  copyEpoch,
  elementName,
  emptyShape,
  epochPart,
  EPOCH_SIZE,
  firstDigit,
  firstElement,
  groupPrefix,
  groups,
  lastTime,
  meetLevel,
  nextEpoch,
  part,
  readBlock,
  recount,
  rememberShape,
  removeFirst,
  shapeOf,
  type Part,
  type Shape,
} from "./layout.js";

/** Whether `node` may be changed in place by the holder of `owner`. */
function mine(node: Node, owner: object | undefined): boolean {
  return owner !== undefined && node.owner === owner;
}

/**
 * The root for `shape`, built from `root` (`undefined`: none yet): only the entries that changed
 * since `old` are replaced, in place when `root` is ours.
 */
function storeShape(ctx: TreeContext, root: Node | undefined, old: Shape, shape: Shape, owner: object | undefined): Node {
  const inPlace = root !== undefined && mine(root, owner);
  const entries = root === undefined ? new Map<string, Child>() : inPlace ? root.entries! : new Map(root.entries!);
  const swap = (was: Part | undefined, now: Part | undefined): void => {
    if (was === now) return;
    if (was !== undefined) entries.delete(was.name);
    if (now !== undefined) entries.set(now.name, now.child);
  };
  swap(old.front, shape.front);
  swap(old.back, shape.back);
  swap(old.m, shape.m);
  for (let k = 1; k < old.f.length; k++) {
    swap(old.f[k], shape.f[k]);
    swap(old.b[k], shape.b[k]);
  }
  let marker = shape.marker;
  if (marker === undefined) {
    marker = markerChild(ctx, "queue");
    entries.set(TYPE_ENTRY, marker);
    shape = { ...shape, marker };
  }
  rememberShape(entries, shape);
  if (inPlace) {
    root.touch();
    return root;
  }
  return Node.fromEntries(entries, owner);
}

/**
 * `root` (`undefined`: a new queue) with a new element `child` at the back. The caller's
 * `root` was checked to be a queue.
 */
export async function pushElement(ctx: TreeContext, root: Node | undefined, child: ContentsChild, owner: object | undefined): Promise<Node> {
  const shape = root === undefined ? emptyShape(undefined) : shapeOf(root.entries ?? (await ctx.load(root)));
  const end = shape.back ?? shape.front;
  if (end === undefined) {
    const name = elementName(nextTimestamp(undefined));
    const front = epochPart("lo", 0, Node.fromEntries(new Map([[name, child]]), owner), 1);
    return storeShape(ctx, root, shape, { ...shape, lo: 0, hi: 0, levels: 0, front, count: 1 }, owner);
  }
  const where = end.name;
  const node = end.child.node;
  const entries = node.entries ?? (await ctx.load(node));
  checkEpoch(entries, end);
  const time = nextTimestamp(lastTime(entries, where));
  const name = elementName(time);
  if (end.count < EPOCH_SIZE) {
    const updated = recount(end, 1);
    if (mine(root!, owner) && mine(node, owner)) {
      // The common case in a transaction: two small in-place map updates.
      addLast(entries, name, child, time, where);
      node.touch();
      renameInPlace(root!, end, updated);
      if (shape.back === undefined) shape.front = updated;
      else shape.back = updated;
      shape.count++;
      return root!;
    }
    const copy = copyEpoch(entries, where);
    addLast(copy, name, child, time, where);
    const moved: Part = { ...updated, child: { kind: "node", node: Node.fromEntries(copy, owner) } };
    const next: Shape = shape.back === undefined ? { ...shape, front: moved, count: shape.count + 1 } : { ...shape, back: moved, count: shape.count + 1 };
    return storeShape(ctx, root, shape, next, owner);
  }
  // The back epoch is full: open the next one.
  const hi = nextEpoch(shape.hi);
  const back = epochPart("hi", hi, Node.fromEntries(new Map([[name, child]]), owner), 1);
  const next = await carry(ctx, shape, hi, owner);
  return storeShape(ctx, root, shape, { ...next, back, count: shape.count + 1 }, owner);
}

/** CORRUPT unless the epoch directory `entries` holds as many elements as its entry `p` says. */
function checkEpoch(entries: Map<string, Child>, p: Part): void {
  if (entries.size !== p.count) throw corrupt(`queue epoch ${p.name} holds ${entries.size} elements, its name says ${p.count}`);
}

/** Renames the entry `was` of `root` (ours) to `now`, in place. */
function renameInPlace(root: Node, was: Part, now: Part): void {
  const entries = root.entries!;
  entries.delete(was.name);
  entries.set(now.name, now.child);
  root.touch();
}

/** `shape` with its full back epoch moved into the groups, for a new back epoch `hi` (the caller sets `back`). */
async function carry(ctx: TreeContext, shape: Shape, hi: number, owner: object | undefined): Promise<Shape> {
  const { lo, levels } = shape;
  if (shape.back === undefined) return { ...shape, hi, levels: meetLevel(lo, hi) };
  const old = shape.hi;
  const j = meetLevel(old, hi);
  const f = groups(shape.f);
  const b = groups(shape.b);
  let m = shape.m;
  // The old back epoch, then the blocks it completes (levels 1..top-1), each a new directory.
  let x: Part = epochPart("hi", old, shape.back.child.node, shape.back.count);
  const top = Math.min(j, levels);
  for (let k = 1; k < top; k++) {
    x = await addTo(ctx, b[k], k, digitOf(old, k), x, digitPrefix(digitOf(old, k + 1)), owner);
    b[k] = undefined;
  }
  if (j < levels) {
    b[j] = await addTo(ctx, b[j], j, digitOf(old, j), x, groupPrefix("b", j), owner);
    return { ...shape, hi, f, m, b };
  }
  if (j === levels) {
    m = await addTo(ctx, m, levels, digitOf(old, levels), x, groupPrefix("m", levels), owner);
    return { ...shape, hi, f, m, b };
  }
  // The back leaves the block it shared with the front: what was between them, plus the old
  // back's branch, is now the rest of the front's level-L block; they meet at level j now.
  f[levels] = await addTo(ctx, m, levels, digitOf(old, levels), x, groupPrefix("f", levels), owner);
  return { ...shape, hi, levels: j, f, m: undefined, b };
}

/** The group or block `group` (level `level`, maybe absent) with `x` added at `digit`, renamed `<prefix>.<count>`. */
async function addTo(ctx: TreeContext, group: Part | undefined, level: number, digit: number, x: Part, prefix: string, owner: object | undefined): Promise<Part> {
  const entry = part(digitPrefix(digit), x.child.node, x.count);
  if (group === undefined) return part(prefix, dirOf([entry], owner), x.count);
  const node = group.child.node;
  await readBlock(ctx, node, group.count, `${group.name} (level ${level})`);
  const inPlace = mine(node, owner);
  const entries = inPlace ? node.entries! : new Map(node.entries!);
  entries.set(entry.name, entry.child);
  if (inPlace) node.touch();
  return part(prefix, inPlace ? node : Node.fromEntries(entries, owner), group.count + x.count);
}

/**
 * `root` without its first element, and that element; `undefined` when the queue is empty. The
 * caller's `root` was checked to be a queue.
 */
export async function popElement(ctx: TreeContext, root: Node, owner: object | undefined): Promise<{ node: Node; child: ContentsChild } | undefined> {
  const shape = shapeOf(root.entries ?? (await ctx.load(root)));
  const front = shape.front;
  if (front === undefined) return undefined;
  const where = front.name;
  const node = front.child.node;
  const entries = node.entries ?? (await ctx.load(node));
  checkEpoch(entries, front);
  const first = firstElement(entries, where);
  if (front.count > 1) {
    const updated = recount(front, -1);
    if (mine(root, owner) && mine(node, owner)) {
      removeFirst(entries, where);
      node.touch();
      renameInPlace(root, front, updated);
      shape.front = updated;
      shape.count--;
      return { node: root, child: first.child };
    }
    const copy = copyEpoch(entries, where);
    removeFirst(copy, where);
    const moved: Part = { ...updated, child: { kind: "node", node: Node.fromEntries(copy, owner) } };
    return { node: storeShape(ctx, root, shape, { ...shape, front: moved, count: shape.count - 1 }, owner), child: first.child };
  }
  const next = await refill(ctx, shape, owner);
  return { node: storeShape(ctx, root, shape, { ...next, count: shape.count - 1 }, owner), child: first.child };
}

/** `shape` without its front epoch (which held one element), the next epoch moved to the front. */
async function refill(ctx: TreeContext, shape: Shape, owner: object | undefined): Promise<Shape> {
  const { levels, lo, hi } = shape;
  if (shape.back === undefined) return emptyShape(shape.marker);
  // The group holding the next epoch: the front's groups from low to high, the middle, the back's from high to low.
  let source: { kind: "f" | "m" | "b"; level: number; group: Part } | undefined;
  for (let k = 1; k < levels && source === undefined; k++) if (shape.f[k] !== undefined) source = { kind: "f", level: k, group: shape.f[k]! };
  if (source === undefined && shape.m !== undefined) source = { kind: "m", level: levels, group: shape.m };
  for (let k = levels - 1; k >= 1 && source === undefined; k--) if (shape.b[k] !== undefined) source = { kind: "b", level: k, group: shape.b[k]! };
  if (source === undefined) {
    // Only the back epoch is left: it becomes the front.
    return { ...emptyShape(shape.marker), lo: hi, hi, front: epochPart("lo", hi, shape.back.child.node, shape.back.count) };
  }
  const { kind, level, group } = source;
  const f = groups(shape.f);
  const b = groups(shape.b);
  let m = shape.m;
  const block = await readBlock(ctx, group.child.node, group.count, group.name);
  const d = firstDigit(block);
  const base = blockOf(kind === "b" ? hi : lo, level);
  const low = kind === "b" ? -1 : digitOf(lo, level);
  const high = kind === "f" ? 16 : digitOf(hi, level);
  if (d <= low || d >= high) throw corrupt(`queue group ${group.name} holds a block out of its range`);
  const rest = without(group, block, d, kind === "b" ? groupPrefix("m", level) : groupPrefix(kind, level), owner);
  // Descend the first block: at each level the rest of it becomes the front's group.
  let x = block.get(d)!;
  let id = base * 16 + d;
  for (let k = level - 1; k >= 1; k--) {
    const inner = await readBlock(ctx, x.child.node, x.count, `${group.name}/${x.name}`);
    const e = firstDigit(inner);
    f[k] = without(x, inner, e, groupPrefix("f", k), owner);
    x = inner.get(e)!;
    id = id * 16 + e;
  }
  const front = epochPart("lo", id, x.child.node, x.count);
  if (kind === "f") f[level] = rest;
  else if (kind === "m") m = rest;
  else {
    // The new front is in the back's level-`level` block: they meet there now.
    b[level] = undefined;
    m = rest;
    for (let k = level; k < levels; k++) f[k] = undefined;
    return { ...shape, lo: id, levels: level, front, f, m, b };
  }
  if (meetLevel(id, hi) !== levels) throw corrupt(`queue groups are out of order`);
  return { ...shape, lo: id, front, f, m, b };
}

/** `group` (whose entries are `block`) without digit `d`, renamed `<prefix>.<count>`; `undefined` when nothing is left. A new directory. */
function without(group: Part, block: Map<number, Part>, d: number, prefix: string, owner: object | undefined): Part | undefined {
  const removed = block.get(d)!;
  if (block.size === 1) return undefined;
  const parts: Part[] = [];
  for (const [k, p] of block) if (k !== d) parts.push(p);
  return part(prefix, dirOf(parts, owner), group.count - removed.count);
}

