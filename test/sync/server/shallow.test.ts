import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { join } from "node:path";
import { Repo } from "../../../src/store/repo.js";
import { gitAsync, gitOut, makeHistory, runGit, tempDir } from "./fixture.js";
import { memoryCopy, serve, type TestServer } from "./serve.js";

/** Shallow fetches by the real git against gitHttpHandler: deepening and unshallowing. */
describe("git shallow fetches against gitHttpHandler", () => {
  const tmp = tempDir("irmin-shallow-");
  const source = join(tmp.dir, "source.git");
  const repos = new Map<string, Repo<unknown>>();
  let server: TestServer;

  beforeAll(async () => {
    makeHistory(source, 20);
    const disk = join(tmp.dir, "disk.git");
    runGit(["clone", "-q", "--bare", "--mirror", source, disk]);
    repos.set("disk.git", await Repo.open<unknown>({ path: disk }));
    repos.set("mem.git", await memoryCopy(source));
    server = await serve(repos);
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

  for (const name of ["disk.git", "mem.git"]) {
    for (const version of [0, 2] as const) {
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
