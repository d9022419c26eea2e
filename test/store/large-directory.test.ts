import { afterAll, describe, expect, it } from "vitest";
import { repoMakers } from "./backends.js";

const N = 500_000;

for (const maker of repoMakers()) {
  describe(`a ${N}-entry directory on ${maker.name}`, () => {
    afterAll(() => maker.cleanup());

    it("is written in one transaction, listed by pages, read and updated by path", async () => {
      const repo = await maker.open();
      const main = repo.branch("main");
      const name = (i: number) => `k${String(i).padStart(6, "0")}`;
      const r = await main.transaction(async (tx) => {
        for (let i = 0; i < N; i++) await tx.set(["big", name(i)], String(i % 97));
      });
      expect(r.ok).toBe(true);
      const ctx = repo.internals.ctx;
      ctx.cache.clear();
      const page = await main.list("big", { offset: 250_000, limit: 3 });
      expect(page.map((e) => e.name)).toEqual([name(250_000), name(250_001), name(250_002)]);
      expect(await main.get(["big", name(123_456)])).toBe(String(123_456 % 97));
      expect((await main.list("big")).length).toBe(N);

      // One more write touches one path: a blob, the two trees above it and a commit.
      const before = { ...ctx.stats };
      await main.set(["big", "extra"], "x");
      expect(ctx.stats.writes - before.writes).toBe(4);
      expect(await main.get(["big", "extra"])).toBe("x");
      expect((await main.list("big")).length).toBe(N + 1);
      await repo.close();
    });
  });
}
