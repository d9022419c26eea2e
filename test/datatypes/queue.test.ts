import { execFileSync } from "node:child_process";
import { afterAll, describe, expect, it } from "vitest";
import { Contents } from "../../src/merge/contents.js";
import type { ValueCodec } from "../../src/datatypes/slot.js";
import type { Repo } from "../../src/store/repo.js";
import { EPOCH_SIZE as E } from "../../src/datatypes/queue/epoch.js";
import { repoMakers } from "../store/backends.js";
import { inside } from "./inside.js";

const gitDirOf = <V>(repo: Repo<V>): string => (repo.internals.backend as unknown as { gitDir: string }).gitDir;

for (const maker of repoMakers()) {
  describe(`queue on ${maker.name}`, () => {
    afterAll(() => maker.cleanup());

    it("the paper's example: old push=6 pop=2, g1 push=8 pop=2, g2 push=7 pop=4 merge to 5 6 7 8 7, both ways", async () => {
      const repo = await maker.open({ contents: Contents.json });
      const old = repo.branch("old");
      const q = old.queue("q", { contents: Contents.json as ValueCodec<number> });
      for (let i = 1; i <= 6; i++) await q.push(i);
      expect(await q.pop()).toBe(1);
      expect(await q.pop()).toBe(2);
      const g1 = await old.fork("g1");
      const g2 = await old.fork("g2");
      const q1 = g1.queue("q", { contents: Contents.json as ValueCodec<number> });
      const q2 = g2.queue("q", { contents: Contents.json as ValueCodec<number> });
      await q1.push(7);
      await q1.push(8);
      expect(await q2.pop()).toBe(3);
      expect(await q2.pop()).toBe(4);
      await q2.push(7);
      expect(await q1.toArray()).toEqual([3, 4, 5, 6, 7, 8]);
      expect(await q2.toArray()).toEqual([5, 6, 7]);
      const h1 = (await g1.head())!;
      expect((await g1.merge(g2)).ok).toBe(true);
      expect((await g2.merge(h1)).ok).toBe(true);
      expect(await q1.toArray()).toEqual([5, 6, 7, 8, 7]);
      expect(await q2.toArray()).toEqual([5, 6, 7, 8, 7]);
      // the same tree, not only the same values
      const t1 = await (await g1.head())!.tree();
      const t2 = await (await g2.head())!.tree();
      expect(await t1.hash()).toBe(await t2.hash());
      expect(await q1.length()).toBe(5);
      await repo.close();
    });

    it("the Ezirmin session: push, pop, fork wip, two pushes on wip, merge", async () => {
      const repo = await maker.open();
      const m = repo.branch("master");
      await m.queue("home/todo").push("buy milk");
      await m.queue("work/todo").push("publish ezirmin");
      expect(await m.queue("home/todo").toArray()).toEqual(["buy milk"]);
      expect(await m.queue("home/todo").pop()).toBe("buy milk");
      const wip = await m.fork("wip");
      await wip.queue("home/todo").push("walk dog");
      await wip.queue("home/todo").push("take out trash");
      expect(await m.queue("home/todo").toArray()).toEqual([]);
      expect((await m.merge(wip)).ok).toBe(true);
      expect(await m.queue("home/todo").toArray()).toEqual(["walk dog", "take out trash"]);
      const messages = (await m.history()).map((c) => c.info.message.trimEnd());
      expect(messages).toEqual(["push home/todo", "push home/todo", "pop home/todo", "push work/todo", "push home/todo"]);
      await repo.close();
    });

    it("a criss-cross history (two merge bases) keeps every pushed element once and drops every popped one", async () => {
      const repo = await maker.open();
      const main = repo.branch("main");
      for (const v of ["a", "b", "c", "d"]) await main.queue("q").push(v);
      const wip = await main.fork("wip");
      expect(await main.queue("q").pop()).toBe("a");
      await main.queue("q").push("m1");
      await wip.queue("q").push("w1");
      // merged both ways: two merge bases afterwards
      const mainHead = (await main.head())!.hash;
      expect((await main.merge(wip)).ok).toBe(true);
      expect((await wip.merge(mainHead)).ok).toBe(true);
      expect(await main.queue("q").toArray()).toEqual(["b", "c", "d", "m1", "w1"]);
      expect(await wip.queue("q").toArray()).toEqual(["b", "c", "d", "m1", "w1"]);
      expect(await main.queue("q").pop()).toBe("b");
      await main.queue("q").push("m2");
      expect(await wip.queue("q").pop()).toBe("b");
      expect(await wip.queue("q").pop()).toBe("c");
      await wip.queue("q").push("w2");
      expect(await repo.lcas((await main.head())!, (await wip.head())!)).toHaveLength(2);
      expect((await main.merge(wip)).ok).toBe(true);
      expect((await wip.merge(main)).ok).toBe(true);
      expect(await main.queue("q").toArray()).toEqual(["d", "m1", "w1", "m2", "w2"]);
      expect(await wip.queue("q").toArray()).toEqual(["d", "m1", "w1", "m2", "w2"]);
      await repo.close();
    });

    it("elements are occurrences: the same value pushed twice, or on two branches, is two elements", async () => {
      const repo = await maker.open();
      const main = repo.branch("main");
      const q = main.queue("q");
      await q.push("x");
      await q.push("x");
      const wip = await main.fork("wip");
      await main.queue("q").push("y");
      await wip.queue("q").push("y");
      expect((await main.merge(wip)).ok).toBe(true);
      expect(await q.toArray()).toEqual(["x", "x", "y", "y"]);
      expect(await q.pop()).toBe("x");
      expect(await q.toArray()).toEqual(["x", "y", "y"]);
      await repo.close();
    });

    it("pop, peek, length, isEmpty; pop on an empty queue makes no commit", async () => {
      const repo = await maker.open();
      const main = repo.branch("main");
      const q = main.queue("a/q");
      expect(await q.isEmpty()).toBe(true);
      expect(await q.length()).toBe(0);
      expect(await q.peek()).toBeUndefined();
      expect(await q.pop()).toBeUndefined();
      expect(await main.head()).toBeUndefined();
      await q.push("1");
      await q.push("2");
      expect(await q.peek()).toBe("1");
      expect(await q.length()).toBe(2);
      expect(await q.isEmpty()).toBe(false);
      expect(await q.pop({ message: "take one", author: "Me <me@example.com>" })).toBe("1");
      expect(await q.pop()).toBe("2");
      const before = (await main.head())!.hash;
      expect(await q.pop()).toBeUndefined();
      expect((await main.head())!.hash).toBe(before);
      expect(await q.isEmpty()).toBe(true);
      const log = await main.history();
      expect(log.map((c) => c.info.message.trimEnd())).toEqual(["pop a/q", "take one", "push a/q", "push a/q"]);
      expect(log[1].info.author).toContain("Me <me@example.com>");
      await q.push("3");
      expect(await q.toArray()).toEqual(["3"]);
      await repo.close();
    });

    it("a transaction makes many pushes and pops one commit, across epochs, in order", async () => {
      const repo = await maker.open();
      const main = repo.branch("main");
      const r = await main.transaction(async (tx) => {
        const q = tx.queue("q");
        for (let i = 0; i < 700; i++) await q.push(String(i));
        for (let i = 0; i < 300; i++) expect(await q.pop()).toBe(String(i));
        return q.length();
      });
      expect(r.ok && r.value).toBe(400);
      expect(await main.history()).toHaveLength(1);
      const all = await main.queue("q").toArray();
      expect(all).toEqual(Array.from({ length: 400 }, (_, i) => String(i + 300)));
      await repo.close();
    });

    it("bad input is INVALID_ARGUMENT: another type, a value, a plain directory, the root", async () => {
      const repo = await maker.open();
      const main = repo.branch("main");
      await main.counter("c").increment();
      await expect(main.queue("c").push("x")).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
      await expect(main.queue("c").toArray()).rejects.toThrow(/c is a counter, not a queue/);
      await main.set("v", "text");
      await expect(main.queue("v").pop()).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
      await main.set("d/x", "1");
      await expect(main.queue("d").peek()).rejects.toThrow(/directory, not a queue/);
      expect(() => main.queue("")).toThrow(/needs a path/);
      await repo.close();
    });

    it("corrupt queue subtrees are CORRUPT, not a crash", async () => {
      const repo = await maker.open();
      const main = repo.branch("main");
      await main.queue("q").push("x");
      // an unexpected entry beside the marker
      await inside(main, "q", (t) => t.set("zz", "junk"));
      await expect(main.queue("q").toArray()).rejects.toMatchObject({ code: "CORRUPT" });
      await expect(main.queue("q").pop()).rejects.toMatchObject({ code: "CORRUPT" });
      await inside(main, "q", (t) => t.remove("zz"));
      // a directory where an epoch blob should be
      await inside(main, "q", (t) => t.set("lo.00000000.1/x", "junk"));
      await expect(main.queue("q").peek()).rejects.toMatchObject({ code: "CORRUPT" });
      await expect(main.queue("q").push("y")).rejects.toMatchObject({ code: "CORRUPT" });
      await inside(main, "q", (t) => t.remove("lo.00000000.1"));
      // an epoch blob that is not records, a malformed count
      await inside(main, "q", (t) => t.set("lo.00000000.2", "junk"));
      await expect(main.queue("q").peek()).rejects.toMatchObject({ code: "CORRUPT" });
      await inside(main, "q", (t) => t.remove("lo.00000000.2"));
      await inside(main, "q", (t) => t.set("lo.00000000.01", "junk"));
      await expect(main.queue("q").length()).rejects.toMatchObject({ code: "CORRUPT" });
      await inside(main, "q", (t) => t.remove("lo.00000000.01"));
      await inside(main, "q", (t) => t.set("lo.00000000.1", "not a record"));
      await expect(main.queue("q").toArray()).rejects.toMatchObject({ code: "CORRUPT" });
      await expect(main.queue("q").length()).resolves.toBe(1);
      await expect(main.transaction(async (tx) => tx.queue("q").pop())).rejects.toMatchObject({ code: "CORRUPT" });
      await inside(main, "q", (t) => t.remove("lo.00000000.1"));
      // a group whose counts do not add up (an element removed behind the queue's back)
      await main.transaction(async (tx) => {
        for (let i = 0; i < 3 * E + 8; i++) await tx.queue("q").push(`v${i}`);
      });
      expect((await main.list("q")).map((e) => e.name)).toEqual([".irmin-type", "hi.00000003.8", `lo.00000000.${E}`, `m1.${2 * E}`]);
      await inside(main, "q", (t) => t.remove(`m1.${2 * E}/1.${E}`));
      await expect(main.queue("q").toArray()).rejects.toMatchObject({ code: "CORRUPT" });
      await expect(main.transaction(async (tx) => {
        for (let i = 0; i < E + 6; i++) await tx.queue("q").pop();
      })).rejects.toMatchObject({ code: "CORRUPT" });
      await repo.close();
    });

    it("merges with no common queue (unrelated histories, or the queue created on both sides) keep both", async () => {
      const repo = await maker.open();
      const a = repo.branch("a");
      const b = repo.branch("b");
      await a.queue("q").push("a1");
      await a.queue("q").push("a2");
      await b.queue("q").push("b1");
      expect((await a.merge(b)).ok).toBe(true);
      expect(await a.queue("q").toArray()).toEqual(["a1", "a2", "b1"]);
      await repo.close();
    });

    if (maker.name === "git") {
      it("a queue of 200,000 elements built in one transaction passes git fsck --strict and git sees its layout", async () => {
        const repo = await maker.open();
        const main = repo.branch("main");
        const n = 200_000;
        const r = await main.transaction(async (tx) => {
          const q = tx.queue("big");
          for (let i = 0; i < n; i++) await q.push(`v${i % 97}`);
        });
        expect(r.ok).toBe(true);
        const dir = gitDirOf(repo);
        execFileSync("git", ["--git-dir", dir, "fsck", "--strict", "--no-progress"], { stdio: "pipe" });
        expect(execFileSync("git", ["--git-dir", dir, "show", "main:big/.irmin-type"]).toString()).toBe("irmin-ts queue 2\n");
        const paths = execFileSync("git", ["--git-dir", dir, "ls-tree", "-r", "--name-only", "main"], { maxBuffer: 64 << 20 }).toString().trim().split("\n");
        // one blob per epoch of EPOCH_SIZE elements, plus the marker
        expect(paths).toHaveLength(Math.ceil(n / E) + 1);
        const depth = paths.reduce((d, p) => Math.max(d, p.split("/").length), 0);
        // 1,563 epochs of 128 (0 to 0x61a, the last one half full): front and back meet at level 3, so the deepest path is
        // big/m3.<n>/<level-2 block>/<level-1 block>/<epoch blob>
        expect(depth).toBe(5);
        const root = execFileSync("git", ["--git-dir", dir, "ls-tree", "--name-only", "main:big"]).toString().trim().split("\n");
        // lo's level-1 and level-2 blocks after it, level-2 blocks 1 to 5, hi's blocks before it
        expect(E).toBe(128);
        expect(root.sort()).toEqual([".irmin-type", "b1.1280", "b2.2048", "f1.1920", "f2.30720", "hi.0000061a.64", "lo.00000000.128", "m3.163840"]);
        const q = main.queue("big");
        expect(await q.peek()).toBe("v0");
        expect(await q.length()).toBe(n);
        expect(await q.pop()).toBe("v0");
        expect(await q.peek()).toBe("v1");
        await repo.close();
      }, 60_000);
    }
  });
}
