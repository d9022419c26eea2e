/**
 * Where a queue's elements live in its subtree (format version 2 of the queue).
 *
 * Every element has a key `(epoch, time, nonce)`; the queue is its elements in key order, front
 * first. `time` is the hybrid logical timestamp of the push and `nonce` 64 random bits, so two
 * pushes of the same value (on one branch or on two) are two elements that every replica orders the
 * same way. A push goes into the last epoch, or opens the next one when the last is full (128
 * elements or 16 KiB, see queue/epoch.ts); its time is later than the last element's, so its key is
 * the greatest: first in, first out locally, and concurrent pushes are ordered by (epoch, time).
 * An epoch is one blob of records sorted by key (queue/epoch.ts).
 *
 * Logically the epochs sit in a trie over their 8 hex digits (a "level k block" is the 16^k epochs
 * sharing all but their k low digits). That trie is stored unzipped along the paths to the first
 * epoch (`lo`) and the last (`hi`), like a finger tree, so that both ends hang right under the root:
 *
 *     .irmin-type                 marker (`irmin-ts queue 2`)
 *     lo.<lo, 8 hex>.<count>      the front epoch: a blob of records
 *     hi.<hi, 8 hex>.<count>      the back epoch (absent when the queue has one epoch)
 *     f<k>.<count>/               level k (1 ≤ k < L): the rest of lo's level-k block, after lo's branch
 *     m<L>.<count>/               level L, the lowest where lo and hi share a block: the branches between theirs
 *     b<k>.<count>/               level k (1 ≤ k < L): the rest of hi's level-k block, before hi's branch
 *
 * A group (`f`, `m`, `b`) or a block of level k holds entries `<hex digit>.<count>`, each a complete
 * block of level k − 1 (an epoch blob at level 0). Counts are numbers of elements, so the length is
 * a sum over the root's entries. Empty groups are absent (Git stores no empty tree).
 *
 * A push writes the back epoch's blob and the root; once per epoch the full back epoch moves into
 * `b1` (and a full `b<k>` block into `b<k+1>`, once per 16^k epochs): O(1) amortised objects, and
 * never more than 9 trees deep (2^32 epochs). A pop mirrors it on the front. The shape is a function
 * of the set of elements only (never of the order of operations), so merging a into b and b into a
 * give the same tree.
 */
import { corrupt, IrminError } from "../../core/errors.js";
import { Node, type Child, type ContentsChild, type TreeContext } from "../../tree/node.js";
import { markerChild, TYPE_ENTRY } from "../marker.js";
import { decodeEpoch, valueAt, type EpochView } from "./epoch.js";

/** The largest epoch (8 hex digits). */
export const MAX_EPOCH = 0xffffffff;
/** Levels of the epoch trie: one per hex digit of an epoch. */
export const LEVELS = 8;

/**
 * One entry of a queue directory: a subtree (an epoch blob at level 0) and the number of elements
 * under it; `name` is `<prefix>.<count>`. Decoding checks the kind: epochs are blobs, groups and
 * blocks of level ≥ 1 directories.
 */
