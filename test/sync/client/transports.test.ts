import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { join } from "node:path";
import { git, gitText, tempDir } from "../../backends/git/git-cli.js";
import { startGitDaemon, type GitDaemon } from "../helpers/git-daemon.js";
import { startHttpBackend, type HttpBackend } from "../helpers/http-backend.js";
import { gitAsync } from "../helpers/git-async.js";
import { Remote } from "../../../src/sync/remote.js";
import { Repo } from "../../../src/store/repo.js";
import { cloneRepo, fetchRemote, pullBranch, pushBranch } from "../../../src/sync/operations.js";
import type { SyncProgress } from "../../../src/sync/progress.js";
import { fsck, makeServerRepo } from "./fixtures.js";

const tmp = tempDir("irmin-sync-client-");
let daemon: GitDaemon;
let http: HttpBackend;
afterAll(async () => {
  await daemon?.stop();
  await http?.stop();
  tmp.remove();
});
beforeAll(async () => {
  daemon = await startGitDaemon(tmp.dir);
  http = await startHttpBackend(tmp.dir);
});

type Kind = "git-v2" | "git-v0" | "http-v2" | "http-v0" | "path";
const kinds: Kind[] = ["git-v2", "git-v0", "http-v2", "http-v0", "path"];
let counter = 0;

function remoteFor(kind: Kind, name: string): Remote {
  switch (kind) {
    case "git-v2":
      return Remote.url(daemon.url(name));
    case "git-v0":
      return Remote.url(daemon.url(name), { protocol: 0 });
    case "http-v2":
      return Remote.url(http.url(name));
    case "http-v0":
      return Remote.url(http.url(name), { protocol: 0 });
    case "path":
      return Remote.path(join(tmp.dir, name));
  }
}

describe.each(kinds)("sync client over %s", (kind) => {
  const name = `${kind}-${counter++}.git`;
  const server = makeServerRepo(tmp.dir, name);
  const remote = (): Remote => remoteFor(kind, name);
  // Push always speaks receive-pack's v0: testing it once per transport is enough.
  const pushes = !kind.endsWith("-v0");

  it("clones every branch (deltified pack), HEAD on main; git fsck --strict and git log agree", async () => {
    const path = join(tmp.dir, `${name}-clone`);
    const progress: SyncProgress[] = [];
    const repo = await cloneRepo(remote(), { path, onProgress: (p) => progress.push(p) });
    try {
      expect(await repo.branches()).toEqual(["main", "side"]);
      expect((await repo.branch("main").head())?.hash).toBe(server.head());
      expect(await repo.branch("main").get("f1.txt")).toBe(gitText(server.bare, ["--git-dir", server.bare, "show", "main:f1.txt"]) + "\n");
      fsck(path);
      expect(gitText(path, ["--git-dir", path, "log", "--format=%s", "-n", "2"])).toBe("c11\nc10");
      expect(gitText(path, ["--git-dir", path, "symbolic-ref", "HEAD"])).toBe("refs/heads/main");
      expect(progress.some((p) => p.phase === "writing")).toBe(true);
    } finally {
      await repo.close();
    }
  });

  it("fetches incrementally, then pulls (merge and set) and pushes; git sees the push", async () => {
    const path = join(tmp.dir, `${name}-local`);
    const repo = await cloneRepo(remote(), { path });
    try {
      const next = server.commit("remote change");
      const received: SyncProgress[] = [];
      const fetched = await fetchRemote(repo, remote(), "main", { onProgress: (p) => received.push(p) });
      expect(fetched?.hash).toBe(next);
      // Negotiation: only the new commit's objects travel, not the history.
      const total = received.filter((p) => p.phase === "receiving" || p.phase === "writing").at(-1)?.total ?? 0;
      expect(total).toBeGreaterThan(0);
      expect(total).toBeLessThan(6);
      expect((await repo.branch("main").head())?.hash).not.toBe(next); // fetch moves no branch
      expect(await fetchRemote(repo, remote(), "no-such-branch")).toBeUndefined();

      const main = repo.branch("main");
      const merged = await pullBranch(main, remote());
      expect(merged.ok && merged.commit?.hash).toBe(next);

      // pull --strategy set onto another branch.
      const other = repo.branch("other");
      const set = await pullBranch(other, remote(), { branch: "side", strategy: "set" });
      expect(set.ok && set.commit?.hash).toBe(gitText(server.bare, ["--git-dir", server.bare, "rev-parse", "side"]));
      await expect(pullBranch(other, remote(), { branch: "nope" })).rejects.toMatchObject({ code: "NOT_FOUND" });
      if (!pushes) return;
      await main.set("from-irmin", "hello\n", { message: "irmin commit" });
      expect(await pushBranch(main, remote())).toEqual({ ok: true });
      const remoteHead = gitText(server.bare, ["--git-dir", server.bare, "rev-parse", "main"]);
      expect(remoteHead).toBe((await main.head())?.hash);
      expect(gitText(server.bare, ["--git-dir", server.bare, "log", "--format=%s", "-n", "2"])).toBe("irmin commit\nremote change");
      expect(gitText(server.bare, ["--git-dir", server.bare, "show", "main:from-irmin"])).toBe("hello");
      fsck(server.bare);
      fsck(path);

      // A new branch on the remote.
      expect(await pushBranch(main, remote(), { branch: "pushed" })).toEqual({ ok: true });
      expect(gitText(server.bare, ["--git-dir", server.bare, "rev-parse", "pushed"])).toBe(remoteHead);

    } finally {
      await repo.close();
    }
  });

  if (pushes) it("rejects a non-fast-forward push unless forced", async () => {
    const path = join(tmp.dir, `${name}-nff`);
    const repo = await cloneRepo(remote(), { path });
    try {
      const theirs = server.commit("concurrent remote change");
      const main = repo.branch("main");
      await main.set("mine", "x", { message: "diverging local change" });
      const r = await pushBranch(main, remote());
      expect(r.ok).toBe(false);
      expect(!r.ok && r.reason).toMatch(/non-fast-forward/);
      expect(gitText(server.bare, ["--git-dir", server.bare, "rev-parse", "main"])).toBe(theirs);
      expect(await pushBranch(main, remote(), { force: true })).toEqual({ ok: true });
      expect(gitText(server.bare, ["--git-dir", server.bare, "rev-parse", "main"])).toBe((await main.head())?.hash);
      fsck(server.bare);
    } finally {
      await repo.close();
    }
  });

  it("fetches with depth 1: one commit, the shallow boundary recorded, git fsck --strict passes", async () => {
    const path = join(tmp.dir, `${name}-shallow`);
    const repo = await cloneRepo(remote(), { path, depth: 1 });
    try {
      const head = server.head();
      expect((await repo.branch("main").head())?.hash).toBe(head);
      expect(await repo.branch("main").get("notes.txt")).toContain("line 1:");
      // Only the branch heads themselves came over: no parent of any of them.
      const heads = new Set(gitText(server.bare, ["--git-dir", server.bare, "for-each-ref", "--format=%(objectname)", "refs/heads/"]).split("\n"));
      expect(gitText(path, ["--git-dir", path, "rev-list", "--all", "--count"])).toBe(String(heads.size));
      const parent = gitText(server.bare, ["--git-dir", server.bare, "rev-parse", "main~1"]);
      if (!heads.has(parent)) expect(await repo.internals.backend.objects.has(parent)).toBe(false);
      const shallow = gitText(path, ["--git-dir", path, "rev-parse", "--is-shallow-repository"]);
      expect(shallow).toBe("true");
      expect(gitText(path, ["--git-dir", path, "rev-list", "--count", "main"])).toBe("1");
      fsck(path);
      // Our own history stops at the boundary too, and the branch takes new commits.
      expect(await repo.branch("main").history()).toHaveLength(1);
      expect((await repo.branch("main").head())?.parents).toEqual([]);
      await repo.branch("main").set("after-shallow", "x");
      expect(await repo.branch("main").history()).toHaveLength(2);
      await repo.close();
      const reopened = await Repo.open({ path });
      expect(await reopened.branch("main").history()).toHaveLength(2);
      await reopened.close();
      fsck(path);
      // In memory as well.
      const mem = await cloneRepo(remote(), { backend: "memory", depth: 1 });
      expect(await mem.branch("main").history()).toHaveLength(1);
      expect(await mem.internals.backend.shallow?.list()).toContain(head);
      await mem.close();
    } finally {
      await repo.close();
    }
  });
});

