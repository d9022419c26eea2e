import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { isIrminError } from "../../src/core/errors.js";
import type { Hash } from "../../src/core/hash.js";
import { writeCommit } from "../../src/history/commits.js";
import { lowestCommonAncestors } from "../../src/history/lca.js";
import { Repo } from "../../src/store/repo.js";
import { repoMakers } from "./backends.js";

const AUTHOR = "T <t@x>";

/** The LCAs by brute force: common ancestors (a commit counts as its own) with no common descendant among them. */
function bruteLcas(parents: Map<Hash, readonly Hash[]>, a: Hash, b: Hash): Hash[] {
  const ancestors = (x: Hash) => {
    const seen = new Set([x]);
    const stack = [x];
    while (stack.length > 0) {
      for (const p of parents.get(stack.pop()!)!) {
        if (!seen.has(p)) {
          seen.add(p);
          stack.push(p);
        }
      }
    }
    return seen;
  };
  const inB = ancestors(b);
  const common = [...ancestors(a)].filter((c) => inB.has(c));
  return common.filter((c) => !common.some((d) => d !== c && ancestors(d).has(c))).sort();
}

/** Writes commits `[name, parents...]` in order, all in one second (the walk's order then has ties). */
async function history(spec: readonly (readonly string[])[]): Promise<{ repo: Repo; h: Map<string, Hash> }> {
  const repo = await Repo.memory();
  const ctx = repo.internals.ctx;
  const tree = await ctx.objects.put("tree", new Uint8Array(0));
  const h = new Map<string, Hash>();
  for (const [name, ...ps] of spec) {
    h.set(name, (await writeCommit(ctx, { tree, parents: ps.map((p) => h.get(p)!), author: AUTHOR, message: name, date: 1_700_000_000_000 })).hash);
  }
  return { repo, h };
}

describe("lowestCommonAncestors with maxDepth", () => {
  it("maxDepth counts the fewest generations below a head, whatever the order of the walk", async () => {
    // Criss-cross: the LCAs a1 and b1 are 2 generations below both heads.
    const { repo, h } = await history([["o"], ["a1", "o"], ["b1", "o"], ["ma", "a1", "b1"], ["mb", "b1", "a1"], ["A", "ma"], ["B", "mb"]]);
    const want = [h.get("a1")!, h.get("b1")!].sort();
    for (const [x, y] of [["A", "B"], ["B", "A"]]) {
      const r = await lowestCommonAncestors(repo.internals.ctx, h.get(x)!, h.get(y)!, { maxDepth: 2 });
      expect(r.ok && [...r.lcas].sort()).toEqual(want);
      expect(await lowestCommonAncestors(repo.internals.ctx, h.get(x)!, h.get(y)!, { maxDepth: 1 })).toEqual({ ok: false, reason: "max-depth" });
    }
    // x is 1 generation below A by a short path and 4 by a long one; the LCA r is 2 below A. The
    // search must also read l1 (3 below A) to know nothing else lies under l2.
    const deep = await history([["r"], ["x", "r"], ["l1", "x"], ["l2", "l1"], ["l3", "l2"], ["A", "l3", "x"], ["B", "r"]]);
    for (const [x, y] of [["A", "B"], ["B", "A"]]) {
      const lcas = (d: number) => lowestCommonAncestors(deep.repo.internals.ctx, deep.h.get(x)!, deep.h.get(y)!, { maxDepth: d });
      expect(await lcas(3)).toEqual({ ok: true, lcas: [deep.h.get("r")!] });
      expect(await lcas(2)).toEqual({ ok: false, reason: "max-depth" });
    }
    await repo.close();
    await deep.repo.close();
  });


  // Random DAGs whose commits share seconds (the walk order by time then has ties): with any
  // maxDepth the answer is the true LCAs or max-depth, and a bound as deep as the DAG never stops it.
  it("answers the true LCAs or max-depth, never a wrong set", async () => {
    const dag = fc.array(fc.record({ p1: fc.nat(), p2: fc.option(fc.nat(), { nil: undefined }), tick: fc.boolean() }), { minLength: 2, maxLength: 14 });
    await fc.assert(
      fc.asyncProperty(dag, fc.nat(), fc.nat(), async (spec, x, y) => {
        const repo = await Repo.memory();
        const ctx = repo.internals.ctx;
        const tree = await ctx.objects.put("tree", new Uint8Array(0));
        const hashes: Hash[] = [];
        const parents = new Map<Hash, readonly Hash[]>();
        let second = 1_700_000_000;
        for (let i = 0; i < spec.length; i++) {
          const { p1, p2, tick } = spec[i];
          const ps = i === 0 ? [] : [...new Set([hashes[p1 % i], ...(p2 === undefined ? [] : [hashes[p2 % i]])])];
          if (tick) second++;
          const c = await writeCommit(ctx, { tree, parents: ps, author: AUTHOR, message: `c${i}`, date: second * 1000 });
          hashes.push(c.hash);
          parents.set(c.hash, ps);
        }
        const a = hashes[x % hashes.length], b = hashes[y % hashes.length];
        const want = bruteLcas(parents, a, b);
        const unbounded = await lowestCommonAncestors(ctx, a, b);
        expect(unbounded.ok && [...unbounded.lcas].sort()).toEqual(want);
        for (let d = 0; d <= spec.length; d++) {
          const r = await lowestCommonAncestors(ctx, a, b, { maxDepth: d });
          if (r.ok) expect([...r.lcas].sort()).toEqual(want);
          else expect(d).toBeLessThan(spec.length);
        }
        await repo.close();
      }),
      { numRuns: 150, seed: 7 },
    );
  });
});

