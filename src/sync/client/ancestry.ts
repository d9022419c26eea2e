/**
 * Whether one commit is an ancestor of another, on any object store: the fast-forward check of a
 * push. Walks back from the descendant newest first. Commit times only order the walk, they never
 * cut it short: a clock that went back (a child dated before its parent) must not turn a
 * fast-forward into a rejection, and the store has no generation numbers to cut on safely. A
 * fast-forward is usually found after the commits in between; a non-fast-forward reads up to the
 * whole history reachable from the descendant (at most `maxCommits` commits).
 */
import type { Hash, HashAlgorithm } from "../../core/hash.js";
import { MaxHeap } from "../../core/max-heap.js";
import type { ObjectStore } from "../../backend/object-store.js";
import { decodeCommit } from "../../codec/commit.js";

/**
 * True when `ancestor` is `descendant` or reachable from it; false when either is absent or not a
 * commit, and when it is not found within `maxCommits` commits. Commits missing from the store
 * (beyond a shallow boundary) end their line of the walk.
 */
export async function isAncestor(objects: ObjectStore, algorithm: HashAlgorithm, ancestor: Hash, descendant: Hash, maxCommits = 1_000_000): Promise<boolean> {
  if (ancestor === descendant) return true;
  const read = async (h: Hash) => {
    const o = await objects.get(h);
    return o?.type === "commit" ? decodeCommit(o.data, algorithm) : undefined;
  };
  if ((await read(ancestor)) === undefined) return false;
  const start = await read(descendant);
  if (start === undefined) return false;
  const seen = new Set<Hash>([descendant]);
  const queue = new MaxHeap<{ parents: readonly Hash[]; time: number }>((c) => c.time);
  queue.push({ parents: start.parents, time: start.committer.timestamp });
  for (let visited = 0; queue.length > 0 && visited < maxCommits; visited++) {
    for (const p of queue.pop()!.parents) {
      if (p === ancestor) return true;
      if (seen.has(p)) continue;
      seen.add(p);
      const c = await read(p);
      if (c !== undefined) queue.push({ parents: c.parents, time: c.committer.timestamp });
    }
  }
  return false;
}
