// clone and fetch with repository directories, checked with the real git.
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { git, runCli, tempDir, type CliResult } from "./harness.js";

const tmp = tempDir("irmin-cli-sync-");
afterAll(() => tmp.cleanup());

async function ok(p: Promise<CliResult>): Promise<string> {
  const r = await p;
  if (r.code !== 0) throw new Error(`exit ${r.code}: ${r.stderr}`);
  expect(r.stderr).toBe("");
  return r.stdout;
}

describe("irmin fetch", () => {
  it("prints the remote-tracking ref it set, and says so when it could set none", async () => {
    const source = join(tmp.dir, "source");
    await ok(runCli(["--root", source, "init"]));
    await ok(runCli(["--root", source, "set", "k", "v"]));
    const head = git(["--git-dir", source, "rev-parse", "main"]).trim();
    // A remote whose name ("my repo") cannot be part of a ref name, and one whose name ("ok") can.
    for (const name of ["my repo.git", "ok.git"]) await ok(runCli(["clone", source, name], { cwd: tmp.dir }));

    const fetched = await ok(runCli(["--root", source, "fetch", join(tmp.dir, "ok.git")]));
    expect(fetched).toBe(`${head.slice(0, 7)} ok/main\n`);
    expect(git(["--git-dir", source, "rev-parse", "refs/remotes/ok/main"]).trim()).toBe(head);

    const refused = await ok(runCli(["--root", source, "fetch", "my repo.git"], { cwd: tmp.dir }));
    expect(refused).toBe(`${head.slice(0, 7)} main (no remote-tracking ref: "refs/remotes/my repo/main" is not a valid ref name (ref name contains a control character, space, ~ ^ : ? * [ or \\))\n`);
    expect(git(["--git-dir", source, "for-each-ref", "--format=%(refname)"]).trim().split("\n")).toEqual(["refs/heads/main", "refs/remotes/ok/main"]);
    expect(JSON.parse(await ok(runCli(["--root", source, "--json", "fetch", "my repo.git"], { cwd: tmp.dir })))).toEqual({ branch: "main", commit: head, tracking: null });
    expect(JSON.parse(await ok(runCli(["--root", source, "--json", "fetch", "ok.git"], { cwd: tmp.dir })))).toEqual({ branch: "main", commit: head, tracking: "refs/remotes/ok/main" });
  });
});
