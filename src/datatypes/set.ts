/**
 * A mergeable set. Each element is a blob stored under its own blob id (split `ab/cdef…` so that no
 * directory grows past a few thousand entries for a million elements), so a name always holds the
 * same element: the 3-way tree merge of two sets is exactly (a ∪ b) minus what either side deleted
 * since the ancestor, and costs O(what changed). An element deleted on one side and deleted then
 * added again on the other is, like in any state-based merge, indistinguishable from an untouched
 * one: the deletion wins.
 */
import { IrminError } from "../core/errors.js";
import { hashObject } from "../codec/object.js";
import { mergeTrees } from "../tree/tree-merge.js";
import { contentsChild, type Node, type TreeContext } from "../tree/node.js";
import { findChild, updateAt } from "../tree/edit.js";
import { TYPE_ENTRY, typedNode } from "./marker.js";
import type { OperationOptions, TypedSlot, ValueCodec } from "./slot.js";

/** A set at a path of a branch or a transaction. add/delete/has are O(1) objects (two tree levels). */
export class MergeableSet<T> {
  /** @internal */
  constructor(
    private readonly slot: TypedSlot,
    private readonly contents: ValueCodec<T>,
  ) {}

  /** Whether `value` is in the set. */
  async has(value: T): Promise<boolean> {
    const node = await this.slot.read();
    if (node === undefined) return false;
    return (await findChild(this.slot.ctx, node, this.elementPath(value))) !== undefined;
  }

  /** Every element, in a deterministic order (by the id of its bytes). O(n). */
  async values(): Promise<T[]> {
    const node = await this.slot.read();
    if (node === undefined) return [];
    const { ctx } = this.slot;
    const out: T[] = [];
    for (const [name, bucket] of [...(await ctx.load(node))].sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0))) {
      if (name === TYPE_ENTRY) continue;
      if (bucket.kind !== "node") throw new IrminError("CORRUPT", `set bucket ${name} is not a directory`);
      const entries = [...(await ctx.load(bucket.node))].sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0));
      for (const [, child] of entries) {
        if (child.kind !== "contents") throw new IrminError("CORRUPT", `set element in ${name} is a directory`);
        out.push(this.contents.decode(await ctx.contentsBytes(child)));
      }
    }
    return out;
  }

  /** Adds `value` in one commit (`add <path>`); no commit when it was there. Returns whether it was added. */
  async add(value: T, options?: OperationOptions): Promise<boolean> {
    const bytes = this.contents.encode(value);
    const { ctx } = this.slot;
    const child = contentsChild(ctx, bytes);
    return this.change("add", this.elementPath(value), () => child, options);
  }

  /** Deletes `value` in one commit (`delete <path>`); no commit when it was absent. Returns whether it was there. */
  async delete(value: T, options?: OperationOptions): Promise<boolean> {
    return this.change("delete", this.elementPath(value), () => undefined, options);
  }

  private change(op: string, path: string[], fn: () => ReturnType<typeof contentsChild> | undefined, options: OperationOptions | undefined): Promise<boolean> {
    const { ctx } = this.slot;
    return this.slot.update(
      op,
      async (node) => {
        const root = node ?? typedNode(ctx, "set", new Map());
        const next = await updateAt(ctx, root, path, fn, undefined);
        return { node: next === root ? undefined : next, result: next !== root };
      },
      options,
    );
  }

  private elementPath(value: T): string[] {
    const id = hashObject(this.slot.ctx.algorithm, "blob", this.contents.encode(value));
    return [id.slice(0, 2), id.slice(2)];
  }
}

const neverMerges = {
  encode: (v: Uint8Array) => v,
  decode: (v: Uint8Array) => v,
  merge: () => ({ ok: false as const, conflict: "a set element cannot change" }),
};

/** The 3-way merge of sets: the tree merge, which cannot conflict since a name always holds the same element. O(what changed). */
export async function mergeSets(ctx: TreeContext, old: Node | undefined, a: Node, b: Node): Promise<Node> {
  const r = await mergeTrees(ctx, old, a, b, { codec: neverMerges, onConflict: "base" });
  if (!r.ok) throw new IrminError("CORRUPT", "a set merge conflicted"); // unreachable with onConflict "base"
  return r.node;
}
