import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { join } from "node:path";
import { gitText, tempDir } from "../../backends/git/git-cli.js";
import { startGitDaemon, type GitDaemon } from "../helpers/git-daemon.js";
import { startHttpBackend, type HttpBackend } from "../helpers/http-backend.js";
import { gitAsync } from "../helpers/git-async.js";
import { Remote } from "../../../src/sync/remote.js";
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

      // pull --strategy set onto another branch.
      const other = repo.branch("other");
      const set = await pullBranch(other, remote(), { branch: "side", strategy: "set" });
      expect(set.ok && set.commit?.hash).toBe(gitText(server.bare, ["--git-dir", server.bare, "rev-parse", "side"]));
      await expect(pullBranch(other, remote(), { branch: "nope" })).rejects.toMatchObject({ code: "NOT_FOUND" });
    } finally {
      await repo.close();
    }
  });

  it("rejects a non-fast-forward push unless forced", async () => {
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
