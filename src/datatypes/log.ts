/**
 * A mergeable log (the Ezirmin post): entries appended on any branch, read newest first; a merge
 * keeps every entry of both sides exactly once.
 *
 * Layout (format version 1). Each entry is a blob named by its key (log/keys.ts): its hybrid logical
 * timestamp then a random nonce, fixed width, so that Git's name order is time order and two appends
 * of the same value, or in the same logical instant on two replicas, stay two entries ordered the
 * same way everywhere. The entries form a content-defined chunked tree (log/chunked-tree.ts, a prolly
 * tree or Merkle search tree made of Git trees): node boundaries fall before keys whose hash has
 * enough trailing zero bits, about one in 32 per level, and each internal node is a Git tree of its
 * children named by their first key. The log's own subtree is the root node plus the type marker and
 * a `length` blob.
 *
 * Why this shape and not Ezirmin's linked list of entries and merge nodes, whose depth grows with n:
 * - Depth is bounded: ranks stop at MAX_RANK, so a log is at most 7 trees deep at any size (a million
 *   entries: about 4), far below Git's limits, and every object is reachable through plain trees.
 * - The shape depends on the set of entries only (history independence), so the same entries are the
 *   same tree whatever order they arrived in: merge(a, b) and merge(b, a) give one tree hash, and
 *   subtrees untouched since a common ancestor are shared, which is what makes merges cheap.
 * - An append has the greatest key (its timestamp exceeds the newest one the log holds), so it only
 *   rewrites the rightmost path: O(log n) trees, about 4 + 3 objects per append at a million entries.
 * - A merge walks both trees in key order, skipping subtrees with equal hashes, and inserts the side
 *   with fewer new entries into the other: its cost follows the change, not the log.
 * - Reading the k newest walks down the right edge then leftwards: O(k + log n) reads.
 * The ancestor is not needed: a log only grows, so its merge is the union of both sides, which also
 * makes the recursive merge of several merge bases trivially right.
 */
import { corrupt, invalidArgument } from "../core/errors.js";
import { contentsChild, type Node, type TreeContext } from "../tree/node.js";
import { nextTimestamp, type Timestamp } from "./hlc.js";
import { leafText, textLeaf } from "./leaves.js";
import { checkedElems, insertItems, rightmost, type Elem, type Item, type Top } from "./log/chunked-tree.js";
import { isKey, keyTime, makeKey, randomNonces } from "./log/keys.js";
import { difference, estimate, expandAll, newestEntries } from "./log/walk.js";
import { TYPE_ENTRY, typedNode } from "./marker.js";
import type { OperationOptions, TypedSlot, ValueCodec } from "./slot.js";

const LENGTH = "length";

/** Entries a page holds when `read` is given no limit. */
export const DEFAULT_PAGE_SIZE = 100;

/** One entry of a log. */
export interface LogEntry<T> {
  /** The value appended. */
  readonly value: T;
  /** When it was appended: wall-clock milliseconds of its hybrid logical timestamp. */
  readonly time: number;
}

/** Options of {@link Log.read}. */
export interface LogReadOptions {
  /** Most entries to return (a positive integer; default {@link DEFAULT_PAGE_SIZE}). */
  limit?: number;
  /** Where the previous page ended (its `cursor`); absent: start at the newest entry. */
  cursor?: string;
}

/** A page of a log, newest first. */
export interface LogPage<T> {
  /** At most `limit` entries, newest first. */
  readonly entries: LogEntry<T>[];
  /** Pass it to the next `read` to continue after this page; absent when nothing older is left. */
  readonly cursor?: string;
}

/** A log at a path of a branch or a transaction. */
export class Log<T> {
  /** @internal */
  constructor(
    private readonly slot: TypedSlot,
    private readonly contents: ValueCodec<T>,
  ) {}

  /**
   * Appends `value` in one commit (`append <path>`). Its timestamp is later than every entry the log
   * holds (whatever the wall clock says), so it reads as the newest. Writes O(log n) objects: the
   * blob, the trees on the rightmost path, the length.
   */
  async append(value: T, options?: OperationOptions): Promise<{ time: number }> {
    return (await this.appendValues([value], options))[0];
  }

  /**
   * Appends `values` in order, in one commit (`append <path>`): the bulk path, O(m + log n) for m
   * values. Returns their times.
   */
  async appendAll(values: readonly T[], options?: OperationOptions): Promise<{ time: number }[]> {
    if (!Array.isArray(values)) throw invalidArgument("appendAll expects an array of values");
    if (values.length === 0) return [];
    return this.appendValues(values, options);
  }

  private appendValues(values: readonly T[], options: OperationOptions | undefined): Promise<{ time: number }[]> {
    const { ctx } = this.slot;
    // Everything random or derived from the values is fixed before the update, which may run again.
    const blobs = values.map((v) => contentsChild(ctx, this.contents.encode(v)));
    const nonces = randomNonces(values.length);
    return this.slot.update(
      "append",
      async (node) => {
        const root = await readRoot(ctx, node);
        let seen: Timestamp | undefined = root.last === undefined ? undefined : keyTime(root.last);
        const items: Item[] = [];
        const times: { time: number }[] = [];
        for (let i = 0; i < blobs.length; i++) {
          seen = nextTimestamp(seen);
          items.push({ key: makeKey(seen, nonces.subarray(8 * i, 8 * i + 8)), child: blobs[i] });
          times.push({ time: seen.wall });
        }
        const count = { added: 0 };
        const top = await insertItems(ctx, root.top, items, count);
        return { node: top === undefined ? undefined : logNode(ctx, top, root.length + count.added), result: times };
      },
      options,
    );
  }

