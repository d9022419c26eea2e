/**
 * Where a queue's elements live in its subtree (format version 1 of the queue).
 *
 * Every element has a key: `(epoch, time, nonce)`. The queue is the elements in key order, front
 * first. `time` is the hybrid logical timestamp of the push and `nonce` 64 random bits, so two
 * pushes of the same value (on one branch or on two) are two elements, and every replica orders
 * them the same way. `epoch` is a dense counter: a push goes into the queue's last epoch, or opens
 * the next one when that epoch already holds {@link EPOCH_SIZE} elements. Since a push takes a
 * time later than the last element's, and the last epoch or a later one, its key is greater than
 * every key in the queue: the local order is first in, first out. Pushes made concurrently on two
 * branches into the same epoch are ordered by time, in different epochs by epoch.
 *
 * The subtree is a trie over the epoch's hex digits (hence balanced: epochs are dense, and a queue
 * of a million elements spans about 16,000 epochs, four digits):
 *
 *     .irmin-type                 marker
 *     <k>/                        k = number of hex digits of the epoch ("1".."8"), so "1" < "2" sorts small epochs first
 *       <digit>/ … <digit>/       the epoch's k hex digits, most significant first
 *         <time><nonce>           one blob per element: 20 + 16 hex digits, name order = key order
 *
 * Directories hold at most 16 entries and epochs about 64, so that an operation copies, hashes and
 * writes small trees. A queue of n elements is log₁₆(n/64) + 3 trees deep (5 for 100,000 elements,
 * 6 for a million; 10 at most, for 2^32 epochs). The shape is a function of the set of keys only
 * (never of the order of operations), so merging a into b and b into a give the same tree.
 */
import { corrupt, IrminError } from "../../core/errors.js";
import { toHex } from "../../core/hash.js";
import type { Child, ContentsChild, Node, TreeContext } from "../../tree/node.js";
import { decodeTimestamp, encodeTimestamp, type Timestamp } from "../hlc.js";
import { TYPE_ENTRY } from "../marker.js";

/** Elements a push puts in one epoch before opening the next. */
export const EPOCH_SIZE = 64;
/** The largest epoch (8 hex digits). */
export const MAX_EPOCH = 0xffffffff;

const TIME_DIGITS = 20;
const NONCE_BYTES = 8;
const NAME = /^[0-9a-f]{36}$/;
const DIGIT = /^[0-9a-f]$/;

/** The path from the queue's root to the directory of `epoch`. */
export function epochPath(epoch: number): string[] {
  const digits = epoch.toString(16);
  return [String(digits.length), ...digits];
}

// Nonces are cut from a pool of random bytes: one system call per 8,192 pushes instead of one each.
const pool = new Uint8Array(NONCE_BYTES * 8192);
let poolAt = pool.length;

/** A fresh element name for a push at `time`. */
export function elementName(time: Timestamp): string {
  if (poolAt === pool.length) {
    crypto.getRandomValues(pool.subarray(0, 65536));
    poolAt = 0;
  }
  poolAt += NONCE_BYTES;
  return encodeTimestamp(time) + toHex(pool, poolAt - NONCE_BYTES, NONCE_BYTES);
}

/** The push time an element name holds. */
export function elementTime(name: string): Timestamp {
  return decodeTimestamp(name.slice(0, TIME_DIGITS));
}

/** One end of a queue: its element, the epoch it is in and how many elements that epoch holds. */
export interface QueueEnd {
  readonly path: string[];
  readonly epoch: number;
  readonly name: string;
  readonly child: ContentsChild;
  readonly epochCount: number;
}

type Pick = (a: string, b: string) => boolean;
const smaller: Pick = (a, b) => a < b;
const larger: Pick = (a, b) => a > b;

