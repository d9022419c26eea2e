import { corrupt, IrminError } from "../core/errors.js";
import type { Hash, HashAlgorithm } from "../core/hash.js";
import { hashObject, type RawObject } from "../codec/object.js";
import { decodeTree, encodeTree, MODE_FILE, MODE_GITLINK, MODE_TREE, treeModeType, type TreeEntry } from "../codec/tree.js";
import { encodeTreeLayout, spliceTree, treeLayoutOf, type TreeChange, type TreeLayout } from "../codec/tree-layout.js";
import type { ObjectStore } from "../backend/object-store.js";
import { ObjectCache } from "../backend/object-cache.js";

/**
 * A leaf of the tree: a blob (a file or a symlink), or a gitlink, kept as they are. `hash` is always
 * known; `pending` holds the bytes of a blob that is not yet in the object store. A gitlink (a
 * submodule, see {@link isGitlink}) names a commit of another repository: it has no bytes here.
 */
export interface ContentsChild {
  readonly kind: "contents";
  readonly mode: string;
  readonly hash: Hash;
  readonly pending?: Uint8Array;
  /** The entry's name bytes when they are not valid UTF-8 (read from a tree git wrote), kept as they are. */
  readonly rawName?: Uint8Array;
}

/**
 * Whether `child` is a gitlink (mode 160000: a submodule's commit, an object of another
 * repository). Gitlinks are not values of the store: reads (`get`, `has`, `list`, `entries`,
 * `diff`) do not see them, but they are kept as they are when the directory holding them is
 * changed, merged and written again, so that git's data is never dropped.
 */
export function isGitlink(child: Child | undefined): boolean {
  if (child?.kind !== "contents" || child.mode === MODE_FILE) return false;
  return child.mode === MODE_GITLINK || treeModeType(child.mode) === "commit";
}

/** A subtree. */
export interface NodeChild {
  readonly kind: "node";
  readonly node: Node;
  /** As {@link ContentsChild.rawName}. */
  readonly rawName?: Uint8Array;
}

/** One entry of a directory. */
export type Child = ContentsChild | NodeChild;

/** A leaf holding new blob bytes (hashed now, written with the next commit). */
export function contentsChild(ctx: TreeContext, bytes: Uint8Array): ContentsChild {
  return { kind: "contents", mode: MODE_FILE, hash: hashObject(ctx.algorithm, "blob", bytes), pending: bytes };
}

/**
 * A directory. Either stored (`hash` known, entries loaded on demand through the context's cache)
 * or built in memory (`entries` set). Nodes are immutable once shared; a node whose `owner` is the
 * token of a running builder may be changed in place by that builder only (see `TreeBuilder`), which
 * is what makes many writes to one large directory cost O(1) each instead of a copy each.
 */
export class Node {
  /** Git's id of this tree, once known. */
  hash: Hash | undefined;
  /** Entries, once loaded or when built in memory. */
  entries: Map<string, Child> | undefined;
  /** True when this tree (and everything under it) is known to be in the object store. */
  stored: boolean;
  /** Builder allowed to mutate this node in place; `undefined` for frozen nodes. */
  owner: object | undefined;
  /**
   * The (immutable) entries this node's were copied from, until it is encoded, and the names
   * changed since (a superset): when the context knows the origin's encoding, this node's is
   * spliced from it (see {@link TreeContext}). Kept by {@link touchEntry}; an in-place change
   * made through {@link touch} drops them (the node is then encoded whole).
   */
  origin: Map<string, Child> | undefined;
  changed: Set<string> | undefined;
  /** The id of the origin, when it is a tree of the store (its bytes can then be read again). */
  originHash: Hash | undefined;
  /**
   * True when the origin was copied before it was written: its entries may then hold blob bytes
   * (`pending`) that the write of the origin dropped from its own records only.
   */
  originUnwritten = false;
  private sortedNames: string[] | undefined;

  private constructor(hash: Hash | undefined, entries: Map<string, Child> | undefined, stored: boolean, owner?: object) {
    this.hash = hash;
    this.entries = entries;
    this.stored = stored;
    this.owner = owner;
  }

  /** A node for a tree already in the store. */
  static stored(hash: Hash): Node {
    return new Node(hash, undefined, true);
  }

  /** A node built in memory from `entries` (taken, not copied). */
  static fromEntries(entries: Map<string, Child>, owner?: object): Node {
    return new Node(undefined, entries, false, owner);
  }

