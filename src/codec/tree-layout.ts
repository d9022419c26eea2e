/**
 * Tree bodies of trusted entries, with where each entry sits, so that a tree in which a few
 * entries changed is encoded by splicing its previous bytes instead of writing every entry again.
 * A commit that changes one entry of a directory of n entries then costs O(log n) comparisons and
 * one O(n) copy of bytes and references, instead of n entry encodings (measured on the store
 * bench: re-encoding its 1,000-entry directory was a sixth of a commit's time).
 *
 * "Trusted" entries are taken as they are, without `encodeTree`'s checks (for entries known valid
 * they were most of a commit's cost in a large directory): names unique, accepted by Git,
 * well-formed UTF-16 and without `rawName`; modes valid, trees as `"40000"`; ids lower-case hex.
 */
import { digestLength, writeHex, type HashAlgorithm } from "../core/hash.js";
import { compareTreeEntryNames, MODE_TREE, type TreeEntry } from "./tree.js";
import { utf8Length } from "./utf8.js";

/** A tree object's body and where its entries are. */
export interface TreeLayout {
  /** The body (what is hashed after the `tree <size>\0` header). */
  readonly data: Uint8Array;
  /** The entries' names, in stored (Git) order. */
  readonly names: readonly string[];
  /** 1 where the entry is a tree (Git orders a tree's name as if it ended in `"/"`), else 0. */
  readonly trees: Uint8Array;
  /** Where each entry starts in `data`, then `data.length` (n + 1 values). */
  readonly offsets: Uint32Array;
}

/** One change to splice into a layout. */
export interface TreeChange {
  /** The entry's name. */
  readonly name: string;
  /** Whether the entry is a tree in the base layout; `undefined` when the base has no such entry. */
  readonly wasTree: boolean | undefined;
  /** What the entry becomes; `undefined` removes it. */
  readonly entry: TreeEntry | undefined;
}

const utf8 = new TextEncoder();

/** An upper bound of the bytes `e` takes in a tree body. */
function entryBound(e: TreeEntry, idLength: number): number {
  return e.mode.length + e.name.length * 3 + 2 + idLength;
}

/** Writes `e` at `pos` in `out` (room checked by the caller); returns the position after it. */
function writeEntry(e: TreeEntry, out: Uint8Array, pos: number, idLength: number): number {
  const mode = e.mode;
  for (let i = 0; i < mode.length; i++) out[pos++] = mode.charCodeAt(i);
  out[pos++] = 0x20;
  const name = e.name;
  let ascii = true;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c >= 0x80) {
      ascii = false;
      break;
    }
    out[pos + i] = c;
  }
  // Most names are ASCII: written above without an encoder call; the others through TextEncoder.
  pos += ascii ? name.length : utf8.encodeInto(name, out.subarray(pos)).written;
  out[pos++] = 0;
  writeHex(e.hash, out, pos);
  return pos + idLength;
}

/**
 * The layout of the tree holding the trusted `entries` (see the module comment), in Git's order
 * whatever their order here. Sorts `entries` in place (entries read from Git, or a copied tree
 * with one changed entry, are checked sorted in O(n) and not sorted again).
 */
export function encodeTreeLayout(entries: TreeEntry[], algorithm: HashAlgorithm): TreeLayout {
  const idLength = digestLength(algorithm);
  const order = (a: TreeEntry, b: TreeEntry) => compareTreeEntryNames(a.name, a.mode === MODE_TREE, b.name, b.mode === MODE_TREE);
  let sorted = true;
  for (let i = 1; i < entries.length && sorted; i++) sorted = order(entries[i - 1], entries[i]) < 0;
  if (!sorted) entries.sort(order);
  let bound = 0;
  for (const e of entries) bound += entryBound(e, idLength);
  const out = new Uint8Array(bound);
  const n = entries.length;
  const names = new Array<string>(n);
  const trees = new Uint8Array(n);
  const offsets = new Uint32Array(n + 1);
  let pos = 0;
  for (let k = 0; k < n; k++) {
    const e = entries[k];
    names[k] = e.name;
    trees[k] = e.mode === MODE_TREE ? 1 : 0;
    offsets[k] = pos;
    pos = writeEntry(e, out, pos, idLength);
  }
  offsets[n] = pos;
  return { data: pos === bound ? out : out.slice(0, pos), names, trees, offsets };
}

/**
 * The layout of a tree body read from the store (`data`), whose entries are `names` in stored
 * order, `trees` marking the subtrees (as decoded, for instance, by `decodeTree`, with no raw
 * name): where each entry sits is found with one scan, and `data` is kept, not copied. Undefined
 * unless `data` holds exactly those names, in that order.
 */
