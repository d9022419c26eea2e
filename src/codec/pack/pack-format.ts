/**
 * The byte layout of a packfile (`man 5 gitformat-pack`): the 12-byte header, the variable-length
 * entry header (type and inflated size), and the OFS_DELTA base distance. Pure and synchronous;
 * shared by the on-disk reader, the pack writer and (later) the network code that parses a pack
 * as it streams in.
 */
import { corrupt, invalidArgument } from "../../core/errors.js";
import type { ObjectType } from "../object.js";

/** Entry type codes as stored in a pack entry header. 0 and 5 are reserved. */
export const PACK_TYPE = {
  commit: 1,
  tree: 2,
  blob: 3,
  tag: 4,
  ofsDelta: 6,
  refDelta: 7,
} as const;

/** A type code found in an entry header. */
export type PackTypeCode = 1 | 2 | 3 | 4 | 6 | 7;

const CODE_TO_TYPE: readonly (ObjectType | undefined)[] = [undefined, "commit", "tree", "blob", "tag"];

/** The object type of a non-delta type code, or undefined for the delta codes. */
export function objectTypeOfCode(code: PackTypeCode): ObjectType | undefined {
  return CODE_TO_TYPE[code];
}

/** The type code of an object type. */
export function codeOfObjectType(type: ObjectType): PackTypeCode {
  return PACK_TYPE[type];
}

/** Length of the pack header: `"PACK"`, version, object count. */
export const PACK_HEADER_LENGTH = 12;

/** The header of a version 2 pack holding `count` objects. */
export function encodePackHeader(count: number): Uint8Array {
  if (!Number.isInteger(count) || count < 0 || count > 0xffffffff) throw invalidArgument(`bad pack object count ${count}`);
  const out = new Uint8Array(PACK_HEADER_LENGTH);
  out.set([0x50, 0x41, 0x43, 0x4b, 0, 0, 0, 2]);
  new DataView(out.buffer).setUint32(8, count);
  return out;
}

/** Parses a pack header (versions 2 and 3); throws `CORRUPT` when it is not one. */
export function decodePackHeader(bytes: Uint8Array): { version: 2 | 3; count: number } {
  if (bytes.length < PACK_HEADER_LENGTH) throw corrupt("pack header truncated");
  if (bytes[0] !== 0x50 || bytes[1] !== 0x41 || bytes[2] !== 0x43 || bytes[3] !== 0x4b) throw corrupt("not a pack: bad signature");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint32(4);
  if (version !== 2 && version !== 3) throw corrupt(`unsupported pack version ${version}`);
  return { version, count: view.getUint32(8) };
}

/** A decoded entry header: type code, inflated size, and how many bytes the header took. */
export interface EntryHeader {
  readonly code: PackTypeCode;
  readonly size: number;
  readonly length: number;
}

/**
 * Decodes the entry header at `pos`. Throws `CORRUPT` for a reserved type, a header running past
 * the end of `bytes`, or a size beyond 2^53 (no real object is that large).
 */
export function decodeEntryHeader(bytes: Uint8Array, pos: number): EntryHeader {
  if (pos >= bytes.length) throw corrupt("pack entry header truncated");
  let c = bytes[pos];
  const code = (c >> 4) & 7;
  if (code === 0 || code === 5) throw corrupt(`pack entry with reserved type ${code}`);
  let size = c & 15;
  let scale = 16;
  let i = pos + 1;
  while (c & 0x80) {
    if (i >= bytes.length) throw corrupt("pack entry header truncated");
    c = bytes[i++];
    size += (c & 0x7f) * scale;
    scale *= 128;
    if (scale > 2 ** 60) throw corrupt("pack entry size too large");
  }
  if (!Number.isSafeInteger(size)) throw corrupt("pack entry size too large");
  return { code: code as PackTypeCode, size, length: i - pos };
}

/** Encodes an entry header for type `code` and inflated `size`. */
export function encodeEntryHeader(code: PackTypeCode, size: number): Uint8Array {
  if (!Number.isSafeInteger(size) || size < 0) throw invalidArgument(`bad pack entry size ${size}`);
  const out: number[] = [];
  let rest = Math.floor(size / 16);
  let byte = (code << 4) | (size % 16);
  while (rest > 0) {
    out.push(byte | 0x80);
    byte = rest % 128;
    rest = Math.floor(rest / 128);
  }
  out.push(byte);
  return Uint8Array.from(out);
}

/**
 * Decodes the OFS_DELTA base distance at `pos` (how far before this entry its base starts; a
 * big-endian varint where each continuation adds one, so that encodings are unique).
 */
export function decodeOfsDistance(bytes: Uint8Array, pos: number): { distance: number; length: number } {
  if (pos >= bytes.length) throw corrupt("OFS_DELTA offset truncated");
  let c = bytes[pos];
  let distance = c & 0x7f;
  let i = pos + 1;
  while (c & 0x80) {
    if (i >= bytes.length) throw corrupt("OFS_DELTA offset truncated");
    if (distance + 1 > Number.MAX_SAFE_INTEGER / 128 - 1) throw corrupt("OFS_DELTA offset too large");
    c = bytes[i++];
    distance = (distance + 1) * 128 + (c & 0x7f);
  }
  return { distance, length: i - pos };
}

/** Encodes an OFS_DELTA base distance (positive). */
export function encodeOfsDistance(distance: number): Uint8Array {
  if (!Number.isSafeInteger(distance) || distance <= 0) throw invalidArgument(`bad OFS_DELTA distance ${distance}`);
  const out: number[] = [distance % 128];
  let rest = Math.floor(distance / 128);
  while (rest > 0) {
    rest -= 1;
    out.push(0x80 | rest % 128);
    rest = Math.floor(rest / 128);
  }
  return Uint8Array.from(out.reverse());
}
