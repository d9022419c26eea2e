/**
 * Git's binary delta format (`man 5 gitformat-pack`, "Deltified representation"): a header with the
 * base and result sizes, then instructions that either copy a range of the base or insert literal
 * bytes. Pure and synchronous; reused by the network code.
 */
import { corrupt } from "../../core/errors.js";
import { sameBytes } from "../../platform/native.js";

function readSize(delta: Uint8Array, pos: number): { value: number; pos: number } {
  let value = 0;
  let scale = 1;
  let c: number;
  do {
    if (pos >= delta.length) throw corrupt("delta header truncated");
    c = delta[pos++];
    value += (c & 0x7f) * scale;
    scale *= 128;
    if (scale > 2 ** 56) throw corrupt("delta size too large");
  } while (c & 0x80);
  return { value, pos };
}

/**
 * The sizes a delta declares: the base it applies to and the result it produces, plus where the
 * instructions start. Throws `CORRUPT` when the header is truncated. Cost: a few bytes read.
 */
export function deltaSizes(delta: Uint8Array): { baseSize: number; resultSize: number; headerLength: number } {
  const base = readSize(delta, 0);
  const result = readSize(delta, base.pos);
  return { baseSize: base.value, resultSize: result.value, headerLength: result.pos };
}

/**
 * Applies `delta` to `base`. Strict: a base of the wrong size, a copy outside the base, an insert
 * running past the delta, the reserved opcode 0, or a result whose length differs from the
 * declared size all throw `CORRUPT` (never a RangeError). Cost: linear in the result size.
 */
export function applyDelta(base: Uint8Array, delta: Uint8Array): Uint8Array {
  const { baseSize, resultSize, headerLength } = deltaSizes(delta);
  if (baseSize !== base.length) throw corrupt(`delta expects a base of ${baseSize} bytes, base has ${base.length}`);
  // Validate every instruction before allocating, so a corrupt size cannot make us allocate
  // gigabytes: the first pass only sums, the second copies.
  if (run(base, delta, headerLength, undefined) !== resultSize) throw corrupt(`delta result size differs from the declared ${resultSize}`);
  const out = new Uint8Array(resultSize);
  run(base, delta, headerLength, out);
  return out;
}

/** Walks the instructions; copies into `out` when given. Returns the result length. */
function run(base: Uint8Array, delta: Uint8Array, start: number, out: Uint8Array | undefined): number {
  let o = 0;
  let p = start;
  const end = delta.length;
  while (p < end) {
    const op = delta[p++];
    if (op & 0x80) {
      let offset = 0;
      let size = 0;
      // Bits 0-3 say which offset bytes follow, bits 4-6 which size bytes, little-endian.
      for (let b = 0; b < 4; b++) {
        if (op & (1 << b)) {
          if (p >= end) throw corrupt("delta copy truncated");
          offset += delta[p++] * 2 ** (8 * b);
        }
      }
      for (let b = 0; b < 3; b++) {
        if (op & (0x10 << b)) {
          if (p >= end) throw corrupt("delta copy truncated");
          size |= delta[p++] << (8 * b);
        }
      }
      if (size === 0) size = 0x10000;
      if (offset + size > base.length) throw corrupt("delta copies outside its base");
      if (out !== undefined) out.set(base.subarray(offset, offset + size), o);
      o += size;
    } else if (op !== 0) {
      if (p + op > end) throw corrupt("delta insert truncated");
      if (out !== undefined) out.set(delta.subarray(p, p + op), o);
      o += op;
      p += op;
    } else {
      throw corrupt("delta uses reserved opcode 0");
    }
  }
  return o;
}

const BLOCK = 16;
const MAX_BUCKET = 64;
const MAX_COPY = 0x10000;
const MAX_INSERT = 0x7f;

/** A growable byte buffer, so createDelta does not build a number[] per byte. */
class ByteSink {
  buf: Uint8Array;
  len = 0;
  constructor(capacity: number) {
    this.buf = new Uint8Array(Math.max(capacity, 64));
  }
  ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.len + n));
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }
  push(b: number): void {
    this.ensure(1);
    this.buf[this.len++] = b;
  }
  pushBytes(bytes: Uint8Array): void {
    this.ensure(bytes.length);
    this.buf.set(bytes, this.len);
    this.len += bytes.length;
  }
  result(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

function writeSize(sink: ByteSink, value: number): void {
  let v = value;
  while (v >= 0x80) {
    sink.push((v % 128) | 0x80);
    v = Math.floor(v / 128);
  }
  sink.push(v);
}

/** Hash of the BLOCK bytes at `pos` (FNV-style; only used to find candidates, always verified). */
function blockHash(data: Uint8Array, pos: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < BLOCK; i++) h = Math.imul(h ^ data[pos + i], 0x01000193);
  return h >>> 0;
}

