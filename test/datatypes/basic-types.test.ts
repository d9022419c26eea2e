import { execFileSync } from "node:child_process";
import { afterAll, describe, expect, it } from "vitest";
import { Contents } from "../../src/merge/contents.js";
import { repoMakers } from "../store/backends.js";

for (const maker of repoMakers()) {
  describe(`counter, register and set on ${maker.name}`, () => {
    afterAll(() => maker.cleanup());

    it("counter: getBigInt is exact beyond Number.MAX_SAFE_INTEGER (get is the nearest number)", async () => {
      const repo = await maker.open();
      const main = repo.branch("main");
      const c = main.counter("big");
      await c.increment(Number.MAX_SAFE_INTEGER);
      const wip = await main.fork("wip");
      await wip.counter("big").increment(Number.MAX_SAFE_INTEGER);
      await c.increment(1);
      expect((await main.merge(wip)).ok).toBe(true);
      expect(await c.getBigInt()).toBe(2n * BigInt(Number.MAX_SAFE_INTEGER) + 1n);
      expect(await c.get()).toBe(Number(2n * BigInt(Number.MAX_SAFE_INTEGER) + 1n));
      expect(await main.counter("absent").getBigInt()).toBe(0n);
    });

    it("counter: the Ezirmin criss-cross history ends at 9 on both branches", async () => {
      const repo = await maker.open();
      const main = repo.branch("main");
      await main.counter("c").increment(0);
      const wip = await main.fork("wip");
      await main.counter("c").increment(1);
      await wip.counter("c").increment(2);
      // merged both ways: both are 3, with two merge bases afterwards
      expect((await main.merge(wip)).ok).toBe(true);
      expect((await wip.merge((await main.head())!.parents[0])).ok).toBe(true);
      expect(await main.counter("c").get()).toBe(3);
      expect(await wip.counter("c").get()).toBe(3);
      await main.counter("c").increment(2);
      await wip.counter("c").increment(4);
      expect(await repo.lcas((await main.head())!, (await wip.head())!)).toHaveLength(2);
      expect((await main.merge(wip)).ok).toBe(true);
      expect(await main.counter("c").get()).toBe(9);
      expect((await wip.merge(main)).ok).toBe(true);
      expect(await wip.counter("c").get()).toBe(9);
      await repo.close();
    });

    it("counter: operations are commits named after them; decrement; bad steps are refused", async () => {
      const repo = await maker.open();
      const main = repo.branch("main");
      expect(await main.counter("hits").get()).toBe(0);
      expect(await main.counter("hits").increment(5)).toBe(5);
      expect(await main.counter("hits").decrement()).toBe(4);
      const log = await main.history();
      expect(log.map((c) => c.info.message.trimEnd())).toEqual(["decrement hits", "increment hits"]);
      await expect(main.counter("hits").increment(1.5)).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
      expect(() => main.counter("")).toThrow(/needs a path/);
      await main.set("plain", "text");
      await expect(main.counter("plain").increment()).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
      await expect(main.register("hits").get()).rejects.toThrow(/hits is a counter, not a register/);
      await main.set("dir/x", "1");
      await expect(main.counter("dir").get()).rejects.toThrow(/directory, not a counter/);
      await repo.close();
    });

    it("register: the later write wins a merge, whichever way it is merged", async () => {
      const repo = await maker.open();
      const main = repo.branch("main");
      await main.register("owner").set("alice");
      const wip = await main.fork("wip");
      await wip.register("owner").set("bob");
      await main.register("owner").set("carol"); // later: wins
      await main.merge(wip);
      await wip.merge(main);
      expect(await main.register("owner").get()).toBe("carol");
      expect(await wip.register("owner").get()).toBe("carol");
      expect(await repo.branch("none").register("owner").get()).toBeUndefined();
      await repo.close();
    });

    it("register and set hold values of any contents", async () => {
      const repo = await maker.open();
      const main = repo.branch("main");
      const reg = main.register("cfg", { contents: Contents.json });
      await reg.set({ a: [1, 2] });
      expect(await reg.get()).toEqual({ a: [1, 2] });
      const tags = main.setOf("tags", { contents: Contents.json });
      await tags.add({ t: 1 });
      expect(await tags.has({ t: 1 })).toBe(true);
      expect(await tags.values()).toEqual([{ t: 1 }]);
      await repo.close();
    });

    it("set: deletions since the ancestor win, additions on either side stay", async () => {
      const repo = await maker.open();
      const main = repo.branch("main");
      const s = main.setOf("tags");
      for (const x of ["a", "b", "c"]) await s.add(x);
      expect(await s.add("a")).toBe(false);
      const wip = await main.fork("wip");
      await main.setOf("tags").delete("a");
      await main.setOf("tags").add("d");
      await wip.setOf("tags").delete("b");
      await wip.setOf("tags").add("e");
      await wip.setOf("tags").add("d");
      expect((await main.merge(wip)).ok).toBe(true);
      expect((await wip.merge(main)).ok).toBe(true);
      const expected = ["c", "d", "e"];
      expect((await main.setOf("tags").values()).sort()).toEqual(expected);
      expect((await wip.setOf("tags").values()).sort()).toEqual(expected);
      expect(await main.setOf("tags").has("a")).toBe(false);
      expect(await main.setOf("tags").delete("zz")).toBe(false);
      await repo.close();
    });

    it("a transaction makes many operations one commit; the types merge on the same branch and in unrelated histories", async () => {
      const repo = await maker.open();
      const main = repo.branch("main");
      const r = await main.transaction(async (tx) => {
        await tx.counter("n").increment(2);
        await tx.counter("n").increment(3);
        await tx.setOf("s").add("x");
        await tx.register("r").set("v");
        return tx.counter("n").get();
      });
      expect(r.ok && r.value).toBe(5);
      expect(await main.history()).toHaveLength(1);
      expect(await main.counter("n").get()).toBe(5);
      // two unrelated histories that both created the counter merge against no ancestor
      const other = repo.branch("other");
      await other.counter("n").increment(10);
      expect((await main.merge(other)).ok).toBe(true);
      expect(await main.counter("n").get()).toBe(15);
      await repo.close();
    });

    it("watchKey on a data type fires for its operations and for merges that change it, not for others", async () => {
      const repo = await maker.open();
      const main = repo.branch("main");
      let fired = 0;
      const stop = main.watchKey("home/todo", ({ before, after }) => {
        expect(before).toBeUndefined();
        expect(after).toBeUndefined();
        fired++;
      });
      await main.queue("home/todo").push("buy milk");
      await main.set("elsewhere", "x");
      const wip = await main.fork("wip");
      await wip.queue("home/todo").push("walk dog");
      await main.merge(wip);
      for (let i = 0; i < 200 && fired < 2; i++) await new Promise((r) => setTimeout(r, 25));
      await stop();
      expect(fired).toBe(2); // the push, then the merge (fast-forward) that brought "walk dog"
      expect(await main.queue("home/todo").toArray()).toEqual(["buy milk", "walk dog"]);
      await repo.close();
    });

    if (maker.name === "git") {
      it("data type subtrees are plain Git trees: fsck passes, git sees the marker", async () => {
        const repo = await maker.open();
        const main = repo.branch("main");
        await main.counter("a/hits").increment(7);
        await main.setOf("a/tags").add("x");
        const dir = (repo.internals.backend as unknown as { gitDir: string }).gitDir;
        expect(dir).toBeTypeOf("string");
        execFileSync("git", ["--git-dir", dir, "fsck", "--strict"], { stdio: "pipe" });
        expect(execFileSync("git", ["--git-dir", dir, "show", "main:a/hits/.irmin-type"]).toString()).toBe("irmin-ts counter 1\n");
        expect(execFileSync("git", ["--git-dir", dir, "show", "main:a/hits/value"]).toString()).toBe("7");
        await repo.close();
      });
    }
  });
}
