import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { memoryBackend } from "../../src/backends/memory/memory-backend.js";
import { buildLogNode, logItems, mergeLogs } from "../../src/datatypes/log.js";
import { insertItems, type Elem, type Item, type Top } from "../../src/datatypes/log/chunked-tree.js";
import { keyRank, makeKey, MAX_RANK } from "../../src/datatypes/log/keys.js";
import { textLeaf } from "../../src/datatypes/leaves.js";
import { typedNode } from "../../src/datatypes/marker.js";
import { subtreeAt } from "../../src/datatypes/slot.js";
import { Repo } from "../../src/store/repo.js";
import { contentsChild, Node, TreeContext, type Child, type ContentsChild } from "../../src/tree/node.js";

const encoder = new TextEncoder();

function newCtx(): TreeContext {
  const backend = memoryBackend();
  return new TreeContext(backend.objects, backend.objects.algorithm);
}

/** A small deterministic generator, so that thousands of keys come from one fast-check seed. */
function prng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
}

/** `count` distinct entries (keys sorted), wall times in a narrow range so that many share a millisecond. */
function entries(ctx: TreeContext, count: number, seed: number, tag = ""): Item[] {
  const rnd = prng(seed);
  const byKey = new Map<string, Item>();
  while (byKey.size < count) {
    const nonce = Uint8Array.from({ length: 8 }, () => Math.floor(rnd() * 256));
    const key = makeKey({ wall: 1_700_000_000_000 + Math.floor(rnd() * 50), logical: Math.floor(rnd() * 3) }, nonce);
    byKey.set(key, { key, child: contentsChild(ctx, encoder.encode(`v${byKey.size}${tag}`)) as ContentsChild });
  }
  return sortItems([...byKey.values()]);
}

function sortItems(items: Item[]): Item[] {
  return items.sort((x, y) => (x.key < y.key ? -1 : x.key > y.key ? 1 : 0));
}

function shuffle<T>(list: T[], rnd: () => number): T[] {
  for (let i = list.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [list[i], list[j]] = [list[j], list[i]];
  }
  return list;
}

/** The log subtree straight from the definition: level-L nodes split before every non-first key of rank > L. */
function reference(ctx: TreeContext, items: readonly Item[]): Node {
  let elems: Elem[] = items.map((i) => [i.key, i.child]);
  for (let level = 0; ; level++) {
    const chunks: Elem[][] = [];
    for (const [i, e] of elems.entries()) {
      if (i === 0 || keyRank(e[0]) > level) chunks.push([]);
      chunks[chunks.length - 1].push(e);
    }
    if (chunks.length === 1) {
      const root = new Map<string, Child>(chunks[0]);
      root.set("length", textLeaf(ctx, String(items.length)));
      return typedNode(ctx, "log", root);
    }
    elems = chunks.map((c) => [c[0][0], { kind: "node", node: Node.fromEntries(new Map(c)) }]);
  }
}

async function insertInBatches(ctx: TreeContext, items: readonly Item[], rnd: () => number): Promise<Node | undefined> {
  const order = shuffle([...items], rnd);
  let top: Top = { elems: [], height: 0 };
  let count = 0;
  for (let i = 0; i < order.length; ) {
    const size = 1 + Math.floor(rnd() * 40);
    const batch = sortItems(order.slice(i, i + size));
    i += size;
    const c = { added: 0 };
    top = (await insertItems(ctx, top, batch, c)) ?? top;
    count += c.added;
  }
  expect(count).toBe(items.length);
  if (top.elems.length === 0) return undefined;
  const root = new Map<string, Child>(top.elems);
  root.set("length", textLeaf(ctx, String(count)));
  return typedNode(ctx, "log", root);
}

const hashOf = (ctx: TreeContext, n: Node | undefined) => (n === undefined ? Promise.resolve(undefined) : ctx.hashNode(n));

