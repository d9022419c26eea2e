/**
 * Test helpers: real repositories made by real git (fast-import for speed), and the list of
 * every object as git sees it (`git cat-file --batch-all-objects --batch`, one process).
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { HashAlgorithm } from "../../../../src/core/hash.js";
import type { ObjectType } from "../../../../src/codec/object.js";

const ENV = {
  ...process.env,
  GIT_CONFIG_NOSYSTEM: "1",
  GIT_CONFIG_GLOBAL: "/dev/null",
  GIT_AUTHOR_NAME: "T",
  GIT_AUTHOR_EMAIL: "t@example.com",
  GIT_COMMITTER_NAME: "T",
  GIT_COMMITTER_EMAIL: "t@example.com",
};

/** Runs git; returns stdout as bytes. Throws with stderr on failure. */
export function git(cwd: string, args: string[], input?: Uint8Array | string): Buffer {
  return execFileSync("git", args, { cwd, env: ENV, input, maxBuffer: 1 << 28, stdio: ["pipe", "pipe", "pipe"] });
}

/** A fresh temp dir; remember to remove it. */
export function tempDir(prefix = "irmin-pack-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Removes a temp dir (pack files are read-only, rm -rf copes). */
export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** A deterministic pseudo-random generator (xorshift), so fixtures are the same on every run. */
export function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 2 ** 32;
  };
}

/** Options of {@link makeRepo}. */
export interface RepoOptions {
  algorithm?: HashAlgorithm;
  commits?: number;
  files?: number;
  seed?: number;
  /** Ref to commit to, default refs/heads/main. */
  branch?: string;
  /** Commit on top of what the branch already has. */
  existing?: boolean;
}

/**
 * A bare repository at `dir` (created when needed) filled through `git fast-import`: `commits`
 * commits each changing a line or two in text files of ~150 lines (good delta material), one
 * binary file growing slightly, and an annotated tag on the last commit.
 */
export function makeRepo(dir: string, options: RepoOptions = {}): void {
  const algorithm = options.algorithm ?? "sha1";
  if (!options.existing) git(dir, ["init", "-q", "--bare", `--object-format=${algorithm}`, "-b", "main", "."]);
  const branch = options.branch ?? "refs/heads/main";
  const next = rng(options.seed ?? 1);
  const nFiles = options.files ?? 4;
  const files: string[][] = [];
  for (let f = 0; f < nFiles; f++) {
    files.push(Array.from({ length: 150 }, (_, i) => `file ${f} line ${i} ${Math.floor(next() * 1e9)} some text to make lines long enough`));
  }
  let binary = Buffer.from(Array.from({ length: 3000 }, () => Math.floor(next() * 256)));
  const parts: Buffer[] = [];
  const data = (b: Buffer | string) => {
    const buf = Buffer.from(b);
    parts.push(Buffer.from(`data ${buf.length}\n`), buf, Buffer.from("\n"));
  };
  const commits = options.commits ?? 30;
  let hasParent = false;
  if (options.existing) {
    try {
      git(dir, ["rev-parse", "-q", "--verify", branch]);
      hasParent = true;
    } catch {
      hasParent = false;
    }
  }
  const time = 1_700_000_000 + (options.seed ?? 1) * 100_000;
  for (let c = 0; c < commits; c++) {
    const f = Math.floor(next() * nFiles);
    const line = Math.floor(next() * 150);
    files[f][line] = `edited in commit ${c} ${Math.floor(next() * 1e9)}`;
    if (c % 5 === 0) files[f].push(`appended ${c}`);
    binary = Buffer.concat([binary, Buffer.from([c & 255, (c * 7) & 255])]);
    parts.push(Buffer.from(`commit ${branch}\ncommitter T <t@example.com> ${time + c} +0000\n`));
    data(`commit ${c}\n`);
    if (c === 0 && hasParent) parts.push(Buffer.from(`from ${branch}^0\n`));
    for (let g = 0; g < nFiles; g++) {
      if (c > 0 && g !== f) continue;
      parts.push(Buffer.from(`M 100644 inline dir${g % 2}/file${g}.txt\n`));
      data(files[g].join("\n") + "\n");
    }
    parts.push(Buffer.from(`M 100644 inline bin/data.bin\n`));
    data(binary);
    parts.push(Buffer.from("\n"));
  }
  parts.push(Buffer.from(`tag t${options.seed ?? 1}\nfrom ${branch}\ntagger T <t@example.com> ${time + commits} +0000\n`));
  data("an annotated tag\n");
  git(dir, ["fast-import", "--quiet"], Buffer.concat(parts));
}

/** One object as git reports it. */
export interface GitObject {
  hash: string;
  type: ObjectType;
  data: Buffer;
}

/** Every object of the repository, with its bytes, from one `git cat-file --batch` process. */
export function allObjects(dir: string): GitObject[] {
  const out = git(dir, ["cat-file", "--batch-all-objects", "--batch"]);
  const list: GitObject[] = [];
  let p = 0;
  while (p < out.length) {
    const nl = out.indexOf(10, p);
    const [hash, type, size] = out.subarray(p, nl).toString().split(" ");
    const n = Number(size);
    list.push({ hash, type: type as ObjectType, data: out.subarray(nl + 1, nl + 1 + n) });
    p = nl + 1 + n + 1;
  }
  return list;
}

/** `git verify-pack -v` output lines for a pack's idx, one per object. */
export function verifyPack(dir: string, idxPath: string): string[] {
  return git(dir, ["verify-pack", "-v", idxPath]).toString().split("\n");
}
