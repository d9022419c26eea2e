/**
 * One epoch of a queue (format version 2) is one blob: its elements as records sorted by key, so
 * that 128 pushes cost one hash, not 128.
 *
 *     record = key (18 bytes) · value length (unsigned LEB128) · value bytes
 *     key    = push time: wall ms (6 bytes, big-endian) · logical (4 bytes, big-endian) · nonce (8 random bytes)
 *
 * Keys are strictly increasing through the blob (byte order = time order, then nonce), so the bytes
 * of an epoch are a function of its set of elements: merging both ways gives the same blob. A push
 * opens a new epoch when the back one holds {@link EPOCH_SIZE} elements or {@link EPOCH_BYTES}
 * bytes, so that a push or pop on a branch rewrites a bounded blob even with large values.
 */
import { corrupt, invalidArgument } from "../../core/errors.js";
import { nextTimestamp, type Timestamp } from "../hlc.js";
import { MAX_VALUE, type StagedValue } from "./values.js";

/**
 * Elements a push puts in one epoch before opening the next. Per-epoch costs (a hash, a tree entry,
 * a carry or refill) are paid once per this many elements of a transaction's pushes and pops;
 * {@link EPOCH_BYTES} keeps the blob a single push or pop rewrites small whatever it is (128
 * measured ~20% faster than 64 on 1,000-operation transactions, and the same per commit).
 */
export const EPOCH_SIZE = 128;
/** Bytes of records after which a push opens the next epoch (whatever the number of elements). */
export const EPOCH_BYTES = 16 * 1024;
/** Bytes of a record's key. */
export const KEY_BYTES = 18;


/** A decoded epoch blob: record `i` spans `starts[i]..starts[i + 1]` of `bytes`, its value starts at `values[i]`. */
export interface EpochView {
  readonly bytes: Uint8Array;
  readonly count: number;
  readonly starts: Uint32Array;
  readonly values: Uint32Array;
}

// The epochs decoded or built last, found by their bytes (the object cache and pending leaves hand
// out the same array): an operation usually reads what the one before it wrote. A few strong
// entries, not a WeakMap: one WeakMap entry per epoch cost as much as writing its records.
const RECENT = 8;
const recent: (EpochView | undefined)[] = new Array<EpochView | undefined>(RECENT).fill(undefined);
let recentAt = 0;

function recall(bytes: Uint8Array): EpochView | undefined {
  for (const v of recent) if (v !== undefined && v.bytes === bytes) return v;
  return undefined;
}

/** Remembers `view` as the decoding of its bytes (for an epoch built or decoded here). */
function remember(view: EpochView): EpochView {
  recent[recentAt] = view;
  recentAt = (recentAt + 1) % RECENT;
  return view;
}

/**
 * The records of an epoch blob; CORRUPT unless they are well formed, in strictly increasing key
 * order, and `count` of them (the count in the epoch's entry name). O(size); the few epochs decoded or built last are not decoded again.
 */
export function decodeEpoch(bytes: Uint8Array, count: number, where: string): EpochView {
  const known = recall(bytes);
  if (known !== undefined) {
    if (known.count !== count) throw corrupt(`queue epoch ${where} holds ${known.count} elements, its name says ${count}`);
    return known;
  }
  const size = bytes.length;
  // Every record takes at least a key and a length byte: a count past that is a lie (and no allocation is made for it).
  if (count < 1 || count > size / (KEY_BYTES + 1)) throw corrupt(`queue epoch ${where} of ${size} bytes cannot hold the ${count} elements its name says`);
  const starts = new Uint32Array(count + 1);
  const values = new Uint32Array(count);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  let r = 0;
  let previous = -1;
  while (at < size) {
    if (r === count) throw corrupt(`queue epoch ${where} holds more than the ${count} elements its name says`);
    const start = at;
    at += KEY_BYTES;
    if (at > size) throw corrupt(`queue epoch ${where} ends inside a record key`);
    if (previous >= 0 && compareKeysAt(dv, bytes, previous, start) >= 0) throw corrupt(`queue epoch ${where} holds records out of key order`);
    let b = at < size ? bytes[at++] : 0x80;
    let len = b & 0x7f;
    for (let shift = 128, i = 1; b >= 0x80; shift *= 128, i++) {
      if (at >= size || i === 5) throw corrupt(`queue epoch ${where} holds a bad value length`);
      b = bytes[at++];
      len += (b & 0x7f) * shift;
    }
    if (len > size - at) throw corrupt(`queue epoch ${where} ends inside a value`);
    starts[r] = start;
    values[r] = at;
    r++;
    previous = start;
    at += len;
  }
  if (r !== count) throw corrupt(`queue epoch ${where} holds ${r} elements, its name says ${count}`);
  starts[count] = size;
  return remember({ bytes, count, starts, values });
}

