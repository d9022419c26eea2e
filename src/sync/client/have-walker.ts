/**
 * The local commits offered as `have` lines during fetch negotiation, newest first from the local
 * ref tips, skipping the ancestors of commits the remote said it has in common (as git's default
 * negotiator does), so that a long shared history is not sent have by have.
 */
import type { Hash, HashAlgorithm } from "../../core/hash.js";
import type { ObjectStore } from "../../backend/object-store.js";
import { decodeCommit } from "../../codec/commit.js";

interface Entry {
  hash: Hash;
  time: number;
}

/** Walks local history for negotiation. Cost: one object read per commit offered or skipped. */
export class HaveWalker {
  private readonly queue: Entry[] = [];
  private readonly seen = new Set<Hash>();
  private readonly common = new Set<Hash>();
  private started = false;

  constructor(
    private readonly objects: ObjectStore,
    private readonly algorithm: HashAlgorithm,
    /** Local ref tips (commits; other objects are ignored). */
    readonly tips: readonly Hash[],
    /** Commits whose parents are absent locally: the walk stops there. */
    private readonly shallow: ReadonlySet<Hash> = new Set(),
  ) {}

  /** Whether the walker has nothing at all to offer (no local commits). */
  async isEmpty(): Promise<boolean> {
    await this.start();
    return this.queue.length === 0;
  }

  /** The remote has `hash`: do not offer its ancestors any more. */
  markCommon(hash: Hash): void {
    this.common.add(hash);
  }

  /** Up to `n` more commits to offer (fewer when history is exhausted). */
  async next(n: number): Promise<Hash[]> {
    await this.start();
    const out: Hash[] = [];
    while (out.length < n && this.queue.length > 0) {
      const e = this.pop();
      const parents = await this.parents(e.hash);
      const isCommon = this.common.has(e.hash);
      for (const p of parents) {
        if (isCommon) this.common.add(p);
        await this.push(p);
      }
      if (!isCommon) out.push(e.hash);
    }
    return out;
  }

  private async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    for (const t of this.tips) await this.push(t);
  }

  private async info(hash: Hash): Promise<{ time: number; parents: Hash[] } | undefined> {
    const o = await this.objects.get(hash).catch(() => undefined);
    if (o === undefined || o.type !== "commit") return undefined;
    try {
      const c = decodeCommit(o.data, this.algorithm);
      return { time: c.committer.timestamp, parents: this.shallow.has(hash) ? [] : c.parents };
    } catch {
      return undefined;
    }
  }

  private readonly parentCache = new Map<Hash, Hash[]>();

  private async parents(hash: Hash): Promise<Hash[]> {
    const p = this.parentCache.get(hash) ?? [];
    this.parentCache.delete(hash);
    return p;
  }

  private async push(hash: Hash): Promise<void> {
    if (this.seen.has(hash)) return;
    this.seen.add(hash);
    const info = await this.info(hash);
    if (info === undefined) return;
    this.parentCache.set(hash, info.parents);
    // Insertion sort by time: queues stay small (the tips and one generation behind them).
    const e = { hash, time: info.time };
    let i = this.queue.length;
    while (i > 0 && this.queue[i - 1].time > e.time) i--;
    this.queue.splice(i, 0, e);
  }

  private pop(): Entry {
    return this.queue.pop()!;
  }
}
