/**
 * Canonical JSON: one byte string per JSON value, so that equal values give equal blobs and
 * therefore equal Git hashes on every replica.
 *
 * Keys are sorted by UTF-16 code units and numbers use ECMAScript's shortest round-trip form, which
 * is the JSON Canonicalization Scheme (RFC 8785) for the values JSON can carry.
 */
import { invalidArgument } from "../core/errors.js";

/** A JSON value as `JSON.parse` returns it. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** True when `v` is a plain object (`{}` or `Object.create(null)`), not an array or class instance. */
export function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

/**
 * The canonical JSON text of `value`: no whitespace, object keys sorted, `-0` written `0`.
 * Throws `INVALID_ARGUMENT` (naming the path) for anything JSON cannot carry exactly: `undefined`,
 * non-finite numbers, bigints, functions, symbols, class instances (Date, Map, ...), cycles.
 * Cost O(size of value + sorting keys).
 */
export function canonicalJson(value: unknown): string {
  const parts: string[] = [];
  write(value, parts, "", new Set());
  return parts.join("");
}

function write(v: unknown, out: string[], path: string, seen: Set<object>): void {
  switch (typeof v) {
    case "string":
      out.push(JSON.stringify(v));
      return;
    case "boolean":
      out.push(v ? "true" : "false");
      return;
    case "number":
      if (!Number.isFinite(v)) throw invalidArgument(`JSON cannot represent ${v} at ${path || "/"}`);
      out.push(JSON.stringify(v));
      return;
    case "object":
      break;
    default:
      throw invalidArgument(`JSON cannot represent a value of type ${typeof v} at ${path || "/"}`);
  }
  if (v === null) {
    out.push("null");
    return;
  }
  if (seen.has(v)) throw invalidArgument(`JSON cannot represent a cycle at ${path || "/"}`);
  seen.add(v);
  if (Array.isArray(v)) {
    out.push("[");
    for (let i = 0; i < v.length; i++) {
      if (i > 0) out.push(",");
      write(v[i], out, `${path}/${i}`, seen);
    }
    out.push("]");
  } else if (isPlainObject(v)) {
    out.push("{");
    const keys = Object.keys(v).sort();
    for (let i = 0; i < keys.length; i++) {
      if (i > 0) out.push(",");
      out.push(JSON.stringify(keys[i]), ":");
      write(v[keys[i]], out, `${path}/${keys[i]}`, seen);
    }
    out.push("}");
  } else {
    const name = (v as object).constructor?.name ?? "object";
    throw invalidArgument(`JSON cannot represent a ${name} at ${path || "/"}`);
  }
  seen.delete(v);
}
