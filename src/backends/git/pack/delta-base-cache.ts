/**
 * A small LRU of decoded pack entries used as delta bases, so that reading many objects whose
 * delta chains share a prefix does not inflate and patch that prefix again each time (what git's
 * `core.deltaBaseCacheLimit` does). Bounded both in bytes and in entries.
 */
import type { RawObject } from "../../../codec/object.js";

/** Options of {@link DeltaBaseCache}. */
export interface DeltaBaseCacheOptions {
  /** Total bytes of object data kept (default 32 MiB). */
  maxBytes?: number;
  /** Number of objects kept (default 1024). */
  maxEntries?: number;
}

/**
 * LRU map from a key (pack id and offset) to a decoded object. Objects larger than a quarter of
 * the byte budget are not kept, so one huge blob cannot flush everything else. O(1) per operation
 * (a Map keeps insertion order; a hit re-inserts).
 */
export class DeltaBaseCache {
  private readonly map = new Map<string, RawObject>();
  private bytes = 0;
  private readonly maxBytes: number;
  private readonly maxEntries: number;

  constructor(options: DeltaBaseCacheOptions = {}) {
    this.maxBytes = options.maxBytes ?? 32 * 1024 * 1024;
    this.maxEntries = options.maxEntries ?? 1024;
  }

  /** The cached object, or undefined; a hit makes it the most recently used. */
  get(key: string): RawObject | undefined {
    const v = this.map.get(key);
    if (v !== undefined) {
      this.map.delete(key);
      this.map.set(key, v);
    }
    return v;
  }

  /** Caches `value` under `key`, evicting the least recently used entries beyond the bounds. */
  set(key: string, value: RawObject): void {
    if (value.data.length > this.maxBytes / 4) return;
    const old = this.map.get(key);
    if (old !== undefined) {
      this.bytes -= old.data.length;
      this.map.delete(key);
    }
    this.map.set(key, value);
    this.bytes += value.data.length;
    for (const [k, v] of this.map) {
      if (this.bytes <= this.maxBytes && this.map.size <= this.maxEntries) break;
      this.map.delete(k);
      this.bytes -= v.data.length;
    }
  }

  /** Drops every entry whose key starts with `prefix` (a pack that went away). O(size). */
  dropPrefix(prefix: string): void {
    for (const [k, v] of this.map) {
      if (k.startsWith(prefix)) {
        this.map.delete(k);
        this.bytes -= v.data.length;
      }
    }
  }

  /** Number of cached objects. */
  get size(): number {
    return this.map.size;
  }
}
