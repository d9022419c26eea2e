import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { buildText, checkRope, memoryContext, prng, randomText } from "./text-helpers.js";
import { mergeTexts, topItems } from "../../src/datatypes/text.js";
import { transformMerge } from "../../src/datatypes/text/rope-merge.js";
import { spliceRope } from "../../src/datatypes/text/rope-edit.js";
import { textNode } from "../../src/datatypes/text/rope-node.js";
import { diff } from "../../src/merge/diff3.js";
import { Repo } from "../../src/store/repo.js";
import { Node, type TreeContext } from "../../src/tree/node.js";

/** A text over a small alphabet with astral characters, so edits collide and pairs are exercised. */
const smallText = fc.array(fc.constantFrom("a", "b", "c", "\n", "😀", "é"), { maxLength: 40 }).map((cs) => cs.join(""));

/** An edit of `s` at code point boundaries, chosen by fractions. */
interface EditSpec {
  at: number;
  len: number;
  ins: string;
}
const editSpec = fc.record({ at: fc.double({ min: 0, max: 1, noNaN: true }), len: fc.nat({ max: 6 }), ins: smallText });

function boundaries(s: string): number[] {
  const out = [0];
  for (let i = 0; i < s.length; ) {
    i += s.codePointAt(i)! > 0xffff ? 2 : 1;
    out.push(i);
  }
  return out;
}

function applySpec(s: string, e: EditSpec, lo = 0, hi = s.length): { s: string; start: number; end: number } {
  const bs = boundaries(s).filter((b) => b >= lo && b <= hi);
  const i = Math.min(bs.length - 1, Math.floor(e.at * bs.length));
  const j = Math.min(bs.length - 1, i + e.len);
  const start = bs[i], end = bs[j];
  return { s: s.slice(0, start) + e.ins + s.slice(end), start, end };
}

async function textOf(ctx: TreeContext, node: Node): Promise<string> {
  return (await checkRope(ctx, node)).text;
}

async function edited(ctx: TreeContext, node: Node, start: number, end: number, ins: string): Promise<Node> {
  return textNode(ctx, await spliceRope(ctx, await topItems(ctx, node), start, end, ins));
}

