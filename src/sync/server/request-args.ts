/**
 * What both upload-pack versions read from a request line: limits, ids, depths, and the error
 * the client is told about.
 */
import { isIrminError } from "../../core/errors.js";
import { isHash, type Hash, type HashAlgorithm } from "../../core/hash.js";
import { encodePktLine } from "../pkt-line.js";
import { INFINITE_DEPTH } from "../shallow-boundary.js";

/** Most wants (and shallow lines) one request may carry. */
export const MAX_WANTS = 100_000;

/** A protocol error the client is told about with an `ERR` line. */
export class ProtocolError extends Error {}

/**
 * Parses `deepen <n>`: a positive integer, capped at {@link INFINITE_DEPTH} (git clients send
 * INT_MAX to unshallow, and git accepts any larger number the same way). ProtocolError otherwise.
 */
export function parseDepth(arg: string): number {
  if (!/^[1-9][0-9]*$/.test(arg)) throw new ProtocolError(`invalid deepen: ${arg.slice(0, 80)}`);
  return arg.length > 10 ? INFINITE_DEPTH : Math.min(Number(arg), INFINITE_DEPTH);
}

/** Checks an object id received from the client. */
export function parseId(arg: string, algorithm: HashAlgorithm, what: string): Hash {
  if (!isHash(arg, algorithm)) throw new ProtocolError(`expected ${what} object id, got ${JSON.stringify(String(arg).slice(0, 80))}`);
  return arg;
}

/** The `ERR` pkt-line for `e` (protocol errors by message, anything else generically). */
export function errorLine(e: unknown): Uint8Array {
  let message = "internal error";
  if (e instanceof ProtocolError) message = e.message;
  else if (isIrminError(e)) message = e.message;
  return encodePktLine(`ERR upload-pack: ${message.replace(/\n/g, " ").slice(0, 1000)}\n`);
}
