/**
 * The check git calls `check_connected` after a fetch: everything the fetched refs reach is now
 * present, so a remote that advertises a ref and then sends a pack without it (or without some of
 * its trees or blobs) is caught before any ref moves. Only received commits and trees are read;
 * references to objects that were already present are checked with `has`.
 */
import { corrupt, isIrminError } from "../../core/errors.js";
import type { Hash, HashAlgorithm } from "../../core/hash.js";
import type { ObjectStore } from "../../backend/object-store.js";
import { decodeCommit } from "../../codec/commit.js";
import { decodeTag } from "../../codec/tag.js";
import { decodeTree, MODE_GITLINK, treeModeType } from "../../codec/tree.js";
import type { PackLinks } from "../pack-receive.js";

/**
 * Throws `CORRUPT` when a want, or an object reachable from a want through the `received` objects,
 * is missing from `objects` (`received` may be a function, called only when the walk is needed).
 * Commits in `shallow` need not have their parents. With `links` (what
 * the received pack names outside itself), a pack that is shown complete that way costs no read;
 * otherwise: one read per received commit, tree and tag reachable from the wants, one `has` per
 * reference leaving them.
 */
export async function checkConnected(objects: ObjectStore, algorithm: HashAlgorithm, wants: readonly Hash[], received: readonly Hash[] | (() => readonly Hash[]), shallow: ReadonlySet<Hash>, links?: PackLinks): Promise<void> {
  if (links !== undefined && (await selfContained(objects, wants, links, shallow))) return;
  const fresh = new Set(typeof received === "function" ? received() : received);
  await walk(objects, algorithm, wants, (h) => fresh.has(h), shallow);
}

/**
 * The quick form of the check, from what the received pack references outside itself (see
 * `receivePack`): when every want is stored and everything the received objects name outside
 * the pack is present (parents of `shallow` commits excepted), whatever the wants reach is
 * present, with no object read. False means "not shown": the walk decides then (it is more
 * precise: an unreachable received object may name a missing one). Cost: one `has` per want
 * and per outside reference.
 */
async function selfContained(objects: ObjectStore, wants: readonly Hash[], links: PackLinks, shallow: ReadonlySet<Hash>): Promise<boolean> {
  for (const w of wants) if (!(await objects.has(w))) return false;
  for (const h of links.outside) if (!(await objects.has(h))) return false;
  for (const [commit, parent] of links.outsideParents) if (!shallow.has(commit) && !(await objects.has(parent))) return false;
  return true;
}

/**
 * Whether everything `wants` reach is present, walking down to the objects reachable from `tips`
 * (local refs, whose closure is complete: no ref moves before its objects are checked). This is
 * git's "quickfetch": objects left behind by a failed fetch are not taken for a complete history.
 * Cost: O(1) when every want is a tip; otherwise the objects between the wants and the tips.
 */
export async function isConnected(objects: ObjectStore, algorithm: HashAlgorithm, wants: readonly Hash[], tips: ReadonlySet<Hash>, shallow: ReadonlySet<Hash>): Promise<boolean> {
  try {
    await walk(objects, algorithm, wants, (h) => !tips.has(h), shallow);
    return true;
  } catch (e) {
    if (isIrminError(e, "CORRUPT") || isIrminError(e, "NOT_FOUND")) return false;
    throw e;
  }
}

async function walk(objects: ObjectStore, algorithm: HashAlgorithm, wants: readonly Hash[], toRead: (h: Hash) => boolean, shallow: ReadonlySet<Hash>): Promise<void> {
  const fresh = { has: toRead };
  const visited = new Set<Hash>();
  const queue: Hash[] = [];
  const need = async (h: Hash, from: string, isBlob = false): Promise<void> => {
    if (visited.has(h)) return;
    visited.add(h);
    // A received blob references nothing: no need to read it.
    if (fresh.has(h) && !isBlob) queue.push(h);
    else if (!(await objects.has(h))) throw corrupt(`the remote did not send ${h} (${from})`);
  };
  for (const w of wants) await need(w, "a ref it advertised");
  while (queue.length > 0) {
    const h = queue.pop()!;
    const o = await objects.get(h);
    if (o === undefined) throw corrupt(`object ${h} is missing`);
    if (o.type === "commit") {
      const c = decodeCommit(o.data, algorithm);
      await need(c.tree, `tree of ${h}`);
      if (!shallow.has(h)) for (const p of c.parents) await need(p, `parent of ${h}`);
    } else if (o.type === "tree") {
      for (const e of decodeTree(o.data, algorithm)) if (e.mode !== MODE_GITLINK) await need(e.hash, `entry ${e.name} of tree ${h}`, treeModeType(e.mode) === "blob");
    } else if (o.type === "tag") {
      await need(decodeTag(o.data, algorithm).object, `target of tag ${h}`);
    }
  }
}
