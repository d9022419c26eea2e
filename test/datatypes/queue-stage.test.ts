/**
 * A queue's operations inside a transaction are staged in memory (queue/stage.ts) and written in
 * bulk: before anything else in the transaction reads or writes the tree, and before the commit.
 * Nothing may tell them from operations applied at once: reads and writes of the tree on and
 * around the queue's path see them, handles on one path share them, an element pushed and popped in
 * one transaction is never stored, a transaction that throws commits nothing, and a transaction of
 * 1,000 operations reads and writes O(1,000 / EPOCH_SIZE + log n) objects.
 */
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { Contents } from "../../src/merge/contents.js";
import type { ValueCodec } from "../../src/datatypes/slot.js";
import { Repo } from "../../src/store/repo.js";
import { Node } from "../../src/tree/node.js";
import { Tree } from "../../src/tree/tree.js";
import { EPOCH_SIZE as E } from "../../src/datatypes/queue/epoch.js";
import { repoMakers } from "../store/backends.js";
import { expectCanonical } from "./queue-canonical.js";

/** The object reads and writes of `fn`, from cold caches. */
async function cost(repo: Repo, fn: () => Promise<unknown>): Promise<{ reads: number; writes: number }> {
  const { ctx } = repo.internals;
  ctx.cache.clear();
  const [r0, w0] = [ctx.stats.reads, ctx.stats.writes];
  await fn();
  return { reads: ctx.stats.reads - r0, writes: ctx.stats.writes - w0 };
}