describe("the log's chunked tree", () => {
  it("history independence: any insertion order and batching gives the tree of the definition", async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 2500 }), fc.integer(), async (n, seed) => {
        const ctx = newCtx();
        const items = entries(ctx, n, seed);
        const built = await insertInBatches(ctx, items, prng(seed ^ 0x5bd1e995));
        expect(await hashOf(ctx, built)).toBe(await hashOf(ctx, n === 0 ? undefined : reference(ctx, items)));
        expect(await hashOf(ctx, await buildLogNode(ctx, items))).toBe(await hashOf(ctx, built));
        // and reads back exactly
        const back = await logItems(ctx, built);
        expect(back.items.map((i) => i.key)).toEqual(items.map((i) => i.key));
      }),
      { numRuns: 25, seed: 7 },
    );
  });

  it("a tall tree (keys of every rank up to the top) is built the same incrementally", async () => {
    const ctx = newCtx();
    const items = entries(ctx, 3000, 99);
    // add keys of high rank so that every level, single-child chains included, is exercised
    const extra: Item[] = [];
    const prefix = makeKey({ wall: 1_700_000_000_020, logical: 9 }, new Uint8Array(8)).slice(0, 20);
    const ranks = [2, 2, 2, 3, 3, 4];
    for (let nonce = 0; extra.length < ranks.length && nonce < 50_000_000; nonce++) {
      const key = prefix + nonce.toString(16).padStart(16, "0");
      if (keyRank(key) >= ranks[extra.length]) extra.push({ key, child: contentsChild(ctx, encoder.encode(key)) as ContentsChild });
    }
    expect(extra.length).toBe(ranks.length);
    const all = sortItems([...items, ...extra]);
    const built = await insertInBatches(ctx, all, prng(11));
    expect(await hashOf(ctx, built)).toBe(await ctx.hashNode(reference(ctx, all)));
    const { height } = await logItems(ctx, built);
    expect(height).toBeGreaterThanOrEqual(4);
    expect(height).toBeLessThanOrEqual(MAX_RANK);
    // two trees of different heights (the tall keys split between them) merge to the same tree both ways
    const a = (await buildLogNode(ctx, sortItems([...items.slice(0, 2000), ...extra.slice(0, 3)])))!;
    const b = (await buildLogNode(ctx, sortItems([...items.slice(1000), ...extra.slice(3)])))!;
    expect((await logItems(ctx, a)).height).toBeLessThan((await logItems(ctx, b)).height);
    expect(await ctx.hashNode(await mergeLogs(ctx, undefined, a, b))).toBe(await ctx.hashNode(built!));
    expect(await ctx.hashNode(await mergeLogs(ctx, undefined, b, a))).toBe(await ctx.hashNode(built!));
  });

  it("merge(a, b) and merge(b, a) are the tree of the union, with or without an ancestor", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 1500 }),
        fc.integer({ min: 0, max: 200 }),
        fc.integer({ min: 0, max: 200 }),
        fc.integer(),
        fc.boolean(),
        async (nOld, nA, nB, seed, withOld) => {
          const ctx = newCtx();
          const all = entries(ctx, nOld + nA + nB, seed);
          const rnd = prng(seed + 1);
          shuffle(all, rnd);
          const old = sortItems(all.slice(0, nOld));
          const a = sortItems(all.slice(0, nOld + nA));
          const b = sortItems([...old, ...all.slice(nOld + nA)]);
          const [no, na, nb] = [await buildLogNode(ctx, old), await buildLogNode(ctx, a), await buildLogNode(ctx, b)];
          if (na === undefined || nb === undefined) return;
          const base = withOld ? no : undefined;
          const ab = await mergeLogs(ctx, base, na, nb);
          const ba = await mergeLogs(ctx, base, nb, na);
          const union = reference(ctx, sortItems([...all]));
          expect(await ctx.hashNode(ab)).toBe(await ctx.hashNode(union));
          expect(await ctx.hashNode(ba)).toBe(await ctx.hashNode(union));
        },
      ),
      { numRuns: 40, seed: 11 },
    );
  });

  it("the same key with two different blobs (a corrupt or hostile writer) still merges the same both ways", async () => {
    const ctx = newCtx();
    const items = entries(ctx, 300, 3);
    const twin = { key: items[150].key, child: contentsChild(ctx, encoder.encode("other")) as ContentsChild };
    const a = (await buildLogNode(ctx, items))!;
    const b = (await buildLogNode(ctx, [...items.slice(0, 150), twin, ...items.slice(151)]))!;
    const ab = await mergeLogs(ctx, undefined, a, b);
    const ba = await mergeLogs(ctx, undefined, b, a);
    expect(await ctx.hashNode(ab)).toBe(await ctx.hashNode(ba));
    expect((await logItems(ctx, ab)).items).toHaveLength(300);
  });

  it("corrupt trees are CORRUPT, not crashes", async () => {
    const ctx = newCtx();
    const items = entries(ctx, 2000, 4);
    const good = (await buildLogNode(ctx, items))!;
    const entries0 = await ctx.load(good);
    // a stray name among the entries
    const stray = new Map(entries0);
    stray.set("zzz", textLeaf(ctx, "x"));
    await expect(logItems(ctx, Node.fromEntries(stray))).rejects.toMatchObject({ code: "CORRUPT" });
    // a value where a node belongs
    const flat = new Map(entries0);
    const first = [...flat.keys()].find((k) => k.length === 36)!;
    flat.set(first, textLeaf(ctx, "x"));
    await expect(logItems(ctx, Node.fromEntries(flat))).rejects.toMatchObject({ code: "CORRUPT" });
    // a bad length
    const badLength = new Map(entries0);
    badLength.set("length", textLeaf(ctx, "-1"));
    await expect(logItems(ctx, Node.fromEntries(badLength))).rejects.toMatchObject({ code: "CORRUPT" });
  });
});

