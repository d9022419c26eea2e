/**
 * Complexity of queue operations, by counting object reads and writes (`ctx.stats`) with cold
 * caches, as the queue grows from 1,000 to 100,000 elements: push and pop touch one path of the
 * trie, and a merge only the front and back edges, whatever the size and however many operations
 * each side made.
 */
import { afterAll, describe, expect, it } from "vitest";
import type { Repo } from "../../src/store/repo.js";
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
  merge: Cost;
  bigMerge: Cost;
}

async function measure(repo: Repo, n: number, sideOps: number): Promise<Costs> {
  const main = repo.branch("main");
  await main.transaction(async (tx) => {
    const q = tx.queue("q");
    for (let i = 0; i < n; i++) await q.push(`v${i % 100}`);
  });
  const q = main.queue("q");
  const push = await cost(repo, () => q.push("x"));
  const pop = await cost(repo, () => q.pop());
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
  if (process.env.QUEUE_COSTS) console.log(n, JSON.stringify({ push, pop, merge, bigMerge }));
  expect(await main.queue("q").peek()).toBe(`v${(3 + sideOps) % 100}`);
  return { push, pop, merge, bigMerge };
}

for (const maker of repoMakers()) {
  describe(`queue complexity on ${maker.name}`, () => {
    afterAll(() => maker.cleanup());

    it("push, pop and merge cost the same order at n = 1,000 and n = 100,000 (object reads and writes)", async () => {
      const small = await maker.open();
      const large = await maker.open();
      const s = await measure(small, 1_000, 500);
      const l = await measure(large, 100_000, 500);
      await small.close();
      await large.close();
      for (const op of ["push", "pop", "merge", "bigMerge"] as const) {
        // one more trie level at most (3 → 4 trees for the queue's path), nothing proportional to n
        expect(l[op].reads, `${op} reads ${JSON.stringify(s[op])} vs ${JSON.stringify(l[op])}`).toBeLessThanOrEqual(s[op].reads * 2 + 4);
        expect(l[op].writes, `${op} writes ${JSON.stringify(s[op])} vs ${JSON.stringify(l[op])}`).toBeLessThanOrEqual(s[op].writes + 4);
      }
      // push: the queue's path (≤ 4 trees), the root, the blob, the commit
      expect(l.push.writes).toBeLessThanOrEqual(8);
      expect(l.pop.writes).toBeLessThanOrEqual(8);
      expect(l.push.reads).toBeLessThanOrEqual(12);
      expect(l.pop.reads).toBeLessThanOrEqual(12);
      // merge: two edges of the trie, whatever the number of operations on either side
      expect(l.merge.reads).toBeLessThanOrEqual(40);
      expect(l.merge.writes).toBeLessThanOrEqual(12);
      expect(l.bigMerge.reads).toBeLessThanOrEqual(40);
      expect(l.bigMerge.writes).toBeLessThanOrEqual(12);
    }, 60_000);
  });
}