  /**
   * Up to `limit` entries, newest first, starting after `cursor`. Cost O(k + log n) reads for k
   * entries. INVALID_ARGUMENT for a limit that is not a positive integer or a cursor that is not one
   * this log handed out.
   */
  async read(options: LogReadOptions = {}): Promise<LogPage<T>> {
    if (options === null || typeof options !== "object") throw invalidArgument("read expects an options object");
    const limit = options.limit ?? DEFAULT_PAGE_SIZE;
    if (!Number.isSafeInteger(limit) || limit < 1) throw invalidArgument(`a page limit is a positive integer, got ${String(limit)}`);
    const { cursor } = options;
    if (cursor !== undefined && (typeof cursor !== "string" || !isKey(cursor))) throw invalidArgument(`not a log cursor: ${JSON.stringify(cursor)}`);
    const root = await readRoot(this.slot.ctx, await this.slot.read());
    const found = await newestEntries(this.slot.ctx, root.top, cursor, limit + 1);
    const page = found.slice(0, limit);
    const entries = await this.decode(page);
    return found.length > limit ? { entries, cursor: page[page.length - 1][0] } : { entries };
  }

  /** Every entry, newest first (`[]` when the log does not exist). O(n). */
  async all(): Promise<LogEntry<T>[]> {
    const root = await readRoot(this.slot.ctx, await this.slot.read());
    return this.decode(await newestEntries(this.slot.ctx, root.top, undefined, Infinity));
  }

  /** How many entries the log holds (0 when it does not exist). O(1): one blob read. */
  async length(): Promise<number> {
    const node = await this.slot.read();
    return node === undefined ? 0 : readLength(this.slot.ctx, node);
  }

  private async decode(elems: readonly Elem[]): Promise<LogEntry<T>[]> {
    const { ctx } = this.slot;
    return Promise.all(
      elems.map(async ([key, child]) => {
        if (child.kind !== "contents") throw corrupt(`log entry ${key} is a directory`);
        return { value: this.contents.decode(await ctx.contentsBytes(child)), time: keyTime(key).wall };
      }),
    );
  }
}

interface Root {
  readonly top: Top;
  readonly length: number;
  /** The newest key, undefined for an empty log. */
  readonly last: string | undefined;
}

const EMPTY: Root = { top: { elems: [], height: 0 }, length: 0, last: undefined };

/** The log subtree `node` (undefined: an empty log) read and checked down its rightmost path. O(log n) reads. */
async function readRoot(ctx: TreeContext, node: Node | undefined): Promise<Root> {
  if (node === undefined) return EMPTY;
  const entries = await ctx.load(node);
  const elems = checkedElems(entries, undefined, (name) => name === TYPE_ENTRY || name === LENGTH);
  const [{ height, last }, length] = await Promise.all([rightmost(ctx, elems), readLength(ctx, node)]);
  return { top: { elems, height }, length, last };
}

async function readLength(ctx: TreeContext, node: Node): Promise<number> {
  const text = await leafText(ctx, node, LENGTH);
  if (text === undefined || !/^(0|[1-9][0-9]{0,15})$/.test(text)) throw corrupt(`a log's length is ${JSON.stringify(text?.slice(0, 40))}, not a count`);
  return Number(text);
}

function logNode(ctx: TreeContext, top: Top, length: number): Node {
  const entries = new Map(top.elems);
  entries.set(LENGTH, textLeaf(ctx, String(length)));
  return typedNode(ctx, "log", entries);
}

/**
 * The merge of logs: every entry of either side, once (the union; a log never loses entries, so the
 * ancestor is not needed). Walks only the subtrees where `a` and `b` differ and inserts the smaller
 * side's extra entries into the other; the result is the same tree either way. Cost: O(d · log n)
 * reads and writes for d differing entries.
 */
export async function mergeLogs(ctx: TreeContext, _old: Node | undefined, a: Node, b: Node): Promise<Node> {
  const [ra, rb] = await Promise.all([readRoot(ctx, a), readRoot(ctx, b)]);
  const d = await difference(ctx, ra.top, rb.top);
  const intoA = estimate(d.b) <= estimate(d.a);
  const base = intoA ? ra : rb;
  const items = await expandAll(ctx, intoA ? d.b : d.a);
  const count = { added: 0 };
  const top = await insertItems(ctx, base.top, items, count);
  if (top === undefined) return intoA ? a : b;
  return logNode(ctx, top, base.length + count.added);
}

/** @internal For tests and tools: the log subtree holding exactly `items` (sorted by key, distinct), built from scratch. */
export async function buildLogNode(ctx: TreeContext, items: readonly Item[]): Promise<Node | undefined> {
  const count = { added: 0 };
  const top = await insertItems(ctx, EMPTY.top, items, count);
  return top === undefined ? undefined : logNode(ctx, top, count.added);
}

/** @internal For tests and tools: every entry of the log subtree `node` (undefined: empty), oldest first, and the tree's height. O(n). */
export async function logItems(ctx: TreeContext, node: Node | undefined): Promise<{ items: Item[]; height: number }> {
  const root = await readRoot(ctx, node);
  const elems = await newestEntries(ctx, root.top, undefined, Infinity);
  const items = elems.reverse().map(([key, child]): Item => {
    if (child.kind !== "contents") throw corrupt(`log entry ${key} is a directory`);
    return { key, child };
  });
  return { items, height: root.top.height };
}
