/**
 * Git commit objects.
 *
 * Exactness: a commit that Git or another tool wrote in a form this encoder would not produce
 * (non-UTF-8 bytes, an unusual identity line, an `encoding` header out of its usual place, a
 * header line without a space, ...) decodes with its original bytes in `raw`. {@link encodeCommit}
 * gives those bytes back as long as the fields still equal what they decode to, so decode then
 * encode keeps the id of every readable commit, while a changed commit is written canonically.
 */
import { corrupt, invalidArgument, isIrminError } from "../core/errors.js";
import { isHash, type Hash, type HashAlgorithm } from "../core/hash.js";
import { algorithmOfId, checkHeader, formatHeader, parseHeaders, sameHeaders, type HeaderField } from "./headers.js";
import { formatIdentity, parseIdentity, sameIdentity, type Identity } from "./identity.js";
import { decodeUtf8, encodeUtf8, isWellFormed } from "./utf8.js";

/** A commit's fields. Build a new one as `{ tree, parents, author, committer, extraHeaders: [], message }`. */
export interface CommitObject {
  /** The root tree. */
  tree: Hash;
  /** Parent commits in order (none for a root commit, two or more for a merge). */
  parents: Hash[];
  author: Identity;
  committer: Identity;
  /** The `encoding` header (Git writes one when the message is not UTF-8), written after `committer`. */
  encoding?: string;
  /**
   * The other headers in stored order, after `encoding`: `mergetag`, `gpgsig`, `gpgsig-sha256`
   * and unknown ones, each value unfolded (continuation lines joined by `"\n"`).
   */
  extraHeaders: HeaderField[];
  /** Everything after the empty line ending the headers, as UTF-8 (U+FFFD for invalid bytes), usually ending in `"\n"`. */
  message: string;
  /**
   * Set by {@link decodeCommit} only when the stored bytes are not the canonical encoding of the
   * fields above; {@link encodeCommit} returns them while the fields are unchanged.
   */
  raw?: Uint8Array;
}

/** The canonical text of `c`, validated (`INVALID_ARGUMENT`). */
function commitText(c: CommitObject, algorithm: HashAlgorithm | undefined): string {
  if (c === null || typeof c !== "object") throw invalidArgument("a commit must be an object");
  const alg = algorithm ?? algorithmOfId(c.tree, "commit tree");
  if (!isHash(c.tree, alg)) throw invalidArgument(`commit tree: not a ${alg} id: ${JSON.stringify(c.tree)}`);
  if (!Array.isArray(c.parents)) throw invalidArgument("commit parents must be an array");
  let text = `tree ${c.tree}\n`;
  for (const p of c.parents) {
    if (!isHash(p, alg)) throw invalidArgument(`commit parent: not a ${alg} id: ${JSON.stringify(p)}`);
    text += `parent ${p}\n`;
  }
  text += `author ${formatIdentity(c.author)}\ncommitter ${formatIdentity(c.committer)}\n`;
  if (c.encoding !== undefined) {
    checkHeader({ key: "encoding", value: c.encoding }, "commit encoding");
    text += formatHeader("encoding", c.encoding);
  }
  if (!Array.isArray(c.extraHeaders)) throw invalidArgument("commit extraHeaders must be an array");
  for (const h of c.extraHeaders) {
    checkHeader(h, "commit");
    // The decoder reads the first `encoding` header into the field: keep that a round trip.
    if (h.key === "encoding" && c.encoding === undefined) throw invalidArgument("commit: set the encoding field, not an encoding header");
    text += formatHeader(h.key, h.value);
  }
  if (typeof c.message !== "string") throw invalidArgument("commit message must be a string");
  text += "\n" + c.message;
  if (!isWellFormed(text)) throw invalidArgument("commit text has a lone surrogate");
  return text;
}

function sameCommit(a: CommitObject, b: CommitObject): boolean {
  return (
    a.tree === b.tree &&
    Array.isArray(b.parents) &&
    a.parents.length === b.parents.length &&
    a.parents.every((p, i) => p === b.parents[i]) &&
    sameIdentity(a.author, b.author) &&
    sameIdentity(a.committer, b.committer) &&
    a.encoding === b.encoding &&
    Array.isArray(b.extraHeaders) &&
    sameHeaders(a.extraHeaders, b.extraHeaders) &&
    a.message === b.message
  );
}

