/**
 * Whether one commit is an ancestor of another, on any object store: the fast-forward check of a
 * push. Walks back from the descendant newest first and stops below the ancestor's commit time
 * (with a day of slack for skewed clocks), so the cost is the commits in between, not the history.
 */
import type { Hash, HashAlgorithm } from "../../core/hash.js";
import type { ObjectStore } from "../../backend/object-store.js";
import { decodeCommit } from "../../codec/commit.js";

const SLACK_SECONDS = 86_400;

/** True when `ancestor` is `descendant` or reachable from it; false when either is absent or not a commit. */
export async function isAncestor(objects: ObjectStore, algorithm: HashAlgorithm, ancestor: Hash, descendant: Hash, maxCommits = 1_000_000): Promise<boolean> {
  if (ancestor === descendant) return true;
  const read = async (h: Hash) => {
    const o = await objects.get(h);
    return o?.type === "commit" ? decodeCommit(o.data, algorithm) : undefined;
  };
  const target = await read(ancestor);
  if (target === undefined) return false;
  const cutoff = target.committer.timestamp - SLACK_SECONDS;
  const seen = new Set<Hash>([descendant]);
  let frontier: Hash[] = [descendant];
  for (let visited = 0; frontier.length > 0 && visited < maxCommits; ) {
    const next: Hash[] = [];
    for (const h of frontier) {
      visited++;
      const c = await read(h);
      if (c === undefined || c.committer.timestamp < cutoff) continue;
      for (const p of c.parents) {
        if (p === ancestor) return true;
        if (!seen.has(p)) {
          seen.add(p);
          next.push(p);
        }
      }
    }
    frontier = next;
  }
  return false;
}
