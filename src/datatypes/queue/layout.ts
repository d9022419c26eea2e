/**
 * Where a queue's elements live in its subtree (format version 1 of the queue).
 *
 * Every element has a key `(epoch, time, nonce)`; the queue is its elements in key order, front
 * first. `time` is the hybrid logical timestamp of the push and `nonce` 64 random bits, so two
 * pushes of the same value (on one branch or on two) are two elements that every replica orders the
 * same way. A push goes into the last epoch, or opens the next one when the last holds
 * {@link EPOCH_SIZE} elements; its time is later than the last element's, so its key is the
 * greatest: first in, first out locally, and concurrent pushes are ordered by (epoch, time).
 *
 * Logically the epochs sit in a trie over their 8 hex digits (a "level k block" is the 16^k epochs
 * sharing all but their k low digits). That trie is stored unzipped along the paths to the first
 * epoch (`lo`) and the last (`hi`), like a finger tree, so that both ends hang right under the root:
 *
 *     .irmin-type                 marker
 *     lo.<lo, 8 hex>.<count>/     the front epoch: one blob per element, named <time 20 hex><nonce 16 hex>
 *     hi.<hi, 8 hex>.<count>/     the back epoch (absent when the queue has one epoch)
 *     f<k>.<count>/               level k (1 ≤ k < L): the rest of lo's level-k block, after lo's branch
 *     m<L>.<count>/               level L, the lowest where lo and hi share a block: the branches between theirs
 *     b<k>.<count>/               level k (1 ≤ k < L): the rest of hi's level-k block, before hi's branch
 *
 * A group (`f`, `m`, `b`) or a block of level k holds entries `<hex digit>.<count>`, each a complete
 * block of level k − 1 (an epoch directory at level 0). Counts are numbers of elements, so the
 * length is a sum over the root's entries. Empty groups are absent (Git stores no empty tree).
 *
 * A push writes its blob, the back epoch and the root; once per epoch (64 pushes) the full back
 * epoch moves into `b1` (and a full `b<k>` block into `b<k+1>`, once per 16^k epochs): O(1)
 * amortised objects, and never more than 10 levels deep (2^32 epochs). A pop mirrors it on the
 * front. The shape is a function of the set of elements only (never of the order of operations),
 * so merging a into b and b into a give the same tree.
 */
import { corrupt, IrminError } from "../../core/errors.js";
import { toHex } from "../../core/hash.js";
import { Node, type Child, type ContentsChild, type NodeChild, type TreeContext } from "../../tree/node.js";
import { decodeTimestamp, encodeTimestamp, type Timestamp } from "../hlc.js";
import { TYPE_ENTRY } from "../marker.js";

/** Elements a push puts in one epoch before opening the next. */
export const EPOCH_SIZE = 64;
/** The largest epoch (8 hex digits). */
export const MAX_EPOCH = 0xffffffff;
/** Levels of the epoch trie: one per hex digit of an epoch. */
export const LEVELS = 8;

const TIME_DIGITS = 20;
const NAME_LENGTH = 36;

/** One entry of a queue directory: a subtree and the number of elements under it; `name` is `<prefix>.<count>`. */
export interface Part {
  readonly prefix: string;
  readonly name: string;
  readonly child: NodeChild;
  readonly count: number;
}

/**
 * A queue's root, decoded. `levels` is L (0 for one epoch); `f[k]`, `b[k]` for 1 ≤ k < L; `m` at L.
 * Each shape belongs to one root's entries: an operation that changes a root of its own in place
 * updates `front`, `back` and `count` in place too.
 */
export interface Shape {
  readonly lo: number;
  readonly hi: number;
  readonly levels: number;
  front: Part | undefined;
  back: Part | undefined;
  readonly f: readonly (Part | undefined)[];
  readonly m: Part | undefined;
  readonly b: readonly (Part | undefined)[];
  readonly marker: Child | undefined;
  /** Elements in the queue. */
  count: number;
}

const NO_GROUPS: readonly (Part | undefined)[] = new Array<Part | undefined>(LEVELS + 1).fill(undefined);

/** The shape of an empty queue (keeping `marker`). */
export function emptyShape(marker: Child | undefined): Shape {
  return { lo: 0, hi: 0, levels: 0, front: undefined, back: undefined, f: NO_GROUPS, m: undefined, b: NO_GROUPS, marker, count: 0 };
}

/** A fresh group array (index = level). */
export function groups(from: readonly (Part | undefined)[] = NO_GROUPS): (Part | undefined)[] {
  return from.slice();
}

// ---- epoch arithmetic ----

const POW16 = Array.from({ length: LEVELS + 1 }, (_, k) => 16 ** k);

