// The data type commands (counter, register, set-of, log-of, queue, text), and get/tree on data
// types: in-process runs checked with the real git, and one session as its own process.
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { expectOneLineError, git, runCli, spawnCli, tempDir, ok, repoFactory } from "./harness.js";

const tmp = tempDir("irmin-cli-types-");
afterAll(() => tmp.cleanup());


const fresh = repoFactory(tmp.dir);


const subjects = (root: string, rev = "main") => git(["--git-dir", root, "log", "--format=%s", rev]).trim().split("\n");
const fsck = (root: string) => git(["--git-dir", root, "fsck", "--strict", "--no-dangling"]);
const COMMIT_LINE = /^main [0-9a-f]{7} /;

describe("irmin counter", () => {
  it("prints the value (0 when absent), inc and dec print the new value, one commit each", async () => {
    const { root, irmin } = await fresh();
    expect(await ok(irmin(["counter", "stats/hits"]))).toBe("0\n");
    expect(await ok(irmin(["counter", "stats/hits", "inc"]))).toBe("1\n");
    expect(await ok(irmin(["counter", "stats/hits", "inc", "41"]))).toBe("42\n");
    expect(await ok(irmin(["counter", "stats/hits", "dec"]))).toBe("41\n");
    expect(await ok(irmin(["counter", "stats/hits", "dec", "50", "-m", "big drop", "--author", "Ada <ada@example.com>"]))).toBe("-9\n");
    expect(await ok(irmin(["counter", "stats/hits", "inc", "--", "-1"]))).toBe("-10\n");
    expect(await ok(irmin(["counter", "stats/hits"]))).toBe("-10\n");
    expect(subjects(root)).toEqual(["increment stats/hits", "big drop", "decrement stats/hits", "increment stats/hits", "increment stats/hits"]);
    expect(git(["--git-dir", root, "log", "-1", "--skip=1", "--format=%an <%ae>", "main"]).trim()).toBe("Ada <ada@example.com>");
    // What the store holds is the counter's own blob, which git reads.
    expect(git(["--git-dir", root, "cat-file", "blob", "main:stats/hits/value"])).toBe("-10");
    fsck(root);

    const json = JSON.parse(await ok(irmin(["--json", "counter", "stats/hits", "inc", "3"])));
    expect(json).toEqual({ branch: "main", path: "stats/hits", value: -7, changed: true, commit: git(["--git-dir", root, "rev-parse", "main"]).trim() });
    expect(JSON.parse(await ok(irmin(["counter", "stats/hits", "--json"])))).toEqual({ path: "stats/hits", type: "counter", value: -7 });
  });

  it("beyond 2^53: exact digits in text, in JSON (a number token), in tree and diff", async () => {
    const { root, irmin } = await fresh();
    const max = String(Number.MAX_SAFE_INTEGER); // 9007199254740991
    expect(await ok(irmin(["counter", "c", "inc", max]))).toBe(`${max}\n`);
    expect(await ok(irmin(["counter", "c", "inc", max]))).toBe("18014398509481982\n");
    await ok(irmin(["fork", "before"]));
    expect(await ok(irmin(["counter", "c", "inc", "3"]))).toBe("18014398509481985\n");
    expect(git(["--git-dir", root, "cat-file", "blob", "main:c/value"])).toBe("18014398509481985");
    expect(await ok(irmin(["counter", "c"]))).toBe("18014398509481985\n");
    expect(await ok(irmin(["--json", "counter", "c"]))).toBe('{"path":"c","type":"counter","value":18014398509481985}\n');
    expect(await ok(irmin(["--json", "counter", "c", "dec", "0"]))).toMatch(/"value":18014398509481985,/);
    expect(await ok(irmin(["tree"]))).toBe("c = <counter 18014398509481985>\n");
    expect(await ok(irmin(["--json", "tree"]))).toBe('{"c":{"type":"counter","value":18014398509481985}}\n');
    expect(await ok(irmin(["diff", "before", "main"]))).toBe("~ c = <counter 18014398509481985> (was: <counter 18014398509481982>)\n");
    expectOneLineError(await irmin(["counter", "c", "inc", "9007199254740992"]), /N must be at most 9007199254740991 \(2\^53 - 1\) in absolute value/);
  });

  it("increments on two branches merge to the sum", async () => {
    const { root, irmin } = await fresh();
    await ok(irmin(["counter", "hits", "inc", "10"]));
    await ok(irmin(["fork", "wip"]));
    await ok(irmin(["--branch", "wip", "counter", "hits", "inc", "2"]));
    await ok(irmin(["counter", "hits", "inc", "3"]));
    expect(await ok(irmin(["merge", "wip"]))).toMatch(/^main [0-9a-f]{7} /);
    expect(await ok(irmin(["counter", "hits"]))).toBe("15\n");
    expect(git(["--git-dir", root, "log", "-1", "--format=%p", "main"]).trim().split(" ")).toHaveLength(2);
    fsck(root);
  });

  it("concurrent writers: every increment counts, once, and each reported commit holds the reported value", async () => {
    const { root, irmin } = await fresh();
    const writers = 8;
    const runs = await Promise.all(Array.from({ length: writers }, () => irmin(["--json", "counter", "c", "inc"])));
    for (const r of runs) expect(r).toMatchObject({ code: 0, stderr: "" });
    const results = runs.map((r) => JSON.parse(r.stdout) as { value: number; commit: string });
    expect(results.map((r) => r.value).sort((a, b) => a - b)).toEqual(Array.from({ length: writers }, (_, i) => i + 1));
    // (Reading the head right after committing would usually pass this too: the window is small.)
    for (const r of results) expect(git(["--git-dir", root, "cat-file", "blob", `${r.commit}:c/value`])).toBe(String(r.value));
    expect(subjects(root)).toEqual(Array(writers).fill("increment c"));
  });
});