  /**
   * A node holding `entries`, a copy of this node's (loaded) entries where only the entry `name`
   * may differ: it remembers where it came from, so that encoding it costs O(changes) (see
   * {@link Node.origin}).
   */
  copied(entries: Map<string, Child>, name: string, owner?: object): Node {
    const copy = new Node(undefined, entries, false, owner);
    if (this.origin !== undefined) {
      copy.origin = this.origin;
      copy.changed = new Set(this.changed).add(name);
      copy.originUnwritten = this.originUnwritten;
      copy.originHash = this.originHash;
    } else if (this.hash !== undefined) {
      copy.origin = this.entries;
      copy.changed = new Set([name]);
      copy.originUnwritten = !this.stored;
      if (this.stored) copy.originHash = this.hash;
    }
    return copy;
  }

  /** The empty directory. */
  static empty(owner?: object): Node {
    return new Node(undefined, new Map(), false, owner);
  }

  /** Entry names in code-unit order (cached for frozen nodes). */
  names(): string[] {
    if (this.sortedNames !== undefined) return this.sortedNames;
    const names = [...this.entries!.keys()].sort(compareNames);
    if (this.owner === undefined) this.sortedNames = names;
    return names;
  }

  /** Called by a builder before an in-place change: drops what was derived from the entries. */
  touch(): void {
    this.hash = undefined;
    this.stored = false;
    this.sortedNames = undefined;
    this.origin = undefined;
    this.changed = undefined;
    this.originHash = undefined;
    this.originUnwritten = false;
  }

  /** {@link touch} for a change of the entry `name` only (or of the subtree under it). */
  touchEntry(name: string): void {
    this.hash = undefined;
    this.stored = false;
    this.sortedNames = undefined;
    this.changed?.add(name);
  }
}

/** Plain code-unit order, the order of `list`. */
export function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * A stored directory of at least this many entries, changed first in this context, is spliced from
 * its bytes read again (see `TreeContext.storedLayout`); a smaller one is encoded whole, as cheap.
 */
const SPLICE_STORED_MIN = 1024;

/** Counts of object-store traffic, for complexity tests and benchmarks. */
export interface TreeStats {
  reads: number;
  writes: number;
}

/** What the tree layer needs from a repository: its object store, format and caches. */
export class TreeContext {
  readonly stats: TreeStats = { reads: 0, writes: 0 };
  /**
   * The encoding of entries this context encoded (frozen, so it stays right), and whether they
   * were written since: what a changed copy of them is spliced from.
   */
  private readonly layouts = new WeakMap<Map<string, Child>, { layout: TreeLayout; written: boolean }>();

  /**
   * Whether a directory's entries are a data type's subtree (set by the store, which knows the data
   * types): `updateAt` then writes nothing inside it. Unset, no directory is one.
   */
  ownedSubtree: ((entries: ReadonlyMap<string, Child>) => boolean) | undefined;

  constructor(
    readonly objects: ObjectStore,
    readonly algorithm: HashAlgorithm,
    readonly cache: ObjectCache<unknown> = new ObjectCache(),
  ) {}

  /** Reads an object, failing with NOT_FOUND when absent. Counted in `stats.reads`. */
  async read(hash: Hash, what: string): Promise<RawObject> {
    this.stats.reads++;
    const o = await this.objects.get(hash);
    if (o === undefined) throw new IrminError("NOT_FOUND", `${what} ${hash} is not in the object store`);
    return o;
  }

  /** Blob bytes by hash, through the cache. */
  async blob(hash: Hash): Promise<Uint8Array> {
    const key = "b" + hash;
    const hit = this.cache.get(key) as Uint8Array | undefined;
    if (hit !== undefined) return hit;
    const o = await this.read(hash, "blob");
    if (o.type !== "blob") throw corrupt(`object ${hash} is a ${o.type}, expected a blob`);
    this.cache.set(key, o.data, o.data.length + 64);
    return o.data;
  }

  /**
   * The bytes of a leaf: its pending bytes when not yet written, else the stored blob. A gitlink
   * has none (its commit is another repository's): `UNSUPPORTED` (see {@link isGitlink}).
   */
  contentsBytes(child: ContentsChild): Promise<Uint8Array> {
    if (child.pending !== undefined) return Promise.resolve(child.pending);
    if (isGitlink(child)) return Promise.reject(new IrminError("UNSUPPORTED", `${child.hash} is a gitlink (a commit of a submodule's repository), not a value`));
    return this.blob(child.hash);
  }

