import { invalidArgument, IrminError, isIrminError } from "../core/errors.js";
import { checkHash, type Hash } from "../core/hash.js";
import { formatPath, parsePath, type Path, type PathInput } from "../core/path.js";
import { branchRef } from "../core/ref-name.js";
import { hashObject } from "../codec/object.js";
import { DataTypeAccess } from "../datatypes/access.js";
import { graft, subtreeAt, type Slot, type ValueCodec } from "../datatypes/slot.js";
import { readCommit, readGivenCommit, writeTreeCommit, type CommitNode } from "../history/commits.js";
import { checkBound } from "../history/lca.js";
import { mergeCommits } from "../history/merge-commits.js";
import { walkHistory } from "../history/walk.js";
import { bytesEqual } from "../merge/equal.js";
import { findChild, sameEntry } from "../tree/edit.js";
import { Node, type Child, type PreparedWrite } from "../tree/node.js";
import type { MergeConflict } from "../tree/tree-merge.js";
import { Tree, type ListEntry, type ListOptions } from "../tree/tree.js";
import type { Remote } from "../sync/remote.js";
import { pullBranch, pushBranch, type PullOptions, type PushOptions, type PushResult } from "../sync/operations.js";
import { Commit } from "./commit.js";
import type { RepoCore } from "./repo-core.js";
import { SerialQueue } from "./serial.js";
import { Transaction } from "./transaction.js";

/** Who and why, for any operation that makes a commit. */
export interface CommitOptions {
  /** Commit message (default: the operation and path, e.g. `set home/todo`). */
  message?: string;
  /** `"Name <email>"` (default: the repository's author). */
  author?: string;
}

/** The result of a merge: the new head, or the paths that conflict. */
export type MergeResult<V> = { ok: true; commit: Commit<V> | undefined } | { ok: false; conflicts: MergeConflict[] };

/** How a transaction lands when the branch moved while it ran. */
export type TransactionStrategy = "merge" | "test-and-set" | "set";

/** Options of {@link Branch.transaction}. */
export interface TransactionOptions extends CommitOptions {
  /**
   * `"merge"` (default): the transaction's commit is merged with what landed meanwhile (a conflict
   * is returned as a value). `"test-and-set"`: the transaction fails if the branch moved, after
   * re-running it up to `retries` times. `"set"`: the transaction's tree replaces the branch's
   * (last writer wins). With every strategy, the transaction is also run again (up to 3 times)
   * when its commit was removed before the branch could name it: on the git backend, a concurrent
   * `git repack -a -d` or `git gc --prune=now` deletes objects no ref reaches yet.
   */
  strategy?: TransactionStrategy;
  /** Re-runs (test-and-set) or re-merges (merge) after losing a race (default 5). */
  retries?: number;
}

/** The result of a transaction. */
export type TransactionResult<R, V> =
  | { ok: true; value: R; commit: Commit<V> | undefined }
  | { ok: false; reason: "conflict"; conflicts: MergeConflict[] }
  | { ok: false; reason: "changed" };

/** A change of a branch's head, as a watcher sees it. */
export interface HeadChange<V> {
  /** The head before the change; `undefined` when the branch did not exist. */
  before: Commit<V> | undefined;
  /** The head after the change; `undefined` when the branch was removed. */
  after: Commit<V> | undefined;
}

/** A change of the value at one path, as a key watcher sees it. */
export interface ValueChange<V> {
  /** The value before the change; `undefined` when there was none (or a directory or data type). */
  before: V | undefined;
  /** The value after the change; `undefined` when there is none (or a directory or data type). */
  after: V | undefined;
}

/** How many times a single-operation write re-applies itself after losing a race before giving up. */
const WRITE_ATTEMPTS = 200;
/** How many times one operation writes its commit again after a concurrent repack or prune removed it (see `moveRef`). */
const REWRITES = 3;

/**
 * A named branch (`refs/heads/<name>`): a movable pointer to a commit. A handle does no I/O until
 * used, and the branch need not exist yet (reads see an empty tree). Every write is one commit made
 * atomically with compare-and-set on the ref: when another writer (in this process, another one,
 * or the git CLI) moved the branch meanwhile, the operation is re-applied on the new head, so no
 * acknowledged write is ever lost.
 */
export class Branch<V = string> extends DataTypeAccess<V> {
  /** The full ref name, `refs/heads/<name>`. */
  readonly ref: string;

  /** @internal */
  constructor(
    private readonly core: RepoCore<V>,
    /** The branch name. */
    readonly name: string,
  ) {
    super();
    this.ref = branchRef(name);
  }

