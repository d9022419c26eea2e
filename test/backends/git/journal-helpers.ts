/**
 * What the journal tests share: the journals of a repository, a writer killed after its commits,
 * and what a power cut and a restart leave behind.
 */
import { cpSync, existsSync, readdirSync, readFileSync, utimesSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { createRequire, syncBuiltinESMExports } from "node:module";
import { afterEach } from "vitest";
import { encodeJournalRecord, HEADER_SIZE, readHeader, readJournal } from "../../../src/backends/git/journal-format.js";
import { Repo } from "../../../src/store/repo.js";
import { runUntilKilled, tempDir } from "./git-cli.js";

export const ROOT = resolve(import.meta.dirname, "../../..");

/**
 * For a test file: `scratch()` makes a temporary directory, and `cleanups` holds what runs after
 * each test (in reverse order), the directories' removal included.
 */
export function scratchDirs(): { scratch: () => string; cleanups: (() => unknown)[] } {
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  const scratch = () => {
    const t = tempDir("irmin-journal-");
    cleanups.push(t.remove);
    return t.dir;
  };
  return { scratch, cleanups };
}

/** The journals of writers (not the free ones kept for reuse). */
export const journalsIn = (gitDir: string): string[] => {
  const dir = join(gitDir, "irmin-journal");
  return existsSync(dir) ? readdirSync(dir).filter((n) => n.endsWith(".journal") && !n.startsWith("free-")).map((n) => join(dir, n)) : [];
};

export const concat = (parts: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};

/** Rewrites a journal's owner as if the machine had restarted since it was written. */
export function asIfRebooted(path: string): void {
  const bytes = readFileSync(path);
  const first = bytes.indexOf(10);
  const second = bytes.indexOf(10, first + 1);
  const owner = JSON.parse(bytes.subarray(first + 1, second).toString("utf8"));
  // The owner field has a fixed size: padded with spaces.
  const line = Buffer.from(`${JSON.stringify({ ...owner, boot: "before-the-restart" }).padEnd(second - first - 1)}\n`);
  writeFileSync(path, Buffer.concat([bytes.subarray(0, first + 1), line, bytes.subarray(second + 1)]));
}

/**
 * A ref file as a power cut leaves it when it lost the updates recorded since `content` was
 * written: that content, written before the records (an hour ago).
 */
export function lostUpdates(refFile: string, content: string): void {
  writeFileSync(refFile, content);
  const before = new Date(Date.now() - 3_600_000);
  utimesSync(refFile, before, before);
}

type Fs = typeof import("node:fs");

/**
 * Replaces `node:fs`'s `name` (for ES module imports too) with what `make` returns from the
 * original, until the returned function puts the original back: to simulate a failing device.
 */
export function replaceFs<K extends keyof Fs>(name: K, make: (original: Fs[K]) => Fs[K]): () => void {
  const fs = createRequire(import.meta.url)("node:fs") as Fs;
  const original = fs[name];
  fs[name] = make(original);
  syncBuiltinESMExports();
  return () => {
    fs[name] = original;
    syncBuiltinESMExports();
  };
}

/** Rewrites a journal's records as if they had been made `ms` earlier (same bytes otherwise). */
export function agedRecords(path: string, ms: number): void {
  const bytes = readFileSync(path);
  const { generation } = readHeader(bytes)!;
  const { records } = readJournal(path)!;
  const body = Buffer.concat(records.map((r) => encodeJournalRecord({ ...r, time: r.time! - ms }, generation)));
  writeFileSync(path, Buffer.concat([bytes.subarray(0, HEADER_SIZE), body, bytes.subarray(HEADER_SIZE + body.length)]));
  if (JSON.stringify(readJournal(path)!.records.map((r) => r.ref)) !== JSON.stringify(records.map((r) => r.ref))) throw new Error("records changed");
}

/** A copy (in `into`) of the repository as a power cut with nothing lost would leave it, the machine restarted since. */
export function powerCutCopy(gitDir: string, into: string): string {
  const copy = join(into, "copy.git");
  // Spare files of the journal directory are left out: an open backend makes and removes them in
  // the background (a copy could list one and find it gone), and no recovery reads them.
  const spare = /\birmin-journal\/[^/]+\.tmp$/;
  cpSync(gitDir, copy, { recursive: true, preserveTimestamps: true, filter: (source) => !spare.test(source) });
  for (const j of journalsIn(copy)) asIfRebooted(j);
  return copy;
}

/** Runs `n` commits on `main` in a child process that is then killed; resolves to the acknowledged commit ids. */
export async function commitsThenKill(gitDir: string, n: number): Promise<string[]> {
  const worker = join(gitDir, "..", "worker.mts");
  writeFileSync(
    worker,
    `
import { Repo } from ${JSON.stringify(join(ROOT, "src/store/repo.ts"))};
const repo = await Repo.open({ path: process.argv[2] });
const main = repo.branch("main");
for (let i = 0; i < ${n}; i++) {
  await main.set("k/" + i, "value " + i);
  console.log((await main.head()).hash);
}
process.kill(process.pid, "SIGKILL");
`,
  );
  const out = await runUntilKilled(ROOT, worker, [gitDir]);
  return out.trim().split("\n");
}

/** The values of `k/0` to `k/<n-1>` on `main`, as a fresh open reads them. */
export async function readAll(gitDir: string, n: number): Promise<(string | undefined)[]> {
  const repo = await Repo.open({ path: gitDir });
  try {
    const main = repo.branch("main");
    return await Promise.all(Array.from({ length: n }, (_, i) => main.get(`k/${i}`)));
  } finally {
    await repo.close();
  }
}
