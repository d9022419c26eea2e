import { corrupt, invalidArgument } from "../core/errors.js";
import type { Hash, HashAlgorithm } from "../core/hash.js";
import { digestHex } from "../platform/native.js";

/** The four kinds of Git object. */
export type ObjectType = "blob" | "tree" | "commit" | "tag";

/** An object as stored: its type and its body (the bytes after Git's `"<type> <size>\0"` header). */
export interface RawObject {
  readonly type: ObjectType;
  readonly data: Uint8Array;
}

const TYPES: ReadonlySet<string> = new Set(["blob", "tree", "commit", "tag"]);

/** True when `t` names one of the four Git object types. */
export function isObjectType(t: unknown): t is ObjectType {
  return typeof t === "string" && TYPES.has(t);
}

const encoder = new TextEncoder();

/** Git's object header, `"<type> <size>\0"`. */
export function objectHeader(type: ObjectType, size: number): Uint8Array {
  return encoder.encode(`${type} ${size}\0`);
}

/** The id Git gives an object: the digest of its header followed by its body. */
export function hashObject(algorithm: HashAlgorithm, type: ObjectType, data: Uint8Array): Hash {
  if (!isObjectType(type)) throw invalidArgument(`unknown object type ${JSON.stringify(type)}`);
  return digestHex(algorithm, [objectHeader(type, data.length), data]);
}

/** Header plus body, the bytes a loose object file holds before compression. */
export function frameObject(type: ObjectType, data: Uint8Array): Uint8Array {
  const header = objectHeader(type, data.length);
  const out = new Uint8Array(header.length + data.length);
  out.set(header, 0);
  out.set(data, header.length);
  return out;
}

/** Splits header and body of an uncompressed loose object; throws `CORRUPT` when malformed. */
export function unframeObject(framed: Uint8Array): RawObject {
  const space = framed.indexOf(0x20);
  if (space < 0 || space > 6) throw corrupt("object header: no type");
  const type = new TextDecoder().decode(framed.subarray(0, space));
  if (!isObjectType(type)) throw corrupt(`object header: unknown type ${JSON.stringify(type)}`);
  const nul = framed.indexOf(0, space + 1);
  if (nul < 0 || nul - space - 1 > 20) throw corrupt("object header: no size terminator");
  const sizeText = new TextDecoder().decode(framed.subarray(space + 1, nul));
  if (!/^(0|[1-9][0-9]*)$/.test(sizeText)) throw corrupt(`object header: bad size ${JSON.stringify(sizeText)}`);
  const size = Number(sizeText);
  const data = framed.subarray(nul + 1);
  if (data.length !== size) throw corrupt(`object header says ${size} bytes, body has ${data.length}`);
  return { type, data };
}