  /** @internal The shared state of the repository this branch belongs to. */
  get internals(): RepoCore<V> {
    return this.core;
  }

  /** The head commit, or `undefined` when the branch does not exist. */
  async head(): Promise<Commit<V> | undefined> {
    const node = await this.headNode();
    return node === undefined ? undefined : new Commit(this.core, node);
  }

  /** The head's tree (an empty tree when the branch does not exist). */
  async tree(): Promise<Tree<V>> {
    const head = await this.headNode();
    return this.treeOf(head);
  }

  /** The value at `path`, or `undefined`. */
  async get(path: PathInput): Promise<V | undefined> {
    return (await this.tree()).get(path);
  }

  /** Whether a value is at `path`. */
  async has(path: PathInput): Promise<boolean> {
    return (await this.tree()).has(path);
  }

  /** The directory at `path` (default the root), sorted by name; `[]` when absent. */
  async list(path: PathInput = [], options?: ListOptions): Promise<ListEntry[]> {
    return (await this.tree()).list(path, options);
  }

  /** Sets `path` to `value` in one commit (message `set <path>`). */
  async set(path: PathInput, value: V, options: CommitOptions = {}): Promise<Commit<V>> {
    const p = parsePath(path);
    if (p.length === 0) throw invalidArgument("cannot set the root: give a path");
    const commit = await this.write(`set ${formatPath(p)}`, options, (tree) => tree.set(p, value));
    // No commit means the value was already there, so the branch has a head.
    return commit ?? (await this.head())!;
  }

  /** Grafts `tree` at `path` (the whole tree for the root) in one commit. */
  async setTree(path: PathInput, tree: Tree<V>, options: CommitOptions = {}): Promise<Commit<V> | undefined> {
    const p = parsePath(path);
    return (await this.write(`set tree ${formatPath(p) || "/"}`, options, (t) => t.setTree(p, tree))) ?? this.head();
  }

  /** Removes the value or directory at `path` in one commit; no commit when nothing was there. */
  async remove(path: PathInput, options: CommitOptions = {}): Promise<Commit<V> | undefined> {
    const p = parsePath(path);
    return (await this.write(`remove ${formatPath(p) || "/"}`, options, (t) => t.remove(p))) ?? this.head();
  }

  /**
   * Atomically sets `path` to `next` (removes it when `next` is `undefined`) if its value is
   * `expected` (`undefined`: nothing is there; a directory or a data type at `path` is not
   * absent, so it never matches). Values are compared as the repository's contents compare them
   * (`Contents.equal`, else by their canonical encoding), so a blob git wrote in another spelling
   * of the same value matches. Returns whether it did.
   */
  async testAndSet(path: PathInput, expected: V | undefined, next: V | undefined, options: CommitOptions = {}): Promise<boolean> {
    const p = parsePath(path);
    if (p.length === 0) throw invalidArgument("cannot test-and-set the root: give a path");
    const { contents } = this.core;
    const expectedBytes = expected === undefined ? undefined : contents.encode(expected);
    let matched = false;
    await this.write(`test-and-set ${formatPath(p)}`, options, async (tree) => {
      const child = await findChild(tree.ctx, tree.node, p);
      matched = await this.holds(child, expected, expectedBytes);
      if (!matched) return tree;
      return next === undefined ? tree.remove(p) : tree.set(p, next);
    });
    return matched;
  }

  /** Whether `child` holds the value `expected` (encoded: `expectedBytes`); `undefined`: nothing there. */
  private async holds(child: Child | undefined, expected: V | undefined, expectedBytes: Uint8Array | undefined): Promise<boolean> {
    if (child === undefined || expected === undefined || expectedBytes === undefined) return child === undefined && expected === undefined;
    if (child.kind !== "contents") return false;
    const { ctx, contents } = this.core;
    // Equal hashes: the same bytes, so the same value, with no read.
    if (child.hash === hashObject(ctx.algorithm, "blob", expectedBytes)) return true;
    const current = contents.decode(await ctx.contentsBytes(child));
    return contents.equal !== undefined ? contents.equal(current, expected) : bytesEqual(contents.encode(current), expectedBytes);
  }

