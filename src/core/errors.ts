/**
 * Every error code the library throws. Expected outcomes (a merge conflict, a failed
 * compare-and-set, a rejected push) are returned as values, never thrown.
 *
 * - `INVALID_ARGUMENT`: the caller passed something malformed (a bad path, hash, name or option).
 * - `NOT_FOUND`: a requested object, commit or ref does not exist.
 * - `CORRUPT`: stored or received data is malformed or does not match its hash.
 * - `CLOSED`: the repository or store was used after `close()`.
 * - `CONFLICT`: reserved for a merge that cannot complete where no value can say so; no call
 *   throws it today (merges and transactions return their conflicts).
 * - `TOO_MANY_RETRIES`: an optimistic update lost its race more times than allowed.
 * - `UNSUPPORTED`: the backend or repository uses a feature this library does not handle.
 * - `IO`: the operating system refused an operation (permissions, disk full, ...).
 * - `LOCKED`: a lock could not be taken within the allowed time.
 * - `MAX_DEPTH_REACHED`: a history search needed to go deeper than its `maxDepth`.
 * - `TOO_MANY_LCAS`: two commits have more common ancestors than the given `limit`.
 */
export type ErrorCode =
  | "INVALID_ARGUMENT"
  | "NOT_FOUND"
  | "CORRUPT"
  | "CLOSED"
  | "CONFLICT"
  | "TOO_MANY_RETRIES"
  | "UNSUPPORTED"
  | "IO"
  | "LOCKED"
  | "MAX_DEPTH_REACHED"
  | "TOO_MANY_LCAS";

/** The one error class of the library: `code` says what kind of failure it is. */
export class IrminError extends Error {
  /** What kind of failure this is (see {@link ErrorCode}). */
  readonly code: ErrorCode;

  /** An error with `code` and `message`; `options.cause` is the underlying error, if any. */
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "IrminError";
    this.code = code;
  }
}

/** True when `e` is an {@link IrminError}, optionally with the given code. */
export function isIrminError(e: unknown, code?: ErrorCode): e is IrminError {
  return e instanceof IrminError && (code === undefined || e.code === code);
}

/** Shorthand for `new IrminError("INVALID_ARGUMENT", message)`. */
export function invalidArgument(message: string, cause?: unknown): IrminError {
  return new IrminError("INVALID_ARGUMENT", message, cause === undefined ? undefined : { cause });
}

/** Shorthand for `new IrminError("CORRUPT", message)`. */
export function corrupt(message: string, cause?: unknown): IrminError {
  return new IrminError("CORRUPT", message, cause === undefined ? undefined : { cause });
}

/** Shorthand for `new IrminError("NOT_FOUND", message)`. */
export function notFound(message: string): IrminError {
  return new IrminError("NOT_FOUND", message);
}