  /** The entries of `node`, loading and caching them when the node is stored. */
  async load(node: Node): Promise<Map<string, Child>> {
    if (node.entries !== undefined) return node.entries;
    const hash = node.hash!;
    const key = "t" + hash;
    let entries = this.cache.get(key) as Map<string, Child> | undefined;
    if (entries === undefined) {
      const o = await this.read(hash, "tree");
      if (o.type !== "tree") throw corrupt(`object ${hash} is a ${o.type}, expected a tree`);
      entries = entriesFromGit(decodeTree(o.data, this.algorithm));
      this.cache.set(key, entries, 96 * entries.size + 64);
    }
    // Shared between nodes with the same hash: safe because frozen nodes are never mutated.
    node.entries = entries;
    return entries;
  }

  /** Git's id of `node`, computing (not writing) the trees below it that are in memory. */
  async hashNode(node: Node): Promise<Hash> {
    return node.hash ?? this.encodeNode(node, undefined);
  }

  /**
   * Writes every in-memory tree and pending blob under `node` to the object store in one batch
   * and returns the root's id. Cost: O(new objects); stored subtrees are not visited.
   */
  async writeNode(node: Node): Promise<Hash> {
    if (node.stored) return node.hash!;
    const prepared = await this.prepareWrite(node);
    if (prepared.objects.length > 0) {
      this.stats.writes += prepared.objects.length;
      await this.objects.putMany(prepared.objects);
    }
    this.markWritten(prepared);
    return prepared.hash;
  }

  /**
   * Encodes the in-memory trees under `node` without writing anything: the root's id and the
   * objects a write must store (new trees and pending blobs, each once). For callers that store
   * them together with more objects (a commit: one batch, one pack on the git backend); they call
   * {@link markWritten} once the objects are stored. Cost: O(new objects).
   */
  async prepareWrite(node: Node): Promise<PreparedWrite> {
    if (node.stored) return { hash: node.hash!, objects: [], nodes: [], pending: [] };
    const out: WriteBatch = { batch: [], written: [], nodes: new Set(), seen: new Set(), pending: [] };
    const hash = await this.encodeNode(node, out);
    return { hash, objects: out.batch, nodes: out.written, pending: out.pending };
  }

  /** Records that the objects of `prepared` are stored: its trees are marked stored and cached decoded. */
  markWritten(prepared: PreparedWrite): void {
    for (const n of prepared.nodes) {
      n.stored = true;
      // The next commit will most likely read these trees again: keep them decoded (with their
      // encoding, which the cache keeps alive too: counted in the size).
      const known = this.layouts.get(n.entries!);
      if (known !== undefined) known.written = true;
      const size = 96 * n.entries!.size + 64 + (known === undefined ? 0 : known.layout.data.length + 13 * n.entries!.size);
      this.cache.set("t" + n.hash!, n.entries!, size);
    }
    // The blobs are stored now: drop their bytes (same ids, so the trees' values are unchanged).
    for (const [entries, name] of prepared.pending) {
      const child = entries.get(name);
      if (child?.kind === "contents" && child.pending !== undefined) entries.set(name, { kind: "contents", mode: child.mode, hash: child.hash });
    }
  }