for (const maker of repoMakers()) {
  describe(`queue in a transaction on ${maker.name}`, () => {
    afterAll(() => maker.cleanup());

    it("reads and writes of the tree on and around the queue's path see the staged operations", async () => {
      const repo = await maker.open();
      const main = repo.branch("main");
      await main.set("other", "o");
      await main.queue("a/q").push("s");
      const r = await main.transaction(async (tx) => {
        const q = tx.queue("a/q");
        for (let i = 0; i < E + 36; i++) await q.push(`v${i}`);
        expect(await q.pop()).toBe("s");
        // unrelated reads and writes, then more queue operations
        expect(await tx.get("other")).toBe("o");
        await tx.set("other", "p");
        expect(await q.length()).toBe(E + 36);
        expect(await q.pop()).toBe("v0");
        // the working tree shows the queue's entries with its staged pushes and pops (the queue was
        // emptied before the pushes were written: they start over at epoch 0)
        expect((await tx.list("a/q")).map((e) => e.name)).toEqual([".irmin-type", "hi.00000001.36", `lo.00000000.${E - 1}`]);
        expect(await tx.exists("a/q/hi.00000001.36")).toBe(true);
        const snapshot = await tx.tree();
        expect((await snapshot.list("a/q")).length).toBe(3);
        // a value beside the queue, in its parent directory
        await q.push("after");
        await tx.set("a/note", "n");
        expect(await q.toArray()).toEqual([...Array.from({ length: E + 35 }, (_, i) => `v${i + 1}`), "after"]);
        // the snapshot taken earlier does not change
        expect((await snapshot.list("a/q")).map((e) => e.name)).toEqual([".irmin-type", "hi.00000001.36", `lo.00000000.${E - 1}`]);
        return q.length();
      });
      expect(r).toMatchObject({ ok: true, value: E + 36 });
      expect(await main.get("other")).toBe("p");
      expect(await main.get("a/note")).toBe("n");
      const q = main.queue("a/q");
      expect(await q.length()).toBe(E + 36);
      expect(await q.peek()).toBe("v1");
      expect((await q.toArray()).at(-1)).toBe("after");
      expect(await expectCanonical(main, repo.internals.ctx, "a/q")).toBe(E + 36);
      expect((await main.history()).map((c) => c.info.message.trimEnd())[0]).toBe("transaction");
      await repo.close();
    });

    it("writes over the queue's path after staged operations win, in program order", async () => {
      const repo = await maker.open();
      const main = repo.branch("main");
      await main.transaction(async (tx) => {
        await tx.queue("a/q").push("x");
        // removing the parent removes the queue with its staged push
        await tx.remove("a");
        expect(await tx.queue("a/q").length()).toBe(0);
        await tx.queue("a/q").push("y");
        // another type's handle on the path flushes the stage and sees a queue
        await expect(tx.counter("a/q").get()).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
        // a queue at the parent path is a plain directory there
        await expect(tx.queue("a").length()).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
        await tx.queue("a/q").push("z");
        // a value written inside the queue's subtree is refused (the subtree belongs to the queue);
        // put there by another tool, it corrupts the queue, after the staged push
        await expect(tx.set("a/q/junk", "j")).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
        const q = (await (await tx.tree()).subtree("a/q"))!;
        await tx.setTree("a/q", await q.set("junk", "j"));
        await expect(tx.queue("a/q").pop()).rejects.toMatchObject({ code: "CORRUPT" });
        await tx.setTree("a/q", q);
        expect(await tx.queue("a/q").toArray()).toEqual(["y", "z"]);
        await tx.setTree("b", await tx.tree());
      });
      expect(await main.queue("a/q").toArray()).toEqual(["y", "z"]);
      // a whole tree grafted mid-transaction carried the queue as it was then
      expect(await main.queue("b/a/q").toArray()).toEqual(["y", "z"]);
      await repo.close();
    });

    it("two handles on one path (even with different codecs) share the staged state", async () => {
      const repo = await maker.open({ contents: Contents.json });
      const main = repo.branch("main");
      await main.transaction(async (tx) => {
        const h1 = tx.queue("q");
        const h2 = tx.queue("q");
        const h3 = tx.queue("q", { contents: Contents.string as ValueCodec<string> });
        await h1.push({ a: 1 });
        expect(await h2.length()).toBe(1);
        expect(await h2.peek()).toEqual({ a: 1 });
        await h2.push([2]);
        expect(await h3.toArray()).toEqual(['{"a":1}', "[2]"]);
        expect(await h1.pop()).toEqual({ a: 1 });
        expect(await h2.pop()).toEqual([2]);
        expect(await h1.pop()).toBeUndefined();
        expect(await h3.isEmpty()).toBe(true);
        // a string staged by one handle, popped by another with its own codec
        await h3.push("4");
        expect(await h1.pop()).toBe(4);
        await h3.push("3");
      });
      expect(await main.queue("q").toArray()).toEqual([3]);
      await repo.close();
    });

    it("a value the codec refuses is INVALID_ARGUMENT at the push, in a transaction as on a branch, and nothing is staged", async () => {
      const repo = await maker.open();
      const main = repo.branch("main");
      await main.transaction(async (tx) => {
        const q = tx.queue("q");
        await q.push("a");
        await expect(q.push("\uD800")).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
        await expect(q.push(42 as unknown as string)).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
        await expect(tx.queue("q2").push("\uDC00")).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
        expect(await q.length()).toBe(1);
        await q.push("é");
      });
      await expect(main.queue("q").push("\uD800")).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
      expect(await main.queue("q").toArray()).toEqual(["a", "é"]);
      expect((await main.list()).map((e) => e.name)).toEqual(["q"]);
      await repo.close();
    });

    it("concurrent operations in one transaction (Promise.all) across epochs, with tree reads between, lose and repeat nothing", async () => {
      const repo = await maker.open();
      const main = repo.branch("main");
      await main.transaction(async (tx) => {
        for (let i = 0; i < 300; i++) await tx.queue("q").push(`v${i}`);
      });
      const popped: (string | undefined)[] = [];
      expect(300).toBeGreaterThan(2 * E); // the pops below cross epochs
      await main.transaction(async (tx) => {
        const q = tx.queue("q");
        // pops crossing epoch boundaries, racing a tree read that flushes the stage and pushes
        const results = await Promise.all([
          ...Array.from({ length: 100 }, () => q.pop()),
          tx.get("nothing"),
          ...Array.from({ length: 100 }, () => tx.queue("q").pop()),
          q.push("late"),
          tx.list("q"),
          ...Array.from({ length: 90 }, () => q.pop()),
        ]);
        popped.push(...(results.filter((r) => typeof r === "string") as string[]));
      });
      expect(popped).toHaveLength(290);
      expect(new Set(popped).size).toBe(290);
      const rest = await main.queue("q").toArray();
      expect([...popped, ...rest].sort()).toEqual([...Array.from({ length: 300 }, (_, i) => `v${i}`), "late"].sort());
      expect(await expectCanonical(main, repo.internals.ctx)).toBe(rest.length);
      await repo.close();
    });

    it("an element pushed and popped in one transaction is never stored; an absent queue pushed to exists afterwards, empty", async () => {
      const repo = await maker.open();
      const main = repo.branch("main");
      await main.set("x", "1");
      const { ctx } = repo.internals;
      const c = await cost(repo, () =>
        main.transaction(async (tx) => {
          const q = tx.queue("q");
          for (let i = 0; i < 500; i++) await q.push(`v${i}`);
          for (let i = 0; i < 500; i++) expect(await q.pop()).toBe(`v${i}`);
          expect(await q.pop()).toBeUndefined();
        }),
      );
      // the empty queue's root (its marker), the root tree and the commit: no element blob
      expect(c.writes).toBeLessThanOrEqual(4);
      expect((await main.list("q")).map((e) => e.name)).toEqual([".irmin-type"]);
      expect(await main.queue("q").isEmpty()).toBe(true);
      expect(await expectCanonical(main, ctx)).toBe(0);
      await repo.close();
    });

    it("a transaction that throws commits nothing; one that fails to write its stage (past the last epoch) fails whole", async () => {
      const repo = await maker.open();
      const main = repo.branch("main");
      await main.queue("q").push("a");
      const head = (await main.head())!.hash;
      await expect(
        main.transaction(async (tx) => {
          for (let i = 0; i < 100; i++) await tx.queue("q").push(`v${i}`);
          await tx.queue("q").pop();
          throw new Error("no");
        }),
      ).rejects.toThrow("no");
      expect((await main.head())!.hash).toBe(head);
      expect(await main.queue("q").toArray()).toEqual(["a"]);
      // a queue in its last epoch: the staged pushes fail when written, at the commit
      const { ctx, contents } = repo.internals;
      const root = new Map(await ctx.load(((await ctx.load((await main.tree()).node)).get("q") as { node: Node }).node));
      const [front] = [...root.keys()].filter((n) => n.startsWith("lo."));
      const blob = root.get(front)!;
      root.delete(front);
      root.set("lo.ffffffff.1", blob);
      await main.transaction(async (tx) => tx.setTree("q", new Tree(ctx, contents, Node.fromEntries(root))));
      const last = (await main.head())!.hash;
      await expect(
        main.transaction(async (tx) => {
          for (let i = 0; i < E; i++) await tx.queue("q").push(`w${i}`);
        }),
      ).rejects.toMatchObject({ code: "UNSUPPORTED" });
      expect((await main.head())!.hash).toBe(last);
      expect(await main.queue("q").length()).toBe(1);
      await repo.close();
    });

    it("a transaction of 1,000 pushes or pops reads and writes O(1,000 / EPOCH_SIZE + log n) objects, the same at n = 1,000 and 100,000", async () => {
      const measure = async (n: number): Promise<Record<string, { reads: number; writes: number }>> => {
        const repo = await maker.open();
        const main = repo.branch("main");
        await main.transaction(async (tx) => {
          for (let i = 0; i < n; i++) await tx.queue("q").push(`v${i}`);
        });
        const push = await cost(repo, () =>
          main.transaction(async (tx) => {
            for (let i = 0; i < 1000; i++) await tx.queue("q").push(`p${i}`);
          }),
        );
        const pop = await cost(repo, () =>
          main.transaction(async (tx) => {
            const q = tx.queue("q");
            for (let i = 0; i < 1000; i++) expect(await q.pop()).toBe(`v${i}`);
          }),
        );
        const mixed = await cost(repo, () =>
          main.transaction(async (tx) => {
            const q = tx.queue("q");
            for (let i = 0; i < 500; i++) {
              await q.push(`m${i}`);
              await q.pop();
            }
          }),
        );
        expect(await main.queue("q").length()).toBe(n);
        await repo.close();
        return { push, pop, mixed };
      };
      const small = await measure(1_000);
      const large = await measure(100_000);
      const show = JSON.stringify({ small, large });
      if (process.env.QUEUE_COSTS) console.log(show);
      const epochs = Math.ceil(1000 / E);
      const half = Math.ceil(500 / E);
      // pushes: one blob per epoch filled (the back one and the new ones), the groups they join
      // (one per 16 epochs, plus the levels carried), the queue root, the root tree, the commit
      expect(large.push.writes, show).toBeLessThanOrEqual(epochs + 8);
      expect(large.push.reads, show).toBeLessThanOrEqual(8);
      // pops: one blob read per epoch popped, the groups they come from; written: the front epoch's
      // rest, the groups it came from, the queue root, the root tree, the commit
      expect(large.pop.reads, show).toBeLessThanOrEqual(epochs + 6);
      expect(large.pop.writes, show).toBeLessThanOrEqual(5);
      expect(large.mixed.reads, show).toBeLessThanOrEqual(half + 12);
      expect(large.mixed.writes, show).toBeLessThanOrEqual(half + 10);
      // the size of the queue adds at most a few groups' reads (log n)
      for (const op of ["push", "pop", "mixed"]) {
        expect(Math.abs(large[op].writes - small[op].writes), show).toBeLessThanOrEqual(3);
        expect(large[op].reads - small[op].reads, show).toBeLessThanOrEqual(4);
      }
    }, 60_000);
  });
}

