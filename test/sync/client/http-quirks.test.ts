import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { join } from "node:path";
import { gitText, tempDir } from "../../backends/git/git-cli.js";
import { startHttpBackend, type HttpBackend } from "../helpers/http-backend.js";
import { gitAsync } from "../helpers/git-async.js";
import { Remote } from "../../../src/sync/remote.js";
import { cloneRepo } from "../../../src/sync/operations.js";
import { fsck, makeServerRepo } from "./fixtures.js";

/** Smart HTTP servers (the real git http-backend) whose answers differ in ways git tolerates. */
describe("the HTTP client against servers git accepts", () => {
  const tmp = tempDir("irmin-http-quirks-");
  let http: HttpBackend;
  beforeAll(async () => {
    http = await startHttpBackend(tmp.dir, { contentTypeSuffix: "; charset=utf-8" });
  });
  afterAll(async () => {
    await http?.stop();
    tmp.remove();
  });

  for (const protocol of [0, 2] as const) {
    it(`v${protocol}: a Content-Type with parameters (…; charset=utf-8) is accepted, as git does`, async () => {
      const server = makeServerRepo(tmp.dir, `ctype-v${protocol}.git`);
      // git itself clones from it.
      await gitAsync(tmp.dir, ["-c", `protocol.version=${protocol}`, "clone", "-q", "--bare", http.url(`ctype-v${protocol}.git`), join(tmp.dir, `git-clone-v${protocol}.git`)]);
      const path = join(tmp.dir, `ours-v${protocol}.git`);
      const repo = await cloneRepo(Remote.url(http.url(`ctype-v${protocol}.git`), { protocol }), { path });
      try {
        expect((await repo.branch("main").head())?.hash).toBe(server.head());
        expect(gitText(path, ["--git-dir", path, "rev-parse", "main"])).toBe(server.head());
      } finally {
        await repo.close();
      }
    });
  }

  it("a branch with an invalid name is skipped with a warning, the rest is cloned, as git does", async () => {
    // git cannot make such a branch: the bridge renames refs/heads/zzzz (same length) on the way.
    const renaming = await startHttpBackend(tmp.dir, { rewriteBody: (b) => Buffer.from(b.toString("latin1").replaceAll("refs/heads/zzzz", "refs/heads/z..z"), "latin1") });
    try {
      const server = makeServerRepo(tmp.dir, "funny.git");
      await gitAsync(server.bare, ["--git-dir", server.bare, "branch", "zzzz", "main"]);
      for (const protocol of [0, 2] as const) {
        const gitClone = join(tmp.dir, `funny-git-v${protocol}.git`);
        await gitAsync(tmp.dir, ["-c", `protocol.version=${protocol}`, "clone", "-q", "--bare", renaming.url("funny.git"), gitClone]);
        expect(gitText(gitClone, ["--git-dir", gitClone, "for-each-ref", "--format=%(refname)"]).split("\n")).toEqual(["refs/heads/main", "refs/heads/side"]);
        const path = join(tmp.dir, `funny-v${protocol}.git`);
        const warnings: string[] = [];
        const repo = await cloneRepo(Remote.url(renaming.url("funny.git"), { protocol }), { path, onProgress: (p) => p.message?.startsWith("warning") === true && warnings.push(p.message) });
        try {
          expect(warnings).toEqual([expect.stringContaining("refs/heads/z..z")]);
          expect((await repo.branches()).sort()).toEqual(["main", "side"]);
          expect(gitText(path, ["--git-dir", path, "for-each-ref", "--format=%(refname)"]).split("\n")).toEqual(["refs/heads/main", "refs/heads/side"]);
          fsck(path);
        } finally {
          await repo.close();
        }
      }
    } finally {
      await renaming.stop();
    }
  });
});