  /**
   * Encodes `node` (and, for a write, the in-memory trees and pending blobs under it into `out`)
   * and returns its id; freezes it. Three ways, cheapest first: a node hashed before and written
   * now reuses its bytes; a changed copy of entries whose encoding is known (its {@link Node.origin})
   * is spliced from it, O(changes) entries encoded; else every entry is encoded.
   */
  private async encodeNode(node: Node, out: WriteBatch | undefined): Promise<Hash> {
    if (node.stored || (node.hash !== undefined && out === undefined)) return node.hash!;
    // Reachable twice in one write (the same subtree at two paths): stored once.
    if (out?.nodes.has(node)) return node.hash!;
    const entries = await this.load(node);
    // Hashed meanwhile by a concurrent encoding of the same node (two `hash()` calls at once).
    if (out === undefined && node.hash !== undefined) return node.hash;
    let layout: TreeLayout | undefined;
    let data: Uint8Array;
    const known = node.hash !== undefined && out !== undefined ? this.layouts.get(entries) : undefined;
    if (known !== undefined) {
      // Hashed before, written now: same bytes; only what is not stored below is visited.
      for (const [name, child] of entries) if (unwritten(child)) await this.visitUnwritten(entries, name, child, out!);
      layout = known.layout;
    } else {
      layout = await this.splice(node, entries, out);
    }
    if (layout !== undefined) {
      data = layout.data;
    } else {
      const gitEntries: TreeEntry[] = [];
      let raw = false;
      for (const [key, child] of entries) {
        if (child.rawName !== undefined) raw = true;
        if (child.kind === "node") {
          const sub = child.node;
          // Most children are stored or already hashed: no await for them (a large directory has thousands).
          const done = sub.stored || (sub.hash !== undefined && out === undefined);
          gitEntries.push(this.entryOf(key, child, done ? sub.hash! : await this.encodeNode(sub, out)));
        } else {
          if (out !== undefined && child.pending !== undefined) await this.visitUnwritten(entries, key, child, out);
          gitEntries.push(this.entryOf(key, child, child.hash));
        }
      }
      // Names come from checked paths or decoded trees, ids from hashing: no need to check them again.
      // Non-UTF-8 names (rare: only from trees git wrote) take the checked path, which sorts by bytes.
      if (raw) data = encodeTree(gitEntries, this.algorithm);
      else data = (layout = encodeTreeLayout(gitEntries, this.algorithm)).data;
    }
    const hash = known === undefined ? hashObject(this.algorithm, "tree", data) : node.hash!;
    node.hash = hash;
    if (layout !== undefined && known === undefined) this.layouts.set(entries, { layout, written: false });
    node.owner = undefined;
    node.origin = undefined;
    node.changed = undefined;
    node.originHash = undefined;
    node.originUnwritten = false;
    if (out !== undefined) {
      out.batch.push({ type: "tree", data });
      out.written.push(node);
      out.nodes.add(node);
    }
    return hash;
  }

  /**
   * The layout of the stored tree `hash` whose loaded entries are `entries`, from its bytes read
   * again (one object read); undefined when it has raw names or its bytes do not match. Kept for
   * the next changes of the same tree.
   */
  private async storedLayout(hash: Hash, entries: Map<string, Child>): Promise<{ layout: TreeLayout; written: boolean } | undefined> {
    const names: string[] = [];
    const trees = new Uint8Array(entries.size);
    for (const [name, child] of entries) {
      if (child.rawName !== undefined) return undefined;
      trees[names.length] = child.kind === "node" ? 1 : 0;
      names.push(name);
    }
    const o = await this.read(hash, "tree");
    const layout = o.type === "tree" ? treeLayoutOf(o.data, names, trees, this.algorithm) : undefined;
    if (layout === undefined) return undefined;
    const known = { layout, written: true };
    this.layouts.set(entries, known);
    return known;
  }

  /**
   * The layout of `node` spliced from the known encoding of its {@link Node.origin} at the names
   * in {@link Node.changed}, or undefined when there is none, or when more than an eighth of the
   * entries changed (encoding them all is then as cheap). Cost O(changes), plus O(n) only when
   * the origin was hashed but not written (its unwritten entries are written with this node).
   */
  private async splice(node: Node, entries: Map<string, Child>, out: WriteBatch | undefined): Promise<TreeLayout | undefined> {
    // Read once: a concurrent encoding of the same node clears them when it finishes.
    const origin = node.origin;
    const changedSet = node.changed;
    const originUnwritten = node.originUnwritten;
    const originHash = node.originHash;
    if (origin === undefined || changedSet === undefined || changedSet.size > Math.max(16, entries.size >> 3)) return undefined;
    let base = this.layouts.get(origin);
    // A large directory of the store, changed here first (the first commit after an open): its
    // stored bytes, read again, are spliced instead of every entry being encoded.
    if (base === undefined && originHash !== undefined && origin.size >= SPLICE_STORED_MIN) base = await this.storedLayout(originHash, origin);
    if (base === undefined) return undefined;
    const changed = [...changedSet];
    for (const key of changed) if (entries.get(key)?.rawName !== undefined || origin!.get(key)?.rawName !== undefined) return undefined;
    // The origin's trees and blobs are stored once it was written; before, what is not yet
    // stored under its entries must be written with this node. A copy made before the origin was
    // written may also hold blob bytes the origin's write dropped only from its own records:
    // visited too (stored already, they are skipped by the store; their bytes are dropped).
    if (out !== undefined && (!base.written || originUnwritten)) {
      for (const [key, child] of entries) if (unwritten(child) && !changedSet.has(key)) await this.visitUnwritten(entries, key, child, out);
    }
    const changes: TreeChange[] = [];
    for (const key of changed) {
      const was = origin!.get(key);
      const child = entries.get(key);
      if (was === undefined && child === undefined) continue;
      let entry: TreeEntry | undefined;
      if (child?.kind === "node") {
        const sub = child.node;
        entry = this.entryOf(key, child, sub.stored || (sub.hash !== undefined && out === undefined) ? sub.hash! : await this.encodeNode(sub, out));
      } else if (child !== undefined) {
        if (out !== undefined) await this.visitUnwritten(entries, key, child, out);
        entry = this.entryOf(key, child, child.hash);
      }
      changes.push({ name: key, wasTree: was === undefined ? undefined : was.kind === "node", entry });
    }
    return spliceTree(base.layout, changes, this.algorithm);
  }

