import type { Hash, HashAlgorithm } from "../core/hash.js";
import type { ObjectStore } from "./object-store.js";
import type { RefStore } from "./ref-store.js";

/** What a backend declares it supports; conformance suites switch on this, never skip blindly. */
export interface BackendSupports {
  /** Data survives closing and reopening the backend at the same location. */
  readonly persistent: boolean;
  /** Several processes may share the store; compare-and-set stays atomic between them. */
  readonly multiProcess: boolean;
  /** Writes made outside this instance (another process, the git CLI) are seen and watched. */
  readonly externalChanges: boolean;
  /** Object formats this backend can hold. */
  readonly algorithms: readonly HashAlgorithm[];
}

/**
 * The shallow boundary of a repository: commits stored without their parents after a fetch with
 * a depth (git keeps it in `<gitdir>/shallow`). History walks treat these commits as roots.
 */
export interface ShallowStore {
  /** The shallow commits (empty for a complete repository). */
  list(): Promise<Hash[]>;
  /** Replaces the list (empty: the repository is complete again). Atomic. */
  set(hashes: readonly Hash[]): Promise<void>;
}

/** A storage backend: the two small stores everything else is built on. */
export interface Backend {
  /** A short name for messages (`"memory"`, `"git"`). */
  readonly name: string;
  /** What the backend supports (see {@link BackendSupports}). */
  readonly supports: BackendSupports;
  /** The content-addressed object store. */
  readonly objects: ObjectStore;
  /** The atomic ref store. */
  readonly refs: RefStore;
  /** The shallow boundary, for backends that can hold a shallow clone (both built-in ones do). */
  readonly shallow?: ShallowStore;
  /** Releases files, watchers and timers. Further use throws `CLOSED`. Idempotent. */
  close(): Promise<void>;
}