describe("queue in a transaction (fast-check)", () => {
  type Op = { kind: "push"; count: number } | { kind: "pop"; count: number } | { kind: "peek" | "length" | "toArray" | "get" | "set" | "tree" | "second" };
  const op: fc.Arbitrary<Op> = fc.oneof(
    fc.record({ kind: fc.constant("push" as const), count: fc.integer({ min: 1, max: 150 }) }),
    fc.record({ kind: fc.constant("pop" as const), count: fc.integer({ min: 1, max: 150 }) }),
    fc.record({ kind: fc.constantFrom("peek" as const, "length" as const, "toArray" as const, "get" as const, "set" as const, "tree" as const, "second" as const) }),
  );

  it("any mix of queue operations and tree accesses in transactions gives what the same operations give one commit each", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.array(op, { minLength: 1, maxLength: 12 }), { minLength: 1, maxLength: 4 }), fc.integer({ min: 0, max: 130 }), async (txs, start) => {
        const repo = await Repo.memory();
        try {
          const main = repo.branch("main");
          const model: string[] = [];
          let next = 0;
          if (start > 0) {
            await main.transaction(async (tx) => {
              for (let i = 0; i < start; i++) await tx.queue("q").push(`s${i}`);
            });
            model.push(...Array.from({ length: start }, (_, i) => `s${i}`));
          }
          for (const ops of txs) {
            await main.transaction(async (tx) => {
              let q = tx.queue("q");
              for (const o of ops) {
                if (o.kind === "push") {
                  for (let i = 0; i < o.count; i++) {
                    const v = `v${next++}`;
                    await q.push(v);
                    model.push(v);
                  }
                } else if (o.kind === "pop") {
                  for (let i = 0; i < o.count; i++) expect(await q.pop()).toBe(model.shift());
                } else if (o.kind === "peek") expect(await q.peek()).toBe(model[0]);
                else if (o.kind === "length") expect(await q.length()).toBe(model.length);
                else if (o.kind === "toArray") expect(await q.toArray()).toEqual(model);
                else if (o.kind === "get") expect([undefined, "irmin-ts queue 2\n"]).toContain(await tx.get("q/.irmin-type"));
                else if (o.kind === "set") await tx.set("side", String(next));
                else if (o.kind === "tree") await tx.tree();
                else q = tx.queue("q");
              }
            });
            const got = await main.queue("q").toArray();
            expect(got).toEqual(model);
            expect(await expectCanonical(main, repo.internals.ctx)).toBe(model.length);
          }
        } finally {
          await repo.close();
        }
      }),
      { numRuns: 40, seed: 777 },
    );
  }, 120_000);
});

