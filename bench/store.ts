/**
 * Store throughput (issue "store"): one commit per `branch.set`, random `branch.get`, and a merge
 * of two branches of a large tree, against the real git measured in the same run and on the same
 * data (the repository irmin writes is a Git repository, so git runs on it directly).
 *
 * Baselines: `git fast-import` (the same commits), `git cat-file --batch` (`main:<path>` lookups),
 * `git merge-tree --write-tree main other`.
 */
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { gitBackend } from "../src/backends/git/git-backend.js";
import { Repo } from "../src/store/repo.js";
import { type BenchOptions, type BenchRow, describeFileSystem, envScale, formatFsCosts, git, gitInitBare, interleaved, measure, measureFsCosts, median, row, scaled, shuffled, groupTempDirs } from "./harness.js";

const GROUP = "store";
const DIRS = 1000;

/** The key of write number `i`: two levels, `k/<i mod 1000>/<i>`. */
export function keyOf(i: number): string {
  return `k/${i % DIRS}/${i}`;
}

/**
 * A `git fast-import` stream of commits `lo` to `hi - 1` on `refs/heads/main`, commit `i` setting
 * `keyOf(i)` to `v<i>`; the first one continues the branch when `lo > 0`.
 */
function fastImportCommits(lo: number, hi: number): Buffer {
  const parts: string[] = [];
  for (let i = lo; i < hi; i++) {
    const message = `set ${keyOf(i)}`;
    const value = `v${i}`;
    parts.push(
      `commit refs/heads/main\nmark :${i + 1}\ncommitter Bench <bench@example.com> ${1_700_000_000 + i} +0000\ndata ${Buffer.byteLength(message)}\n${message}\n` +
        (i > lo ? `from :${i}\n` : i > 0 ? "from refs/heads/main^0\n" : "") +
        `M 100644 inline ${keyOf(i)}\ndata ${Buffer.byteLength(value)}\n${value}\n\n`,
    );
  }
  return Buffer.from(parts.join(""));
}

/** Runs `fns` once each, starting at `fns[first mod n]` and wrapping around; returns their durations in seconds, in `fns` order. */
async function rotated(first: number, fns: readonly (() => Promise<unknown>)[]): Promise<number[]> {
  const out = new Array<number>(fns.length).fill(0);
  for (let k = 0; k < fns.length; k++) {
    const i = (first + k) % fns.length;
    const t = performance.now();
    await fns[i]();
    out[i] = (performance.now() - t) / 1000;
  }
  return out;
}

/** Bytes of the files under `dir` (recursively). */
function diskBytes(dir: string): number {
  let total = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, e.name);
    total += e.isDirectory() ? diskBytes(path) : statSync(path).size;
  }
  return total;
}

const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;

/** Makes commits `lo` to `hi - 1`, one `set` each. */
async function commitRange(repo: Repo, lo: number, hi: number): Promise<void> {
  const main = repo.branch("main");
  for (let i = lo; i < hi; i++) await main.set(keyOf(i), `v${i}`);
}

/**
 * Runs the store benchmarks and returns their rows. Sizes: `10000 × scale` commits and reads;
 * a merge in a tree of `100000 × scale` keys where each side changed `100 × scale` of them.
 */
