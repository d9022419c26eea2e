/** Small helpers for the blobs inside a data type's subtree. */
import { corrupt } from "../core/errors.js";
import { contentsChild, type Child, type Node, type TreeContext } from "../tree/node.js";

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/** The bytes of the blob `name` in `node`, or `undefined` when absent; CORRUPT when a directory is there. */
export async function leafBytes(ctx: TreeContext, node: Node, name: string): Promise<Uint8Array | undefined> {
  const child = (await ctx.load(node)).get(name);
  if (child === undefined) return undefined;
  if (child.kind !== "contents") throw corrupt(`${name} in a data type subtree is a directory, expected a value`);
  return ctx.contentsBytes(child);
}

/** The UTF-8 text of the blob `name` in `node`, or `undefined` when absent. */
export async function leafText(ctx: TreeContext, node: Node, name: string): Promise<string | undefined> {
  const bytes = await leafBytes(ctx, node, name);
  if (bytes === undefined) return undefined;
  try {
    return decoder.decode(bytes);
  } catch (e) {
    throw corrupt(`${name} in a data type subtree is not UTF-8`, e);
  }
}

/** A leaf holding `text` as UTF-8. */
export function textLeaf(ctx: TreeContext, text: string): Child {
  return contentsChild(ctx, encoder.encode(text));
}

/**
 * A fresh identifier: 16 random bytes as hex. Two states reached independently must never have
 * the same tree (content addressing would take them for one and skip their merge), so operations
 * whose effect must count once per occurrence stamp their state with one of these.
 */
export function uniqueId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  let out = "";
  for (const b of bytes) out += b.toString(16).padStart(2, "0");
  return out;
}

/** Byte-wise order of two byte strings (for deterministic tie breaks). */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}
