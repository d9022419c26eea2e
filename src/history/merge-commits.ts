import type { Hash } from "../core/hash.js";
import { Node, type TreeContext } from "../tree/node.js";
import { mergeTrees, type MergeConflict, type TreeMergeOptions } from "../tree/tree-merge.js";
import { readCommit } from "./commits.js";
import { lowestCommonAncestors } from "./lca.js";

/** The outcome of merging commit `b` into commit `a`. */
export type CommitMergeResult =
  /** `b` is already contained in `a`: nothing to do. */
  | { ok: true; kind: "up-to-date" }
  /** `a` is an ancestor of `b`: move to `b`. */
  | { ok: true; kind: "fast-forward"; head: Hash }
  /** Both changed: a merge commit with parents `[a, b]` and tree `tree` is needed. */
  | { ok: true; kind: "merge"; tree: Node }
  | { ok: false; conflicts: MergeConflict[] };

/** Options of {@link mergeCommits}. */
export interface CommitMergeOptions<V> extends TreeMergeOptions<V> {
  /** Bound of the common-ancestor search (see `lowestCommonAncestors`). */
  readonly maxDepth?: number;
}

/**
 * Merges the history of `b` into `a`, as Git's recursive strategy does: fast-forward when one
 * contains the other; otherwise a 3-way tree merge against the lowest common ancestor; several
 * (criss-cross) are first merged into a virtual ancestor; none means the empty tree.
 */
export async function mergeCommits<V>(ctx: TreeContext, a: Hash, b: Hash, options: CommitMergeOptions<V>): Promise<CommitMergeResult> {
  const found = await lowestCommonAncestors(ctx, a, b, { maxDepth: options.maxDepth });
  if (!found.ok) {
    const message = found.reason === "max-depth" ? "the common ancestor search reached maxDepth" : "too many common ancestors";
    return { ok: false, conflicts: [{ path: "", message }] };
  }
  const lcas = found.lcas;
  if (lcas.length === 1 && lcas[0] === b) return { ok: true, kind: "up-to-date" };
  if (lcas.length === 1 && lcas[0] === a) return { ok: true, kind: "fast-forward", head: b };
  const base = await virtualAncestor(ctx, lcas, options, 0);
  const ta = Node.stored((await readCommit(ctx, a)).tree);
  const tb = Node.stored((await readCommit(ctx, b)).tree);
  const r = await mergeTrees(ctx, base, ta, tb, options);
  return r.ok ? { ok: true, kind: "merge", tree: r.node } : { ok: false, conflicts: r.conflicts };
}

/**
 * One tree standing for several common ancestors, as git's recursive strategy builds it: taken in
 * a fixed order (by id, so that merging either way builds the same tree), each is merged into what
 * was merged so far against the common ancestors of the two (those of the commits merged so far
 * and this one; recursively), conflicting entries keeping that ancestor's version. Against the
 * ancestors of the first commit alone, history shared with a later one would count twice.
 */
async function virtualAncestor<V>(ctx: TreeContext, lcas: Hash[], options: CommitMergeOptions<V>, level: number): Promise<Node | undefined> {
  if (lcas.length === 0) return undefined;
  const commits = [...lcas].sort();
  let node = Node.stored((await readCommit(ctx, commits[0])).tree);
  for (let i = 1; i < commits.length; i++) {
    const found = await lowestCommonAncestors(ctx, commits.slice(0, i), commits[i], { maxDepth: options.maxDepth });
    const base = found.ok && level < 32 ? await virtualAncestor(ctx, found.lcas, options, level + 1) : undefined;
    const other = Node.stored((await readCommit(ctx, commits[i])).tree);
    const r = await mergeTrees(ctx, base, node, other, { ...options, onConflict: "base" });
    if (r.ok) node = r.node;
  }
  return node;
}
