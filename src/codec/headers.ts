/**
 * The header block shared by commits and tags: `key value` lines, a value continued on following
 * lines that start with a space, then an empty line and the message.
 */
import { corrupt, invalidArgument } from "../core/errors.js";
import { isHash, type HashAlgorithm } from "../core/hash.js";

/** One header of a commit or tag, with its continuation lines unfolded. */
export interface HeaderField {
  /** The header name (`gpgsig`, `mergetag`, ...): no space, newline or NUL. */
  readonly key: string;
  /**
   * The value with continuation lines joined by `"\n"` (their leading space removed). A
   * `mergetag` value is the embedded tag without its final newline.
   */
  readonly value: string;
}

/** A parsed header block. */
export interface ParsedHeaders {
  readonly headers: HeaderField[];
  /** Everything after the empty line that ends the headers (`""` when there is none). */
  readonly message: string;
}

/**
 * Splits decoded object text into headers and message. Lenient where the bytes stay readable (a
 * line without a space is a key with an empty value; a missing empty line means no message):
 * callers re-encode and compare to know whether the object is in canonical form. Throws `CORRUPT`
 * for a continuation line before any header or a NUL in the header block.
 */
export function parseHeaders(text: string): ParsedHeaders {
  const headers: { key: string; value: string }[] = [];
  let pos = 0;
  while (pos < text.length) {
    if (text.charCodeAt(pos) === 0x0a) return { headers, message: text.slice(pos + 1) };
    let end = text.indexOf("\n", pos);
    if (end < 0) end = text.length;
    const line = text.slice(pos, end);
    pos = end + 1;
    if (line.includes("\0")) throw corrupt("NUL in object header");
    if (line.charCodeAt(0) === 0x20) {
      const last = headers[headers.length - 1];
      if (last === undefined) throw corrupt("object header starts with a continuation line");
      last.value += "\n" + line.slice(1);
      continue;
    }
    const space = line.indexOf(" ");
    headers.push(space < 0 ? { key: line, value: "" } : { key: line.slice(0, space), value: line.slice(space + 1) });
  }
  return { headers, message: "" };
}

/** Throws `INVALID_ARGUMENT` unless `h` is a header {@link formatHeader} can write and read back. */
export function checkHeader(h: HeaderField, what: string): void {
  if (h === null || typeof h !== "object") throw invalidArgument(`${what}: a header must be { key, value }`);
  if (typeof h.key !== "string" || h.key.length === 0 || /[ \n\0]/.test(h.key)) {
    throw invalidArgument(`${what}: header key must be a non-empty string without space, newline or NUL`);
  }
  if (typeof h.value !== "string" || h.value.includes("\0")) {
    throw invalidArgument(`${what}: header ${JSON.stringify(h.key)} value must be a string without NUL`);
  }
}

/**
 * One header as Git writes it: `key value\n`, each further line of the value prefixed with a
 * space, and just `key\n` for an empty value (as Git's `add_extra_header` does).
 */
export function formatHeader(key: string, value: string): string {
  return value.length === 0 ? `${key}\n` : `${key} ${value.replaceAll("\n", "\n ")}\n`;
}

/** The algorithm whose ids look like `hash` (for encoders given no algorithm); `INVALID_ARGUMENT` when neither. */
export function algorithmOfId(hash: unknown, what: string): HashAlgorithm {
  if (isHash(hash, "sha1")) return "sha1";
  if (isHash(hash, "sha256")) return "sha256";
  throw invalidArgument(`${what}: not an object id: ${JSON.stringify(hash)}`);
}

/** Whether two header lists hold the same keys and values in the same order. */
export function sameHeaders(a: readonly HeaderField[], b: readonly HeaderField[]): boolean {
  return a.length === b.length && a.every((h, i) => h.key === b[i]?.key && h.value === b[i]?.value);
}
