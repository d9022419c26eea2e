/**
 * The command line as the bytes the process received. Node decodes `process.argv` as UTF-8 and
 * turns invalid bytes into U+FFFD without a word, so a value or a path given as an argument would be
 * stored changed; with the raw bytes, the CLI refuses such an argument instead, as it refuses
 * standard input that is not UTF-8.
 */
import { readFileSync } from "node:fs";

const strict = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** `bytes` as UTF-8, or `undefined` when they are not valid UTF-8. */
function utf8(bytes: Uint8Array): string | undefined {
  try {
    return strict.decode(bytes);
  } catch {
    return undefined;
  }
}

/**
 * The raw bytes of `args` (the arguments after the script, as `process.argv.slice(2)`), read from
 * `/proc/self/cmdline` (Linux); `undefined` where that file cannot be read or does not match
 * `args` (another system, or a rewritten process title): the caller then has no check to make.
 */
export function rawArguments(args: readonly string[], cmdline: () => Uint8Array = () => readFileSync("/proc/self/cmdline")): Uint8Array[] | undefined {
  let bytes: Uint8Array;
  try {
    bytes = cmdline();
  } catch {
    return undefined;
  }
  const all: Uint8Array[] = [];
  let start = 0;
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] === 0) {
      all.push(bytes.subarray(start, i));
      start = i + 1;
    }
  }
  if (start < bytes.length) all.push(bytes.subarray(start));
  if (all.length < args.length) return undefined;
  const raw = all.slice(all.length - args.length);
  // Where the bytes are valid UTF-8 they must read as the argument Node gave: else they are not its bytes.
  for (let i = 0; i < raw.length; i++) {
    const text = utf8(raw[i]);
    if (text !== undefined && text !== args[i]) return undefined;
  }
  return raw;
}

/** The index of the first of `raw` that is not valid UTF-8, or -1. */
export function firstInvalidUtf8(raw: readonly Uint8Array[]): number {
  return raw.findIndex((bytes) => utf8(bytes) === undefined);
}
