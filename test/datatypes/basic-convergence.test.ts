import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Repo } from "../../src/store/repo.js";
import { runReplicas, steps } from "./replicas.js";

const REPLICAS = 3;
const settings = { numRuns: 25, seed: 4242 };

describe("convergence of counter, register and set (seeded random histories)", () => {
  it("counter: every replica ends at the sum of all increments", async () => {
    await fc.assert(
      fc.asyncProperty(steps(REPLICAS, fc.integer({ min: -5, max: 9 })), async (history) => {
        const repo = await Repo.memory();
        const branches = await runReplicas(repo, REPLICAS, history, async (b, by) => {
          await b.counter("c").increment(by);
        });
        const sum = history.reduce((s, st) => s + (st.kind === "op" ? st.op : 0), 0);
        for (const b of branches) expect(await b.counter("c").get()).toBe(sum);
      }),
      settings,
    );
  });

  it("criss-cross merges of counters agree whichever way they are done", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 4, maxLength: 4 }), async ([a1, b1, a2, b2]) => {
        const repo = await Repo.memory();
        const a = repo.branch("a");
        await a.counter("c").increment(0);
        const b = await a.fork("b");
        await a.counter("c").increment(a1);
        await b.counter("c").increment(b1);
        const [ha, hb] = [(await a.head())!, (await b.head())!];
        await a.merge(hb);
        await b.merge(ha);
        await a.counter("c").increment(a2);
        await b.counter("c").increment(b2);
        const [xa, xb] = [(await a.head())!, (await b.head())!];
        await a.merge(xb);
        await b.merge(xa); // not a fast-forward: the same merge done from the other side
        expect(await a.counter("c").get()).toBe(a1 + b1 + a2 + b2);
        expect(await b.counter("c").get()).toBe(a1 + b1 + a2 + b2);
        expect(await (await (await a.head())!.tree()).hash()).toBe(await (await (await b.head())!.tree()).hash());
      }),
      settings,
    );
  });

  it("register: every replica ends with the last value written", async () => {
    await fc.assert(
      fc.asyncProperty(steps(REPLICAS, fc.string({ maxLength: 3 })), async (history) => {
        const repo = await Repo.memory();
        const branches = await runReplicas(repo, REPLICAS, history, async (b, v) => {
          await b.register("r").set(v);
        });
        const writes = history.filter((s) => s.kind === "op");
        const last = writes.length === 0 ? undefined : writes[writes.length - 1].op;
        for (const b of branches) expect(await b.register("r").get()).toBe(last);
      }),
      settings,
    );
  });

  it("set: replicas agree; an element added and never deleted is there, one never added is not", async () => {
    const op = fc.record({ add: fc.boolean(), x: fc.constantFrom("a", "b", "c", "d") });
    await fc.assert(
      fc.asyncProperty(steps(REPLICAS, op), async (history) => {
        const repo = await Repo.memory();
        const branches = await runReplicas(repo, REPLICAS, history, async (b, { add, x }) => {
          if (add) await b.setOf("s").add(x);
          else await b.setOf("s").delete(x);
        });
        const final = (await branches[0].setOf("s").values()).sort();
        for (const b of branches) expect((await b.setOf("s").values()).sort()).toEqual(final);
        const ops = history.flatMap((s) => (s.kind === "op" ? [s.op] : []));
        for (const x of ["a", "b", "c", "d"]) {
          const added = ops.some((o) => o.add && o.x === x);
          const deleted = ops.some((o) => !o.add && o.x === x);
          if (!added) expect(final).not.toContain(x);
          if (added && !deleted) expect(final).toContain(x);
        }
      }),
      settings,
    );
  });
});