  /**
   * Runs `fn` on a working tree and commits what it wrote as one commit. See
   * {@link TransactionOptions} for what happens when the branch moved meanwhile.
   */
  async transaction<R>(fn: (tx: Transaction<V>) => Promise<R> | R, options: TransactionOptions = {}): Promise<TransactionResult<R, V>> {
    const strategy = options.strategy ?? "merge";
    if (strategy !== "merge" && strategy !== "test-and-set" && strategy !== "set") throw invalidArgument(`unknown strategy ${JSON.stringify(strategy)}`);
    const retries = options.retries ?? 5;
    if (!Number.isInteger(retries) || retries < 0) throw invalidArgument("retries must be a non-negative integer");
    const { ctx } = this.core;
    const message = options.message ?? "transaction";
    const rewrites = { left: REWRITES };
    for (let attempt = 0; ; attempt++) {
      const start = await this.headNode();
      const tx = new Transaction(ctx, this.core.contents, start === undefined ? Node.empty() : Node.stored(start.tree));
      const value = await fn(tx);
      // Operations still running (called, not awaited) finish first; operations a data type
      // staged in memory (a queue's pushes and pops) are written now.
      await tx.finish();
      const prepared = await ctx.prepareWrite(tx.node);
      if (start !== undefined && prepared.hash === start.tree) return { ok: true, value, commit: undefined };
      // Nothing written on a branch that does not exist yet: no commit of an empty tree either.
      if (start === undefined && (await ctx.load(tx.node)).size === 0) return { ok: true, value, commit: undefined };
      if (strategy === "set") {
        const commit = await this.write(message, options, () => new Tree(ctx, this.core.contents, tx.node));
        return { ok: true, value, commit };
      }
      const mine = await writeTreeCommit(ctx, prepared, { parents: start ? [start.hash] : [], author: options.author ?? this.core.author, message });
      const moved = await this.moveRef(start?.hash, mine.hash, rewrites);
      if (moved === true) {
        ctx.markWritten(prepared);
        return { ok: true, value, commit: new Commit(this.core, mine) };
      }
      if (moved === "gone") continue;
      if (strategy === "test-and-set") {
        if (attempt >= retries) return { ok: false, reason: "changed" };
        // Racing writers spread out instead of colliding again at once.
        await backoff(attempt + 1);
        continue;
      }
      let merged: MergeResult<V>;
      try {
        merged = await this.mergeHash(mine.hash, `merge transaction into ${this.name}`, options, retries);
      } catch (e) {
        // The transaction's own commit was removed before the merge could name it: run it again.
        if (isIrminError(e, "NOT_FOUND") && rewrites.left-- > 0) continue;
        throw e;
      }
      if (!merged.ok) return { ok: false, reason: "conflict", conflicts: merged.conflicts };
      return { ok: true, value, commit: merged.commit };
    }
  }

  /**
   * Makes `name` point at this branch's head (overwriting it) and returns its handle. Forking a
   * branch that does not exist removes `name`.
   */
  async fork(name: string): Promise<Branch<V>> {
    const other = new Branch(this.core, name);
    const head = await this.headNode();
    if (head === undefined) await this.core.backend.refs.remove(other.ref);
    else await this.core.backend.refs.set(other.ref, head.hash);
    return other;
  }

  /**
   * Merges `from` (a branch, a commit or a commit id) into this branch: fast-forward when possible,
   * otherwise a merge commit (message `merge <from> into <this>`). Conflicts are returned, and the
   * branch is left unchanged. `maxDepth` bounds the common-ancestor search as in `Repo.lcas`
   * (a non-negative integer or `Infinity`, the default); when the search reaches it, the merge
   * returns a conflict at path `""` (so with 0, only merging the head itself succeeds; a
   * fast-forward over k commits needs at least k). INVALID_ARGUMENT for an id that is not a
   * commit's or a bad `maxDepth`.
   */
  async merge(from: Branch<V> | Commit<V> | Hash, options: CommitOptions & { maxDepth?: number } = {}): Promise<MergeResult<V>> {
    checkBound(options.maxDepth, "maxDepth");
    let hash: Hash;
    let label: string;
    if (from instanceof Branch) {
      const h = await from.headNode();
      if (h === undefined) return { ok: true, commit: await this.head() };
      hash = h.hash;
      label = from.name;
    } else if (from instanceof Commit) {
      hash = from.hash;
      label = from.hash.slice(0, 12);
    } else {
      hash = checkHash(from, this.core.ctx.algorithm);
      label = hash.slice(0, 12);
    }
    await readGivenCommit(this.core.ctx, hash);
    return this.mergeHash(hash, options.message ?? `merge ${label} into ${this.name}`, options, WRITE_ATTEMPTS, options.maxDepth);
  }