describe("log costs (objects read and written, memory backend)", () => {
  async function costs(n: number) {
    const repo = await Repo.memory();
    const main = repo.branch("main");
    await main.log("l").appendAll(Array.from({ length: n }, (_, i) => `v${i}`));
    const { ctx } = repo.internals;
    const measure = async (fn: () => Promise<unknown>) => {
      ctx.cache.clear();
      const before = { ...ctx.stats };
      await fn();
      return { reads: ctx.stats.reads - before.reads, writes: ctx.stats.writes - before.writes };
    };
    const append = await measure(() => main.log("l").append("x"));
    const read10 = await measure(() => main.log("l").read({ limit: 10 }));
    const read100 = await measure(() => main.log("l").read({ limit: 100 }));
    const length = await measure(() => main.log("l").length());
    const wip = await main.fork("wip");
    for (let i = 0; i < 5; i++) {
      await main.log("l").append(`m${i}`);
      await wip.log("l").append(`w${i}`);
    }
    const merge = await measure(() => main.merge(wip));
    expect(await main.log("l").length()).toBe(n + 11);
    // The tree's height depends on the random keys (content-defined chunking): costs are bounded by it.
    const { height } = await logItems(ctx, await subtreeAt(ctx, (await main.tree()).node, ["l"]));
    await repo.close();
    return { append, read10, read100, length, merge, height };
  }

  it("1,000 vs 100,000 entries: append, merge and reading the k newest cost the same order", async () => {
    const small = await costs(1000);
    const large = await costs(100_000);
    if (process.env.LOG_COSTS) console.log(JSON.stringify({ small, large }));
    // append: the blob, the length, the rightmost path, the commit and the root
    expect(large.append.writes).toBeLessThanOrEqual(12);
    // O(log n): one write per level, plus the blob, the length, the log's and the branch's roots and
    // the commit, and one more when the new entry splits the rightmost leaf (content-defined: ~6% of runs)
    for (const c of [small, large]) expect(c.append.writes).toBeLessThanOrEqual(c.height + 7);
    expect(large.append.writes - small.append.writes).toBeLessThanOrEqual(Math.max(2, large.height - small.height + 1));
    expect(large.append.reads - small.append.reads).toBeLessThanOrEqual(Math.max(3, large.height - small.height + 2));
    expect(large.append.reads).toBeLessThanOrEqual(15);
    // reading k newest: k blobs plus the path down (one more level per level of height) and the
    // leaves the k entries span (content-defined, so from random keys: a few either way)
    expect(large.read10.reads).toBeLessThanOrEqual(10 + 12);
    expect(large.read10.reads - small.read10.reads).toBeLessThanOrEqual(Math.max(3, large.height - small.height + 3));
    expect(large.read100.reads).toBeLessThanOrEqual(100 + 20);
    expect(large.read10.writes + large.read100.writes).toBe(0);
    expect(large.length.reads).toBeLessThanOrEqual(5);
    // merging 5 new entries on each side
    expect(large.merge.writes).toBeLessThanOrEqual(25);
    expect(large.merge.writes - small.merge.writes).toBeLessThanOrEqual(6);
    expect(large.merge.reads).toBeLessThanOrEqual(80);
    expect(large.merge.reads - small.merge.reads).toBeLessThanOrEqual(20);
  }, 30_000);

  it("a merge does not open what only the busier side added: 1 entry against 50,000 costs a few reads", async () => {
    const repo = await Repo.memory();
    const main = repo.branch("main");
    await main.log("l").appendAll(Array.from({ length: 1000 }, (_, i) => `old ${i}`));
    const wip = await main.fork("wip");
    await main.log("l").appendAll(Array.from({ length: 50_000 }, (_, i) => `main ${i}`));
    await wip.log("l").append("wip");
    const { ctx } = repo.internals;
    ctx.cache.clear();
    const before = { ...ctx.stats };
    expect((await main.merge(wip)).ok).toBe(true);
    const reads = ctx.stats.reads - before.reads;
    const writes = ctx.stats.writes - before.writes;
    if (process.env.LOG_COSTS) console.log({ reads, writes });
    expect(reads).toBeLessThanOrEqual(60);
    expect(writes).toBeLessThanOrEqual(12);
    expect(await main.log("l").length()).toBe(51_001);
    expect((await main.log("l").read({ limit: 2 })).entries.map((e) => e.value)).toEqual(["wip", "main 49999"]);
    await repo.close();
  });
});
