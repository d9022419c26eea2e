/**
 * Push and pop on the unzipped epoch trie of queue/layout.ts. Both touch the root and one epoch
 * blob; once per epoch a push moves the full back epoch into the `b` groups (carrying a full group
 * up a level once per 16^k epochs) and a pop refills the front from the `f`, `m` or `b` groups
 * (descending one block per level it borrows from): O(1) amortised reads and writes.
 *
 * Both work in bulk: {@link appendElements} pushes many values building each epoch blob once, and
 * {@link dropFirst} pops many elements of the front epoch writing its rest once (what a
 * transaction's queue stage, queue/stage.ts, does when it writes its staged operations).
 *
 * Inside a transaction (`owner` set), directories this transaction built are changed in place
 * instead of copied.
 */
import { corrupt } from "../../core/errors.js";
import { contentsChild, Node, type Child, type ContentsChild, type TreeContext } from "../../tree/node.js";
import { markerChild, TYPE_ENTRY } from "../marker.js";
import { appendRecords, dropRecords, lastTime, Stamper, takeCount, type EpochView } from "./epoch.js";
import type { StagedValue } from "./values.js";
import {
  blockOf,
  digitOf,
  digitPrefix,
  blockDir,
  dirPart,
  emptyShape,
  epochPart,
  firstDigit,
  groupPrefix,
  groups,
  meetLevel,
  nextEpoch,
  nodeOf,
  part,
  readBlock,
  readEpoch,
  rememberBlock,
  rememberShape,
  shapeOf,
  type Part,
  type Shape,
} from "./layout.js";

/** Whether `node` may be changed in place by the holder of `owner`. */
function mine(node: Node, owner: object | undefined): boolean {
  return owner !== undefined && node.owner === owner;
}

/** The blob of an epoch built here (hashed now, written with the next commit). */
function blobChild(ctx: TreeContext, view: EpochView): ContentsChild {
  return contentsChild(ctx, view.bytes);
}

/** The decoded root of the queue subtree `root` (the caller checked it is a queue). */
export async function shapeAt(ctx: TreeContext, root: Node): Promise<Shape> {
  return shapeOf(ctx, root.entries ?? (await ctx.load(root)));
}

/** Replaces the root entry `was` by `now` in `entries` (either may be absent). */
function swap(entries: Map<string, Child>, was: Part | undefined, now: Part | undefined): void {
  if (was === now) return;
  if (was !== undefined) entries.delete(was.name);
  if (now !== undefined) entries.set(now.name, now.child);
}

/**
 * The root for `shape`, built from `root` (`undefined`: none yet): only the entries that changed
 * since `old` are replaced, in place when `root` is ours.
 */
