/**
 * The merge of every data type, found through the marker of its subtree. This is the tree merge's
 * node hook (see `NodeMergeHook`): a directory changed on both sides that describes itself as a data
 * type is merged by that type, which never conflicts.
 */
import type { Node, TreeContext } from "../tree/node.js";
import type { NodeMergeHook } from "../tree/tree-merge.js";
import { mergeCounters } from "./counter.js";
import { mergeLogs } from "./log.js";
import { typeOf, type DataTypeName } from "./marker.js";
import { mergeQueues } from "./queue.js";
import { mergeRegisters } from "./register.js";
import { mergeSets } from "./set.js";
import { mergeTexts } from "./text.js";

/**
 * A data type's 3-way merge: `old` is the common ancestor's subtree (`undefined` when it did not
 * exist there, or was something else). Must converge: the result may not depend on the order of
 * `a` and `b`.
 */
export type DataTypeMerge = (ctx: TreeContext, old: Node | undefined, a: Node, b: Node) => Promise<Node>;

const merges: Record<DataTypeName, DataTypeMerge> = {
  counter: mergeCounters,
  register: mergeRegisters,
  set: mergeSets,
  text: mergeTexts,
  log: mergeLogs,
  queue: mergeQueues,
};

/**
 * A node hook for `mergeTrees` that merges data type subtrees with their own merge. A data type on
 * one side and a plain directory or another data type on the other is a conflict at its path: the
 * subtree belongs to the type, and merging it entry by entry would mix the two.
 */
export function dataTypeMergeHook(ctx: TreeContext): NodeMergeHook {
  return async (_path, old, a, b) => {
    const type = await typeOf(ctx, a);
    const other = await typeOf(ctx, b);
    if (type === undefined && other === undefined) return undefined;
    if (type === undefined || other !== type) {
      return { conflict: `${type === undefined ? "a directory" : `a ${type}`} on one side and ${other === undefined ? "a directory" : `a ${other}`} on the other` };
    }
    const merge = merges[type];
    const base = old !== undefined && (await typeOf(ctx, old)) === type ? old : undefined;
    return merge(ctx, base, a, b);
  };
}
