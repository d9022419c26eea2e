import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { expect } from "vitest";
import { run } from "../../src/cli/program.js";

/** What one CLI run produced. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Options of one in-process run. */
export interface RunOptions {
  stdin?: string;
  env?: Record<string, string | undefined>;
  cwd?: string;
  signal?: AbortSignal;
  /** Receives stdout and stderr as they are written (for `watch`). */
  onWrite?: (stream: "stdout" | "stderr", text: string) => void;
}

/** Runs the CLI in-process with `argv` (no implicit `--root`). */
export async function runCli(argv: string[], options: RunOptions = {}): Promise<CliResult> {
  let stdout = "";
  let stderr = "";
  const stdin = options.stdin;
  const code = await run(argv, {
    stdout: { write: (s: string) => ((stdout += s), options.onWrite?.("stdout", s)) },
    stderr: { write: (s: string) => ((stderr += s), options.onWrite?.("stderr", s)) },
    stdin: (async function* () {
      if (stdin !== undefined) yield new TextEncoder().encode(stdin);
    })(),
    env: options.env ?? {},
    cwd: options.cwd,
    signal: options.signal,
  });
  return { code, stdout, stderr };
}

/** A temporary directory, removed by the returned function. */
export function tempDir(prefix: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Runs real git and returns its standard output; `options.input` is its standard input, `options.env` its environment. */
export function git(args: string[], options: { input?: Uint8Array; env?: NodeJS.ProcessEnv } = {}): string {
  return execFileSync("git", args, { encoding: "utf8", input: options.input, env: { ...(options.env ?? process.env), GIT_CONFIG_NOSYSTEM: "1", GIT_CONFIG_GLOBAL: "/dev/null" } });
}

/** The repository's root: where `src/cli/main.ts` and tsx are. */
export const PROJECT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

/**
 * Spawns `irmin` as its own process: `node --import tsx src/cli/main.ts` (what `npx tsx` runs,
 * without npx's start-up cost and with signals going straight to the CLI).
 */
export function spawnCli(
  argv: string[],
  options: {
    stdin?: string;
    holdStdin?: boolean;
    env?: Record<string, string>;
    /** A file descriptor for the child's standard input instead of a pipe (`< file`); `stdin` is then ignored. */
    stdinFd?: number;
    /** A file descriptor for the child's standard output instead of a pipe; "closed": a pipe whose reader is gone (`| head -0`). */
    stdout?: number | "closed";
    onStdout?: (text: string) => void;
    onStderr?: (text: string) => void;
  } = {},
): { done: Promise<CliResult>; kill: (signal: NodeJS.Signals) => void; stdinWritten: Promise<void> } {
  const env = options.env === undefined ? process.env : { ...process.env, ...options.env };
  const out = typeof options.stdout === "number" ? options.stdout : "pipe";
  const child = spawn(process.execPath, ["--import", "tsx", join(PROJECT, "src/cli/main.ts"), ...argv], { cwd: PROJECT, env, stdio: [options.stdinFd ?? "pipe", out, "pipe"] });
  const stdin = child.stdin;
  let stdout = "";
  let stderr = "";
  if (options.stdout === "closed") child.stdout?.destroy();
  else
    child.stdout?.setEncoding("utf8").on("data", (s: string) => {
      stdout += s;
      options.onStdout?.(s);
    });
  child.stderr!.setEncoding("utf8").on("data", (s: string) => {
    stderr += s;
    options.onStderr?.(s);
  });
  // With holdStdin, standard input stays open (a user still typing) until the child exits.
  // stdinWritten resolves once the child has taken what the pipe could not hold: with more than
  // a pipe's capacity, the child is then reading its standard input.
  const stdinWritten = new Promise<void>((resolveWrite) => {
    if (stdin === null) resolveWrite();
    else if (options.holdStdin === true) stdin.write(options.stdin ?? "", () => resolveWrite());
    else stdin.end(options.stdin ?? "", () => resolveWrite());
  });
  stdin?.on("error", () => undefined);
  // A held standard input would keep "close" from coming.
  child.on("exit", () => stdin?.destroy());
  const done = new Promise<CliResult>((resolvePromise, reject) => {
    child.on("error", reject);
    child.on("close", (code, signal) => resolvePromise({ code: code ?? (signal === null ? -1 : 128), stdout, stderr }));
  });
  return { done, kill: (signal) => child.kill(signal), stdinWritten };
}

/** Waits until `check` holds, polling; fails after `timeoutMs`. */
export async function until(check: () => boolean, what: string | (() => string), timeoutMs = 20_000): Promise<void> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${typeof what === "string" ? what : what()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Checks the shape every failure must have: one line `irmin: ...` on stderr, nothing on stdout, no stack trace. */
export function expectOneLineError(r: CliResult, pattern: RegExp): void {
  if (r.code === 0) throw new Error(`expected a failure, got exit 0 with ${JSON.stringify(r.stdout)}`);
  const lines = r.stderr.split("\n");
  if (lines.length !== 2 || lines[1] !== "" || !lines[0].startsWith("irmin: ") || /\n\s+at /.test(r.stderr)) {
    throw new Error(`expected one line "irmin: ..." on stderr, got ${JSON.stringify(r.stderr)}`);
  }
  if (!pattern.test(lines[0])) throw new Error(`stderr ${JSON.stringify(lines[0])} does not match ${pattern}`);
  if (r.stdout !== "") throw new Error(`expected nothing on stdout, got ${JSON.stringify(r.stdout)}`);
}

/** A CLI runner bound to one repository (`--root` given). */
export type Irmin = (args: string[], options?: RunOptions) => Promise<CliResult>;

/** Makes fresh repositories under `dir` (`irmin init` run), each with a runner bound to it. */
export function repoFactory(dir: string): () => Promise<{ root: string; irmin: Irmin }> {
  let count = 0;
  return async () => {
    const root = join(dir, `r${count++}`);
    const irmin: Irmin = (args, options) => runCli(["--root", root, ...args], options);
    expect((await irmin(["init"])).code).toBe(0);
    return { root, irmin };
  };
}

/** The output of a run that must succeed with nothing on standard error. */
export async function ok(p: Promise<CliResult>): Promise<string> {
  const r = await p;
  if (r.code !== 0) throw new Error(`exit ${r.code}: ${r.stderr}`);
  expect(r.stderr).toBe("");
  return r.stdout;
}