  /** The commits reachable from the head, newest first; with `path`, only those that changed it. */
  async history(options: { limit?: number; path?: PathInput } = {}): Promise<Commit<V>[]> {
    // Options first: a bad one is an error even on a branch that does not exist.
    if (options.limit !== undefined && (!Number.isInteger(options.limit) || options.limit < 0)) throw invalidArgument("limit must be a non-negative integer");
    const path = options.path === undefined ? undefined : parsePath(options.path);
    const head = await this.headNode();
    if (head === undefined) return [];
    const nodes = await walkHistory(this.core.ctx, head.hash, { limit: options.limit, path });
    return nodes.map((n) => new Commit(this.core, n));
  }

  /**
   * Fetches `options.branch` (default: this branch's name) of `remote` and merges it into this
   * branch (`strategy: "merge"`, the default: conflicts are returned, the branch unchanged) or
   * moves this branch to it (`"set"`).
   */
  pull(remote: Remote, options?: PullOptions): Promise<MergeResult<V>> {
    return pullBranch(this, remote, options);
  }

  /**
   * Sends this branch to `options.branch` (default: the same name) of `remote`. A push that is not
   * a fast-forward is refused unless `force`; the remote moves its ref with compare-and-set.
   * Returns `{ ok: true }` or `{ ok: false, reason }`.
   */
  push(remote: Remote, options?: PushOptions): Promise<PushResult> {
    return pushBranch(this, remote, options);
  }

  /** Moves the branch to `commit` (a snapshot to revert to), whatever it pointed at before. */
  async reset(commit: Commit<V> | Hash): Promise<void> {
    const hash = commit instanceof Commit ? commit.hash : checkHash(commit, this.core.ctx.algorithm);
    await readGivenCommit(this.core.ctx, hash);
    await this.core.backend.refs.set(this.ref, hash);
  }

  /**
   * Calls `callback` after every change of the head: local writes, merges, other processes and
   * the git CLI (for backends that see external changes). Callbacks of one watch run one at a time,
   * in order. Returns the function that stops watching; its promise resolves once the callbacks
   * already queued have run.
   */
  watch(callback: (change: HeadChange<V>) => unknown): () => Promise<void> {
    this.core.live();
    const queue = new SerialQueue();
    const unwatch = this.core.backend.refs.watch((change) => {
      if (change.name !== this.ref) return;
      void queue.run(async () => {
        // A change noticed just before close() has no repository left to describe it.
        if (this.core.isClosed) return;
        const before = change.before === undefined ? undefined : await this.core.commit(change.before);
        const after = change.after === undefined ? undefined : await this.core.commit(change.after);
        await callback({ before, after });
      });
    });
    return () => {
      unwatch();
      return queue.idle();
    };
  }

  /**
   * Like {@link watch}, but only when what is at `path` changes: a value (with the values before
   * and after), or a directory or data type (a queue, a log, ...: anything changed below it; then
   * `before` and `after` are `undefined`, read the data type in the callback).
   */
  watchKey(path: PathInput, callback: (change: ValueChange<V>) => unknown): () => Promise<void> {
    const p = parsePath(path);
    if (p.length === 0) throw invalidArgument("watchKey needs a path");
    const { ctx, contents } = this.core;
    const entryAt = (c: Commit<V> | undefined) => (c === undefined ? undefined : findChild(ctx, Node.stored(c.treeHash), p));
    const valueOf = async (child: Child | undefined) => (child?.kind === "contents" ? contents.decode(await ctx.contentsBytes(child)) : undefined);
    return this.watch(async ({ before, after }) => {
      const [b, a] = await Promise.all([entryAt(before), entryAt(after)]);
      if (await sameEntry(ctx, b, a)) return;
      await callback({ before: await valueOf(b), after: await valueOf(a) });
    });
  }

  /** @internal The head commit, decoded. */
  async headNode(): Promise<CommitNode | undefined> {
    this.core.live();
    const hash = await this.core.backend.refs.get(this.ref);
    return hash === undefined ? undefined : readCommit(this.core.ctx, hash);
  }

  /** @internal Data types at `path`: each operation is one commit made by the write loop. */
  protected slotAt(path: Path): Slot {
    const { ctx, contents } = this.core;
    return {
      ctx,
      path,
      owner: undefined,
      read: async () => subtreeAt(ctx, (await this.tree()).node, path),
      update: async <R>(op: string, fn: (node: Node | undefined) => Promise<{ node: Node | undefined; result: R }>, options: CommitOptions = {}) => {
        let result: R | undefined;
        await this.write(`${op} ${formatPath(path)}`, options, async (tree) => {
          const u = await fn(await subtreeAt(ctx, tree.node, path));
          result = u.result;
          return u.node === undefined ? tree : new Tree(ctx, contents, await graft(ctx, tree.node, path, u.node, undefined));
        });
        return result as R;
      },
    };
  }