/**
 * The body of a commit object. Writes `tree`, `parent`s, `author`, `committer`, `encoding`, the
 * extra headers in order, an empty line and the message (UTF-8, as given: Git messages usually
 * end with `"\n"`). Returns `c.raw` when present and the fields still match it. `algorithm`, when
 * given, is checked against the ids; otherwise it is inferred from `tree`. Throws
 * `INVALID_ARGUMENT` for a bad id, an identity that cannot be written (see `formatIdentity`), a
 * header key with a space, newline or NUL, a NUL in a header value, or a lone surrogate. O(size).
 */
export function encodeCommit(c: CommitObject, algorithm?: HashAlgorithm): Uint8Array {
  if (c !== null && typeof c === "object" && c.raw !== undefined) {
    if (!(c.raw instanceof Uint8Array)) throw invalidArgument("commit raw must be a Uint8Array");
    const alg = algorithm ?? algorithmOfId(c.tree, "commit tree");
    let stored: CommitObject | undefined;
    try {
      stored = decodeCommit(c.raw, alg);
    } catch (e) {
      if (!isIrminError(e)) throw e;
    }
    if (stored !== undefined && sameCommit(stored, c)) return c.raw;
  }
  return encodeUtf8(commitText(c, algorithm));
}

function headerAt(headers: readonly HeaderField[], i: number, key: string): HeaderField {
  const h = headers[i];
  if (h === undefined || h.key !== key) throw corrupt(`commit: missing ${key} header`);
  return h;
}

function idAt(headers: readonly HeaderField[], i: number, key: string, algorithm: HashAlgorithm): Hash {
  const { value } = headerAt(headers, i, key);
  if (!isHash(value, algorithm)) throw corrupt(`commit ${key}: not a ${algorithm} id: ${JSON.stringify((value as string).slice(0, 80))}`);
  return value;
}

function identityAt(headers: readonly HeaderField[], i: number, key: string): Identity {
  const { value } = headerAt(headers, i, key);
  try {
    return parseIdentity(value);
  } catch (e) {
    throw corrupt(`commit ${key}: ${(e as Error).message}`, e);
  }
}

/**
 * The fields of a commit object body. Requires `tree`, then any `parent`s, `author` and
 * `committer`, in that order (`CORRUPT` otherwise, or for a bad id, an identity without
 * `<email>`, a NUL in the headers). The first `encoding` header after them fills `encoding`; the
 * rest are `extraHeaders`. Non-canonical bytes are kept in `raw` (see the module comment). O(size).
 */
export function decodeCommit(data: Uint8Array, algorithm: HashAlgorithm): CommitObject {
  const { text, exact } = decodeUtf8(data);
  const { headers, message } = parseHeaders(text);
  let i = 0;
  const tree = idAt(headers, i++, "tree", algorithm);
  const parents: Hash[] = [];
  while (headers[i]?.key === "parent") parents.push(idAt(headers, i++, "parent", algorithm));
  const author = identityAt(headers, i++, "author");
  const committer = identityAt(headers, i++, "committer");
  let encoding: string | undefined;
  const extraHeaders: HeaderField[] = [];
  for (; i < headers.length; i++) {
    const h = headers[i];
    if (h.key === "encoding" && encoding === undefined) encoding = h.value;
    else extraHeaders.push(h);
  }
  const commit: CommitObject =
    encoding === undefined
      ? { tree, parents, author, committer, extraHeaders, message }
      : { tree, parents, author, committer, encoding, extraHeaders, message };
  if (!exact || !isCanonical(commit, text, algorithm)) commit.raw = data.slice();
  return commit;
}

function isCanonical(c: CommitObject, text: string, algorithm: HashAlgorithm): boolean {
  try {
    return commitText(c, algorithm) === text;
  } catch (e) {
    if (isIrminError(e)) return false;
    throw e;
  }
}
