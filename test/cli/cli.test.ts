import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { run } from "../../src/cli/program.js";
import { expectOneLineError, git, PROJECT, runCli, tempDir, until, type RunOptions } from "./harness.js";

const tmp = tempDir("irmin-cli-");
afterAll(() => tmp.cleanup());
let counter = 0;

/** A fresh repository directory, initialised, and a runner bound to it. */
async function fresh(): Promise<{ root: string; irmin: (args: string[], options?: RunOptions) => ReturnType<typeof runCli> }> {
  const root = join(tmp.dir, `r${counter++}`);
  const irmin = (args: string[], options?: RunOptions) => runCli(["--root", root, ...args], options);
  const r = await irmin(["init"]);
  expect(r.code).toBe(0);
  return { root, irmin };
}

async function ok(p: Promise<{ code: number; stdout: string; stderr: string }>): Promise<string> {
  const r = await p;
  if (r.code !== 0) throw new Error(`exit ${r.code}: ${r.stderr}`);
  expect(r.stderr).toBe("");
  return r.stdout;
}

describe("irmin init and the repository location", () => {
  it("creates a bare Git repository, says where, and is idempotent", async () => {
    const root = join(tmp.dir, "init");
    const r = await runCli(["--root", root, "init"]);
    expect(r).toEqual({ code: 0, stdout: `Initialized empty irmin repository in ${root}\n`, stderr: "" });
    expect(git(["--git-dir", root, "rev-parse", "--is-bare-repository"]).trim()).toBe("true");
    expect(git(["--git-dir", root, "symbolic-ref", "HEAD"]).trim()).toBe("refs/heads/main");
    const again = await runCli(["--root", root, "--json", "init"]);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toEqual({ path: root, created: false });
  });

  it("defaults to .irmin in the current directory, or $IRMIN_ROOT", async () => {
    const cwd = join(tmp.dir, "cwd");
    await ok(runCli(["init"], { cwd }));
    expect(existsSync(join(cwd, ".irmin", "HEAD"))).toBe(true);
    await ok(runCli(["set", "k", "v"], { cwd }));
    expect(await ok(runCli(["get", "k"], { cwd }))).toBe("v\n");

    const envRoot = join(tmp.dir, "env-root");
    await ok(runCli(["init"], { cwd, env: { IRMIN_ROOT: envRoot } }));
    await ok(runCli(["set", "k", "from env"], { cwd, env: { IRMIN_ROOT: envRoot } }));
    expect(await ok(runCli(["get", "k"], { env: { IRMIN_ROOT: envRoot } }))).toBe("from env\n");
    // --root wins over the environment.
    expect(await ok(runCli(["--root", join(cwd, ".irmin"), "get", "k"], { env: { IRMIN_ROOT: envRoot } }))).toBe("v\n");
  });

  it("refuses to work on a repository that does not exist, and does not create one", async () => {
    const root = join(tmp.dir, "missing");
    for (const args of [["get", "k"], ["set", "k", "v"], ["log"], ["branches"]]) {
      expectOneLineError(await runCli(["--root", root, ...args]), /no repository at .*missing \(run "irmin init"/);
    }
    expect(existsSync(root)).toBe(false);
  });
});

describe("irmin values", () => {
  it("set, get, list, tree and remove", async () => {
    const { root, irmin } = await fresh();
    expect(await ok(irmin(["set", "home/todo", "buy milk"]))).toMatch(/^main [0-9a-f]{7} set home\/todo\n$/);
    await ok(irmin(["set", "home/notes/today", "walk"]));
    await ok(irmin(["set", "top", "x"]));
    expect(await ok(irmin(["get", "home/todo"]))).toBe("buy milk\n");
    expect(await ok(irmin(["list"]))).toBe("home/\ntop\n");
    expect(await ok(irmin(["ls", "home"]))).toBe("notes/\ntodo\n");
    expect(await ok(irmin(["tree"]))).toBe("home/notes/today = walk\nhome/todo = buy milk\ntop = x\n");
    expect(await ok(irmin(["tree", "home/notes"]))).toBe("home/notes/today = walk\n");
    expect(await ok(irmin(["tree", "top"]))).toBe("top = x\n");

    expect(await ok(irmin(["remove", "home/notes"]))).toMatch(/^main [0-9a-f]{7} remove home\/notes\n$/);
    expect(await ok(irmin(["list", "home"]))).toBe("todo\n");
    expectOneLineError(await irmin(["get", "home/notes/today"]), /^irmin: no value at home\/notes\/today on main$/);
    expectOneLineError(await irmin(["remove", "home/notes"]), /nothing at home\/notes/);
    // Each write was one commit, named after the operation.
    expect(git(["--git-dir", root, "log", "--format=%s", "main"]).trim().split("\n")).toEqual(["remove home/notes", "set top", "set home/notes/today", "set home/todo"]);
  });

  it("get: exit 1 with one line when absent or a directory", async () => {
    const { irmin } = await fresh();
    expectOneLineError(await irmin(["get", "nothing"]), /^irmin: no value at nothing on main$/);
    await ok(irmin(["set", "dir/k", "v"]));
    expectOneLineError(await irmin(["get", "dir"]), /dir is a directory/);
    expectOneLineError(await irmin(["list", "dir/k"]), /is a value, not a directory/);
    expectOneLineError(await irmin(["list", "nope"]), /nothing at nope/);
    expectOneLineError(await irmin(["tree", "nope"]), /nothing at nope/);
  });

  it("an empty repository lists and shows nothing", async () => {
    const { irmin } = await fresh();
    expect(await ok(irmin(["list"]))).toBe("");
    expect(await ok(irmin(["tree"]))).toBe("");
    expect(await ok(irmin(["log"]))).toBe("");
    expect(await ok(irmin(["branches"]))).toBe("");
  });

  it("set: message, author, stdin, unchanged values, values that look like options", async () => {
    const { root, irmin } = await fresh();
    await ok(irmin(["set", "k", "v1", "-m", "first value", "--author", "Ada <ada@example.com>"]));
    expect(git(["--git-dir", root, "log", "-1", "--format=%an|%ae|%s", "main"]).trim()).toBe("Ada|ada@example.com|first value");
    const same = await ok(irmin(["set", "k", "v1"]));
    expect(same).toMatch(/unchanged: k already has that value/);
    expect(git(["--git-dir", root, "rev-list", "--count", "main"]).trim()).toBe("1");

    await ok(irmin(["set", "doc", "-"], { stdin: "line 1\nline 2\n" }));
    expect(await ok(irmin(["get", "doc"]))).toBe("line 1\nline 2\n");
    expect(git(["--git-dir", root, "cat-file", "blob", "main:doc"])).toBe("line 1\nline 2\n");
    expect(await ok(irmin(["tree"]))).toBe('doc = "line 1\\nline 2\\n"\nk = v1\n');

    await ok(irmin(["set", "neg", "--", "-5"]));
    expect(await ok(irmin(["get", "neg"]))).toBe("-5\n");
    await ok(irmin(["set", "empty", ""]));
    expect(JSON.parse(await ok(irmin(["--json", "get", "empty"])))).toEqual({ path: "empty", value: "" });
  });

  it("--json on value commands", async () => {
    const { irmin } = await fresh();
    const set = JSON.parse(await ok(irmin(["--json", "set", "a/b", "1"])));
    expect(set).toMatchObject({ branch: "main", path: "a/b", changed: true });
    expect(set.commit).toMatch(/^[0-9a-f]{40}$/);
    await ok(irmin(["set", "a/c", "two\nlines"]));
    expect(JSON.parse(await ok(irmin(["get", "a/b", "--json"])))).toEqual({ path: "a/b", value: "1" });
    expect(JSON.parse(await ok(irmin(["--json", "list"])))).toEqual([{ name: "a", kind: "node" }]);
    expect(JSON.parse(await ok(irmin(["--json", "list", "a"])))).toEqual([
      { name: "b", kind: "contents" },
      { name: "c", kind: "contents" },
    ]);
    expect(JSON.parse(await ok(irmin(["--json", "tree"])))).toEqual({ "a/b": "1", "a/c": "two\nlines" });
    const removed = JSON.parse(await ok(irmin(["--json", "remove", "a/b"])));
    expect(removed).toMatchObject({ branch: "main", path: "a/b" });
  });
});

describe("irmin history and branches", () => {
  it("log: one line per commit, newest first, with -n and --path", async () => {
    const { root, irmin } = await fresh();
    await ok(irmin(["set", "a", "1"]));
    await ok(irmin(["set", "b", "1"]));
    await ok(irmin(["set", "a", "2", "-m", "second a\n\nwith a body"]));
    const lines = (await ok(irmin(["log"]))).trimEnd().split("\n");
    const hashes = git(["--git-dir", root, "log", "--format=%h", "--abbrev=7", "main"]).trim().split("\n");
    expect(lines).toHaveLength(3);
    lines.forEach((line, i) => expect(line).toMatch(new RegExp(`^${hashes[i]} \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ `)));
    expect(lines.map((l) => l.slice(29))).toEqual(["second a", "set b", "set a"]);
    expect((await ok(irmin(["log", "-n", "1"]))).trimEnd().split("\n")).toHaveLength(1);
    expect((await ok(irmin(["log", "--path", "a"]))).trimEnd().split("\n").map((l) => l.slice(29))).toEqual(["second a", "set a"]);
    const json = JSON.parse(await ok(irmin(["--json", "log", "-n", "2"])));
    expect(json).toHaveLength(2);
    expect(json[0]).toMatchObject({ message: "second a\n\nwith a body\n", author: "irmin-ts <irmin@localhost>" });
    expect(json[0].parents).toEqual([json[1].hash]);
    expect(new Date(json[0].date).getTime()).toBe(Number(git(["--git-dir", root, "log", "-1", "--format=%at", "main"]).trim()) * 1000);
  });

  it("fork, branches, merge (fast-forward, real merge, conflict)", async () => {
    const { root, irmin } = await fresh();
    await ok(irmin(["set", "shared", "base"]));
    expect(await ok(irmin(["fork", "wip"]))).toMatch(/^wip [0-9a-f]{7} forked from main\n$/);
    expectOneLineError(await irmin(["fork", "wip"]), /branch wip already exists \(use --force/);
    await ok(irmin(["fork", "wip", "--force"]));
    await ok(irmin(["--branch", "wip", "set", "only-wip", "w"]));
    expect(await ok(irmin(["branches"]))).toMatch(/^\* main [0-9a-f]{7}\n {2}wip [0-9a-f]{7}\n$/);
    expect(await ok(irmin(["branches", "--branch", "wip"]))).toMatch(/^ {2}main [0-9a-f]{7}\n\* wip [0-9a-f]{7}\n$/);

    // Fast-forward: main takes wip's head.
    const ff = await ok(irmin(["merge", "wip"]));
    const wipHead = git(["--git-dir", root, "rev-parse", "wip"]).trim();
    expect(git(["--git-dir", root, "rev-parse", "main"]).trim()).toBe(wipHead);
    expect(ff).toBe(`main ${wipHead.slice(0, 7)} ${ff.split(" ")[2]} set only-wip\n`);

    // Both sides changed different keys: a merge commit with two parents.
    await ok(irmin(["set", "m", "on main"]));
    await ok(irmin(["--branch", "wip", "set", "w2", "on wip"]));
    const merged = JSON.parse(await ok(irmin(["--json", "merge", "wip"])));
    expect(merged.ok).toBe(true);
    expect(merged.commit.parents).toHaveLength(2);
    expect(merged.commit.message).toBe("merge wip into main\n");
    expect(await ok(irmin(["tree"]))).toBe("m = on main\nonly-wip = w\nshared = base\nw2 = on wip\n");

    // Both sides changed the same value differently: conflict, exit 1, main unchanged.
    await ok(irmin(["set", "shared", "main's"]));
    await ok(irmin(["--branch", "wip", "set", "shared", "wip's"]));
    const before = git(["--git-dir", root, "rev-parse", "main"]).trim();
    const conflict = await irmin(["merge", "wip"]);
    expect(conflict.code).toBe(1);
    expect(conflict.stdout).toMatch(/^conflict shared: .+\n$/);
    expect(conflict.stderr).toBe("irmin: merge of wip into main failed with 1 conflict(s); main is unchanged\n");
    expect(git(["--git-dir", root, "rev-parse", "main"]).trim()).toBe(before);
    const jsonConflict = await irmin(["--json", "merge", "wip"]);
    expect(jsonConflict.code).toBe(1);
    expect(JSON.parse(jsonConflict.stdout)).toMatchObject({ ok: false, conflicts: [{ path: "shared" }] });

    // A custom message, and merging a commit id.
    await ok(irmin(["--branch", "wip", "set", "shared", "main's"]));
    await ok(irmin(["--branch", "wip", "set", "later", "x"]));
    const id = git(["--git-dir", root, "rev-parse", "wip"]).trim();
    await ok(irmin(["set", "other", "y"]));
    await ok(irmin(["merge", id.slice(0, 9), "-m", "bring wip in"]));
    expect(git(["--git-dir", root, "log", "-1", "--format=%s|%p", "main"]).trim()).toMatch(new RegExp(`^bring wip in\\|[0-9a-f]+ ${id.slice(0, 7)}`));
    expectOneLineError(await irmin(["merge", "no-such-branch"]), /no branch or commit named no-such-branch/);
  });

  it("fork without --force creates the branch only if absent, also when two forks race", async () => {
    const { root, irmin } = await fresh();
    await ok(irmin(["set", "k", "v"]));
    await ok(irmin(["fork", "b"]));
    await ok(irmin(["--branch", "b", "set", "k", "on b"]));
    const heads = [git(["--git-dir", root, "rev-parse", "main"]).trim(), git(["--git-dir", root, "rev-parse", "b"]).trim()];
    for (let i = 0; i < 5; i++) {
      const name = `x${i}`;
      const results = await Promise.all([irmin(["fork", name]), irmin(["--branch", "b", "fork", name])]);
      const won = results.filter((r) => r.code === 0);
      expect(won, `fork ${name}: ${JSON.stringify(results)}`).toHaveLength(1);
      const lost = results.find((r) => r.code !== 0)!;
      expectOneLineError(lost, new RegExp(`^irmin: branch ${name} already exists \\(use --force to overwrite it\\)$`));
      // The branch is where the winner said it forked from.
      const winner = results.indexOf(won[0]);
      expect(git(["--git-dir", root, "rev-parse", name]).trim()).toBe(heads[winner]);
      expect(won[0].stdout).toBe(`${name} ${heads[winner].slice(0, 7)} forked from ${winner === 0 ? "main" : "b"}\n`);
    }
    // --force overwrites.
    await ok(irmin(["--branch", "b", "fork", "x0", "--force"]));
    expect(git(["--git-dir", root, "rev-parse", "x0"]).trim()).toBe(heads[1]);
  });

  it("fork needs a head; --json fork and branches", async () => {
    const { irmin } = await fresh();
    expectOneLineError(await irmin(["fork", "wip"]), /branch main has no commits yet/);
    await ok(irmin(["set", "k", "v"]));
    const fork = JSON.parse(await ok(irmin(["--json", "fork", "wip"])));
    expect(fork).toMatchObject({ branch: "wip", from: "main" });
    const branches = JSON.parse(await ok(irmin(["--json", "branches"])));
    expect(branches).toEqual([
      { name: "main", head: fork.commit, current: true },
      { name: "wip", head: fork.commit, current: false },
    ]);
  });

  it("reset to a commit id (full or abbreviated), a branch, or HEAD", async () => {
    const { root, irmin } = await fresh();
    await ok(irmin(["set", "k", "1"]));
    const first = git(["--git-dir", root, "rev-parse", "main"]).trim();
    await ok(irmin(["set", "k", "2"]));
    await ok(irmin(["fork", "two"]));
    await ok(irmin(["set", "k", "3"]));

    expect(await ok(irmin(["reset", first.slice(0, 5)]))).toMatch(new RegExp(`^main ${first.slice(0, 7)} .* set k\\n$`));
    expect(await ok(irmin(["get", "k"]))).toBe("1\n");
    await ok(irmin(["reset", "two"]));
    expect(await ok(irmin(["get", "k"]))).toBe("2\n");
    await ok(irmin(["reset", first]));
    expect(await ok(irmin(["get", "k"]))).toBe("1\n");
    await ok(irmin(["--branch", "two", "reset", "HEAD"]));
    expect(git(["--git-dir", root, "rev-parse", "two"]).trim()).not.toBe(first);
    const json = JSON.parse(await ok(irmin(["--json", "reset", "two"])));
    expect(json).toEqual({ branch: "main", before: first, commit: git(["--git-dir", root, "rev-parse", "two"]).trim() });

    expectOneLineError(await irmin(["reset", "abc"]), /no branch or commit named abc/); // too short to be an id
    expectOneLineError(await irmin(["reset", "0000000"]), /no branch or commit named 0000000/);
    expectOneLineError(await irmin(["reset", "0".repeat(40)]), /no branch or commit named 0{40}/);
    // A tree id is not a commit.
    const tree = git(["--git-dir", root, "rev-parse", "main^{tree}"]).trim();
    expectOneLineError(await irmin(["reset", tree]), /is not a commit/);
    // An abbreviation only has to name one commit: trees and blobs sharing it do not count.
    expectOneLineError(await irmin(["reset", tree.slice(0, 8)]), /no branch or commit named/);
  });

  it("diff between commits and branches", async () => {
    const { root, irmin } = await fresh();
    await ok(irmin(["set", "same", "s"]));
    await ok(irmin(["set", "changed", "old"]));
    await ok(irmin(["set", "gone", "bye"]));
    const a = git(["--git-dir", root, "rev-parse", "main"]).trim();
    await ok(irmin(["fork", "b"]));
    await ok(irmin(["--branch", "b", "set", "changed", "new"]));
    await ok(irmin(["--branch", "b", "remove", "gone"]));
    await ok(irmin(["--branch", "b", "set", "dir/new", "two\nlines"]));
    expect(await ok(irmin(["diff", a.slice(0, 8), "b"]))).toBe('~ changed = new (was: old)\n+ dir/new = "two\\nlines"\n- gone = bye\n');
    expect(await ok(irmin(["diff", "main", "main"]))).toBe("");
    expect(JSON.parse(await ok(irmin(["--json", "diff", "b", "main"])))).toEqual([
      { path: "changed", kind: "updated", before: "new", after: "old" },
      { path: "dir/new", kind: "removed", before: "two\nlines" },
      { path: "gone", kind: "added", after: "bye" },
    ]);
  });
});

describe("irmin watch", () => {
  it("prints one line per changed value, from other writers too, until the signal", async () => {
    const { root, irmin } = await fresh();
    await ok(irmin(["set", "home/todo", "milk"]));
    const controller = new AbortController();
    let out = "";
    let err = "";
    const watching = irmin(["watch", "home"], {
      signal: controller.signal,
      onWrite: (stream, text) => (stream === "stdout" ? (out += text) : (err += text)),
    });
    await until(() => err.includes("watching main at home"), "the watch to start");
    // The watch reports the states it observes: changes closer together than it looks may be
    // reported as one, so each step waits for the previous one to show.
    const lineCount = () => out.split("\n").length - 1;
    await ok(irmin(["set", "home/todo", "eggs"]));
    await until(() => lineCount() === 1, () => `the first change, got ${JSON.stringify(out)}`);
    await ok(irmin(["set", "elsewhere", "not shown"]));
    await ok(irmin(["set", "home/new", "n"]));
    await until(() => lineCount() === 2, () => `the second change, got ${JSON.stringify(out)}`);
    const first = git(["--git-dir", root, "rev-list", "--max-parents=0", "main"]).trim();
    git(["--git-dir", root, "update-ref", "refs/heads/main", first]); // a rollback with git
    await until(() => lineCount() === 4, () => `the rollback, got ${JSON.stringify(out)}`);
    controller.abort();
    const r = await watching;
    expect(r.code).toBe(0);
    const lines = out.trimEnd().split("\n");
    expect(lines.map((l) => l.slice(8))).toEqual(["~ home/todo = eggs (was: milk)", "+ home/new = n", "- home/new = n", "~ home/todo = milk (was: eggs)"]);
    // Each line starts with the commit the branch moved to (sorted by path within one change).
    expect(lines[2].slice(0, 7)).toBe(first.slice(0, 7));
    expect(lines[3].slice(0, 7)).toBe(first.slice(0, 7));
  });

  it("--json prints one document per change; an aborted signal stops at once", async () => {
    const { irmin } = await fresh();
    const controller = new AbortController();
    let out = "";
    let err = "";
    const watching = irmin(["--json", "watch"], { signal: controller.signal, onWrite: (s, t) => (s === "stdout" ? (out += t) : (err += t)) });
    await until(() => err.includes("watching"), "the watch to start");
    await ok(irmin(["set", "k", "v"]));
    await until(() => out.includes("\n"), "a change");
    controller.abort();
    expect((await watching).code).toBe(0);
    const doc = JSON.parse(out);
    expect(doc).toMatchObject({ branch: "main", path: "k", kind: "added", after: "v" });
    expect(doc.commit).toMatch(/^[0-9a-f]{40}$/);

    const stopped = new AbortController();
    stopped.abort();
    expect(await irmin(["watch"], { signal: stopped.signal })).toEqual({ code: 0, stdout: "", stderr: "" });
  });
});

describe("irmin bad input", () => {
  it("one line on stderr, exit 1, never a stack trace", async () => {
    const { irmin } = await fresh();
    await ok(irmin(["set", "k", "v"]));
    const cases: [string[], RegExp][] = [
      [["frobnicate"], /^irmin: unknown command 'frobnicate'$/],
      [["gt", "k"], /^irmin: unknown command 'gt' \(Did you mean get\?\)$/],
      [["get"], /^irmin: missing required argument 'path'$/],
      [["set", "k"], /^irmin: missing required argument 'value'$/],
      [["get", "a", "b"], /^irmin: too many arguments for 'get'/],
      [["get", "--nope", "k"], /^irmin: unknown option '--nope'$/],
      [["get", "a//b"], /^irmin: invalid path segment: empty name$/],
      [["set", "/lead", "v"], /^irmin: invalid path segment: empty name$/],
      [["set", ".git/x", "v"], /name \.git is reserved/],
      [["set", "", "v"], /^irmin: set needs a path$/],
      [["get", "k", "--branch", "a..b"], /^irmin: invalid ref name/],
      [["log", "-n", "-1"], /argument '-1' is invalid/],
      [["log", "-n", "x"], /argument 'x' is invalid/],
      [["set", "k", "v", "--author", "nobody"], /author must look like "Name <email>"/],
      [["diff", "main"], /missing required argument 'b'/],
      [["--root"], /argument missing/],
    ];
    for (const [args, pattern] of cases) {
      const r = await irmin(args);
      expect(r.code, args.join(" ")).toBe(1);
      expectOneLineError(r, pattern);
    }
    expect(await ok(irmin(["get", "k"]))).toBe("v\n"); // nothing above changed anything
  });

  it("invalid UTF-8 on standard input is refused", async () => {
    const { root, irmin } = await fresh();
    let stdout = "";
    let stderr = "";
    const code = await run(["--root", root, "set", "k", "-"], {
      stdout: { write: (s: string) => (stdout += s) },
      stderr: { write: (s: string) => (stderr += s) },
      stdin: (async function* () {
        yield new Uint8Array([0xff, 0xfe]);
      })(),
    });
    expect(code).toBe(1);
    expect(stderr).toBe("irmin: standard input is not valid UTF-8\n");
    expect(stdout).toBe("");
    expect(await ok(irmin(["list"]))).toBe("");
  });

  it("--help everywhere goes to stdout with exit 0; no command shows help and fails", async () => {
    const top = await runCli(["--help"]);
    expect(top.code).toBe(0);
    expect(top.stdout).toMatch(/^Usage: irmin \[options\] \[command\]/);
    for (const c of ["init", "get", "set", "remove", "list", "tree", "log", "branches", "fork", "merge", "reset", "diff", "watch"]) {
      expect(top.stdout).toContain(`\n  ${c}`);
      const r = await runCli([c, "--help"]);
      expect(r.code, c).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^Usage: irmin ${c}`));
    }
    expect((await runCli(["help", "set"])).stdout).toMatch(/-m, --message <message>/);
    // Each command's help points to the global options.
    for (const c of ["get", "counter", "fork", "clone", "watch"]) {
      expect((await runCli([c, "--help"])).stdout, c).toContain('\nGlobal options (before or after the command): --root <dir>, --branch <name>, --json; see "irmin --help".\n');
    }
    expect(await runCli(["help"])).toEqual(await runCli(["--help"]));
    expectOneLineError(await runCli(["help", "bogus"]), /^irmin: unknown command 'bogus'$/);
    expect((await runCli(["help", "bogus"])).code).toBe(1);
    const version = await runCli(["--version"]);
    expect(version).toEqual({ code: 0, stdout: `${JSON.parse(readFileSync(join(PROJECT, "package.json"), "utf8")).version}\n`, stderr: "" });
    const none = await runCli([]);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/^Usage: irmin/);
  });
});
