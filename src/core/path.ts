import { isDotgitName } from "./dotgit.js";
import { invalidArgument } from "./errors.js";

/** A path in the tree: its segments from the root. `[]` is the root. */
export type Path = readonly string[];

/** What users may pass as a path: `"a/b"` or `["a", "b"]`. */
export type PathInput = string | readonly string[];

const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Why Git would refuse `name` as a tree entry name, or `undefined` when it is acceptable.
 * Git rejects empty names, `.`, `..`, names containing `/` or NUL, and every name `git fsck`
 * takes for `.git` on a case-insensitive file system: `.git` in any letter case, with code points
 * HFS+ ignores (`.git\u200C`), with trailing dots and spaces or a backslash (`.git.`, `.GIT \x`),
 * and the NTFS short name `git~1` (see `is_hfs_dotgit` and `is_ntfs_dotgit` in Git).
 */
export function entryNameProblem(name: string): string | undefined {
  if (name.length === 0) return "empty name";
  if (name === "." || name === "..") return `name ${JSON.stringify(name)} is reserved`;
  if (name.toLowerCase() === ".git") return "name .git is reserved by Git";
  if (isDotgitName(name)) return `name ${JSON.stringify(name)} is reserved by Git (it is .git on some file systems)`;
  if (name.includes("/")) return `name ${JSON.stringify(name)} contains "/"`;
  if (name.includes("\0")) return `name ${JSON.stringify(name)} contains NUL`;
  // A lone surrogate has no UTF-8 form: it would be written as U+FFFD, a different name.
  if (loneSurrogate.test(name)) return `name ${JSON.stringify(name)} has a lone surrogate`;
  return undefined;
}

/** Throws `INVALID_ARGUMENT` when `name` is not a valid tree entry name (see {@link entryNameProblem}). */
export function checkEntryName(name: string): string {
  if (typeof name !== "string") throw invalidArgument(`path segment must be a string, got ${typeof name}`);
  const problem = entryNameProblem(name);
  if (problem !== undefined) throw invalidArgument(`invalid path segment: ${problem}`);
  return name;
}

/**
 * Normalises a path: `"a/b"` becomes `["a", "b"]`; `""` and `[]` are the root. Every segment is
 * checked ({@link checkEntryName}); empty segments (`"a//b"`, a leading or trailing `/`) are
 * `INVALID_ARGUMENT`.
 */
export function parsePath(input: PathInput): Path {
  if (typeof input === "string") {
    if (input === "") return [];
    const segments = input.split("/");
    for (const s of segments) checkEntryName(s);
    return segments;
  }
  if (!Array.isArray(input)) throw invalidArgument(`a path is a string or an array of strings, got ${typeof input}`);
  for (const s of input) checkEntryName(s);
  return [...input];
}

/** The path as `"a/b"` (the root is `""`). */
export function formatPath(path: Path): string {
  return path.join("/");
}
