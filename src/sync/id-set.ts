/**
 * A set of binary object ids with a small flag byte each, for the receive path: a pack of a
 * large history references the same ids millions of times (every tree version lists its
 * entries), so lookups must not build a hex string or allocate. Pure.
 */
import { toHex } from "../core/hash.js";

/**
 * Open addressing over the raw digests (copied into one growing buffer). The slot hash mixes
 * the id's first words with a per-set random key, so that ids a hostile peer chose (a tree may
 * name any id) do not all land in one probe chain. Memory: ~`idLength + 9` bytes per id.
 */
export class IdSet {
  private ids: Uint8Array;
  private flagBytes: Uint8Array;
  /** Slot → index + 1 (0: empty). */
  private table: Int32Array;
  private mask: number;
  private count = 0;
  private readonly k1 = (Math.random() * 0x100000000) | 0;
  private readonly k2 = (Math.random() * 0x100000000) | 0;

  constructor(
    private readonly idLength: number,
    capacity = 1024,
  ) {
    let slots = 16;
    while (slots < capacity * 2) slots *= 2;
    this.table = new Int32Array(slots);
    this.mask = slots - 1;
    this.ids = new Uint8Array(Math.max(16, capacity) * idLength);
    this.flagBytes = new Uint8Array(Math.max(16, capacity));
  }

  /** Number of distinct ids. */
  get size(): number {
    return this.count;
  }

  private slotOf(bytes: Uint8Array, pos: number): number {
    const w0 = bytes[pos] | (bytes[pos + 1] << 8) | (bytes[pos + 2] << 16) | (bytes[pos + 3] << 24);
    const w1 = bytes[pos + 4] | (bytes[pos + 5] << 8) | (bytes[pos + 6] << 16) | (bytes[pos + 7] << 24);
    let h = Math.imul(w0 ^ this.k1, 0x9e3779b1) ^ Math.imul(w1 ^ this.k2, 0x85ebca77);
    h ^= h >>> 15;
    h = Math.imul(h, 0x2c1b3c6d);
    h ^= h >>> 13;
    return h & this.mask;
  }

  private equals(i: number, bytes: Uint8Array, pos: number): boolean {
    const ids = this.ids;
    const n = this.idLength;
    const at = i * n;
    for (let k = 0; k < n; k++) if (ids[at + k] !== bytes[pos + k]) return false;
    return true;
  }

  /** Index of the id at `bytes[pos..pos + idLength)`, or -1. */
  indexOf(bytes: Uint8Array, pos: number): number {
    const table = this.table;
    for (let s = this.slotOf(bytes, pos); ; s = (s + 1) & this.mask) {
      const v = table[s];
      if (v === 0) return -1;
      if (this.equals(v - 1, bytes, pos)) return v - 1;
    }
  }

  /** Adds the id (if absent) and ORs `flags` into its flag byte; returns its index. */
  add(bytes: Uint8Array, pos: number, flags: number): number {
    const table = this.table;
    let s = this.slotOf(bytes, pos);
    for (; ; s = (s + 1) & this.mask) {
      const v = table[s];
      if (v === 0) break;
      if (this.equals(v - 1, bytes, pos)) {
        this.flagBytes[v - 1] |= flags;
        return v - 1;
      }
    }
    const i = this.count++;
    if ((i + 1) * this.idLength > this.ids.length) {
      const ids = new Uint8Array(this.ids.length * 2);
      ids.set(this.ids);
      this.ids = ids;
      const f = new Uint8Array(this.flagBytes.length * 2);
      f.set(this.flagBytes);
      this.flagBytes = f;
    }
    this.ids.set(bytes.subarray(pos, pos + this.idLength), i * this.idLength);
    this.flagBytes[i] = flags;
    table[s] = i + 1;
    if (this.count * 2 > table.length) this.grow();
    return i;
  }

  /** ORs `flags` into the flag byte of index `i` (an index {@link add} returned). */
  orFlags(i: number, flags: number): void {
    this.flagBytes[i] |= flags;
  }

  /** The flag byte of index `i`. */
  flags(i: number): number {
    return this.flagBytes[i];
  }

  /** The hex id of index `i`. */
  hexAt(i: number): string {
    return toHex(this.ids, i * this.idLength, this.idLength);
  }

  private grow(): void {
    const slots = this.table.length * 2;
    this.table = new Int32Array(slots);
    this.mask = slots - 1;
    for (let i = 0; i < this.count; i++) {
      let s = this.slotOf(this.ids, i * this.idLength);
      while (this.table[s] !== 0) s = (s + 1) & this.mask;
      this.table[s] = i + 1;
    }
  }
}
