/**
 * Hashing and zlib for Node. This is the only module of the pure layers that touches Node
 * built-ins; a browser build replaces it (package.json `browser` field) with pure-JS versions.
 */
import * as cryptoModule from "node:crypto";
import { createHash } from "node:crypto";
import { constants as zlibConstants, crc32 as zlibCrc32, createInflate, deflateSync, inflateSync } from "node:zlib";
import type { HashAlgorithm } from "../core/hash.js";
import { crc32 as pureCrc32 } from "../codec/pack/crc32.js";
import { readStoredZlib, storedZlib } from "../codec/zlib-stored.js";

/** One-shot hashing (Node >= 20.12), much cheaper than a Hash object for small inputs. */
const oneShot = (cryptoModule as { hash?: (algorithm: string, data: Uint8Array, encoding: string) => Buffer | string }).hash;
/** Inputs up to this size are copied together and hashed in one call. */
const ONE_SHOT_MAX = 1 << 16;
let scratch = new Uint8Array(4096);

/** The chunks copied into the scratch buffer when small enough for {@link oneShot}; else undefined. */
function joined(chunks: readonly Uint8Array[]): Uint8Array | undefined {
  if (oneShot === undefined) return undefined;
  let n = 0;
  for (const c of chunks) n += c.length;
  if (n > ONE_SHOT_MAX) return undefined;
  if (chunks.length === 1) return chunks[0];
  if (n > scratch.length) scratch = new Uint8Array(ONE_SHOT_MAX);
  let at = 0;
  for (const c of chunks) {
    scratch.set(c, at);
    at += c.length;
  }
  return scratch.subarray(0, n);
}

/** Whether `a` and `b` hold the same bytes (one native comparison). */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}

/** Digest of the concatenation of `chunks`. */
export function digest(algorithm: HashAlgorithm, chunks: readonly Uint8Array[]): Uint8Array {
  const whole = joined(chunks);
  if (whole !== undefined) return oneShot!(algorithm, whole, "buffer") as Buffer;
  const h = createHash(algorithm);
  for (const c of chunks) h.update(c);
  return h.digest();
}

/**
 * Writes the digest of the concatenation of `chunks` into `out` at `outPos` (`digestLength`
 * bytes). For small inputs this asks the one-shot hash for a one-byte-per-char string, which
 * costs about a third of a returned Buffer (no backing store to allocate per call): the receive
 * path hashes every object of a pack.
 */
export function digestInto(algorithm: HashAlgorithm, chunks: readonly Uint8Array[], out: Uint8Array, outPos: number): void {
  const whole = joined(chunks);
  if (whole !== undefined) {
    const s = oneShot!(algorithm, whole, "latin1") as string;
    for (let i = 0; i < s.length; i++) out[outPos + i] = s.charCodeAt(i);
    return;
  }
  const h = createHash(algorithm);
  for (const c of chunks) h.update(c);
  out.set(h.digest(), outPos);
}

/** Hex digest of the concatenation of `chunks`. */
export function digestHex(algorithm: HashAlgorithm, chunks: readonly Uint8Array[]): string {
  const whole = joined(chunks);
  if (whole !== undefined) return oneShot!(algorithm, whole, "hex") as string;
  const h = createHash(algorithm);
  for (const c of chunks) h.update(c);
  return h.digest("hex");
}

/** An incremental hasher, for data that arrives in pieces (pack streams, pack checksums). */
export interface Hasher {
  update(chunk: Uint8Array): Hasher;
  digest(): Uint8Array;
}

/** Starts an incremental digest. */
export function createHasher(algorithm: HashAlgorithm): Hasher {
  const h = createHash(algorithm);
  return {
    update(chunk) {
      h.update(chunk);
      return this;
    },
    digest: () => h.digest(),
  };
}

/**
 * Data shorter than this is stored uncompressed whatever the level: compressing it saves a few
 * bytes at most, and a zlib call costs 15–30 µs in a running store (a compressor's state is set
 * up each time), against ~1 µs for a stored block written in JS (codec/zlib-stored.ts).
 */
const STORE_BELOW = 128;
/** Stored streams up to this size are written and read in JS (measured faster than zlib up to ~4 KiB). */
const STORED_IN_JS = 4096;

/**
 * zlib-compresses `data` (level 1 by default: Git's loose objects favour speed too). Data under
 * 128 bytes, and level 0 up to 4 KiB, become stored blocks written in JS.
 */
export function deflate(data: Uint8Array, level = 1): Uint8Array {
  if (data.length < STORE_BELOW || (level === 0 && data.length <= STORED_IN_JS)) return storedZlib(data);
  return deflateSync(data, { level });
}

/** zlib-decompresses a whole stream; throws on malformed input (callers map it to `CORRUPT`). */
export function inflate(data: Uint8Array): Uint8Array {
  const fast = readStoredZlib(data, 0, STORED_IN_JS);
  if (fast !== undefined && fast.consumed === data.length) return fast.output;
  return inflateSync(data);
}

/**
 * Inflates the zlib stream that starts at `offset` in `data`, which may be followed by unrelated
 * bytes (as in a packfile). Returns the output and how many input bytes the stream used.
 */