/** Byte order of the keys at `x` and `y` of `bytes` (`dv` on it): the push times as numbers first, then byte by byte. */
function compareKeysAt(dv: DataView, bytes: Uint8Array, x: number, y: number): number {
  const d = dv.getUint32(x) - dv.getUint32(y) || dv.getUint32(x + 4) - dv.getUint32(y + 4) || dv.getUint16(x + 8) - dv.getUint16(y + 8);
  if (d !== 0) return d;
  for (let k = 10; k < KEY_BYTES; k++) if (bytes[x + k] !== bytes[y + k]) return bytes[x + k] - bytes[y + k];
  return 0;
}

/** The value bytes of record `i`. */
export function valueAt(view: EpochView, i: number): Uint8Array {
  return view.bytes.subarray(view.values[i], view.starts[i + 1]);
}

/** The key bytes of record `i`. */
export function keyAt(view: EpochView, i: number): Uint8Array {
  return view.bytes.subarray(view.starts[i], view.starts[i] + KEY_BYTES);
}

/** The key of record `i` as a string of byte-valued code units (ordered as the bytes are): a map key. */
export function keyString(view: EpochView, i: number): string {
  return String.fromCharCode(...keyAt(view, i));
}

/** The push time of the last record (the epoch is never empty). */
export function lastTime(view: EpochView): Timestamp {
  const b = view.bytes;
  const at = view.starts[view.count - 1];
  const high = b[at] * 256 + b[at + 1];
  const low = ((b[at + 2] << 24) | (b[at + 3] << 16) | (b[at + 4] << 8) | b[at + 5]) >>> 0;
  const logical = ((b[at + 6] << 24) | (b[at + 7] << 16) | (b[at + 8] << 8) | b[at + 9]) >>> 0;
  return { wall: high * 2 ** 32 + low, logical };
}

/** The epoch without its first `from` records: a view on the same bytes (no copy, no decode). */
export function dropRecords(view: EpochView, from: number): EpochView {
  const base = view.starts[from];
  const bytes = view.bytes.subarray(base);
  const starts = view.starts.slice(from).map((s) => s - base);
  const values = view.values.slice(from).map((s) => s - base);
  return remember({ bytes, count: view.count - from, starts, values });
}

// ---- building ----

// Nonces are cut from a pool of random bytes: one system call per 8,192 pushes.
const POOL_BYTES = 64 * 1024;
let pool = new Uint8Array(0);
let poolView = new DataView(pool.buffer);
let poolAt = 0;

function varintLength(n: number): number {
  let len = 1;
  while (n >= 128) {
    n = Math.floor(n / 128);
    len++;
  }
  return len;
}

/** Writes `len` at `at` as unsigned LEB128 ({@link varintLength} bytes) and returns where the value starts. */
function writeLength(bytes: Uint8Array, at: number, len: number): number {
  while (len >= 128) {
    bytes[at++] = (len & 0x7f) | 0x80;
    len = Math.floor(len / 128);
  }
  bytes[at++] = len;
  return at;
}

/**
 * Pushes timestamped as a batch: each is later than the one before and than `seen`, through the
 * hybrid logical clock (one wall-clock reading per batch).
 */
export class Stamper {
  private last: Timestamp | undefined;
  private readonly now = Date.now();

  constructor(seen: Timestamp | undefined) {
    this.last = seen;
  }

  /** The next push time. */
  next(): Timestamp {
    this.last = nextTimestamp(this.last, this.now);
    return this.last;
  }

  /**
   * The first of `k` ≥ 1 consecutive push times sharing one wall time (logical, logical + 1, ...),
   * all issued by the clock; `undefined` when they do not fit one wall time (then call
   * {@link next} for each).
   */
  reserve(k: number): Timestamp | undefined {
    const first = this.next();
    if (k === 1) return first;
    // The clock issues the last one straight after the first (same reading): every time in between is ours.
    const last = nextTimestamp({ wall: first.wall, logical: first.logical + k - 2 }, this.now);
    this.last = last;
    return last.wall === first.wall && last.logical === first.logical + k - 1 ? first : undefined;
  }
}

