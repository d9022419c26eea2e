import { invalidArgument } from "../core/errors.js";
import type { Hash } from "../core/hash.js";
import { MaxHeap } from "../core/max-heap.js";
import type { TreeContext } from "../tree/node.js";
import { readCommit, type CommitNode } from "./commits.js";

/** Options of {@link lowestCommonAncestors}. */
export interface LcaOptions {
  /**
   * How many generations below the two heads the search may read (default unbounded). 0 reads
   * only the heads: it finds their ancestor only when they are equal (a fast-forward over k
   * commits needs at least k).
   */
  readonly maxDepth?: number;
  /** Most common ancestors accepted (default unbounded). */
  readonly limit?: number;
}

/**
 * Throws `INVALID_ARGUMENT` unless `value` is `undefined` (no bound), a non-negative integer or
 * `Infinity`: a NaN, a string or a negative bound would otherwise silently mean something else.
 */
export function checkBound(value: unknown, what: string): void {
  if (value === undefined || value === Infinity) return;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0) {
    throw invalidArgument(`${what} must be a non-negative integer or Infinity, got ${typeof value === "number" ? String(value) : JSON.stringify(value) ?? typeof value}`);
  }
}

/** The lowest common ancestors, or why the search gave up. */
export type LcaResult = { ok: true; lcas: Hash[] } | { ok: false; reason: "max-depth" | "too-many-lcas" };

const P1 = 1;
const P2 = 2;
const STALE = 4;
const RESULT = 8;

/** Commits by committer time, newest first, as Git walks history without a commit-graph. */
const commitQueue = () => new MaxHeap<CommitNode>((commit) => commit.time);

/**
 * The lowest common ancestors of `a` and `b`: common ancestors none of whose descendants is also
 * a common ancestor (one for a linear or simple forked history, several after criss-cross merges).
 * Walks both histories newest first until only commits below every candidate remain, so the cost
 * grows with the commits since the fork, not with the length of history. With `maxDepth`, walks
 * to no parent of a commit `maxDepth` generations below a head, and answers `max-depth` only when
 * a common ancestor might lie below such a commit.
 */
export async function lowestCommonAncestors(ctx: TreeContext, a: Hash | readonly Hash[], b: Hash, options: LcaOptions = {}): Promise<LcaResult> {
  checkBound(options.maxDepth, "maxDepth");
  checkBound(options.limit, "limit");
  const maxDepth = options.maxDepth ?? Infinity;
  const limit = options.limit ?? Infinity;
  // Several commits on the first side: the common ancestors of `b` and any of them (those of a
  // commit whose parents they are, as git's merge_bases_many).
  const firsts = [...new Set(typeof a === "string" ? [a] : a)];
  if (firsts.includes(b)) return { ok: true, lcas: [b] };
  const flags = new Map<Hash, number>();
  const queue = commitQueue();
  for (const h of firsts) {
    flags.set(h, P1);
    queue.push(await readCommit(ctx, h));
  }
  flags.set(b, P2);
  queue.push(await readCommit(ctx, b));
  const results: CommitNode[] = [];
  // With a bound: each commit's fewest generations below a head. The walk goes by time, not by
  // depth, so a shorter path may turn up later; the commit is then walked again from there.
  const bounded = maxDepth !== Infinity;
  const depthOf = new Map<Hash, number>([...firsts, b].map((h) => [h, 0]));
  // Commits at maxDepth whose parents were not walked (see the check after the walk).
  const truncated = new Map<Hash, CommitNode>();
  const nonStale = () => queue.items().some((c) => (flags.get(c.hash)! & STALE) === 0);
  while (nonStale()) {
    const commit = queue.pop()!;
    let f = flags.get(commit.hash)!;
    if ((f & (P1 | P2)) === (P1 | P2)) {
      if ((f & (RESULT | STALE)) === 0) results.push(commit);
      f |= RESULT | STALE;
      flags.set(commit.hash, f);
    }
    const bits = f & (P1 | P2 | STALE);
    const depth = bounded ? depthOf.get(commit.hash)! : 0;
    if (commit.parents.length > 0 && depth >= maxDepth && (f & STALE) === 0) {
      // Not an answer yet: the other side may still reach it, so decide at the end.
      truncated.set(commit.hash, commit);
      continue;
    }
    truncated.delete(commit.hash);
    for (const p of commit.parents) {
      const pf = flags.get(p) ?? 0;
      const closer = bounded && depth + 1 < (depthOf.get(p) ?? Infinity);
      if ((pf & bits) === bits && !closer) continue;
      flags.set(p, pf | bits);
      if (closer) depthOf.set(p, depth + 1);
      queue.push(await readCommit(ctx, p));
    }
  }
  // A commit left at the bound hides nothing when it ended below a common ancestor, or when each of
  // its parents is, or was reached with its marks anyway (walking it would have added nothing).
  const stale = (h: Hash) => ((flags.get(h) ?? 0) & STALE) !== 0;
  for (const c of truncated.values()) {
    if (stale(c.hash)) continue;
    const bits = flags.get(c.hash)! & (P1 | P2);
    if (c.parents.some((p) => !stale(p) && ((flags.get(p) ?? 0) & bits) !== bits)) return { ok: false, reason: "max-depth" };
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