export function inflateAt(data: Uint8Array, offset: number, expectedSize?: number): { output: Uint8Array; consumed: number } {
  const fast = readStoredZlib(data, offset, Math.min(expectedSize ?? STORED_IN_JS, STORED_IN_JS));
  if (fast !== undefined) return fast;
  const input = data.subarray(offset);
  // The default finish flush makes a truncated stream an error rather than a short result.
  const result = inflateSync(input, {
    info: true,
    ...(expectedSize !== undefined ? { maxOutputLength: Math.max(expectedSize, 1) } : {}),
  }) as unknown as { buffer: Uint8Array; engine: { bytesWritten: number } };
  return { output: result.buffer, consumed: result.engine.bytesWritten };
}

/**
 * CRC-32 (zlib's) of `data`, continuing from `previous` (see codec/pack/crc32.ts, the pure
 * version this falls back to on a Node without `zlib.crc32`): ~50x faster natively.
 */
export function crc32(data: Uint8Array, previous = 0): number {
  return typeof zlibCrc32 === "function" ? zlibCrc32(data, previous) : pureCrc32(data, previous);
}

/** What {@link Inflater.inflate} produced. */
export interface InflateResult {
  output: Uint8Array;
  /** How many input bytes the zlib stream took. */
  consumed: number;
}

/**
 * A reusable zlib inflater for many small streams (the entries of a pack): one engine, reset
 * between streams, instead of a new one per stream (`inflateSync` costs ~20 µs of set-up per
 * call, ~1 µs this way).
 */
export interface Inflater {
  /**
   * Inflates the zlib stream starting at `data[offset]` (unrelated bytes may follow it), which
   * should produce `size` bytes. Returns the output (a fresh buffer, `size` bytes at most: fewer
   * when the stream ends early, which the caller checks) and the input used, or `undefined` when
   * `data` ends before the stream does (give more input). Throws an error with `code`
   * `Z_DATA_ERROR` (or another zlib code) on malformed data and `ERR_BUFFER_TOO_LARGE` when the
   * stream holds more than `size` bytes. The engine stays usable after a throw.
   */
  inflate(data: Uint8Array, offset: number, size: number): InflateResult | undefined;
}

interface ZlibHandle {
  writeSync(flush: number, input: Uint8Array, inOff: number, inLen: number, out: Uint8Array, outOff: number, outLen: number): void;
  reset(): void;
  onerror: (message: string, errno: number) => void;
}

const ZLIB_CODES: Record<number, string> = { [-2]: "Z_STREAM_ERROR", [-3]: "Z_DATA_ERROR", [-4]: "Z_MEM_ERROR", [-5]: "Z_BUF_ERROR", [2]: "Z_NEED_DICT" };

function zlibError(message: string, code: string): Error {
  return Object.assign(new Error(message), { code });
}

/**
 * Starts an {@link Inflater}. It drives the native handle of one `zlib.Inflate` directly
 * (`writeSync` / `reset`, what `inflateSync` does inside); where those internals are missing it
 * falls back to {@link inflateAt}, with the same results.
 */
export function createInflater(): Inflater {
  const open = (): { stream: unknown; handle: ZlibHandle; state: Uint32Array; error: { message: string; errno: number } | undefined } | undefined => {
    const stream = createInflate() as unknown as { _handle?: ZlibHandle; _writeState?: Uint32Array };
    const handle = stream._handle;
    const state = stream._writeState;
    if (handle === undefined || typeof handle.writeSync !== "function" || typeof handle.reset !== "function" || !(state instanceof Uint32Array)) return undefined;
    const engine = { stream, handle, state, error: undefined as { message: string; errno: number } | undefined };
    // Keep the error here instead of letting the stream destroy itself (and its handle).
    handle.onerror = (message, errno) => {
      engine.error = { message, errno };
    };
    return engine;
  };
  let engine = open();
  if (engine === undefined) {
    return {
      inflate(data, offset, size) {
        try {
          const r = inflateAt(data, offset, size);
          return { output: r.output, consumed: r.consumed };
        } catch (e) {
          if ((e as { code?: unknown } | null)?.code === "Z_BUF_ERROR") return undefined;
          throw e;
        }
      },
    };
  }
  return {
    inflate(data, offset, size) {
      const e = engine!;
      // One spare byte: a stream that fills it is longer than `size`.
      const out = new Uint8Array(size + 1);
      const inLen = data.length - offset;
      e.error = undefined;
      e.handle.writeSync(zlibConstants.Z_FINISH, data, offset, inLen, out, 0, out.length);
      const error = e.error as { message: string; errno: number } | undefined;
      if (error !== undefined) {
        // An engine that failed may be in any state: start a fresh one.
        engine = open() ?? e;
        if (engine === e) e.handle.reset();
        if (error.errno === zlibConstants.Z_BUF_ERROR) return undefined;
        throw zlibError(`inflate: ${error.message}`, ZLIB_CODES[error.errno] ?? "Z_DATA_ERROR");
      }
      const produced = out.length - e.state[0];
      const consumed = inLen - e.state[1];
      e.handle.reset();
      if (produced > size) throw zlibError(`inflate: the stream holds more than ${size} bytes`, "ERR_BUFFER_TOO_LARGE");
      return { output: out.subarray(0, produced), consumed };
    },
  };
}
