/** A throwaway bare Git repository driven by the real `git`, for the codec golden tests. */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { HashAlgorithm } from "../../src/core/hash.js";
import { GIT_ENV } from "../backends/git/git-cli.js";

export interface GitRepo {
  readonly dir: string;
  /** Runs git with stdin `input`; returns stdout bytes. Throws with stderr on failure. */
  run(args: readonly string[], options?: { input?: string | Uint8Array; env?: Record<string, string> }): Buffer;
  /** Like `run`, stdout as trimmed text. */
  text(args: readonly string[], options?: { input?: string | Uint8Array; env?: Record<string, string> }): string;
  /** Writes an object from its exact body bytes (`--literally`: no format check) and returns its id. */
  write(type: string, body: Uint8Array | string): string;
  /** The body bytes git stores for `id`. */
  cat(type: string, id: string): Uint8Array;
  remove(): void;
}


/** Creates a bare repository with the given object format under the OS temp dir. */
export function createGitRepo(algorithm: HashAlgorithm): GitRepo {
  const dir = mkdtempSync(join(tmpdir(), "irmin-codec-"));
  const run: GitRepo["run"] = (args, options = {}) => {
    try {
      return execFileSync("git", ["--git-dir", dir, ...args], {
        input: options.input,
        env: { ...GIT_ENV, HOME: dir, ...options.env },
        stdio: ["pipe", "pipe", "pipe"],
        maxBuffer: 64 << 20,
      });
    } catch (e) {
      const err = e as { stderr?: Buffer; message: string };
      throw new Error(`git ${args.join(" ")} failed: ${err.stderr?.toString() ?? err.message}`);
    }
  };
  execFileSync("git", ["init", "-q", "--bare", `--object-format=${algorithm}`, dir], { env: { ...GIT_ENV, HOME: dir } });
  return {
    dir,
    run,
    text: (args, options) => run(args, options).toString("utf8").trim(),
    write: (type, body) => run(["hash-object", "-t", type, "-w", "--literally", "--stdin"], { input: body }).toString().trim(),
    cat: (type, id) => new Uint8Array(run(["cat-file", type, id])),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