describe("irmin register, set-of, log-of, queue and text", () => {
  it("register: set and print, stdin, empty values, values that look like options", async () => {
    const { root, irmin } = await fresh();
    expectOneLineError(await irmin(["register", "owner"]), /^irmin: the register at owner has no value$/);
    expect(await ok(irmin(["register", "owner", "set", "alice"]))).toMatch(/^main [0-9a-f]{7} set owner\n$/);
    expect(await ok(irmin(["register", "owner"]))).toBe("alice\n");
    await ok(irmin(["register", "owner", "set", "-"], { stdin: "line 1\nline 2\n" }));
    expect(await ok(irmin(["register", "owner"]))).toBe("line 1\nline 2\n");
    await ok(irmin(["register", "owner", "set", "--", "-5"]));
    expect(await ok(irmin(["register", "owner"]))).toBe("-5\n");
    // An explicit empty value is a value, not a missing argument.
    await ok(irmin(["register", "owner", "set", ""]));
    expect(JSON.parse(await ok(irmin(["--json", "register", "owner"])))).toEqual({ path: "owner", type: "register", value: "" });
    expectOneLineError(await irmin(["register", "owner", "set"]), /^irmin: register set takes VALUE, got 0 arguments$/);
    expect(subjects(root)).toEqual(Array(4).fill("set owner"));
    fsck(root);
  });

  it("set-of: add, delete, has (exit 1 when absent), no commit when nothing changes", async () => {
    const { root, irmin } = await fresh();
    expect(await ok(irmin(["set-of", "tags", "add", "urgent"]))).toMatch(/^main [0-9a-f]{7} add tags\n$/);
    expect(await ok(irmin(["set-of", "tags", "add", "urgent"]))).toMatch(/^main [0-9a-f]{7} unchanged: tags already has that element\n$/);
    await ok(irmin(["set-of", "tags", "add", "two\nlines"]));
    await ok(irmin(["set-of", "tags", "add", "home"]));
    const listed = (await ok(irmin(["set-of", "tags"]))).trimEnd().split("\n");
    expect([...listed].sort()).toEqual(['"two\\nlines"', "home", "urgent"]);
    const json = JSON.parse(await ok(irmin(["--json", "set-of", "tags"])));
    expect([...json.value].sort()).toEqual(["home", "two\nlines", "urgent"]);

    expect(await irmin(["set-of", "tags", "has", "urgent"])).toEqual({ code: 0, stdout: "yes\n", stderr: "" });
    expect(await irmin(["set-of", "tags", "has", "nope"])).toEqual({ code: 1, stdout: "no\n", stderr: "" });
    expect(await irmin(["set-of", "tags", "has", "-"], { stdin: "two\nlines" })).toMatchObject({ code: 0, stdout: "yes\n" });
    expect(await irmin(["--json", "set-of", "tags", "has", "nope"])).toEqual({ code: 1, stdout: '{"path":"tags","value":"nope","present":false}\n', stderr: "" });

    expect(await ok(irmin(["set-of", "tags", "delete", "urgent"]))).toMatch(/^main [0-9a-f]{7} delete tags\n$/);
    const unchanged = JSON.parse(await ok(irmin(["--json", "set-of", "tags", "delete", "urgent"])));
    expect(unchanged).toEqual({ branch: "main", path: "tags", commit: null, changed: false });
    expect(subjects(root)).toEqual(["delete tags", "add tags", "add tags", "add tags"]);
    fsck(root);
  });

  it("no commit for a change that changes nothing on a branch with no commits", async () => {
    const { root, irmin } = await fresh();
    expect(await ok(irmin(["set-of", "tags", "delete", "x"]))).toBe("main unchanged: tags does not have that element\n");
    expect(await ok(irmin(["text", "doc", "insert", "0", ""]))).toBe("main unchanged: the text at doc is the same\n");
    expect(await ok(irmin(["branches"]))).toBe("");
    expect(() => git(["--git-dir", root, "rev-parse", "--verify", "--quiet", "main"])).toThrow();
  });

  it("log-of: newest first with ISO times, -n, appends merged from two branches", async () => {
    const { root, irmin } = await fresh();
    const first = JSON.parse(await ok(irmin(["--json", "log-of", "app/events", "append", "started"])));
    expect(first).toMatchObject({ branch: "main", path: "app/events", changed: true });
    expect(first.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    await ok(irmin(["fork", "wip"]));
    await ok(irmin(["--branch", "wip", "log-of", "app/events", "append", "on wip"]));
    await ok(irmin(["log-of", "app/events", "append", "on\tmain"]));
    await ok(irmin(["merge", "wip"]));
    const lines = (await ok(irmin(["log-of", "app/events"]))).trimEnd().split("\n");
    expect(lines).toHaveLength(3);
    for (const line of lines) expect(line).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\t/);
    expect(lines.map((l) => l.split("\t")[1]).sort()).toEqual(['"on\\tmain"', "on wip", "started"]);
    expect(lines[2]).toBe(`${first.time}\tstarted`);
    const times = lines.map((l) => Date.parse(l.split("\t")[0]));
    expect([...times].sort((a, b) => b - a)).toEqual(times);
    expect(await ok(irmin(["log-of", "app/events", "-n", "1"]))).toBe(`${lines[0]}\n`);
    expect(await ok(irmin(["log-of", "app/events", "-n", "0"]))).toBe("");
    const json = JSON.parse(await ok(irmin(["--json", "log-of", "app/events", "-n", "2"])));
    expect(json.value.map((e: { time: string; value: string }) => `${e.time}\t${JSON.stringify(e.value)}`)).toHaveLength(2);
    expect(json).toMatchObject({ path: "app/events", type: "log" });
    // The history command is untouched: `log` is still the commits.
    expect((await ok(irmin(["log", "-n", "1"]))).trimEnd()).toMatch(/ merge wip into main$/);
    expectOneLineError(await irmin(["log-of", "app/events", "append", "x", "-n", "2"]), /-n is for reading/);
    fsck(root);
  });

  it("queue: push, peek, pop (exit 1 when empty), pushes on a fork merged", async () => {
    const { root, irmin } = await fresh();
    expect(await ok(irmin(["queue", "todo"]))).toBe("");
    expectOneLineError(await irmin(["queue", "todo", "pop"]), /^irmin: the queue at todo on main is empty$/);
    expectOneLineError(await irmin(["queue", "todo", "peek"]), /is empty/);
    expect(await ok(irmin(["queue", "todo", "push", "milk"]))).toMatch(/^main [0-9a-f]{7} push todo\n$/);
    await ok(irmin(["fork", "wip"]));
    await ok(irmin(["--branch", "wip", "queue", "todo", "push", "eggs"]));
    await ok(irmin(["--branch", "wip", "queue", "todo", "push", "-"], { stdin: "bread\n" }));
    await ok(irmin(["queue", "todo", "push", "tea"]));
    await ok(irmin(["merge", "wip"]));
    const items = (await ok(irmin(["queue", "todo"]))).trimEnd().split("\n");
    expect(items[0]).toBe("milk");
    expect([...items].sort()).toEqual(['"bread\\n"', "eggs", "milk", "tea"]);
    expect(items.indexOf("eggs")).toBeLessThan(items.indexOf('"bread\\n"'));
    expect(await ok(irmin(["queue", "todo", "peek"]))).toBe("milk\n");
    expect(await ok(irmin(["queue", "todo", "pop"]))).toBe("milk\n");
    const popped = JSON.parse(await ok(irmin(["--json", "queue", "todo", "pop"])));
    expect(popped).toEqual({ branch: "main", path: "todo", value: items[1].startsWith('"') ? JSON.parse(items[1]) : items[1], commit: git(["--git-dir", root, "rev-parse", "main"]).trim() });
    expect(subjects(root).slice(0, 2)).toEqual(["pop todo", "pop todo"]);
    expect(JSON.parse(await ok(irmin(["--json", "queue", "todo"]))).value).toHaveLength(2);
    expectOneLineError(await irmin(["queue", "todo", "peek", "extra"]), /^irmin: queue peek takes no argument, got 1 argument$/);
    fsck(root);
  });

  it("queue: any values come back in push order (property)", async () => {
    const { irmin } = await fresh();
    let n = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(fc.string({ unit: "grapheme", maxLength: 8 }), { minLength: 1, maxLength: 3 }), async (values) => {
        const path = `q${n++}`;
        for (const v of values) await ok(irmin(["queue", path, "push", "-"], { stdin: v }));
        expect(JSON.parse(await ok(irmin(["--json", "queue", path]))).value).toEqual(values);
        const first = await ok(irmin(["queue", path, "pop"]));
        expect(first).toBe(values[0].endsWith("\n") ? values[0] : values[0] + "\n");
      }),
      { numRuns: 12, seed: 20240501 },
    );
  });

  it("text: insert, delete, set, print; edits on two branches merge", async () => {
    const { root, irmin } = await fresh();
    expect(await ok(irmin(["text", "doc"]))).toBe("\n");
    expect(await ok(irmin(["text", "doc", "insert", "0", "hello world"]))).toMatch(/^main [0-9a-f]{7} insert doc\n$/);
    await ok(irmin(["fork", "wip"]));
    await ok(irmin(["--branch", "wip", "text", "doc", "insert", "11", "!"]));
    await ok(irmin(["text", "doc", "delete", "0", "1"]));
    await ok(irmin(["text", "doc", "insert", "0", "H"]));
    await ok(irmin(["merge", "wip"]));
    expect(await ok(irmin(["text", "doc"]))).toBe("Hello world!\n");
    const set = JSON.parse(await ok(irmin(["--json", "text", "doc", "set", "-"], { stdin: "Hello, world!\n" })));
    expect(set).toMatchObject({ changed: true, length: 14 });
    expect(await ok(irmin(["text", "doc"]))).toBe("Hello, world!\n");
    expect(await ok(irmin(["text", "doc", "set", "Hello, world!\n"]))).toMatch(/^main [0-9a-f]{7} unchanged: the text at doc is the same\n$/);
    expectOneLineError(await irmin(["text", "doc", "delete", "0", "99"]), /^irmin: text: length 99 is outside \[0, 14\]$/);
    expectOneLineError(await irmin(["text", "doc", "insert", "x", "a"]), /^irmin: text: POS must be a non-negative integer, got "x"$/);
    expectOneLineError(await irmin(["text", "doc", "insert", "0"]), /^irmin: text insert takes POS STRING, got 1 argument$/);
    expectOneLineError(await irmin(["text", "doc", "set", "a", "b"]), /^irmin: text set takes STRING, got 2 arguments$/);
    expect(subjects(root)[0]).toBe("set doc");
    fsck(root);
  });
});

