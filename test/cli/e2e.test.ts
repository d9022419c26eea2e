// The CLI as its own process (node + tsx on src/cli/main.ts), checked with the real git.
import { closeSync, openSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { expectOneLineError, git, spawnCli, tempDir, until } from "./harness.js";

const tmp = tempDir("irmin-cli-e2e-");
afterAll(() => tmp.cleanup());

const irmin = (root: string, args: string[], stdin?: string) => spawnCli(["--root", root, ...args], { stdin }).done;

describe("irmin as a process, on a real Git repository", () => {
  it("one commit per operation, git fsck --strict, git clone, and a rollback with git update-ref", async () => {
    const root = join(tmp.dir, "store");
    expect((await irmin(root, ["init"])).code).toBe(0);
    // A session written as one shell line would be: each command is its own process.
    for (const args of [
      ["set", "home/todo", "buy milk"],
      ["set", "home/todo", "buy eggs"],
      ["set", "home/notes", "-"],
      ["remove", "home/notes", "-m", "drop the notes"],
    ]) {
      const r = await irmin(root, args, "from stdin\n");
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
    }
    const log = git(["--git-dir", root, "log", "--oneline", "main"]).trim().split("\n");
    expect(log.map((l) => l.replace(/^[0-9a-f]+ /, ""))).toEqual(["drop the notes", "set home/notes", "set home/todo", "set home/todo"]);
    git(["--git-dir", root, "fsck", "--strict", "--no-dangling"]);
    expect(git(["--git-dir", root, "cat-file", "blob", "main~1:home/notes"])).toBe("from stdin\n");

    // A clone is an ordinary Git checkout of the values.
    const work = join(tmp.dir, "clone");
    git(["clone", "--quiet", root, work]);
    expect(readFileSync(join(work, "home", "todo"), "utf8")).toBe("buy eggs");

    // What git does to the branch is what irmin reads next.
    const oldest = git(["--git-dir", root, "rev-list", "--max-parents=0", "main"]).trim();
    git(["--git-dir", root, "update-ref", "refs/heads/main", oldest]);
    const after = await irmin(root, ["get", "home/todo"]);
    expect(after).toEqual({ code: 0, stdout: "buy milk\n", stderr: "" });
    const logAfter = await irmin(root, ["log"]);
    expect(logAfter.stdout.trimEnd().split("\n")).toHaveLength(1);
    expect(logAfter.stdout.startsWith(oldest.slice(0, 7))).toBe(true);
  });

  it("bad input: exit 1 and one line on stderr, no stack trace", async () => {
    const root = join(tmp.dir, "bad");
    expect((await irmin(root, ["init"])).code).toBe(0);
    const results = await Promise.all([irmin(root, ["get", "home/todo"]), irmin(root, ["frobnicate"]), irmin(root, ["set", "a//b", "v"]), irmin(join(tmp.dir, "nowhere"), ["log"])]);
    expectOneLineError(results[0], /^irmin: no value at home\/todo on main$/);
    expectOneLineError(results[1], /^irmin: unknown command 'frobnicate'$/);
    expectOneLineError(results[2], /^irmin: invalid path segment: empty name$/);
    expectOneLineError(results[3], /^irmin: no repository at .*nowhere/);
    for (const r of results) expect(r.code).toBe(1);
  });

  it("a directory as standard input is an error, not an empty value", async () => {
    const root = join(tmp.dir, "stdin-dir");
    expect((await irmin(root, ["init"])).code).toBe(0);
    const dir = openSync(tmp.dir, "r");
    try {
      for (const args of [
        ["set", "k", "-"],
        ["queue", "q", "push", "-"],
      ]) {
        const r = await spawnCli(["--root", root, ...args], { stdinFd: dir }).done;
        expectOneLineError(r, /^irmin: standard input is a directory$/);
      }
    } finally {
      closeSync(dir);
    }
    expect(git(["--git-dir", root, "for-each-ref"])).toBe("");
  });

  it("watch prints changes made by other processes and git; SIGINT closes it with exit 0", async () => {
    const root = join(tmp.dir, "watched");
    expect((await irmin(root, ["init"])).code).toBe(0);
    expect((await irmin(root, ["set", "k", "one"])).code).toBe(0);
    let out = "";
    let err = "";
    const watch = spawnCli(["--root", root, "watch"], { onStdout: (s) => (out += s), onStderr: (s) => (err += s) });
    // The banner is written once the watch has taken its baseline: every later change is reported.
    await until(() => err.includes("watching"), () => `the watch to start, got ${JSON.stringify(err)}`);
    expect((await irmin(root, ["set", "k", "two"])).code).toBe(0);
    await until(() => out.includes("\n"), () => `the change from another process, got ${JSON.stringify(out)}`);
    const one = git(["--git-dir", root, "rev-list", "--max-parents=0", "main"]).trim();
    const two = git(["--git-dir", root, "rev-parse", "main"]).trim();
    git(["--git-dir", root, "update-ref", "refs/heads/main", one]);
    await until(() => out.split("\n").length === 3, () => `the change made by git, got ${JSON.stringify(out)}`);
    expect(out).toBe(`${two.slice(0, 7)} ~ k = two (was: one)\n${one.slice(0, 7)} ~ k = one (was: two)\n`);
    watch.kill("SIGINT");
    const r = await watch.done;
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^watching main in .* \(Ctrl-C to stop\)\n$/);
  });
});
