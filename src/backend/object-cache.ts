import type { Hash } from "../core/hash.js";

/**
 * A least-recently-used cache of decoded objects, bounded by an estimate of their size in bytes.
 * Objects are immutable and named by their hash, so a cached entry is never stale; the bound is
 * what keeps a long-running process from growing without limit.
 */
export class ObjectCache<V> {
  private readonly entries = new Map<Hash, { value: V; size: number }>();
  private total = 0;

  /** @param maxBytes the budget; an entry bigger than a quarter of it is not cached. */
  constructor(readonly maxBytes: number = 64 * 1024 * 1024) {}

  /** The cached value for `hash`, marking it most recently used; `undefined` on a miss. */
  get(hash: Hash): V | undefined {
    const e = this.entries.get(hash);
    if (e === undefined) return undefined;
    this.entries.delete(hash);
    this.entries.set(hash, e);
    return e.value;
  }

  /** Caches `value` under `hash`, counting `size` bytes against the budget; evicts the oldest. */
  set(hash: Hash, value: V, size: number): void {
    if (size > this.maxBytes / 4) return;
    const old = this.entries.get(hash);
    if (old !== undefined) {
      this.total -= old.size;
      this.entries.delete(hash);
    }
    this.entries.set(hash, { value, size });
    this.total += size;
    if (this.total > this.maxBytes) {
      for (const [k, e] of this.entries) {
        if (this.total <= this.maxBytes) break;
        this.entries.delete(k);
        this.total -= e.size;
      }
    }
  }

  /** Bytes currently counted. */
  get bytes(): number {
    return this.total;
  }

  /** Number of cached entries. */
  get size(): number {
    return this.entries.size;
  }

  /** Drops everything. */
  clear(): void {
    this.entries.clear();
    this.total = 0;
  }
}
