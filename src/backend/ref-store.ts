import type { Hash } from "../core/hash.js";

/** A change of one ref, as seen by a watcher. `undefined` means the ref did not exist / was removed. */
export interface RefChange {
  readonly name: string;
  readonly before: Hash | undefined;
  readonly after: Hash | undefined;
}

/** A ref and the object it points to. */
export interface RefEntry {
  readonly name: string;
  readonly hash: Hash;
}

/**
 * The mutable part of a repository: names (`refs/heads/main`, ...) pointing at object ids, and the
 * symbolic `HEAD`. Every update is atomic; `testAndSet` is the compare-and-set every branch write
 * is built on, and stays atomic across processes for backends that declare `multiProcess`.
 * Names are full ref names, checked with `checkRefName` (`INVALID_ARGUMENT` when Git would refuse them).
 * As with `git update-ref`, a ref is only set to an object the store has: `NOT_FOUND` otherwise
 * (on the git backend, checked on disk under the ref's lock), and nothing changes.
 */
export interface RefStore {
  /** The id `name` points to (following `HEAD` when it is symbolic), or `undefined`. */
  get(name: string): Promise<Hash | undefined>;

  /** Points `name` at `hash` unconditionally. */
  set(name: string, hash: Hash): Promise<void>;

  /**
   * Points `name` at `next` only if it currently points at `expected` (`undefined`: the ref must
   * not exist; `next` undefined: remove it). Returns whether the update happened. Atomic.
   */
  testAndSet(name: string, expected: Hash | undefined, next: Hash | undefined): Promise<boolean>;

  /** Removes `name` (a symbolic ref itself, not its target); nothing happens when it does not exist. */
  remove(name: string): Promise<void>;

  /** Every ref whose name starts with `prefix` (default `refs/`), sorted by name. */
  list(prefix?: string): Promise<RefEntry[]>;

  /**
   * Calls `callback` after each change of any ref: local writes at once, writes by other
   * processes or by the git CLI as soon as they are noticed (for backends that declare
   * `externalChanges`). Returns a function that stops the watch.
   */
  watch(callback: (change: RefChange) => void): () => void;

  /** The ref `HEAD` points to symbolically (e.g. `refs/heads/main`), or `undefined` if detached/missing. */
  getSymbolic(name: "HEAD"): Promise<string | undefined>;

  /** Makes `HEAD` a symbolic ref to `target`. */
  setSymbolic(name: "HEAD", target: string): Promise<void>;
}