describe("data types in get and tree, and bad input", () => {
  it("get prints a data type's value; tree shows one line per data type", async () => {
    const { irmin } = await fresh();
    await ok(irmin(["counter", "a/hits", "inc", "5"]));
    await ok(irmin(["register", "a/owner", "set", "Ada Lovelace"]));
    await ok(irmin(["set-of", "a/tags", "add", "x"]));
    await ok(irmin(["log-of", "a/events", "append", "e1"]));
    await ok(irmin(["log-of", "a/events", "append", "e2"]));
    await ok(irmin(["queue", "todo", "push", "q"]));
    await ok(irmin(["text", "doc", "insert", "0", "two\nlines"]));
    await ok(irmin(["set", "plain", "v"]));

    expect(await ok(irmin(["get", "a/hits"]))).toBe("5\n");
    expect(await ok(irmin(["get", "a/owner"]))).toBe("Ada Lovelace\n");
    expect(await ok(irmin(["get", "a/tags"]))).toBe("x\n");
    expect((await ok(irmin(["get", "a/events"]))).split("\n").map((l) => l.split("\t")[1])).toEqual(["e2", "e1", undefined]);
    expect(await ok(irmin(["get", "todo"]))).toBe("q\n");
    expect(await ok(irmin(["get", "doc"]))).toBe("two\nlines\n");
    expect(JSON.parse(await ok(irmin(["--json", "get", "a/hits"])))).toEqual({ path: "a/hits", type: "counter", value: 5 });
    expect(await ok(irmin(["get", "plain"]))).toBe("v\n");
    expectOneLineError(await irmin(["get", "a"]), /a is a directory/);

    const tree = "a/events = <log 2 entries>\na/hits = <counter 5>\na/owner = <register Ada Lovelace>\na/tags = <set 1 element>\n" + 'doc = <text "two\\nlines">\nplain = v\ntodo = <queue 1 element>\n';
    expect(await ok(irmin(["tree"]))).toBe(tree);
    expect(await ok(irmin(["tree", "a"]))).toBe(tree.split("\n").slice(0, 4).join("\n") + "\n");
    expect(await ok(irmin(["tree", "a/hits"]))).toBe("a/hits = <counter 5>\n");
    expect(JSON.parse(await ok(irmin(["--json", "tree"])))).toEqual({
      "a/events": { type: "log", length: 2 },
      "a/hits": { type: "counter", value: 5 },
      "a/owner": { type: "register", value: "Ada Lovelace" },
      "a/tags": { type: "set", length: 1 },
      doc: { type: "text", value: "two\nlines" },
      plain: "v",
      todo: { type: "queue", length: 1 },
    });
  });

  it("wrong types, unknown actions, options that do not apply: one line, exit 1, nothing written", async () => {
    const { root, irmin } = await fresh();
    await ok(irmin(["queue", "todo", "push", "x"]));
    await ok(irmin(["set", "plain", "v"]));
    await ok(irmin(["set", "dir/k", "v"]));
    const head = git(["--git-dir", root, "rev-parse", "main"]).trim();
    expectOneLineError(await irmin(["counter", "todo", "inc"]), /^irmin: todo is a queue, not a counter$/);
    expectOneLineError(await irmin(["set-of", "todo"]), /^irmin: todo is a queue, not a set$/);
    expectOneLineError(await irmin(["counter", "plain"]), /^irmin: plain holds a value, not a data type$/);
    expectOneLineError(await irmin(["text", "dir", "insert", "0", "x"]), /^irmin: dir is a directory, not a text$/);
    expectOneLineError(await irmin(["counter", "c", "frob"]), /^irmin: counter: unknown action "frob" \(expected inc or dec\)$/);
    expectOneLineError(await irmin(["set-of", "s", "remove", "x"]), /^irmin: set-of: unknown action "remove" \(expected add, delete or has\)$/);
    expectOneLineError(await irmin(["counter", "c", "inc", "1.5"]), /^irmin: counter: N must be an integer, got "1.5"$/);
    expectOneLineError(await irmin(["counter", "c", "inc", "1", "2"]), /^irmin: too many arguments for 'counter'/);
    expectOneLineError(await irmin(["counter", "c", "-m", "why"]), /^irmin: counter makes no commit: -m\/--message and --author are for changes$/);
    expectOneLineError(await irmin(["queue", "todo", "peek", "--author", "A <a@b>"]), /queue peek makes no commit/);
    expectOneLineError(await irmin(["register", "r", "set", "v", "--author", "no email"]), /author/);
    expectOneLineError(await irmin(["counter", "a//b"]), /^irmin: invalid path segment: empty name$/);
    expectOneLineError(await irmin(["log-of", "l", "-n", "x"]), /^irmin: log-of: -n must be a non-negative integer, got "x"$/);
    expectOneLineError(await runCli(["--root", join(tmp.dir, "none"), "queue", "q", "push", "x"]), /no repository at/);
    expect(git(["--git-dir", root, "rev-parse", "main"]).trim()).toBe(head);
  });

  it("--help lists the actions", async () => {
    const help = await runCli(["text", "--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: irmin text \[options\] <path> \[action\]/);
    expect(help.stdout).toContain("irmin text PATH insert POS STRING");
    expect(help.stdout).toContain('A value "-" is read from standard input');
    const top = await runCli(["--help"]);
    for (const name of ["counter", "register", "set-of", "log-of", "queue", "text"]) expect(top.stdout).toMatch(new RegExp(`^  ${name} `, "m"));
  });
});

describe("data types with irmin as its own process", () => {
  it("processes racing on one branch: every change lands, one commit each, git reads the result", async () => {
    const { root, irmin } = await fresh();
    await ok(irmin(["counter", "hits", "inc", "2"]));
    // Three processes at once (tsx start-up dominates; in parallel they cost about one).
    const spawned = (args: string[], stdin?: string) => spawnCli(["--root", root, ...args], { stdin }).done;
    const runs = await Promise.all([spawned(["counter", "hits", "inc", "3"]), spawned(["counter", "hits", "dec"]), spawned(["queue", "todo", "push", "-"], "from stdin")]);
    for (const r of runs) expect(r).toMatchObject({ code: 0, stderr: "" });
    // +3 then -1 prints 5 then 4; -1 then +3 prints 1 then 4.
    expect([runs[0].stdout, runs[1].stdout]).toEqual(runs[0].stdout === "5\n" ? ["5\n", "4\n"] : ["4\n", "1\n"]);
    expect(runs[2].stdout).toMatch(COMMIT_LINE);
    expect(await ok(irmin(["tree"]))).toBe("hits = <counter 4>\ntodo = <queue 1 element>\n");
    expect(await ok(irmin(["queue", "todo", "pop"]))).toBe("from stdin\n");
    expect(git(["--git-dir", root, "cat-file", "blob", "main:hits/value"])).toBe("4");
    expect(git(["--git-dir", root, "rev-list", "--count", "main"]).trim()).toBe("5");
    fsck(root);
  });
});
