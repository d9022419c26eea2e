import type { Repo } from "../../src/store/repo.js";

/** Object reads and writes of `fn`, with a cold cache (for complexity tests). */
export async function countObjects<V>(repo: Repo<V>, fn: () => Promise<unknown>): Promise<{ reads: number; writes: number }> {
  const { ctx } = repo.internals;
  ctx.cache.clear();
  const before = { ...ctx.stats };
  await fn();
  return { reads: ctx.stats.reads - before.reads, writes: ctx.stats.writes - before.writes };
}
