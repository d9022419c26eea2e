/**
 * A queue's operations inside a transaction, staged in memory (see `Staged` in ../slot.ts): a push
 * appends the value's bytes to a list, a pop takes the next record of the decoded front epoch (or,
 * once the stored queue is used up, the oldest staged push, which is then never stored). Nothing
 * is hashed or written per operation; the transaction's flush writes them in bulk: the front epoch
 * without its popped records once, then the pushes as whole epochs (queue/ops.ts). Every handle on
 * the path in the transaction shares the one stage.
 */
import type { Node, TreeContext } from "../../tree/node.js";
import type { StageBase, Staged, ValueCodec } from "../slot.js";
import type { EpochView } from "./epoch.js";
import { forEachElement, readEpoch } from "./layout.js";
import { appendElements, dropFirst, shapeAt } from "./ops.js";
import { decodeRange, decodeStaged, type StagedValue } from "./values.js";

const SETTLED: Promise<void> = Promise.resolve();

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
  private pending: StagedValue[] = [];
  private pendingFrom = 0;
  /** Whether a push was staged (an absent queue is then created, even if everything was popped). */
  private pushed = false;
  /** The last asynchronous operation queued (reading the next epoch), until it is done. */
  private tail: Promise<void> | undefined;
  /** Operations queued and not done. */
  private queued = 0;
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

  /** Stages a push of the value (see queue/values.ts). O(1), no I/O. */
  push(value: StagedValue): void {
    this.pending.push(value);
    this.pushed = true;
  }

  /**
   * The front element decoded by `codec` (`undefined` when the queue is empty), removed when `take`
   * (only once decoded: a value the codec rejects stays). Synchronous but once per epoch, when the
   * next epoch (and the groups above it) must be read: O(1) amortised.
   */
  first<T>(codec: ValueCodec<T>, take: boolean): T | undefined | Promise<T | undefined> {
    // While an operation waits for an epoch, later ones queue behind it (Promise.all in a transaction).
    if (this.tail !== undefined) return this.serial(() => this.firstNow(codec, take));
    if (this.needsEpoch) return this.serial(() => this.firstNow(codec, take));
    return this.take(codec, take);
  }

  /** Whether stored elements are left but the front epoch holding the next one is not read yet (or used up). */
  private get needsEpoch(): boolean {
    return this.stored > this.consumed && (this.front === undefined || this.consumed === this.front.count);
  }

  /** {@link first} run alone (no other asynchronous operation of this stage under way): reads the next epoch when needed. */
  private async firstNow<T>(codec: ValueCodec<T>, take: boolean): Promise<T | undefined> {
    while (this.needsEpoch) await this.nextEpoch();
    return this.take(codec, take);
  }

  /** {@link first} once the front epoch holds the next stored element (or none is left). */
  private take<T>(codec: ValueCodec<T>, take: boolean): T | undefined {
    if (this.stored > this.consumed) {
      const front = this.front!;
      const i = this.consumed;
      const value = decodeRange(codec, front.bytes, front.values[i], front.starts[i + 1]);
      if (take) this.consumed++;
      return value;
    }
    if (this.pendingFrom === this.pending.length) return undefined;
    const value = decodeStaged(codec, this.pending[this.pendingFrom]);
    if (take) {
      this.pendingFrom++;
      if (this.pendingFrom >= COMPACT && this.pendingFrom * 2 >= this.pending.length) {
        this.pending = this.pending.slice(this.pendingFrom);
        this.pendingFrom = 0;
      }
    }
    return value;
  }

  /**
   * Runs `fn` after the asynchronous operations queued before it. Its changes to the stage are
   * made before the queue moves on, so that {@link flush}, which waits for the queue, sees them.
   */
  private serial<R>(fn: () => Promise<R>): Promise<R> {
    this.queued++;
    const run = (this.tail ?? SETTLED).then(async () => {
      try {
        return await fn();
      } finally {
        // The last one queued clears the queue at once: the next operation takes the synchronous path.
        if (--this.queued === 0) this.tail = undefined;
      }
    });
    this.tail = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  /** Drops the used-up front epoch (if read), reads the next one. Only inside {@link serial}. */
  private async nextEpoch(): Promise<void> {
    if (this.front !== undefined) {
      this.root = await dropFirst(this.ctx, this.root!, this.consumed, this.owner);
      this.changed = true;
      this.stored -= this.consumed;
      this.consumed = 0;
      this.front = undefined;
    }
    await this.readFront();
  }

  private async readFront(): Promise<EpochView> {
    const shape = await shapeAt(this.ctx, this.root!);
    this.front = await readEpoch(this.ctx, shape.front!);
    return this.front;
  }

  /** Every value decoded by `codec`, front first (the stored ones, then the staged pushes). O(n). */
  toArray<T>(codec: ValueCodec<T>): Promise<T[]> {
    return this.serial(() => this.toArrayNow(codec));
  }

  private async toArrayNow<T>(codec: ValueCodec<T>): Promise<T[]> {
    const out: T[] = [];
    if (this.root !== undefined && this.stored > this.consumed) {
      await forEachElement(
        this.ctx,
        this.root,
        (v) => {
          out.push(codec.decode(v));
          return true;
        },
        this.consumed,
      );
    }
    for (let i = this.pendingFrom; i < this.pending.length; i++) out.push(decodeStaged(codec, this.pending[i]));
    return out;
  }

  /**
   * Writes the staged operations into the transaction's tree: the front epoch's rest once (or the
   * next epoch to the front), then the pushes as whole epochs. Nothing when nothing changed.
   */
  async flush(): Promise<void> {
    this.live = false;
    // Operations already started on this stage finish first (they were issued before the flush).
    while (this.tail !== undefined) await this.tail;
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
