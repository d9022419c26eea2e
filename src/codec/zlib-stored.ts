/**
 * zlib streams of stored (uncompressed) deflate blocks, written and read in plain JS. For small
 * data a native zlib call costs 15–30 µs whatever the size (a compressor is set up and torn down
 * each time), which is most of what storing a commit's handful of small objects in a pack costs;
 * these take a microsecond or two. The streams are ordinary zlib: git and any inflater read them.
 */

/** Largest payload of one stored block. */
const BLOCK = 65535;

/** Adler-32 of `data` (zlib's checksum), continuing from `previous` (1 for a fresh stream). */
export function adler32(data: Uint8Array, previous = 1): number {
  let a = previous & 0xffff;
  let b = previous >>> 16;
  const n = data.length;
  let i = 0;
  while (i < n) {
    // 5552 bytes is the most that cannot overflow before the modulo (zlib's NMAX).
    const end = Math.min(i + 5552, n);
    for (; i < end; i++) {
      a += data[i];
      b += a;
    }
    a %= 65521;
    b %= 65521;
  }
  return ((b << 16) | a) >>> 0;
}

/** A zlib stream holding `data` in stored blocks (header `78 01`, blocks of at most 65,535 bytes, Adler-32). */
export function storedZlib(data: Uint8Array): Uint8Array {
  const blocks = Math.max(1, Math.ceil(data.length / BLOCK));
  const out = new Uint8Array(2 + 5 * blocks + data.length + 4);
  out[0] = 0x78;
  out[1] = 0x01;
  let p = 2;
  for (let k = 0, at = 0; k < blocks; k++) {
    const len = Math.min(BLOCK, data.length - at);
    // BFINAL on the last block, BTYPE 00; the rest of the byte pads to the byte boundary.
    out[p++] = k === blocks - 1 ? 1 : 0;
    out[p++] = len & 0xff;
    out[p++] = len >>> 8;
    out[p++] = ~len & 0xff;
    out[p++] = (~len >>> 8) & 0xff;
    out.set(data.subarray(at, at + len), p);
    p += len;
    at += len;
  }
  const sum = adler32(data);
  out[p++] = sum >>> 24;
  out[p++] = (sum >>> 16) & 0xff;
  out[p++] = (sum >>> 8) & 0xff;
  out[p] = sum & 0xff;
  return out;
}

/**
 * Reads the zlib stream at `offset` of `data` when it is made of stored blocks only (as
 * {@link storedZlib} writes them) holding at most `maxSize` bytes, with a matching Adler-32.
 * Returns the data and the stream's length in bytes; `undefined` for any other stream (compressed
 * blocks, a preset dictionary, truncated or damaged), which the caller hands to a real inflater,
 * so errors are reported the usual way.
 */
export function readStoredZlib(data: Uint8Array, offset: number, maxSize: number): { output: Uint8Array; consumed: number } | undefined {
  let p = offset;
  if (p + 2 > data.length) return undefined;
  const cmf = data[p];
  const flg = data[p + 1];
  if ((cmf & 0x0f) !== 8 || ((cmf << 8) | flg) % 31 !== 0 || flg & 0x20) return undefined;
  p += 2;
  const parts: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    if (p + 5 > data.length) return undefined;
    const header = data[p];
    // Stored blocks only (BTYPE 00), each starting on a byte boundary with zero padding.
    if ((header & ~1) !== 0) return undefined;
    const len = data[p + 1] | (data[p + 2] << 8);
    const nlen = data[p + 3] | (data[p + 4] << 8);
    if ((len ^ 0xffff) !== nlen) return undefined;
    p += 5;
    if (p + len > data.length || size + len > maxSize) return undefined;
    parts.push(data.subarray(p, p + len));
    size += len;
    p += len;
    if (header & 1) break;
  }
  if (p + 4 > data.length) return undefined;
  let output: Uint8Array;
  if (parts.length === 1) {
    output = parts[0].slice();
  } else {
    output = new Uint8Array(size);
    let at = 0;
    for (const part of parts) {
      output.set(part, at);
      at += part.length;
    }
  }
  const sum = ((data[p] << 24) | (data[p + 1] << 16) | (data[p + 2] << 8) | data[p + 3]) >>> 0;
  if (adler32(output) !== sum) return undefined;
  return { output, consumed: p + 4 - offset };
}
