/**
 * Where a data type handle lives: a path in a branch (every operation one commit) or in a running
 * transaction (operations change its working tree; the transaction commits them as one). The data
 * types are written once against this interface.
 */
import { invalidArgument } from "../core/errors.js";
import { formatPath, type Path } from "../core/path.js";
import { findChild, updateAt } from "../tree/edit.js";
import type { Contents } from "../merge/contents.js";
import type { Node, TreeContext } from "../tree/node.js";
import { expectType, type DataTypeName } from "./marker.js";

/** How the values of a register, set, log or queue become blobs. */
export type ValueCodec<T> = Pick<Contents<T>, "encode" | "decode">;

/** Who and why, for an operation that makes a commit (ignored inside a transaction). */
export interface OperationOptions {
  /** Commit message (default: the operation and the path, e.g. `push home/todo`). */
  message?: string;
  /** `"Name <email>"` (default: the repository's author). */
  author?: string;
}

/** What an operation computed: the type's new subtree (`undefined`: unchanged) and the result for the caller. */
export interface SubtreeUpdate<R> {
  readonly node: Node | undefined;
  readonly result: R;
}

/**
 * Work a data type keeps in memory inside a transaction instead of changing the working tree at
 * every operation (a queue's pushes and pops, say), written into the tree when flushed. The
 * transaction flushes every stage before anything else reads or writes its tree and before it
 * commits, so nothing can tell a staged operation from one applied at once.
 */
export interface Staged {
  /** Writes the staged work into the working tree through its {@link StageBase.write}. Called once; the stage is dropped first. */
  flush(): Promise<void>;
}

/** What a stage starts from. */
export interface StageBase {
  /** The subtree at the path when the stage was made (`undefined`: absent); the type is checked by {@link TypedSlot.stage}. */
  readonly node: Node | undefined;
  /**
   * Replaces the subtree at the path in the working tree (flushing no stage: only the stage's own
   * flush calls it). Give it nodes the stage built (with a token of its own, if it edits them in
   * place): nodes of the working tree may not be changed in place by a stage.
   */
  write(node: Node): Promise<void>;
}

/** The place a handle reads and writes (internal: users see the handles). */
export interface Slot {
  readonly ctx: TreeContext;
  readonly path: Path;
  /**
   * In a transaction, the token of its working tree: nodes built with it (`Node.fromEntries(map,
   * owner)`, `updateAt(..., owner)`) may be changed in place by later operations of the same
   * transaction instead of being copied. `undefined` on a branch (every operation is a commit, nodes
   * are frozen).
   */
  readonly owner: object | undefined;
  /** The subtree at the path now (`undefined` when absent); INVALID_ARGUMENT when a value is there. */
  read(): Promise<Node | undefined>;
  /**
   * Runs `fn` on the subtree at the path and stores the subtree it returns. In a branch: one commit
   * named `<op> <path>`, made with compare-and-set and re-run on the new head after a lost race (so
   * `fn` must be a pure function of the subtree it gets); no commit when `fn` changes nothing. In a
   * transaction: the working tree changes, nothing is committed yet.
   */
  update<R>(op: string, fn: (node: Node | undefined) => Promise<SubtreeUpdate<R>>, options?: OperationOptions): Promise<R>;
  /**
   * In a transaction only (absent on a branch): the stage of kind `kind` at this path, made by
   * `make` when there is none yet, so that every handle on the path shares it. Making one first
   * flushes the stages of paths above or below this one (they write the tree `make` reads).
   * `read` and `update` of any slot flush every stage first.
   */
  stage?<S extends Staged>(kind: string, make: (base: StageBase) => Promise<S>): Promise<S>;
}

/** A slot plus the type it holds: what every handle is built on. */
export class TypedSlot {
  constructor(
    readonly slot: Slot,
    readonly type: DataTypeName,
  ) {}

  get ctx(): TreeContext {
    return this.slot.ctx;
  }

  /** See {@link Slot.owner}. */
  get owner(): object | undefined {
    return this.slot.owner;
  }

  /** The path as `a/b`, for messages. */
  get label(): string {
    return formatPath(this.slot.path);
  }

  /** The type's subtree now, `undefined` when absent; INVALID_ARGUMENT when another type or a plain directory is there. */
  async read(): Promise<Node | undefined> {
    return expectType(this.ctx, await this.slot.read(), this.type, this.label);
  }

  /**
   * {@link Slot.stage} for this type, with the base subtree checked to be of this type first;
   * `undefined` on a branch (no stages: every operation is a commit).
   */
  stage<S extends Staged>(make: (base: StageBase) => Promise<S>): Promise<S> | undefined {
    const { slot } = this;
    if (slot.stage === undefined) return undefined;
    return slot.stage(this.type, async (base) => make({ node: await expectType(this.ctx, base.node, this.type, this.label), write: base.write }));
  }

  /** {@link Slot.update}, with the subtree checked to be of this type first. */
  update<R>(op: string, fn: (node: Node | undefined) => Promise<SubtreeUpdate<R>>, options?: OperationOptions): Promise<R> {
    return this.slot.update(op, async (node) => fn(await expectType(this.ctx, node, this.type, this.label)), options);
  }
}

/** INVALID_ARGUMENT unless `path` is non-empty: a data type lives below the root, never at it. */
export function checkTypePath(path: Path, type: DataTypeName): Path {
  if (path.length === 0) throw invalidArgument(`a ${type} needs a path: it cannot be the root`);
  return path;
}

/** The directory at `path` under `root` (`undefined` when absent); INVALID_ARGUMENT when a value is there. Reads one node per segment. */
export async function subtreeAt(ctx: TreeContext, root: Node, path: Path): Promise<Node | undefined> {
  const child = await findChild(ctx, root, path);
  if (child === undefined) return undefined;
  if (child.kind === "contents") throw invalidArgument(`${formatPath(path)} holds a value, not a data type`);
  return child.node;
}

/** `root` with `node` at `path` (non-empty), sharing everything else; nodes owned by `owner` change in place. */
export function graft(ctx: TreeContext, root: Node, path: Path, node: Node, owner: object | undefined): Promise<Node> {
  return updateAt(ctx, root, path, () => ({ kind: "node", node }), owner);
}
