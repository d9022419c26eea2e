/**
 * Pack index files (`.idx`, `man 5 gitformat-pack`): version 1 (fanout, then offset+id pairs) and
 * version 2 (magic, fanout, sorted ids, CRC-32s, 31-bit offsets, 64-bit offsets for entries past
 * 2 GiB, pack checksum, index checksum). Ids are 20 bytes for SHA-1 and 32 for SHA-256 (git
 * writes version 2 for both). Pure and synchronous: the caller reads the file.
 */
import { IrminError, corrupt, invalidArgument } from "../../core/errors.js";
import type { Hash, HashAlgorithm } from "../../core/hash.js";
import { digestLength, isHash, toHex, writeHex } from "../../core/hash.js";
import { digest } from "../../platform/native.js";

const MAGIC = 0xff744f63;
const FANOUT_BYTES = 256 * 4;

/** One object of a pack as an index records it. */
export interface PackIndexEntry {
  readonly hash: Hash;
  /** Byte offset of the entry's header in the pack. */
  readonly offset: number;
  /** CRC-32 of the entry's bytes in the pack (header, delta base, compressed data). */
  readonly crc32: number;
}

/** Options of {@link PackIndex.parse}. */
export interface PackIndexParseOptions {
  /**
   * Check the trailing checksum of the index (one hash over the file; default true). Readers of
   * packs on disk may skip it as git does: every object read is checked against its id.
   */
  verifyChecksum?: boolean;
}

function compareBytes(a: Uint8Array, aPos: number, b: Uint8Array, len: number): number {
  for (let i = 0; i < len; i++) {
    const d = a[aPos + i] - b[i];
    if (d !== 0) return d;
  }
  return 0;
}

/**
 * A parsed pack index held in memory (it is small: about 28 bytes per object for SHA-1). Lookups
 * are a binary search within the fanout bucket of the id's first byte: O(log n).
 */
export class PackIndex {
  /** Number of objects in the pack. */
  readonly count: number;
  /** The checksum of the pack this index describes (its trailing hash). */
  readonly packChecksum: Uint8Array;

  private sortedOffsets: Float64Array | undefined;
  private readonly view: DataView;
  /** Scratch buffer for the binary id of a lookup (lookups are synchronous: one is enough). */
  private readonly key: Uint8Array;

  private constructor(
    readonly version: 1 | 2,
    readonly algorithm: HashAlgorithm,
    private readonly bytes: Uint8Array,
    private readonly fanout: Uint32Array,
    private readonly namesAt: number,
    private readonly nameStride: number,
    private readonly crcAt: number,
    private readonly offsetsAt: number,
    private readonly largeAt: number,
    private readonly largeCount: number,
  ) {
    this.count = fanout[255];
    const h = digestLength(algorithm);
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.key = new Uint8Array(h);
    this.packChecksum = bytes.slice(bytes.length - 2 * h, bytes.length - h);
  }

  /**
   * Parses an index file. Throws `CORRUPT` when the bytes are not a well-formed index of the
   * given hash algorithm (bad magic, truncated or oversized tables, non-monotonic fanout, bad
   * checksum), `UNSUPPORTED` for index version 3 or later. Keeps a reference to `bytes`.
   */
  static parse(bytes: Uint8Array, algorithm: HashAlgorithm, options: PackIndexParseOptions = {}): PackIndex {
    const h = digestLength(algorithm);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const v2 = bytes.length >= 8 && view.getUint32(0) === MAGIC;
    const fanoutAt = v2 ? 8 : 0;
    if (v2) {
      const version = view.getUint32(4);
      if (version !== 2) throw new IrminError("UNSUPPORTED", `pack index version ${version} is not supported`);
    }
    if (bytes.length < fanoutAt + FANOUT_BYTES + 2 * h) throw corrupt("pack index truncated");
    const fanout = new Uint32Array(256);
    let prev = 0;
    for (let i = 0; i < 256; i++) {
      const v = view.getUint32(fanoutAt + 4 * i);
      if (v < prev) throw corrupt("pack index fanout is not monotonic");
      fanout[i] = prev = v;
    }
    const n = fanout[255];
    const tables = fanoutAt + FANOUT_BYTES;
    let index: PackIndex;
    if (v2) {
      const fixed = tables + n * (h + 8) + 2 * h;
      const extra = bytes.length - fixed;
      if (extra < 0) throw corrupt("pack index truncated");
      if (extra % 8 !== 0) throw corrupt("pack index has a malformed 64-bit offset table");
      const crcAt = tables + n * h;
      const offsetsAt = crcAt + n * 4;
      index = new PackIndex(2, algorithm, bytes, fanout, tables, h, crcAt, offsetsAt, offsetsAt + n * 4, extra / 8);
    } else {
      if (bytes.length !== tables + n * (4 + h) + 2 * h) throw corrupt("pack index (version 1) has the wrong size");
      index = new PackIndex(1, algorithm, bytes, fanout, tables + 4, 4 + h, -1, tables, -1, 0);
    }
    if (options.verifyChecksum ?? true) {
      const sum = digest(algorithm, [bytes.subarray(0, bytes.length - h)]);
      if (compareBytes(bytes, bytes.length - h, sum, h) !== 0) throw corrupt("pack index checksum mismatch");
    }
    return index;
  }

