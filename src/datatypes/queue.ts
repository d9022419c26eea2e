/**
 * A mergeable queue (the Irmin queues paper, and the Ezirmin post). Merge semantics: an element
 * popped on either side is gone, every element pushed on either side is there, each side's pushes
 * keep their program order, and the order between two sides' concurrent pushes is decided by the
 * elements' keys (epoch, then push time), so that merging a into b and b into a give the same
 * queue — the same tree, in fact.
 *
 * The paper's queue is a pair of linked lists; a linked list of Git trees would be as deep as the
 * queue is long (Git refuses trees nested more than a few thousand levels, and recent versions cap
 * it lower). Here the elements sit in a balanced trie of bounded fan-out (see queue/layout.ts):
 * push and pop touch one path of it, O(log n) small trees (5 for 100,000 elements, 6 for a million).
 * The paper's merge idea stays: what the ancestor held, what each side popped from its front and
 * what each side pushed at its back; the merge reads and writes only the trees on those two edges
 * (queue/merge.ts), never the middle of the queue.
 */
import type { ContentsChild, Node, TreeContext } from "../tree/node.js";
import { contentsChild } from "../tree/node.js";
import { updateAt } from "../tree/edit.js";
import { nextTimestamp } from "./hlc.js";
import { typedNode } from "./marker.js";
import { countElements, elementName, elementTime, epochPath, EPOCH_SIZE, forEachElement, isEmptyQueue, nextEpoch, queueEnd } from "./queue/layout.js";
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
   * push is a new element, even of a value already queued. Cost: O(log n) trees read and written
   * (one path of the trie) plus the value's blob.
   */
  async push(value: T, options?: OperationOptions): Promise<void> {
    const bytes = this.contents.encode(value);
    const { ctx } = this.slot;
    await this.slot.update(
      "push",
      async (node) => {
        const root = node ?? typedNode(ctx, "queue", new Map());
        return { node: await pushElement(ctx, root, bytes), result: undefined };
      },
      options,
    );
  }

  /**
   * Removes the front element in one commit (`pop <path>`) and returns it; `undefined`, and no
   * commit, when the queue is empty or absent. Cost: O(log n) trees read and written.
   */
  async pop(options?: OperationOptions): Promise<T | undefined> {
    const { ctx } = this.slot;
    return this.slot.update(
      "pop",
      async (node) => {
        const first = node === undefined ? undefined : await queueEnd(ctx, node, "first");
        if (node === undefined || first === undefined) return { node: undefined, result: undefined };
        const value = await this.decode(first.child);
        return { node: await updateAt(ctx, node, first.path, () => undefined, undefined), result: value };
      },
      options,
    );
  }

  /** The front element without removing it; `undefined` when empty or absent. O(log n) reads. */
  async peek(): Promise<T | undefined> {
    const node = await this.slot.read();
    const first = node === undefined ? undefined : await queueEnd(this.slot.ctx, node, "first");
    return first === undefined ? undefined : this.decode(first.child);
  }

  /** The number of elements (0 when absent). Reads every leaf of the trie: about n / 50 trees. */
  async length(): Promise<number> {
    const node = await this.slot.read();
    return node === undefined ? 0 : countElements(this.slot.ctx, node);
  }

  /** Whether the queue has no element (true when absent). One read. */
  async isEmpty(): Promise<boolean> {
    const node = await this.slot.read();
    return node === undefined || isEmptyQueue(this.slot.ctx, node);
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

/**
 * `root` with a new element holding `bytes` at the back: in the last epoch, or the next one when
 * the last is full, stamped later than the last element (so it sorts after every element, even
 * ones pushed by a replica whose clock runs ahead).
 */
async function pushElement(ctx: TreeContext, root: Node, bytes: Uint8Array): Promise<Node> {
  const last = await queueEnd(ctx, root, "last");
  const epoch = last === undefined ? 0 : last.epochCount >= EPOCH_SIZE ? nextEpoch(last.epoch) : last.epoch;
  const time = nextTimestamp(last === undefined ? undefined : elementTime(last.name));
  const child = contentsChild(ctx, bytes);
  return updateAt(ctx, root, [...epochPath(epoch), elementName(time)], () => child, undefined);
}