export interface Part {
  readonly prefix: string;
  readonly name: string;
  readonly child: Child;
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

/** The epoch after `epoch`; UNSUPPORTED past the last one (2^32 epochs). */
export function nextEpoch(epoch: number): number {
  if (epoch >= MAX_EPOCH) throw new IrminError("UNSUPPORTED", "the queue has used all its epochs (2^32 of up to 128 pushes)");
  return epoch + 1;
}

// ---- names ----

const HEX8 = "00000000";

function hex8(n: number): string {
  const h = n.toString(16);
  return h.length === 8 ? h : HEX8.slice(h.length) + h;
}

/** A directory entry holding `child` with `count` elements, named `<prefix>.<count>`. */
export function part(prefix: string, child: Child, count: number): Part {
  return { prefix, name: `${prefix}.${count}`, child, count };
}

/** A directory entry holding the directory `node`. */
export function dirPart(prefix: string, node: Node, count: number): Part {
  return part(prefix, { kind: "node", node }, count);
}

/** The directory of a group or block entry (decoding checked its kind). */
export function nodeOf(p: Part): Node {
  if (p.child.kind !== "node") throw corrupt(`queue entry ${p.name} is a value, expected a directory`);
  return p.child.node;
}

/** The blob of an epoch entry (decoding checked its kind). */
function blobOf(p: Part): ContentsChild {
  if (p.child.kind !== "contents") throw corrupt(`queue epoch ${p.name} is a directory, expected a value`);
  return p.child;
}

/** The front (`"lo"`) or back (`"hi"`) epoch entry. */
export function epochPart(end: "lo" | "hi", epoch: number, blob: Child, count: number): Part {
  return part(`${end}.${hex8(epoch)}`, blob, count);
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

// ---- decoding the root ----

function parseCount(text: string, where: string): number {
  const n = Number(text);
  if (text.length === 0 || text.length > 15 || !Number.isInteger(n) || n <= 0 || text[0] === "0" || String(n) !== text) throw corrupt(`queue entry ${where} has a bad element count`);
  return n;
}

function checkKind(child: Child, blob: boolean, where: string): Child {
  if (blob && child.kind !== "contents") throw corrupt(`queue epoch ${where} is a directory, expected a value`);
  if (!blob && child.kind !== "node") throw corrupt(`queue entry ${where} is a value, expected a directory`);
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
  return shapeOf(ctx, root.entries ?? (await ctx.load(root)));
}

/**
 * The decoded root of a queue subtree whose entries are `entries` (cached); UNSUPPORTED for a queue
 * of an older format (its marker says so), CORRUPT when the entries do not form a queue.
 */
export function shapeOf(ctx: TreeContext, entries: Map<string, Child>): Shape {
  const known = shapes.get(entries);
  if (known !== undefined && known.size === entries.size) return known.shape;
  const marker = entries.get(TYPE_ENTRY);
  if (marker !== undefined && (marker.kind !== "contents" || marker.hash !== (markerChild(ctx, "queue") as ContentsChild).hash)) {
    throw new IrminError("UNSUPPORTED", "this queue was stored by an older version of irmin-ts (queue format 1), which this version does not read");
  }
  const shape = decodeShape(entries, marker);
  rememberShape(entries, shape);
  return shape;
}

function decodeShape(entries: Map<string, Child>, marker: Child | undefined): Shape {
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
    const isEpoch = match[1] !== undefined;
    const p: Part = { prefix: name.slice(0, name.length - match[5].length - 1), name, child: checkKind(child, isEpoch, name), count: parseCount(match[5], name) };
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

/** A block or group's entries by digit, as decoded (or built) for a level and count. */
interface KnownBlock {
  readonly parts: ReadonlyMap<number, Part>;
  readonly size: number;
  readonly count: number;
  readonly level: number;
}

// The blocks decoded or built last, by their entry maps (shared only while frozen; in-place edits
// refresh them): a carry or refill reads the group the one before built. A few strong entries
// rather than a WeakMap, whose per-key cost showed in a run of pushes.
const RECENT_BLOCKS = 16;
const blocks: { entries: Map<string, Child>; known: KnownBlock }[] = [];
let blocksAt = 0;

/** Records `parts` (digit → entry) as the decoding of the block directory `entries` of level `level` holding `count` elements. */
export function rememberBlock(entries: Map<string, Child>, parts: ReadonlyMap<number, Part>, count: number, level: number): void {
  const known = { parts, size: entries.size, count, level };
  for (const b of blocks) {
    if (b.entries === entries) {
      b.known = known;
      return;
    }
  }
  if (blocks.length < RECENT_BLOCKS) blocks.push({ entries, known });
  else blocks[blocksAt] = { entries, known };
  blocksAt = (blocksAt + 1) % RECENT_BLOCKS;
}

function recallBlock(entries: Map<string, Child>): KnownBlock | undefined {
  for (const b of blocks) if (b.entries === entries) return b.known;
  return undefined;
}

/** A new block or group directory of level `level` holding `parts` (digit → entry) and `count` elements, owned by `owner`. */
export function blockDir(parts: ReadonlyMap<number, Part>, count: number, level: number, owner: object | undefined): Node {
  const entries = new Map<string, Child>();
  for (const p of parts.values()) entries.set(p.name, p.child);
  rememberBlock(entries, parts, count, level);
  return Node.fromEntries(entries, owner);
}

/**
 * The entries of a block or group directory of level `level` ≥ 1 by digit, with their counts
 * (never to be changed: it may be cached); CORRUPT unless well formed (epoch blobs at level 1,
 * directories above) and adding up to `count`. One read at most; decoded once per directory.
 */
export async function readBlock(ctx: TreeContext, node: Node, count: number, level: number, where: string): Promise<ReadonlyMap<number, Part>> {
  const entries = node.entries ?? (await ctx.load(node));
  const known = recallBlock(entries);
  if (known !== undefined && known.size === entries.size && known.count === count && known.level === level) return known.parts;
  const out = new Map<number, Part>();
  let total = 0;
  for (const [name, child] of entries) {
    const digit = name.length >= 3 && name[1] === "." ? HEX_DIGITS.indexOf(name[0]) : -1;
    if (digit < 0) throw corrupt(`queue block ${where} holds an unexpected entry ${JSON.stringify(name)}`);
    const p: Part = { prefix: name[0], name, child: checkKind(child, level === 1, `${where}/${name}`), count: parseCount(name.slice(2), `${where}/${name}`) };
    out.set(digit, p);
    total += p.count;
  }
  if (total !== count) throw corrupt(`queue block ${where} holds ${total} elements, its name says ${count}`);
  rememberBlock(entries, out, count, level);
  return out;
}

/** The smallest key of a block (it is never empty). */
export function firstDigit(block: ReadonlyMap<number, Part>): number {
  let d = 16;
  for (const k of block.keys()) if (k < d) d = k;
  return d;
}

// ---- epochs ----

/** The decoded records of the epoch entry `p`; CORRUPT unless it holds `p.count` well-formed records. One read at most. */
export async function readEpoch(ctx: TreeContext, p: Part): Promise<EpochView> {
  return decodeEpoch(await ctx.contentsBytes(blobOf(p)), p.count, p.name);
}

/** Calls `fn` on every value of the epoch `p` in key order from record `from`; stops (returning false) when it does. */
async function visitEpoch(ctx: TreeContext, p: Part, from: number, fn: (value: Uint8Array) => boolean | Promise<boolean>): Promise<boolean> {
  const view = await readEpoch(ctx, p);
  for (let i = from; i < view.count; i++) if (!(await fn(valueAt(view, i)))) return false;
  return true;
}

async function visitBlock(ctx: TreeContext, p: Part, level: number, fn: (value: Uint8Array) => boolean | Promise<boolean>): Promise<boolean> {
  if (level === 0) return visitEpoch(ctx, p, 0, fn);
  const block = await readBlock(ctx, nodeOf(p), p.count, level, p.name);
  for (const d of [...block.keys()].sort((x, y) => x - y)) {
    if (!(await visitBlock(ctx, block.get(d)!, level - 1, fn))) return false;
  }
  return true;
}

/**
 * Calls `fn` on the value of every element of the queue rooted at `root`, front first, skipping
 * the first `skip` (of the front epoch), until it returns false. Reads every object of the queue it
 * visits (about n / 128 for all of it).
 */
export async function forEachElement(ctx: TreeContext, root: Node, fn: (value: Uint8Array) => boolean | Promise<boolean>, skip = 0): Promise<void> {
  const s = await readShape(ctx, root);
  if (s.front === undefined) return;
  if (!(await visitEpoch(ctx, s.front, skip, fn))) return;
  const parts: [Part | undefined, number][] = [];
  for (let k = 1; k < s.levels; k++) parts.push([s.f[k], k]);
  parts.push([s.m, s.levels]);
  for (let k = s.levels - 1; k >= 1; k--) parts.push([s.b[k], k]);
  for (const [p, level] of parts) {
    if (p !== undefined && !(await visitBlock(ctx, p, level, fn))) return;
  }
  if (s.back !== undefined) await visitEpoch(ctx, s.back, 0, fn);
}
