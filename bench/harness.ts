/**
 * Small helpers shared by the benchmarks: scale, timing, temporary directories, running git, and
 * the result table. Every result is a ratio against a baseline measured in the same run.
 */
import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, realpathSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";

/** One line of the result table: our speed, the baseline's speed, and their ratio. */
export interface BenchRow {
  /** Benchmark group ("objects", "store"). */
  readonly group: string;
  /** What was measured on our side. */
  readonly name: string;
  /** What it is compared with (a real git command measured in the same run). */
  readonly baseline: string;
  /** Unit of the rates ("objects", "commits", "reads", "merges"). */
  readonly unit: string;
  /** Our operations per second. */
  readonly ours: number;
  /** The baseline's operations per second. */
  readonly git: number;
  /** Speed ratio `ours / git` (ops/s ours ÷ ops/s git): above 1 is faster than git. */
  readonly ratio: number;
  /** Goal on the ratio (at least this), when the issue sets one. */
  readonly goal?: number;
  /** Extra information (object counts, cache state). */
  readonly note?: string;
}

/** Options every benchmark entry point takes. */
export interface BenchOptions {
  /** Multiplies every size (default: `BENCH_SCALE` from the environment, else 1). */
  readonly scale?: number;
  /** Repetitions of cheap measurements, of which the median is kept (default 3). */
  readonly runs?: number;
  /** Progress lines (default: none). */
  readonly log?: (line: string) => void;
  /**
   * The run's temporary directories, deleted once every group is done (`run.ts`). Without it a
   * group deletes its own when it ends.
   */
  readonly tmp?: TempDirs;
}

/** The temporary directories a group uses: the run's when given, else its own (see {@link BenchOptions.tmp}). */
export function groupTempDirs(options: BenchOptions): { tmp: TempDirs; done: () => Promise<void> } {
  if (options.tmp !== undefined) return { tmp: options.tmp, done: async () => {} };
  const tmp = new TempDirs();
  return { tmp, done: () => tmp.cleanup() };
}

/** The scale from `BENCH_SCALE` (default 1); INVALID values fall back to 1 with a warning. */
export function envScale(): number {
  const raw = process.env.BENCH_SCALE;
  if (raw === undefined || raw === "") return 1;
  const v = Number(raw);
  if (!(v > 0) || !Number.isFinite(v)) {
    console.warn(`BENCH_SCALE=${raw} is not a positive number; using 1`);
    return 1;
  }
  return v;
}

/** `base × scale`, rounded, at least `min`. */
export function scaled(base: number, scale: number, min = 1): number {
  return Math.max(min, Math.round(base * scale));
}