describe("text merge", () => {
  it("the post's example, both ways, and the operational transform on its own", async () => {
    const ctx = memoryContext();
    const [old, a, b] = await Promise.all([buildText(ctx, "abc"), buildText(ctx, "axc"), buildText(ctx, "aybc")]);
    expect(await textOf(ctx, await mergeTexts(ctx, old, a, b))).toBe("ayxc");
    expect(await textOf(ctx, await mergeTexts(ctx, old, b, a))).toBe("ayxc");
    expect(transformMerge("abc", diff("abc", "axc"), diff("abc", "aybc"))).toBe("ayxc");
    // deleted by either side is gone; the same insertion on both sides is kept once; different ones in a fixed order
    expect(transformMerge("abcdef", diff("abcdef", "adef"), diff("abcdef", "abcf"))).toBe("af");
    expect(transformMerge("ab", diff("ab", "aXb"), diff("ab", "aXb"))).toBe("aXb");
    expect(transformMerge("ab", diff("ab", "aYb"), diff("ab", "aXb"))).toBe("aXYb");
    expect(transformMerge("ab", diff("ab", "aXb"), diff("ab", "aYb"))).toBe("aXYb");
  });

  it("is symmetric, never conflicts, keeps a valid canonical rope, and is neutral on unchanged sides", async () => {
    const ctx = memoryContext();
    await fc.assert(
      fc.asyncProperty(smallText, fc.array(editSpec, { maxLength: 3 }), fc.array(editSpec, { maxLength: 3 }), fc.boolean(), async (base, ea, eb, noAncestor) => {
        let sa = base, sb = base;
        for (const e of ea) sa = applySpec(sa, e).s;
        for (const e of eb) sb = applySpec(sb, e).s;
        const [old, a, b] = await Promise.all([buildText(ctx, base), buildText(ctx, sa), buildText(ctx, sb)]);
        const o = noAncestor ? undefined : old;
        const ab = await mergeTexts(ctx, o, a, b);
        const ba = await mergeTexts(ctx, o, b, a);
        expect(await ctx.hashNode(ab)).toBe(await ctx.hashNode(ba));
        await textOf(ctx, ab); // a valid canonical rope (checkRope throws otherwise)
        if (!noAncestor) {
          expect(await textOf(ctx, await mergeTexts(ctx, old, a, old))).toBe(sa);
          expect(await textOf(ctx, await mergeTexts(ctx, old, a, a))).toBe(sa);
        }
      }),
      { numRuns: 300, seed: 42 },
    );
  });

  it("edits that do not overlap are all in the result, in leaves or across them", async () => {
    const ctx = memoryContext();
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 2, max: 30_000 }), fc.double({ min: 0.05, max: 0.95, noNaN: true }), editSpec, editSpec, fc.integer(), async (n, split, ea, eb, seed) => {
        const base = randomText(prng(seed), n, true);
        const bs = boundaries(base);
        const mid = bs[Math.floor(split * (bs.length - 1))];
        const midNext = bs[Math.min(bs.length - 1, bs.indexOf(mid) + 1)];
        if (midNext === mid) return;
        // a edits before `mid`, b after the code point that follows it: at least one untouched character between
        const x = applySpec(base, ea, 0, mid);
        const y = applySpec(base, eb, midNext, base.length);
        const [old, a, b] = await Promise.all([buildText(ctx, base), buildText(ctx, x.s), buildText(ctx, y.s)]);
        const expected = base.slice(0, x.start) + ea.ins + base.slice(x.end, y.start) + eb.ins + base.slice(y.end);
        expect(await textOf(ctx, await mergeTexts(ctx, old, a, b))).toBe(expected);
        expect(await textOf(ctx, await mergeTexts(ctx, old, b, a))).toBe(expected);
      }),
      { numRuns: 60, seed: 7 },
    );
  });

  it("merging branches that diverged in different parts costs what the edits cost, not the text", async () => {
    const cost = async (size: number) => {
      const ctx = memoryContext();
      const rnd = prng(3);
      const base = randomText(rnd, size);
      const old = await buildText(ctx, base);
      await ctx.writeNode(old);
      // a edits near the start, b near the end: 100 edits each
      let a = old, b = old;
      let sa = base, sb = base;
      for (let i = 0; i < 100; i++) {
        const p = Math.floor(rnd() * 20_000);
        a = await edited(ctx, a, p, p + 2, "A" + i);
        sa = sa.slice(0, p) + "A" + i + sa.slice(p + 2);
        const q = sb.length - 1 - Math.floor(rnd() * 20_000);
        b = await edited(ctx, b, q, q + 1, "B" + i);
        sb = sb.slice(0, q) + "B" + i + sb.slice(q + 1);
      }
      // fresh handles on the stored trees and a cold cache: every object the merge needs is read
      const stored = async (n: Node) => Node.stored(await ctx.writeNode(n));
      const [o1, a1, b1] = await Promise.all([stored(old), stored(a), stored(b)]);
      ctx.cache.clear();
      const r0 = ctx.stats.reads;
      const merged = await mergeTexts(ctx, o1, a1, b1);
      const reads = ctx.stats.reads - r0;
      const w0 = ctx.stats.writes;
      await ctx.writeNode(merged);
      const writes = ctx.stats.writes - w0;
      const shape = await checkRope(ctx, merged);
      // a changed only the first 25 K code units, b only the last 25 K
      const k = 25_000;
      expect(sa.slice(sa.length - (size - k))).toBe(base.slice(k));
      expect(sb.slice(0, size - k)).toBe(base.slice(0, size - k));
      expect(shape.text).toBe(sa.slice(0, sa.length - (size - k)) + base.slice(k, size - k) + sb.slice(size - k));
      console.log(`merge of 100 + 100 edits in a ${size / 1000} K text (${shape.leaves} leaves): ${reads} reads, ${writes} writes`);
      return { reads, writes, leaves: shape.leaves };
    };
    const small = await cost(100_000);
    const large = await cost(1_000_000);
    // the 1 MB text has ten times the leaves, the merge reads and writes about the same
    expect(large.leaves).toBeGreaterThan(5 * small.leaves);
    expect(large.reads).toBeLessThan(small.reads * 1.5 + 20);
    expect(large.writes).toBeLessThan(small.writes * 1.5 + 10);
    expect(large.reads).toBeLessThan(large.leaves / 2);
  });

  it("a criss-cross history (two merge bases) merges to the same text both ways", async () => {
    const repo = await Repo.memory();
    const main = repo.branch("main");
    const base = randomText(prng(5), 20_000);
    await main.text("doc").insert(0, base);
    const wip = await main.fork("wip");
    await main.text("doc").insert(0, "M1 ");
    await wip.text("doc").insert(base.length, " W1");
    expect((await main.merge(wip)).ok).toBe(true);
    expect((await wip.merge((await main.head())!.parents[0])).ok).toBe(true);
    await main.text("doc").set(3, "X"); // overwrite in the middle of main's own edit
    await wip.text("doc").insert(3, "Y"); // insertion at the same place on wip
    await wip.text("doc").delete(10_000, 100);
    expect(await repo.lcas((await main.head())!, (await wip.head())!)).toHaveLength(2);
    expect((await main.merge(wip)).ok).toBe(true);
    expect((await wip.merge(main)).ok).toBe(true);
    const expected = "M1 YX" + base.slice(1, 9_996) + base.slice(10_096) + " W1";
    expect(await main.text("doc").toString()).toBe(expected);
    expect(await wip.text("doc").toString()).toBe(expected);
    await repo.close();
  });

  it("replicas that edit and merge in random order and shape (criss-cross included) converge", async () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant("edit" as const), r: fc.nat({ max: 2 }), e: editSpec }),
      fc.record({ kind: fc.constant("merge" as const), from: fc.nat({ max: 2 }), into: fc.nat({ max: 2 }) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 24 }), async (ops) => {
        const repo = await Repo.memory();
        const main = repo.branch("r0");
        await main.text("doc").insert(0, "the quick brown fox");
        const replicas = [main, await main.fork("r1"), await main.fork("r2")];
        const models = ["the quick brown fox", "the quick brown fox", "the quick brown fox"];
        for (const o of ops) {
          if (o.kind === "edit") {
            const t = replicas[o.r].text("doc");
            const { s, start, end } = applySpec(models[o.r], o.e);
            if (start === end) await t.insert(start, o.e.ins);
            else await t.set(s);
            models[o.r] = s;
          } else if (o.from !== o.into) {
            expect((await replicas[o.into].merge(replicas[o.from])).ok).toBe(true);
            models[o.into] = await replicas[o.into].text("doc").toString();
          }
          expect(await replicas[0].text("doc").toString()).toBe(models[0]);
        }
        // merging a into b and b into a give the same text and tree
        for (const [i, j] of [[0, 1], [1, 2], [0, 2]]) {
          const x = await replicas[i].fork(`x${i}${j}`);
          const y = await replicas[j].fork(`y${i}${j}`);
          expect((await x.merge(replicas[j])).ok).toBe(true);
          expect((await y.merge(replicas[i])).ok).toBe(true);
          expect(await x.text("doc").toString()).toBe(await y.text("doc").toString());
          expect(await (await (await x.head())!.tree()).hash()).toBe(await (await (await y.head())!.tree()).hash());
        }
        // then all merge to a common state
        await replicas[0].merge(replicas[1]);
        await replicas[0].merge(replicas[2]);
        await replicas[1].merge(replicas[0]);
        await replicas[2].merge(replicas[0]);
        const final = await replicas[0].text("doc").toString();
        for (const r of replicas) expect(await r.text("doc").toString()).toBe(final);
        await repo.close();
      }),
      { numRuns: 80, seed: 5 },
    );
  });
});
