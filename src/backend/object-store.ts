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
}