/** The first (`"first"`) or last element of the queue rooted at `root`; `undefined` when empty. Reads one tree per level. */
export async function queueEnd(ctx: TreeContext, root: Node, which: "first" | "last"): Promise<QueueEnd | undefined> {
  const better = which === "first" ? smaller : larger;
  const top = await ctx.load(root);
  // The root has at most nine entries: check them all, so a stray entry is seen from both ends.
  for (const name of top.keys()) if (name !== TYPE_ENTRY) checkLength(name);
  const lengthName = edgeName(top, better, TYPE_ENTRY);
  if (lengthName === undefined) return undefined;
  const digits = checkLength(lengthName);
  let node = dirOf(top.get(lengthName)!, lengthName);
  const path = [lengthName];
  let epoch = 0;
  for (let i = 0; i < digits; i++) {
    const entries = await ctx.load(node);
    const name = edgeName(entries, better, undefined);
    if (name === undefined || !DIGIT.test(name)) throw corrupt(`queue epoch directory ${path.join("/")} holds ${name === undefined ? "nothing" : JSON.stringify(name)}`);
    epoch = epoch * 16 + parseInt(name, 16);
    path.push(name);
    node = dirOf(entries.get(name)!, path.join("/"));
  }
  const elements = await ctx.load(node);
  const name = edgeName(elements, better, undefined);
  if (name === undefined) throw corrupt(`queue epoch ${path.join("/")} is empty`);
  const child = elements.get(name)!;
  if (child.kind !== "contents" || !NAME.test(name)) throw corrupt(`queue element ${path.join("/")}/${name} is not an element`);
  path.push(name);
  return { path, epoch, name, child, epochCount: elements.size };
}

/**
 * Calls `fn` on every element of the queue rooted at `root`, front first, until it returns false.
 * Reads every tree of the queue it visits (about n / 50 for all of it).
 */
export async function forEachElement(ctx: TreeContext, root: Node, fn: (child: ContentsChild) => boolean | Promise<boolean>): Promise<void> {
  const top = await ctx.load(root);
  const lengths = [...top.keys()].filter((n) => n !== TYPE_ENTRY).sort();
  for (const lengthName of lengths) {
    if (!(await visit(ctx, dirOf(top.get(lengthName)!, lengthName), checkLength(lengthName), lengthName, fn))) return;
  }
}

async function visit(ctx: TreeContext, node: Node, levels: number, where: string, fn: (child: ContentsChild) => boolean | Promise<boolean>): Promise<boolean> {
  const entries = await ctx.load(node);
  for (const name of [...entries.keys()].sort()) {
    const child = entries.get(name)!;
    const at = `${where}/${name}`;
    if (levels > 0) {
      if (!DIGIT.test(name)) throw corrupt(`queue epoch directory ${where} holds ${JSON.stringify(name)}`);
      if (!(await visit(ctx, dirOf(child, at), levels - 1, at, fn))) return false;
    } else {
      if (child.kind !== "contents" || !NAME.test(name)) throw corrupt(`queue element ${at} is not an element`);
      if (!(await fn(child))) return false;
    }
  }
  return true;
}

/** The number of elements: reads every epoch directory (about n / 64 trees). */
export async function countElements(ctx: TreeContext, root: Node): Promise<number> {
  const top = await ctx.load(root);
  let total = 0;
  const count = async (node: Node, levels: number, where: string): Promise<void> => {
    const entries = await ctx.load(node);
    if (levels === 0) {
      total += entries.size;
      return;
    }
    for (const [name, child] of entries) await count(dirOf(child, `${where}/${name}`), levels - 1, `${where}/${name}`);
  };
  for (const [name, child] of top) if (name !== TYPE_ENTRY) await count(dirOf(child, name), checkLength(name), name);
  return total;
}

/** Whether the queue rooted at `root` holds no element (one read at most). */
export async function isEmptyQueue(ctx: TreeContext, root: Node): Promise<boolean> {
  for (const name of (await ctx.load(root)).keys()) if (name !== TYPE_ENTRY) return false;
  return true;
}

/** The name in `entries` that `better` prefers over all others (skipping `skip`). O(entries). */
function edgeName(entries: Map<string, Child>, better: Pick, skip: string | undefined): string | undefined {
  let best: string | undefined;
  for (const name of entries.keys()) {
    if (name === skip) continue;
    if (best === undefined || better(name, best)) best = name;
  }
  return best;
}

function checkLength(name: string): number {
  if (name.length !== 1 || name < "1" || name > "8") throw corrupt(`queue subtree holds an unexpected entry ${JSON.stringify(name)}`);
  return Number(name);
}

function dirOf(child: Child, where: string): Node {
  if (child.kind !== "node") throw corrupt(`queue entry ${where} is a value, expected a directory`);
  return child.node;
}

/** The epoch after `epoch`; UNSUPPORTED past the last one (2^32 epochs of 64 elements). */
export function nextEpoch(epoch: number): number {
  if (epoch >= MAX_EPOCH) throw new IrminError("UNSUPPORTED", "the queue has used all its epochs (2^32 × 64 pushes)");
  return epoch + 1;
}
