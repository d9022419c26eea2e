import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { join } from "node:path";
import { gitText, tempDir } from "../../backends/git/git-cli.js";
import { startHttpBackend, type HttpBackend } from "../helpers/http-backend.js";
import { gitAsync } from "../helpers/git-async.js";
import { Remote } from "../../../src/sync/remote.js";
import { Repo } from "../../../src/store/repo.js";
import { cloneRepo, fetchRemote, pushBranch } from "../../../src/sync/operations.js";
import { fsck, makeServerRepo } from "./fixtures.js";

/** The client's own checks before a push (the real git http-backend as the remote). */
describe("push: the client's fast-forward check", () => {
  const tmp = tempDir("irmin-push-checks-");
  let http: HttpBackend;
  beforeAll(async () => {
    http = await startHttpBackend(tmp.dir);
  });
  afterAll(async () => {
    await http?.stop();
    tmp.remove();
  });

  it("a child dated days before its parent (skewed clock) is a fast-forward, as git says", async () => {
    const server = makeServerRepo(tmp.dir, "skew.git");
    const path = join(tmp.dir, "skew-clone.git");
    const repo = await cloneRepo(Remote.url(http.url("skew.git")), { path });
    try {
      const parent = server.head();
      const parentTime = Number(gitText(path, ["--git-dir", path, "log", "-1", "--format=%ct", parent]));
      const skewed = `${parentTime - 3 * 86_400} +0000`;
      const tree = gitText(path, ["--git-dir", path, "rev-parse", `${parent}^{tree}`]);
      const child = (await gitAsync(path, ["--git-dir", path, "commit-tree", tree, "-p", parent, "-m", "skewed child"], { GIT_COMMITTER_DATE: skewed, GIT_AUTHOR_DATE: skewed })).trim();
      await gitAsync(path, ["--git-dir", path, "update-ref", "refs/heads/main", child, parent]);
      // git agrees it is a descendant.
      await gitAsync(path, ["--git-dir", path, "merge-base", "--is-ancestor", parent, child]);
      expect((await repo.branch("main").head())?.hash).toBe(child);
      expect(await pushBranch(repo.branch("main"), Remote.url(http.url("skew.git")))).toEqual({ ok: true });
      expect(server.head()).toBe(child);
      fsck(server.bare);
    } finally {
      await repo.close();
    }
  });

  it("a remote head the local branch does not contain is still a non-fast-forward", async () => {
    const server = makeServerRepo(tmp.dir, "nff.git");
    const path = join(tmp.dir, "nff-clone.git");
    const repo = await cloneRepo(Remote.url(http.url("nff.git")), { path });
    try {
      const theirs = server.commit("concurrent");
      // The local side has their commit (fetched), so the check walks the whole local history.
      expect((await fetchRemote(repo, Remote.url(http.url("nff.git")), "main"))?.hash).toBe(theirs);
      await repo.branch("main").set("mine", "1");
      const ours = await pushBranch(repo.branch("main"), Remote.url(http.url("nff.git")));
      expect(!ours.ok && ours.reason).toMatch(/^non-fast-forward/);
      expect(server.head()).toBe(theirs);
    } finally {
      await repo.close();
    }
  });

  it("a SHA-1 branch pushed to a SHA-256 remote is UNSUPPORTED, not a non-fast-forward", async () => {
    const bare = join(tmp.dir, "sha256.git");
    const work = join(tmp.dir, "sha256-work");
    await gitAsync(tmp.dir, ["init", "-q", "--bare", "--object-format=sha256", "-b", "main", bare]);
    await gitAsync(tmp.dir, ["init", "-q", "--object-format=sha256", "-b", "main", work]);
    await gitAsync(work, ["commit", "-q", "--allow-empty", "-m", "first"]);
    await gitAsync(work, ["push", "-q", bare, "main"]);
    const before = gitText(bare, ["--git-dir", bare, "rev-parse", "main"]);
    const repo = await Repo.memory<string>();
    try {
      await repo.branch("main").set("k", "v");
      await expect(pushBranch(repo.branch("main"), Remote.url(http.url("sha256.git")))).rejects.toMatchObject({ code: "UNSUPPORTED" });
      expect(gitText(bare, ["--git-dir", bare, "rev-parse", "main"])).toBe(before);
    } finally {
      await repo.close();
    }
  });
});