  /** Position of `hash` in the sorted id table, or -1 when absent (also for a malformed id). */
  find(hash: Hash): number {
    if (!isHash(hash, this.algorithm)) return -1;
    const key = this.key;
    writeHex(hash, key, 0);
    const first = key[0];
    let lo = first === 0 ? 0 : this.fanout[first - 1];
    let hi = this.fanout[first];
    const len = key.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const c = compareBytes(this.bytes, this.namesAt + mid * this.nameStride, key, len);
      if (c === 0) return mid;
      if (c < 0) lo = mid + 1;
      else hi = mid;
    }
    return -1;
  }

  /** Pack offset of `hash`, or undefined when the pack does not hold it. */
  offsetOf(hash: Hash): number | undefined {
    const i = this.find(hash);
    return i < 0 ? undefined : this.offsetAt(i);
  }

  /** The id at sorted position `i` (0 ≤ i < count). */
  hashAt(i: number): Hash {
    return toHex(this.bytes, this.namesAt + i * this.nameStride, digestLength(this.algorithm));
  }

  /** The pack offset at sorted position `i`; throws `CORRUPT` for a dangling 64-bit offset. */
  offsetAt(i: number): number {
    const view = this.view;
    const small = view.getUint32(this.offsetsAt + i * (this.version === 1 ? this.nameStride : 4));
    if (this.version === 1 || (small & 0x80000000) === 0) return small;
    const k = small & 0x7fffffff;
    if (k >= this.largeCount) throw corrupt("pack index points outside its 64-bit offset table");
    const hi = view.getUint32(this.largeAt + 8 * k);
    const lo = view.getUint32(this.largeAt + 8 * k + 4);
    const offset = hi * 2 ** 32 + lo;
    if (!Number.isSafeInteger(offset)) throw corrupt("pack offset too large");
    return offset;
  }

  /** The CRC-32 recorded for position `i`, or undefined for a version 1 index (which has none). */
  crc32At(i: number): number | undefined {
    if (this.version === 1) return undefined;
    return this.view.getUint32(this.crcAt + 4 * i);
  }

  /** Every id, in sorted order. */
  *hashes(): IterableIterator<Hash> {
    for (let i = 0; i < this.count; i++) yield this.hashAt(i);
  }

  /** Every entry, in id order. */
  *entries(): IterableIterator<PackIndexEntry> {
    for (let i = 0; i < this.count; i++) yield { hash: this.hashAt(i), offset: this.offsetAt(i), crc32: this.crc32At(i) ?? 0 };
  }

  /**
   * Where the entry starting at `offset` ends: the next entry's offset, or `packEnd` (the start
   * of the pack's trailing checksum) for the last one. Throws `CORRUPT` when no entry starts at
   * `offset`, so a bad OFS_DELTA distance is caught here. The first call sorts the offsets
   * (O(n log n), 8 bytes per object kept): readers call it only when an entry's header does not
   * bound its length.
   */
  entryEnd(offset: number, packEnd: number): number {
    if (this.sortedOffsets === undefined) {
      const sorted = new Float64Array(this.count);
      for (let i = 0; i < this.count; i++) sorted[i] = this.offsetAt(i);
      sorted.sort();
      this.sortedOffsets = sorted;
    }
    const s = this.sortedOffsets;
    let lo = 0;
    let hi = s.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (s[mid] < offset) lo = mid + 1;
      else hi = mid;
    }
    if (lo >= s.length || s[lo] !== offset) throw corrupt(`no pack entry starts at offset ${offset}`);
    const end = lo + 1 < s.length ? s[lo + 1] : packEnd;
    if (end > packEnd || end <= offset) throw corrupt(`pack entry at offset ${offset} lies outside the pack`);
    return end;
  }
}

/**
 * Serialises a version 2 index for a pack whose trailing checksum is `packChecksum`. `entries`
 * may come in any order; offsets of 2^31 and beyond go to the 64-bit table. Throws
 * `INVALID_ARGUMENT` for a duplicate or malformed id. Cost: a sort and one hash over the output.
 */
export function writePackIndex(entries: Iterable<PackIndexEntry>, packChecksum: Uint8Array, algorithm: HashAlgorithm): Uint8Array {
  const h = digestLength(algorithm);
  const list = [...entries];
  // Checked and turned into columns; one serialiser (writePackIndexColumns) writes every index.
  const ids = new Uint8Array(list.length * h);
  const offsets = new Array<number>(list.length);
  const crcs = new Array<number>(list.length);
  list.forEach((e, k) => {
    if (!isHash(e.hash, algorithm)) throw invalidArgument(`not a ${algorithm} object id: ${JSON.stringify(e.hash)}`);
    writeHex(e.hash, ids, k * h);
    offsets[k] = e.offset;
    crcs[k] = e.crc32;
  });
  return writePackIndexColumns(ids, offsets, crcs, list.length, packChecksum, algorithm);
}

