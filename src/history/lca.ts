import type { Hash } from "../core/hash.js";
import { MaxHeap } from "../core/max-heap.js";
import type { TreeContext } from "../tree/node.js";
import { readCommit, type CommitNode } from "./commits.js";

/** Options of {@link lowestCommonAncestors}. */
export interface LcaOptions {
  /** How many generations below the two heads the search may go (default unbounded). */
  readonly maxDepth?: number;
  /** Most common ancestors accepted (default unbounded). */
  readonly limit?: number;
}

/** The lowest common ancestors, or why the search gave up. */
export type LcaResult = { ok: true; lcas: Hash[] } | { ok: false; reason: "max-depth" | "too-many-lcas" };

const P1 = 1;
const P2 = 2;
const STALE = 4;
const RESULT = 8;

interface Item {
  commit: CommitNode;
  depth: number;
}

/** Commits by committer time, newest first, as Git walks history without a commit-graph. */
const commitQueue = () => new MaxHeap<Item>((item) => item.commit.time);

/**
 * The lowest common ancestors of `a` and `b`: common ancestors none of whose descendants is also
 * a common ancestor (one for a linear or simple forked history, several after criss-cross merges).
 * Walks both histories newest first until only commits below every candidate remain, so the cost
 * grows with the commits since the fork, not with the length of history.
 */
export async function lowestCommonAncestors(ctx: TreeContext, a: Hash, b: Hash, options: LcaOptions = {}): Promise<LcaResult> {
  const maxDepth = options.maxDepth ?? Infinity;
  const limit = options.limit ?? Infinity;
  if (a === b) return { ok: true, lcas: [a] };
  const flags = new Map<Hash, number>();
  const queue = commitQueue();
  flags.set(a, P1);
  flags.set(b, P2);
  queue.push({ commit: await readCommit(ctx, a), depth: 0 });
  queue.push({ commit: await readCommit(ctx, b), depth: 0 });
  const results: CommitNode[] = [];
  const nonStale = () => queue.items().some((it) => (flags.get(it.commit.hash)! & STALE) === 0);
  while (nonStale()) {
    const { commit, depth } = queue.pop()!;
    let f = flags.get(commit.hash)!;
    if ((f & (P1 | P2)) === (P1 | P2)) {
      if ((f & (RESULT | STALE)) === 0) results.push(commit);
      f |= RESULT | STALE;
      flags.set(commit.hash, f);
    }
    const bits = f & (P1 | P2 | STALE);
    if (commit.parents.length > 0 && depth >= maxDepth && (f & STALE) === 0) return { ok: false, reason: "max-depth" };
    for (const p of commit.parents) {
      const pf = flags.get(p) ?? 0;
      if ((pf & bits) === bits) continue;
      flags.set(p, pf | bits);
      queue.push({ commit: await readCommit(ctx, p), depth: depth + 1 });
    }
  }
  const lcas = await removeRedundant(ctx, results);
  if (lcas.length > limit) return { ok: false, reason: "too-many-lcas" };
  return { ok: true, lcas: lcas.map((c) => c.hash) };
}

/** Drops candidates that are ancestors of other candidates. */
async function removeRedundant(ctx: TreeContext, candidates: CommitNode[]): Promise<CommitNode[]> {
  if (candidates.length < 2) return candidates;
  const out: CommitNode[] = [];
  for (const c of candidates) {
    let redundant = false;
    for (const other of candidates) {
      if (other !== c && (await isAncestor(ctx, c, other.hash))) {
        redundant = true;
        break;
      }
    }
    if (!redundant) out.push(c);
  }
  return out;
}

/**
 * Whether `ancestor` is reachable from `descendant` (or equal to it). Does not go below commits
 * older than `ancestor`, as Git does without generation numbers.
 */
export async function isAncestor(ctx: TreeContext, ancestor: CommitNode, descendant: Hash): Promise<boolean> {
  const seen = new Set<Hash>([descendant]);
  const stack = [descendant];
  while (stack.length > 0) {
    const h = stack.pop()!;
    if (h === ancestor.hash) return true;
    const c = await readCommit(ctx, h);
    if (c.time < ancestor.time) continue;
    for (const p of c.parents) {
      if (!seen.has(p)) {
        seen.add(p);
        stack.push(p);
      }
    }
  }
  return false;
}