  /** @internal */
  protected valueCodec(): ValueCodec<V> {
    return this.core.contents;
  }

  private treeOf(head: CommitNode | undefined): Tree<V> {
    return new Tree(this.core.ctx, this.core.contents, head === undefined ? Node.empty() : Node.stored(head.tree));
  }

  /**
   * The write loop every single operation uses: apply `op` to the head's tree, commit, then
   * compare-and-set the ref; on a lost race, re-apply `op` on the new head. Returns the new
   * commit, or `undefined` when `op` changed nothing.
   */
  private async write(message: string, options: CommitOptions, op: (tree: Tree<V>) => Promise<Tree<V>> | Tree<V>): Promise<Commit<V> | undefined> {
    const { ctx } = this.core;
    const author = options.author ?? this.core.author;
    const rewrites = { left: REWRITES };
    for (let attempt = 0; attempt < WRITE_ATTEMPTS; attempt++) {
      const head = await this.headNode();
      const tree = await op(this.treeOf(head));
      // The new trees, blobs and the commit are stored in one batch (one pack on the git backend).
      const prepared = await ctx.prepareWrite(tree.node);
      if (head !== undefined && prepared.hash === head.tree) return undefined;
      if (head === undefined && tree.node.entries?.size === 0) return undefined;
      const commit = await writeTreeCommit(ctx, prepared, { parents: head ? [head.hash] : [], author, message: options.message ?? message });
      const moved = await this.moveRef(head?.hash, commit.hash, rewrites);
      if (moved === true) {
        ctx.markWritten(prepared);
        return new Commit(this.core, commit);
      }
      if (moved === false) await backoff(attempt);
    }
    throw new IrminError("TOO_MANY_RETRIES", `${message}: lost the race for ${this.ref} ${WRITE_ATTEMPTS} times`);
  }

  /**
   * Compare-and-set of this branch's ref to `next`, a commit just written or merged. `"gone"` when
   * `next` is no longer on disk (the git backend checks under the ref's lock, as `git update-ref`
   * does): a concurrent `git repack -a -d` or `git gc --prune=now` removed it, with what only it
   * reaches, before a ref reached it. The caller then writes it again (objects no longer on disk
   * are not taken for present), at most `REWRITES` times per operation.
   */
  private async moveRef(expected: Hash | undefined, next: Hash, rewrites: { left: number }): Promise<boolean | "gone"> {
    try {
      return await this.core.backend.refs.testAndSet(this.ref, expected, next);
    } catch (e) {
      if (!isIrminError(e, "NOT_FOUND") || rewrites.left-- <= 0) throw e;
      return "gone";
    }
  }

  private async mergeHash(other: Hash, message: string, options: CommitOptions, attempts: number, maxDepth?: number): Promise<MergeResult<V>> {
    const { ctx } = this.core;
    const rewrites = { left: REWRITES };
    for (let attempt = 0; attempt <= attempts; attempt++) {
      const head = await this.headNode();
      let next: Hash;
      let prepared: PreparedWrite | undefined;
      if (head === undefined) {
        next = other;
      } else {
        const r = await mergeCommits(ctx, head.hash, other, { codec: this.core.contents, nodeHook: this.core.nodeHook, maxDepth });
        if (!r.ok) return { ok: false, conflicts: r.conflicts };
        if (r.kind === "up-to-date") return { ok: true, commit: new Commit(this.core, head) };
        if (r.kind === "fast-forward") next = r.head;
        else {
          prepared = await ctx.prepareWrite(r.tree);
          next = (await writeTreeCommit(ctx, prepared, { parents: [head.hash, other], author: options.author ?? this.core.author, message })).hash;
        }
      }
      const moved = await this.moveRef(head?.hash, next, rewrites);
      if (moved === true) {
        if (prepared !== undefined) ctx.markWritten(prepared);
        return { ok: true, commit: await this.core.commit(next) };
      }
      if (moved === false) await backoff(attempt);
    }
    throw new IrminError("TOO_MANY_RETRIES", `${message}: lost the race for ${this.ref} too many times`);
  }
}

/** A short random pause after a lost race, growing with the attempts, so racing writers spread out. */
function backoff(attempt: number): Promise<void> {
  if (attempt === 0) return Promise.resolve();
  const ms = Math.random() * Math.min(50, 2 ** Math.min(attempt, 6));
  return new Promise((resolve) => setTimeout(resolve, ms));
}
