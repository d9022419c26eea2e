import type { Hash, HashAlgorithm } from "../core/hash.js";
import type { ObjectType, RawObject } from "../codec/object.js";

/**
 * A content-addressed, append-only store of Git objects. The id of an object is Git's id for
 * it (`hashObject`), so the same value has the same id in every backend.
 */
export interface ObjectStore {
  /** The object format of this store. */
  readonly algorithm: HashAlgorithm;

  /**
   * The object with id `hash`, or `undefined` when the store does not hold it.
   * Backends that read untrusted storage check the bytes against `hash` and throw `CORRUPT`
   * on a mismatch: a caller never receives an object that is not the one it asked for.
   */
  get(hash: Hash): Promise<RawObject | undefined>;

  /** Whether the store holds `hash`. */
  has(hash: Hash): Promise<boolean>;

  /** Stores an object and returns its id. Idempotent; durable when the promise resolves. */
  put(type: ObjectType, data: Uint8Array): Promise<Hash>;

  /**
   * Stores many objects at once (one round of I/O where the backend can) and returns their ids
   * in order. Either every object is stored when the promise resolves, or it rejects.
   */
  putMany(objects: readonly RawObject[]): Promise<Hash[]>;

  /** Every id in the store, each once, in no particular order. */
  hashes(): AsyncIterable<Hash>;

  /**
   * Optional: a sink that keeps a received pack as it is, byte for byte, with an index of its
   * entries (what `git index-pack` does), instead of having every object re-encoded by
   * {@link putMany}. A backend that stores packs natively offers it; callers must work without it
   * (use `putMany`). The caller, not the sink, checks the pack (every object against its id, its
   * deltas, its checksum), and only commits a self-contained pack (every delta base in it).
   */
  openPackSink?(): Promise<PackSink>;

  /**
   * Optional: the object `hash` as a pack stores it (its entry, still compressed), so that a
   * server copies it into the pack it sends without inflating, re-deltifying and deflating it
   * again (git's pack reuse); `undefined` when the store holds it otherwise (loose, or not at
   * all): read it with {@link get}. The bytes are not checked against `hash` (the store checks
   * what {@link get} returns, not what this returns), as git does when it reuses pack data.
   */
  getStored?(hash: Hash): StoredObject | undefined;
}

/** One object as a pack stores it (see {@link ObjectStore.getStored}). */
export interface StoredObject {
  /** A whole object's type; `undefined` for a delta (its type is its base's). */
  readonly type: ObjectType | undefined;
  /**
   * A delta's base (its id), whether the pack wrote it as an OFS_DELTA or a REF_DELTA;
   * `undefined` for a whole object.
   */
  readonly base: Hash | undefined;
  /** What `compressed` inflates to, in bytes: the object, or the delta. */
  readonly size: number;
  /** The zlib stream of the entry: the whole object, or the delta against `base`. */
  readonly compressed: Uint8Array;
}

/**
 * A pack being received into an object store (see {@link ObjectStore.openPackSink}): the caller
 * writes the pack's bytes in order, then commits it with the index of its entries, or aborts.
 * Nothing written is visible to readers before {@link commit} resolves.
 */
export interface PackSink {
  /** Appends the next bytes of the pack (from its header up to, not including, its trailing checksum). */
  write(bytes: Uint8Array): void;
  /** Bytes `[offset, offset + length)` of what was written so far (to read a delta base again). */
  read(offset: number, length: number): Uint8Array;
  /**
   * Makes the pack's objects visible, as durable as {@link ObjectStore.putMany} makes them:
   * `entries` are all the pack's objects (id, entry offset, CRC-32 of the entry's bytes), each
   * id once; `checksum` is the pack's trailing checksum (already checked by the caller). The
   * sink is closed afterwards.
   */
  commit(entries: readonly { hash: Hash; offset: number; crc32: number }[], checksum: Uint8Array): Promise<void>;
  /**
   * Optional: {@link commit} with the index as columns (entry `k`'s binary id at
   * `ids[k * idLength]`, its offset and CRC-32 at position `k`), so that a large pack's receive
   * builds no hex id and no object per entry. Same contract otherwise.
   */
  commitColumns?(ids: Uint8Array, offsets: ArrayLike<number>, crcs: ArrayLike<number>, count: number, checksum: Uint8Array): Promise<void>;
  /** Drops everything written (idempotent; a no-op after commit). */
  abort(): Promise<void>;
}
