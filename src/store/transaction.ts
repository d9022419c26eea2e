import { invalidArgument } from "../core/errors.js";
import { parsePath, type Path, type PathInput } from "../core/path.js";
import { DataTypeAccess } from "../datatypes/access.js";
import { graft, subtreeAt, type Slot, type StageBase, type Staged, type ValueCodec } from "../datatypes/slot.js";
import { findChild, keepMode, updateAt } from "../tree/edit.js";
import { contentsChild, Node, type TreeContext } from "../tree/node.js";
import { Tree, type ListEntry, type ListOptions } from "../tree/tree.js";
import type { LeafCodec } from "../tree/leaf-codec.js";

/** A stage of a data type at a path (see {@link Staged}). */
interface StageEntry {
  readonly path: Path;
  readonly kind: string;
  stage: Promise<Staged>;
}

const SETTLED = Promise.resolve();

/** Whether one of `p` and `q` is a prefix of the other (their subtrees overlap). */
function overlaps(p: Path, q: Path): boolean {
  const n = Math.min(p.length, q.length);
  for (let i = 0; i < n; i++) if (p[i] !== q[i]) return false;
  return true;
}

/**
 * The working tree of a transaction: reads see the transaction's own writes; nothing reaches the
 * branch until the transaction function returns and its tree is committed. Writes change the
 * transaction's nodes in place (each shared node is copied once), so many writes to one large
 * directory cost O(1) each. Operations started together (`Promise.all`) run one after the other
 * in call order, as if awaited one by one.
 *
 * Data types may stage their operations in memory (see {@link Staged}: a queue's pushes and pops
 * cost no tree edit each); every read or write of the tree below, and the commit, first flushes
 * the stages, so they all see one state.
 */
