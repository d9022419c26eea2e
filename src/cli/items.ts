/**
 * What `tree`, `diff` and `watch` show of a snapshot: its items, each a value, a data type summed
 * up as one item (its internal entries are never shown), or a blob that is not UTF-8 (written by
 * git or another program), shown as binary instead of failing the whole listing.
 */
import { IrminError, isIrminError } from "../core/errors.js";
import { formatPath, type Path } from "../core/path.js";
import { typeOf, type DataTypeName } from "../datatypes/marker.js";
import { compareNames, isGitlink, type Child, type ContentsChild, type Node } from "../tree/node.js";
import type { Tree } from "../tree/tree.js";
import { displayPath, formatValue } from "./io.js";
import { dataTypesIn, type SnapshotTypes } from "./snapshot-types.js";

/** How one item is shown: `json` with `--json`, `text` after `path = ` otherwise. */
export interface Shown {
  /**
   * The value (a string); a data type's summary `{ type, value }` (a counter's value a bigint,
   * printed with its exact digits) or `{ type, length }`; a binary blob's `{ type: "binary", length, base64 }`.
   */
  readonly json: unknown;
  /** One line: the value (quoted when needed, see `formatValue`), `<counter 5>`, `<binary 3 bytes>`. */
  readonly text: string;
}

/** One item of a snapshot and its path. */
export interface Item extends Shown {
  readonly path: Path;
}

/** A changed item between two snapshots (`before` absent: added; `after` absent: removed). */
export interface ItemChange {
  readonly path: Path;
  readonly kind: "added" | "removed" | "updated";
  readonly before?: Shown;
  readonly after?: Shown;
}

/**
 * How `tree` shows a data type: `<counter 5>`, `<register VALUE>`, `<text VALUE>` (values quoted
 * when needed), `<set 3 elements>`, `<queue 1 element>`, `<log 12 entries>`; JSON `{ type, value }`
 * or `{ type, length }`. A data type that cannot be read (CORRUPT, or UNSUPPORTED: an older format)
 * is `<queue unreadable: why>`, JSON `{ type, error }`, so that a listing goes on. Cost: O(1) for a
 * counter, register, log or queue, O(n) for a text or a set.
 */
export async function dataTypeSummary(types: SnapshotTypes, path: Path, type: DataTypeName): Promise<Shown> {
  try {
    return await summarize(types, path, type);
  } catch (e) {
    if (!isIrminError(e, "CORRUPT") && !isIrminError(e, "UNSUPPORTED")) throw e;
    return { json: { type, error: e.message }, text: `<${type} unreadable: ${formatValue(e.message)}>` };
  }
}

async function summarize(types: SnapshotTypes, path: Path, type: DataTypeName): Promise<Shown> {
  const scalar = (value: bigint | string) => ({ json: { type, value }, text: `<${type} ${typeof value === "bigint" ? value : formatValue(value)}>` });
  const sized = (length: number, one: string, many: string) => ({ json: { type, length }, text: `<${type} ${length} ${length === 1 ? one : many}>` });
  switch (type) {
    case "counter":
      return scalar(await types.counterValue(path));
    case "register":
      return scalar((await types.register(path).get()) ?? "");
    case "text":
      return scalar(await types.text(path).toString());
    case "set":
      return sized((await types.setOf(path).values()).length, "element", "elements");
    case "queue":
      return sized(await types.queue(path).length(), "element", "elements");
    case "log":
      return sized(await types.log(path).length(), "entry", "entries");
  }
}

/** How a blob that is not valid UTF-8 is shown: `<binary 3 bytes>`, JSON `{ type: "binary", length, base64 }`. */
export function binaryShown(bytes: Uint8Array): Shown {
  const length = bytes.length;
  return { json: { type: "binary", length, base64: Buffer.from(bytes).toString("base64") }, text: `<binary ${length} ${length === 1 ? "byte" : "bytes"}>` };
}

/** A value as shown: the string (quoted when needed), or {@link binaryShown} when the blob is not valid UTF-8. One blob read. */
export async function showLeaf(tree: Tree<string>, child: ContentsChild): Promise<Shown> {
  const bytes = await tree.ctx.contentsBytes(child);
  let value: string;
  try {
    value = tree.codec.decode(bytes);
  } catch (e) {
    if (isIrminError(e, "CORRUPT")) return binaryShown(bytes);
    throw e;
  }
  return { json: value, text: formatValue(value) };
}

/** `child`, or `undefined` for a gitlink (a submodule's commit): not a value of the store, as in the library. */
export function shown(child: Child | undefined): Child | undefined {
  return isGitlink(child) ? undefined : child;
}

/** The entry at `path` in `tree` (the root for `[]`, as a directory), or `undefined`. One node read per segment. */
export async function childAt(tree: Tree<string>, path: Path): Promise<Child | undefined> {
  let child: Child = { kind: "node", node: tree.node };
  for (const name of path) {
    if (child.kind !== "node") return undefined;
    const next = shown((await tree.ctx.load(child.node)).get(name));
    if (next === undefined) return undefined;
    child = next;
  }
  return child;
}

/**
 * Every item at or under `path` in `tree`, depth first in name order, a data type as one item;
 * `undefined` when nothing is there (an empty directory other than the root is nothing). Loads that
 * whole subtree, except inside data types, where a summary costs what {@link dataTypeSummary} says.
 */
