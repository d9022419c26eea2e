import type { Branch } from "../../src/store/branch.js";
import type { Tree } from "../../src/tree/tree.js";

/**
 * Edits the inside of the data type at `at` as another tool could (the store refuses writes inside
 * a data type): its subtree is changed as a plain tree and put back whole, at its own path.
 */
export async function inside<V>(branch: Branch<V>, at: string, edit: (t: Tree<V>) => Promise<Tree<V>>): Promise<void> {
  const sub = await (await branch.tree()).subtree(at);
  await branch.setTree(at, await edit(sub!));
}