for (const maker of repoMakers()) {
  describe(`maxDepth and limit on ${maker.name}`, () => {
    afterAll(() => maker.cleanup());

    it("a fast-forward over k commits needs maxDepth k; 0 only merges the head itself", async () => {
      const repo = await maker.open();
      const main = repo.branch("main");
      const c0 = await main.set("a", "0");
      await main.set("a", "1");
      const c2 = await main.set("a", "2");
      const ff = repo.branch("ff");
      await ff.reset(c0);
      const r1 = await ff.merge(c2, { maxDepth: 1 });
      expect(r1).toEqual({ ok: false, conflicts: [{ path: "", message: "the common ancestor search reached maxDepth" }] });
      expect((await ff.merge(c2, { maxDepth: 2 })).ok).toBe(true);
      expect((await ff.head())!.hash).toBe(c2.hash);
      expect((await ff.merge(c2, { maxDepth: 0 })).ok).toBe(true); // up to date: the same commit
      expect((await repo.lcas(c2, c0, { maxDepth: 2 })).map((c) => c.hash)).toEqual([c0.hash]);
      await expect(repo.lcas(c2, c0, { maxDepth: 1 })).rejects.toSatisfy((e: unknown) => isIrminError(e, "MAX_DEPTH_REACHED"));
      expect((await repo.lcas(c2, c0, { maxDepth: Infinity, limit: Infinity })).map((c) => c.hash)).toEqual([c0.hash]);
      await repo.close();
    });

    it("a bound that is not a non-negative integer or Infinity is INVALID_ARGUMENT, before any work", async () => {
      const repo = await maker.open();
      const main = repo.branch("main");
      const c0 = await main.set("a", "0");
      const c1 = await main.set("a", "1");
      const empty = repo.branch("empty"); // merging into a branch with no head needs no search
      for (const bad of [-1, NaN, 1.5, -Infinity, "3", null]) {
        const invalid = (e: unknown) => isIrminError(e, "INVALID_ARGUMENT");
        await expect(repo.lcas(c0, c1, { maxDepth: bad as number })).rejects.toSatisfy(invalid);
        await expect(repo.lcas(c0, c1, { limit: bad as number })).rejects.toSatisfy(invalid);
        await expect(main.merge(c0, { maxDepth: bad as number })).rejects.toSatisfy(invalid);
        await expect(empty.merge(c1, { maxDepth: bad as number })).rejects.toSatisfy(invalid);
      }
      expect(await empty.head()).toBeUndefined();
      await expect(repo.lcas(c0, c1, { limit: 0 })).rejects.toSatisfy((e: unknown) => isIrminError(e, "TOO_MANY_LCAS"));
      await repo.close();
    });
  });
}
