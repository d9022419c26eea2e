import { isIrminError, type ErrorCode } from "../../src/core/errors.js";

/** Fails unless `f` throws an IrminError with `code` (any other exception is a failure too). */
export function expectCode(f: () => unknown, code: ErrorCode): void {
  try {
    f();
  } catch (e) {
    if (isIrminError(e, code)) return;
    throw new Error(`expected IrminError ${code}, got ${String(e)}`, { cause: e });
  }
  throw new Error(`expected IrminError ${code}, nothing thrown`);
}