/** The id of the level-`k` block holding `epoch` (level 0: the epoch itself). */
export function blockOf(epoch: number, k: number): number {
  return Math.floor(epoch / POW16[k]);
}

/** The digit of `epoch`'s branch among the children of its level-`k` block (k ≥ 1). */
export function digitOf(epoch: number, k: number): number {
  return Math.floor(epoch / POW16[k - 1]) % 16;
}

/** The lowest level (1..8) at which epochs `x` and `y` are in the same block. */
export function meetLevel(x: number, y: number): number {
  for (let k = 1; k < LEVELS; k++) if (blockOf(x, k) === blockOf(y, k)) return k;
  return LEVELS;
}

/** The epoch after `epoch`; UNSUPPORTED past the last one (2^32 epochs of 64 elements). */
export function nextEpoch(epoch: number): number {
  if (epoch >= MAX_EPOCH) throw new IrminError("UNSUPPORTED", "the queue has used all its epochs (2^32 × 64 pushes)");
  return epoch + 1;
}

// ---- names ----

const HEX8 = "00000000";

function epochHex(epoch: number): string {
  return hex8(epoch);
}

/** A directory entry holding `node` with `count` elements, named `<prefix>.<count>`. */
export function part(prefix: string, node: Node, count: number): Part {
  return { prefix, name: `${prefix}.${count}`, child: { kind: "node", node }, count };
}

/** `p` holding `by` more (or fewer) elements: the same subtree, renamed. */
export function recount(p: Part, by: number): Part {
  const count = p.count + by;
  return { prefix: p.prefix, name: `${p.prefix}.${count}`, child: p.child, count };
}

/** The front (`"lo"`) or back (`"hi"`) epoch directory entry. */
export function epochPart(end: "lo" | "hi", epoch: number, node: Node, count: number): Part {
  return part(`${end}.${epochHex(epoch)}`, node, count);
}

/** The prefix of a root group entry: `f<k>`, `m<k>` or `b<k>`. */
export function groupPrefix(kind: "f" | "m" | "b", level: number): string {
  return kind + String(level);
}

const HEX_DIGITS = "0123456789abcdef";

/** The prefix of a block entry for `digit` (`"a"` for 10). */
export function digitPrefix(digit: number): string {
  return HEX_DIGITS[digit];
}

/** A directory built from `parts` (already named), owned by `owner`. */
export function dirOf(parts: Iterable<Part>, owner: object | undefined): Node {
  const entries = new Map<string, Child>();
  for (const p of parts) entries.set(p.name, p.child);
  return Node.fromEntries(entries, owner);
}

// ---- nonces and element names ----

// Nonces are cut from a pool of random hex: one system call and one hex conversion per 8,192 pushes.
const NONCE_HEX = 16;
const POOL_NONCES = 8192;
let pool = "";
let poolAt = 0;
let lastWall = -1;
let lastWallHex = "";

function hex8(n: number): string {
  const h = n.toString(16);
  return h.length === 8 ? h : HEX8.slice(h.length) + h;
}

/**
 * A fresh element name for a push at `time`: {@link encodeTimestamp}'s text, then a 64-bit random
 * nonce. The wall clock's hex is reused while it does not change (most pushes of a run share it).
 */
export function elementName(time: Timestamp): string {
  if (poolAt === pool.length) {
    pool = toHex(crypto.getRandomValues(new Uint8Array((POOL_NONCES * NONCE_HEX) / 2)));
    poolAt = 0;
  }
  if (time.wall !== lastWall) {
    lastWallHex = encodeTimestamp(time).slice(0, TIME_DIGITS - 8);
    lastWall = time.wall;
  }
  const name = lastWallHex + hex8(time.logical) + pool.slice(poolAt, poolAt + NONCE_HEX);
  poolAt += NONCE_HEX;
  return name;
}

function isElementName(name: string): boolean {
  if (name.length !== NAME_LENGTH) return false;
  for (let i = 0; i < NAME_LENGTH; i++) {
    const c = name.charCodeAt(i);
    if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) return false;
  }
  return true;
}

// ---- decoding the root ----

function parseCount(text: string, where: string): number {
  const n = Number(text);
  if (text.length === 0 || text.length > 15 || !Number.isInteger(n) || n <= 0 || text[0] === "0" || String(n) !== text) throw corrupt(`queue entry ${where} has a bad element count`);
  return n;
}

function nodeChild(child: Child, where: string): NodeChild {
  if (child.kind !== "node") throw corrupt(`queue entry ${where} is a value, expected a directory`);
  return child;
}

const ROOT_NAME = /^(?:(lo|hi)\.([0-9a-f]{8})|([fmb])([1-8]))\.([0-9]+)$/;

// Decoded roots, by their (never shared while mutable) entry maps; in-place edits refresh them.
const shapes = new WeakMap<Map<string, Child>, { shape: Shape; size: number }>();

