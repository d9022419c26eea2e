/**
 * The incoming side of a pack being received (see pack-receive.ts): a window over the streamed
 * bytes that hashes, CRCs and forwards to a sink what was consumed, and the inflation of the zlib
 * stream of one entry from it.
 */
import { corrupt, IrminError, isIrminError } from "../core/errors.js";
import type { HashAlgorithm } from "../core/hash.js";
import type { PackSink } from "../backend/object-store.js";
import { crc32, createHasher, type Hasher, type InflateResult, type Inflater } from "../platform/native.js";
import { concatBytes } from "./pkt-line.js";

/** Largest first try at an entry's compressed bytes; bigger entries widen the window as needed. */
const MAX_FIRST_WINDOW = 1 << 24;

/**
 * A window over the incoming bytes with their absolute offset in the pack. Consumed bytes are
 * hashed (the pack checksum), written to the sink and CRC'd (per entry) lazily, in large runs,
 * when the window moves or on request ({@link release}).
 */
export class PackInput {
  private readonly iterator: AsyncIterator<Uint8Array>;
  buf: Uint8Array = new Uint8Array(0);
  /** Position of the next unread byte within `buf`. */
  pos = 0;
  /** Absolute pack offset of `buf[0]`. */
  base = 0;
  ended = false;
  received = 0;
  /** Start (in `buf`) of the consumed bytes not yet hashed and written. */
  private released = 0;
  /** Start (in `buf`) of the current entry's bytes not yet in `crc`. */
  private crcFrom = 0;
  private crc = 0;
  private readonly hasher: Hasher;

  constructor(
    source: AsyncIterable<Uint8Array>,
    algorithm: HashAlgorithm,
    private readonly maxBytes: number,
    private readonly sink: PackSink | undefined,
  ) {
    this.iterator = source[Symbol.asyncIterator]();
    this.hasher = createHasher(algorithm);
  }

  get offset(): number {
    return this.base + this.pos;
  }

  get available(): number {
    return this.buf.length - this.pos;
  }

  /** Hashes (and writes to the sink) every byte consumed so far. */
  release(): void {
    if (this.pos > this.released) {
      const run = this.buf.subarray(this.released, this.pos);
      this.hasher.update(run);
      this.sink?.write(run);
      this.released = this.pos;
    }
  }

  /** Starts the CRC of an entry at the current position. */
  startEntry(): void {
    this.crc = 0;
    this.crcFrom = this.pos;
  }

  /** The CRC-32 of the bytes consumed since {@link startEntry}. */
  entryCrc(): number {
    if (this.sink !== undefined && this.pos > this.crcFrom) this.crc = crc32(this.buf.subarray(this.crcFrom, this.pos), this.crc);
    this.crcFrom = this.pos;
    return this.crc;
  }

  /** Buffers at least `n` unread bytes, or as many as the stream still has; returns the count. */
  async fill(n: number): Promise<number> {
    if (this.available >= n || this.ended) return this.available;
    this.release();
    if (this.sink !== undefined && this.pos > this.crcFrom) this.crc = crc32(this.buf.subarray(this.crcFrom, this.pos), this.crc);
    const parts: Uint8Array[] = [this.buf.subarray(this.pos)];
    let have = this.available;
    while (have < n) {
      let r: IteratorResult<Uint8Array>;
      try {
        r = await this.iterator.next();
      } catch (e) {
        if (isIrminError(e)) throw e;
        throw new IrminError("IO", `pack stream failed: ${(e as Error)?.message ?? String(e)}`, { cause: e });
      }
      if (r.done === true) {
        this.ended = true;
        break;
      }
      const chunk = r.value;
      this.received += chunk.length;
      if (this.received > this.maxBytes) throw new IrminError("INVALID_ARGUMENT", `pack exceeds the limit of ${this.maxBytes} bytes`);
      parts.push(chunk);
      have += chunk.length;
    }
    this.base += this.pos;
    this.buf = parts.length === 1 ? parts[0] : concatBytes(parts);
    this.pos = 0;
    this.released = 0;
    this.crcFrom = 0;
    return have;
  }

  /** Consumes `n` buffered bytes. */
  consume(n: number): void {
    this.pos += n;
  }

  /** The next `n` bytes (consumed); CORRUPT when the stream ends first. */
  async take(n: number, what: string): Promise<Uint8Array> {
    if (this.available < n && (await this.fill(n)) < n) throw corrupt(`pack truncated in ${what}`);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** The checksum of everything consumed so far. */
  digest(): Uint8Array {
    this.release();
    return this.hasher.digest();
  }

  /** Reads the trailer (not hashed) and checks that nothing follows it. */
  async trailer(length: number): Promise<Uint8Array> {
    this.release();
    if ((await this.fill(length + 1)) < length) throw corrupt("pack truncated in its checksum");
    if (this.available > length) throw corrupt("pack has data after its checksum");
    const out = this.buf.slice(this.pos, this.pos + length);
    this.pos += length;
    this.released = this.pos;
    return out;
  }
}

/** How errors name entry `entry` (built only when one is thrown). */
export function entryName(entry: number, offset: number): string {
  return `pack entry ${entry} at offset ${offset}`;
}

/** Inflates with `inflater`, mapping zlib's failures to CORRUPT; undefined when the input ends first. */
export function inflateSome(inflater: Inflater, data: Uint8Array, offset: number, size: number, entry: number, at: number): InflateResult | undefined {
  let r;
  try {
    r = inflater.inflate(data, offset, size);
  } catch (e) {
    throw corrupt(`${entryName(entry, at)}: bad zlib data`, e);
  }
  if (r !== undefined && r.output.length !== size) throw corrupt(`${entryName(entry, at)}: inflated to ${r.output.length} bytes, header says ${size}`);
  return r;
}

/** Inflates the zlib stream at the input's position, which must produce exactly `size` bytes (the slow path: the stream is not whole in the window). */
export async function inflateEntry(input: PackInput, inflater: Inflater, size: number, entry: number, at: number): Promise<Uint8Array> {
  // zlib never expands data by more than ~1/8 plus a few bytes, so this usually holds the whole
  // stream; a stream cut by the end of the window widens it, unless the pack has no more bytes.
  let want = Math.max(Math.min(size + (size >> 3) + 64, MAX_FIRST_WINDOW), input.available * 2);
  for (;;) {
    const have = await input.fill(want);
    if (have === 0) throw corrupt(`pack truncated in ${entryName(entry, at)}`);
    const r = inflateSome(inflater, input.buf, input.pos, size, entry, at);
    if (r !== undefined) {
      input.consume(r.consumed);
      return r.output;
    }
    if (input.ended) throw corrupt(`pack truncated in ${entryName(entry, at)}`);
    want = have * 2;
  }
}

