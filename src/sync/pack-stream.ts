/**
 * The pack a server sends (or a client pushes), streamed chunk by chunk. Objects a pack of the
 * store already holds are copied as stored, compressed bytes and delta included, when the delta's
 * base goes into the same pack or the receiver has it (git's pack reuse: no inflate, no delta
 * search, no deflate); the others are compressed here, as deltas against similar objects sent
 * just before where that pays.
 */
import { IrminError } from "../core/errors.js";
import { digestLength, writeHex, type Hash, type HashAlgorithm } from "../core/hash.js";
import type { ObjectStore } from "../backend/object-store.js";
import type { ObjectType, RawObject } from "../codec/object.js";
import { createDelta } from "../codec/pack/delta.js";
import { DeltaWindow } from "../codec/pack/delta-window.js";
import { codeOfObjectType, encodeEntryHeader, encodeOfsDistance, encodePackHeader, PACK_TYPE } from "../codec/pack/pack-format.js";
import { encodeObjectEntry, encodeOfsDeltaEntry, encodeRefDeltaEntry } from "../codec/pack/pack-writer.js";
import { createHasher } from "../platform/native.js";
import { concatBytes } from "./pkt-line.js";
import { reportProgress, type SyncProgress } from "./progress.js";

/** Options of {@link packStream}. */
export interface PackStreamOptions {
  /** Deltas against earlier entries as OFS_DELTA (default true); else as REF_DELTA naming the base. */
  ofsDelta?: boolean;
  /** Whether to send deltas at all (default true): computed ones and stored ones. */
  deltas?: boolean;
  /** Objects the receiver has (not in the pack): REF_DELTA bases of a thin pack. */
  thinBases?: Hash[];
  /** Suggested bases (object → base), as `objectsToSend` returns in `baseHints`. */
  baseHints?: ReadonlyMap<Hash, Hash>;
  /** Delta window size for objects compressed here (default 10). */
  window?: number;
  /** zlib level for objects compressed here (default 6). */
  compression?: number;
  /** Copy objects as the store's packs hold them when it can (default true). */
  reuse?: boolean;
  onProgress?: (p: SyncProgress) => void;
}

/** How many bytes are gathered before a chunk is yielded. */
const CHUNK = 64 * 1024;
/** Longest chain of stored bases written ahead of their deltas (git's default depth is 50). */
const MAX_REUSE_DEPTH = 64;

async function need(objects: ObjectStore, hash: Hash): Promise<RawObject> {
  const o = await objects.get(hash);
  if (o === undefined) throw new IrminError("NOT_FOUND", `object ${hash} is not in the object store`);
  return o;
}

/**
 * A version-2 pack of `hashes` (each once, in this order except that a stored delta's base may be
 * moved before it), streamed; OFS_DELTA (when ofsDelta) between similar objects where they pay,
 * thin REF_DELTA against `thinBases` only when thin.
 *
 * Objects the store can hand over as stored (`ObjectStore.getStored`) are copied: a whole entry
 * as it is, a delta when its base is in the pack (written first if it comes later in `hashes`)
 * or among `thinBases`. Others are read and compressed: trees and blobs are tried against the
 * last `window` objects of their type (feed versions of a path together, as `objectsToSend`
 * orders them); a delta is kept when it at least halves the object. With `thinBases` and
 * `baseHints`, an object whose hinted base is one of the thin bases is also tried against it,
 * and written as a REF_DELTA to it when that is smaller: the receiver must complete the pack
 * (`git index-pack --fix-thin`). Memory: the window plus one chunk. NOT_FOUND when an object is
 * missing (the stream fails; nothing half-valid is produced since the trailing checksum is never
 * written).
 */