function storeShape(ctx: TreeContext, root: Node | undefined, old: Shape, shape: Shape, owner: object | undefined): Node {
  const inPlace = root !== undefined && mine(root, owner);
  const entries = root === undefined ? new Map<string, Child>() : inPlace ? root.entries! : new Map(root.entries!);
  swap(entries, old.front, shape.front);
  swap(entries, old.back, shape.back);
  swap(entries, old.m, shape.m);
  for (let k = 1; k < old.f.length; k++) {
    swap(entries, old.f[k], shape.f[k]);
    swap(entries, old.b[k], shape.b[k]);
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
 * `root` (`undefined`: a new queue) with new elements holding `values` at the back, in order (the
 * caller checked `root` is a queue). Fills the back epoch, then opens new ones: each epoch blob is
 * built and hashed once, O(values / 128 + 1) objects amortised. UNSUPPORTED past the last epoch.
 */
export async function appendElements(ctx: TreeContext, root: Node | undefined, values: readonly StagedValue[], owner: object | undefined): Promise<Node> {
  const shape = root === undefined ? emptyShape(undefined) : await shapeAt(ctx, root);
  // No values: the queue as it is, or a new empty one.
  if (values.length === 0) return root ?? storeShape(ctx, undefined, shape, shape, owner);
  let s: Shape = { ...shape };
  let i = 0;
  let stamper: Stamper;
  const end = shape.back ?? shape.front;
  if (end === undefined) {
    // An empty queue starts over at epoch 0.
    stamper = new Stamper(undefined);
    const n = takeCount(values, 0, 0, 0);
    const view = appendRecords(undefined, values, 0, n, stamper);
    s = { ...emptyShape(shape.marker), front: epochPart("lo", 0, blobChild(ctx, view), n), count: n };
    i = n;
  } else {
    const view = await readEpoch(ctx, end);
    stamper = new Stamper(lastTime(view));
    const n = takeCount(values, 0, view.count, view.bytes.length);
    if (n > 0) {
      const grown = appendRecords(view, values, 0, n, stamper);
      const p = part(end.prefix, blobChild(ctx, grown), grown.count);
      if (shape.back === undefined) s.front = p;
      else s.back = p;
      s.count += n;
      i = n;
    }
  }
  // Full back epochs that stay in their level-1 block join its group (b1, or m1 when the front is
  // in that block too) together, once per run of them, rather than one at a time.
  const joining = new Map<number, Part>();
  let joiningCount = 0;
  while (i < values.length) {
    const n = takeCount(values, i, 0, 0);
    const hi = nextEpoch(s.hi);
    const view = appendRecords(undefined, values, i, i + n, stamper);
    if (s.back !== undefined && meetLevel(s.hi, hi) === 1) {
      const digit = digitOf(s.hi, 1);
      joining.set(digit, part(digitPrefix(digit), s.back.child, s.back.count));
      joiningCount += s.back.count;
    } else {
      s = await join(ctx, s, joining, joiningCount, owner);
      joiningCount = 0;
      s = await carry(ctx, s, hi, owner);
    }
    s = { ...s, hi, back: epochPart("hi", hi, blobChild(ctx, view), n), count: s.count + n };
    i += n;
  }
  s = await join(ctx, s, joining, joiningCount, owner);
  return storeShape(ctx, root, shape, s, owner);
}

/** `s` with the full epochs `joining` (digit → entry, `count` elements; emptied) added to its level-1 group (`b1`, or `m1` when the front and back meet at level 1). */
async function join(ctx: TreeContext, s: Shape, joining: Map<number, Part>, count: number, owner: object | undefined): Promise<Shape> {
  if (joining.size === 0) return s;
  const inMiddle = s.levels === 1;
  const group = inMiddle ? s.m : s.b[1];
  const added = await addAll(ctx, group, 1, joining, count, groupPrefix(inMiddle ? "m" : "b", 1), owner);
  joining.clear();
  if (inMiddle) return { ...s, m: added };
  const b = groups(s.b);
  b[1] = added;
  return { ...s, b };
}

/**
 * `root` without the first `n` elements of its front epoch (1 ≤ n ≤ the front epoch's count; the
 * caller checked `root` is a queue): the rest of the front epoch written once, or, when all of it
 * goes, the next epoch moved to the front (O(1) amortised objects).
 */
export async function dropFirst(ctx: TreeContext, root: Node, n: number, owner: object | undefined): Promise<Node> {
  const shape = await shapeAt(ctx, root);
  const front = shape.front;
  if (front === undefined || n < 1 || n > front.count) throw corrupt(`queue: cannot drop ${n} elements of its front epoch`);
  if (n < front.count) {
    const rest = dropRecords(await readEpoch(ctx, front), n);
    const p = part(front.prefix, blobChild(ctx, rest), rest.count);
    return storeShape(ctx, root, shape, { ...shape, front: p, count: shape.count - n }, owner);
  }
  const next = await refill(ctx, shape, owner);
  return storeShape(ctx, root, shape, { ...next, count: shape.count - n }, owner);
}

/**
 * `root` without its first element, and the front epoch it was taken from (the element is its record
 * 0); `undefined` when the queue is empty (the caller checked `root` is a queue). Reads and writes the root and the front epoch.
 */
export async function popElement(ctx: TreeContext, root: Node, owner: object | undefined): Promise<{ node: Node; front: EpochView } | undefined> {
  const shape = await shapeAt(ctx, root);
  if (shape.front === undefined) return undefined;
  const front = await readEpoch(ctx, shape.front);
  return { node: await dropFirst(ctx, root, 1, owner), front };
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
  let x: Part = epochPart("hi", old, shape.back.child, shape.back.count);
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
function addTo(ctx: TreeContext, group: Part | undefined, level: number, digit: number, x: Part, prefix: string, owner: object | undefined): Promise<Part> {
  return addAll(ctx, group, level, new Map([[digit, part(digitPrefix(digit), x.child, x.count)]]), x.count, prefix, owner);
}

/** The group or block `group` (level `level`, maybe absent) with the entries `added` (digit → entry, `count` elements) added, renamed `<prefix>.<count>`. */
async function addAll(ctx: TreeContext, group: Part | undefined, level: number, added: ReadonlyMap<number, Part>, count: number, prefix: string, owner: object | undefined): Promise<Part> {
  if (group === undefined) return dirPart(prefix, blockDir(new Map(added), count, level, owner), count);
  const node = nodeOf(group);
  const parts = new Map(await readBlock(ctx, node, group.count, level, `${group.name} (level ${level})`));
  for (const [digit, entry] of added) parts.set(digit, entry);
  const total = group.count + count;
  if (!mine(node, owner)) return dirPart(prefix, blockDir(parts, total, level, owner), total);
  for (const entry of added.values()) node.entries!.set(entry.name, entry.child);
  node.touch();
  rememberBlock(node.entries!, parts, total, level);
  return dirPart(prefix, node, total);
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
    return { ...emptyShape(shape.marker), lo: hi, hi, front: epochPart("lo", hi, shape.back.child, shape.back.count) };
  }
  const { kind, level, group } = source;
  const f = groups(shape.f);
  const b = groups(shape.b);
  let m = shape.m;
  const block = await readBlock(ctx, nodeOf(group), group.count, level, group.name);
  const d = firstDigit(block);
  const base = blockOf(kind === "b" ? hi : lo, level);
  const low = kind === "b" ? -1 : digitOf(lo, level);
  const high = kind === "f" ? 16 : digitOf(hi, level);
  if (d <= low || d >= high) throw corrupt(`queue group ${group.name} holds a block out of its range`);
  const rest = without(group, block, d, kind === "b" ? groupPrefix("m", level) : groupPrefix(kind, level), level, owner);
  // Descend the first block: at each level the rest of it becomes the front's group.
  let x = block.get(d)!;
  let id = base * 16 + d;
  for (let k = level - 1; k >= 1; k--) {
    const inner = await readBlock(ctx, nodeOf(x), x.count, k, `${group.name}/${x.name}`);
    const e = firstDigit(inner);
    f[k] = without(x, inner, e, groupPrefix("f", k), k, owner);
    x = inner.get(e)!;
    id = id * 16 + e;
  }
  const front = epochPart("lo", id, x.child, x.count);
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

/**
 * `group` (of level `level`, whose entries are `block`) without digit `d`, renamed
 * `<prefix>.<count>`; `undefined` when nothing is left. Changed in place when ours (a run of pops
 * takes epoch after epoch from the group the one before left), else a new directory.
 */
function without(group: Part, block: ReadonlyMap<number, Part>, d: number, prefix: string, level: number, owner: object | undefined): Part | undefined {
  const removed = block.get(d)!;
  if (block.size === 1) return undefined;
  const rest = new Map(block);
  rest.delete(d);
  const count = group.count - removed.count;
  const node = nodeOf(group);
  if (!mine(node, owner)) return dirPart(prefix, blockDir(rest, count, level, owner), count);
  node.entries!.delete(removed.name);
  node.touch();
  rememberBlock(node.entries!, rest, count, level);
  return dirPart(prefix, node, count);
}
