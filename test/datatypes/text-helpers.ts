/** Helpers for the text rope tests: a memory tree context, an invariant checker and a rope builder. */
export { prng } from "../../bench/harness.js";
import { memoryBackend } from "../../src/backends/memory/memory-backend.js";
import { TreeContext, type Node } from "../../src/tree/node.js";
import { isWellFormed } from "../../src/codec/utf8.js";
import { LEAF_MAX, LEAF_MIN, MAX_FANOUT } from "../../src/datatypes/text/chunking.js";
import { spliceRope } from "../../src/datatypes/text/rope-edit.js";
import { childItems, leafString, loadItems, textNode, type Item } from "../../src/datatypes/text/rope-node.js";

/** A fresh tree context over an in-memory object store. */
export function memoryContext(): TreeContext {
  const objects = memoryBackend().objects;
  return new TreeContext(objects, objects.algorithm);
}

/** The canonical text subtree of `text`, built from nothing. */
export async function buildText(ctx: TreeContext, text: string): Promise<Node> {
  return textNode(ctx, await spliceRope(ctx, [], 0, 0, text));
}

/** What {@link checkRope} found. */
export interface RopeShape {
  readonly text: string;
  /** Levels of trees under the text's subtree (0: leaves directly in it). */
  readonly height: number;
  readonly leaves: number;
}

/**
 * Walks the whole rope and throws on any broken invariant: leaves valid UTF-8 of the length their
 * name says, sizes within bounds (all but the last leaf at least LEAF_MIN), fan-out within bounds,
 * all leaves at the same depth, and the shape canonical (equal to the rope built from its text).
 */
export async function checkRope(ctx: TreeContext, node: Node): Promise<RopeShape> {
  const leaves: string[] = [];
  let leafDepth: number | undefined;
  const walk = async (items: Item[], depth: number, isTop: boolean): Promise<void> => {
    if (!isTop && (items.length < 1 || items.length > MAX_FANOUT)) throw new Error(`fan-out ${items.length}`);
    if (isTop && items.length > MAX_FANOUT) throw new Error(`top fan-out ${items.length}`);
    for (const item of items) {
      if (item.child.kind === "contents") {
        if (leafDepth === undefined) leafDepth = depth;
        if (leafDepth !== depth) throw new Error("leaves at different depths");
        const s = await leafString(ctx, item);
        if (!isWellFormed(s)) throw new Error("leaf not well formed");
        if (s.length === 0 || s.length > LEAF_MAX) throw new Error(`leaf size ${s.length}`);
        leaves.push(s);
      } else {
        await walk(await childItems(ctx, item), depth + 1, false);
      }
    }
  };
  await walk(await loadItems(ctx, node, true), 0, true);
  for (let i = 0; i + 1 < leaves.length; i++) if (leaves[i].length < LEAF_MIN) throw new Error(`short leaf ${i}: ${leaves[i].length}`);
  const text = leaves.join("");
  const canonical = await buildText(ctx, text);
  if ((await ctx.hashNode(canonical)) !== (await ctx.hashNode(node))) throw new Error("rope shape is not the canonical one for its text");
  return { text, height: leafDepth ?? 0, leaves: leaves.length };
}

/** `n` code units of pseudo-random words and lines (ASCII plus a few astral characters when `astral`). */
export function randomText(rnd: () => number, n: number, astral = false): string {
  const words = ["lorem", "ipsum", "dolor", "sit", "amet", "rope", "merge", "git", "tree", "blob", "é", "ß"];
  let s = "";
  while (s.length < n) {
    const r = rnd();
    if (astral && r < 0.05) s += "😀";
    else if (r < 0.15) s += "\n";
    else s += words[Math.floor(rnd() * words.length)] + " ";
  }
  s = s.slice(0, n);
  return isWellFormed(s) ? s : s.slice(0, n - 1);
}
