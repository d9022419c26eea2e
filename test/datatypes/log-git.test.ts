import { execFileSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Repo } from "../../src/store/repo.js";
import { GIT_ENV } from "../backends/git/git-cli.js";

const SIZE = Number(process.env.LOG_BIG_SIZE ?? 200_000);

function git(args: string[], cwd?: string): string {
  return execFileSync("git", args, { cwd, env: { ...GIT_ENV, HOME: cwd ?? tmpdir() }, stdio: ["ignore", "pipe", "pipe"], maxBuffer: 1 << 30 }).toString();
}

describe("a large log on the git backend", () => {
  const dirs: string[] = [];
  afterAll(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

  it(`${SIZE.toLocaleString("en")} entries: shallow Git trees, git fsck --strict, git clone, reads from the clone`, async () => {
    const dir = await mkdtemp(join(tmpdir(), "irmin-log-"));
    dirs.push(dir);
    const path = join(dir, "repo.git");
    const t0 = Date.now();
    const repo = await Repo.open({ path, backend: "git" });
    const main = repo.branch("main");
    await main.log("app/log").appendAll(Array.from({ length: SIZE }, (_, i) => `entry ${i}`));
    await main.log("app/log").append("last");
    const built = Date.now() - t0;
    expect(await main.log("app/log").length()).toBe(SIZE + 1);
    await repo.close();
    // depth: the deepest path git lists, in trees
    let depth = 0;
    let count = 0;
    const listing = git(["--git-dir", path, "ls-tree", "-r", "--name-only", "main"]);
    for (const line of listing.split("\n")) {
      if (line === "") continue;
      count++;
      depth = Math.max(depth, line.split("/").length - 1);
    }
    expect(count).toBe(SIZE + 1 + 2); // entries, the length, the marker
    expect(depth).toBeGreaterThanOrEqual(4); // app/log and at least two levels of nodes
    expect(depth).toBeLessThanOrEqual(2 + 7);
    git(["--git-dir", path, "fsck", "--strict", "--no-progress"]);
    const clone = join(dir, "clone.git");
    git(["clone", "--bare", "--no-local", "-q", path, clone]);
    git(["--git-dir", clone, "fsck", "--strict", "--no-progress"]);
    const copy = await Repo.open({ path: clone, backend: "git" });
    const page = await copy.branch("main").log("app/log").read({ limit: 3 });
    expect(page.entries.map((e) => e.value)).toEqual(["last", `entry ${SIZE - 1}`, `entry ${SIZE - 2}`]);
    await copy.close();
    if (process.env.LOG_BIG_SIZE) console.log(`${SIZE} entries: built in ${built} ms, depth ${depth}, total ${Date.now() - t0} ms`);
  }, 120_000);
});