describe("real git against what we pushed over http", () => {
  it("git clone of the pushed repository works", async () => {
    const name = "git-clone-check.git";
    makeServerRepo(tmp.dir, name, 5);
    const repo = await cloneRepo(Remote.url(http.url(name)), { backend: "memory" });
    await repo.branch("main").set("a/b", "c");
    expect(await pushBranch(repo.branch("main"), Remote.url(http.url(name)))).toEqual({ ok: true });
    await gitAsync(tmp.dir, ["clone", "-q", http.url(name), "git-clone-check"]);
    expect(gitText(join(tmp.dir, "git-clone-check"), ["show", "HEAD:a/b"])).toBe("c");
  });
});

describe("SHA-256 repositories and remote progress", () => {
  it.each([["git", 2], ["http", 0]] as const)("clones and pushes a sha256 repository over %s (protocol v%s); progress from the remote", async (via, protocol) => {
    const name = `s256-${via}.git`;
    const bare = join(tmp.dir, name);
    const work = join(tmp.dir, `${name}-work`);
    git(tmp.dir, ["init", "-q", "--bare", "--object-format=sha256", "-b", "main", bare]);
    git(tmp.dir, ["init", "-q", "--object-format=sha256", "-b", "main", work]);
    git(work, ["commit", "-q", "--allow-empty", "-m", "first"]);
    git(work, ["push", "-q", bare, "main"]);
    const url = via === "git" ? daemon.url(name) : http.url(name);
    const progress: SyncProgress[] = [];
    const repo = await cloneRepo(Remote.url(url, { protocol }), { backend: "memory", onProgress: (p) => progress.push(p) });
    expect(repo.hashAlgorithm).toBe("sha256");
    expect((await repo.branch("main").head())?.hash).toBe(gitText(bare, ["--git-dir", bare, "rev-parse", "main"]));
    expect(progress.some((p) => p.phase === "counting" && p.message !== undefined)).toBe(true);
    await repo.branch("main").set("k", "v");
    expect(await pushBranch(repo.branch("main"), Remote.url(url, { protocol }))).toEqual({ ok: true });
    expect(gitText(bare, ["--git-dir", bare, "show", "main:k"])).toBe("v");
    fsck(bare);
    // A sha1 repository cannot take sha256 objects.
    const sha1 = await Repo.memory();
    await expect(fetchRemote(sha1, Remote.url(url, { protocol }), "main")).rejects.toMatchObject({ code: "UNSUPPORTED" });
  });

  it("a pack over maxPackBytes is refused with INVALID_ARGUMENT and moves nothing", async () => {
    const name = "big.git";
    const server = makeServerRepo(tmp.dir, name, 6);
    const local = await Repo.memory();
    await expect(fetchRemote(local, Remote.url(daemon.url(name), { maxPackBytes: 200 }), "main")).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    expect(await local.branches()).toEqual([]);
    expect((await fetchRemote(local, Remote.url(daemon.url(name)), "main"))?.hash).toBe(server.head());
  });
});