export async function* packStream(objects: ObjectStore, algorithm: HashAlgorithm, hashes: Hash[], options: PackStreamOptions = {}): AsyncIterable<Uint8Array> {
  const ofs = options.ofsDelta ?? true;
  const deltas = options.deltas ?? true;
  const thin = new Set(options.thinBases ?? []);
  const hints = options.baseHints;
  const level = options.compression;
  const list = [...new Set(hashes)];
  const toSend = new Set(list);
  const getStored = (options.reuse ?? true) && typeof objects.getStored === "function" ? objects.getStored.bind(objects) : undefined;
  const idLength = digestLength(algorithm);
  const hasher = createHasher(algorithm);
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;
  let offset = 0;
  const emit = (...parts: Uint8Array[]) => {
    for (const p of parts) {
      hasher.update(p);
      pending.push(p);
      pendingBytes += p.length;
      offset += p.length;
    }
  };
  const flush = () => {
    const parts = pending;
    pending = [];
    pendingBytes = 0;
    return parts.length === 1 ? parts[0] : concatBytes(parts);
  };
  const rawId = (hash: Hash) => {
    const id = new Uint8Array(idLength);
    writeHex(hash, id, 0);
    return id;
  };
  /** Entry offset of every object written, for OFS_DELTA bases. */
  const written = new Map<Hash, number>();
  const window = new DeltaWindow({ window: options.window ?? 10 });
  // The previous object of the same type alone: with versions of a path side by side it is
  // usually the best base, and a small delta from it spares trying the whole window.
  const latest = new DeltaWindow({ window: 1 });
  const remember = (type: ObjectType, data: Uint8Array, at: number, depth: number) => {
    window.add(type, data, at, depth);
    latest.add(type, data, at, depth);
  };
  // For REF_DELTA inside the pack, the hash of each entry the window may pick as a base.
  const hashAt = new Map<number, Hash>();

  /** Writes `hash` as stored when that works; false when it must be compressed here. */
  const copyStored = (hash: Hash, depth: number): boolean => {
    const stored = getStored!(hash);
    if (stored === undefined) return false;
    if (stored.base === undefined) {
      if (stored.type === undefined) return false;
      written.set(hash, offset);
      emit(encodeEntryHeader(codeOfObjectType(stored.type), stored.size), stored.compressed);
      return true;
    }
    if (!deltas) return false;
    let baseAt = written.get(stored.base);
    if (baseAt === undefined && toSend.has(stored.base) && depth < MAX_REUSE_DEPTH && copyStored(stored.base, depth + 1)) baseAt = written.get(stored.base);
    if (baseAt !== undefined) {
      written.set(hash, offset);
      if (ofs) emit(encodeEntryHeader(PACK_TYPE.ofsDelta, stored.size), encodeOfsDistance(offset - baseAt), stored.compressed);
      else emit(encodeEntryHeader(PACK_TYPE.refDelta, stored.size), rawId(stored.base), stored.compressed);
      return true;
    }
    if (thin.has(stored.base)) {
      written.set(hash, offset);
      emit(encodeEntryHeader(PACK_TYPE.refDelta, stored.size), rawId(stored.base), stored.compressed);
      return true;
    }
    return false;
  };

  const total = list.length;
  reportProgress(options.onProgress, { phase: "compressing", done: 0, total });
  emit(encodePackHeader(total));
  for (let i = 0; i < list.length; i++) {
    const hash = list[i];
    if (written.has(hash)) continue;
    if (getStored !== undefined && copyStored(hash, 0)) {
      if (pendingBytes >= CHUNK) yield flush();
      continue;
    }
    const o = await need(objects, hash);
    const at = offset;
    const deltable = deltas && (o.type === "blob" || o.type === "tree");
    let choice = deltable ? latest.choose(o.type, o.data) : undefined;
    if (deltable && (choice === undefined || choice.delta.length > o.data.length >> 3)) choice = window.choose(o.type, o.data) ?? choice;
    let thinBase: { hash: Hash; delta: Uint8Array } | undefined;
    const hinted = hints?.get(hash);
    if (deltable && hinted !== undefined && thin.has(hinted) && o.data.length >= 50) {
      const base = await objects.get(hinted);
      if (base !== undefined && base.type === o.type) {
        const delta = createDelta(base.data, o.data);
        const limit = choice !== undefined ? choice.delta.length : Math.floor(o.data.length / 2) - 20;
        if (delta.length < limit) {
          thinBase = { hash: hinted, delta };
          choice = undefined;
        }
      }
    }
    written.set(hash, at);
    if (thinBase !== undefined) {
      emit(encodeRefDeltaEntry(thinBase.hash, thinBase.delta, algorithm, level));
      if (deltable) remember(o.type, o.data, at, 1);
    } else if (choice !== undefined) {
      emit(ofs ? encodeOfsDeltaEntry(at - choice.baseOffset, choice.delta, level) : encodeRefDeltaEntry(hashAt.get(choice.baseOffset)!, choice.delta, algorithm, level));
      remember(o.type, o.data, at, choice.depth);
    } else {
      emit(encodeObjectEntry(o.type, o.data, level));
      if (deltable) remember(o.type, o.data, at, 0);
    }
    if (deltable && !ofs) hashAt.set(at, hash);
    if ((i & 255) === 255) reportProgress(options.onProgress, { phase: "compressing", done: i + 1, total });
    if (pendingBytes >= CHUNK) yield flush();
  }
  const sum = hasher.digest();
  pending.push(sum);
  reportProgress(options.onProgress, { phase: "compressing", done: total, total });
  yield flush();
}
