import { IrminError } from "../../core/errors.js";

/** The errno code of a Node file-system error (`ENOENT`, `EEXIST`, ...), or `undefined`. */
export function errnoCode(e: unknown): string | undefined {
  if (e instanceof IrminError) return undefined;
  return typeof e === "object" && e !== null && "code" in e && typeof e.code === "string" ? e.code : undefined;
}

/**
 * Wraps an operating-system failure as `IO` (an `IrminError` passes through unchanged), naming
 * what was being done so that a user can act on it (permissions, disk full, ...).
 */
export function ioError(e: unknown, what: string): IrminError {
  if (e instanceof IrminError) return e;
  const code = errnoCode(e);
  return new IrminError("IO", `${what}: ${code ?? String(e)}`, { cause: e });
}
