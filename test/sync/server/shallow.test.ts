import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Repo } from "../../../src/store/repo.js";
import { Remote } from "../../../src/sync/remote.js";
import { cloneRepo } from "../../../src/sync/operations.js";
import { gitAsync, gitOut, makeHistory, runGit, tempDir } from "./fixture.js";
import { serve, type TestServer, serveCopies } from "./serve.js";

/** Shallow fetches by the real git against gitHttpHandler: deepening and unshallowing. */
describe("git shallow fetches against gitHttpHandler", () => {
  const tmp = tempDir("irmin-shallow-");
  const source = join(tmp.dir, "source.git");
  const repos = new Map<string, Repo<unknown>>();
  let server: TestServer;

  beforeAll(async () => {
    makeHistory(source, 20);
    server = await serveCopies(source, join(tmp.dir, "disk.git"), repos);
  });
  afterAll(async () => {
    await server.stop();
    for (const r of repos.values()) await r.close();
    tmp.remove();
  });

  const shallowClone = async (cwd: string, name: string, version: number, depth: number) => {
    const clone = join(cwd, "shallow.git");
    await gitAsync(["-c", `protocol.version=${version}`, "clone", "-q", "--bare", "--depth", String(depth), "--branch", "main", server.url(name), clone], { cwd });
    const git = (args: string[]) => gitAsync(["-c", `protocol.version=${version}`, ...args], { cwd: clone, env: { GIT_DIR: clone } });
    return { clone, git, count: () => gitOut(["--git-dir", clone, "rev-list", "--count", "main"]) };
  };

  /** Clone (first step) and fetches, each a git argument list; `URL` and `DIR` are replaced. */
  const deepenCases: Record<string, string[][]> = {
    "git fetch --deepen=3 (deepen-relative)": [
      ["clone", "-q", "--bare", "--depth", "2", "--no-single-branch", "URL", "DIR"],
      ["fetch", "-q", "--deepen=3", "origin", "main"],
    ],
    "git clone --shallow-since (deepen-since)": [["clone", "-q", "--bare", "--no-single-branch", "--shallow-since=@SINCE", "URL", "DIR"]],
    "git clone --shallow-exclude (deepen-not)": [["clone", "-q", "--bare", "--no-single-branch", "--shallow-exclude=v1", "URL", "DIR"]],
    "git fetch --shallow-exclude on a shallow clone": [
      ["clone", "-q", "--bare", "--depth", "1", "--branch", "main", "URL", "DIR"],
      ["fetch", "-q", "--shallow-exclude=refs/heads/side", "origin", "main"],
    ],
  };

  /** Runs `steps`; the resulting shallow file (sorted), commit count, and fsck. */
  const runSteps = async (cwd: string, dirName: string, url: string, version: number, steps: string[][]) => {
    const dir = join(cwd, dirName);
    const since = gitOut(["--git-dir", source, "log", "-1", "--format=%ct", "main~6"]);
    for (const [i, step] of steps.entries()) {
      const args = step.map((a) => (a === "URL" ? url : a === "DIR" ? dir : a.replace("SINCE", since)));
      if (i === 0) await gitAsync(["-c", `protocol.version=${version}`, ...args], { cwd });
      else await gitAsync(["-c", `protocol.version=${version}`, ...args], { cwd: dir, env: { GIT_DIR: dir } });
    }
    runGit(["--git-dir", dir, "fsck", "--strict"]);
    let shallow: string[] = [];
    try {
      shallow = readFileSync(join(dir, "shallow"), "utf8").trim().split("\n").sort();
    } catch {
      shallow = [];
    }
    return { shallow, commits: gitOut(["--git-dir", dir, "rev-list", "--count", "--all"]) };
  };

  for (const name of ["disk.git", "mem.git"]) {
    for (const version of [0, 2] as const) {
      // Each is run against our server and against git's own upload-pack (file://): same result.
      for (const [what, steps] of Object.entries(deepenCases)) {
        it(`${name}, protocol v${version}: ${what}, as git's own upload-pack does`, async () => {
          const cwd = tempDir("irmin-deepen-");
          try {
            const ours = await runSteps(cwd.dir, "ours.git", server.url(name), version, steps);
            const theirs = await runSteps(cwd.dir, "theirs.git", `file://${source}`, version, steps);
            expect(ours).toEqual(theirs);
            expect(ours.shallow.length).toBeGreaterThan(0);
          } finally {
            cwd.remove();
          }
        });
      }

      it(`${name}, protocol v${version}: git fetch --unshallow (deepen 2147483647)`, async () => {
        const cwd = tempDir("irmin-unshallow-");
        try {
          const { clone, git, count } = await shallowClone(cwd.dir, name, version, 2);
          expect(count()).toBe("2");
          await git(["fetch", "-q", "--unshallow", "origin", "main"]);
          expect(gitOut(["--git-dir", clone, "rev-parse", "--is-shallow-repository"])).toBe("false");
          expect(count()).toBe(gitOut(["--git-dir", source, "rev-list", "--count", "main"]));
          runGit(["--git-dir", clone, "fsck", "--strict"]);
        } finally {
          cwd.remove();
        }
      });
    }
  }
});

