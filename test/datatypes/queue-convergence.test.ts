/**
 * Seeded random convergence of queues (Yjs style): replicas (branches) push and pop, merge with
 * each other in random order and shape (criss-cross included), then all merge to a common state.
 * Checked: every replica ends equal (the same tree), merging both ways gives the same tree, no
 * element is lost or duplicated, an element popped anywhere is gone, each replica's pushes keep
 * their program order, and every pop takes the front of the queue its replica saw.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Repo } from "../../src/store/repo.js";
import type { Branch } from "../../src/store/branch.js";
import { EPOCH_SIZE } from "../../src/datatypes/queue/epoch.js";
import { expectCanonical, startAt } from "./queue-canonical.js";

type Command =
  | { kind: "push"; r: number; count: number }
  | { kind: "pop"; r: number; count: number }
  | { kind: "merge"; r: number; from: number }
  | { kind: "cross"; r: number; from: number };

const command = (replicas: number): fc.Arbitrary<Command> => {
  const r = fc.integer({ min: 0, max: replicas - 1 });
  return fc.oneof(
    { weight: 4, arbitrary: fc.record({ kind: fc.constant("push" as const), r, count: fc.integer({ min: 1, max: 4 }) }) },
    { weight: 3, arbitrary: fc.record({ kind: fc.constant("pop" as const), r, count: fc.integer({ min: 1, max: 4 }) }) },
    { weight: 3, arbitrary: fc.record({ kind: fc.constant("merge" as const), r, from: r }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant("cross" as const), r, from: r }) },
  );
};

/** The value of push number `k` of replica `r` (values are unique, so they name elements). */
const valueOf = (r: number, k: number): string => `${r}:${String(k).padStart(4, "0")}`;

async function treeHash(b: Branch<string>): Promise<string> {
  return (await (await b.head())!.tree()).hash();
}

async function run(replicas: number, base: number, commands: Command[], start = 0): Promise<void> {
  const repo = await Repo.memory();
  const { ctx } = repo.internals;
  try {
    const main = repo.branch("r0");
    // A common start, large enough that pushes cross into the next epoch (EPOCH_SIZE elements each); its
    // first element in epoch `start`, so that a few epochs cross blocks of high levels.
    if (start !== 0 && base > 0) await startAt(main, start, valueOf(9, 0));
    await main.transaction(async (tx) => {
      for (let k = start !== 0 && base > 0 ? 1 : 0; k < base; k++) await tx.queue("q").push(valueOf(9, k));
    });
    const branches: Branch<string>[] = [main];
    for (let i = 1; i < replicas; i++) branches.push(await main.fork(`r${i}`));
    const pushed = new Map<string, number>(); // value -> replica
    for (let k = 0; k < base; k++) pushed.set(valueOf(9, k), 9);
    const popped = new Set<string>();
    const next = new Array<number>(replicas).fill(0);
    for (const c of commands) {
      const b = branches[c.r];
      const q = b.queue("q");
      if (c.kind === "push") {
        // one commit per push, or several pushes as one transaction
        if (c.count === 1) {
          const v = valueOf(c.r, next[c.r]++);
          pushed.set(v, c.r);
          await q.push(v);
        } else {
          const values = Array.from({ length: c.count }, () => valueOf(c.r, next[c.r]++));
          for (const v of values) pushed.set(v, c.r);
          await b.transaction(async (tx) => {
            for (const v of values) await tx.queue("q").push(v);
          });
        }
      } else if (c.kind === "pop") {
        for (let i = 0; i < c.count; i++) {
          const front = (await q.toArray())[0];
          const v = await q.pop();
          expect(v).toBe(front);
          if (v !== undefined) popped.add(v);
        }
      } else if (c.from !== c.r) {
        const before = await b.head();
        expect((await b.merge(branches[c.from])).ok).toBe(true);
        if (c.kind === "cross" && before !== undefined) expect((await branches[c.from].merge(before.hash)).ok).toBe(true);
      }
    }
    // Merging two replicas both ways gives the same tree (checked on copies, before the final round).
    // (With no common start, a replica that did nothing has no commit to merge.)
    if (replicas >= 2 && (await branches[0].head()) !== undefined && (await branches[1].head()) !== undefined) {
      const x = await branches[0].fork("x");
      const y = await branches[1].fork("y");
      const [hx, hy] = [(await x.head())!.hash, (await y.head())!.hash];
      expect((await x.merge(hy)).ok).toBe(true);
      expect((await y.merge(hx)).ok).toBe(true);
      expect(await treeHash(x)).toBe(await treeHash(y));
      await expectCanonical(x, ctx);
    }
    // Everyone merges into r0, then r0 back into everyone.
    for (let i = 1; i < replicas; i++) expect((await main.merge(branches[i])).ok).toBe(true);
    for (let i = 1; i < replicas; i++) expect((await branches[i].merge(main)).ok).toBe(true);
    const final = await main.queue("q").toArray();
    expect(await expectCanonical(main, ctx)).toBe(final.length);
    expect(await main.queue("q").length()).toBe(final.length);
    for (let i = 1; i < replicas; i++) {
      expect(await branches[i].queue("q").toArray()).toEqual(final);
      expect(await treeHash(branches[i])).toBe(await treeHash(main));
    }
    // exactly the elements pushed and popped nowhere, each once
    const expected = [...pushed.keys()].filter((v) => !popped.has(v)).sort();
    expect([...final].sort()).toEqual(expected);
    // each replica's pushes in program order (values encode the order)
    for (let r = 0; r <= 9; r++) {
      const mine = final.filter((v) => pushed.get(v) === r);
      expect(mine).toEqual([...mine].sort());
    }
  } finally {
    await repo.close();
  }
}

describe("queue convergence (fast-check)", () => {
  it("3 or 4 replicas, random pushes, pops and merges (criss-cross included), converge with the queue semantics", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 3, max: 4 }).chain((replicas) =>
          fc.record({
            replicas: fc.constant(replicas),
            base: fc.constantFrom(0, 3, EPOCH_SIZE - 2, 2 * EPOCH_SIZE - 2),
            commands: fc.array(command(replicas), { minLength: 5, maxLength: 30 }),
          }),
        ),
        ({ replicas, base, commands }) => run(replicas, base, commands),
      ),
      { numRuns: 40, seed: 20240504 },
    );
  }, 120_000);

  it("the same starting just before block boundaries of levels 1, 2 and 8 (merges across spines)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          start: fc.constantFrom(0x0e, 0xfd, 0x0ffffffd),
          base: fc.constantFrom(3, EPOCH_SIZE - 2, 2 * EPOCH_SIZE - 2, 3 * EPOCH_SIZE + 8),
          commands: fc.array(command(3), { minLength: 5, maxLength: 25 }),
        }),
        ({ start, base, commands }) => run(3, base, commands, start),
      ),
      { numRuns: 30, seed: 77 },
    );
  }, 120_000);

  it("the same with unseeded runs (new histories every time)", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(command(3), { minLength: 10, maxLength: 25 }), (commands) => run(3, 2, commands)),
      { numRuns: 15 },
    );
  }, 120_000);
});
