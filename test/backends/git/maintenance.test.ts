import { afterEach, describe, expect, it } from "vitest";
import { statSync, utimesSync } from "node:fs";
import { join } from "node:path";
import type { Backend } from "../../../src/backend/backend.js";
import { gitBackend } from "../../../src/backends/git/git-backend.js";
import { Repo } from "../../../src/store/repo.js";
import { expectCode } from "../../conformance/helpers.js";
import { git, gitText, tempDir } from "./git-cli.js";

// git's destructive maintenance (`git repack -a -d`, `git gc --prune=now`) run beside an open
// repository: what the library still has open must not be taken for what is on disk.

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function repoPath(): string {
  const t = tempDir("irmin-git-maint-");
  cleanups.push(t.remove);
  return join(t.dir, "repo.git");
}

const fsck = (dir: string) => git(dir, ["--git-dir", dir, "fsck", "--strict", "--no-dangling"]);

/**
 * A repository with `a` set on main, where "another process" runs `git repack -a -d` right before
 * the next ref update (after `before`, given the real compare-and-set): what no ref reaches yet,
 * such as the commit about to be named, is dropped. `armed()` starts that from the next update.
 */
async function repackBeforeNextUpdate(before?: (testAndSet: Backend["refs"]["testAndSet"], name: string, expected: string | undefined) => Promise<void>) {
  const dir = repoPath();
  const backend = await gitBackend({ path: dir });
  const repo = await Repo.open({ backend });
  cleanups.push(() => repo.close());
  const main = repo.branch("main");
  await main.set("a", "1");
  const testAndSet = backend.refs.testAndSet.bind(backend.refs);
  let calls = 0;
  backend.refs.testAndSet = async (name, expected, next) => {
    if (calls++ === 0) {
      await before?.(testAndSet, name, expected);
      git(dir, ["--git-dir", dir, "repack", "-a", "-d", "-f", "-q"]);
    }
    return testAndSet(name, expected, next);
  };
  return { dir, repo, main, calls: () => calls, armed: () => void (calls = 0) };
}

describe("git maintenance beside an open repository", () => {
  it("objects git pruned are written again when a later commit needs them", async () => {
    const dir = repoPath();
    const repo = await Repo.open({ path: dir });
    cleanups.push(() => repo.close());
    const main = repo.branch("main");
    await main.set("readme", "hello");
    const wip = await main.fork("wip");
    // One small pack: the blob, the trees and the commit. Unreachable once the branch is gone.
    await wip.set("notes/todo", "buy milk");
    await repo.removeBranch("wip");
    git(dir, ["--git-dir", dir, "gc", "-q", "--prune=now"]);
    // The same blob and subtree again: before the fix, taken for present from the deleted pack.
    await main.set("notes/todo", "buy milk", { message: "again" });
    fsck(dir);
    expect(gitText(dir, ["--git-dir", dir, "cat-file", "-p", "main:notes/todo"])).toBe("buy milk");
  });

  it("a commit that git repack -a -d removed before its ref update is written again", async () => {
    const { dir, main, calls } = await repackBeforeNextUpdate();
    await main.set("b", "2");
    expect(calls()).toBe(2);
    fsck(dir);
    expect(gitText(dir, ["--git-dir", dir, "cat-file", "-p", "main:b"])).toBe("2");
    expect(gitText(dir, ["--git-dir", dir, "log", "--format=%s", "main"]).split("\n")).toHaveLength(2);
  });

  for (const strategy of ["set", "merge"] as const) {
    it(`a transaction (${strategy}) whose commit git repack -a -d removed is written again, every tree of it`, async () => {
      // With merge, another writer lands a commit first (the transaction then merges).
      const { dir, repo, main, armed } = await repackBeforeNextUpdate(async (testAndSet, name, expected) => {
        if (strategy === "merge") await testAndSet(name, expected, (await repo.branch("other").set("o", "2", { message: "other" }))!.hash);
      });
      await main.fork("other");
      armed();
      const r = await main.transaction(async (tx) => tx.set("t/deep/x", "tx value"), { strategy });
      expect(r.ok).toBe(true);
      fsck(dir);
      expect(gitText(dir, ["--git-dir", dir, "cat-file", "-p", "main:t/deep/x"])).toBe("tx value");
    });
  }

  it("a merge of a commit git pruned is NOT_FOUND, not a merge commit naming missing objects", async () => {
    const dir = repoPath();
    const repo = await Repo.open({ path: dir });
    cleanups.push(() => repo.close());
    const main = repo.branch("main");
    await main.set("a", "1");
    const wip = await main.fork("wip");
    await wip.set("w/x", "2");
    const lost = (await wip.head())!.hash;
    await main.set("b", "3");
    const kept = (await main.head())!.hash;
    await repo.removeBranch("wip");
    git(dir, ["--git-dir", dir, "gc", "-q", "--prune=now"]);
    await expectCode(main.merge(lost), "NOT_FOUND");
    expect((await main.head())!.hash).toBe(kept);
    fsck(dir);
  });

  it("a ref is not set to an object git removed: NOT_FOUND, and the ref is unchanged", async () => {
    const dir = repoPath();
    const repo = await Repo.open({ path: dir });
    cleanups.push(() => repo.close());
    const main = repo.branch("main");
    await main.set("a", "1");
    const kept = (await main.head())!.hash;
    const wip = await main.fork("wip");
    await wip.set("b", "2");
    const lost = (await wip.head())!.hash;
    await repo.removeBranch("wip");
    git(dir, ["--git-dir", dir, "gc", "-q", "--prune=now"]);
    await expectCode(main.reset(lost), "NOT_FOUND");
    expect((await main.head())!.hash).toBe(kept);
    fsck(dir);
  });

  it("an old loose object a write reuses gets a fresh time, so git gc's prune keeps it (as git's freshen_loose_object)", async () => {
    const dir = repoPath();
    const backend = await gitBackend({ path: dir });
    cleanups.push(() => backend.close());
    // Unreachable loose objects written a month ago (an aborted import, say): git prunes such after two weeks.
    const old = (text: string) => {
      const hash = gitText(dir, ["--git-dir", dir, "hash-object", "-w", "--stdin"], text);
      const file = join(dir, "objects", hash.slice(0, 2), hash.slice(2));
      const month = new Date(Date.now() - 30 * 86_400_000);
      utimesSync(file, month, month);
      return { hash, file };
    };
    const one = old("one\n");
    const two = old("two\n");
    const enc = new TextEncoder();
    // Written again by put (one object) and by a putMany below the pack threshold: found loose, not rewritten.
    expect(await backend.objects.put("blob", enc.encode("one\n"))).toBe(one.hash);
    expect(await backend.objects.putMany([{ type: "blob", data: enc.encode("two\n") }])).toEqual([two.hash]);
    for (const { file } of [one, two]) expect(Date.now() - statSync(file).mtimeMs).toBeLessThan(86_400_000);
    git(dir, ["--git-dir", dir, "prune", "--expire=2.weeks.ago"]);
    expect(gitText(dir, ["--git-dir", dir, "cat-file", "-p", one.hash])).toBe("one");
    expect(gitText(dir, ["--git-dir", dir, "cat-file", "-p", two.hash])).toBe("two");
  });
});
