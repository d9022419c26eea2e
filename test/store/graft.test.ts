/** `setTree` with a tree read from another repository: its stored objects are copied, never left behind. */
import { execFileSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { isIrminError } from "../../src/core/errors.js";
import { Repo } from "../../src/store/repo.js";
import type { Tree } from "../../src/tree/tree.js";

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});
async function scratch(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), "irmin-graft-"));
  dirs.push(d);
  return d;
}

describe("grafting a tree of another repository", () => {
  it("copies what the other store holds (stored subtrees and blobs), writes the rest with the commit; git fsck agrees", async () => {
    const dir = await scratch();
    const ours = await Repo.open({ path: dir });
    const theirs = await Repo.memory();
    await theirs.branch("main").set("p/q", "stored in theirs");
    await theirs.branch("main").set("p/deep/er", "also stored");
    let t = await theirs.branch("main").tree();
    t = await t.set("p/r", "pending in theirs");
    await ours.branch("main").set("k", "v");
    await ours.branch("main").setTree("x", t);
    await ours.close();
    await theirs.close();
    const again = await Repo.open({ path: dir });
    const main = again.branch("main");
    expect(await main.get("x/p/q")).toBe("stored in theirs");
    expect(await main.get("x/p/deep/er")).toBe("also stored");
    expect(await main.get("x/p/r")).toBe("pending in theirs");
    expect(await main.get("k")).toBe("v");
    await again.close();
    execFileSync("git", ["--git-dir", dir, "fsck", "--strict", "--no-dangling"], { stdio: "pipe" });
  });

  it("copies nothing when the other repository shares the store (the same directory opened twice)", async () => {
    const dir = await scratch();
    const first = await Repo.open({ path: dir });
    await first.branch("main").set("a/b", "1");
    const second = await Repo.open({ path: dir });
    const before = second.internals.ctx.stats.writes;
    const tree = await (await second.branch("main").tree()).setTree("copy", await first.branch("main").tree());
    expect(second.internals.ctx.stats.writes).toBe(before);
    expect(await tree.get("copy/a/b")).toBe("1");
    await first.close();
    await second.close();
  });

  it("refuses a tree of a repository with another hash algorithm", async () => {
    const sha1 = await Repo.memory();
    const sha256 = await Repo.memory({ hash: "sha256" });
    await sha256.branch("main").set("a", "1");
    const t = await sha256.branch("main").tree();
    await expect(sha1.branch("main").setTree("x", t)).rejects.toSatisfy((e: unknown) => isIrminError(e, "INVALID_ARGUMENT"));
    await sha1.close();
    await sha256.close();
  });
});

/** Opens a repository of each kind: memory, or git in a scratch directory (`dir` then set, for git fsck). */
const KINDS = ["memory", "git"] as const;
async function open(kind: (typeof KINDS)[number]): Promise<{ repo: Repo; dir?: string }> {
  if (kind === "memory") return { repo: await Repo.memory() };
  const dir = await scratch();
  return { repo: await Repo.open({ path: dir }), dir };
}
const fsck = (dir: string | undefined) => dir !== undefined && execFileSync("git", ["--git-dir", dir, "fsck", "--strict", "--no-dangling"], { stdio: "pipe" });

for (const kind of KINDS) {
  describe(`grafting in-memory trees of another repository (${kind})`, () => {
    it("a changed large directory (1,024+ entries, spliced by its own repository) is complete in ours", async () => {
      const ours = await open(kind);
      const theirs = await open(kind);
      await theirs.repo.branch("main").transaction(async (tx) => {
        for (let i = 0; i < 1100; i++) await tx.set(`big/f${i}`, String(i));
      });
      const t = await (await (await theirs.repo.branch("main").tree()).set("big/new", "added in theirs")).remove("big/f7");
      // Nothing hashed in theirs first: the changed directory still knows only where it was copied from.
      const grafted = await (await ours.repo.branch("x").tree()).setTree("imp", t);
      const hash = await (await grafted.subtree("imp/big"))!.hash();
      await ours.repo.branch("main").setTree("imp", t);
      expect(await ours.repo.branch("main").get("imp/big/new")).toBe("added in theirs");
      expect(await ours.repo.branch("main").get("imp/big/f7")).toBeUndefined();
      const want = await (await t.subtree("big"))!.hash();
      expect(hash).toBe(want);
      expect(await (await ours.repo.branch("main").tree()).subtree("imp/big").then((b) => b!.hash())).toBe(want);
      await ours.repo.close();
      await theirs.repo.close();
      fsck(ours.dir);
    });

    it("the other repository can still commit the tree it lent (its in-memory nodes are not marked written by ours)", async () => {
      const ours = await open(kind);
      const theirs = await open(kind);
      await theirs.repo.branch("main").set("p/q", "stored");
      let t: Tree<string> = await theirs.repo.branch("main").tree();
      t = await (await t.set("p/r", "pending")).set("n/m", "new directory");
      await ours.repo.branch("main").setTree("imp", t);
      await theirs.repo.branch("x").setTree("", t);
      expect(await theirs.repo.branch("x").get("n/m")).toBe("new directory");
      expect(await theirs.repo.branch("x").get("p/r")).toBe("pending");
      expect(await ours.repo.branch("main").get("imp/p/r")).toBe("pending");
      await ours.repo.close();
      await theirs.repo.close();
      fsck(ours.dir);
      fsck(theirs.dir);
    });

    it("Tree.diff between trees of two repositories reads each side from its own store", async () => {
      const ours = await open(kind);
      const theirs = await open(kind);
      await ours.repo.branch("main").set("a", "1");
      await ours.repo.branch("main").set("d/x", "same");
      await theirs.repo.branch("main").set("b", "2");
      await theirs.repo.branch("main").set("d/x", "same");
      const mine = await ours.repo.branch("main").tree();
      const other = await (await theirs.repo.branch("main").tree()).set("d/y", "pending");
      expect(await mine.diff(other)).toEqual([
        { path: ["a"], kind: "removed", before: "1" },
        { path: ["b"], kind: "added", after: "2" },
        { path: ["d", "y"], kind: "added", after: "pending" },
      ]);
      expect((await other.diff(mine)).map((d) => `${d.kind} ${d.path.join("/")}`)).toEqual(["added a", "removed b", "removed d/y"]);
      await ours.repo.close();
      await theirs.repo.close();
    });
  });
}

it("Tree.diff refuses a tree of a repository with another hash algorithm", async () => {
  const sha1 = await Repo.memory();
  const sha256 = await Repo.memory({ hash: "sha256" });
  await sha1.branch("main").set("a", "1");
  await sha256.branch("main").set("a", "1");
  const diff = (await sha1.branch("main").tree()).diff(await sha256.branch("main").tree());
  await expect(diff).rejects.toSatisfy((e: unknown) => isIrminError(e, "INVALID_ARGUMENT"));
  await sha1.close();
  await sha256.close();
});
