import { invalidArgument } from "../core/errors.js";
import { parsePath, type Path, type PathInput } from "../core/path.js";
import { DataTypeAccess } from "../datatypes/access.js";
import { graft, subtreeAt, type Slot, type ValueCodec } from "../datatypes/slot.js";
import { findChild, keepMode, updateAt } from "../tree/edit.js";
import { contentsChild, Node, type TreeContext } from "../tree/node.js";
import { Tree, type ListEntry, type ListOptions } from "../tree/tree.js";
import type { LeafCodec } from "../tree/leaf-codec.js";

/**
 * The working tree of a transaction: reads see the transaction's own writes; nothing reaches the
 * branch until the transaction function returns and its tree is committed. Writes change the
 * transaction's nodes in place (each shared node is copied once), so many writes to one large
 * directory cost O(1) each.
 */
export class Transaction<V> extends DataTypeAccess<V> {
  /** @internal */ node: Node;
  private owner: object = {};

  /** @internal */
  constructor(
    private readonly ctx: TreeContext,
    private readonly codec: LeafCodec<V>,
    root: Node,
  ) {
    super();
    this.node = root;
  }

  /** The value at `path` as this transaction sees it, or `undefined`. */
  get(path: PathInput): Promise<V | undefined> {
    return this.tree().get(path);
  }

  /** Whether a value is at `path`. */
  has(path: PathInput): Promise<boolean> {
    return this.tree().has(path);
  }

  /** The directory at `path`, sorted by name. */
  list(path: PathInput = [], options?: ListOptions): Promise<ListEntry[]> {
    return this.tree().list(path, options);
  }

  /** Sets `path` (non-empty) to `value`, replacing a value or directory there. */
  async set(path: PathInput, value: V): Promise<void> {
    const p = parsePath(path);
    if (p.length === 0) throw invalidArgument("cannot set the root: give a path");
    const child = contentsChild(this.ctx, this.codec.encode(value));
    this.node = await updateAt(this.ctx, this.node, p, (current) => keepMode(current, child), this.owner);
  }

  /** Removes the value or directory at `path` (everything for the root). */
  async remove(path: PathInput): Promise<void> {
    const p = parsePath(path);
    if (p.length === 0) {
      this.node = Node.empty(this.owner);
      return;
    }
    this.node = await updateAt(this.ctx, this.node, p, () => undefined, this.owner);
  }

  /** Grafts `tree` at `path` (the whole tree for the root). */
  async setTree(path: PathInput, tree: Tree<V>): Promise<void> {
    this.node = (await this.tree().setTree(path, tree)).node;
  }

  /** Whether something (a value or a directory) is at `path`. */
  async exists(path: PathInput): Promise<boolean> {
    const p = parsePath(path);
    return p.length === 0 || (await findChild(this.ctx, this.node, p)) !== undefined;
  }

  /** @internal Data types at `path`: operations change the working tree, the transaction commits them. */
  protected slotAt(path: Path): Slot {
    const { ctx } = this;
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const tx = this;
    return {
      ctx,
      path,
      // A getter: `tree()` hands out the current nodes frozen by changing the token.
      get owner() {
        return tx.owner;
      },
      read: () => subtreeAt(ctx, this.node, path),
      update: async <R>(_op: string, fn: (node: Node | undefined) => Promise<{ node: Node | undefined; result: R }>) => {
        const u = await fn(await subtreeAt(ctx, this.node, path));
        if (u.node !== undefined) this.node = await graft(ctx, this.node, path, u.node, this.owner);
        return u.result;
      },
    };
  }

  /** @internal */
  protected valueCodec(): ValueCodec<V> {
    return this.codec;
  }

  /** A snapshot of the working tree; later writes of the transaction do not change it. */
  tree(): Tree<V> {
    // Hand out the current nodes frozen: a new token makes later writes copy them first.
    this.owner = {};
    return new Tree(this.ctx, this.codec, this.node);
  }
}
