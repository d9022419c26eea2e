import type { Backend } from "../../src/backend/backend.js";
import type { HashAlgorithm } from "../../src/core/hash.js";

/**
 * How a backend registers with the conformance suites: a few lines per backend
 * (see test/backends/memory.test.ts).
 */
export interface BackendFactory {
  /** Shown in test names. */
  readonly name: string;
  /** Opens a fresh, empty backend with the given object format. */
  create(algorithm: HashAlgorithm): Promise<Backend>;
  /**
   * Opens a second, independent instance on the same storage as `backend` (for backends that
   * declare `persistent`, `multiProcess` or `externalChanges`): reopening after close, and a
   * second writer in the same process standing in for another process.
   */
  reopen?(backend: Backend): Promise<Backend>;
  /** Removes whatever `create` made on disk. */
  destroy?(backend: Backend): Promise<void>;
}
