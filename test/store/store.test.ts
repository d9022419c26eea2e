import { afterAll, describe, expect, it, vi } from "vitest";
import { Contents } from "../../src/merge/contents.js";
import { Merge } from "../../src/merge/merge.js";
import { hashObject } from "../../src/codec/object.js";
import { isIrminError } from "../../src/core/errors.js";
import { repoMakers } from "./backends.js";

const enc = new TextEncoder();
const AUTHOR = "Test <test@example.com>";

for (const maker of repoMakers()) {
  describe(`store on ${maker.name}`, () => {
    afterAll(() => maker.cleanup());

    it("stores and reads values; paths as strings or arrays", async () => {
      const repo = await maker.open();
      const main = repo.branch("main");
      expect(await main.get("home/todo")).toBeUndefined();
      expect(await main.head()).toBeUndefined();
      await main.set("home/todo", "buy milk", { message: "add todo", author: AUTHOR });
      expect(await main.get("home/todo")).toBe("buy milk");
      expect(await main.get(["home", "todo"])).toBe("buy milk");
      expect(await main.has("home/todo")).toBe(true);
      expect(await main.has("home")).toBe(false);
      expect(await main.list()).toEqual([{ name: "home", kind: "node" }]);
      expect(await main.list("home")).toEqual([{ name: "todo", kind: "contents" }]);
      const head = await main.head();
      expect(head!.info.message).toBe("add todo\n");
      expect(head!.info.author).toBe(AUTHOR);
      await main.remove("home/todo");
      expect(await main.get("home/todo")).toBeUndefined();
      expect(await main.list()).toEqual([]);
      const history = await main.history();
      expect(history.map((c) => c.info.message)).toEqual(["remove home/todo\n", "add todo\n"]);
      await repo.close();
    });

    it("rejects the root, empty segments and names Git refuses", async () => {
      const repo = await maker.open();
      const main = repo.branch("main");
      for (const bad of ["", "a//b", "/a", "a/", ".", "a/../b", ".git/x", "a/.GIT", ".git.", "a/git~1", ".git\u200c", ".gIt ", "a\\.git", ["a", ""], ["a/b"], ["a\0b"], "a/x\uD800", ["\uDC00y"]]) {
        await expect(main.set(bad as string, "x")).rejects.toSatisfy((e: unknown) => isIrminError(e, "INVALID_ARGUMENT"));
      }
      expect(() => repo.branch("a..b")).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
      expect(() => repo.branch("")).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
      await repo.close();
      expect(() => repo.branch("main")).toThrow(expect.objectContaining({ code: "CLOSED" }));
      await expect(main.get("a")).rejects.toSatisfy((e: unknown) => isIrminError(e, "CLOSED"));
    });

    it("replaces a directory by a value and a value by a directory", async () => {
      const repo = await maker.open();
      const main = repo.branch("main");
      await main.set("a/b/c", "1");
      await main.set("a/b", "2");
      expect(await main.get("a/b")).toBe("2");
      expect(await main.get("a/b/c")).toBeUndefined();
      await main.set("a/b/d", "3");
      expect(await main.get("a/b")).toBeUndefined();
      expect(await main.get("a/b/d")).toBe("3");
      await repo.close();
    });

    it("hashes contents and commits the same twice", async () => {
      const repo = await maker.open();
      const t0 = await (await repo.branch("x").tree()).set("a/b", "v");
      const t1 = await (await repo.branch("y").tree()).set("a/b", "v");
      expect(await t0.hash()).toBe(await t1.hash());
      const c1 = await repo.branch("x").set("a/b", "v", { author: AUTHOR, message: "m" });
      const c2 = await repo.branch("y").set("a/b", "v", { author: AUTHOR, message: "m" });
      expect(c1.treeHash).toBe(await t0.hash());
      // Same tree, parents, author and second: the same commit.
      if (Math.floor(c1.info.date / 1000) === Math.floor(c2.info.date / 1000)) expect(c1.hash).toBe(c2.hash);
      const blob = hashObject(repo.hashAlgorithm, "blob", enc.encode("v"));
      const tree = await c1.tree();
      const sub = await tree.subtree("a");
      expect((await sub!.list()).map((e) => e.name)).toEqual(["b"]);
      expect(blob).toMatch(/^[0-9a-f]{40}$/);
      await repo.close();
    });

    it("lists branches, forks, resets, removes", async () => {
      const repo = await maker.open();
      const main = repo.branch("main");
      expect(await repo.branches()).toEqual([]);
      const c1 = await main.set("k", "1");
      const wip = await main.fork("wip");
      expect(await repo.branches()).toEqual(["main", "wip"]);
      await wip.set("k", "2");
      expect(await main.get("k")).toBe("1");
      await main.reset((await wip.head())!);
      expect(await main.get("k")).toBe("2");
      await main.reset(c1.hash);
      expect(await main.get("k")).toBe("1");
      await repo.removeBranch("wip");
      expect(await repo.branches()).toEqual(["main"]);
      expect(await wip.head()).toBeUndefined();
      await repo.close();
    });

    it("tree: lazy, immutable, list with offset and limit, diff", async () => {
      const repo = await maker.open();
      const main = repo.branch("main");
      await main.transaction(async (tx) => {
        for (let i = 0; i < 20; i++) await tx.set(`d/${String(i).padStart(2, "0")}`, `v${i}`);
        await tx.set("x", "1");
      });
      const t = await main.tree();
      expect((await t.list("d", { offset: 5, limit: 3 })).map((e) => e.name)).toEqual(["05", "06", "07"]);
      const t2 = await (await (await t.set("d/05", "changed")).remove("x")).set("y/z", "new");
      expect(await t.get("d/05")).toBe("v5");
      expect(await t2.get("d/05")).toBe("changed");
      expect(await t.diff(t2)).toEqual([
        { path: ["d", "05"], kind: "updated", before: "v5", after: "changed" },
        { path: ["x"], kind: "removed", before: "1" },
        { path: ["y", "z"], kind: "added", after: "new" },
      ]);
      const all = [];
      for await (const e of t2.entries()) all.push(e.path.join("/"));
      expect(all.length).toBe(21);
      await repo.close();
    });

    it("merges a/b/b and a/b/c", async () => {
      const repo = await maker.open();
      const main = repo.branch("main");
      await main.set("a/b/a", "0");
      const wip = await main.fork("wip");
      await main.set("a/b/b", "1");
      await wip.set("a/b/c", "2");
      const r = await main.merge(wip);
      expect(r.ok).toBe(true);
      expect(await main.list("a/b")).toEqual([
        { name: "a", kind: "contents" },
        { name: "b", kind: "contents" },
        { name: "c", kind: "contents" },
      ]);
      const head = await main.head();
      expect(head!.parents.length).toBe(2);
      expect(head!.info.message).toBe("merge wip into main\n");
      // Merging again changes nothing; merging back fast-forwards.
      expect((await main.merge(wip)).ok).toBe(true);
      expect((await main.head())!.hash).toBe(head!.hash);
      const back = await wip.merge(main);
      expect(back.ok && back.commit!.hash).toBe(head!.hash);
      await repo.close();
    });

    it("merges unrelated branches against the empty tree", async () => {
      const repo = await maker.open();
      await repo.branch("a").set("x", "1");
      await repo.branch("b").set("y", "2");
      const r = await repo.branch("a").merge(repo.branch("b"));
      expect(r.ok).toBe(true);
      expect(await repo.branch("a").get("y")).toBe("2");
      await repo.branch("c").set("x", "3");
      const r2 = await repo.branch("a").merge(repo.branch("c"));
      expect(r2.ok).toBe(false);
      if (!r2.ok) expect(r2.conflicts.map((c) => c.path)).toEqual(["x"]);
      expect(await repo.branch("a").get("x")).toBe("1");
      await repo.close();
    });

    it("string contents merge line by line; conflicts name their paths", async () => {
      const repo = await maker.open();
      const main = repo.branch("main");
      await main.set("f", "a\nb\nc\n");
      const wip = await main.fork("wip");
      await main.set("f", "A\nb\nc\n");
      await wip.set("f", "a\nb\nC\n");
      expect((await main.merge(wip)).ok).toBe(true);
      expect(await main.get("f")).toBe("A\nb\nC\n");
      await main.set("f", "1\nb\nC\n");
      await wip.set("f", "2\nb\nc\n");
      const r = await main.merge(wip);
      expect(r).toMatchObject({ ok: false, conflicts: [{ path: "f" }] });
      await repo.close();
    });

    it("json contents merge per key", async () => {
      const repo = await maker.open<unknown>({ contents: Contents.json });
      const main = repo.branch("main");
      await main.set("cfg", { a: 1, b: { c: 1, d: 1 } });
      const wip = await main.fork("wip");
      await main.set("cfg", { a: 2, b: { c: 1, d: 1 } });
      await wip.set("cfg", { a: 1, b: { c: 1, d: 2 }, e: true });
      expect((await main.merge(wip)).ok).toBe(true);
      expect(await main.get("cfg")).toEqual({ a: 2, b: { c: 1, d: 2 }, e: true });
      await repo.close();
    });

    it("finds linear and criss-cross LCAs; maxDepth is reached", async () => {
      const repo = await maker.open<number>({ contents: Contents.custom<number>({ name: "counter", encode: (n) => enc.encode(String(n)), decode: (b) => Number(new TextDecoder().decode(b)), merge: Merge.counter }) });
      const main = repo.branch("main");
      const c0 = await main.set("x", 0);
      const c1 = await main.set("x", 1);
      const c2 = await main.set("x", 2);
      expect((await repo.lcas(c1, c2)).map((c) => c.hash)).toEqual([c1.hash]);
      expect((await repo.lcas(c2, c0)).map((c) => c.hash)).toEqual([c0.hash]);
      await expect(repo.lcas(c2, c0, { maxDepth: 0 })).rejects.toSatisfy((e: unknown) => isIrminError(e, "MAX_DEPTH_REACHED"));

      // The Ezirmin criss-cross: 0; +1 on main, +2 on wip; merged both ways; +2 on main, +4 on wip; merge → 9.
      const wip = await main.fork("wip");
      await main.reset(c0);
      await wip.reset(c0);
      const m1 = await main.set("x", 1);
      const w1 = await wip.set("x", 2);
      expect((await main.merge(wip)).ok).toBe(true);
      const wm = await wip.merge(m1);
      expect(wm.ok).toBe(true);
      expect(await main.get("x")).toBe(3);
      expect(await wip.get("x")).toBe(3);
      await main.set("x", 5);
      await wip.set("x", 7);
      const lcas = await repo.lcas((await main.head())!, (await wip.head())!);
      expect(lcas.map((c) => c.hash).sort()).toEqual([m1.hash, w1.hash].sort());
      await expect(repo.lcas((await main.head())!, (await wip.head())!, { limit: 1 })).rejects.toSatisfy((e: unknown) => isIrminError(e, "TOO_MANY_LCAS"));
      expect((await main.merge(wip)).ok).toBe(true);
      expect(await main.get("x")).toBe(9);
      await repo.close();
    });

    it("replicas whose clocks disagree: committer times never go back along history, LCAs and merges stay right", async () => {
      const repo = await maker.open<number>({ contents: Contents.custom<number>({ name: "counter", encode: (n) => enc.encode(String(n)), decode: (b) => Number(new TextDecoder().decode(b)), merge: Merge.counter }) });
      const main = repo.branch("main");
      const wip = repo.branch("wip");
      const DAY = 86_400_000;
      // wip's machine is a day behind (and main's a day ahead of it at every step).
      const behind = async <T>(fn: () => Promise<T>): Promise<T> => {
        vi.useFakeTimers({ toFake: ["Date"] });
        vi.setSystemTime(Date.now() - DAY);
        try {
          return await fn();
        } finally {
          vi.useRealTimers();
        }
      };
      try {
        const c0 = await main.set("x", 0);
        await wip.reset(c0);
        const m1 = await main.set("x", 1);
        const w1 = await behind(() => wip.set("x", 2));
        expect(w1.info.date).toBeLessThan(m1.info.date - DAY / 2);
        expect((await main.merge(wip)).ok).toBe(true);
        expect((await behind(() => wip.merge(m1))).ok).toBe(true);
        await main.set("x", 5);
        const w3 = await behind(() => wip.set("x", 7));
        // wip's last commit has main's merge commit as an ancestor: its committer time is not earlier.
        const git = repo.internals.ctx;
        const { readCommit } = await import("../../src/history/commits.js");
        const { isAncestor } = await import("../../src/history/lca.js");
        for (const h of [w1.hash, w3.hash]) {
          const c = await readCommit(git, h);
          for (const p of c.parents) expect(c.time).toBeGreaterThanOrEqual((await readCommit(git, p)).time);
        }
        expect(await isAncestor(git, await readCommit(git, m1.hash), w3.hash)).toBe(true);
        const lcas = await repo.lcas((await main.head())!, (await wip.head())!);
        expect(lcas.map((c) => c.hash).sort()).toEqual([m1.hash, w1.hash].sort());
        expect((await main.merge(wip)).ok).toBe(true);
        expect(await main.get("x")).toBe(9);
      } finally {
        vi.useRealTimers();
        await repo.close();
      }
    });

    it("transaction strategies: set = last writer wins; test-and-set loser fails then succeeds; merge loser conflicts", async () => {
      const repo = await maker.open();
      const main = repo.branch("main");
      await main.set("k", "0");
      // Run two transactions that interleave: the first commits while the second is running.
      const race = async (strategy: "set" | "test-and-set" | "merge") => {
        let release!: () => void;
        const gate = new Promise<void>((r) => (release = r));
        const slow = main.transaction(
          async (tx) => {
            await gate;
            await tx.set("k", `slow-${strategy}`);
          },
          { strategy, retries: 0 },
        );
        const fast = await main.transaction((tx) => tx.set("k", `fast-${strategy}`), { strategy });
        release();
        return { fast, slow: await slow };
      };
      const set = await race("set");
      expect(set.fast.ok && set.slow.ok).toBe(true);
      expect(await main.get("k")).toBe("slow-set");

      const tas = await race("test-and-set");
      expect(tas.fast.ok).toBe(true);
      expect(tas.slow).toEqual({ ok: false, reason: "changed" });
      expect(await main.get("k")).toBe("fast-test-and-set");
      const retried = await main.transaction((tx) => tx.set("k", "slow-test-and-set"), { strategy: "test-and-set" });
      expect(retried.ok).toBe(true);
      expect(await main.get("k")).toBe("slow-test-and-set");

      const merge = await race("merge");
      expect(merge.fast.ok).toBe(true);
      expect(merge.slow).toMatchObject({ ok: false, reason: "conflict", conflicts: [{ path: "k" }] });
      expect(await main.get("k")).toBe("fast-merge");
      await repo.close();
    });

    it("a transaction that writes nothing on a new branch makes no commit", async () => {
      const repo = await maker.open();
      const fresh = repo.branch("fresh");
      const r = await fresh.transaction(async (tx) => tx.get("nothing"));
      expect(r).toEqual({ ok: true, value: undefined, commit: undefined });
      expect(await fresh.head()).toBeUndefined();
      expect(await repo.branches()).not.toContain("fresh");
      await repo.close();
    });

    it("a transaction returns its value and lands as one commit", async () => {
      const repo = await maker.open();
      const main = repo.branch("main");
      const r = await main.transaction(
        async (tx) => {
          await tx.set("a", "1");
          await tx.set("b/c", "2");
          expect(await tx.get("a")).toBe("1");
          await tx.remove("a");
          return 42;
        },
        { message: "batch" },
      );
      expect(r).toMatchObject({ ok: true, value: 42 });
      const history = await main.history();
      expect(history.length).toBe(1);
      expect(history[0].info.message).toBe("batch\n");
      expect(await main.get("b/c")).toBe("2");
      expect(await main.get("a")).toBeUndefined();
      await repo.close();
    });

    it("concurrent writers never lose a write; testAndSet is atomic", async () => {
      const repo = await maker.open();
      const main = repo.branch("main");
      await Promise.all(Array.from({ length: 20 }, (_, i) => main.set(`w/${i}`, String(i))));
      expect((await main.list("w")).length).toBe(20);
      expect((await main.history()).length).toBe(20);
      await main.set("n", "0");
      let wins = 0;
      await Promise.all(
        Array.from({ length: 10 }, async () => {
          if (await main.testAndSet("n", "0", "1")) wins++;
        }),
      );
      expect(wins).toBe(1);
      expect(await main.testAndSet("n", "1", undefined)).toBe(true);
      expect(await main.get("n")).toBeUndefined();
      expect(await main.testAndSet("n", undefined, "x")).toBe(true);
      await repo.close();
    });

    it("watches fire for writes and merges, one at a time; watchKey only for its key", async () => {
      const repo = await maker.open();
      const main = repo.branch("main");
      const seen: string[] = [];
      let running = 0;
      let overlapped = false;
      const stop = main.watch(async ({ before, after }) => {
        running++;
        if (running > 1) overlapped = true;
        await new Promise((r) => setTimeout(r, 2));
        seen.push(`${before?.hash.slice(0, 6) ?? "-"}>${(await after!.tree()).hash === undefined ? "" : after!.info.message.trim()}`);
        running--;
      });
      const keys: unknown[] = [];
      const stopKey = main.watchKey("a", (c) => {
        keys.push(c);
      });
      await main.set("a", "1");
      await main.set("b", "2");
      const wip = await main.fork("wip");
      await wip.set("a", "3");
      await main.merge(wip);
      // Callbacks run after the writes return: wait for them (bounded), not for a fixed time.
      for (let i = 0; i < 200 && (seen.length < 3 || keys.length < 2); i++) await new Promise((r) => setTimeout(r, 25));
      expect(seen.map((s) => s.split(">")[1])).toEqual(["set a", "set b", "set a"]);
      expect(overlapped).toBe(false);
      expect(keys).toEqual([
        { before: undefined, after: "1" },
        { before: "1", after: "3" },
      ]);
      await stop();
      await stopKey();
      await main.set("a", "4");
      await new Promise((r) => setTimeout(r, 20));
      expect(seen.length).toBe(3);
      await repo.close();
    });

    it("history with a path keeps the commits that changed it", async () => {
      const repo = await maker.open();
      const main = repo.branch("main");
      await main.set("a", "1");
      await main.set("b", "1");
      await main.set("a", "2");
      const h = await main.history({ path: "a" });
      expect(h.map((c) => c.info.message.trim())).toEqual(["set a", "set a"]);
      expect((await main.history({ limit: 1 })).length).toBe(1);
      await repo.close();
    });
  });
}
