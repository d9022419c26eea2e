/**
 * The shallow boundary of a fetch: which commits the receiver gets without their parents, and
 * which of its shallow commits get their parents at last. The four ways a fetch limits history
 * (`man 5 gitprotocol-v2`: `deepen`, `deepen-relative`, `deepen-since`, `deepen-not`) and the
 * sender's own shallow boundary (a shallow repository serves down to it, and the receiver becomes
 * shallow there too, as with git's upload-pack), on the `ObjectStore` contract only.
 */
import { corrupt, IrminError, invalidArgument } from "../core/errors.js";
import type { Hash, HashAlgorithm } from "../core/hash.js";
import type { ObjectStore } from "../backend/object-store.js";
import { decodeCommit } from "../codec/commit.js";
import { decodeTag } from "../codec/tag.js";

/** git's "infinite" depth (INT_MAX): `git fetch --unshallow` sends it; any larger depth means the same. */
export const INFINITE_DEPTH = 2147483647;

/** How a shallow fetch limits the history it receives. `depth` excludes `since` and `not`. */
export interface DeepenRequest {
  /** At most this many commits along each line of history from the wants (at least 1). */
  readonly depth?: number;
  /** With `depth`: count it below the receiver's current shallow commits instead (`git fetch --deepen`). */
  readonly relative?: boolean;
  /** Only commits whose committer time is at or after this many seconds since the epoch. */
  readonly since?: number;
  /** Only commits not reachable from these. */
  readonly not?: readonly Hash[];
}

/** A shallow boundary update, as sent in `shallow` and `unshallow` lines. */
export interface ShallowUpdate {
  /** Commits the receiver gets without their parents and did not already have as shallow. */
  shallow: Hash[];
  /** The receiver's shallow commits whose parents it now gets. */
  unshallow: Hash[];
}

/** True when `deepen` asks for a limited history (something to compute a boundary for). */
export function isDeepening(deepen: DeepenRequest | undefined): deepen is DeepenRequest {
  return deepen !== undefined && (deepen.depth !== undefined || deepen.since !== undefined || deepen.not !== undefined);
}

/**
 * The boundary of a fetch of `wants` (tags peeled) limited by `deepen`, for a receiver whose
 * shallow commits are `clientShallow`, from a store whose own shallow commits are `ownShallow`
 * (walked as roots; each one reached is a shallow commit for the receiver too). Without
 * `deepen`, only the sender's boundary limits the history. NOT_FOUND for a missing want;
 * INVALID_ARGUMENT for a bad request, or when `since`/`not` leave no commit at all (git: "no
 * commits selected for shallow requests"). Cost: the commits within the limit, plus the history
 * reachable from `not`.
 */
