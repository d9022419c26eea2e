/**
 * A mergeable queue (the Irmin queues paper, and the Ezirmin post). Merge semantics: an element
 * popped on either side is gone, every element pushed on either side is there, each side's pushes
 * keep their program order, and the order between two sides' concurrent pushes is decided by the
 * elements' keys (epoch, then push time), so that merging a into b and b into a give the same
 * queue — the same tree, in fact.
 *
 * The paper's queue is a pair of linked lists; a linked list of Git trees would be as deep as the
 * queue is long (Git refuses trees nested more than a few thousand levels). Here the elements sit in
 * a trie of 64-element epochs with bounded fan-out, stored unzipped along its two ends (see
 * queue/layout.ts) so that the front and back epochs hang right under the queue's root: push and
 * pop read and write O(1) amortised objects, like the paper's functional queue. The paper's merge
 * idea stays: what the ancestor held, what each side popped from its front and what each side
 * pushed at its back; the merge (queue/merge.ts) compares the two ends by hash and reads and
 * writes only what changed there.
 */
import type { ContentsChild } from "../tree/node.js";
import { contentsChild } from "../tree/node.js";
import { firstElement, forEachElement, readEpoch, readShape } from "./queue/layout.js";
import { popElement, pushElement } from "./queue/ops.js";
import type { OperationOptions, TypedSlot, ValueCodec } from "./slot.js";

export { mergeQueues } from "./queue/merge.js";

/** A queue at a path of a branch or a transaction, front first. */
export class Queue<T> {
  /** @internal */
  constructor(
    private readonly slot: TypedSlot,
    private readonly contents: ValueCodec<T>,
  ) {}

  /**
   * Adds `value` at the back in one commit (`push <path>`), creating the queue when absent. Every
   * push is a new element, even of a value already queued. Cost: O(1) amortised objects: reads the
   * queue's root and back epoch, writes them and the value's blob (once per 64 pushes a few more).
   */
  async push(value: T, options?: OperationOptions): Promise<void> {
    const { ctx } = this.slot;
    // Hashed once, even when a lost race re-runs the update.
    const child = contentsChild(ctx, this.contents.encode(value));
    await this.slot.update("push", async (node) => ({ node: await pushElement(ctx, node, child, this.slot.owner), result: undefined }), options);
  }

  /**
   * Removes the front element in one commit (`pop <path>`) and returns it; `undefined`, and no
   * commit, when the queue is empty or absent. Cost: O(1) amortised objects: reads and writes the
   * queue's root and front epoch (once per 64 pops a few more).
   */
  async pop(options?: OperationOptions): Promise<T | undefined> {
    const { ctx } = this.slot;
    return this.slot.update(
      "pop",
      async (node) => {
        const popped = node === undefined ? undefined : await popElement(ctx, node, this.slot.owner);
        if (popped === undefined) return { node: undefined, result: undefined };
        return { node: popped.node, result: await this.decode(popped.child) };
      },
      options,
    );
  }

  /** The front element without removing it; `undefined` when empty or absent. Two reads. */
  async peek(): Promise<T | undefined> {
    const node = await this.slot.read();
    if (node === undefined) return undefined;
    const { front } = await readShape(this.slot.ctx, node);
    if (front === undefined) return undefined;
    const entries = await readEpoch(this.slot.ctx, front.child.node, front.count, front.name);
    return this.decode(firstElement(entries, front.name).child);
  }

  /** The number of elements (0 when absent): the counts in the root's entry names, one read. */
  async length(): Promise<number> {
    const node = await this.slot.read();
    return node === undefined ? 0 : (await readShape(this.slot.ctx, node)).count;
  }

  /** Whether the queue has no element (true when absent). One read. */
  async isEmpty(): Promise<boolean> {
    return (await this.length()) === 0;
  }

  /** Every element, front first ([] when absent). O(n). */
  async toArray(): Promise<T[]> {
    const node = await this.slot.read();
    const out: T[] = [];
    if (node !== undefined) {
      await forEachElement(this.slot.ctx, node, async (child) => {
        out.push(await this.decode(child));
        return true;
      });
    }
    return out;
  }

  private async decode(child: ContentsChild): Promise<T> {
    return this.contents.decode(await this.slot.ctx.contentsBytes(child));
  }
}

