/**
 * Trees changed by commits and transactions are encoded by splicing the bytes of the tree they
 * were copied from (codec/tree-layout.ts). Whatever the mix of operations, the result must be the
 * tree a fresh repository encodes whole from the same contents: same id, so same bytes.
 */
import { execFileSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Repo } from "../../src/store/repo.js";
import type { Node } from "../../src/tree/node.js";
import type { Tree } from "../../src/tree/tree.js";

// Names chosen around Git's order: tree "a" sorts as "a/", between file "a.b" and file "a0".
const NAMES = ["a", "a.b", "a0", "b", "é"];
const BIG = 40;

type Path = string[];
type Op =
  | { kind: "set"; path: Path; value: string }
  | { kind: "remove"; path: Path }
  | { kind: "copy"; from: Path; to: Path; edits: { path: Path; value: string }[] }
  | { kind: "hash" };

const path: fc.Arbitrary<Path> = fc.oneof(
  fc.array(fc.constantFrom(...NAMES), { minLength: 1, maxLength: 3 }),
  fc.nat(BIG + 5).map((i) => ["big", String(i)]),
);
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant("set" as const), path, value: fc.string({ maxLength: 3 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("remove" as const), path }) },
  // A subtree copied elsewhere, after changes made to it as an immutable Tree (chains of copies).
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("copy" as const),
      from: path,
      to: path,
      edits: fc.array(fc.record({ path, value: fc.string({ maxLength: 3 }) }), { maxLength: 3 }),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: "hash" as const }) },
);
/** A step: one operation as its own commit, or a transaction of several. */
const step = fc.oneof(
  op.map((o) => ({ tx: false, ops: [o] })),
  fc.array(op, { minLength: 1, maxLength: 25 }).map((ops) => ({ tx: true, ops })),
);

const key = (p: Path) => p.join("/");
const under = (k: string, p: Path) => k === key(p) || k.startsWith(`${key(p)}/`);

/** The model: leaf path -> value, with the store's rules (a value replaces a directory and the reverse). */
function apply(model: Map<string, string>, o: Op): void {
  if (o.kind === "hash") return;
  if (o.kind === "remove") {
    for (const k of [...model.keys()]) if (under(k, o.path)) model.delete(k);
    return;
  }
  const to = o.kind === "set" ? o.path : o.to;
  const copied = o.kind === "copy" ? [...model].filter(([k]) => under(k, o.from) && k !== key(o.from)).map(([k, v]) => [k.slice(key(o.from).length + 1), v] as const) : [];
  // Copying from no directory does nothing (see run).
  if (o.kind === "copy" && copied.length === 0) return;
  for (const k of [...model.keys()]) if (under(k, to)) model.delete(k);
  // A value on the way becomes a directory.
  for (let i = 1; i < to.length; i++) model.delete(key(to.slice(0, i)));
  if (o.kind === "set") {
    model.set(key(to), o.value);
    return;
  }
  for (const [k, v] of copied) model.set(`${key(to)}/${k}`, v);
  for (const e of o.edits) apply(model, { kind: "set", path: [...to, ...e.path], value: e.value });
}

interface Target {
  set(path: Path, value: string): Promise<unknown>;
  remove(path: Path): Promise<unknown>;
  setTree(path: Path, tree: Tree<string>): Promise<unknown>;
  tree(): Promise<Tree<string>>;
}

/** What the store does for `o`, on a branch (one commit) or in a transaction. */
async function run(target: Target, o: Op): Promise<void> {
  if (o.kind === "set") await target.set(o.path, o.value);
  else if (o.kind === "remove") await target.remove(o.path);
  else if (o.kind === "hash") await (await target.tree()).hash();
  else {
    let sub = await (await target.tree()).subtree(o.from);
    // Only directories are copied (a subtree of a value or of nothing is no tree).
    if (sub === undefined || (await sub.isEmpty())) return;
    for (const e of o.edits) sub = await sub.set(e.path, e.value);
    await target.setTree(o.to, sub);
  }
}

