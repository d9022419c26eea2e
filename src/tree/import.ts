/**
 * Trees of another repository grafted into this one (`setTree` with a `Tree` read from another
 * `Repo`): the nodes are shared as they are, but the objects the other repository had already
 * stored are only in its store. They are copied here first, so that committing the graft never
 * names an object this repository lacks.
 */
import { corrupt, invalidArgument } from "../core/errors.js";
import type { Hash } from "../core/hash.js";
import type { RawObject } from "../codec/object.js";
import { decodeTree, treeModeType } from "../codec/tree.js";
import type { Node, TreeContext } from "./node.js";

/**
 * Copies into `ours` every object under `node` (a tree of `theirs`) that `theirs` holds and
 * `ours` lacks, in one batch; the in-memory parts of `node` (new trees, pending blobs) are left
 * to the commit that writes the graft, as for any tree. A stored subtree found in `ours` is not
 * walked (a store holds what its trees name). Throws `INVALID_ARGUMENT` when the repositories use
 * different hash algorithms. Cost: O(the part of `node` missing from `ours`), held in memory
 * until written.
 */
export async function importNode(ours: TreeContext, theirs: TreeContext, node: Node): Promise<void> {
  if (ours.algorithm !== theirs.algorithm) {
    throw invalidArgument(`cannot graft a ${theirs.algorithm} tree into a ${ours.algorithm} repository`);
  }
  const batch: RawObject[] = [];
  const seen = new Set<Hash>();

  const copy = async (hash: Hash, type: "tree" | "blob"): Promise<void> => {
    if (seen.has(hash)) return;
    seen.add(hash);
    if (await ours.objects.has(hash)) return;
    const o = await theirs.read(hash, type);
    if (o.type !== type) throw corrupt(`object ${hash} is a ${o.type}, expected a ${type}`);
    if (type === "tree") {
      for (const e of decodeTree(o.data, ours.algorithm)) {
        const t = treeModeType(e.mode);
        // Gitlinks name commits of other repositories: nothing to copy.
        if (t === "tree" || t === "blob") await copy(e.hash, t);
      }
    }
    batch.push(o);
  };

  const visit = async (n: Node): Promise<void> => {
    if (n.stored) return copy(n.hash!, "tree");
    for (const child of (await theirs.load(n)).values()) {
      if (child.kind === "node") await visit(child.node);
      else if (child.pending === undefined && treeModeType(child.mode) === "blob") await copy(child.hash, "blob");
    }
  };

  await visit(node);
  if (batch.length > 0) {
    ours.stats.writes += batch.length;
    await ours.objects.putMany(batch);
  }
}