/** Seconds taken by `fn` (monotonic clock). */
export async function seconds(fn: () => Promise<unknown>): Promise<number> {
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

/** The median of `values` (the upper middle one for an even count). */
export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** One timed measurement: `setup` and `teardown` are not timed, `fn` is. */
export interface Measure<T = unknown> {
  setup?: () => Promise<T>;
  fn: (state: T) => Promise<unknown>;
  teardown?: (state: T) => Promise<unknown>;
}

/** `m`, typed for {@link interleaved} (which runs measurements of different state types together). */
export function measure<T>(m: Measure<T>): Measure<unknown> {
  return m as unknown as Measure<unknown>;
}

/** Seconds taken by one run of `m` (setup and teardown excluded). */
async function once<T>(m: Measure<T>): Promise<number> {
  const state = (m.setup ? await m.setup() : undefined) as T;
  try {
    return await seconds(() => m.fn(state));
  } finally {
    await m.teardown?.(state);
  }
}

/**
 * Runs `setup` (untimed) then `fn` (timed) `runs` times and returns the median duration in
 * seconds. `setup` returns what `fn` needs (a fresh repository, typically).
 */
export async function medianSeconds<T>(runs: number, setup: () => Promise<T>, fn: (state: T) => Promise<unknown>, teardown?: (state: T) => Promise<unknown>): Promise<number> {
  return (await interleaved(runs, [measure({ setup, fn, teardown })]))[0];
}

/**
 * Runs the measurements round-robin (`a b c a b c …`, `runs` rounds) and returns the median
 * seconds of each. Interleaving matters on this kind of machine: the cost of creating a file
 * varies by an order of magnitude over minutes (write-back of earlier runs), and running the
 * baseline and ours side by side lets both see the same conditions.
 */
export async function interleaved(runs: number, measures: readonly Measure<unknown>[]): Promise<number[]> {
  const times: number[][] = measures.map(() => []);
  for (let r = 0; r < runs; r++) {
    for (let i = 0; i < measures.length; i++) times[i].push(await once(measures[i]));
  }
  return times.map(median);
}

/** A seeded pseudo-random generator (mulberry32): the same data in every run. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `values` in a seeded random order (a copy). */
export function shuffled<T>(values: readonly T[], seed: number): T[] {
  const out = [...values];
  const rnd = prng(seed);
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/**
 * Temporary directories under `os.tmpdir()`, all removed by `cleanup`.
 *
 * Deleting thousands of files makes every file creation in the same part of the file system slow
 * for the next one to six minutes on this project's machine (ext4 without a journal: the inode
 * allocator skips, one by one, the inodes freed in the last 60 s, 360 s while their table block is
 * not yet written; measured: a file creation 20 µs on a quiet file system, 0.5–1 ms after a
 * deletion of 30,000 files). Git's side of the commit rows creates almost no files (fast-import
 * writes one pack), ours three per commit (pack, index, ref lock: git's protocols), so a deletion
 * before them halves our ratio (measured: 0.27x quiet, 0.13x after deleting 30,000 files). Hence
 * one deletion at the very end of a run, never between groups or measurements.
 */
export class TempDirs {
  private readonly dirs: string[] = [];

  /** A new empty directory. */
  async make(prefix: string): Promise<string> {
    const d = await mkdtemp(join(tmpdir(), `irmin-bench-${prefix}-`));
    this.dirs.push(d);
    return d;
  }

  /** Marks `dir` as done. It is deleted by {@link cleanup} only (see the class comment). */
  async remove(_dir: string): Promise<void> {}

  /** Removes every directory made and not yet removed. */
  async cleanup(): Promise<void> {
    for (const d of this.dirs.splice(0)) await rm(d, { recursive: true, force: true });
  }
}

/**
 * Runs `git args` with `input` on stdin and returns its stdout. Throws with git's stderr when it
 * exits non-zero. The environment pins identity and dates so runs are reproducible.
 */
export function git(args: readonly string[], input?: Uint8Array | string, cwd?: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn("git", args, {
      cwd,
      stdio: ["pipe", "pipe", "pipe"],
      env: {
        ...process.env,
        GIT_AUTHOR_NAME: "Bench",
        GIT_AUTHOR_EMAIL: "bench@example.com",
        GIT_COMMITTER_NAME: "Bench",
        GIT_COMMITTER_EMAIL: "bench@example.com",
        GIT_CONFIG_NOSYSTEM: "1",
        GIT_CONFIG_GLOBAL: "/dev/null",
      },
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => err.push(b));
    child.on("error", reject);
    child.on("close", (code) => {
      if (code === 0) resolve(Buffer.concat(out));
      else reject(new Error(`git ${args.join(" ")} exited ${code}: ${Buffer.concat(err).toString().slice(0, 2000)}`));
    });
    child.stdin.on("error", () => {}); // an early exit is reported by "close"
    child.stdin.end(input ?? "");
  });
}

/** `git init --bare -q dir`. */
export async function gitInitBare(dir: string): Promise<void> {
  await git(["init", "--bare", "-q", "-b", "main", dir]);
}

/** A rate in operations per second, readable: `12.3k/s`. */
export function formatRate(perSecond: number): string {
  if (!Number.isFinite(perSecond)) return String(perSecond);
  if (perSecond >= 1e6) return `${(perSecond / 1e6).toFixed(2)}M/s`;
  if (perSecond >= 1e3) return `${(perSecond / 1e3).toFixed(1)}k/s`;
  return `${perSecond.toFixed(1)}/s`;
}

/** A row from counts and durations: `count / seconds` on both sides. */
export function row(fields: Omit<BenchRow, "ours" | "git" | "ratio">, count: number, oursSeconds: number, gitCount: number, gitSeconds: number): BenchRow {
  const ours = count / oursSeconds;
  const gitRate = gitCount / gitSeconds;
  return { ...fields, ours, git: gitRate, ratio: ours / gitRate };
}

/** A ratio, readable at any size: `1.25x`, `0.07x`, and `1/170x` below 0.01 (where two decimals would print 0.00x). */
export function formatRatio(ratio: number): string {
  if (ratio > 0 && ratio < 0.01) return `1/${Math.round(1 / ratio)}x`;
  return `${ratio.toFixed(2)}x`;
}

/** The result table, one line per row, with PASS/MISS where a goal is set (never an exit code). */
export function formatTable(rows: readonly BenchRow[]): string {
  const header = ["group", "benchmark", "baseline (real git)", "ours", "git", "ours/git", "goal", ""];
  const lines = rows.map((r) => [
    r.group,
    r.name,
    r.baseline,
    `${formatRate(r.ours)}`,
    `${formatRate(r.git)}`,
    formatRatio(r.ratio),
    r.goal === undefined ? "-" : `>=${r.goal}x`,
    r.goal === undefined ? "info" : r.ratio >= r.goal ? "PASS" : "MISS",
  ]);
  const all = [header, ...lines];
  const widths = header.map((_, c) => Math.max(...all.map((l) => l[c].length)));
  const fmt = (l: string[]) => l.map((cell, c) => (c >= 3 && c <= 5 ? cell.padStart(widths[c]) : cell.padEnd(widths[c]))).join("  ").trimEnd();
  const out = [fmt(header), widths.map((w) => "-".repeat(w)).join("  ")];
  for (const l of lines) out.push(fmt(l));
  const notes = rows.filter((r) => r.note !== undefined).map((r) => `  ${r.group} / ${r.name}: ${r.note}`);
  if (notes.length > 0) out.push("", "notes:", ...notes);
  return out.join("\n");
}

/** Median costs of the file-system operations a commit is made of, measured in one directory. */
export interface FsCosts {
  /** Creating (and writing 300 bytes into) a new file, µs. */
  readonly createUs: number;
  /** Renaming a file over an existing one (a ref update), µs. */
  readonly renameUs: number;
  /** `fdatasync` of a new 300-byte file, µs. */
  readonly datasyncUs: number;
  /** `fsync` of the directory after a rename into it, µs. */
  readonly dirsyncUs: number;
}

/**
 * Measures {@link FsCosts} in `dir` (`samples` of each, medians). On the machines these
 * benchmarks run on, a file creation costs anywhere from 20 µs to more than 1 ms depending on the
 * directory and the load, which decides most of the write ratios: printing it beside them makes
 * a run interpretable.
 */
export async function measureFsCosts(dir: string, samples = 40): Promise<FsCosts> {
  const { closeSync, fdatasyncSync, fsyncSync, openSync, renameSync, writeSync } = await import("node:fs");
  const t = (f: () => void) => {
    const a = process.hrtime.bigint();
    f();
    return Number(process.hrtime.bigint() - a) / 1e3;
  };
  const create: number[] = [];
  const rename: number[] = [];
  const datasync: number[] = [];
  const dirsync: number[] = [];
  const bytes = new Uint8Array(300).fill(97);
  const target = join(dir, "fs-cost-target");
  closeSync(openSync(target, "w"));
  for (let i = 0; i < samples; i++) {
    const tmp = join(dir, `fs-cost-${i}`);
    let fd = -1;
    create.push(
      t(() => {
        fd = openSync(tmp, "wx");
        writeSync(fd, bytes);
      }),
    );
    datasync.push(t(() => fdatasyncSync(fd)));
    closeSync(fd);
    rename.push(t(() => renameSync(tmp, target)));
    const d = openSync(dir, "r");
    dirsync.push(t(() => fsyncSync(d)));
    closeSync(d);
  }
  await rm(target, { force: true });
  return { createUs: median(create), renameUs: median(rename), datasyncUs: median(datasync), dirsyncUs: median(dirsync) };
}

/**
 * The file system holding `path`, for a bench's notes: its type, and for ext4 whether it has a
 * journal (without one, creating a file skips the inodes freed in the last minutes, which makes
 * creations costly where files are created and deleted at a high rate: see bench/README.md).
 * Read from `/proc` (Linux); "unknown" elsewhere.
 */
export function describeFileSystem(path: string): string {
  try {
    const real = realpathSync(path);
    // Fields: id parent major:minor root mount-point options... - type source super-options.
    let best: { point: string; type: string; source: string; device: string } | undefined;
    for (const line of readFileSync("/proc/self/mountinfo", "utf8").split("\n")) {
      const fields = line.split(" ");
      const dash = fields.indexOf("-");
      if (dash < 0) continue;
      const point = fields[4].replace(/\\040/g, " ");
      const inside = real === point || real.startsWith(point.endsWith("/") ? point : `${point}/`);
      if (inside && (best === undefined || point.length > best.point.length)) best = { point, type: fields[dash + 1], source: fields[dash + 2], device: fields[2] };
    }
    if (best === undefined) return "unknown";
    if (best.type !== "ext4") return best.type;
    // The kernel's name of the device (dm-0 for /dev/mapper/..., loop0...), as /proc/fs/jbd2 uses it.
    let device = basename(best.source);
    try {
      device = basename(realpathSync(`/sys/dev/block/${best.device}`));
    } catch {
      // No /sys: the mount's source name.
    }
    // One directory per journal being run; none at all when no mounted file system has one.
    const journals = existsSync("/proc/fs/jbd2") ? readdirSync("/proc/fs/jbd2") : [];
    return journals.some((n) => n.startsWith(`${device}-`)) ? "ext4 with a journal" : "ext4 without a journal";
  } catch {
    return "unknown";
  }
}

/** `FsCosts` as a short note. */
export function formatFsCosts(c: FsCosts): string {
  return `create ${c.createUs.toFixed(0)} µs, rename over a file ${c.renameUs.toFixed(0)} µs, fdatasync ${c.datasyncUs.toFixed(0)} µs, directory fsync ${c.dirsyncUs.toFixed(0)} µs`;
}
