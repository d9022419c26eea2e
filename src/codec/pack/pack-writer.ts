/**
 * Producing pack v2 bytes: entry encoding (header, optional delta base, zlib data) and a
 * streaming {@link PackWriter} that hands chunks to a sink (a file, a socket) and records, per
 * entry, the (id, offset, CRC-32) triple an index needs. Independent of any directory, so the
 * network code can use it to send packs.
 */
import { concatBytes } from "../../core/bytes.js";
import { invalidArgument } from "../../core/errors.js";
import type { Hash, HashAlgorithm } from "../../core/hash.js";
import { digestLength, isHash, writeHex } from "../../core/hash.js";
import { hashObject, type ObjectType } from "../object.js";
import { createHasher, deflate, type Hasher } from "../../platform/native.js";
import { crc32 } from "./crc32.js";
import type { PackIndexEntry } from "./pack-index.js";
import { PACK_TYPE, codeOfObjectType, encodeEntryHeader, encodeOfsDistance, encodePackHeader } from "./pack-format.js";

/** zlib level of pack entries unless told otherwise (zlib's default, as git's `pack.compression`). */
export const DEFAULT_PACK_COMPRESSION = 6;

/** The bytes of an undeltified entry holding `data` of type `type`. */
export function encodeObjectEntry(type: ObjectType, data: Uint8Array, level = DEFAULT_PACK_COMPRESSION): Uint8Array {
  return concatBytes([encodeEntryHeader(codeOfObjectType(type), data.length), deflate(data, level)]);
}

/** The bytes of an OFS_DELTA entry whose base starts `distance` bytes before this entry. */
export function encodeOfsDeltaEntry(distance: number, delta: Uint8Array, level = DEFAULT_PACK_COMPRESSION): Uint8Array {
  return concatBytes([encodeEntryHeader(PACK_TYPE.ofsDelta, delta.length), encodeOfsDistance(distance), deflate(delta, level)]);
}

/** The bytes of a REF_DELTA entry against the object `baseHash`. */
export function encodeRefDeltaEntry(baseHash: Hash, delta: Uint8Array, algorithm: HashAlgorithm, level = DEFAULT_PACK_COMPRESSION): Uint8Array {
  if (!isHash(baseHash, algorithm)) throw invalidArgument(`not a ${algorithm} object id: ${JSON.stringify(baseHash)}`);
  const id = new Uint8Array(digestLength(algorithm));
  writeHex(baseHash, id, 0);
  return concatBytes([encodeEntryHeader(PACK_TYPE.refDelta, delta.length), id, deflate(delta, level)]);
}

/** Where a {@link PackWriter} sends its bytes, in order; awaited before the next chunk. */
export type PackSink = (chunk: Uint8Array) => void | Promise<void>;

/** Options of {@link PackWriter}. */
export interface PackWriterOptions {
  /** zlib level of the entries (default {@link DEFAULT_PACK_COMPRESSION}). */
  compression?: number;
}

/**
 * Writes a pack of exactly `count` entries to a sink: the header on the first write, each entry,
 * then the trailing checksum from {@link finish}. Offsets and CRC-32s are recorded for the index
 * ({@link entries}). Memory: one entry at a time.
 */
export class PackWriter {
  /** Index triples of the entries written so far, in pack order. */
  readonly entries: PackIndexEntry[] = [];
  private position = 0;
  private readonly hasher: Hasher;
  private readonly level: number;
  private finished = false;

  constructor(
    private readonly sink: PackSink,
    readonly count: number,
    readonly algorithm: HashAlgorithm,
    options: PackWriterOptions = {},
  ) {
    if (!Number.isInteger(count) || count < 0 || count > 0xffffffff) throw invalidArgument(`bad pack object count ${count}`);
    this.hasher = createHasher(algorithm);
    this.level = options.compression ?? DEFAULT_PACK_COMPRESSION;
  }

  /** Bytes written so far: the offset the next entry will have. */
  get offset(): number {
    return this.position;
  }

  /** Appends an undeltified object; returns its index triple. */
  async writeObject(type: ObjectType, data: Uint8Array, hash?: Hash): Promise<PackIndexEntry> {
    return this.append(hash ?? hashObject(this.algorithm, type, data), (_at) => encodeObjectEntry(type, data, this.level));
  }

  /** Appends object `hash` as a delta against the entry already written at `baseOffset`. */
  async writeOfsDelta(hash: Hash, baseOffset: number, delta: Uint8Array): Promise<PackIndexEntry> {
    return this.append(hash, (at) => {
      if (!Number.isSafeInteger(baseOffset) || baseOffset < 12 || baseOffset >= at) throw invalidArgument(`bad delta base offset ${baseOffset}`);
      return encodeOfsDeltaEntry(at - baseOffset, delta, this.level);
    });
  }

  /** Appends object `hash` as a delta against object `baseHash` (which may be outside the pack: a thin pack). */
  async writeRefDelta(hash: Hash, baseHash: Hash, delta: Uint8Array): Promise<PackIndexEntry> {
    return this.append(hash, () => encodeRefDeltaEntry(baseHash, delta, this.algorithm, this.level));
  }

  /**
   * Writes the trailing checksum and returns it. Throws `INVALID_ARGUMENT` when the number of
   * entries written differs from the count announced in the header.
   */
  async finish(): Promise<Uint8Array> {
    if (this.finished) throw invalidArgument("pack already finished");
    if (this.entries.length !== this.count) throw invalidArgument(`pack announced ${this.count} objects, ${this.entries.length} written`);
    if (this.position === 0) await this.emit(encodePackHeader(this.count));
    this.finished = true;
    const sum = this.hasher.digest();
    await this.sink(sum);
    this.position += sum.length;
    return sum;
  }

  private async append(hash: Hash, encode: (at: number) => Uint8Array): Promise<PackIndexEntry> {
    if (this.finished) throw invalidArgument("pack already finished");
    if (this.entries.length >= this.count) throw invalidArgument(`pack announced ${this.count} objects`);
    if (!isHash(hash, this.algorithm)) throw invalidArgument(`not a ${this.algorithm} object id: ${JSON.stringify(hash)}`);
    if (this.position === 0) await this.emit(encodePackHeader(this.count));
    const offset = this.position;
    const bytes = encode(offset);
    const entry: PackIndexEntry = { hash, offset, crc32: crc32(bytes) };
    await this.emit(bytes);
    this.entries.push(entry);
    return entry;
  }

  private async emit(bytes: Uint8Array): Promise<void> {
    this.hasher.update(bytes);
    await this.sink(bytes);
    this.position += bytes.length;
  }
}
