import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { git, gitText, tempDir } from "../../backends/git/git-cli.js";
import { startGitDaemon, type GitDaemon } from "../helpers/git-daemon.js";
import { startHttpBackend, type HttpBackend } from "../helpers/http-backend.js";
import { Remote } from "../../../src/sync/remote.js";
import { cloneRepo } from "../../../src/sync/operations.js";
import { fsck, makeServerRepo } from "./fixtures.js";

/** Our client cloning a shallow repository served by the real git (git daemon, git http-backend). */
describe("cloning from a shallow git remote", () => {
  const tmp = tempDir("irmin-shallow-remote-");
  let daemon: GitDaemon;
  let http: HttpBackend;
  let expected: string[];
  beforeAll(async () => {
    const full = makeServerRepo(tmp.dir, "full.git");
    git(tmp.dir, ["clone", "-q", "--bare", "--depth", "3", "--no-single-branch", "--no-tags", `file://${full.bare}`, join(tmp.dir, "shallow.git")]);
    expected = readFileSync(join(tmp.dir, "shallow.git", "shallow"), "utf8").trim().split("\n").sort();
    daemon = await startGitDaemon(tmp.dir);
    http = await startHttpBackend(tmp.dir);
  });
  afterAll(async () => {
    await daemon?.stop();
    await http?.stop();
    tmp.remove();
  });

  const remotes: Record<string, () => Remote> = {
    "git daemon, v0": () => Remote.url(daemon.url("shallow.git"), { protocol: 0 }),
    "git daemon, v2": () => Remote.url(daemon.url("shallow.git")),
    "http-backend, v0": () => Remote.url(http.url("shallow.git"), { protocol: 0 }),
    "http-backend, v2": () => Remote.url(http.url("shallow.git")),
  };
  for (const [what, remote] of Object.entries(remotes)) {
    it(`${what}: the clone is shallow at the server's boundary; git fsck --strict passes`, async () => {
      const path = join(tmp.dir, `clone-${what.replace(/\W+/g, "-")}.git`);
      const repo = await cloneRepo(remote(), { path });
      try {
        expect([...(await repo.internals.backend.shallow!.list())].sort()).toEqual(expected);
        expect(readFileSync(join(path, "shallow"), "utf8").trim().split("\n").sort()).toEqual(expected);
        fsck(path);
        const shallowMain = join(tmp.dir, "shallow.git");
        expect(gitText(path, ["--git-dir", path, "rev-parse", "main"])).toBe(gitText(shallowMain, ["--git-dir", shallowMain, "rev-parse", "main"]));
      } finally {
        await repo.close();
      }
    });
  }
});

describe("pushing from a shallow clone", () => {
  const tmp = tempDir("irmin-shallow-push-");
  afterAll(() => tmp.remove());

  it("to a remote that has the history behind the boundary lands; to one that lacks it is refused as git refuses it, the remote unchanged", async () => {
    const full = makeServerRepo(tmp.dir, "full.git");
    const repo = await cloneRepo(Remote.path(full.bare), { path: join(tmp.dir, "clone.git"), depth: 2 });
    try {
      const main = repo.branch("main");
      await main.set("new", "x");
      const empty = join(tmp.dir, "empty.git");
      git(tmp.dir, ["init", "-q", "--bare", empty]);
      const refused = await main.push(Remote.path(empty));
      expect(refused).toMatchObject({ ok: false, reason: expect.stringMatching(/^shallow update not allowed/) });
      expect(git(tmp.dir, ["--git-dir", empty, "for-each-ref"]).toString()).toBe("");
      fsck(empty);
      expect(await main.push(Remote.path(full.bare))).toEqual({ ok: true });
      expect(gitText(tmp.dir, ["--git-dir", full.bare, "rev-parse", "main"])).toBe((await main.head())!.hash);
      fsck(full.bare);
    } finally {
      await repo.close();
    }
  });
});
