// What tree, list, diff and watch show: data types as one item, blobs that are not UTF-8 as binary.
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { git, tempDir, until, ok, repoFactory } from "./harness.js";

const tmp = tempDir("irmin-cli-items-");
afterAll(() => tmp.cleanup());
let count = 0;


const fresh = repoFactory(tmp.dir);


/**
 * Commits, with real git, `files` (path → bytes) on top of `parent`'s tree as branch `branch`
 * (git update-index on a temporary index: what any Git tool could write).
 */
function gitCommit(root: string, branch: string, parent: string | undefined, files: Record<string, Uint8Array>): string {
  const index = join(tmp.dir, `index-${count++}`);
  const who = { GIT_AUTHOR_NAME: "git", GIT_AUTHOR_EMAIL: "git@localhost", GIT_COMMITTER_NAME: "git", GIT_COMMITTER_EMAIL: "git@localhost" };
  const env = { ...process.env, ...who, GIT_INDEX_FILE: index, GIT_DIR: root };
  const run = (args: string[], input?: Uint8Array) => git(["--git-dir", root, ...args], { env, input });
  if (parent !== undefined) run(["read-tree", parent]);
  for (const [path, bytes] of Object.entries(files)) {
    const blob = run(["hash-object", "-w", "--stdin"], bytes).trim();
    run(["update-index", "--add", "--cacheinfo", `100644,${blob},${path}`]);
  }
  const tree = run(["write-tree"]).trim();
  const commit = run(["commit-tree", tree, ...(parent === undefined ? [] : ["-p", parent]), "-m", "written by git"]).trim();
  run(["update-ref", `refs/heads/${branch}`, commit]);
  return commit;
}

const BINARY = new Uint8Array([0xff, 0xfe, 0x00]);

describe("data types are one item", () => {
  it("diff: one line per changed data type, as tree shows it; a queue push does not fail", async () => {
    const { irmin } = await fresh();
    await ok(irmin(["counter", "stats", "inc", "3"]));
    await ok(irmin(["fork", "w"]));
    await ok(irmin(["--branch", "w", "counter", "stats", "inc", "2"]));
    await ok(irmin(["--branch", "w", "register", "r", "set", "x"]));
    await ok(irmin(["--branch", "w", "set-of", "s", "add", "a"]));
    await ok(irmin(["--branch", "w", "queue", "q", "push", "hello"]));
    await ok(irmin(["--branch", "w", "set", "plain", "v"]));
    expect(await ok(irmin(["diff", "main", "w"]))).toBe(
      "+ plain = v\n+ q = <queue 1 element>\n+ r = <register x>\n+ s = <set 1 element>\n~ stats = <counter 5> (was: <counter 3>)\n",
    );
    expect(JSON.parse(await ok(irmin(["--json", "diff", "w", "main"])))).toEqual([
      { path: "plain", kind: "removed", before: "v" },
      { path: "q", kind: "removed", before: { type: "queue", length: 1 } },
      { path: "r", kind: "removed", before: { type: "register", value: "x" } },
      { path: "s", kind: "removed", before: { type: "set", length: 1 } },
      { path: "stats", kind: "updated", before: { type: "counter", value: 5 }, after: { type: "counter", value: 3 } },
    ]);
    // A value replaced by a data type: the value removed, the data type added.
    await ok(irmin(["set", "c", "plain"]));
    await ok(irmin(["fork", "v"]));
    await ok(irmin(["--branch", "v", "remove", "c"]));
    await ok(irmin(["--branch", "v", "counter", "c", "inc"]));
    expect(await ok(irmin(["diff", "main", "v"]))).toBe("- c = plain\n+ c = <counter 1>\n");
  });

  it("list: a data type is one entry, also when listed itself", async () => {
    const { irmin } = await fresh();
    await ok(irmin(["counter", "d/c", "inc", "5"]));
    await ok(irmin(["queue", "d/q", "push", "x"]));
    await ok(irmin(["set", "d/v", "1"]));
    await ok(irmin(["set", "d/sub/k", "1"]));
    expect(await ok(irmin(["list", "d"]))).toBe("c <counter>\nq <queue>\nsub/\nv\n");
    expect(await ok(irmin(["list", "d/c"]))).toBe("c <counter>\n");
    expect(JSON.parse(await ok(irmin(["--json", "list", "d"])))).toEqual([
      { name: "c", kind: "datatype", type: "counter" },
      { name: "q", kind: "datatype", type: "queue" },
      { name: "sub", kind: "node" },
      { name: "v", kind: "contents" },
    ]);
  });
});

