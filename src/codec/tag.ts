/**
 * Git annotated tag objects. A PGP or SSH signature is part of the message, as Git stores it.
 *
 * Exactness works as for commits: a tag whose bytes are not the canonical encoding of its fields
 * decodes with those bytes in `raw`, and {@link encodeTag} returns them while the fields are
 * unchanged.
 */
import { corrupt, invalidArgument, isIrminError } from "../core/errors.js";
import { isHash, type Hash, type HashAlgorithm } from "../core/hash.js";
import { algorithmOfId, checkHeader, formatHeader, parseHeaders, sameHeaders, type HeaderField } from "./headers.js";
import { formatIdentity, parseIdentity, sameIdentity, type Identity } from "./identity.js";
import { isObjectType, type ObjectType } from "./object.js";
import { decodeUtf8, encodeUtf8, isWellFormed } from "./utf8.js";

/** A tag's fields. */
export interface TagObject {
  /** The tagged object. */
  object: Hash;
  /** Its type. */
  type: ObjectType;
  /** The tag name (for example `"v1.0"`, not `"refs/tags/v1.0"`). */
  tag: string;
  /** Absent in some very old tags. */
  tagger?: Identity;
  /** Headers after `tagger`, in stored order, values unfolded (continuation lines joined by `"\n"`). */
  extraHeaders: HeaderField[];
  /** Everything after the empty line ending the headers, signature included, as UTF-8. */
  message: string;
  /** Set by {@link decodeTag} only when the stored bytes are not the canonical encoding of the fields. */
  raw?: Uint8Array;
}

function tagText(t: TagObject, algorithm: HashAlgorithm | undefined): string {
  if (t === null || typeof t !== "object") throw invalidArgument("a tag must be an object");
  const alg = algorithm ?? algorithmOfId(t.object, "tag object");
  if (!isHash(t.object, alg)) throw invalidArgument(`tag object: not a ${alg} id: ${JSON.stringify(t.object)}`);
  if (!isObjectType(t.type)) throw invalidArgument(`tag type: not an object type: ${JSON.stringify(t.type)}`);
  checkHeader({ key: "tag", value: t.tag }, "tag name");
  let text = `object ${t.object}\ntype ${t.type}\n${formatHeader("tag", t.tag)}`;
  if (t.tagger !== undefined) text += `tagger ${formatIdentity(t.tagger)}\n`;
  if (!Array.isArray(t.extraHeaders)) throw invalidArgument("tag extraHeaders must be an array");
  for (const [i, h] of t.extraHeaders.entries()) {
    checkHeader(h, "tag");
    // The decoder reads a `tagger` right after `tag` into the field: keep that a round trip.
    if (i === 0 && h.key === "tagger" && t.tagger === undefined) throw invalidArgument("tag: set the tagger field, not a tagger header");
    text += formatHeader(h.key, h.value);
  }
  if (typeof t.message !== "string") throw invalidArgument("tag message must be a string");
  text += "\n" + t.message;
  if (!isWellFormed(text)) throw invalidArgument("tag text has a lone surrogate");
  return text;
}

function sameTag(a: TagObject, b: TagObject): boolean {
  return (
    a.object === b.object &&
    a.type === b.type &&
    a.tag === b.tag &&
    (a.tagger === undefined ? b.tagger === undefined : b.tagger !== undefined && sameIdentity(a.tagger, b.tagger)) &&
    Array.isArray(b.extraHeaders) &&
    sameHeaders(a.extraHeaders, b.extraHeaders) &&
    a.message === b.message
  );
}

/**
 * The body of a tag object: `object`, `type`, `tag`, `tagger` (when present), the extra headers,
 * an empty line and the message (UTF-8, as given; a signature goes at its end). Returns `t.raw`
 * when present and the fields still match it. `algorithm`, when given, is checked against
 * `object`; otherwise it is inferred. Throws `INVALID_ARGUMENT` for a bad id or type, a NUL in a
 * header, a bad header key, an identity that cannot be written, or a lone surrogate. O(size).
 */
export function encodeTag(t: TagObject, algorithm?: HashAlgorithm): Uint8Array {
  if (t !== null && typeof t === "object" && t.raw !== undefined) {
    if (!(t.raw instanceof Uint8Array)) throw invalidArgument("tag raw must be a Uint8Array");
    const alg = algorithm ?? algorithmOfId(t.object, "tag object");
    let stored: TagObject | undefined;
    try {
      stored = decodeTag(t.raw, alg);
    } catch (e) {
      if (!isIrminError(e)) throw e;
    }
    if (stored !== undefined && sameTag(stored, t)) return t.raw;
  }
  return encodeUtf8(tagText(t, algorithm));
}

function headerAt(headers: readonly HeaderField[], i: number, key: string): string {
  const h = headers[i];
  if (h === undefined || h.key !== key) throw corrupt(`tag: missing ${key} header`);
  return h.value;
}

/**
 * The fields of a tag object body. Requires `object`, `type` and `tag` in that order, then an
 * optional `tagger` (`CORRUPT` otherwise, or for a bad id or type, a tagger without `<email>`, a
 * NUL in the headers). Non-canonical bytes are kept in `raw`. O(size).
 */
export function decodeTag(data: Uint8Array, algorithm: HashAlgorithm): TagObject {
  const { text, exact } = decodeUtf8(data);
  const { headers, message } = parseHeaders(text);
  const object = headerAt(headers, 0, "object");
  if (!isHash(object, algorithm)) throw corrupt(`tag object: not a ${algorithm} id: ${JSON.stringify((object as string).slice(0, 80))}`);
  const type = headerAt(headers, 1, "type");
  if (!isObjectType(type)) throw corrupt(`tag type: not an object type: ${JSON.stringify(type.slice(0, 80))}`);
  const tag = headerAt(headers, 2, "tag");
  let i = 3;
  let tagger: Identity | undefined;
  if (headers[i]?.key === "tagger") {
    try {
      tagger = parseIdentity(headers[i++].value);
    } catch (e) {
      throw corrupt(`tag tagger: ${(e as Error).message}`, e);
    }
  }
  const extraHeaders = headers.slice(i);
  const result: TagObject =
    tagger === undefined ? { object, type, tag, extraHeaders, message } : { object, type, tag, tagger, extraHeaders, message };
  if (!exact || !isCanonical(result, text, algorithm)) result.raw = data.slice();
  return result;
}

function isCanonical(t: TagObject, text: string, algorithm: HashAlgorithm): boolean {
  try {
    return tagText(t, algorithm) === text;
  } catch (e) {
    if (isIrminError(e)) return false;
    throw e;
  }
}