  /** The tree entry of `child`, stored under `key` in its directory's entries, with id `hash`. */
  private entryOf(key: string, child: Child, hash: Hash): TreeEntry {
    // The key is the name as text, made unique with a NUL suffix when two raw names read alike.
    const name = child.rawName === undefined ? key : key.split("\0")[0];
    return { name, rawName: child.rawName, mode: child.kind === "node" ? MODE_TREE : child.mode, hash };
  }

  /** For a write: adds what is not yet stored at or under `child` (entry `key` of `entries`) to `out`. */
  private async visitUnwritten(entries: Map<string, Child>, key: string, child: Child, out: WriteBatch): Promise<void> {
    if (child.kind === "node") {
      if (!child.node.stored) await this.encodeNode(child.node, out);
      return;
    }
    if (child.pending === undefined) return;
    out.pending.push([entries, key]);
    if (out.seen.has(child.hash)) return;
    out.seen.add(child.hash);
    out.batch.push({ type: "blob", data: child.pending });
  }
}

/** Whether a write must visit `child`: a subtree not stored, or a blob whose bytes are pending. */
function unwritten(child: Child): boolean {
  return child.kind === "node" ? !child.node.stored : child.pending !== undefined;
}

/** What {@link TreeContext.prepareWrite} encoded: the root's id and the objects to store. */
export interface PreparedWrite {
  readonly hash: Hash;
  readonly objects: readonly RawObject[];
  /** @internal the in-memory trees the objects come from. */
  readonly nodes: readonly Node[];
  /** @internal the entries holding pending blob bytes (directory entries, name), dropped once stored. */
  readonly pending: readonly (readonly [Map<string, Child>, string])[];
}

interface WriteBatch {
  batch: RawObject[];
  written: Node[];
  /** `written` as a set: a node reachable twice is written once. */
  nodes: Set<Node>;
  /** Blob ids already in `batch`: the same value at many paths is written once. */
  seen: Set<Hash>;
  pending: [Map<string, Child>, string][];
}

function entriesFromGit(list: readonly TreeEntry[]): Map<string, Child> {
  const entries = new Map<string, Child>();
  const raw: TreeEntry[] = [];
  const childOf = (e: TreeEntry): Child =>
    treeModeType(e.mode) === "tree"
      ? { kind: "node", node: Node.stored(e.hash), ...(e.rawName && { rawName: e.rawName }) }
      : { kind: "contents", mode: e.mode, hash: e.hash, ...(e.rawName && { rawName: e.rawName }) };
  // Exact (UTF-8) names first: they are the keys paths address.
  for (const e of list) {
    if (e.rawName === undefined) entries.set(e.name, childOf(e));
    else raw.push(e);
  }
  // Names that are not UTF-8 read as text with U+FFFD, so one may read like another name (raw or
  // exact, whichever git sorts first): it then gets a key no path can address (paths have no
  // NUL), so that it is kept as it is.
  for (const e of raw) {
    let key = e.name;
    for (let i = 1; entries.has(key); i++) key = `${e.name}\0${i}`;
    entries.set(key, childOf(e));
  }
  return entries;
}
