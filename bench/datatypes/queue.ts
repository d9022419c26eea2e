/**
 * Queue benchmarks (issue #4): n pushes then n pops, the paper's Figure 14 measurement, against a
 * plain JS functional (persistent, two-list) queue run in the same process — the analogue of the
 * paper's Core queue, against which the paper's queue on its fastest backend was five times slower
 * (so the paper's figure is a ratio of 0.2).
 *
 * 1. n = 100,000 × scale, inside transactions of 1,000 operations (one commit each), on the memory
 *    and git backends.
 * 2. n = 1,000 × scale, one commit per operation (`push q` / `pop q`), on both backends.
 *
 * Each run checks that the pops return the pushes in order. Notes give the speed as a fraction of
 * the baseline's (`1/40`: forty times slower; the ratio column rounds such small numbers to 0.0x)
 * and the objects read and written per operation (`ctx.stats`).
 */
import { Repo } from "../../src/store/repo.js";
import { type BenchOptions, type BenchRow, envScale, median, scaled, seconds, groupTempDirs } from "../harness.js";

const GROUP = "queue";
const BATCH = 1_000;
const BASELINE = "JS functional two-list queue";

/** A persistent list cell. */
interface Cons<T> {
  readonly head: T;
  readonly tail: Cons<T> | undefined;
}

/** The textbook functional queue: a front list to pop from and a reversed back list pushed onto. */
class FunctionalQueue<T> {
  static readonly empty = new FunctionalQueue<never>(undefined, undefined);

  private constructor(
    private readonly front: Cons<T> | undefined,
    private readonly back: Cons<T> | undefined,
  ) {}

  push(value: T): FunctionalQueue<T> {
    return this.front === undefined ? new FunctionalQueue({ head: value, tail: undefined }, this.back) : new FunctionalQueue(this.front, { head: value, tail: this.back });
  }

  pop(): [T, FunctionalQueue<T>] | undefined {
    if (this.front === undefined) return undefined;
    const rest = this.front.tail;
    if (rest !== undefined) return [this.front.head, new FunctionalQueue(rest, this.back)];
    // Normalisation: the back list, reversed, becomes the front.
    let front: Cons<T> | undefined;
    for (let c = this.back; c !== undefined; c = c.tail) front = { head: c.head, tail: front };
    return [this.front.head, new FunctionalQueue(front, undefined)];
  }
}

function check(got: string, i: number): void {
  if (got !== `v${i}`) throw new Error(`queue bench: pop ${i} returned ${got}`);
}

/** n pushes then n pops on the JS queue; returns seconds (median of `runs`). */
async function baselineSeconds(n: number, runs: number): Promise<number> {
  const times: number[] = [];
  for (let r = 0; r < runs; r++) {
    times.push(
      await seconds(async () => {
        let q: FunctionalQueue<string> = FunctionalQueue.empty;
        for (let i = 0; i < n; i++) q = q.push(`v${i}`);
        for (let i = 0; i < n; i++) {
          const p = q.pop()!;
          check(p[0], i);
          q = p[1];
        }
      }),
    );
  }
  return median(times);
}

/** n pushes then n pops on `repo`, in transactions of `batch` operations (1: one commit per operation). */
async function ours(repo: Repo, n: number, batch: number): Promise<void> {
  const main = repo.branch("main");
  if (batch === 1) {
    const q = main.queue("q");
    for (let i = 0; i < n; i++) await q.push(`v${i}`);
    for (let i = 0; i < n; i++) check((await q.pop())!, i);
    return;
  }
  for (let i = 0; i < n; i += batch) {
    await main.transaction(async (tx) => {
      const q = tx.queue("q");
      for (let j = i; j < Math.min(n, i + batch); j++) await q.push(`v${j}`);
    });
  }
  for (let i = 0; i < n; i += batch) {
    await main.transaction(async (tx) => {
      const q = tx.queue("q");
      for (let j = i; j < Math.min(n, i + batch); j++) check((await q.pop())!, j);
    });
  }
}

/** Runs the queue benchmarks and returns their rows. */
export async function runQueueBench(options: BenchOptions = {}): Promise<BenchRow[]> {
  const scale = options.scale ?? envScale();
  const log = options.log ?? (() => {});
  const runs = options.runs ?? 3;
  const { tmp, done } = groupTempDirs(options);
  const rows: BenchRow[] = [];
  try {
    const cases = [
      { n: scaled(100_000, scale, 200), batch: BATCH, label: `tx of ${BATCH}` },
      { n: scaled(1_000, scale, 20), batch: 1, label: "one commit per op" },
    ];
    for (const { n, batch, label } of cases) {
      const base = await baselineSeconds(n, runs);
      const baseRate = (2 * n) / base;
      for (const backend of ["memory", "git"] as const) {
        log(`queue: ${n} pushes then ${n} pops, ${label}, ${backend} backend`);
        // The memory backend is quick: the median of `runs` (the git backend, slower, runs once).
        const times: number[] = [];
        let perOp = "";
        for (let r = 0; r < (backend === "memory" ? runs : 1); r++) {
          const repo = backend === "memory" ? await Repo.memory() : await Repo.open({ path: `${await tmp.make("queue")}/repo.git`, backend: "git" });
          try {
            times.push(await seconds(() => ours(repo, n, batch)));
          } finally {
            await repo.close();
          }
          const { reads, writes } = repo.internals.ctx.stats;
          perOp = `${(reads / (2 * n)).toFixed(2)} object reads and ${(writes / (2 * n)).toFixed(2)} writes per operation`;
        }
        const rate = (2 * n) / median(times);
        rows.push({
          group: GROUP,
          name: `${backend}: ${n} push + ${n} pop, ${label}`,
          baseline: BASELINE,
          unit: "ops",
          ours: rate,
          git: baseRate,
          ratio: rate / baseRate,
          // the paper's queue on its raw-memory backend was 5× slower than Core's queue
          goal: backend === "memory" && batch > 1 ? 0.2 : undefined,
          note: `1/${(baseRate / rate).toFixed(0)} of the baseline's speed (${(baseRate / rate).toFixed(0)}× slower${backend === "memory" && batch > 1 ? "; the paper's goal: 1/5" : ""}); ${perOp}`,
        });
      }
    }
  } finally {
    await done();
  }
  return rows;
}
