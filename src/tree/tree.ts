import { invalidArgument } from "../core/errors.js";
import type { Hash } from "../core/hash.js";
import { parsePath, type Path, type PathInput } from "../core/path.js";
import { findChild, keepMode, updateAt } from "./edit.js";
import { diffNodes, type DiffEntry } from "./diff.js";
import { importNode } from "./import.js";
import type { LeafCodec } from "./leaf-codec.js";
import { contentsChild, isGitlink, Node, type Child, type ContentsChild, type TreeContext } from "./node.js";

/** One entry of a directory listing. */
export interface ListEntry {
  /** The entry's name (one path segment). */
  readonly name: string;
  /** `"contents"` for a value, `"node"` for a directory (a data type's subtree is a `"node"`). */
  readonly kind: "contents" | "node";
}

/** Options of {@link Tree.list}. */
export interface ListOptions {
  /** Entries to skip, in name order (default 0). */
  offset?: number;
  /** Most entries to return (default all). */
  limit?: number;
}

/**
 * An immutable, lazy snapshot of a directory tree. Reading loads only the nodes on the paths it
 * walks; `set`, `remove` and `setTree` return new trees that share every untouched node with this
 * one. Nothing is written to the object store until the tree is committed. `hash()` is Git's id of
 * the tree.
 */
export class Tree<V> {
  /** @internal */
  constructor(
    /** @internal */ readonly ctx: TreeContext,
    /** @internal */ readonly codec: LeafCodec<V>,
    /** @internal */ readonly node: Node,
  ) {}

  /**
   * The value at `path`, or `undefined` when there is none (or a directory, or a gitlink: a
   * submodule's commit, which is not a value of the store). Reads one node per segment.
   */
  async get(path: PathInput): Promise<V | undefined> {
    const p = parsePath(path);
    if (p.length === 0) return undefined;
    const child = await findChild(this.ctx, this.node, p);
    if (child === undefined || child.kind !== "contents") return undefined;
    return this.codec.decode(await this.ctx.contentsBytes(child));
  }

  /** Whether a value (not a directory, not a gitlink) is at `path`. */
  async has(path: PathInput): Promise<boolean> {
    const p = parsePath(path);
    if (p.length === 0) return false;
    return (await findChild(this.ctx, this.node, p))?.kind === "contents";
  }

  /**
   * The entries of the directory at `path` (default the root), sorted by name; `[]` when there is
   * no directory there. Gitlinks (submodules) are not listed: they are not values of the store.
   */
  async list(path: PathInput = [], options: ListOptions = {}): Promise<ListEntry[]> {
    const offset = options.offset ?? 0;
    const limit = options.limit ?? Infinity;
    if (!Number.isInteger(offset) || offset < 0) throw invalidArgument("list offset must be a non-negative integer");
    if (limit !== Infinity && (!Number.isInteger(limit) || limit < 0)) throw invalidArgument("list limit must be a non-negative integer");
    const node = await this.nodeAt(parsePath(path));
    if (node === undefined) return [];
    const entries = await this.ctx.load(node);
    const names = listedNames(node.names(), entries);
    const end = Math.min(names.length, offset + limit);
    const out: ListEntry[] = [];
    for (let i = offset; i < end; i++) out.push({ name: names[i], kind: entries.get(names[i])!.kind });
    return out;
  }

  /** A tree with `value` at `path` (non-empty), replacing a value or a directory that was there. */
  async set(path: PathInput, value: V): Promise<Tree<V>> {
    const p = nonRoot(path, "set");
    const child = contentsChild(this.ctx, this.codec.encode(value));
    return this.with(await updateAt(this.ctx, this.node, p, (current) => keepMode(current, child), undefined));
  }

  /** A tree without the value, directory or gitlink at `path`; empty parent directories disappear. */
  async remove(path: PathInput): Promise<Tree<V>> {
    const p = parsePath(path);
    if (p.length === 0) return this.with(Node.empty());
    return this.with(await updateAt(this.ctx, this.node, p, () => undefined, undefined));
  }

  /** The directory at `path` as a tree of its own (the root for `[]`), or `undefined`. */
  async subtree(path: PathInput): Promise<Tree<V> | undefined> {
    const node = await this.nodeAt(parsePath(path));
    return node === undefined ? undefined : this.with(node);
  }