export async function runStoreBench(options: BenchOptions = {}): Promise<BenchRow[]> {
  const scale = options.scale ?? envScale();
  const runs = options.runs ?? 3;
  const log = options.log ?? (() => {});
  const nCommits = scaled(10_000, scale, 20);
  const nReads = nCommits;
  const nTree = scaled(100_000, scale, 200);
  const nChanged = Math.min(scaled(100, scale, 5), Math.floor(nTree / 4));
  const { tmp, done } = groupTempDirs(options);
  const rows: BenchRow[] = [];
  try {
    // --- (a) one commit per set ---------------------------------------------------------------
    log(`store: ${nCommits} commits, one set each (fast-import, git backend, memory backend)`);
    // File creation before the rows: well above ~100 µs, files were deleted nearby in the last
    // minutes and every file creation of ours is slowed (see TempDirs in harness.ts).
    const before = await measureFsCosts(await tmp.make("fs-costs"));
    // Our rows run in the same blocks of commits, in turn (the order rotating): a row measured in one piece sees the disk of its own minutes, and on
    // this kind of machine the cost of creating a file moves by an order of magnitude over minutes.
    const blocks = Math.min(10, nCommits);
    const storeDir = await tmp.make("store");
    const directDir = await tmp.make("store-direct");
    const noSyncDir = await tmp.make("store-nosync");
    const stores: { name: string; repo: Repo; seconds: number }[] = [
      // The default: durable when a set resolves (see bench/README.md).
      { name: "default", repo: await Repo.open({ path: storeDir }), seconds: 0 },
      // Durable without the journal: every commit flushes git's own files, three rounds in a row.
      { name: "direct", repo: await Repo.open({ backend: await gitBackend({ path: directDir, journal: false }) }), seconds: 0 },
      // fsync off: git's own default durability (`core.fsync` hardens neither loose objects nor
      // refs), for a like-for-like comparison with fast-import, which syncs nothing per commit.
      { name: "nosync", repo: await Repo.open({ backend: await gitBackend({ path: noSyncDir, fsync: false }) }), seconds: 0 },
      { name: "memory", repo: await Repo.memory(), seconds: 0 },
    ];
    // fast-import imports all the commits in one process, as it is meant to be used (split into
    // blocks, it would pay its start and its final pack flush once per block): a fresh repository
    // each time, before the first block, in the middle and after the last; its median counts.
    const stream = fastImportCommits(0, nCommits);
    const fastImportTimes: number[] = [];
    const fastImport = async () => {
      const d = await tmp.make("fi");
      await gitInitBare(d);
      const t = performance.now();
      await git(["--git-dir", d, "fast-import", "--quiet"], stream);
      fastImportTimes.push((performance.now() - t) / 1000);
      fastImportDir = d;
    };
    let fastImportDir = "";
    await fastImport();
    for (let b = 0; b < blocks; b++) {
      const lo = Math.floor((b * nCommits) / blocks);
      const hi = Math.floor(((b + 1) * nCommits) / blocks);
      const times = await rotated(
        b,
        stores.map((st) => () => commitRange(st.repo, lo, hi)),
      );
      stores.forEach((st, i) => (st.seconds += times[i]));
      if (b === Math.floor(blocks / 2) - 1) await fastImport();
    }
    await fastImport();
    const tFastImport = median(fastImportTimes);
    const writes = stores[0].repo.internals.ctx.stats.writes;
    for (const st of stores) await st.repo.close();
    const [tOurs, tDirect, tNoSync, tMem] = stores.map((st) => st.seconds);
    // What the disk charges for the operations a commit is made of, measured now, in the same
    // temporary directory tree: the floor of a durable row is its flush rounds.
    const costs = await measureFsCosts(await tmp.make("fs-costs"));
    const fiUs = (tFastImport / nCommits) * 1e6;
    const directFloorUs = costs.datasyncUs + 2 * costs.dirsyncUs;
    rows.push(
      row(
        {
          group: GROUP,
          name: "git backend (default, fsync on): branch.set, 1 commit each",
          baseline: "fast-import (same commits)",
          unit: "commits",
          goal: 0.25,
          note:
            `${(writes / nCommits).toFixed(1)} objects written per commit; all rows in ${blocks} interleaved blocks. Durable when it resolves: per commit 1 flush, of the journal's record ` +
            `(the commit's pack and ref change; git's files are flushed at checkpoints, every 4 MiB of records) >= ${costs.datasyncUs.toFixed(0)} µs on this disk, against ${fiUs.toFixed(0)} µs per commit for fast-import ` +
            `(0.25x allows ${(4 * fiUs).toFixed(0)} µs); fast-import flushes its one pack once, at the end. File system: ${describeFileSystem(storeDir)}. Disk now: ${formatFsCosts(costs)} (file creation before the rows: ${before.createUs.toFixed(0)} µs; above ~100 µs, recent deletions nearby slow ours). ` +
            `Objects on disk after the run: ${mb(diskBytes(join(storeDir, "objects")))}, fast-import's ${mb(diskBytes(join(fastImportDir, "objects")))}`,
        },
        nCommits,
        tOurs,
        nCommits,
        tFastImport,
      ),
    );
    rows.push(
      row(
        {
          group: GROUP,
          name: "git backend, fsync on, journal: false: branch.set, 1 commit each",
          baseline: "fast-import (same commits)",
          unit: "commits",
          note:
            `durable with git's own files only (git sees a consistent repository even right after a power cut): per commit 3 sequential flush rounds ` +
            `(pack data, pack directory entry, then the ref's directory entry) >= ${directFloorUs.toFixed(0)} µs on this disk`,
        },
        nCommits,
        tDirect,
        nCommits,
        tFastImport,
      ),
    );
    rows.push(
      row(
        {
          group: GROUP,
          name: "git backend, fsync off: branch.set, 1 commit each",
          baseline: "fast-import (same commits)",
          unit: "commits",
          goal: 0.25,
          note: "LIKE-FOR-LIKE with git: git commit / update-ref flush neither loose objects nor refs (core.fsync default), fast-import flushes once per import",
        },
        nCommits,
        tNoSync,
        nCommits,
        tFastImport,
      ),
    );
    rows.push(row({ group: GROUP, name: "memory backend: branch.set, 1 commit each", baseline: "fast-import (same commits)", unit: "commits" }, nCommits, tMem, nCommits, tFastImport));

    // --- (b) random reads of that store -------------------------------------------------------
    log(`store: ${nReads} random branch.get (vs cat-file --batch main:<path>)`);
    const order = shuffled(
      Array.from({ length: nCommits }, (_, i) => i),
      3,
    ).slice(0, nReads);
    const catInput = order.map((i) => `main:${keyOf(i)}`).join("\n") + "\n";
    const [tCat, tGet] = await interleaved(runs, [
      measure({
        fn: async () => {
          const out = await git(["--git-dir", storeDir, "cat-file", "--batch"], catInput);
          if (out.includes(" missing\n")) throw new Error("git cat-file: a key is missing");
        },
      }),
      measure({
        setup: () => Repo.open({ path: storeDir }),
        fn: async (r: Repo) => {
          const main = r.branch("main");
          for (const i of order) if ((await main.get(keyOf(i))) !== `v${i}`) throw new Error(`wrong value at ${keyOf(i)}`);
        },
        teardown: (r: Repo) => r.close(),
      }),
    ]);
    rows.push(row({ group: GROUP, name: "git backend: branch.get, random keys", baseline: "cat-file --batch main:<path>", unit: "reads", goal: 1, note: "a fresh Repo per run: cold at the first read, tree cache warm after; loose objects" }, nReads, tGet, nReads, tCat));

    // --- (c) merge of two branches of a large tree --------------------------------------------
    log(`store: merge, ${nTree}-key tree, ${nChanged} keys changed on each side (vs git merge-tree --write-tree)`);
    const mergeDir = await tmp.make("merge");
    const built = await Repo.open({ path: mergeDir });
    const main = built.branch("main");
    await main.transaction(async (tx) => {
      for (let i = 0; i < nTree; i++) await tx.set(keyOf(i), `v${i}`);
    }, { message: "base" });
    const other = await main.fork("other");
    const picked = shuffled(
      Array.from({ length: nTree }, (_, i) => i),
      4,
    ).slice(0, 2 * nChanged);
    await main.transaction(async (tx) => {
      for (const i of picked.slice(0, nChanged)) await tx.set(keyOf(i), `main ${i}`);
    }, { message: "main changes" });
    await other.transaction(async (tx) => {
      for (const i of picked.slice(nChanged)) await tx.set(keyOf(i), `other ${i}`);
    }, { message: "other changes" });
    const mainHead = (await main.head())!.hash;
    await built.close();

    let gitTree = "";
    let stats = { reads: 0, writes: 0 };
    const ourTrees = new Set<string>();
    const oursMerge = (fsync: boolean) =>
      measure({
        setup: async () => {
          const r = await Repo.open({ backend: await gitBackend({ path: mergeDir, fsync }) });
          await r.branch("main").reset(mainHead);
          const s = r.internals.ctx.stats;
          s.reads = 0;
          s.writes = 0;
          return r;
        },
        fn: async (r: Repo) => {
          const result = await r.branch("main").merge(r.branch("other"));
          if (!result.ok || result.commit === undefined) throw new Error("the benchmark merge conflicted");
          ourTrees.add(result.commit.treeHash);
        },
        teardown: async (r: Repo) => {
          stats = { ...r.internals.ctx.stats };
          // Back to the state git merges, for the next round.
          await r.branch("main").reset(mainHead);
          await r.close();
        },
      });
    const [tMergeTree, tMerge, tMergeNoSync] = await interleaved(runs, [
      measure({
        fn: async () => {
          gitTree = (await git(["--git-dir", mergeDir, "merge-tree", "--write-tree", "main", "other"])).toString().split("\n")[0];
        },
      }),
      oursMerge(true),
      oursMerge(false),
    ]);
    const same = ourTrees.size === 1 && ourTrees.has(gitTree) ? "same tree as git" : `DIFFERENT tree from git (${[...ourTrees].join(", ")} vs ${gitTree})`;
    const mergeName = `branch.merge (${nChanged}+${nChanged} of ${nTree} keys)`;
    rows.push(
      row(
        {
          group: GROUP,
          name: `git backend (default, fsync on): ${mergeName}`,
          baseline: "merge-tree --write-tree main other",
          unit: "merges",
          goal: 1,
          note: `${stats.reads} object reads, ${stats.writes} writes per merge; a fresh Repo per run (cold: packs opened by the merge); writes a pack and a commit and moves the ref, durably (one journal flush); ${same}`,
        },
        1,
        tMerge,
        1,
        tMergeTree,
      ),
    );
    rows.push(
      row(
        {
          group: GROUP,
          name: `git backend, fsync off: ${mergeName}`,
          baseline: "merge-tree --write-tree main other",
          unit: "merges",
          goal: 1,
          note: "LIKE-FOR-LIKE with git: merge-tree writes loose objects unflushed (and moves no ref; ours still moves main)",
        },
        1,
        tMergeNoSync,
        1,
        tMergeTree,
      ),
    );
    return rows;
  } finally {
    await done();
  }
}