export async function itemsAt(tree: Tree<string>, path: Path): Promise<Item[] | undefined> {
  const child = await childAt(tree, path);
  if (child === undefined) return undefined;
  const out: Item[] = [];
  await collect(tree, dataTypesIn(tree), child, path, out);
  return out.length === 0 && path.length > 0 ? undefined : out;
}

async function collect(tree: Tree<string>, types: SnapshotTypes, child: Child, path: Path, out: Item[]): Promise<void> {
  if (child.kind === "contents") {
    out.push({ path, ...(await showLeaf(tree, child)) });
    return;
  }
  const { ctx } = tree;
  // The root is never a data type (a type needs a path), whatever it holds.
  const type = path.length === 0 ? undefined : await typeOf(ctx, child.node);
  if (type !== undefined) {
    out.push({ path, ...(await dataTypeSummary(types, path, type)) });
    return;
  }
  const entries = await ctx.load(child.node);
  for (const name of child.node.names()) {
    const entry = shown(entries.get(name));
    if (entry !== undefined) await collect(tree, types, entry, [...path, name], out);
  }
}

/**
 * What changed from `a` to `b` (two snapshots of one repository), item by item, sorted by path: a
 * data type changed in any way is one `updated` item with both summaries; a value that became a
 * directory (or a data type, or the other way round) is the old items removed, then the new ones
 * added. Subtrees with equal hashes are skipped unread, so the cost grows with the differences.
 */
export async function diffItems(a: Tree<string>, b: Tree<string>): Promise<ItemChange[]> {
  if (a.ctx !== b.ctx) throw new IrminError("INVALID_ARGUMENT", "diffItems compares two snapshots of one repository");
  const out: ItemChange[] = [];
  await diffNodes({ tree: a, types: dataTypesIn(a) }, { tree: b, types: dataTypesIn(b) }, a.node, b.node, [], out);
  return out;
}

interface Side {
  readonly tree: Tree<string>;
  readonly types: SnapshotTypes;
}

async function diffNodes(a: Side, b: Side, x: Node, y: Node, path: Path, out: ItemChange[]): Promise<void> {
  const { ctx } = a.tree;
  if (x === y || (await ctx.hashNode(x)) === (await ctx.hashNode(y))) return;
  const [tx, ty] = path.length === 0 ? [undefined, undefined] : await Promise.all([typeOf(ctx, x), typeOf(ctx, y)]);
  if (tx !== undefined && tx === ty) {
    out.push({ path, kind: "updated", before: await dataTypeSummary(a.types, path, tx), after: await dataTypeSummary(b.types, path, ty) });
    return;
  }
  if (tx !== undefined || ty !== undefined) return replaced(a, b, { kind: "node", node: x }, { kind: "node", node: y }, path, out);
  const [ex, ey] = await Promise.all([ctx.load(x), ctx.load(y)]);
  const names = [...new Set([...ex.keys(), ...ey.keys()])].sort(compareNames);
  for (const name of names) await diffChild(a, b, shown(ex.get(name)), shown(ey.get(name)), [...path, name], out);
}

async function diffChild(a: Side, b: Side, x: Child | undefined, y: Child | undefined, path: Path, out: ItemChange[]): Promise<void> {
  if (x?.kind === "node" && y?.kind === "node") return diffNodes(a, b, x.node, y.node, path, out);
  if (x?.kind === "contents" && y?.kind === "contents") {
    if (x.hash !== y.hash || x.mode !== y.mode) out.push({ path, kind: "updated", before: await showLeaf(a.tree, x), after: await showLeaf(b.tree, y) });
    return;
  }
  return replaced(a, b, x, y, path, out);
}

/** Everything under `x` removed, then everything under `y` added (either may be absent). */
async function replaced(a: Side, b: Side, x: Child | undefined, y: Child | undefined, path: Path, out: ItemChange[]): Promise<void> {
  const removed: Item[] = [];
  const added: Item[] = [];
  if (x !== undefined) await collect(a.tree, a.types, x, path, removed);
  if (y !== undefined) await collect(b.tree, b.types, y, path, added);
  for (const { path: p, json, text } of removed) out.push({ path: p, kind: "removed", before: { json, text } });
  for (const { path: p, json, text } of added) out.push({ path: p, kind: "added", after: { json, text } });
}

/** A change as `--json` prints it: `{ path: "a/b", kind, before?, after? }`, values as in `tree --json`. */
export function changeJson(c: ItemChange): { path: string; kind: string; before?: unknown; after?: unknown } {
  return { path: formatPath(c.path), kind: c.kind, ...(c.before !== undefined && { before: c.before.json }), ...(c.after !== undefined && { after: c.after.json }) };
}

/** A change as one text line: `+ path = value`, `- path = old value`, `~ path = new value (was: old value)`, values as `tree` shows them. */
export function changeLine(c: ItemChange): string {
  const path = displayPath(c.path);
  if (c.kind === "added") return `+ ${path} = ${c.after!.text}`;
  if (c.kind === "removed") return `- ${path} = ${c.before!.text}`;
  return `~ ${path} = ${c.after!.text} (was: ${c.before!.text})`;
}
