/**
 * A queue's operations inside a transaction, staged in memory (see `Staged` in ../slot.ts): a push
 * appends the value's bytes to a list, a pop takes the next record of the decoded front epoch (or,
 * once the stored queue is used up, the oldest staged push, which is then never stored). Nothing
 * is hashed or written per operation; the transaction's flush writes them in bulk: the front epoch
 * without its popped records once, then the pushes as whole epochs (queue/ops.ts). Every handle on
 * the path in the transaction shares the one stage.
 */
import type { Node, TreeContext } from "../../tree/node.js";
import type { StageBase, Staged } from "../slot.js";
import { valueAt, type EpochView } from "./epoch.js";
import { forEachElement, readEpoch } from "./layout.js";
import { appendElements, dropFirst, shapeAt } from "./ops.js";

/** Staged pushes popped in the same transaction are compacted away past this many. */
const COMPACT = 1024;

/** The staged state of one queue in one transaction. */
export class QueueStage implements Staged {
  /** False once flushed: a handle holding it must ask the transaction for the current stage. */
  live = true;
  /** The queue's subtree with the front epochs popped so far dropped (`undefined`: absent). */
  private root: Node | undefined;
  /** Whether {@link root} differs from the subtree the stage started from. */
  private changed = false;
  /** Elements stored under {@link root}. */
  private stored = 0;
  /** The decoded front epoch of {@link root}, once read. */
  private front: EpochView | undefined;
  /** Records of {@link front} popped. */
  private consumed = 0;
  /** Values pushed, not yet stored; those before {@link pendingFrom} were popped already. */
  private pending: Uint8Array[] = [];
  private pendingFrom = 0;
  /** Whether a push was staged (an absent queue is then created, even if everything was popped). */
  private pushed = false;
  /** Our own token: nodes this stage builds, and only those, change in place. */
  private readonly owner: object = {};

  private constructor(
    private readonly ctx: TreeContext,
    private readonly base: StageBase,
  ) {
    this.root = base.node;
  }

  /** The stage of the queue subtree `base.node` (checked to be a queue): reads its root (one read at most). */
  static async make(ctx: TreeContext, base: StageBase): Promise<QueueStage> {
    const stage = new QueueStage(ctx, base);
    if (base.node !== undefined) stage.stored = (await shapeAt(ctx, base.node)).count;
    return stage;
  }

  /** Elements in the queue, staged operations included. O(1), no I/O. */
  get length(): number {
    return this.stored - this.consumed + this.pending.length - this.pendingFrom;
  }

  /** Stages a push of the encoded value. O(1), no I/O. */
  push(value: Uint8Array): void {
    this.pending.push(value);
    this.pushed = true;
  }

  /**
   * The front element's value (`undefined` when the queue is empty), removed when `take`. O(1)
   * amortised: reads the next epoch (and its groups) once per epoch.
   */
  async first(take: boolean): Promise<Uint8Array | undefined> {
    if (this.stored > this.consumed) {
      let front = this.front ?? (await this.readFront());
      if (this.consumed === front.count) {
        // The front epoch is used up: drop it, the next one comes to the front.
        this.root = await dropFirst(this.ctx, this.root!, this.consumed, this.owner);
        this.changed = true;
        this.stored -= this.consumed;
        this.consumed = 0;
        front = await this.readFront();
      }
      const value = valueAt(front, this.consumed);
      if (take) this.consumed++;
      return value;
    }
    if (this.pendingFrom === this.pending.length) return undefined;
    const value = this.pending[this.pendingFrom];
    if (take) {
      this.pendingFrom++;
      if (this.pendingFrom >= COMPACT && this.pendingFrom * 2 >= this.pending.length) {
        this.pending = this.pending.slice(this.pendingFrom);
        this.pendingFrom = 0;
      }
    }
    return value;
  }

  private async readFront(): Promise<EpochView> {
    const shape = await shapeAt(this.ctx, this.root!);
    this.front = await readEpoch(this.ctx, shape.front!);
    return this.front;
  }

  /** Calls `fn` on every value, front first (the stored ones, then the staged pushes). */
  async forEach(fn: (value: Uint8Array) => boolean | Promise<boolean>): Promise<void> {
    let going = true;
    if (this.root !== undefined && this.stored > this.consumed) {
      await forEachElement(this.ctx, this.root, async (v) => (going = await fn(v)), this.consumed);
    }
    for (let i = this.pendingFrom; going && i < this.pending.length; i++) going = await fn(this.pending[i]);
  }

  /**
   * Writes the staged operations into the transaction's tree: the front epoch's rest once (or the
   * next epoch to the front), then the pushes as whole epochs. Nothing when nothing changed.
   */
  async flush(): Promise<void> {
    this.live = false;
    let root = this.root;
    let changed = this.changed;
    if (this.consumed > 0) {
      root = await dropFirst(this.ctx, root!, this.consumed, this.owner);
      changed = true;
    }
    if (this.pendingFrom < this.pending.length || (this.pushed && root === undefined)) {
      root = await appendElements(this.ctx, root, this.pendingFrom === 0 ? this.pending : this.pending.slice(this.pendingFrom), this.owner);
      changed = true;
    }
    if (changed) await this.base.write(root!);
  }
}
