/**
 * Complexity of queue operations, by counting object reads and writes (`ctx.stats`) with cold
 * caches, as the queue grows from 1,000 to 100,000 elements: push and pop read and write the same
 * objects whatever the size (O(1)), a run of one epoch of them (the back moves into the groups,
 * the front is refilled) a constant number more, length and isEmpty one read, and a merge only the
 * roots and ends, whatever the size and however many operations each side made.
 */
import { afterAll, describe, expect, it, vi } from "vitest";
import type { Repo } from "../../src/store/repo.js";
import { EPOCH_SIZE } from "../../src/datatypes/queue/epoch.js";
import { repoMakers } from "../store/backends.js";

interface Cost {
  reads: number;
  writes: number;
}

/** The object reads and writes of `fn`, starting from cold caches. */
async function cost(repo: Repo, fn: () => Promise<unknown>): Promise<Cost> {
  const { ctx } = repo.internals;
  ctx.cache.clear();
  const r0 = ctx.stats.reads;
  const w0 = ctx.stats.writes;
  await fn();
  return { reads: ctx.stats.reads - r0, writes: ctx.stats.writes - w0 };
}

interface Costs {
  push: Cost;
  pop: Cost;
  pushes: Cost;
  pops: Cost;
  length: Cost;
  merge: Cost;
  bigMerge: Cost;
}

/** Pushes (one commit each) and pops of one whole epoch, so every run crosses one epoch boundary. */
const RUN = EPOCH_SIZE;

async function measure(repo: Repo, n: number, sideOps: number): Promise<Costs> {
  const main = repo.branch("main");
  await main.transaction(async (tx) => {
    const q = tx.queue("q");
    for (let i = 0; i < n; i++) await q.push(`v${i % 100}`);
  });
  const q = main.queue("q");
  const push = await cost(repo, () => q.push("x"));
  const pop = await cost(repo, () => q.pop());
  const pushes = await cost(repo, async () => {
    for (let i = 0; i < RUN; i++) await q.push(`p${i}`);
  });
  const pops = await cost(repo, async () => {
    for (let i = 0; i < RUN; i++) await q.pop();
  });
  const length = await cost(repo, async () => expect(await q.length()).toBe(n));
  // a small merge: each side popped and pushed a few
  const wip = await main.fork("wip");
  for (let i = 0; i < 2; i++) await q.pop();
  await q.push("a");
  await wip.queue("q").pop();
  await wip.queue("q").push("b");
  await wip.queue("q").push("c");
  const merge = await cost(repo, () => main.merge(wip));
  // a merge after many operations: one side popped `sideOps`, the other pushed `sideOps`
  const other = await main.fork("other");
  await main.transaction(async (tx) => {
    for (let i = 0; i < sideOps; i++) await tx.queue("q").pop();
  });
  await other.transaction(async (tx) => {
    for (let i = 0; i < sideOps; i++) await tx.queue("q").push(`w${i}`);
  });
  const bigMerge = await cost(repo, () => main.merge(other));
  if (process.env.QUEUE_COSTS) console.log(n, JSON.stringify({ push, pop, pushes, pops, length, merge, bigMerge }));
  expect(await main.queue("q").peek()).toBe(`v${(RUN + 3 + sideOps) % 100}`);
  // popped 1 + RUN + 2 + sideOps, pushed 1 + RUN + 1 + 2 + sideOps
  expect(await main.queue("q").length()).toBe(n + 1);
  return { push, pop, pushes, pops, length, merge, bigMerge };
}

for (const maker of repoMakers()) {
  describe(`queue complexity on ${maker.name}`, () => {
    afterAll(() => maker.cleanup());

    it("push, pop, length and merge cost the same at n = 1,000 and n = 100,000 (object reads and writes)", async () => {
      // One fixed clock: commit times order the history walk of a merge, and push times are in
      // the epochs; with the real clock, where the second boundaries fall changed what a merge read.
      vi.useFakeTimers({ toFake: ["Date"], now: Date.UTC(2026, 0, 1) });
      const small = await maker.open();
      const large = await maker.open();
      let s: Costs;
      let l: Costs;
      try {
        // neither size puts the measured push or pop on an epoch boundary (1,000 = 7 × 128 + 104, 100,000 = 781 × 128 + 32)
        s = await measure(small, 1_000, 500);
        l = await measure(large, 100_000, 500);
      } finally {
        vi.useRealTimers();
        await small.close();
        await large.close();
      }
      const show = `${JSON.stringify(s)} vs ${JSON.stringify(l)}`;
      // O(1): the very same objects at both sizes
      for (const op of ["push", "pop", "length", "merge"] as const) expect(l[op], `${op}: ${show}`).toEqual(s[op]);
      // push: commit, root tree, queue root, back epoch; writes the blob, the back epoch, the queue root, the root tree, the commit
      expect(l.push).toEqual({ reads: 4, writes: 4 });
      // pop: the same plus the popped blob, nothing to write but the trees
      expect(l.pop).toEqual({ reads: 4, writes: 4 });
      // length: the commit, the root tree and the queue root
      expect(l.length.reads).toBe(3);
      // a run of one epoch: a constant number of objects more than RUN single operations, the same at both sizes (± the levels carried)
      for (const op of ["pushes", "pops"] as const) {
        const single = op === "pushes" ? l.push : l.pop;
        expect(l[op].writes, `${op}: ${show}`).toBeLessThanOrEqual(RUN * single.writes + 4);
        expect(l[op].reads, `${op}: ${show}`).toBeLessThanOrEqual(RUN * single.reads + 8);
        expect(Math.abs(l[op].writes - s[op].writes), `${op}: ${show}`).toBeLessThanOrEqual(2);
      }
      // merge: the roots and the ends, whatever the number of operations on either side; O(1) writes
      // (the merged back epoch, the queue root, the root tree, the commit)
      expect(l.merge.writes).toBeLessThanOrEqual(4);
      expect(l.merge.reads).toBeLessThanOrEqual(16);
      expect(l.bigMerge.writes).toBeLessThanOrEqual(s.bigMerge.writes);
      expect(l.bigMerge.writes).toBeLessThanOrEqual(4);
      expect(l.bigMerge.reads).toBeLessThanOrEqual(16);
    }, 60_000);
  });
}
