/**
 * The queue's stored layout (queue/layout.ts): after any sequence of pushes and pops, one commit
 * each or many in a transaction, the root is exactly the canonical one for its elements (checked
 * against a reference rebuilt from scratch), the counts add up, and the order is first in, first
 * out. Queues start at chosen epochs so that a few hundred pushes and pops cross block boundaries
 * up to the top level (carries on push, refills from every kind of group on pop).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Repo } from "../../src/store/repo.js";
import { EPOCH_SIZE as E } from "../../src/datatypes/queue/epoch.js";
import { expectCanonical, startAt } from "./queue-canonical.js";

type Op = { kind: "push" | "pop"; count: number; tx: boolean };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant("push" as const), count: fc.integer({ min: 1, max: 4 * E + 4 }), tx: fc.constant(true) }),
  // more than 16 epochs: the back's level-1 block fills up while the front is elsewhere
  fc.record({ kind: fc.constant("push" as const), count: fc.integer({ min: 16 * E, max: 22 * E }), tx: fc.constant(true) }),
  fc.record({ kind: fc.constantFrom("push" as const, "pop" as const), count: fc.integer({ min: 1, max: 3 }), tx: fc.boolean() }),
  fc.record({ kind: fc.constant("pop" as const), count: fc.integer({ min: 1, max: 4 * E + 4 }), tx: fc.constant(true) }),
);

/** Epochs just before boundaries of levels 1, 2, 3, 5 and 7, and near the last epoch. */
const STARTS = [0, 14, 0xfe, 0xffe, 0xffffe, 0x0ffffffe, 0xfffff000];

async function run(start: number, ops: Op[]): Promise<void> {
  const repo = await Repo.memory();
  const { ctx } = repo.internals;
  try {
    const main = repo.branch("main");
    await startAt(main, start, "s");
    const model = ["s"];
    let next = 0;
    expect(await expectCanonical(main, ctx)).toBe(1);
    for (const o of ops) {
      if (o.kind === "push") {
        const values = Array.from({ length: o.count }, () => `v${next++}`);
        if (o.tx) {
          await main.transaction(async (tx) => {
            for (const v of values) await tx.queue("q").push(v);
          });
        } else {
          for (const v of values) await main.queue("q").push(v);
        }
        model.push(...values);
      } else {
        const popped: (string | undefined)[] = [];
        if (o.tx) {
          await main.transaction(async (tx) => {
            for (let i = 0; i < o.count; i++) popped.push(await tx.queue("q").pop());
            // reads inside the transaction see its own pops
            expect(await tx.queue("q").length()).toBe(Math.max(0, model.length - o.count));
          });
        } else {
          for (let i = 0; i < o.count; i++) popped.push(await main.queue("q").pop());
        }
        const expected = model.splice(0, o.count);
        while (expected.length < o.count) expected.push(undefined as unknown as string);
        expect(popped).toEqual(expected);
      }
      expect(await expectCanonical(main, ctx)).toBe(model.length);
      expect(await main.queue("q").length()).toBe(model.length);
      expect(await main.queue("q").peek()).toBe(model[0]);
    }
    expect(await main.queue("q").toArray()).toEqual(model);
  } finally {
    await repo.close();
  }
}

describe("queue layout", () => {
  it("any pushes and pops from any start epoch leave the canonical root, counts and FIFO order", async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...STARTS), fc.array(op, { minLength: 1, maxLength: 10 }), (start, ops) => run(start, ops)),
      { numRuns: 30, seed: 4242 },
    );
  }, 120_000);

  it("a queue crossing into a new top-level block and back: every level carried, then refilled from m, f and b groups", async () => {
    // 0x0fffffff is the last epoch of a level-7 block: the next one differs in every digit.
    await run(0x0fffffff, [
      { kind: "push", count: E * 18 + 5, tx: true },
      { kind: "pop", count: 3, tx: false },
      { kind: "pop", count: E * 9, tx: true },
      { kind: "push", count: E * 20, tx: true },
      { kind: "pop", count: E * 30 + 7, tx: true },
    ]);
  }, 60_000);

  it("the last epoch: pushing past it is UNSUPPORTED, and nothing changes", async () => {
    const repo = await Repo.memory();
    const main = repo.branch("main");
    await startAt(main, 0xffffffff, "s");
    await main.transaction(async (tx) => {
      for (let i = 1; i < E; i++) await tx.queue("q").push(`v${i}`);
    });
    const head = (await main.head())!.hash;
    await expect(main.queue("q").push("x")).rejects.toMatchObject({ code: "UNSUPPORTED" });
    expect((await main.head())!.hash).toBe(head);
    expect(await main.queue("q").length()).toBe(E);
    expect(await main.queue("q").pop()).toBe("s");
    await repo.close();
  });
});