/** Records `shape` as the decoding of `entries` (after an in-place or new build). */
export function rememberShape(entries: Map<string, Child>, shape: Shape): void {
  shapes.set(entries, { shape, size: entries.size });
}

/** The decoded root of a queue subtree: one read at most; CORRUPT when its entries do not form a queue. */
export async function readShape(ctx: TreeContext, root: Node): Promise<Shape> {
  return shapeOf(root.entries ?? (await ctx.load(root)));
}

/** The decoded root of a queue subtree whose entries are `entries` (cached). */
export function shapeOf(entries: Map<string, Child>): Shape {
  const known = shapes.get(entries);
  if (known !== undefined && known.size === entries.size) return known.shape;
  const shape = decodeShape(entries);
  rememberShape(entries, shape);
  return shape;
}

function decodeShape(entries: Map<string, Child>): Shape {
  let lo: number | undefined;
  let hi: number | undefined;
  let front: Part | undefined;
  let back: Part | undefined;
  let m: Part | undefined;
  let mLevel = 0;
  const f = groups();
  const b = groups();
  let count = 0;
  for (const [name, child] of entries) {
    if (name === TYPE_ENTRY) continue;
    const match = ROOT_NAME.exec(name);
    if (match === null) throw corrupt(`queue subtree holds an unexpected entry ${JSON.stringify(name)}`);
    const p: Part = { prefix: name.slice(0, name.length - match[5].length - 1), name, child: nodeChild(child, name), count: parseCount(match[5], name) };
    count += p.count;
    if (match[1] === "lo") {
      lo = parseInt(match[2], 16);
      front = p;
    } else if (match[1] === "hi") {
      hi = parseInt(match[2], 16);
      back = p;
    } else {
      const level = Number(match[4]);
      if (match[3] === "m") {
        if (m !== undefined) throw corrupt(`queue subtree holds two middle groups`);
        m = p;
        mLevel = level;
      } else if (match[3] === "f") f[level] = p;
      else b[level] = p;
    }
  }
  const marker = entries.get(TYPE_ENTRY);
  if (lo === undefined) {
    if (count > 0) throw corrupt("queue subtree has elements but no front epoch");
    return emptyShape(marker);
  }
  const levels = hi === undefined ? 0 : meetLevel(lo, hi);
  if (hi !== undefined && hi <= lo) throw corrupt(`queue back epoch ${hi} is not after its front epoch ${lo}`);
  if (m !== undefined && mLevel !== levels) throw corrupt(`queue middle group at level ${mLevel}, expected ${levels}`);
  for (let k = 1; k <= LEVELS; k++) {
    if ((f[k] !== undefined || b[k] !== undefined) && k >= levels) throw corrupt(`queue group at level ${k} with front and back meeting at level ${levels}`);
  }
  return { lo, hi: hi ?? lo, levels, front, back, f, m, b, marker, count };
}

// ---- blocks and groups ----

/** The entries of a block or group directory by digit, with their counts; CORRUPT unless well formed and adding up to `count`. One read at most. */
export async function readBlock(ctx: TreeContext, node: Node, count: number, where: string): Promise<Map<number, Part>> {
  const entries = await ctx.load(node);
  const out = new Map<number, Part>();
  let total = 0;
  for (const [name, child] of entries) {
    const digit = name.length >= 3 && name[1] === "." ? HEX_DIGITS.indexOf(name[0]) : -1;
    if (digit < 0) throw corrupt(`queue block ${where} holds an unexpected entry ${JSON.stringify(name)}`);
    const p: Part = { prefix: name[0], name, child: nodeChild(child, `${where}/${name}`), count: parseCount(name.slice(2), `${where}/${name}`) };
    out.set(digit, p);
    total += p.count;
  }
  if (total !== count) throw corrupt(`queue block ${where} holds ${total} elements, its name says ${count}`);
  return out;
}

/** The smallest key of a block (it is never empty). */
export function firstDigit(block: Map<number, Part>): number {
  let d = 16;
  for (const k of block.keys()) if (k < d) d = k;
  return d;
}

// ---- epoch directories ----

/** Sorted names of an epoch directory, from `start` (pops move it), cached by entry map. */
interface Order {
  sorted: string[];
  start: number;
  size: number;
  maxTime: Timestamp | undefined;
}

const orders = new WeakMap<Map<string, Child>, Order>();

/** The entries of an epoch directory holding `count` elements; CORRUPT unless they are. One read at most. */
export async function readEpoch(ctx: TreeContext, node: Node, count: number, where: string): Promise<Map<string, Child>> {
  const entries = await ctx.load(node);
  if (entries.size !== count) throw corrupt(`queue epoch ${where} holds ${entries.size} elements, its name says ${count}`);
  return entries;
}

