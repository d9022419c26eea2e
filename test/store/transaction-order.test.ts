/**
 * Operations of one transaction started together (`Promise.all`) apply in call order, as if
 * awaited one by one: no write is lost, reads see the writes called before them.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Repo } from "../../src/store/repo.js";
import type { Transaction } from "../../src/store/transaction.js";

describe("transaction operations started together", () => {
  it("writes to one directory all land (they used to copy it each and keep one copy)", async () => {
    const repo = await Repo.memory();
    const main = repo.branch("main");
    await main.set("x/seed", "0");
    await main.transaction(async (tx) => {
      await Promise.all([tx.set("x/a", "1"), tx.set("x/b", "2"), tx.remove("x/seed"), tx.set("y/c", "3")]);
    });
    expect((await main.list("x")).map((e) => e.name)).toEqual(["a", "b"]);
    expect(await main.get("y/c")).toBe("3");
    await repo.close();
  });

  it("a read sees the writes called before it, not those called after; a snapshot likewise", async () => {
    const repo = await Repo.memory();
    const main = repo.branch("main");
    await main.transaction(async (tx) => {
      const [, before, , after, snapshot] = await Promise.all([tx.set("k", "1"), tx.get("k"), tx.set("k", "2"), tx.get("k"), tx.tree(), tx.set("k", "3")]);
      expect([before, after]).toEqual(["1", "2"]);
      expect(await snapshot.get("k")).toBe("2");
      expect(await tx.get("k")).toBe("3");
    });
    await repo.close();
  });

  it("writes called but not awaited when the function returns still land in the commit", async () => {
    const repo = await Repo.memory();
    const main = repo.branch("main");
    await main.transaction(async (tx) => {
      void tx.set("a", "1");
      void tx.set("b/c", "2");
    });
    expect([await main.get("a"), await main.get("b/c")]).toEqual(["1", "2"]);
    await repo.close();
  });

  it("any batch gives what the same operations awaited one by one give (fast-check)", async () => {
    type Op = { kind: "set"; path: string; value: string } | { kind: "remove"; path: string } | { kind: "get"; path: string } | { kind: "hash" };
    const path = fc.constantFrom("a", "a/b", "a/c", "d/e", "d/f/g");
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ kind: fc.constant("set" as const), path, value: fc.string({ maxLength: 2 }) }),
      fc.record({ kind: fc.constant("remove" as const), path }),
      fc.record({ kind: fc.constant("get" as const), path }),
      fc.constant({ kind: "hash" as const }),
    );
    const apply = (tx: Transaction<string>, o: Op): Promise<unknown> =>
      o.kind === "set" ? tx.set(o.path, o.value) : o.kind === "remove" ? tx.remove(o.path) : o.kind === "get" ? tx.get(o.path) : tx.tree().then((t) => t.hash());
    await fc.assert(
      fc.asyncProperty(fc.array(fc.array(op, { minLength: 1, maxLength: 8 }), { minLength: 1, maxLength: 4 }), async (batches) => {
        const run = async (together: boolean) => {
          const repo = await Repo.memory();
          const main = repo.branch("main");
          await main.set("d/seed", "s");
          const results: unknown[] = [];
          await main.transaction(async (tx) => {
            for (const batch of batches) {
              if (together) results.push(...(await Promise.all(batch.map((o) => apply(tx, o)))));
              else for (const o of batch) results.push(await apply(tx, o));
            }
          });
          const hash = await (await main.tree()).hash();
          await repo.close();
          return { results, hash };
        };
        expect(await run(true)).toEqual(await run(false));
      }),
      { numRuns: 80 },
    );
  });
});
