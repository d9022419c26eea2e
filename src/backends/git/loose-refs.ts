import { readdir } from "node:fs/promises";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Hash, HashAlgorithm } from "../../core/hash.js";
import { hexLength } from "../../core/hash.js";
import { refNameProblem } from "../../core/ref-name.js";
import { errnoCode, ioError } from "./io-error.js";

/** The content of a loose ref file: an id, a symbolic ref (`ref: <target>`), or something unreadable. */
export type LooseRef =
  | { readonly kind: "hash"; readonly hash: Hash }
  | { readonly kind: "symref"; readonly target: string }
  | { readonly kind: "broken"; readonly text: string };

/** Parses a loose ref file as git's `parse_loose_ref_contents` does (trailing whitespace and text after it ignored). */
export function parseLooseRef(text: string, algorithm: HashAlgorithm): LooseRef {
  if (text.startsWith("ref:")) {
    const target = text.slice(4).trim();
    return refNameProblem(target) === undefined ? { kind: "symref", target } : { kind: "broken", text };
  }
  const len = hexLength(algorithm);
  const hex = text.slice(0, len);
  if (/^[0-9a-fA-F]+$/.test(hex) && hex.length === len && (text.length === len || /\s/.test(text[len]))) {
    return { kind: "hash", hash: hex.toLowerCase() };
  }
  return { kind: "broken", text };
}

/** Whether an errno means "there is no ref file here" (missing, a directory, or a parent is a file). */
function isAbsent(e: unknown): boolean {
  const code = errnoCode(e);
  return code === "ENOENT" || code === "EISDIR" || code === "ENOTDIR";
}

/**
 * The loose ref `name` (a path relative to the Git directory), or `undefined` when there is no
 * such file. Synchronous underneath: a ref file is a few bytes, and a thread-pool round trip
 * (open, fstat, read, close) costs several times the read (every `branch.get` reads its ref).
 */
export async function readLooseRef(gitDir: string, name: string, algorithm: HashAlgorithm): Promise<LooseRef | undefined> {
  return readLooseRefSync(gitDir, name, algorithm);
}

/** Synchronous {@link readLooseRef}. */
export function readLooseRefSync(gitDir: string, name: string, algorithm: HashAlgorithm): LooseRef | undefined {
  try {
    return parseLooseRef(readFileSync(join(gitDir, name), "utf8"), algorithm);
  } catch (e) {
    if (isAbsent(e)) return undefined;
    throw ioError(e, `reading ref ${name}`);
  }
}

/**
 * Every loose ref under the directory `dir` of the Git directory (e.g. `refs` or `refs/heads`),
 * by full name. Files whose names Git would refuse (`*.lock` files of writers in progress,
 * editor leftovers) are skipped; a file that vanishes while listed is skipped.
 */
export async function readLooseRefs(gitDir: string, dir: string, algorithm: HashAlgorithm): Promise<Map<string, LooseRef>> {
  const out = new Map<string, LooseRef>();
  const walk = async (rel: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(join(gitDir, rel), { withFileTypes: true });
    } catch (e) {
      if (isAbsent(e)) return;
      throw ioError(e, `listing ${rel}`);
    }
    for (const entry of entries) {
      const name = `${rel}/${entry.name}`;
      if (entry.isDirectory()) await walk(name);
      else if (entry.isFile() && refNameProblem(name) === undefined) {
        const ref = await readLooseRef(gitDir, name, algorithm);
        if (ref !== undefined) out.set(name, ref);
      }
    }
  };
  await walk(dir);
  return out;
}

/** Synchronous {@link readLooseRefs}, for taking a watch baseline inside a synchronous call. */
export function readLooseRefsSync(gitDir: string, dir: string, algorithm: HashAlgorithm): Map<string, LooseRef> {
  const out = new Map<string, LooseRef>();
  const walk = (rel: string): void => {
    let entries;
    try {
      entries = readdirSync(join(gitDir, rel), { withFileTypes: true });
    } catch (e) {
      if (isAbsent(e)) return;
      throw ioError(e, `listing ${rel}`);
    }
    for (const entry of entries) {
      const name = `${rel}/${entry.name}`;
      if (entry.isDirectory()) walk(name);
      else if (entry.isFile() && refNameProblem(name) === undefined) {
        try {
          out.set(name, parseLooseRef(readFileSync(join(gitDir, name), "utf8"), algorithm));
        } catch (e) {
          if (!isAbsent(e)) throw ioError(e, `reading ref ${name}`);
        }
      }
    }
  };
  walk(dir);
  return out;
}