export async function shallowBoundary(objects: ObjectStore, algorithm: HashAlgorithm, wants: readonly Hash[], deepen: DeepenRequest | undefined, clientShallow: readonly Hash[] = [], ownShallow: readonly Hash[] = []): Promise<ShallowUpdate> {
  const own = new Set(ownShallow);
  const client = new Set(clientShallow);
  const request: DeepenRequest = isDeepening(deepen) ? deepen : { depth: INFINITE_DEPTH };
  const { depth, since, not } = request;
  if (depth !== undefined && (!Number.isSafeInteger(depth) || depth < 1)) throw invalidArgument(`bad depth ${depth}`);
  if (depth !== undefined && (since !== undefined || not !== undefined)) throw invalidArgument("deepen and deepen-since (or deepen-not) cannot be used together");
  const cache = new Map<Hash, { parents: readonly Hash[]; time: number }>();
  const read = async (hash: Hash) => {
    let c = cache.get(hash);
    if (c === undefined) {
      const o = await objects.get(hash);
      if (o === undefined) throw new IrminError("NOT_FOUND", `commit ${hash} is not in the object store`);
      if (o.type !== "commit") throw corrupt(`object ${hash} is a ${o.type}, expected a commit`);
      const d = decodeCommit(o.data, algorithm);
      cache.set(hash, (c = { parents: d.parents, time: d.committer.timestamp }));
    }
    return c;
  };
  // The parents a walk follows: none beyond this store's own boundary.
  const parents = async (hash: Hash) => (own.has(hash) ? [] : (await read(hash)).parents);
  const commits: Hash[] = [];
  for (const w of wants) {
    const c = await peelToCommit(objects, algorithm, w);
    if (c !== undefined) commits.push(c);
  }
  const shallow: Hash[] = [];
  const unshallow: Hash[] = [];
  if (depth !== undefined) {
    // Relative: `depth` more commits below each of the receiver's shallow commits this store has.
    const starts: Hash[] = [];
    if (request.relative === true) {
      for (const h of client) if (await objects.has(h)) starts.push(h);
    } else starts.push(...commits);
    const limit = request.relative === true ? Math.min(depth + 1, INFINITE_DEPTH) : depth;
    for (const [hash, level] of await depthLevels(parents, starts, limit)) {
      if (own.has(hash) || (level === limit && (await read(hash)).parents.length > 0)) {
        if (!client.has(hash)) shallow.push(hash);
      } else if (level < limit && client.has(hash)) unshallow.push(hash);
    }
    return { shallow, unshallow };
  }
  // deepen-since / deepen-not: the commits kept, then the kept ones with a parent left out.
  const excluded = new Set<Hash>();
  const stack: Hash[] = [];
  for (const h of not ?? []) {
    const c = await peelToCommit(objects, algorithm, h);
    if (c !== undefined) stack.push(c);
  }
  while (stack.length > 0) {
    const h = stack.pop()!;
    if (excluded.has(h)) continue;
    excluded.add(h);
    for (const p of await parents(h)) if (!excluded.has(p) && (await objects.has(p))) stack.push(p);
  }
  const kept = new Set<Hash>();
  stack.push(...commits);
  while (stack.length > 0) {
    const h = stack.pop()!;
    if (kept.has(h) || excluded.has(h)) continue;
    if (since !== undefined && (await read(h)).time < since) continue;
    kept.add(h);
    stack.push(...(await parents(h)));
  }
  if (kept.size === 0) throw invalidArgument("no commits selected for shallow requests");
  for (const h of kept) {
    const border = own.has(h) || (await read(h)).parents.some((p) => !kept.has(p));
    if (border) {
      if (!client.has(h)) shallow.push(h);
    } else if (client.has(h)) unshallow.push(h);
  }
  return { shallow, unshallow };
}

/** The commit a tag chain from `hash` ends at; undefined when it ends at another kind of object. */
async function peelToCommit(objects: ObjectStore, algorithm: HashAlgorithm, hash: Hash): Promise<Hash | undefined> {
  for (let hops = 0; hops < 64; hops++) {
    const o = await objects.get(hash);
    if (o === undefined) throw new IrminError("NOT_FOUND", `wanted object ${hash} is not in the object store`);
    if (o.type === "commit") return hash;
    if (o.type !== "tag") return undefined;
    hash = decodeTag(o.data, algorithm).object;
  }
  throw corrupt(`tag chain from ${hash} is longer than 64`);
}

/** Each commit within `depth` levels of `starts` (level 1), by its smallest level. */
async function depthLevels(parents: (h: Hash) => Promise<readonly Hash[]>, starts: readonly Hash[], depth: number): Promise<Map<Hash, number>> {
  const levels = new Map<Hash, number>();
  let frontier = [...new Set(starts)];
  for (const w of frontier) levels.set(w, 1);
  for (let level = 1; level < depth && frontier.length > 0; level++) {
    const next: Hash[] = [];
    for (const h of frontier) {
      for (const p of await parents(h)) {
        if (levels.has(p)) continue;
        levels.set(p, level + 1);
        next.push(p);
      }
    }
    frontier = next;
  }
  return levels;
}
