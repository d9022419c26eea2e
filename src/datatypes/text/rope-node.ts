/**
 * The stored shape of a rope. The text's subtree (the one with the `.irmin-type` marker) holds the
 * top level of items; an item is a leaf (a blob holding a chunk of the text as UTF-8) or an inner
 * node (a Git tree holding the items of the level below). Every entry is named `<index>-<length>`:
 * its position among its siblings (two decimal digits, so Git's name order is the text order) and
 * the number of UTF-16 code units under it, so an edit or a read descends by position reading one
 * tree per level and no leaf it does not need.
 */
import { corrupt } from "../../core/errors.js";
import { MODE_FILE } from "../../codec/tree.js";
import { encodeUtf8 } from "../../codec/utf8.js";
import { contentsChild, Node, type Child, type TreeContext } from "../../tree/node.js";
import { TYPE_ENTRY, typedNode } from "../marker.js";
import { MAX_FANOUT } from "./chunking.js";

/** One entry of a level: a leaf blob or an inner node, with the UTF-16 length of its text. */
export interface Item {
  readonly child: Child;
  readonly length: number;
}

const NAME = /^([0-9]{2})-(0|[1-9][0-9]{0,15})$/;
const decoder = new TextDecoder("utf-8", { fatal: true });

// Parsed items per entries map and decoded text per leaf child. Both key immutable objects: a
// stored tree's entries (shared through the context's cache, never changed) or a node or leaf this
// module built (never owned by a builder, so never changed in place). They save re-parsing the same
// nodes and re-decoding the same leaf on every edit of a run of edits.
// A parse made while the node was in memory holds its leaves' pending bytes; once the node is
// written those leaves must not be handed out again (they would be written a second time).
interface Parsed {
  readonly items: Item[];
  readonly pending: boolean;
}
const parsedTop = new WeakMap<Map<string, Child>, Parsed>();
const parsedInner = new WeakMap<Map<string, Child>, Parsed>();

function remember(memo: WeakMap<Map<string, Child>, Parsed>, entries: Map<string, Child>, items: Item[]): void {
  memo.set(entries, { items, pending: items.some((i) => i.child.kind === "contents" && i.child.pending !== undefined) });
}
const leafTexts = new WeakMap<Child, string>();

/** The entry name of the item at `index` holding `length` code units. */
export function itemName(index: number, length: number): string {
  return `${index < 10 ? "0" : ""}${index}-${length}`;
}

/**
 * The items of a stored directory (an inner node, or the text's own subtree when `typed`), in text
 * order. Reads the node (one read at most). CORRUPT when an entry is not a rope entry, when indexes
 * are not 0..n-1, or when leaves and subtrees are mixed.
 */
export async function loadItems(ctx: TreeContext, node: Node, typed: boolean): Promise<Item[]> {
  const entries = await ctx.load(node);
  const memo = typed ? parsedTop : parsedInner;
  const known = node.owner === undefined ? memo.get(entries) : undefined;
  if (known !== undefined && !(known.pending && node.stored)) return known.items;
  const items: Item[] = [];
  let kind: Child["kind"] | undefined;
  for (const name of node.names()) {
    if (typed && name === TYPE_ENTRY) continue;
    const m = NAME.exec(name);
    const child = entries.get(name)!;
    if (m === null || Number(m[1]) !== items.length) throw corrupt(`text: unexpected entry ${JSON.stringify(name)} in a rope node`);
    if (kind !== undefined && child.kind !== kind) throw corrupt("text: a rope node mixes leaves and subtrees");
    if (child.kind === "contents" && child.mode !== MODE_FILE) throw corrupt(`text: rope leaf ${name} is not a plain file`);
    kind = child.kind;
    const length = Number(m[2]);
    if (!Number.isSafeInteger(length) || (length === 0 && !typed)) throw corrupt(`text: rope entry ${name} has a bad length`);
    items.push({ child, length });
  }
  if (!typed && (items.length === 0 || items.length > MAX_FANOUT)) throw corrupt(`text: a rope node has ${items.length} entries`);
  if (node.owner === undefined) remember(memo, entries, items);
  return items;
}

