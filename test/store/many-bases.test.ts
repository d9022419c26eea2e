import { afterAll, describe, expect, it } from "vitest";
import { repoMakers } from "./backends.js";

// Merges whose heads have three or more lowest common ancestors: the virtual ancestor must count
// history shared by several of them once, and be the same tree whichever way the merge goes.

for (const maker of repoMakers()) {
  describe(`merges with three merge bases on ${maker.name}`, () => {
    afterAll(() => maker.cleanup());

    it("a counter merged either way holds every increment exactly once, and the two merges agree", async () => {
      const repo = await maker.open();
      const root = repo.branch("root");
      await root.counter("c").increment(0);
      const x = await root.fork("x");
      await x.counter("c").increment(1);
      const w = await root.fork("w");
      await w.counter("c").increment(50); // shared by y and z only
      const y = await w.fork("y");
      await y.counter("c").increment(10);
      const z = await w.fork("z");
      await z.counter("c").increment(100);
      // p = (x + y) + z and q = (y + z) + x: their common ancestors are x, y and z.
      const p = await x.fork("p");
      expect((await p.merge(y)).ok).toBe(true);
      expect((await p.merge(z)).ok).toBe(true);
      const q = await y.fork("q");
      expect((await q.merge(z)).ok).toBe(true);
      expect((await q.merge(x)).ok).toBe(true);
      expect(await p.counter("c").get()).toBe(161);
      expect(await q.counter("c").get()).toBe(161);
      await p.counter("c").increment(1000);
      await q.counter("c").increment(10000);
      expect(await repo.lcas((await p.head())!, (await q.head())!)).toHaveLength(3);

      const pq = await p.fork("pq");
      const qp = await q.fork("qp");
      expect((await pq.merge(q)).ok).toBe(true);
      expect((await qp.merge(p)).ok).toBe(true);
      expect(await pq.counter("c").get()).toBe(11161);
      expect(await qp.counter("c").get()).toBe(11161);
      expect(await (await pq.tree()).hash()).toBe(await (await qp.tree()).hash());
    });
  });
}