export function treeLayoutOf(data: Uint8Array, names: readonly string[], trees: Uint8Array, algorithm: HashAlgorithm): TreeLayout | undefined {
  const idLength = digestLength(algorithm);
  const n = names.length;
  const offsets = new Uint32Array(n + 1);
  let pos = 0;
  for (let k = 0; k < n; k++) {
    offsets[k] = pos;
    const space = data.indexOf(0x20, pos);
    const nul = space < 0 ? -1 : data.indexOf(0, space + 1);
    if (nul < 0 || !holdsName(data, space + 1, nul, names[k])) return undefined;
    pos = nul + 1 + idLength;
  }
  if (pos !== data.length) return undefined;
  offsets[n] = pos;
  return { data, names, trees, offsets };
}

/** Whether `data[start, end)` is the UTF-8 encoding of `name`. */
function holdsName(data: Uint8Array, start: number, end: number, name: string): boolean {
  if (end - start !== utf8Length(name)) return false;
  if (end - start === name.length) {
    // As many bytes as units: ASCII (a non-ASCII unit takes two or more bytes).
    for (let i = 0; i < name.length; i++) if (data[start + i] !== name.charCodeAt(i)) return false;
    return true;
  }
  const bytes = utf8.encode(name);
  for (let i = 0; i < bytes.length; i++) if (data[start + i] !== bytes[i]) return false;
  return true;
}

/** The first position of `layout` whose entry sorts at or after (`name`, `isTree`). */
function lowerBound(layout: TreeLayout, name: string, isTree: boolean): number {
  let lo = 0;
  let hi = layout.names.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareTreeEntryNames(layout.names[mid], layout.trees[mid] === 1, name, isTree) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The layout of `base` with `changes` applied (trusted entries; one change per name), or
 * `undefined` when they do not fit `base` (a change names an entry `base` lacks, or adds one it
 * already has), for the caller to encode the tree whole instead. Same bytes as
 * {@link encodeTreeLayout} of the changed entries. Cost: O(changes · log n) comparisons, O(n) to
 * copy the bytes (in runs), names and offsets.
 */
export function spliceTree(base: TreeLayout, changes: readonly TreeChange[], algorithm: HashAlgorithm): TreeLayout | undefined {
  const idLength = digestLength(algorithm);
  const n = base.names.length;
  const removed: number[] = [];
  const added: { at: number; entry: TreeEntry; isTree: boolean }[] = [];
  let bound = base.data.length;
  for (const c of changes) {
    if (c.wasTree !== undefined) {
      const at = lowerBound(base, c.name, c.wasTree);
      if (at === n || base.names[at] !== c.name || (base.trees[at] === 1) !== c.wasTree) return undefined;
      removed.push(at);
      bound -= base.offsets[at + 1] - base.offsets[at];
    }
    if (c.entry !== undefined) {
      const isTree = c.entry.mode === MODE_TREE;
      added.push({ at: lowerBound(base, c.name, isTree), entry: c.entry, isTree });
      bound += entryBound(c.entry, idLength);
    }
  }
  removed.sort((a, b) => a - b);
  added.sort((a, b) => a.at - b.at || compareTreeEntryNames(a.entry.name, a.isTree, b.entry.name, b.isTree));
  const count = n - removed.length + added.length;
  const out = new Uint8Array(bound);
  const names = new Array<string>(count);
  const trees = new Uint8Array(count);
  const offsets = new Uint32Array(count + 1);
  let pos = 0;
  let k = 0;
  let r = 0;
  let a = 0;
  let i = 0;
  while (i < n || a < added.length) {
    // The added entries that go before base entry i.
    for (; a < added.length && added[a].at === i; a++) {
      const { entry, isTree } = added[a];
      // An added name equal to a kept base entry (same name and kind) would be a duplicate.
      if (i < n && base.names[i] === entry.name && (base.trees[i] === 1) === isTree && removed[r] !== i) return undefined;
      names[k] = entry.name;
      trees[k] = isTree ? 1 : 0;
      offsets[k++] = pos;
      pos = writeEntry(entry, out, pos, idLength);
    }
    if (i === n) break;
    if (r < removed.length && removed[r] === i) {
      r++;
      i++;
      continue;
    }
    // A run of kept base entries, up to the next removed one or added position: one copy.
    let end = i + 1;
    const stop = Math.min(r < removed.length ? removed[r] : n, a < added.length ? added[a].at : n);
    if (stop > end) end = stop;
    const from = base.offsets[i];
    const shift = pos - from;
    for (let j = i; j < end; j++) {
      names[k] = base.names[j];
      trees[k] = base.trees[j];
      offsets[k++] = base.offsets[j] + shift;
    }
    out.set(base.data.subarray(from, base.offsets[end]), pos);
    pos += base.offsets[end] - from;
    i = end;
  }
  offsets[count] = pos;
  return { data: pos === bound ? out : out.slice(0, pos), names, trees, offsets };
}
