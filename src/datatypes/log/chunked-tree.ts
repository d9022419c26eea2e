/**
 * The content-defined chunked tree behind the log (a prolly tree / Merkle search tree over Git
 * trees). Entries are blobs named by their key; a node at level L > 0 is a Git tree whose entries
 * are its children (level L − 1 nodes), each named by its first key. The level-L nodes split the
 * sorted keys before every key (except the very first) whose rank is greater than L; the root is
 * the single node of the lowest level with no such split. So the shape is a function of the set of
 * keys alone (history independence): whichever order entries arrive in, and whichever way branches
 * are merged, equal logs are equal trees with equal hashes.
 *
 * Every function here works on sorted `[name, child]` lists; nothing is written (new nodes are in
 * memory until the commit writes them).
 */
import { corrupt } from "../../core/errors.js";
import { compareNames, Node, type Child, type ContentsChild, type TreeContext } from "../../tree/node.js";
import { isKey, keyRank, MAX_RANK } from "./keys.js";

/** One entry of a node: an entry (blob, level 0) or a child node (level > 0), named by its (first) key. */
export type Elem = readonly [name: string, child: Child];

/** A log entry: its key and its blob. */
export interface Item {
  readonly key: string;
  readonly child: ContentsChild;
}

/** The top of a tree: the root node's sorted entries and its level (0: the root holds the entries). */
export interface Top {
  readonly elems: readonly Elem[];
  readonly height: number;
}

/** Deepest level a stored log may claim; deeper is CORRUPT (the writer never goes past MAX_RANK). */
const MAX_HEIGHT = MAX_RANK;

function byName(x: Elem, y: Elem): number {
  return compareNames(x[0], y[0]);
}

/**
 * The sorted entries of a level-`level` node, checked: every name a key, blobs at level 0 and trees
 * above (with `level` undefined: all of one kind, whichever). CORRUPT otherwise, including an empty
 * stored node. One read at most (cached).
 */
export async function nodeElems(ctx: TreeContext, node: Node, level: number | undefined): Promise<Elem[]> {
  const entries = await ctx.load(node);
  if (entries.size === 0) throw corrupt("an empty node in a log tree");
  return checkedElems(entries, level);
}

/** `entries` as sorted elems, checked like {@link nodeElems}; names `skip` accepts are left out. */
export function checkedElems(entries: Iterable<[string, Child]>, level: number | undefined, skip?: (name: string) => boolean): Elem[] {
  const out: Elem[] = [];
  let leaves: boolean | undefined = level === undefined ? undefined : level === 0;
  for (const [name, child] of entries) {
    if (skip?.(name) === true) continue;
    if (!isKey(name)) throw corrupt(`unexpected entry ${JSON.stringify(name.slice(0, 40))} in a log tree`);
    leaves ??= child.kind === "contents";
    if ((child.kind === "contents") !== leaves) {
      throw corrupt(`log tree entry ${name} is a ${child.kind === "node" ? "directory" : "value"} where ${leaves ? "values" : "directories"} are`);
    }
    out.push([name, child]);
  }
  return out.sort(byName);
}

/**
 * The level of a root whose entries are `elems` (sorted, of one kind), found by walking the
 * rightmost path down to the entries; also gives the newest key. One read per level: the path an
 * append rewrites, so its nodes are cached for it.
 */
export async function rightmost(ctx: TreeContext, elems: readonly Elem[]): Promise<{ height: number; last: string | undefined }> {
  let height = 0;
  let cur = elems;
  while (cur.length > 0) {
    const child = cur[cur.length - 1][1];
    if (child.kind !== "node") break;
    if (++height > MAX_HEIGHT) throw corrupt(`a log tree deeper than ${MAX_HEIGHT + 1} levels`);
    cur = await nodeElems(ctx, child.node, undefined);
  }
  return { height, last: cur.length > 0 ? cur[cur.length - 1][0] : undefined };
}

/** A node from sorted elems (a new in-memory tree). */
function nodeOf(elems: readonly Elem[]): Child {
  return { kind: "node", node: Node.fromEntries(new Map(elems)) };
}