  /**
   * A tree with `tree` grafted at `path` (replacing what was there); an empty `tree` removes it.
   * A tree read from another repository (same hash algorithm, else `INVALID_ARGUMENT`) first has
   * the objects its store holds and this one lacks copied here, so that a commit of the result is
   * complete; its in-memory directories are copied too (O(their entries)), so that committing
   * the graft here changes nothing of the other repository's tree.
   */
  async setTree(path: PathInput, tree: Tree<V>): Promise<Tree<V>> {
    const p = parsePath(path);
    if (!(tree instanceof Tree)) throw invalidArgument("setTree expects a Tree");
    // A tree of another repository: what its store holds and ours lacks is copied first.
    const node = tree.ctx === this.ctx ? tree.node : await importNode(this.ctx, tree.ctx, tree.node);
    if (p.length === 0) return this.with(node);
    const empty = (await this.ctx.load(node)).size === 0;
    return this.with(await updateAt(this.ctx, this.node, p, () => (empty ? undefined : { kind: "node", node }), undefined));
  }

  /** Git's id of this tree (computed, not written). */
  hash(): Promise<Hash> {
    return this.ctx.hashNode(this.node);
  }

  /** Whether the tree has no entries (a gitlink is one, though `list` does not show it). */
  async isEmpty(): Promise<boolean> {
    return (await this.ctx.load(this.node)).size === 0;
  }

  /**
   * What changed from this tree to `other`, per value path, sorted by path: segment by segment in
   * name order, a path before the paths below it (a value `d` that became a directory reads
   * `removed d`, `added d/x`; the reverse `added d`, `removed d/x`). Gitlinks are not values: not
   * reported. `other` may be a tree of another repository (each side is read from its own;
   * values decoded with this tree's contents); with another hash algorithm, `INVALID_ARGUMENT`.
   * Cost grows with the differences: subtrees with equal hashes are skipped without being read.
   */
  async diff(other: Tree<V>): Promise<DiffEntry<V>[]> {
    if (!(other instanceof Tree)) throw invalidArgument("diff expects a Tree");
    if (other.ctx.algorithm !== this.ctx.algorithm) throw invalidArgument(`cannot diff a ${this.ctx.algorithm} tree with a ${other.ctx.algorithm} tree`);
    const raw = await diffNodes(this.ctx, this.node, other.ctx, other.node, []);
    const out: DiffEntry<V>[] = [];
    for (const d of raw) {
      const entry: DiffEntry<V> = { path: d.path, kind: d.kind };
      if (d.before !== undefined) entry.before = this.codec.decode(await this.ctx.contentsBytes(d.before));
      if (d.after !== undefined) entry.after = this.codec.decode(await other.ctx.contentsBytes(d.after));
      out.push(entry);
    }
    return out;
  }

  /** Every value in the tree with its path, depth first in name order (gitlinks skipped). Loads the whole tree. */
  async *entries(): AsyncGenerator<{ path: string[]; value: V }> {
    for await (const [path, child] of this.leaves(this.node, [])) yield { path, value: this.codec.decode(await this.ctx.contentsBytes(child)) };
  }

  private async *leaves(node: Node, prefix: string[]): AsyncGenerator<[string[], ContentsChild]> {
    const entries = await this.ctx.load(node);
    for (const name of node.names()) {
      const child = entries.get(name)!;
      if (child.kind === "node") yield* this.leaves(child.node, [...prefix, name]);
      else if (!isGitlink(child)) yield [[...prefix, name], child];
    }
  }

  private async nodeAt(path: Path): Promise<Node | undefined> {
    if (path.length === 0) return this.node;
    const child = await findChild(this.ctx, this.node, path);
    return child?.kind === "node" ? child.node : undefined;
  }

  /** @internal */
  with(node: Node): Tree<V> {
    return node === this.node ? this : new Tree(this.ctx, this.codec, node);
  }
}

/**
 * `names` (a directory's, in order) without its gitlinks. The names of a frozen directory are
 * cached (see `Node.names`), and so is this for them: paging through it costs O(page) per call.
 */
function listedNames(names: string[], entries: Map<string, Child>): string[] {
  const known = listed.get(names);
  if (known !== undefined) return known;
  let out = names;
  for (let i = 0; i < names.length; i++) {
    if (!isGitlink(entries.get(names[i]))) continue;
    out = names.filter((name) => !isGitlink(entries.get(name)));
    break;
  }
  listed.set(names, out);
  return out;
}

const listed = new WeakMap<string[], string[]>();

function nonRoot(path: PathInput, op: string): Path {
  const p = parsePath(path);
  if (p.length === 0) throw invalidArgument(`cannot ${op} the root: give a path`);
  return p;
}
