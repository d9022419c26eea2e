/**
 * How a data type describes itself in the tree (DESIGN.md invariant 4): its subtree holds an entry
 * named {@link TYPE_ENTRY} whose blob names the type, so a branch merge or a pull finds the right
 * merge with no schema. The marker blob of a type is the same bytes everywhere, hence the same hash:
 * recognising a type costs one map lookup, not a read.
 */
import { invalidArgument, IrminError } from "../core/errors.js";
import type { Hash, HashAlgorithm } from "../core/hash.js";
import { hashObject } from "../codec/object.js";
import { MODE_FILE } from "../codec/tree.js";
import { Node, type Child, type TreeContext } from "../tree/node.js";

/** The name of the marker entry in a data type's subtree (a directory holding a known marker there belongs to its type). */
export const TYPE_ENTRY = ".irmin-type";

/** The names of the built-in data types. */
export type DataTypeName = "counter" | "register" | "set" | "log" | "queue" | "text";

const encoder = new TextEncoder();

/**
 * The format version of each type's layout, written in its marker. A layout change bumps it; the
 * older markers stay recognised (so that the type is still named in errors and merges dispatch to
 * it) and reading such a subtree is UNSUPPORTED (see {@link expectType}).
 */
export const TYPE_VERSIONS: Readonly<Record<DataTypeName, number>> = { counter: 1, register: 1, set: 1, log: 1, queue: 2, text: 1 };

/** The marker blob's bytes for `type` at `version` (default: the current one). */
export function markerBytes(type: DataTypeName, version: number = TYPE_VERSIONS[type]): Uint8Array {
  return encoder.encode(`irmin-ts ${type} ${version}\n`);
}

interface Marked {
  readonly type: DataTypeName;
  readonly version: number;
}

const markerHashes = new Map<HashAlgorithm, Map<Hash, Marked>>();
const ALL_TYPES: readonly DataTypeName[] = ["counter", "register", "set", "log", "queue", "text"];

function typesByHash(algorithm: HashAlgorithm): Map<Hash, Marked> {
  let m = markerHashes.get(algorithm);
  if (m === undefined) {
    m = new Map();
    for (const type of ALL_TYPES) {
      for (let version = 1; version <= TYPE_VERSIONS[type]; version++) m.set(hashObject(algorithm, "blob", markerBytes(type, version)), { type, version });
    }
    markerHashes.set(algorithm, m);
  }
  return m;
}

// Marker entries by algorithm and type: hashed once per process, not once per new subtree.
const markerChildren = new Map<string, Child>();

/** The marker entry of `type`, to put at {@link TYPE_ENTRY} in the type's subtree (the same immutable entry every time). */
export function markerChild(ctx: TreeContext, type: DataTypeName): Child {
  const key = `${ctx.algorithm} ${type}`;
  let child = markerChildren.get(key);
  if (child === undefined) {
    const bytes = markerBytes(type);
    child = { kind: "contents", mode: MODE_FILE, hash: hashObject(ctx.algorithm, "blob", bytes), pending: bytes };
    markerChildren.set(key, child);
  }
  return child;
}

/**
 * Whether `entries` are a data type's subtree: a marker of a known type (any format version) at
 * {@link TYPE_ENTRY}. Synchronous (for `TreeContext.ownedSubtree`).
 */
export function isDataTypeEntries(algorithm: HashAlgorithm, entries: ReadonlyMap<string, Child>): boolean {
  const marker = entries.get(TYPE_ENTRY);
  return marker !== undefined && marker.kind === "contents" && typesByHash(algorithm).has(marker.hash);
}

/**
 * The data type `node` describes itself as (in any format version), or `undefined` for a plain
 * directory. Loads `node` (one read at most).
 */
export async function typeOf(ctx: TreeContext, node: Node): Promise<DataTypeName | undefined> {
  return (await markedAs(ctx, node))?.type;
}

async function markedAs(ctx: TreeContext, node: Node): Promise<Marked | undefined> {
  const marker = (await ctx.load(node)).get(TYPE_ENTRY);
  if (marker === undefined || marker.kind !== "contents") return undefined;
  return typesByHash(ctx.algorithm).get(marker.hash);
}

/**
 * `node` when it is a `type` subtree (or `undefined` when absent); INVALID_ARGUMENT when something
 * else is there, so that a queue is never read or overwritten as a counter; UNSUPPORTED when it is
 * a `type` of an older format version.
 */
export async function expectType(ctx: TreeContext, node: Node | undefined, type: DataTypeName, where: string): Promise<Node | undefined> {
  if (node === undefined) return undefined;
  const actual = await markedAs(ctx, node);
  if (actual?.type === type) {
    if (actual.version === TYPE_VERSIONS[type]) return node;
    throw new IrminError("UNSUPPORTED", `${where} is a ${type} stored in format version ${actual.version} (by an older irmin-ts); this version reads version ${TYPE_VERSIONS[type]} only`);
  }
  throw invalidArgument(actual === undefined ? `${where} is a directory, not a ${type}` : `${where} is a ${actual.type}, not a ${type}`);
}

/**
 * A new `type` subtree with `entries` (taken, not copied) plus the marker. Pass the `previous`
 * version of the subtree when there is one: its marker entry is reused, so the marker blob is not
 * written again with every operation.
 */
export function typedNode(ctx: TreeContext, type: DataTypeName, entries: Map<string, Child>, previous?: Node): Node {
  const stored = previous?.entries?.get(TYPE_ENTRY);
  entries.set(TYPE_ENTRY, stored ?? markerChild(ctx, type));
  return Node.fromEntries(entries);
}
