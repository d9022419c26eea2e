/**
 * Runs every benchmark group and prints one table of ratios against real git measured in the
 * same run (or a plain JS structure / a peer library where git has no equivalent). `BENCH_SCALE`
 * (default 1) scales every size; `BENCH_ONLY=objects|store|log|queue|text|sync` picks a group.
 * Goals are reported as PASS/MISS and never change the exit code.
 */
import { envScale, formatTable, TempDirs, type BenchRow } from "./harness.js";
import { runLogBench } from "./datatypes/log.js";
import { runQueueBench } from "./datatypes/queue.js";
import { runTextBench } from "./datatypes/text.js";
import { runObjectsBench } from "./objects.js";
import { runStoreBench } from "./store.js";
import { runSyncBench } from "./sync.js";

const groups: Record<string, (o: { scale: number; log: (l: string) => void; tmp: TempDirs }) => Promise<BenchRow[]>> = {
  objects: runObjectsBench,
  store: runStoreBench,
  log: runLogBench,
  queue: runQueueBench,
  text: runTextBench,
  sync: runSyncBench,
};

const scale = envScale();
const only = process.env.BENCH_ONLY;
const log = (line: string) => console.log(`# ${line}`);
const rows: BenchRow[] = [];
// Every group's temporary repositories, deleted after the last group (see TempDirs: a mass
// deletion slows the next minutes' file creations, which only our side of a row pays).
const tmp = new TempDirs();
const t0 = process.hrtime.bigint();
console.log(`irmin-ts benchmarks, BENCH_SCALE=${scale}, node ${process.version}`);
try {
  for (const [name, run] of Object.entries(groups)) {
    if (only !== undefined && only !== "" && only !== name) continue;
    rows.push(...(await run({ scale, log, tmp })));
  }
} finally {
  await tmp.cleanup();
}
console.log("");
console.log("ratio = ours ops/s / git ops/s (above 1: faster than git)");
console.log(formatTable(rows));
console.log(`\ntotal ${(Number(process.hrtime.bigint() - t0) / 1e9).toFixed(1)} s`);
