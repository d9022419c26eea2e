import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { buildLogNode, logItems } from "../../src/datatypes/log.js";
import { subtreeAt } from "../../src/datatypes/slot.js";
import type { Branch } from "../../src/store/branch.js";
import type { Repo } from "../../src/store/repo.js";
import { repoMakers } from "../store/backends.js";

/** `age` > 0 merges an older commit of `from` (what it was `age` operations ago), which makes criss-cross histories common. */
type Op = { kind: "append"; r: number } | { kind: "merge"; from: number; into: number; age: number };

const opArb = (replicas: number): fc.Arbitrary<Op> =>
  fc.oneof(
    fc.record({ kind: fc.constant("append" as const), r: fc.nat(replicas - 1) }),
    fc
      .record({ kind: fc.constant("merge" as const), from: fc.nat(replicas - 1), into: fc.nat(replicas - 1), age: fc.oneof(fc.constant(0), fc.nat(3)) })
      .filter((o) => o.from !== o.into),
  );

const scenarioArb = fc.integer({ min: 3, max: 4 }).chain((replicas) =>
  fc.record({
    replicas: fc.constant(replicas),
    initial: fc.nat(2),
    // start with a criss-cross between replicas 0 and 1 (each appends, each merges the other's commit), so later merges see two merge bases
    crissCross: fc.boolean(),
    ops: fc.array(opArb(replicas), { minLength: 1, maxLength: 24 }),
  }),
);

async function logNodeHash(repo: Repo, b: Branch): Promise<string | undefined> {
  const node = await subtreeAt(repo.internals.ctx, (await b.tree()).node, ["l"]);
  return node === undefined ? undefined : repo.internals.ctx.hashNode(node);
}

for (const maker of repoMakers()) {
  describe(`log convergence on ${maker.name}`, () => {
    afterAll(() => maker.cleanup());

    it("replicas appending and merging in any order and shape (criss-cross included) end equal, nothing lost or duplicated, causal order kept", async () => {
      let crissCross = 0;
      await fc.assert(
        fc.asyncProperty(scenarioArb, async ({ replicas, initial, crissCross: prefix, ops }) => {
          const repo = await maker.open();
          try {
            const main = repo.branch("main");
            const model: Set<string>[] = [];
            // values each append had seen (its log's content when it was appended), and program order per replica
            const seenBefore = new Map<string, Set<string>>();
            const own: string[][] = Array.from({ length: replicas }, () => []);
            let counter = 0;
            const branches: Branch[] = [main];
            // each replica's commits so far, with the model of their log
            const snapshots: { hash: string; set: Set<string> }[][] = [];
            const snap = async (r: number) => snapshots[r].push({ hash: (await branches[r].head())!.hash, set: new Set(model[r]) });
            const append = async (r: number) => {
              const v = `r${r}-${counter++}`;
              seenBefore.set(v, new Set(model[r]));
              await branches[r].log("l").append(v);
              model[r].add(v);
              own[r].push(v);
              await snap(r);
            };
            snapshots.push([]);
            model.push(new Set());
            for (let i = 0; i < initial; i++) await append(0);
            for (let r = 1; r < replicas; r++) {
              branches.push(await main.fork(`r${r}`));
              model.push(new Set(model[0]));
              snapshots.push([...snapshots[0]]);
            }
            const start: Op[] = [
              { kind: "append", r: 0 },
              { kind: "append", r: 1 },
              { kind: "merge", from: 1, into: 0, age: 0 },
              { kind: "merge", from: 0, into: 1, age: 1 },
            ];
            for (const op of prefix ? [...start, ...ops] : ops) {
              if (op.kind === "append") await append(op.r);
              else {
                const history = snapshots[op.from];
                if (history.length === 0) continue;
                const from = history[history.length - 1 - Math.min(op.age, history.length - 1)];
                const head = await branches[op.into].head();
                if (head !== undefined && (await repo.lcas(head, from.hash)).length > 1) crissCross++;
                expect((await branches[op.into].merge(from.hash)).ok).toBe(true);
                for (const v of from.set) model[op.into].add(v);
                await snap(op.into);
              }
            }
            for (let r = 0; r < replicas; r++) {
              expect(new Set(await values(branches[r]))).toEqual(model[r]);
              expect(await branches[r].log("l").length()).toBe(model[r].size);
            }
            // everyone merges into replica 0, then replica 0 into everyone
            for (let r = 1; r < replicas; r++) expect((await branches[0].merge(branches[r])).ok).toBe(true);
            for (let r = 1; r < replicas; r++) expect((await branches[r].merge(branches[0])).ok).toBe(true);
            const final = await branches[0].log("l").all();
            const order = final.map((e) => e.value);
            const hash = await logNodeHash(repo, branches[0]);
            for (let r = 1; r < replicas; r++) {
              expect(await branches[r].log("l").all()).toEqual(final);
              expect(await logNodeHash(repo, branches[r])).toBe(hash);
            }
            // every appended entry exactly once
            expect([...order].sort()).toEqual([...seenBefore.keys()].sort());
            expect(await branches[0].log("l").length()).toBe(order.length);
            // newest first: times never increase; an entry is newer than everything its replica had seen
            const position = new Map(order.map((v, i) => [v, i]));
            for (let i = 1; i < final.length; i++) expect(final[i].time).toBeLessThanOrEqual(final[i - 1].time);
            for (const [v, seen] of seenBefore) for (const x of seen) expect(position.get(v)!).toBeLessThan(position.get(x)!);
            for (const list of own) for (let i = 1; i < list.length; i++) expect(position.get(list[i])!).toBeLessThan(position.get(list[i - 1])!);
            // history independence: the merged tree is the tree built from scratch from the same entries
            const { ctx } = repo.internals;
            const node = await subtreeAt(ctx, (await branches[0].tree()).node, ["l"]);
            const { items } = await logItems(ctx, node);
            const fresh = await buildLogNode(ctx, items);
            expect(fresh === undefined ? undefined : await ctx.hashNode(fresh)).toBe(hash);
          } finally {
            await repo.close();
          }
        }),
        { numRuns: maker.name === "memory" ? 100 : 10, seed: 4242 },
      );
      expect(crissCross).toBeGreaterThan(0);
    }, 60_000);
  });
}

async function values(b: Branch): Promise<string[]> {
  return (await b.log("l").all()).map((e) => e.value);
}
