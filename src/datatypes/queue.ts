/**
 * A mergeable queue (the Irmin queues paper, and the Ezirmin post). Merge semantics: an element
 * popped on either side is gone, every element pushed on either side is there, each side's pushes
 * keep their program order, and the order between two sides' concurrent pushes is decided by the
 * elements' keys (epoch, then push time), so that merging a into b and b into a give the same
 * queue — the same tree, in fact.
 *
 * The paper's queue is a pair of linked lists; a linked list of Git trees would be as deep as the
 * queue is long (Git refuses trees nested more than a few thousand levels). Here the elements sit in
 * a trie of epochs (each one blob of up to 128 records) with bounded fan-out, stored unzipped along
 * its two ends (see queue/layout.ts) so that the front and back epochs hang right under the queue's
 * root: push and pop read and write O(1) amortised objects, like the paper's functional queue. The
 * paper's merge idea stays: what the ancestor held, what each side popped from its front and what
 * each side pushed at its back; the merge (queue/merge.ts) compares the two ends by hash and reads
 * and writes only what changed there.
 *
 * Inside a transaction the operations are staged in memory (queue/stage.ts) and written in bulk
 * when the transaction reads its tree otherwise or commits: a push or pop then costs no object.
 */
import type { OperationOptions, TypedSlot, ValueCodec } from "./slot.js";
import { forEachElement, readEpoch, readShape } from "./queue/layout.js";
import { appendElements, popElement } from "./queue/ops.js";
import { QueueStage } from "./queue/stage.js";
import { decodeRange, stageValue } from "./queue/values.js";

export { mergeQueues } from "./queue/merge.js";

const DONE: Promise<void> = Promise.resolve();
const ON_BRANCH: unique symbol = Symbol("on a branch");

/** A queue at a path of a branch or a transaction, front first. */
export class Queue<T> {
  /** The stage this handle used last (a transaction's, while live). */
  private current: QueueStage | undefined;

  /** @internal */
  constructor(
    private readonly slot: TypedSlot,
    private readonly contents: ValueCodec<T>,
  ) {}

  /**
   * In a transaction: `fn` run on the live stage of this queue (made on first use), synchronously
   * once it is known live; {@link ON_BRANCH} on a branch (no stages).
   */
  private async onStage<R>(fn: (stage: QueueStage) => R | Promise<R>): Promise<R | typeof ON_BRANCH> {
    for (;;) {
      const made = this.current?.live === true ? this.current : this.slot.stage((base) => QueueStage.make(this.slot.ctx, base));
      if (made === undefined) return ON_BRANCH;
      const stage = await made;
      // A stage flushed while we waited for it (by a concurrent tree access) is done with: the next
      // one starts from what it wrote.
      if (stage.live) {
        this.current = stage;
        return fn(stage);
      }
    }
  }

  /**
   * Adds `value` at the back, creating the queue when absent. Every push is a new element, even of
   * a value already queued. On a branch: one commit (`push <path>`), O(1) amortised objects (reads
   * the queue's root and back epoch, writes them; once per epoch a few more). In a transaction: no
   * I/O, the push is staged and written with the others.
   */
  push(value: T, options?: OperationOptions): Promise<void> {
    const stage = this.current;
    if (stage?.live === true) {
      // The common case in a transaction: no async step at all.
      try {
        stage.push(stageValue(this.contents, value));
        return DONE;
      } catch (e) {
        return Promise.reject(e as Error);
      }
    }
    return this.pushSlow(value, options);
  }

  private async pushSlow(value: T, options: OperationOptions | undefined): Promise<void> {
    // Encoded (and so validated) now, whatever happens next.
    const staged = stageValue(this.contents, value);
    if ((await this.onStage((stage) => stage.push(staged))) !== ON_BRANCH) return;
    const { ctx } = this.slot;
    await this.slot.update("push", async (node) => ({ node: await appendElements(ctx, node, [staged], undefined), result: undefined }), options);
  }

  /**
   * Removes the front element and returns it; `undefined` when the queue is empty or absent. On a
   * branch: one commit (`pop <path>`, none when empty), O(1) amortised objects (reads and writes the
   * queue's root and front epoch; once per epoch a few more). In a transaction: staged, one read
   * per epoch of elements popped.
   */
  pop(options?: OperationOptions): Promise<T | undefined> {
    const stage = this.current;
    if (stage?.live === true) {
      try {
        return Promise.resolve(stage.first(this.contents, true));
      } catch (e) {
        return Promise.reject(e as Error);
      }
    }
    return this.popSlow(options);
  }

  private async popSlow(options: OperationOptions | undefined): Promise<T | undefined> {
    const staged = await this.onStage((stage) => stage.first(this.contents, true));
    if (staged !== ON_BRANCH) return staged;
    const { ctx } = this.slot;
    return this.slot.update(
      "pop",
      async (node) => {
        const popped = node === undefined ? undefined : await popElement(ctx, node, undefined);
        if (popped === undefined) return { node: undefined, result: undefined };
        const { front } = popped;
        return { node: popped.node, result: decodeRange(this.contents, front.bytes, front.values[0], front.starts[1]) };
      },
      options,
    );
  }

  /** The front element without removing it; `undefined` when empty or absent. Two reads at most. */
  async peek(): Promise<T | undefined> {
    const staged = await this.onStage((stage) => stage.first(this.contents, false));
    if (staged !== ON_BRANCH) return staged;
    const node = await this.slot.read();
    if (node === undefined) return undefined;
    const { front } = await readShape(this.slot.ctx, node);
    if (front === undefined) return undefined;
    const view = await readEpoch(this.slot.ctx, front);
    return decodeRange(this.contents, view.bytes, view.values[0], view.starts[1]);
  }

  /** The number of elements (0 when absent): the counts in the root's entry names, one read. */
  async length(): Promise<number> {
    const staged = await this.onStage((stage) => stage.length);
    if (staged !== ON_BRANCH) return staged;
    const node = await this.slot.read();
    return node === undefined ? 0 : (await readShape(this.slot.ctx, node)).count;
  }

  /** Whether the queue has no element (true when absent). One read. */
  async isEmpty(): Promise<boolean> {
    return (await this.length()) === 0;
  }

  /** Every element, front first ([] when absent). O(n). */
  async toArray(): Promise<T[]> {
    const staged = await this.onStage((stage) => stage.toArray(this.contents));
    if (staged !== ON_BRANCH) return staged;
    const out: T[] = [];
    const node = await this.slot.read();
    if (node !== undefined) {
      await forEachElement(this.slot.ctx, node, (value) => {
        out.push(this.contents.decode(value));
        return true;
      });
    }
    return out;
  }
}
