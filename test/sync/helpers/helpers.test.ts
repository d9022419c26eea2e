import { describe, it, expect, afterAll } from "vitest";
import { join } from "node:path";
import { git, gitText, tempDir } from "../../backends/git/git-cli.js";
import { startGitDaemon } from "./git-daemon.js";
import { startHttpBackend } from "./http-backend.js";
import { gitAsync } from "./git-async.js";

describe("test helpers: git daemon and the http-backend bridge serve real git", () => {
  const tmp = tempDir("irmin-sync-helpers-");
  afterAll(() => tmp.remove());
  const src = join(tmp.dir, "src.git");
  git(tmp.dir, ["init", "-q", "--bare", "-b", "main", src]);
  const work = join(tmp.dir, "work");
  git(tmp.dir, ["init", "-q", "-b", "main", work]);
  git(work, ["commit", "-q", "--allow-empty", "-m", "one"]);
  git(work, ["push", "-q", src, "main"]);
  const head = gitText(work, ["rev-parse", "HEAD"]);

  it("git daemon: clone and push", async () => {
    const d = await startGitDaemon(tmp.dir);
    try {
      await gitAsync(tmp.dir, ["clone", "-q", d.url("src.git"), "c1"]);
      expect(gitText(join(tmp.dir, "c1"), ["rev-parse", "HEAD"])).toBe(head);
      git(work, ["commit", "-q", "--allow-empty", "-m", "two"]);
      await gitAsync(work, ["push", "-q", d.url("src.git"), "main"]);
      expect(gitText(src, ["--git-dir", src, "rev-parse", "main"])).toBe(gitText(work, ["rev-parse", "HEAD"]));
    } finally {
      await d.stop();
    }
  });

  it("http-backend: clone (v2) and push", async () => {
    const h = await startHttpBackend(tmp.dir);
    try {
      await gitAsync(tmp.dir, ["-c", "protocol.version=2", "clone", "-q", h.url("src.git"), "c2"]);
      expect(gitText(join(tmp.dir, "c2"), ["rev-parse", "HEAD"])).toBe(gitText(src, ["--git-dir", src, "rev-parse", "main"]));
      git(work, ["commit", "-q", "--allow-empty", "-m", "three"]);
      await gitAsync(work, ["push", "-q", h.url("src.git"), "main"]);
      expect(gitText(src, ["--git-dir", src, "rev-parse", "main"])).toBe(gitText(work, ["rev-parse", "HEAD"]));
    } finally {
      await h.stop();
    }
  });
});