/** The id of the tree holding `model`, built in one go by a fresh repository (every tree encoded whole). */
async function fresh(model: Map<string, string>): Promise<string> {
  const repo = await Repo.memory();
  try {
    let tree = await repo.branch("main").tree();
    for (const [k, v] of model) tree = await tree.set(k, v);
    return await tree.hash();
  } finally {
    await repo.close();
  }
}

describe("tree encoding by splicing", () => {
  it("commits and transactions give the ids of trees encoded whole (fast-check)", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 12 }), async (steps) => {
        const repo = await Repo.memory();
        try {
          const main = repo.branch("main");
          const model = new Map<string, string>();
          await main.transaction(async (tx) => {
            for (let i = 0; i < BIG; i++) await tx.set(["big", String(i)], `v${i}`);
          });
          for (let i = 0; i < BIG; i++) model.set(`big/${i}`, `v${i}`);
          for (const s of steps) {
            if (s.tx) {
              await main.transaction(async (tx) => {
                for (const o of s.ops) await run(tx, o);
              });
            } else {
              await run(main, s.ops[0]);
            }
            for (const o of s.ops) apply(model, o);
            expect(await (await main.tree()).hash()).toBe(await fresh(model));
            // Every object was written (a tree hashed in a transaction, then changed, is still written).
            for (const [k, v] of model) expect(await main.get(k)).toBe(v);
          }
        } finally {
          await repo.close();
        }
      }),
      { numRuns: 60 },
    );
  });

  it("a directory emptied in a transaction is pruned, as outside one (no empty tree is committed)", async () => {
    const repo = await Repo.memory();
    const main = repo.branch("main");
    await main.set("keep", "x");
    const before = await (await main.tree()).hash();
    await main.transaction(async (tx) => {
      await tx.set("a/b/c", "1");
      await tx.set("a/d", "2");
      await tx.remove("a/b/c");
      await tx.remove("a/d");
    });
    expect((await main.list("")).map((e) => e.name)).toEqual(["keep"]);
    expect(await (await main.tree()).hash()).toBe(before);
    await repo.close();
  });

  it("a tree hashed in a transaction, then changed, is written with what it held (its new blobs too)", async () => {
    const dir = await mkdtemp(join(tmpdir(), "irmin-splice-"));
    try {
      const repo = await Repo.open({ path: dir });
      const main = repo.branch("main");
      await main.set("d/0", "zero");
      await main.transaction(async (tx) => {
        await tx.set("d/1", "one, new in this transaction");
        await (await tx.tree()).hash();
        await tx.set("d/2", "two, after the hash");
      });
      await repo.close();
      // Read by another opening of the repository (nothing cached), then checked by git.
      const again = await Repo.open({ path: dir });
      expect(await again.branch("main").get("d/1")).toBe("one, new in this transaction");
      expect(await again.branch("main").get("d/2")).toBe("two, after the hash");
      await again.close();
      execFileSync("git", ["--git-dir", dir, "fsck", "--strict", "--no-dangling"], { stdio: "pipe" });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("a tree copied from a hashed tree, both committed, keeps no blob bytes once they are stored", async () => {
    const repo = await Repo.memory();
    const main = repo.branch("main");
    await main.transaction(async (tx) => {
      for (let i = 0; i < 40; i++) await tx.set(`d/${i}`, "v");
    });
    const t1 = await (await main.tree()).set("d/a", "x".repeat(100_000));
    await t1.hash();
    // Copied before t1 is written: its unchanged entry "a" still holds the bytes t1's write drops.
    const t2 = await t1.set("d/b", "y");
    await main.setTree([], t1);
    await main.setTree([], t2);
    await main.set("d/c", "z");
    const ctx = repo.internals.ctx;
    const d = (await ctx.load((await main.tree()).node)).get("d");
    expect(d?.kind).toBe("node");
    const entries = await ctx.load((d as { node: Node }).node);
    expect([...entries.values()].filter((c) => c.kind === "contents" && c.pending !== undefined)).toEqual([]);
    expect(await main.get("d/a")).toBe("x".repeat(100_000));
    await repo.close();
  });

  it("hashes of one tree taken at the same time agree, then the tree is written with all it holds", async () => {
    // Found by test/store/transaction-order.test.ts: a node hashed by a concurrent call while
    // another was encoding it took the "hashed before, written now" path with nothing to write to.
    const repo = await Repo.memory();
    const main = repo.branch("main");
    await main.set("d/seed", "s");
    const hashes: string[] = [];
    await main.transaction(async (tx) => {
      await tx.set("a", "");
      await tx.remove("a/c");
      await tx.set("d/f/g", "");
      const hash = async () => hashes.push(await (await tx.tree()).hash());
      await Promise.all([hash(), hash(), hash(), tx.remove("a")]);
      await tx.remove("a");
    });
    expect(new Set(hashes).size).toBe(1);
    expect(await main.get("d/f/g")).toBe("");
    expect(await main.get("d/seed")).toBe("s");
    await repo.close();
  });

  it("a large directory of the store, changed first after an open, is spliced from its stored bytes: same id, git agrees", async () => {
    const dir = await mkdtemp(join(tmpdir(), "irmin-splice-stored-"));
    try {
      // Names around Git's order (tree "a" sorts as "a/"), multi-byte names, subtrees, modes.
      const model = new Map<string, string>();
      for (let i = 0; i < 1500; i++) model.set(`d/${i % 3 === 0 ? "é" : "k"}${i}`, `v${i}`);
      for (const k of ["d/a/x", "d/a.b", "d/a0", "d/sub/y", "d/日本"]) model.set(k, k);
      const gitDir = join(dir, "r.git");
      let repo = await Repo.open({ path: gitDir });
      await repo.branch("main").transaction(async (tx) => {
        for (const [k, v] of model) await tx.set(k, v);
      });
      await repo.close();
      const changes: Op[] = [
        { kind: "set", path: ["d", "new"], value: "n" },
        { kind: "set", path: ["d", "k1"], value: "changed" },
        { kind: "remove", path: ["d", "é0"] },
        { kind: "set", path: ["d", "a.b", "now-a-dir"], value: "t" },
        { kind: "remove", path: ["d", "a"] },
        { kind: "set", path: ["d", "a", "back"], value: "b" },
        { kind: "set", path: ["d", "sub", "z"], value: "z" },
      ];
      for (const o of changes) {
        // A fresh open each time: the directory is only in the store when it is changed.
        repo = await Repo.open({ path: gitDir });
        const main = repo.branch("main");
        await run(main, o);
        apply(model, o);
        expect(await (await main.tree()).hash()).toBe(await fresh(model));
        await repo.close();
      }
      execFileSync("git", ["--git-dir", gitDir, "fsck", "--strict"], { stdio: "pipe" });
      // The stored bytes are read once more, for a directory large enough to be worth it only.
      const extraReads = async (entries: number) => {
        const path = join(dir, `count-${entries}.git`);
        let r = await Repo.open({ path });
        await r.branch("main").transaction(async (tx) => {
          for (let i = 0; i < entries; i++) await tx.set(["d", `k${i}`], "v");
        });
        await r.close();
        r = await Repo.open({ path });
        await r.branch("main").get("d/k0");
        const before = r.internals.ctx.stats.reads;
        await r.branch("main").set("d/new", "x");
        const reads = r.internals.ctx.stats.reads - before;
        await r.close();
        return reads;
      };
      expect((await extraReads(1024)) - (await extraReads(1023))).toBe(1);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("a directory changed in many places at once (more than the splice takes) is encoded whole, same id", async () => {
    const repo = await Repo.memory();
    const main = repo.branch("main");
    const model = new Map<string, string>();
    await main.transaction(async (tx) => {
      for (let i = 0; i < 200; i++) await tx.set(["d", String(i)], "x");
    });
    for (let i = 0; i < 200; i++) model.set(`d/${i}`, "x");
    for (const changes of [1, 16, 17, 25, 26, 199]) {
      await main.transaction(async (tx) => {
        for (let i = 0; i < changes; i++) {
          if (i % 3 === 0) await tx.remove(["d", String(i)]);
          else await tx.set(["d", String(i)], `y${changes}`);
        }
      });
      for (let i = 0; i < changes; i++) {
        if (i % 3 === 0) model.delete(`d/${i}`);
        else model.set(`d/${i}`, `y${changes}`);
      }
      expect(await (await main.tree()).hash()).toBe(await fresh(model));
    }
    await repo.close();
  });
});