/**
 * The epoch holding `keep`'s records then one new record for each of `values[from..to)`, stamped by
 * `stamper` (so their keys come after `keep`'s). Builds the blob in one pass.
 */
export function appendRecords(keep: EpochView | undefined, values: readonly StagedValue[], from: number, to: number, stamper: Stamper): EpochView {
  const kept = keep?.bytes.length ?? 0;
  const keptCount = keep?.count ?? 0;
  let size = kept;
  for (let i = from; i < to; i++) {
    const len = values[i].length;
    // stageValue refused larger values already.
    if (len > MAX_VALUE) throw invalidArgument("a queue value is larger than 4 GiB");
    size += KEY_BYTES + varintLength(len) + len;
  }
  const bytes = new Uint8Array(size);
  const count = keptCount + (to - from);
  const starts = new Uint32Array(count + 1);
  const vals = new Uint32Array(count);
  if (keep !== undefined) {
    bytes.set(keep.bytes, 0);
    starts.set(keep.starts.subarray(0, keptCount), 0);
    vals.set(keep.values, 0);
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const run = to > from ? stamper.reserve(to - from) : undefined;
  let wallHigh = run === undefined ? 0 : Math.floor(run.wall / 2 ** 32);
  let wallLow = run === undefined ? 0 : run.wall % 2 ** 32;
  let logical = 0;
  // Module state in locals: the loop runs once per element.
  let nonces = pool;
  let nonceView = poolView;
  let nonceAt = poolAt;
  let at = kept;
  for (let i = from, r = keptCount; i < to; i++, r++) {
    // One wall time for the whole run (the usual case), else a clock reading per push.
    if (run === undefined) {
      const t = stamper.next();
      wallHigh = Math.floor(t.wall / 2 ** 32);
      wallLow = t.wall % 2 ** 32;
      logical = t.logical;
    } else logical = run.logical + (i - from);
    starts[r] = at;
    dv.setUint16(at, wallHigh);
    dv.setUint32(at + 2, wallLow);
    dv.setUint32(at + 6, logical);
    if (nonceAt + 8 > nonces.length) {
      nonces = crypto.getRandomValues(new Uint8Array(POOL_BYTES));
      nonceView = new DataView(nonces.buffer);
      nonceAt = 0;
    }
    dv.setUint32(at + 10, nonceView.getUint32(nonceAt));
    dv.setUint32(at + 14, nonceView.getUint32(nonceAt + 4));
    nonceAt += 8;
    at += KEY_BYTES;
    const value = values[i];
    at = writeLength(bytes, at, value.length);
    vals[r] = at;
    if (typeof value === "string") {
      for (let k = 0; k < value.length; k++) bytes[at + k] = value.charCodeAt(k);
    } else bytes.set(value, at);
    at += value.length;
  }
  pool = nonces;
  poolView = nonceView;
  poolAt = nonceAt;
  starts[count] = size;
  return remember({ bytes, count, starts, values: vals });
}

/**
 * How many of `values[from..]` an epoch already holding `count` elements in `bytes` bytes takes
 * before it closes (at {@link EPOCH_SIZE} elements or {@link EPOCH_BYTES} bytes): at least one for
 * a new epoch (0, 0), possibly none for an existing one.
 */
export function takeCount(values: readonly StagedValue[], from: number, count: number, bytes: number): number {
  let n = 0;
  while (from + n < values.length && count < EPOCH_SIZE && bytes < EPOCH_BYTES) {
    const len = values[from + n].length;
    bytes += KEY_BYTES + varintLength(len) + len;
    count++;
    n++;
  }
  return n;
}

/** The epoch holding `records` (key and value bytes, sorted by key, keys distinct). */
export function encodeRecords(records: readonly { key: Uint8Array; value: Uint8Array }[]): EpochView {
  let size = 0;
  for (const r of records) size += KEY_BYTES + varintLength(r.value.length) + r.value.length;
  const bytes = new Uint8Array(size);
  const starts = new Uint32Array(records.length + 1);
  const vals = new Uint32Array(records.length);
  let at = 0;
  records.forEach((r, i) => {
    starts[i] = at;
    bytes.set(r.key, at);
    at += KEY_BYTES;
    at = writeLength(bytes, at, r.value.length);
    vals[i] = at;
    bytes.set(r.value, at);
    at += r.value.length;
  });
  starts[records.length] = size;
  return remember({ bytes, count: records.length, starts, values: vals });
}