function emitInsert(sink: ByteSink, target: Uint8Array, from: number, to: number): void {
  for (let s = from; s < to; s += MAX_INSERT) {
    const n = Math.min(MAX_INSERT, to - s);
    sink.push(n);
    sink.pushBytes(target.subarray(s, s + n));
  }
}

function emitCopy(sink: ByteSink, offset: number, size: number): void {
  let off = offset;
  let rest = size;
  while (rest > 0) {
    const n = Math.min(MAX_COPY, rest);
    const opAt = sink.len;
    sink.push(0x80);
    let op = 0x80;
    for (let b = 0; b < 4; b++) {
      const byte = Math.floor(off / 2 ** (8 * b)) & 0xff;
      if (byte !== 0) {
        op |= 1 << b;
        sink.push(byte);
      }
    }
    // A size of exactly 0x10000 is written as no size bytes at all, as git does.
    const sz = n === MAX_COPY ? 0 : n;
    for (let b = 0; b < 3; b++) {
      const byte = (sz >> (8 * b)) & 0xff;
      if (byte !== 0) {
        op |= 0x10 << b;
        sink.push(byte);
      }
    }
    sink.buf[opAt] = op;
    off += n;
    rest -= n;
  }
}

/** Bytes compared per native call while looking for the first difference. */
const CHUNK = 512;

/** Length of the common prefix of `a` and `b` (compared a chunk at a time natively, then bytewise). */
function commonPrefix(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  let p = 0;
  while (p + CHUNK <= n && sameBytes(a.subarray(p, p + CHUNK), b.subarray(p, p + CHUNK))) p += CHUNK;
  while (p < n && a[p] === b[p]) p++;
  return p;
}

/** Length of the common suffix of `a` and `b`, at most `limit`. */
function commonSuffix(a: Uint8Array, b: Uint8Array, limit: number): number {
  let q = 0;
  while (q + CHUNK <= limit && sameBytes(a.subarray(a.length - q - CHUNK, a.length - q), b.subarray(b.length - q - CHUNK, b.length - q))) q += CHUNK;
  while (q < limit && a[a.length - q - 1] === b[b.length - q - 1]) q++;
  return q;
}

/**
 * A delta that turns `base` into `target` (`applyDelta(base, createDelta(base, target))` equals
 * `target`). The common prefix and suffix are found first (successive versions of a file or a
 * directory mostly differ in one place: a native comparison pass, no index); the rest of the
 * target is matched against an index of the base's 16-byte blocks: where a block matches, the match
 * is extended both ways and emitted as a copy, elsewhere as literal inserts. Good for successive
 * versions of a file; not as tight as git's. Cost: linear in both sizes (bounded candidate lists
 * per block hash); the base is indexed only when the middle part is longer than a few blocks.
 * Bases of 4 GiB or more are not supported (copy offsets are 32-bit): callers should not pick such
 * bases.
 */
export function createDelta(base: Uint8Array, target: Uint8Array): Uint8Array {
  const sink = new ByteSink(64 + (target.length >> 3));
  writeSize(sink, base.length);
  writeSize(sink, target.length);
  let prefix = commonPrefix(base, target);
  let suffix = commonSuffix(base, target, Math.min(base.length, target.length) - prefix);
  // Short common ends are cheaper as literals than as copy instructions.
  if (prefix < BLOCK) prefix = 0;
  if (suffix < BLOCK) suffix = 0;
  const end = target.length - suffix;
  if (prefix > 0) emitCopy(sink, 0, prefix);
  let pending = prefix; // start of the literal bytes not yet emitted
  if (end - prefix >= 4 * BLOCK) {
    const index = new Map<number, number[]>();
    for (let p = 0; p + BLOCK <= base.length; p += BLOCK) {
      const h = blockHash(base, p);
      const list = index.get(h);
      if (list === undefined) index.set(h, [p]);
      else if (list.length < MAX_BUCKET) list.push(p);
    }
    let i = prefix;
    while (i + BLOCK <= end) {
      const candidates = index.size > 0 ? index.get(blockHash(target, i)) : undefined;
      let bestLen = 0;
      let bestBase = 0;
      if (candidates !== undefined) {
        for (const c of candidates) {
          let len = 0;
          while (i + len < end && c + len < base.length && target[i + len] === base[c + len]) len++;
          if (len > bestLen) {
            bestLen = len;
            bestBase = c;
          }
        }
      }
      if (bestLen < BLOCK) {
        i++;
        continue;
      }
      // Extend backwards into the literal bytes not yet emitted.
      let back = 0;
      while (i - back > pending && bestBase - back > 0 && target[i - back - 1] === base[bestBase - back - 1]) back++;
      emitInsert(sink, target, pending, i - back);
      emitCopy(sink, bestBase - back, bestLen + back);
      i += bestLen;
      pending = i;
    }
  }
  emitInsert(sink, target, pending, end);
  if (suffix > 0) emitCopy(sink, base.length - suffix, suffix);
  return sink.result();
}
