/**
 * Trees of another repository grafted into this one (`setTree` with a `Tree` read from another
 * `Repo`). The objects the other repository had already stored are only in its store: they are
 * copied here first, so that committing the graft never names an object this repository lacks.
 * Its in-memory directories are copied too (their entries, not their values): nodes are marked
 * stored, and their blob bytes dropped, by the write of the repository that commits them, so a
 * node shared by two repositories would look written to the one that did not write it.
 */
import { corrupt, invalidArgument } from "../core/errors.js";
import type { Hash } from "../core/hash.js";
import type { RawObject } from "../codec/object.js";
import { decodeTree, treeModeType } from "../codec/tree.js";
import { Node, type Child, type TreeContext } from "./node.js";

/**
 * `node` (a tree of `theirs`) as a tree of `ours`: every object under it that `theirs` holds and
 * `ours` lacks is copied into `ours`, in one batch; its stored subtrees are shared as they are
 * (never changed once stored), its in-memory directories are copied, keeping their new trees and
 * pending blobs for the commit that writes the graft, as for any tree. A stored subtree found in
 * `ours` is not walked (a store holds what its trees name). A copied directory is encoded whole
 * by `ours` (it cannot be spliced from an encoding only `theirs` knows). Throws
 * `INVALID_ARGUMENT` when the repositories use different hash algorithms. Cost: O(the part of
 * `node` missing from `ours` + its in-memory part), held in memory until written.
 */
export async function importNode(ours: TreeContext, theirs: TreeContext, node: Node): Promise<Node> {
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

  // The same in-memory directory at several paths is copied once, and stays shared.
  const adopted = new Map<Node, Node>();
  const adopt = async (n: Node): Promise<Node> => {
    if (n.stored) {
      await copy(n.hash!, "tree");
      return n;
    }
    const known = adopted.get(n);
    if (known !== undefined) return known;
    const entries = new Map<string, Child>();
    for (const [name, child] of await theirs.load(n)) {
      if (child.kind === "node") {
        entries.set(name, { ...child, node: await adopt(child.node) });
        continue;
      }
      if (child.pending === undefined && treeModeType(child.mode) === "blob") await copy(child.hash, "blob");
      entries.set(name, child);
    }
    const mine = Node.fromEntries(entries);
    adopted.set(n, mine);
    return mine;
  };

  const mine = await adopt(node);
  if (batch.length > 0) {
    ours.stats.writes += batch.length;
    await ours.objects.putMany(batch);
  }
  return mine;
}