describe("blobs that are not UTF-8", () => {
  it("tree and diff: shown as binary with their path, the listing goes on", async () => {
    const { root, irmin } = await fresh();
    await ok(irmin(["set", "a", "text"]));
    const head = git(["--git-dir", root, "rev-parse", "main"]).trim();
    gitCommit(root, "main", head, { "dir/bin": BINARY, z: new TextEncoder().encode("after") });
    expect(await ok(irmin(["tree"]))).toBe("a = text\ndir/bin = <binary 3 bytes>\nz = after\n");
    expect(await ok(irmin(["tree", "dir/bin"]))).toBe("dir/bin = <binary 3 bytes>\n");
    expect(await ok(irmin(["get", "dir/bin"]))).toBe("<binary 3 bytes>\n");
    expect(JSON.parse(await ok(irmin(["--json", "get", "dir/bin"])))).toEqual({ path: "dir/bin", value: { type: "binary", length: 3, base64: "//4A" } });
    expect(JSON.parse(await ok(irmin(["--json", "tree", "dir"])))).toEqual({ "dir/bin": { type: "binary", length: 3, base64: "//4A" } });
    expect(await ok(irmin(["diff", head, "main"]))).toBe("+ dir/bin = <binary 3 bytes>\n+ z = after\n");
  });

  it("watch shows a data type change and a binary value with the rest of the commit", async () => {
    const { root, irmin } = await fresh();
    await ok(irmin(["set", "k", "v"]));
    const controller = new AbortController();
    let out = "";
    let err = "";
    const watching = irmin(["watch"], { signal: controller.signal, onWrite: (s, t) => (s === "stdout" ? (out += t) : (err += t)) });
    await until(() => err.includes("watching"), "the watch to start");
    await ok(irmin(["queue", "q", "push", "hello"]));
    await until(() => out.includes("\n"), () => `the queue push, got ${JSON.stringify(out)}`);
    const head = git(["--git-dir", root, "rev-parse", "main"]).trim();
    gitCommit(root, "main", head, { bin: BINARY, k: new TextEncoder().encode("w") });
    await until(() => out.split("\n").length === 4, () => `the commit made by git, got ${JSON.stringify(out)}`);
    controller.abort();
    expect((await watching).code).toBe(0);
    expect(err).not.toMatch(/irmin:/);
    expect(out.split("\n").map((l) => l.slice(8))).toEqual(["+ q = <queue 1 element>", "+ bin = <binary 3 bytes>", "~ k = w (was: v)", ""]);
  });
});

describe("paths that could be misread", () => {
  it("list, tree, diff and commit subjects quote them, one entry per line", async () => {
    const { root, irmin } = await fresh();
    await ok(irmin(["set", "a\nb", "v"]));
    await ok(irmin(["fork", "w"]));
    expect(await ok(irmin(["set", "x = y", "z"]))).toMatch(/^main [0-9a-f]{7} set "x = y"\n$/);
    await ok(irmin(["set", 'q"', "<counter 5>"]));
    await ok(irmin(["counter", "c <x", "inc"]));
    expect(await ok(irmin(["list"]))).toBe('"a\\nb"\n"c <x" <counter>\n"q\\""\n"x = y"\n');
    expect(await ok(irmin(["tree"]))).toBe('"a\\nb" = v\n"c <x" = <counter 1>\n"q\\"" = "<counter 5>"\n"x = y" = z\n');
    expect(await ok(irmin(["diff", "w", "main"]))).toBe('+ "c <x" = <counter 1>\n+ "q\\"" = "<counter 5>"\n+ "x = y" = z\n');
    expect(git(["--git-dir", root, "log", "--format=%s", "main"]).trim().split("\n")).toEqual(['increment "c <x"', 'set "q\\""', 'set "x = y"', 'set "a\\nb"']);
    expect(await ok(irmin(["remove", "a\nb"]))).toMatch(/^main [0-9a-f]{7} remove "a\\nb"\n$/);
    // JSON shows paths as they are.
    expect(JSON.parse(await ok(irmin(["--json", "tree", "x = y"])))).toEqual({ "x = y": "z" });
  });
});

describe("gitlinks (submodules) are not values", () => {
  it("tree, list and diff leave a gitlink out, as the library does, instead of failing", async () => {
    const { root, irmin } = await fresh();
    await ok(irmin(["set", "a", "1"]));
    const before = git(["--git-dir", root, "rev-parse", "main"]).trim();
    const blob = git(["--git-dir", root, "rev-parse", "main:a"]).trim();
    const who = { ...process.env, GIT_AUTHOR_NAME: "git", GIT_AUTHOR_EMAIL: "git@localhost", GIT_COMMITTER_NAME: "git", GIT_COMMITTER_EMAIL: "git@localhost" };
    const tree = git(["--git-dir", root, "mktree"], { input: new TextEncoder().encode(`100644 blob ${blob}\ta\n160000 commit ${before}\tsub\n`) }).trim();
    const commit = git(["--git-dir", root, "commit-tree", tree, "-p", before, "-m", "a submodule"], { env: who }).trim();
    git(["--git-dir", root, "update-ref", "refs/heads/main", commit]);
    expect(await ok(irmin(["tree"]))).toBe("a = 1\n");
    expect(await ok(irmin(["list"]))).toBe("a\n");
    expect(await ok(irmin(["diff", before, "main"]))).toBe("");
  });
});
