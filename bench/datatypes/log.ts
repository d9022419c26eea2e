/**
 * Log benchmarks (issue #4): the cost of `log.append` (one commit each) when the log already holds
 * n = 1,000 and n = 100,000 entries, on the memory and git backends. The point is flatness: an
 * append rewrites only the rightmost path of the log's chunked tree, so the objects written per
 * append and the time per append should barely move between the two sizes.
 *
 * Rows: each size against a plain JS `array.push` onto an array of the same size (the in-memory
 * floor, measured in the same run), then the flatness rows: the rate at 100,000 against our own
 * rate at 1,000 (1 = flat), with the objects written per append in the note. The logs are filled
 * with `appendAll` (one commit, untimed) before the timed appends.
 */
import { Repo } from "../../src/store/repo.js";
import { type BenchOptions, type BenchRow, envScale, row, scaled, seconds, groupTempDirs } from "../harness.js";

const GROUP = "log";
const ROUNDS = 5;

interface AppendCost {
  /** Seconds for all timed appends. */
  seconds: number;
  appends: number;
  writes: number;
  reads: number;
}

/** A repository holding a log of `n` entries (one `appendAll` commit), and its running costs. */
async function filled(repo: Repo, n: number): Promise<{ repo: Repo; cost: AppendCost }> {
  await repo.branch("main").log("bench/log").appendAll(Array.from({ length: n }, (_, i) => `entry ${i}`));
  return { repo, cost: { seconds: 0, appends: 0, writes: 0, reads: 0 } };
}

/** Times `count` appends (one commit each) to the log of `state`, adding them to its costs. */
async function appendRound(state: { repo: Repo; cost: AppendCost }, count: number): Promise<void> {
  const log = state.repo.branch("main").log("bench/log");
  const stats = state.repo.internals.ctx.stats;
  const before = { ...stats };
  state.cost.seconds += await seconds(async () => {
    for (let i = 0; i < count; i++) await log.append(`new ${i}`);
  });
  state.cost.appends += count;
  state.cost.writes += stats.writes - before.writes;
  state.cost.reads += stats.reads - before.reads;
}

/** Seconds for `count` pushes onto an array already holding `n` strings (the floor any log is measured against). */
async function arrayPush(n: number, count: number): Promise<number> {
  const array = Array.from({ length: n }, (_, i) => `entry ${i}`);
  return seconds(async () => {
    for (let i = 0; i < count; i++) array.push(`new ${i}`);
    if (array.length !== n + count) throw new Error("unreachable");
  });
}

/** Runs the log benchmarks and returns their rows. Sizes: n = 1,000 and 100,000 × scale; 300 × scale timed appends each. */
export async function runLogBench(options: BenchOptions = {}): Promise<BenchRow[]> {
  const scale = options.scale ?? envScale();
  const log = options.log ?? (() => {});
  const sizes = [1_000, scaled(100_000, scale, 2_000)];
  const appends = scaled(300, scale, 30);
  const pushes = 1_000_000;
  const rows: BenchRow[] = [];
  const { tmp, done } = groupTempDirs(options);
  try {
    for (const backend of ["memory", "git"] as const) {
      log(`log: ${appends} appends to logs of ${sizes.join(" and ")} entries (${backend} backend)`);
      const open = async () => (backend === "memory" ? Repo.memory() : Repo.open({ path: await tmp.make("log"), backend: "git" }));
      const states = [await filled(await open(), sizes[0]), await filled(await open(), sizes[1])];
      try {
        // Warm-up, then rounds alternating between the sizes, so both see the same conditions.
        for (const st of states) await appendRound(st, 10);
        for (const st of states) st.cost = { seconds: 0, appends: 0, writes: 0, reads: 0 };
        for (let r = 0; r < ROUNDS; r++) for (const st of states) await appendRound(st, Math.ceil(appends / ROUNDS));
        for (const st of states) {
          if ((await st.repo.branch("main").log("bench/log").length()) < st.cost.appends) throw new Error("the benchmark log lost entries");
        }
      } finally {
        for (const st of states) await st.repo.close();
      }
      const costs = states.map((st) => st.cost);
      const perAppend = (c: AppendCost) => `${(c.writes / c.appends).toFixed(1)} objects written, ${(c.reads / c.appends).toFixed(1)} read per append`;
      for (const [i, n] of sizes.entries()) {
        const c = costs[i];
        const tPush = await arrayPush(n, pushes);
        rows.push(row({ group: GROUP, name: `${backend}: log.append at n=${n.toLocaleString("en")}, 1 commit each`, baseline: "JS array.push (same n)", unit: "appends", note: perAppend(c) }, c.appends, c.seconds, pushes, tPush));
      }
      const [small, large] = costs;
      rows.push(
        row(
          {
            group: GROUP,
            name: `${backend}: log.append at n=${sizes[1].toLocaleString("en")} vs n=${sizes[0].toLocaleString("en")}`,
            baseline: `ours at n=${sizes[0].toLocaleString("en")}`,
            unit: "appends",
            goal: 0.5,
            note: `flatness (1 = flat); objects written per append ${(small.writes / small.appends).toFixed(1)} -> ${(large.writes / large.appends).toFixed(1)}`,
          },
          large.appends,
          large.seconds,
          small.appends,
          small.seconds,
        ),
      );
    }
    return rows;
  } finally {
    await done();
  }
}
