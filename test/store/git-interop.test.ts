import { execFileSync, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Repo } from "../../src/store/repo.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "irmin-interop-"));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const git = (gitDir: string, ...args: string[]) => execFileSync("git", [`--git-dir=${gitDir}`, ...args], { encoding: "utf8" }).trim();

function runWriter(path: string, id: string, count: number, mode: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", join(__dirname, "fixtures", "writer.ts"), path, id, String(count), mode], { stdio: ["ignore", "ignore", "pipe"] });
    let err = "";
    child.stderr.on("data", (d) => (err += d));
    child.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`writer ${id} exited ${code}: ${err}`))));
  });
}

describe("the store on disk is a Git repository", () => {
  it("git log shows one commit per operation; fsck passes; git's rollback is what we read", async () => {
    const path = join(dir, "a.git");
    const repo = await Repo.open({ path, author: "Alice <alice@example.com>" });
    const main = repo.branch("main");
    const first = await main.set("home/todo", "buy milk");
    await main.set("home/todo", "walk dog", { message: "second todo" });
    const wip = await main.fork("wip");
    await wip.set("work/todo", "ship");
    await main.set("x", "1");
    await main.merge(wip);
    expect(git(path, "log", "--format=%s", "main").split("\n")).toEqual(["merge wip into main", "set x", "set work/todo", "second todo", "set home/todo"]);
    expect(git(path, "log", "-1", "--format=%an <%ae>", "main")).toBe("Alice <alice@example.com>");
    execFileSync("git", [`--git-dir=${path}`, "fsck", "--strict"], { stdio: "pipe" });
    expect(git(path, "cat-file", "blob", "main:home/todo")).toBe("walk dog");
    expect(git(path, "rev-parse", "main^{tree}")).toBe((await main.head())!.treeHash);

    // A rollback done with git is what the next read sees, and watchers hear about it.
    const changes: string[] = [];
    const stop = main.watch(({ after }) => {
      changes.push(after!.hash);
    });
    git(path, "update-ref", "refs/heads/main", first.hash);
    expect(await main.get("home/todo")).toBe("buy milk");
    for (let i = 0; i < 100 && changes.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect(changes).toEqual([first.hash]);
    stop();
    await repo.close();
  });

  it("a merge keeps the file mode: an executable changed on both sides, or made executable on one side", async () => {
    const path = join(dir, "modes.git");
    const repo = await Repo.open({ path });
    const main = repo.branch("main");
    await main.set("keep", "1\n2\n3\n");
    await main.set("flip", "a\nb\nc\n");
    // git makes `keep` executable on main
    const tree = git(path, "ls-tree", "main").replace(/100644 (blob \S+\tkeep)/, "100755 $1");
    const treeHash = execFileSync("git", [`--git-dir=${path}`, "mktree"], { input: tree + "\n" }).toString().trim();
    const base = git(path, "commit-tree", treeHash, "-p", "main", "-m", "chmod +x keep");
    git(path, "update-ref", "refs/heads/main", base);
    const wip = await main.fork("wip");
    await main.set("keep", "one\n2\n3\n");
    await wip.set("keep", "1\n2\nthree\n");
    // `flip`: made executable by git on wip, content changed on main
    await main.set("flip", "A\nb\nc\n");
    const wipTree = git(path, "ls-tree", "wip").replace(/100644 (blob \S+\tflip)/, "100755 $1");
    const wipTreeHash = execFileSync("git", [`--git-dir=${path}`, "mktree"], { input: wipTree + "\n" }).toString().trim();
    git(path, "update-ref", "refs/heads/wip", git(path, "commit-tree", wipTreeHash, "-p", "wip", "-m", "chmod +x flip"));
    expect((await main.merge(wip)).ok).toBe(true);
    expect(git(path, "ls-tree", "main", "keep")).toMatch(/^100755 /);
    expect(git(path, "ls-tree", "main", "flip")).toMatch(/^100755 /);
    expect(await main.get("keep")).toBe("one\n2\nthree\n");
    expect(await main.get("flip")).toBe("A\nb\nc\n");
    execFileSync("git", [`--git-dir=${path}`, "fsck", "--strict"], { stdio: "pipe" });
    await repo.close();
  });

  it("names that are not UTF-8 (written by git) survive our writes and merges byte for byte", async () => {
    const path = join(dir, "raw-names.git");
    const repo = await Repo.open({ path });
    const main = repo.branch("main");
    await main.set("seed", "1");
    const blob = execFileSync("git", [`--git-dir=${path}`, "hash-object", "-w", "--stdin"], { input: "raw\n" }).toString().trim();
    const mktree = (entries: [string, string, Buffer][]) =>
      execFileSync("git", [`--git-dir=${path}`, "mktree", "-z"], {
        input: Buffer.concat(entries.map(([mode, hash, name]) => Buffer.concat([Buffer.from(`${mode} ${mode === "040000" ? "tree" : "blob"} ${hash}\t`), name, Buffer.from([0])]))),
      })
        .toString()
        .trim();
    const sub = mktree([["100644", blob, Buffer.from("x")]]);
    const latin = (s: string) => Buffer.from(s, "latin1");
    // "a\xfe" and "a\xff" read alike as text; "a\x80" reads like the real (UTF-8) name "a\uFFFD"
    // and git sorts it first: the real name must keep its key (paths address it), the raw one too.
    const rawNames = [latin("caf\xe9"), latin("a\xfe"), latin("a\xff"), latin("a\x80")];
    const exact = execFileSync("git", [`--git-dir=${path}`, "hash-object", "-w", "--stdin"], { input: "exact\n" }).toString().trim();
    const tree = mktree([
      ...rawNames.map((n): [string, string, Buffer] => ["100644", blob, n]),
      ["100644", exact, Buffer.from("a\uFFFD")],
      ["040000", sub, latin("d\xff")],
      ["100644", blob, Buffer.from("seed")],
    ]);
    git(path, "update-ref", "refs/heads/main", git(path, "commit-tree", tree, "-p", "main", "-m", "raw names"));
    const wip = await main.fork("wip");
    await main.set("other", "1");
    await main.set("d\uFFFD/y", "into the raw directory");
    await wip.set("more", "2");
    expect((await main.merge(wip)).ok).toBe(true);
    const listed = execFileSync("git", [`--git-dir=${path}`, "ls-tree", "-r", "-z", "--name-only", "main"])
      .toString("latin1")
      .split("\0")
      .filter((n) => n !== "");
    expect(listed.sort()).toEqual(["a\x80", "a\xef\xbf\xbd", "a\xfe", "a\xff", "caf\xe9", "d\xff/x", "d\xff/y", "more", "other", "seed"].sort());
    expect(await main.get("a\uFFFD")).toBe("exact\n");
    execFileSync("git", [`--git-dir=${path}`, "fsck", "--strict"], { stdio: "pipe" });
    await repo.close();
  });

  it("reads what git wrote, after git gc packed it", async () => {
    const path = join(dir, "b.git");
    const repo = await Repo.open({ path });
    const main = repo.branch("main");
    for (let i = 0; i < 30; i++) await main.set(`f/${i % 5}`, `line ${i}\n`.repeat(20));
    const expected = await main.get("f/3");
    execFileSync("git", [`--git-dir=${path}`, "gc", "--aggressive", "--prune=now", "-q"]);
    const again = await Repo.open({ path });
    expect(await again.branch("main").get("f/3")).toBe(expected);
    expect((await again.branch("main").history()).length).toBe(30);
    await again.branch("main").set("after-gc", "ok");
    execFileSync("git", [`--git-dir=${path}`, "fsck", "--strict"], { stdio: "pipe" });
    await again.close();
    await repo.close();
  });

  it("writers in several processes never lose an acknowledged write", async () => {
    const path = join(dir, "c.git");
    const repo = await Repo.open({ path });
    await repo.branch("main").set("init", "0");
    const processes = 3;
    const each = 15;
    await Promise.all([
      ...Array.from({ length: processes }, (_, p) => runWriter(path, `p${p}`, each, "set")),
      runWriter(path, "tx", each, "transaction"),
    ]);
    const main = repo.branch("main");
    for (let p = 0; p < processes; p++) expect((await main.list(`w/p${p}`)).length).toBe(each);
    expect((await main.list("t")).length).toBe(each);
    execFileSync("git", [`--git-dir=${path}`, "fsck", "--strict"], { stdio: "pipe" });
    await repo.close();
  });
});