/** `elems` (the entries of level-`level` nodes in key order) cut into level-`level` nodes. */
function chunk(elems: readonly Elem[], level: number): Elem[][] {
  const out: Elem[][] = [];
  let cur: Elem[] = [];
  for (let i = 0; i < elems.length; i++) {
    if (i > 0 && keyRank(elems[i][0]) > level) {
      out.push(cur);
      cur = [];
    }
    cur.push(elems[i]);
  }
  if (cur.length > 0) out.push(cur);
  return out;
}

/** How many keys an insertion added (replacing a blob under an existing key does not count). */
export interface InsertCount {
  added: number;
}

/**
 * The tree with `items` (sorted by key, distinct keys) added to `top`; `undefined` when that
 * changes nothing. Only the nodes on the paths to the new keys are read and rebuilt: O(m·log n)
 * reads for m scattered keys, O(m + log n) for m keys past the newest (an append). A key already
 * present keeps the blob with the greater id, so both sides of a merge pick the same one.
 */
export async function insertItems(ctx: TreeContext, top: Top, items: readonly Item[], count: InsertCount): Promise<Top | undefined> {
  if (items.length === 0) return undefined;
  let chunks = await insertInto(ctx, top.elems, top.height, items, count);
  if (chunks === undefined) return undefined;
  let height = top.height;
  while (chunks.length > 1) {
    height++;
    chunks = chunk(
      chunks.map((c) => [c[0][0], nodeOf(c)] as const),
      height,
    );
  }
  return { elems: chunks[0] ?? [], height };
}

async function insertInto(ctx: TreeContext, elems: readonly Elem[], level: number, items: readonly Item[], count: InsertCount): Promise<Elem[][] | undefined> {
  const next = level === 0 ? mergeEntries(elems, items, count) : await insertIntoChildren(ctx, elems, level, items, count);
  return next === undefined ? undefined : chunk(next, level);
}

/** Level 0: the sorted union of the node's entries and `items`, or `undefined` when unchanged. */
function mergeEntries(elems: readonly Elem[], items: readonly Item[], count: InsertCount): Elem[] | undefined {
  const out: Elem[] = [];
  let changed = false;
  let i = 0;
  let j = 0;
  while (i < elems.length || j < items.length) {
    if (j === items.length) out.push(elems[i++]);
    else if (i === elems.length || items[j].key < elems[i][0]) {
      out.push([items[j].key, items[j].child]);
      j++;
      count.added++;
      changed = true;
    } else if (items[j].key > elems[i][0]) out.push(elems[i++]);
    else {
      const have = elems[i][1];
      const item = items[j].child;
      if (have.kind === "contents" && item.hash > have.hash) {
        out.push([items[j].key, item]);
        changed = true;
      } else out.push(elems[i]);
      i++;
      j++;
    }
  }
  return changed ? out : undefined;
}

/** Level > 0: each child gets the items of its key range ([its name, the next name)); the first also gets those before it. */
async function insertIntoChildren(ctx: TreeContext, elems: readonly Elem[], level: number, items: readonly Item[], count: InsertCount): Promise<Elem[] | undefined> {
  const out: Elem[] = [];
  let changed = false;
  let j = 0;
  for (let i = 0; i < elems.length; i++) {
    const start = j;
    const limit = i + 1 < elems.length ? elems[i + 1][0] : undefined;
    while (j < items.length && (limit === undefined || items[j].key < limit)) j++;
    const [name, child] = elems[i];
    if (j === start) {
      out.push(elems[i]);
      continue;
    }
    if (child.kind !== "node") throw corrupt(`log tree entry ${name} is a value at level ${level}`);
    const sub = await insertInto(ctx, await nodeElems(ctx, child.node, level - 1), level - 1, items.slice(start, j), count);
    if (sub === undefined) {
      out.push(elems[i]);
      continue;
    }
    changed = true;
    for (const c of sub) out.push([c[0][0], nodeOf(c)]);
  }
  return changed ? out : undefined;
}
