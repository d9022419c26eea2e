import { invalidArgument } from "./errors.js";

/**
 * Why Git would refuse `name` as a full ref name (`git check-ref-format`), or `undefined`.
 * `HEAD` and names under `refs/` are accepted; one-level names other than `HEAD` are not.
 */
export function refNameProblem(name: string): string | undefined {
  if (typeof name !== "string" || name.length === 0) return "empty ref name";
  if (name === "HEAD") return undefined;
  if (!name.startsWith("refs/")) return "a ref name must be HEAD or start with refs/";
  if (name.endsWith("/")) return "ref name ends with /";
  if (name.endsWith(".")) return "ref name ends with .";
  if (name.includes("..")) return "ref name contains ..";
  if (name.includes("@{")) return "ref name contains @{";
  if (name === "@") return "ref name is @";
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x20\x7f~^:?*[\\]/.test(name)) return "ref name contains a control character, space, ~ ^ : ? * [ or \\";
  for (const part of name.split("/")) {
    if (part.length === 0) return "ref name has an empty component";
    if (part.startsWith(".")) return "a ref name component starts with .";
    if (part.endsWith(".lock")) return "a ref name component ends with .lock";
  }
  return undefined;
}

/** Returns `name` when it is a valid full ref name; throws `INVALID_ARGUMENT` otherwise. */
export function checkRefName(name: string): string {
  const problem = refNameProblem(name);
  if (problem !== undefined) throw invalidArgument(`invalid ref name ${JSON.stringify(name)}: ${problem}`);
  return name;
}

/** Returns `refs/heads/<branch>` for a valid branch name (as `git branch` accepts: not `HEAD`, not starting with `-`); throws `INVALID_ARGUMENT` otherwise. */
export function branchRef(branch: string): string {
  if (typeof branch !== "string" || branch.length === 0) throw invalidArgument("empty branch name");
  if (branch.startsWith("-")) throw invalidArgument(`invalid branch name ${JSON.stringify(branch)}: starts with -`);
  // Git refuses it too (`git branch HEAD`): "HEAD" would be ambiguous with the repository's HEAD.
  if (branch === "HEAD") throw invalidArgument('invalid branch name "HEAD"');
  return checkRefName(`refs/heads/${branch}`);
}
