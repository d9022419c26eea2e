/** The real `git`, run on a test repository with a fixed, isolated environment. */
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { RawObject } from "../../../src/codec/object.js";
import type { ObjectType } from "../../../src/codec/object.js";

export const GIT_ENV: Record<string, string> = {
  PATH: process.env.PATH ?? "/usr/bin:/bin",
  GIT_CONFIG_NOSYSTEM: "1",
  GIT_CONFIG_GLOBAL: "/dev/null",
  LANG: "C",
  LC_ALL: "C",
  GIT_AUTHOR_NAME: "A U Thor",
  GIT_AUTHOR_EMAIL: "author@example.com",
  GIT_AUTHOR_DATE: "1700000000 +0100",
  GIT_COMMITTER_NAME: "C O Mitter",
  GIT_COMMITTER_EMAIL: "committer@example.com",
  GIT_COMMITTER_DATE: "1700000100 -0700",
};

/** Runs git in `cwd` (`--git-dir` is up to the caller); stdout bytes; throws with stderr on failure. */
export function git(cwd: string, args: readonly string[], input?: string | Uint8Array): Buffer {
  try {
    return execFileSync("git", args, { cwd, input, env: { ...GIT_ENV, HOME: cwd }, stdio: ["pipe", "pipe", "pipe"], maxBuffer: 256 << 20 });
  } catch (e) {
    const err = e as { stderr?: Buffer; message: string };
    throw new Error(`git ${args.join(" ")} failed: ${err.stderr?.toString() ?? err.message}`);
  }
}

/** `git ...` stdout as trimmed text. */
export const gitText = (cwd: string, args: readonly string[], input?: string | Uint8Array): string => git(cwd, args, input).toString("utf8").trim();

/** A temporary directory, removed by the returned function. */
export function tempDir(prefix: string): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Every object of the repository as git reads it (`cat-file --batch-all-objects --batch`). */
export function allObjects(gitDir: string): Map<string, RawObject> {
  const out = git(gitDir, ["--git-dir", gitDir, "cat-file", "--batch-all-objects", "--batch"]);
  const objects = new Map<string, RawObject>();
  let i = 0;
  while (i < out.length) {
    const nl = out.indexOf(0x0a, i);
    const [id, type, size] = out.subarray(i, nl).toString("utf8").split(" ");
    const start = nl + 1;
    const data = new Uint8Array(out.subarray(start, start + Number(size)));
    objects.set(id, { type: type as ObjectType, data });
    i = start + Number(size) + 1;
  }
  return objects;
}

/**
 * Runs `script` (TypeScript, through tsx) with `args` in a child process that is expected to kill
 * itself with SIGKILL (a crash); resolves to its standard output. Rejects if it exits otherwise.
 */
export function runUntilKilled(root: string, script: string, args: readonly string[]): Promise<string> {
  return new Promise<string>((ok, fail) => {
    const child = spawn(process.execPath, ["--import", "tsx", script, ...args], { cwd: root, env: { ...process.env, ...GIT_ENV }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", fail);
    child.on("close", (code, signal) => (signal === "SIGKILL" ? ok(stdout) : fail(new Error(`worker exited ${code}: ${stderr}`))));
  });
}

/** The id of a process that has exited (for liveness checks). */
export function deadPid(): Promise<number> {
  return new Promise<number>((ok, fail) => {
    const child = spawn(process.execPath, ["-e", ""], { stdio: "ignore" });
    child.on("error", fail);
    child.on("exit", () => ok(child.pid!));
  });
}

/**
 * Waits (bounded) until the git backend `backend` has its spare files for the next small pack
 * ready: they are made on the thread pool, behind its other work (see `spare-files.ts`).
 */
export async function sparesReady(backend: unknown): Promise<void> {
  const pool = (backend as { packs: { spares?: { pack: { ready?: unknown }; idx: { ready?: unknown } } } }).packs;
  for (let wait = 0; wait < 200 && (pool.spares?.pack.ready === undefined || pool.spares.idx.ready === undefined); wait++) {
    await new Promise((r) => setTimeout(r, 10));
  }
}
