/**
 * Hashing and zlib for Node. This is the only module of the pure layers that touches Node
 * built-ins; a browser build replaces it (package.json `browser` field) with pure-JS versions.
 */
import { createHash } from "node:crypto";
import { deflateSync, inflateSync } from "node:zlib";
import type { HashAlgorithm } from "../core/hash.js";

/** Digest of the concatenation of `chunks`. */
export function digest(algorithm: HashAlgorithm, chunks: readonly Uint8Array[]): Uint8Array {
  const h = createHash(algorithm);
  for (const c of chunks) h.update(c);
  return h.digest();
}

/** Hex digest of the concatenation of `chunks`. */
export function digestHex(algorithm: HashAlgorithm, chunks: readonly Uint8Array[]): string {
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

/** zlib-compresses `data` (level 1 by default: Git's loose objects favour speed too). */
export function deflate(data: Uint8Array, level = 1): Uint8Array {
  return deflateSync(data, { level });
}

/** zlib-decompresses a whole stream; throws on malformed input (callers map it to `CORRUPT`). */
export function inflate(data: Uint8Array): Uint8Array {
  return inflateSync(data);
}

/**
 * Inflates the zlib stream that starts at `offset` in `data`, which may be followed by unrelated
 * bytes (as in a packfile). Returns the output and how many input bytes the stream used.
 */
export function inflateAt(data: Uint8Array, offset: number, expectedSize?: number): { output: Uint8Array; consumed: number } {
  const input = data.subarray(offset);
  // The default finish flush makes a truncated stream an error rather than a short result.
  const result = inflateSync(input, {
    info: true,
    ...(expectedSize !== undefined ? { maxOutputLength: Math.max(expectedSize, 1) } : {}),
  }) as unknown as { buffer: Uint8Array; engine: { bytesWritten: number } };
  return { output: result.buffer, consumed: result.engine.bytesWritten };
}