describe("queue in a transaction, concurrent operations (fast-check)", () => {
  type Op = { kind: "push" | "pop" | "length"; queue: "a/q" | "b" } | { kind: "get" | "list" | "tree" };
  const op: fc.Arbitrary<Op> = fc.oneof(
    fc.record({ kind: fc.constantFrom("push" as const, "pop" as const, "length" as const), queue: fc.constantFrom("a/q" as const, "b" as const) }),
    fc.record({ kind: fc.constantFrom("get" as const, "list" as const, "tree" as const) }),
  );

  it("batches of operations on two queues and tree reads run with Promise.all: nothing lost, nothing twice, no hang", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.array(fc.tuple(op, fc.integer({ min: 1, max: 70 })), { minLength: 1, maxLength: 8 }), { minLength: 1, maxLength: 3 }), async (batches) => {
        const repo = await Repo.memory();
        try {
          const main = repo.branch("main");
          const initial = new Map<string, string[]>([
            ["a/q", Array.from({ length: 100 }, (_, i) => `a${i}`)],
            ["b", Array.from({ length: 100 }, (_, i) => `b${i}`)],
          ]);
          await main.transaction(async (tx) => {
            for (const [path, values] of initial) for (const v of values) await tx.queue(path).push(v);
          });
          const pushed = new Map<string, string[]>([...initial].map(([k, v]) => [k, [...v]]));
          const popped = new Map<string, string[]>([
            ["a/q", []],
            ["b", []],
          ]);
          let next = 0;
          for (const batch of batches) {
            await main.transaction(async (tx) => {
              const work: Promise<unknown>[] = [];
              for (const [o, count] of batch) {
                for (let i = 0; i < count; i++) {
                  if (o.kind === "push") {
                    const v = `n${next++}`;
                    pushed.get(o.queue)!.push(v);
                    work.push(tx.queue(o.queue).push(v));
                  } else if (o.kind === "pop") {
                    work.push(tx.queue(o.queue).pop().then((v) => v !== undefined && popped.get(o.queue)!.push(v)));
                  } else if (o.kind === "length") work.push(tx.queue(o.queue).length());
                  else if (o.kind === "get") work.push(tx.get("a/q/.irmin-type"));
                  else if (o.kind === "list") work.push(tx.list("a"));
                  else work.push(tx.tree());
                }
              }
              await Promise.all(work);
            });
          }
          for (const path of ["a/q", "b"]) {
            const rest = await main.queue(path).toArray();
            const out = popped.get(path)!;
            expect(new Set(out).size).toBe(out.length);
            expect([...out, ...rest].sort()).toEqual([...pushed.get(path)!].sort());
            expect(await expectCanonical(main, repo.internals.ctx, path)).toBe(rest.length);
          }
        } finally {
          await repo.close();
        }
      }),
      { numRuns: 25, seed: 4711 },
    );
  }, 120_000);
});
