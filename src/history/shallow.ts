/**
 * The shallow boundary as the history layer sees it: commits of a shallow clone whose parents were
 * not fetched. `readCommit` gives them no parents (as git shows them: grafted roots), so history
 * walks, merge bases and merges stop there instead of failing on a missing object.
 */
import type { Hash } from "../core/hash.js";
import type { TreeContext } from "../tree/node.js";

const boundaries = new WeakMap<TreeContext, ReadonlySet<Hash>>();
const NONE: ReadonlySet<Hash> = new Set();

/** The shallow commits known for this repository (empty for a complete one). */
export function shallowCommits(ctx: TreeContext): ReadonlySet<Hash> {
  return boundaries.get(ctx) ?? NONE;
}

/** Records the shallow commits of this repository (after opening it, and after each fetch). */
export function setShallowCommits(ctx: TreeContext, hashes: Iterable<Hash>): void {
  const set = new Set(hashes);
  if (set.size === 0) boundaries.delete(ctx);
  else boundaries.set(ctx, set);
}
