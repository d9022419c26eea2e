import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { join } from "node:path";
import { Repo } from "../../../src/store/repo.js";
import { gitAsync, gitOut, makeHistory, runGit, tempDir } from "./fixture.js";
import { type TestServer, serveCopies } from "./serve.js";

/** `git ls-remote` of a served repository, as `name → id` (HEAD included). */
async function lsRemote(url: string, cwd: string, version: 0 | 1 | 2): Promise<Map<string, string>> {
  const out = (await gitAsync(["-c", `protocol.version=${version}`, "ls-remote", url], { cwd })).stdout;
  return new Map(out.split("\n").map((l) => [l.split("\t")[1], l.split("\t")[0]]));
}

describe("git clone and git fetch against gitHttpHandler", () => {
  const tmp = tempDir("irmin-upload-");
  const source = join(tmp.dir, "source.git");
  const repos = new Map<string, Repo<unknown>>();
  let server: TestServer;
  const rev = (r: string) => gitOut(["--git-dir", source, "rev-parse", r]);

  beforeAll(async () => {
    makeHistory(source, 20);
    // Served on disk (a copy of the source, opened with the git backend) and in memory.
    server = await serveCopies(source, join(tmp.dir, "disk.git"), repos);
  });
  afterAll(async () => {
    await server.stop();
    for (const r of repos.values()) await r.close();
    tmp.remove();
  });

  for (const name of ["disk.git", "mem.git"]) {
    for (const version of [0, 1, 2] as const) {
      it(`${name}, protocol v${version}: ls-remote, clone, fsck, incremental fetch`, async () => {
        const cwd = tempDir("irmin-upload-client-");
        try {
          const repo = repos.get(name)!;
          const served = await repo.internals.backend.refs.get("refs/heads/main");
          const refs = await lsRemote(server.url(name), cwd.dir, version);
          expect(refs.get("refs/heads/main")).toBe(served);
          expect(refs.get("refs/heads/side")).toBe(rev("side"));
          expect(refs.get("refs/tags/v1")).toBe(rev("v1"));
          expect(refs.get("refs/tags/v1^{}")).toBe(rev("v1^{}"));
          expect(refs.get("HEAD")).toBe(served);

          const clone = join(cwd.dir, "clone.git");
          await gitAsync(["-c", `protocol.version=${version}`, "clone", "-q", "--bare", server.url(name), clone], { cwd: cwd.dir });
          runGit(["--git-dir", clone, "fsck", "--strict"]);
          expect(gitOut(["--git-dir", clone, "rev-parse", "main", "side", "v1", "HEAD"]).split("\n")).toEqual([served, rev("side"), rev("v1"), served]);
          expect(gitOut(["--git-dir", clone, "symbolic-ref", "HEAD"])).toBe("refs/heads/main");

          // New commits on the server, written through the library; the clone fetches them.
          const branch = repo.branch("main");
          await branch.set(`new/v${version}`, "a new value\n", { message: `served v${version}` });
          const head = (await branch.head())!.hash;
          await gitAsync(["-c", `protocol.version=${version}`, "fetch", "-q", "origin", "+refs/heads/*:refs/heads/*"], { cwd: clone, env: { GIT_DIR: clone } });
          expect(gitOut(["--git-dir", clone, "rev-parse", "main"])).toBe(head);
          runGit(["--git-dir", clone, "fsck", "--strict"]);
          expect(gitOut(["--git-dir", clone, "cat-file", "-p", `main:new/v${version}`])).toBe("a new value");
        } finally {
          cwd.remove();
        }
      });

      it(`${name}, protocol v${version}: shallow clone with --depth 1, then deepen`, async () => {
        const cwd = tempDir("irmin-upload-shallow-");
        try {
          const clone = join(cwd.dir, "shallow.git");
          await gitAsync(["-c", `protocol.version=${version}`, "clone", "-q", "--bare", "--depth", "1", "--branch", "main", server.url(name), clone], { cwd: cwd.dir });
          const main = gitOut(["--git-dir", clone, "rev-parse", "main"]);
          expect(gitOut(["--git-dir", clone, "rev-list", "--count", "main"])).toBe("1");
          expect(gitOut(["--git-dir", clone, "rev-parse", "--is-shallow-repository"])).toBe("true");
          runGit(["--git-dir", clone, "fsck", "--strict"]);
          await gitAsync(["-c", `protocol.version=${version}`, "fetch", "-q", "--depth", "3", "origin", "main"], { cwd: clone, env: { GIT_DIR: clone } });
          expect(gitOut(["--git-dir", clone, "rev-list", "--count", main])).toBe("3");
          runGit(["--git-dir", clone, "fsck", "--strict"]);
        } finally {
          cwd.remove();
        }
      });
    }
  }

  it("a fetch negotiates: a clone that is behind receives only what it lacks", async () => {
    const cwd = tempDir("irmin-upload-nego-");
    try {
      // The client has the history up to main~10 (and side~2) from the source directly.
      const client = join(cwd.dir, "client.git");
      runGit(["init", "-q", "--bare", client]);
      runGit(["--git-dir", source, "push", "-q", client, `${rev("main~10")}:refs/heads/main`, `${rev("side~2")}:refs/heads/side`]);
      const before = Number(gitOut(["--git-dir", client, "count-objects", "-v"]).match(/count: (\d+)/)![1]);
      await gitAsync(["-c", "protocol.version=0", "fetch", "-q", server.url("mem.git"), "refs/heads/main:refs/heads/upstream"], { cwd: client, env: { GIT_DIR: client } });
      runGit(["--git-dir", client, "fsck", "--strict"]);
      const stats = gitOut(["--git-dir", client, "count-objects", "-v"]);
      // The objects arrived as one pack (fetch keeps big packs, unpacks small ones): count both.
      const loose = Number(stats.match(/^count: (\d+)/m)![1]) - before;
      const packed = Number(stats.match(/in-pack: (\d+)/)![1]);
      // What git itself would send, plus the renamed blob the walk does not recognise.
      const needed = Number(gitOut(["--git-dir", client, "rev-list", "--objects", "--count", "upstream", "--not", "main", "side"]));
      expect(loose + packed).toBeGreaterThanOrEqual(needed);
      expect(loose + packed).toBeLessThanOrEqual(needed + 1);
    } finally {
      cwd.remove();
    }
  });

  it("declines URLs that are not git requests, 404s unknown repositories", async () => {
    const res = await fetch(`${server.url("mem.git")}/something-else`);
    expect(res.status).toBe(404);
    expect(server.declined.length).toBeGreaterThan(0);
    const unknown = await fetch(`${server.url("nope.git")}/info/refs?service=git-upload-pack`);
    expect(unknown.status).toBe(404);
    const dumb = await fetch(`${server.url("mem.git")}/info/refs`);
    expect(dumb.status).toBe(403);
    const wrong = await fetch(`${server.url("mem.git")}/git-upload-pack`, { method: "POST", body: "0000", headers: { "Content-Type": "text/plain" } });
    expect(wrong.status).toBe(415);
  });
});
