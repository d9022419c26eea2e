import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { buildText, checkRope, memoryContext, prng, randomText } from "./text-helpers.js";
import { mergeTexts, topItems } from "../../src/datatypes/text.js";
import { LEAF_MAX, nextLeafCut } from "../../src/datatypes/text/chunking.js";
import { spliceRope } from "../../src/datatypes/text/rope-edit.js";
import { collectText, textNode } from "../../src/datatypes/text/rope-node.js";
import { typedNode } from "../../src/datatypes/marker.js";
import { contentsChild, Node, type Child, type TreeContext } from "../../src/tree/node.js";

async function edit(ctx: TreeContext, node: Node, start: number, end: number, ins: string): Promise<Node> {
  return textNode(ctx, await spliceRope(ctx, await topItems(ctx, node), start, end, ins));
}

async function readAll(ctx: TreeContext, node: Node): Promise<string> {
  const out: string[] = [];
  await collectText(ctx, await topItems(ctx, node), out);
  return out.join("");
}

function isLow(s: string, i: number): boolean {
  const c = s.charCodeAt(i);
  return c >= 0xdc00 && c <= 0xdfff;
}

describe("text rope", () => {
  it("random edit sequences keep the text, valid leaves, bounded depth and the canonical shape", async () => {
    const ctx = memoryContext();
    const step = fc.record({
      at: fc.double({ min: 0, max: 1, noNaN: true }),
      del: fc.oneof(fc.nat({ max: 10 }), fc.nat({ max: 20_000 })),
      ins: fc.oneof(fc.nat({ max: 12 }), fc.nat({ max: 30_000 })),
      seed: fc.integer(),
    });
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: 120_000 }), fc.array(step, { minLength: 1, maxLength: 12 }), async (size, steps) => {
        let model = randomText(prng(size), size, true);
        let node = await buildText(ctx, model);
        for (const s of steps) {
          let start = Math.floor(s.at * (model.length + 1));
          if (start < model.length && isLow(model, start)) start--;
          let end = Math.min(model.length, start + s.del);
          if (end < model.length && isLow(model, end)) end++;
          const ins = randomText(prng(s.seed), s.ins, true);
          node = await edit(ctx, node, start, end, ins);
          model = model.slice(0, start) + ins + model.slice(end);
        }
        const shape = await checkRope(ctx, node); // throws on any broken invariant, including a non-canonical shape
        expect(shape.text).toBe(model);
        // each level at least halves the one below
        expect(shape.height).toBeLessThanOrEqual(Math.max(0, Math.ceil(Math.log2(Math.max(1, shape.leaves)))));
      }),
      { numRuns: 40, seed: 1 },
    );
  });

  it("leaf cuts never split a surrogate pair, even where the size limit forces a cut", () => {
    const pairs = "😀".repeat(LEAF_MAX); // no content-defined cut can win over the limit at an odd offset
    for (const from of [0, 1]) {
      const s = "x" + pairs;
      const cut = nextLeafCut(s, from, false)!;
      expect(cut - from).toBeLessThanOrEqual(LEAF_MAX);
      expect(isLow(s, cut)).toBe(false);
    }
  });

  it("equal texts are equal trees whatever edits made them", async () => {
    const ctx = memoryContext();
    const text = randomText(prng(9), 200_000);
    const direct = await buildText(ctx, text);
    // typed in pieces, front to back
    let typed = await buildText(ctx, "");
    for (let at = 0; at < text.length; at += 7_919) typed = await edit(ctx, typed, at, at, text.slice(at, at + 7_919));
    // with a detour: an insertion then its deletion
    const detour = await edit(ctx, await edit(ctx, direct, 100_000, 100_000, "x".repeat(50_000)), 100_000, 150_000, "");
    const h = await ctx.hashNode(direct);
    expect(await ctx.hashNode(typed)).toBe(h);
    expect(await ctx.hashNode(detour)).toBe(h);
  });

  it("text with no content-defined cut points (a repeated pattern) still edits in bounded work", async () => {
    const ctx = memoryContext();
    let model = "lorem ipsum ".repeat(100_000); // 1.2 MB, period 12: no leaf boundary from the content
    let node = await buildText(ctx, model);
    await ctx.writeNode(node);
    const rnd = prng(2);
    for (let i = 0; i < 20; i++) {
      const pos = Math.floor(rnd() * model.length);
      const w0 = ctx.stats.writes;
      node = await edit(ctx, node, pos, pos + (i % 2), "x");
      model = model.slice(0, pos) + "x" + model.slice(pos + (i % 2));
      await ctx.writeNode(node);
      // at most the resynchronisation limit of leaves plus a few per level, not the ~300 leaves after the edit
      expect(ctx.stats.writes - w0).toBeLessThan(40);
    }
    expect(await readAll(ctx, node)).toBe(model);
  });

  it("depth stays logarithmic: a few levels at several megabytes", async () => {
    const ctx = memoryContext();
    const shape = await checkRope(ctx, await buildText(ctx, randomText(prng(4), 4_000_000)));
    expect(shape.leaves).toBeGreaterThan(2_000);
    expect(shape.height).toBeGreaterThanOrEqual(2);
    expect(shape.height).toBeLessThanOrEqual(5);
  });

  it("corrupt ropes are CORRUPT, not wrong text", async () => {
    const ctx = memoryContext();
    const leaf = (s: string): Child => contentsChild(ctx, new TextEncoder().encode(s));
    const cases: Map<string, Child>[] = [
      new Map([["zz", leaf("abc")]]), // not a rope entry
      new Map([["01-3", leaf("abc")]]), // indexes do not start at 0
      new Map([["00-4", leaf("abc")]]), // length does not match
      new Map([["00-2", contentsChild(ctx, Uint8Array.of(0xff, 0xfe))]]), // not UTF-8
      new Map<string, Child>([["00-3", leaf("abc")], ["01-1", { kind: "node", node: Node.fromEntries(new Map([["00-1", leaf("d")]])) }]]), // mixed levels
      new Map<string, Child>([["00-5", { kind: "node", node: Node.fromEntries(new Map([["00-1", leaf("d")]])) }]]), // subtree length mismatch
    ];
    for (const entries of cases) {
      const node = typedNode(ctx, "text", entries);
      await expect(readAll(ctx, node)).rejects.toMatchObject({ code: "CORRUPT" });
    }
    // and a merge with a corrupt side fails the same way rather than producing a text
    const good = await buildText(ctx, "abc");
    const bad = typedNode(ctx, "text", new Map([["00-4", leaf("abcd")], ["01-x", leaf("e")]]));
    await expect(mergeTexts(ctx, good, bad, await buildText(ctx, "abcz"))).rejects.toMatchObject({ code: "CORRUPT" });
  });
});