export class Transaction<V> extends DataTypeAccess<V> {
  /** @internal The working tree; flush the stages ({@link settle}) before reading it. */ node: Node;
  private owner: object = {};
  private readonly stages = new Map<string, StageEntry>();
  private settling: Promise<void> | undefined;
  /** The last operation called (see {@link exclusive}); never rejects. */
  private tail: Promise<unknown> = SETTLED;

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
    return this.exclusive(async () => (await this.view()).get(path));
  }

  /** Whether a value is at `path`. */
  has(path: PathInput): Promise<boolean> {
    return this.exclusive(async () => (await this.view()).has(path));
  }

  /** The directory at `path`, sorted by name. */
  list(path: PathInput = [], options?: ListOptions): Promise<ListEntry[]> {
    return this.exclusive(async () => (await this.view()).list(path, options));
  }

  /**
   * Runs `fn` once every operation of this transaction called before it is done, so that
   * operations started together (`Promise.all` of writes) apply one after the other, in call
   * order, and reads see the writes called before them. Each write reads the working tree,
   * changes it and stores the result: run at the same time, two writes that both copied a shared
   * directory kept only one of their changes.
   */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.tail.then(fn);
    this.tail = run.catch(() => undefined);
    return run;
  }

  /**
   * The working tree for one read, without freezing it as {@link tree} does: a read hands out no
   * node, so later writes may still change the transaction's nodes in place (freezing them at every
   * read made a read-modify-write loop copy its directories at every step: O(size) per write).
   */
  private async view(): Promise<Tree<V>> {
    await this.settle();
    return new Tree(this.ctx, this.codec, this.node);
  }

  /** Sets `path` (non-empty) to `value`, replacing a value or directory there. */
  async set(path: PathInput, value: V): Promise<void> {
    const p = parsePath(path);
    if (p.length === 0) throw invalidArgument("cannot set the root: give a path");
    const child = contentsChild(this.ctx, this.codec.encode(value));
    return this.exclusive(async () => {
      await this.settle();
      this.node = await updateAt(this.ctx, this.node, p, (current) => keepMode(current, child), this.owner);
    });
  }

  /** Removes the value or directory at `path` (everything for the root). */
  async remove(path: PathInput): Promise<void> {
    const p = parsePath(path);
    return this.exclusive(async () => {
      await this.settle();
      if (p.length === 0) {
        this.node = Node.empty(this.owner);
        return;
      }
      this.node = await updateAt(this.ctx, this.node, p, () => undefined, this.owner);
    });
  }

  /** Grafts `tree` at `path` (the whole tree for the root). */
  setTree(path: PathInput, tree: Tree<V>): Promise<void> {
    return this.exclusive(async () => {
      this.node = (await (await this.snapshot()).setTree(path, tree)).node;
    });
  }

  /** Whether something (a value or a directory) is at `path`. */
  async exists(path: PathInput): Promise<boolean> {
    const p = parsePath(path);
    return this.exclusive(async () => {
      await this.settle();
      return p.length === 0 || (await findChild(this.ctx, this.node, p)) !== undefined;
    });
  }

  /** @internal Waits for the operations called so far, then writes the stages ({@link settle}): before the commit. */
  finish(): Promise<void> {
    return this.exclusive(() => this.settle());
  }

  /**
   * @internal Writes every stage into the working tree, oldest first, and drops them. Free when
   * nothing is staged. Runs before any access to the tree and before the commit; a stage whose
   * flush fails fails the access (and so the transaction).
   */
  settle(): Promise<void> {
    // A flush under way (started by a concurrent access) is waited for: its writes are not in the tree yet.
    if (this.settling !== undefined) return this.settling.then(() => this.settle());
    if (this.stages.size === 0) return SETTLED;
    const settling = this.flushStages(undefined).finally(() => {
      if (this.settling === settling) this.settling = undefined;
    });
    this.settling = settling;
    return settling;
  }

  private async flushStages(which: ((entry: StageEntry) => boolean) | undefined): Promise<void> {
    // The stages there are now: one made while these flush starts from their result.
    const chosen = [...this.stages].filter(([, entry]) => which === undefined || which(entry));
    for (const [key] of chosen) this.stages.delete(key);
    for (const [, entry] of chosen) await (await entry.stage).flush();
  }

  /** The stage of kind `kind` at `path` (see {@link Slot.stage}). */
  private stageAt<S extends Staged>(path: Path, kind: string, make: (base: StageBase) => Promise<S>): Promise<S> {
    const key = path.join("/");
    const known = this.stages.get(key);
    if (known !== undefined && known.kind === kind) return known.stage as Promise<S>;
    // The flush under way, if any, writes the tree this stage starts from; a later one may be
    // waiting for this stage (it includes it), so it is not waited for.
    const before = this.settling;
    const entry: StageEntry = { path, kind, stage: SETTLED as unknown as Promise<Staged> };
    const stage = (async () => {
      if (before !== undefined) await before.catch(() => undefined);
      // Stages above, below or at this path (of another kind) write the subtree this one starts from.
      if (this.stages.size > 0) await this.flushStages((other) => other !== entry && overlaps(other.path, path));
      const base: StageBase = {
        node: await subtreeAt(this.ctx, this.node, path),
        write: async (node) => {
          this.node = await graft(this.ctx, this.node, path, node, this.owner);
        },
      };
      return make(base);
    })();
    entry.stage = stage;
    this.stages.set(key, entry);
    // A stage that could not be made (another type at the path, say) is forgotten; its caller got the error.
    stage.catch(() => {
      if (this.stages.get(key) === entry) this.stages.delete(key);
    });
    return stage;
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
      read: () =>
        this.exclusive(async () => {
          await this.settle();
          return subtreeAt(ctx, this.node, path);
        }),
      update: <R>(_op: string, fn: (node: Node | undefined) => Promise<{ node: Node | undefined; result: R }>) =>
        this.exclusive(async () => {
          await this.settle();
          const u = await fn(await subtreeAt(ctx, this.node, path));
          if (u.node !== undefined) this.node = await graft(ctx, this.node, path, u.node, this.owner);
          return u.result;
        }),
      stage: <S extends Staged>(kind: string, make: (base: StageBase) => Promise<S>) => this.stageAt(path, kind, make),
    };
  }

  /** @internal */
  protected valueCodec(): ValueCodec<V> {
    return this.codec;
  }

  /** A snapshot of the working tree (staged operations included); later writes of the transaction do not change it. */
  tree(): Promise<Tree<V>> {
    return this.exclusive(() => this.snapshot());
  }

  private async snapshot(): Promise<Tree<V>> {
    await this.settle();
    // Hand out the current nodes frozen: a new token makes later writes copy them first.
    this.owner = {};
    return new Tree(this.ctx, this.codec, this.node);
  }
}
