import type { Hash } from "../core/hash.js";
import type { CommitInfo, CommitNode } from "../history/commits.js";
import { Node } from "../tree/node.js";
import { Tree } from "../tree/tree.js";
import type { RepoCore } from "./repo-core.js";

/** A commit of the repository: an immutable snapshot of the whole tree with its history. */
export class Commit<V = string> {
  /** Git's id of the commit. */
  readonly hash: Hash;
  /** Ids of the parent commits (none for the first commit, two or more for merges). */
  readonly parents: readonly Hash[];
  /** Author, message and date. */
  readonly info: CommitInfo;
  /** Git's id of the commit's root tree. */
  readonly treeHash: Hash;

  /** @internal */
  constructor(
    private readonly core: RepoCore<V>,
    node: CommitNode,
  ) {
    this.hash = node.hash;
    this.parents = node.parents;
    this.info = node.info;
    this.treeHash = node.tree;
  }

  /** The root tree of this commit (lazy: nothing is read until it is used). */
  async tree(): Promise<Tree<V>> {
    return new Tree(this.core.ctx, this.core.contents, Node.stored(this.treeHash));
  }

  /** The parent commits, loaded. */
  async parentCommits(): Promise<Commit<V>[]> {
    return Promise.all(this.parents.map((p) => this.core.commit(p)));
  }
}
