/**
 * Gitlinks (submodules, mode 160000) and symlinks (mode 120000) in trees: a gitlink names a commit
 * of another repository, so it is not a value of the store (reads skip it), but it is kept as it
 * is when the tree around it is edited, merged and written back; a symlink stays a symlink.
 */
import { execFileSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { decodeTree, MODE_GITLINK, MODE_SYMLINK } from "../../src/codec/tree.js";
import { hashObject } from "../../src/codec/object.js";
import { parsePath } from "../../src/core/path.js";
import type { Branch } from "../../src/store/branch.js";
import type { Repo } from "../../src/store/repo.js";
import { updateAt } from "../../src/tree/edit.js";
import type { Tree } from "../../src/tree/tree.js";
import { repoMakers } from "./backends.js";

const SUB = "1234567890123456789012345678901234567890";
const SUB2 = "abcdefabcdefabcdefabcdefabcdefabcdefabcd";

/** `tree` with a raw entry (a gitlink, a symlink) at `path`, made through the tree layer. */
async function withEntry(tree: Tree<string>, path: string, mode: string, hash: string, bytes?: Uint8Array): Promise<Tree<string>> {
  const child = { kind: "contents" as const, mode, hash, ...(bytes && { pending: bytes }) };
  return tree.with(await updateAt(tree.ctx, tree.node, parsePath(path), () => child, undefined));
}

async function withSymlink(tree: Tree<string>, path: string, target: string): Promise<Tree<string>> {
  const bytes = new TextEncoder().encode(target);
  return withEntry(tree, path, MODE_SYMLINK, hashObject(tree.ctx.algorithm, "blob", bytes), bytes);
}

/** The raw entry (mode and id) at `path` in the branch's head tree, read from the stored objects. */
async function rawEntry(branch: Branch<string>, path: string): Promise<{ mode: string; hash: string } | undefined> {
  const { ctx } = branch.internals;
  let tree = (await branch.head())!.treeHash;
  const segments = parsePath(path);
  for (let i = 0; i < segments.length; i++) {
    const o = await ctx.objects.get(tree);
    const e = decodeTree(o!.data, ctx.algorithm).find((x) => x.name === segments[i]);
    if (e === undefined || i === segments.length - 1) return e && { mode: e.mode, hash: e.hash };
    tree = e.hash;
  }
  return undefined;
}

/** A branch whose head holds a file, a symlink, gitlinks at the root and in a directory. */
async function seed(repo: Repo<string>): Promise<Branch<string>> {
  const main = repo.branch("main");
  await main.set("file", "hello");
  let t = await main.tree();
  t = await withSymlink(t, "lnk", "file");
  t = await withEntry(t, "sub", MODE_GITLINK, SUB);
  t = await (await t.set("d/v", "1")).set("d/w", "2");
  t = await withEntry(t, "d/gl", MODE_GITLINK, SUB);
  await main.setTree("", t);
  return main;
}

for (const maker of repoMakers()) {
  describe(`gitlinks and symlinks (${maker.name})`, () => {
    afterAll(() => maker.cleanup());

    it("reads skip gitlinks: get, has, list, subtree, entries, diff", async () => {
      const repo = await maker.open();
      const main = repo.branch("main");
      const c0 = await main.set("file", "hello");
      await seed(repo);
      expect(await main.has("sub")).toBe(false);
      expect(await main.get("sub")).toBeUndefined();
      expect(await main.get("d/gl")).toBeUndefined();
      expect(await main.get("lnk")).toBe("file");
      expect(await main.list()).toEqual([
        { name: "d", kind: "node" },
        { name: "file", kind: "contents" },
        { name: "lnk", kind: "contents" },
      ]);
      expect((await main.list("d", { offset: 1 })).map((e) => e.name)).toEqual(["w"]);
      const t = await main.tree();
      expect(await t.subtree("sub")).toBeUndefined();
      const all: string[] = [];
      for await (const e of t.entries()) all.push(`${e.path.join("/")}=${e.value}`);
      expect(all).toEqual(["d/v=1", "d/w=2", "file=hello", "lnk=file"]);
      const older = await c0.tree();
      expect((await older.diff(t)).map((d) => `${d.kind} ${d.path.join("/")}`)).toEqual(["added d/v", "added d/w", "added lnk"]);
      expect((await t.diff(older)).map((d) => `${d.kind} ${d.path.join("/")}`)).toEqual(["removed d/v", "removed d/w", "removed lnk"]);
      // A gitlink replaced by a value (or the reverse) reads as the value appearing (or going).
      const t2 = await (await withEntry(t, "file", MODE_GITLINK, SUB2)).set("sub", "now a file");
      expect(await t.diff(t2)).toEqual([
        { path: ["file"], kind: "removed", before: "hello" },
        { path: ["sub"], kind: "added", after: "now a file" },
      ]);
      expect((await t.diff(await withEntry(t, "sub", MODE_GITLINK, SUB2))).length).toBe(0);
      await repo.close();
    });

    it("edits elsewhere keep gitlinks and symlinks as they are", async () => {
      const repo = await maker.open();
      const main = await seed(repo);
      await main.set("x", "1");
      await main.set("d/v", "changed");
      await main.set("lnk", "elsewhere");
      await main.transaction(async (tx) => {
        await tx.set("d/y", "3");
        await tx.remove("x");
      });
      expect(await rawEntry(main, "sub")).toEqual({ mode: MODE_GITLINK, hash: SUB });
      expect(await rawEntry(main, "d/gl")).toEqual({ mode: MODE_GITLINK, hash: SUB });
      expect((await rawEntry(main, "lnk"))?.mode).toBe(MODE_SYMLINK);
      expect(await main.get("lnk")).toBe("elsewhere");
      // A write at a gitlink's path replaces it, as it does a value.
      await main.set("sub", "a file");
      expect(await rawEntry(main, "sub")).toEqual({ mode: "100644", hash: hashObject("sha1", "blob", new TextEncoder().encode("a file")) });
      await main.remove("d/gl");
      expect(await rawEntry(main, "d/gl")).toBeUndefined();
      await repo.close();
    });

    it("a large directory (spliced from its known encoding, not encoded whole) keeps its gitlinks and symlinks", async () => {
      const repo = await maker.open();
      const main = repo.branch("main");
      await main.transaction(async (tx) => {
        for (let i = 0; i < 1100; i++) await tx.set(`big/f${i}`, String(i));
      });
      let t = await main.tree();
      t = await withEntry(t, "big/sub", MODE_GITLINK, SUB);
      t = await withSymlink(t, "big/lnk", "f1");
      await main.setTree("", t);
      await main.set("big/f5", "changed");
      await main.set("big/new", "added");
      expect(await rawEntry(main, "big/sub")).toEqual({ mode: MODE_GITLINK, hash: SUB });
      expect((await rawEntry(main, "big/lnk"))?.mode).toBe(MODE_SYMLINK);
      expect((await main.list("big")).length).toBe(1102);
      await repo.close();
    });

    it("merges: a gitlink unchanged is kept, changed on one side is taken, changed on both differently conflicts", async () => {
      const repo = await maker.open();
      const main = await seed(repo);
      const wip = await main.fork("wip");
      await main.set("a", "1");
      await wip.set("b", "2");
      expect((await main.merge(wip)).ok).toBe(true);
      expect(await rawEntry(main, "sub")).toEqual({ mode: MODE_GITLINK, hash: SUB });
      expect((await rawEntry(main, "lnk"))?.mode).toBe(MODE_SYMLINK);

      await wip.merge(main);
      await wip.setTree("", await withEntry(await wip.tree(), "sub", MODE_GITLINK, SUB2));
      await main.set("c", "3");
      expect((await main.merge(wip)).ok).toBe(true);
      expect(await rawEntry(main, "sub")).toEqual({ mode: MODE_GITLINK, hash: SUB2 });
      expect(await rawEntry(main, "d/gl")).toEqual({ mode: MODE_GITLINK, hash: SUB });

      await wip.merge(main);
      await wip.setTree("", await withEntry(await wip.tree(), "d/gl", MODE_GITLINK, SUB2));
      await main.setTree("", await withEntry(await main.tree(), "d/gl", MODE_GITLINK, "0".repeat(39) + "1"));
      const r = await main.merge(wip);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.conflicts.map((c) => c.path)).toEqual(["d/gl"]);

      // A gitlink on one side, a value on the other, both changed from the ancestor: a conflict too.
      const other = await main.fork("other");
      await wip.set("d/gl", "a file");
      const r2 = await other.merge(wip);
      expect(r2.ok).toBe(false);
      if (!r2.ok) expect(r2.conflicts).toEqual([{ path: "d/gl", message: expect.stringContaining("submodule") }]);
      await repo.close();
    });
  });
}