/**
 * The positions `0..count` ordered by the binary ids `ids[k * h .. (k + 1) * h)`, in linear time
 * on uniformly spread ids: a counting sort on the first byte (below 4,096 ids) or two bytes, then
 * insertion sorts of the (small) buckets. Bytes compare as unsigned, which is the order of the hex
 * forms. (One byte for small packs: a 65,537-slot table zeroed for the 5 ids of a commit's pack
 * was most of that pack's index cost.)
 */
function sortIds(ids: Uint8Array, count: number, h: number): Uint32Array {
  const wide = count >= 4096;
  const bucket = wide ? (k: number) => (ids[k * h] << 8) | ids[k * h + 1] : (k: number) => ids[k * h];
  const counts = new Uint32Array(wide ? 65537 : 257);
  for (let k = 0; k < count; k++) counts[bucket(k) + 1]++;
  for (let i = 1; i < counts.length; i++) counts[i] += counts[i - 1];
  const order = new Uint32Array(count);
  for (let k = 0; k < count; k++) order[counts[bucket(k)]++] = k;
  for (let i = 1; i < count; i++) {
    const e = order[i];
    const ea = e * h;
    let j = i - 1;
    for (; j >= 0; j--) {
      const oa = order[j] * h;
      // The bucket's bytes are equal within it, and earlier buckets are smaller: compare from
      // byte 0 anyway (cheap) so the loop stops at the bucket's start.
      let d = 0;
      for (let b = 0; b < h && d === 0; b++) d = ids[oa + b] - ids[ea + b];
      if (d <= 0) break;
      order[j + 1] = order[j];
    }
    order[j + 1] = e;
  }
  return order;
}

/**
 * {@link writePackIndex} for entries given as columns: entry `k` has the binary id
 * `ids[k * h .. (k + 1) * h)` (h = the digest length), the pack offset `offsets[k]` and the CRC
 * `crcs[k]`, for `k < count`, in any order. Same output and errors (INVALID_ARGUMENT for an id
 * twice, a bad offset or short columns), without a hex string or an object per entry: a receive
 * of 100,000 objects indexes them in milliseconds. Cost: a linear sort and one hash over the output.
 */
export function writePackIndexColumns(ids: Uint8Array, offsets: ArrayLike<number>, crcs: ArrayLike<number>, count: number, packChecksum: Uint8Array, algorithm: HashAlgorithm): Uint8Array {
  const h = digestLength(algorithm);
  if (packChecksum.length !== h) throw invalidArgument(`pack checksum must be ${h} bytes`);
  if (!Number.isSafeInteger(count) || count < 0 || ids.length < count * h || offsets.length < count || crcs.length < count) throw invalidArgument("pack index columns shorter than the entry count");
  let large = 0;
  for (let k = 0; k < count; k++) {
    const o = offsets[k];
    if (!Number.isSafeInteger(o) || o < 0) throw invalidArgument(`bad pack offset ${o}`);
    if (o >= 0x80000000) large++;
  }
  const order = sortIds(ids, count, h);
  const size = 8 + FANOUT_BYTES + count * (h + 8) + large * 8 + 2 * h;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  view.setUint32(0, MAGIC);
  view.setUint32(4, 2);
  const fanout = new Uint32Array(256);
  for (let k = 0; k < count; k++) fanout[ids[k * h]]++;
  let running = 0;
  for (let i = 0; i < 256; i++) {
    running += fanout[i];
    view.setUint32(8 + 4 * i, running);
  }
  const namesAt = 8 + FANOUT_BYTES;
  const crcAt = namesAt + count * h;
  const offsetsAt = crcAt + count * 4;
  const largeAt = offsetsAt + count * 4;
  let big = 0;
  for (let i = 0; i < count; i++) {
    const e = order[i];
    const at = namesAt + i * h;
    let same = i > 0;
    for (let b = 0; b < h; b++) {
      const v = ids[e * h + b];
      out[at + b] = v;
      if (same && out[at - h + b] !== v) same = false;
    }
    if (same) throw invalidArgument(`object ${toHex(out, at, h)} appears twice in the pack`);
    view.setUint32(crcAt + 4 * i, crcs[e] >>> 0);
    const o = offsets[e];
    if (o < 0x80000000) view.setUint32(offsetsAt + 4 * i, o);
    else {
      view.setUint32(offsetsAt + 4 * i, (0x80000000 | big) >>> 0);
      view.setUint32(largeAt + 8 * big, Math.floor(o / 2 ** 32));
      view.setUint32(largeAt + 8 * big + 4, o % 2 ** 32);
      big++;
    }
  }
  const trailerAt = largeAt + large * 8;
  out.set(packChecksum, trailerAt);
  out.set(digest(algorithm, [out.subarray(0, trailerAt + h)]), trailerAt + h);
  return out;
}
