/**
 * Contents codecs: how a value of the store becomes the bytes of a Git blob, and how two versions
 * of it merge. A repository is opened with one `Contents<V>`; the tree merge calls its `merge` on
 * every leaf both branches changed.
 */
import { corrupt, invalidArgument, isIrminError } from "../core/errors.js";
import { canonicalJson } from "./canonical-json.js";
import { bytesEqual, deepEqual } from "./equal.js";
import { Merge } from "./merge.js";

/**
 * A codec plus a merge for the values stored at the leaves of the tree.
 *
 * The bytes `decode` receives are the store's own (cached) copy and the bytes `encode` returns are
 * kept by the store until they are written: a hand-written codec must neither mutate nor hand out
 * the first, nor return bytes its value still shares. The built-in codecs and
 * {@link Contents.custom} copy where needed, so their values never share memory with the store.
 */
export interface Contents<V> {
  /** `"string"`, `"json"`, `"bytes"` or the name given to {@link Contents.custom}. */
  readonly name: string;
  /** The Git blob bytes of `value`; equal values must give equal bytes (hence equal hashes). */
  encode(value: V): Uint8Array;
  /** The value stored in a blob; throws `IrminError` `CORRUPT` when the bytes are not a valid V. */
  decode(bytes: Uint8Array): V;
  /** The 3-way merge used when both sides changed this value. */
  readonly merge: Merge<V>;
  /** Value equality; when absent, equality of the encoded bytes is what counts. */
  equal?(a: V, b: V): boolean;
}

/** The specification {@link Contents.custom} validates: the same fields as a codec. */
export type ContentsSpec<V> = Contents<V>;

const encoder = new TextEncoder();
// fatal: invalid UTF-8 is corruption, not text to guess at; ignoreBOM: a leading U+FEFF is part of
// the text and must survive a round trip.
const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function decodeUtf8(bytes: Uint8Array, what: string): string {
  try {
    return decoder.decode(bytes);
  } catch (e) {
    throw corrupt(`${what}: the blob is not valid UTF-8`, e);
  }
}

function encodeUtf8(value: string, what: string): Uint8Array {
  if (typeof value !== "string") throw invalidArgument(`${what}: expected a string, got ${typeof value}`);
  // UTF-8 cannot carry a lone surrogate: TextEncoder would silently write U+FFFD instead.
  if (loneSurrogate.test(value)) throw invalidArgument(`${what}: the string holds a lone UTF-16 surrogate, which UTF-8 cannot encode`);
  return encoder.encode(value);
}

const stringContents: Contents<string> = {
  name: "string",
  encode: (value) => encodeUtf8(value, "Contents.string"),
  decode: (bytes) => decodeUtf8(bytes, "Contents.string"),
  merge: Merge.string,
  equal: (a, b) => a === b,
};

const jsonContents: Contents<unknown> = {
  name: "json",
  encode: (value) => encoder.encode(canonicalJson(value)),
  decode: (bytes) => {
    const text = decodeUtf8(bytes, "Contents.json");
    try {
      return JSON.parse(text) as unknown;
    } catch (e) {
      throw corrupt("Contents.json: the blob is not valid JSON", e);
    }
  },
  merge: Merge.json,
  equal: deepEqual,
};

const bytesContents: Contents<Uint8Array> = {
  name: "bytes",
  encode: (value) => {
    if (!(value instanceof Uint8Array)) throw invalidArgument("Contents.bytes: expected a Uint8Array");
    // A copy: the caller may change its array after set() returns, or while a transaction runs.
    return value.slice();
  },
  // A copy: the store's cache keeps these bytes, and the caller may change the value it gets.
  decode: (bytes) => bytes.slice(),
  merge: Merge.bytes,
  equal: bytesEqual,
};

function custom<V>(spec: ContentsSpec<V>): Contents<V> {
  if (typeof spec !== "object" || spec === null) throw invalidArgument("Contents.custom: expected a spec object");
  const { name, encode, decode, merge, equal } = spec;
  if (typeof name !== "string" || name.length === 0) throw invalidArgument("Contents.custom: name must be a non-empty string");
  for (const [key, fn] of [["encode", encode], ["decode", decode], ["merge", merge]] as const) {
    if (typeof fn !== "function") throw invalidArgument(`Contents.custom(${name}): ${key} must be a function`);
  }
  if (equal !== undefined && typeof equal !== "function") throw invalidArgument(`Contents.custom(${name}): equal must be a function when given`);
  const contents: Contents<V> = {
    name,
    // Copies both ways, as Contents.bytes does: a codec may return a buffer its value shares, or
    // a value that is a view on the bytes it decoded (the store's cache keeps those bytes).
    encode: (value) => {
      const bytes = encode.call(spec, value);
      if (!(bytes instanceof Uint8Array)) throw invalidArgument(`Contents.custom(${name}): encode did not return a Uint8Array`);
      return bytes.slice();
    },
    // A decoder that throws something else still means the blob is not a valid V.
    decode: (bytes) => {
      try {
        return decode.call(spec, bytes.slice());
      } catch (e) {
        if (isIrminError(e)) throw e;
        throw corrupt(`Contents.custom(${name}): cannot decode the blob`, e);
      }
    },
    merge,
  };
  return equal === undefined ? contents : { ...contents, equal: (a, b) => equal.call(spec, a, b) };
}

/**
 * The built-in contents:
 * - `string`: UTF-8 text, merged line by line ({@link Merge.string}). Encoding a string with a
 *   lone surrogate throws `INVALID_ARGUMENT`; decoding invalid UTF-8 throws `CORRUPT` (no
 *   replacement characters, so bytes → string → bytes is exact; a BOM is kept).
 * - `json`: canonical JSON (sorted keys, no whitespace), so equal values give equal blobs; decodes
 *   any valid JSON text; merged per key ({@link Merge.json}). Encoding throws `INVALID_ARGUMENT` for
 *   what JSON cannot carry (undefined, NaN, Infinity, bigint, class instances, cycles).
 * - `bytes`: the blob's bytes, merged by {@link Merge.bytes}. Copied both ways: changing an array
 *   after giving it to `set` (even inside a transaction) or changing one `get` returned never
 *   changes what is stored or what the next `get` returns.
 * - `custom(spec)`: validates the spec (`INVALID_ARGUMENT`), checks that encode returns bytes, and
 *   turns any decode failure into `CORRUPT`; copies the bytes both ways, as `bytes` does.
 */
export const Contents = {
  string: stringContents,
  json: jsonContents,
  bytes: bytesContents,
  custom,
};
