import { describe, expect, it } from "vitest";
import { countObjects as count } from "../store/count.js";
import { Repo } from "../../src/store/repo.js";

describe("counter, register and set cost O(1) objects per operation", () => {
  it("counter and register operations and merges read and write a constant number of objects", async () => {
    const repo = await Repo.memory();
    const main = repo.branch("main");
    await main.counter("c").increment();
    await main.register("r").set("a");
    const wip = await main.fork("wip");
    // commit, root, counter subtree, value blob are read; value, id, counter subtree, root and commit written
    expect(await count(repo, () => main.counter("c").increment(2))).toEqual({ reads: 4, writes: 5 });
    expect(await count(repo, () => main.register("r").set("b"))).toEqual({ reads: 4, writes: 5 });
    await wip.counter("c").increment(3);
    await wip.register("r").set("c");
    const merge = await count(repo, () => main.merge(wip));
    expect(merge.reads).toBeLessThan(25);
    expect(merge.writes).toBeLessThanOrEqual(8);
    expect(await main.counter("c").get()).toBe(6);
  });

  it("a set operation and a merge of a few changes cost the same at 1,000 and 20,000 elements", async () => {
    const costs: { add: number; merge: number }[] = [];
    for (const n of [1_000, 20_000]) {
      const repo = await Repo.memory();
      const main = repo.branch("main");
      await main.transaction(async (tx) => {
        const s = tx.setOf("s");
        for (let i = 0; i < n; i++) await s.add(`e${i}`);
      });
      const wip = await main.fork("wip");
      const add = await count(repo, () => main.setOf("s").add("new"));
      // commit, root, set, bucket read; blob, bucket, set, root, commit written
      expect(add).toEqual({ reads: 4, writes: 5 });
      await wip.setOf("s").delete("e7");
      await wip.setOf("s").add("other");
      const merge = await count(repo, () => main.merge(wip));
      costs.push({ add: add.reads + add.writes, merge: merge.reads + merge.writes });
      expect(await main.setOf("s").has("e7")).toBe(false);
      expect(await main.setOf("s").has("other")).toBe(true);
    }
    expect(costs[1]).toEqual(costs[0]);
  });
});
