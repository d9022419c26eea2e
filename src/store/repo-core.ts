import { IrminError } from "../core/errors.js";
import { checkHash, type Hash } from "../core/hash.js";
import type { Backend } from "../backend/backend.js";
import { readCommit, readGivenCommit } from "../history/commits.js";
import type { Contents } from "../merge/contents.js";
import { isDataTypeEntries } from "../datatypes/marker.js";
import { dataTypeMergeHook } from "../datatypes/registry.js";
import { TreeContext } from "../tree/node.js";
import type { NodeMergeHook } from "../tree/tree-merge.js";
import { Commit } from "./commit.js";

/**
 * What every handle of one repository shares: the backend, the tree context (object store and
 * caches), the contents codec and the defaults. Internal: users see `Repo`, `Branch`, `Commit`.
 */
export class RepoCore<V> {
  readonly ctx: TreeContext;
  /** Merges for self-describing subtrees (the data types register here). */
  readonly nodeHook: NodeMergeHook;
  private closed = false;

  constructor(
    readonly backend: Backend,
    readonly contents: Contents<V>,
    readonly author: string,
  ) {
    this.ctx = new TreeContext(backend.objects, backend.objects.algorithm);
    // A data type's subtree belongs to the type: nothing else writes inside it.
    this.ctx.ownedSubtree = (entries) => isDataTypeEntries(this.ctx.algorithm, entries);
    this.nodeHook = dataTypeMergeHook(this.ctx);
  }

  /** Whether `close()` was called. */
  get isClosed(): boolean {
    return this.closed;
  }

  /** Throws CLOSED after `close()`. */
  live(): void {
    if (this.closed) throw new IrminError("CLOSED", "the repository is closed");
  }

  /** The commit `hash` (an id the store holds: CORRUPT when it names another kind of object); NOT_FOUND when absent, INVALID_ARGUMENT when not an id. */
  async commit(hash: Hash): Promise<Commit<V>> {
    this.live();
    checkHash(hash, this.ctx.algorithm);
    return new Commit(this, await readCommit(this.ctx, hash));
  }

  /** The commit `hash` a caller gave: as {@link commit}, but INVALID_ARGUMENT when it names a tree, a blob or a tag. */
  async givenCommit(hash: Hash): Promise<Commit<V>> {
    this.live();
    checkHash(hash, this.ctx.algorithm);
    return new Commit(this, await readGivenCommit(this.ctx, hash));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.backend.close();
  }
}