/** A shallow repository served: git's and our clients become shallow at its boundary, as from git. */
describe("serving a shallow repository", () => {
  const tmp = tempDir("irmin-serve-shallow-");
  const source = join(tmp.dir, "source.git");
  const shallowSource = join(tmp.dir, "shallow-source.git");
  const ourShallow = join(tmp.dir, "our-shallow.git");
  const repos = new Map<string, Repo<unknown>>();
  let server: TestServer;

  beforeAll(async () => {
    makeHistory(source, 20);
    // Made by git: main and side down to 3 commits each, and tag v1's history down to 3.
    runGit(["clone", "-q", "--bare", "--depth", "3", "--no-single-branch", `file://${source}`, shallowSource]);
    repos.set("git-shallow.git", await Repo.open<unknown>({ path: shallowSource }));
    // Our own shallow clone.
    repos.set("our-shallow.git", await cloneRepo<unknown>(Remote.path(source), { path: ourShallow, depth: 4 }));
    server = await serve(repos);
  });
  afterAll(async () => {
    await server.stop();
    for (const r of repos.values()) await r.close();
    tmp.remove();
  });

  const cloneResult = async (cwd: string, dirName: string, url: string, version: number, args: string[] = []) => {
    const dir = join(cwd, dirName);
    await gitAsync(["-c", `protocol.version=${version}`, "clone", "-q", "--bare", ...args, url, dir], { cwd });
    runGit(["--git-dir", dir, "fsck", "--strict"]);
    return { shallow: readFileSync(join(dir, "shallow"), "utf8").trim().split("\n").sort(), commits: gitOut(["--git-dir", dir, "rev-list", "--count", "--all"]) };
  };

  for (const version of [0, 2] as const) {
    it(`protocol v${version}: git clone of git's shallow clone gets what git's upload-pack gives`, async () => {
      const cwd = tempDir("irmin-serve-shallow-git-");
      try {
        const theirs = await cloneResult(cwd.dir, "theirs.git", `file://${shallowSource}`, version);
        expect(await cloneResult(cwd.dir, "ours.git", server.url("git-shallow.git"), version)).toEqual(theirs);
        expect(theirs.shallow).toEqual(readFileSync(join(shallowSource, "shallow"), "utf8").trim().split("\n").sort());
        // A depth within the served history: git's boundary, not the server's.
        const deep = await cloneResult(cwd.dir, "theirs-d2.git", `file://${shallowSource}`, version, ["--depth", "2", "--no-single-branch"]);
        expect(await cloneResult(cwd.dir, "ours-d2.git", server.url("git-shallow.git"), version, ["--depth", "2", "--no-single-branch"])).toEqual(deep);
      } finally {
        cwd.remove();
      }
    });

    it(`protocol v${version}: git clone of our own shallow clone`, async () => {
      const cwd = tempDir("irmin-serve-shallow-ours-");
      try {
        const served = repos.get("our-shallow.git")!.internals.backend;
        const got = await cloneResult(cwd.dir, "clone.git", server.url("our-shallow.git"), version);
        expect(got.shallow).toEqual([...(await served.shallow!.list())].sort());
        expect(got.commits).toBe(gitOut(["--git-dir", ourShallow, "rev-list", "--count", "--all"]));
        expect(got.shallow).toEqual(readFileSync(join(ourShallow, "shallow"), "utf8").trim().split("\n").sort());
      } finally {
        cwd.remove();
      }
    });
  }

  it("protocol v0, a plain fetch by a shallow client: no history its shallow file would hide (as git's upload-pack)", async () => {
    const cwd = tempDir("irmin-serve-shallow-fetch-");
    try {
      // A new commit on the served repository, on a branch of its own (the other tests serve main).
      const tip = gitOut(["--git-dir", shallowSource, "rev-parse", "main"]);
      const tree = gitOut(["--git-dir", shallowSource, "rev-parse", "main^{tree}"]);
      const extra = gitOut(["--git-dir", shallowSource, "commit-tree", "-p", tip, "-m", "extra", tree]);
      runGit(["--git-dir", shallowSource, "update-ref", "refs/heads/extra", extra]);
      const fetched = async (dirName: string, url: string) => {
        const dir = join(cwd.dir, dirName);
        await gitAsync(["-c", "protocol.version=0", "clone", "-q", "--bare", "--depth", "1", "--branch", "main", url, dir], { cwd: cwd.dir });
        await gitAsync(["-c", "protocol.version=0", "fetch", "-q", "origin", "refs/heads/extra:refs/heads/extra"], { cwd: dir, env: { GIT_DIR: dir } });
        runGit(["--git-dir", dir, "fsck", "--strict"]);
        const objects = gitOut(["--git-dir", dir, "cat-file", "--batch-all-objects", "--batch-check=%(objectname)"]).split("\n").sort();
        return { shallow: readFileSync(join(dir, "shallow"), "utf8").trim().split("\n").sort(), objects };
      };
      const theirs = await fetched("theirs.git", `file://${shallowSource}`);
      const ours = await fetched("ours.git", server.url("git-shallow.git"));
      expect(ours).toEqual(theirs);
      expect(theirs.shallow).toEqual([tip]);
    } finally {
      cwd.remove();
    }
  });

  it("our client clones a shallow repository over HTTP (v2 and v0) and in process, and becomes shallow there", async () => {
    // Branches only (our clone takes no tags): git's own clone with --no-tags has the same boundary.
    const gitClone = tempDir("irmin-serve-shallow-notags-");
    const expected = (await cloneResult(gitClone.dir, "c.git", `file://${shallowSource}`, 2, ["--no-tags"])).shallow;
    gitClone.remove();
    const remotes = [Remote.url(server.url("git-shallow.git")), Remote.url(server.url("git-shallow.git"), { protocol: 0 }), Remote.repo(repos.get("git-shallow.git")!)];
    for (const remote of remotes) {
      const cwd = tempDir("irmin-serve-shallow-client-");
      try {
        const path = join(cwd.dir, "clone.git");
        const clone = await cloneRepo<unknown>(remote, { path });
        try {
          expect([...(await clone.internals.backend.shallow!.list())].sort()).toEqual(expected);
          runGit(["--git-dir", path, "fsck", "--strict"]);
          expect(gitOut(["--git-dir", path, "rev-parse", "main"])).toBe(gitOut(["--git-dir", shallowSource, "rev-parse", "main"]));
        } finally {
          await clone.close();
        }
      } finally {
        cwd.remove();
      }
    }
  });
});