function orderOf(entries: Map<string, Child>, where: string): Order {
  let o = orders.get(entries);
  if (o !== undefined && o.size === entries.size && (o.size === 0 || entries.has(o.sorted[o.start]))) return o;
  // Directories decoded from Git, and those pushes build, are in name order already: check, sort only if not.
  const sorted = [...entries.keys()];
  let inOrder = true;
  for (let i = 0; i < sorted.length; i++) {
    const name = sorted[i];
    if (!isElementName(name) || entries.get(name)!.kind !== "contents") throw corrupt(`queue element ${where}/${name} is not an element`);
    if (i > 0 && sorted[i - 1] > name) inOrder = false;
  }
  if (!inOrder) sorted.sort();
  o = { sorted, start: 0, size: sorted.length, maxTime: undefined };
  orders.set(entries, o);
  return o;
}

/** The first element of an epoch directory (never empty). */
export function firstElement(entries: Map<string, Child>, where: string): { name: string; child: ContentsChild } {
  const o = orderOf(entries, where);
  const name = o.sorted[o.start];
  return { name, child: entries.get(name) as ContentsChild };
}

/** The push time of the last element of an epoch directory (never empty). */
export function lastTime(entries: Map<string, Child>, where: string): Timestamp {
  const o = orderOf(entries, where);
  o.maxTime ??= decodeTimestamp(o.sorted[o.sorted.length - 1].slice(0, TIME_DIGITS));
  return o.maxTime;
}

/** The elements of `entries` in a copy (with their cached order), for a directory that may not change in place. */
export function copyEpoch(entries: Map<string, Child>, where: string): Map<string, Child> {
  const o = orderOf(entries, where);
  const out = new Map(entries);
  orders.set(out, { sorted: o.sorted.slice(o.start), start: 0, size: o.size, maxTime: o.maxTime });
  return out;
}

/** Adds the element `name`, greater than every name in `entries` (pushed at `time`), keeping the cached order in step. */
export function addLast(entries: Map<string, Child>, name: string, child: Child, time: Timestamp, where: string): void {
  const o = orderOf(entries, where);
  entries.set(name, child);
  o.sorted.push(name);
  o.size++;
  o.maxTime = time;
}

/** Removes the first element of `entries`, keeping the cached order in step (a run of pops sorts once). */
export function removeFirst(entries: Map<string, Child>, where: string): void {
  const o = orderOf(entries, where);
  entries.delete(o.sorted[o.start]);
  o.start++;
  o.size--;
  // Keep the array short in a long run of pushes and pops within one epoch.
  if (o.start > EPOCH_SIZE) {
    o.sorted = o.sorted.slice(o.start);
    o.start = 0;
  }
}

/** Calls `fn` on every element of an epoch directory in key order; stops (returning false) when it does. */
async function visitEpoch(ctx: TreeContext, p: Part, where: string, fn: (child: ContentsChild) => boolean | Promise<boolean>): Promise<boolean> {
  const entries = await readEpoch(ctx, p.child.node, p.count, where);
  const o = orderOf(entries, where);
  for (let i = o.start; i < o.sorted.length; i++) if (!(await fn(entries.get(o.sorted[i]) as ContentsChild))) return false;
  return true;
}

async function visitBlock(ctx: TreeContext, p: Part, level: number, where: string, fn: (child: ContentsChild) => boolean | Promise<boolean>): Promise<boolean> {
  if (level === 0) return visitEpoch(ctx, p, where, fn);
  const block = await readBlock(ctx, p.child.node, p.count, where);
  for (const d of [...block.keys()].sort((x, y) => x - y)) {
    const c = block.get(d)!;
    if (!(await visitBlock(ctx, c, level - 1, `${where}/${c.name}`, fn))) return false;
  }
  return true;
}

/**
 * Calls `fn` on every element of the queue rooted at `root`, front first, until it returns false.
 * Reads every tree of the queue it visits (about n / 64 for all of it).
 */
export async function forEachElement(ctx: TreeContext, root: Node, fn: (child: ContentsChild) => boolean | Promise<boolean>): Promise<void> {
  const s = await readShape(ctx, root);
  if (s.front === undefined) return;
  if (!(await visitEpoch(ctx, s.front, s.front.name, fn))) return;
  const parts: [Part | undefined, number][] = [];
  for (let k = 1; k < s.levels; k++) parts.push([s.f[k], k]);
  parts.push([s.m, s.levels]);
  for (let k = s.levels - 1; k >= 1; k--) parts.push([s.b[k], k]);
  for (const [p, level] of parts) {
    if (p !== undefined && !(await visitBlock(ctx, p, level, p.name, fn))) return;
  }
  if (s.back !== undefined) await visitEpoch(ctx, s.back, s.back.name, fn);
}
