/**
 * Repositories made by the real git for the server-side sync tests: a history built with one
 * `git fast-import` run (similar file versions, a side branch and its merge, an annotated tag, a
 * rename), plus small helpers to run git on them.
 */
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GIT_ENV } from "../../backends/git/git-cli.js";

/** Runs git (argument list, optional stdin) with the isolated test environment; stdout bytes. */
export function runGit(args: readonly string[], options: { cwd?: string; input?: string | Uint8Array; env?: Record<string, string> } = {}): Buffer {
  const cwd = options.cwd ?? tmpdir();
  try {
    return execFileSync("git", args, { cwd, input: options.input, env: { ...GIT_ENV, HOME: cwd, ...options.env }, stdio: ["pipe", "pipe", "pipe"], maxBuffer: 256 << 20 });
  } catch (e) {
    const err = e as { stderr?: Buffer; message: string };
    throw new Error(`git ${args.join(" ")} failed: ${err.stderr?.toString() ?? err.message}`);
  }
}

/** `runGit` as trimmed text. */
export const gitOut = (args: readonly string[], options?: Parameters<typeof runGit>[1]): string => runGit(args, options).toString("utf8").trim();

/** A temporary directory under the OS temp dir and its removal. */
export function tempDir(prefix: string): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A deterministic text of `lines` lines; `version` changes a few of them. */
export function fileText(seed: number, lines: number, version: number): string {
  const out: string[] = [];
  for (let i = 0; i < lines; i++) {
    const touched = i % 17 === version % 17 || i === lines - 1;
    out.push(`line ${i} of file ${seed}: ${touched ? `version ${version}` : "the same words every time, long enough to be worth a delta"}`);
  }
  return out.join("\n") + "\n";
}

/**
 * Creates a bare repository at `dir` holding: `main` with `commits` commits (each edits `doc.txt`,
 * adds `dir/sub/f<i>.txt`, every 7th also edits `dir/big.txt`), a branch `side` forked at commit 5
 * with 4 commits merged back at commit 12, an annotated tag `v1` on commit 8, a rename of
 * `dir/sub/f2.txt` to `moved/f2.txt` at commit 15 (when there are that many commits).
 */
export function makeHistory(dir: string, commits = 20): void {
  runGit(["init", "-q", "--bare", "-b", "main", dir]);
  let s = "";
  const data = (text: string) => `data ${Buffer.byteLength(text)}\n${text}\n`;
  let time = 1700000000;
  const commit = (ref: string, mark: number, message: string, body: string, from?: number, merge?: number) => {
    time += 60;
    s += `commit ${ref}\nmark :${mark}\ncommitter C O Mitter <c@example.com> ${time} +0000\n${data(message)}`;
    if (from !== undefined) s += `from :${from}\n`;
    if (merge !== undefined) s += `merge :${merge}\n`;
    s += body;
  };
  const m = (path: string, text: string) => `M 100644 inline ${path}\n${data(text)}`;
  for (let i = 1; i <= commits; i++) {
    let body = m("doc.txt", fileText(0, 60, i)) + m(`dir/sub/f${i}.txt`, `file ${i}\n`);
    if (i % 7 === 1) body += m("dir/big.txt", fileText(1, 200, i));
    if (i === 15) body += "R dir/sub/f2.txt moved/f2.txt\n";
    commit("refs/heads/main", i, `commit ${i}\n`, body, i === 1 ? undefined : i - 1, i === 12 && commits >= 12 ? 104 : undefined);
    if (i === 5 && commits >= 12) {
      for (let j = 1; j <= 4; j++) commit("refs/heads/side", 100 + j, `side ${j}\n`, m("side.txt", fileText(2, 40, j)), j === 1 ? 5 : 100 + j - 1);
    }
    if (i === 8) s += `tag v1\nfrom :8\ntagger T Agger <t@example.com> ${time} +0000\n${data("release 1\n")}`;
  }
  s += "done\n";
  runGit(["--git-dir", dir, "fast-import", "--quiet", "--done"], { input: s });
}

/** `git rev-list --objects` ids (one per object) of `wants --not haves`. */
export function revListObjects(dir: string, wants: readonly string[], haves: readonly string[]): string[] {
  const out = gitOut(["--git-dir", dir, "rev-list", "--objects", ...wants, "--not", ...haves, "--"]);
  return out === "" ? [] : out.split("\n").map((l) => l.slice(0, l.indexOf(" ") < 0 ? undefined : l.indexOf(" ")));
}

/**
 * Runs git asynchronously (needed when git talks to a server in this same process: a synchronous
 * run would block the event loop that serves it). Resolves with stdout; rejects with stderr.
 */
export function gitAsync(args: readonly string[], options: { cwd?: string; input?: string | Uint8Array; env?: Record<string, string> } = {}): Promise<{ stdout: string; stderr: string }> {
  const cwd = options.cwd ?? tmpdir();
  return new Promise((resolve, reject) => {
    const child = spawn("git", args, { cwd, env: { ...GIT_ENV, HOME: cwd, ...options.env }, stdio: ["pipe", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (c: Buffer) => out.push(c));
    child.stderr.on("data", (c: Buffer) => err.push(c));
    child.stdin.on("error", () => undefined);
    child.stdin.end(options.input);
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    child.on("close", (code) => {
      clearTimeout(timer);
      const stdout = Buffer.concat(out).toString("utf8");
      const stderr = Buffer.concat(err).toString("utf8");
      if (code === 0) resolve({ stdout: stdout.trim(), stderr });
      else reject(new Error(`git ${args.join(" ")} failed (${code}): ${stderr}`));
    });
  });
}