/** The items of the inner node item `item`; CORRUPT when it is a leaf or its lengths do not add up. */
export async function childItems(ctx: TreeContext, item: Item): Promise<Item[]> {
  if (item.child.kind !== "node") throw corrupt("text: expected a rope subtree, found a leaf");
  const items = await loadItems(ctx, item.child.node, false);
  if (sumLengths(items, 0, items.length) !== item.length) throw corrupt("text: a rope subtree's length does not match its entries");
  return items;
}

/** The text of the leaf item `item`; CORRUPT when it is a subtree, not UTF-8, or not `item.length` long. */
export async function leafString(ctx: TreeContext, item: Item): Promise<string> {
  if (item.child.kind !== "contents") throw corrupt("text: expected a rope leaf, found a subtree");
  const known = leafTexts.get(item.child);
  if (known !== undefined && known.length === item.length) return known;
  let s: string;
  try {
    s = decoder.decode(await ctx.contentsBytes(item.child));
  } catch (e) {
    throw corrupt("text: a rope leaf is not UTF-8", e);
  }
  if (s.length !== item.length) throw corrupt(`text: a rope leaf holds ${s.length} code units, its entry says ${item.length}`);
  leafTexts.set(item.child, s);
  return s;
}

/** A new leaf item holding `s` (non-empty, well-formed). */
export function leafItem(ctx: TreeContext, s: string): Item {
  const child = contentsChild(ctx, encodeUtf8(s));
  leafTexts.set(child, s);
  return { child, length: s.length };
}

/** A new inner node item holding `items` (1..{@link MAX_FANOUT} of them). */
export function nodeItem(items: readonly Item[]): Item {
  const entries = new Map<string, Child>();
  let length = 0;
  for (let i = 0; i < items.length; i++) {
    entries.set(itemName(i, items[i].length), items[i].child);
    length += items[i].length;
  }
  remember(parsedInner, entries, [...items]);
  return { child: { kind: "node", node: Node.fromEntries(entries) }, length };
}

/** The text's subtree holding `top` (the top level) and the marker. */
export function textNode(ctx: TreeContext, top: readonly Item[]): Node {
  const entries = new Map<string, Child>();
  for (let i = 0; i < top.length; i++) entries.set(itemName(i, top[i].length), top[i].child);
  remember(parsedTop, entries, [...top]);
  return typedNode(ctx, "text", entries);
}

/** Sum of the lengths of `items[from..to)`. */
export function sumLengths(items: readonly Item[], from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) n += items[i].length;
  return n;
}

/** The Git id of an item (hashing, not writing, an inner node built in memory). */
export async function itemHash(ctx: TreeContext, item: Item): Promise<string> {
  return item.child.kind === "contents" ? item.child.hash : ctx.hashNode(item.child.node);
}

/** Height of a level whose items are `items`: 0 for leaves. Reads one node per level (leftmost path). */
export async function levelHeight(ctx: TreeContext, items: readonly Item[]): Promise<number> {
  let h = 0;
  let level = items;
  while (level.length > 0 && level[0].child.kind === "node") {
    level = await childItems(ctx, level[0]);
    h++;
    if (h > 64) throw corrupt("text: a rope deeper than 64 levels");
  }
  return h;
}

/** The text of every leaf under `items`, appended to `out` in order. O(size) reads. */
export async function collectText(ctx: TreeContext, items: readonly Item[], out: string[]): Promise<void> {
  for (const item of items) {
    if (item.child.kind === "contents") out.push(await leafString(ctx, item));
    else await collectText(ctx, await childItems(ctx, item), out);
  }
}

/**
 * The code units `[start, end)` of the text under `items` (which starts at offset 0), appended to
 * `out`. Reads only the nodes and leaves overlapping the range: O(height + range / leaf size).
 */
export async function collectRange(ctx: TreeContext, items: readonly Item[], start: number, end: number, out: string[]): Promise<void> {
  let at = 0;
  for (const item of items) {
    const next = at + item.length;
    if (next > start && at < end) {
      if (item.child.kind === "contents") {
        const s = await leafString(ctx, item);
        out.push(s.slice(Math.max(0, start - at), Math.min(item.length, end - at)));
      } else if (start <= at && next <= end) {
        await collectText(ctx, await childItems(ctx, item), out);
      } else {
        await collectRange(ctx, await childItems(ctx, item), start - at, end - at, out);
      }
    }
    if (next >= end) break;
    at = next;
  }
}