describe("a tree git wrote with a submodule and a symlink", () => {
  const git = (dir: string, args: string[], input?: string) => execFileSync("git", ["--git-dir", dir, ...args], { input, encoding: "utf8" }).trim();

  it("is read without the gitlink, kept by edits (also of a large directory), and git fsck --strict agrees", async () => {
    const { Repo } = await import("../../src/store/repo.js");
    const dir = await mkdtemp(join(tmpdir(), "irmin-gitlink-"));
    try {
      const path = join(dir, "repo.git");
      const repo = await Repo.open({ path });
      const main = repo.branch("main");
      const c0 = await main.set("file", "hello");
      const blob = git(path, ["hash-object", "-w", "--stdin"], "hello");
      const link = git(path, ["hash-object", "-w", "--stdin"], "file");
      const tree = git(path, ["mktree"], `100644 blob ${blob}\tfile\n160000 commit ${SUB}\tsub\n120000 blob ${link}\tlnk\n`);
      git(path, ["update-ref", "refs/heads/main", git(path, ["commit-tree", tree, "-p", c0.hash, "-m", "with submodule"])]);
      expect(await main.has("sub")).toBe(false);
      expect(await main.get("sub")).toBeUndefined();
      expect((await main.list()).map((e) => e.name)).toEqual(["file", "lnk"]);
      expect((await (await c0.tree()).diff(await main.tree())).map((d) => `${d.kind} ${d.path.join("/")}`)).toEqual(["added lnk"]);
      await main.set("x", "1");
      expect(git(path, ["ls-tree", "main"]).split("\n")).toEqual([
        `100644 blob ${blob}\tfile`,
        `120000 blob ${link}\tlnk`,
        `160000 commit ${SUB}\tsub`,
        `100644 blob ${hashObject("sha1", "blob", new TextEncoder().encode("1"))}\tx`,
      ]);
      await repo.close();
      execFileSync("git", ["--git-dir", path, "fsck", "--strict", "--no-dangling"], { stdio: "pipe" });

      // A large directory git wrote, changed first after an open: spliced from its stored bytes.
      const entries = Array.from({ length: 1100 }, (_, i) => `100644 blob ${blob}\tf${String(i).padStart(4, "0")}`);
      const big = git(path, ["mktree"], [...entries, `160000 commit ${SUB}\tsub`, `120000 blob ${link}\tlnk`].join("\n") + "\n");
      const root = git(path, ["mktree"], `040000 tree ${big}\tbig\n`);
      git(path, ["update-ref", "refs/heads/big", git(path, ["commit-tree", root, "-m", "big"])]);
      const again = await Repo.open({ path });
      await again.branch("big").set("big/f0001", "changed");
      await again.close();
      const listed = git(path, ["ls-tree", "big:big"]).split("\n");
      expect(listed.length).toBe(1102);
      expect(listed).toContain(`160000 commit ${SUB}\tsub`);
      expect(listed).toContain(`120000 blob ${link}\tlnk`);
      execFileSync("git", ["--git-dir", path, "fsck", "--strict", "--no-dangling"], { stdio: "pipe" });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
