import { afterEach, describe, expect, it } from "vitest";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gitBackend } from "../../../src/backends/git/git-backend.js";
import { parseGitConfig } from "../../../src/backends/git/git-config.js";
import { expectCode } from "../../conformance/helpers.js";
import { git, gitText, tempDir } from "./git-cli.js";

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
function scratch(): string {
  const t = tempDir("irmin-git-dir-");
  cleanups.push(t.remove);
  return t.dir;
}
async function open(options: Parameters<typeof gitBackend>[0]) {
  const b = await gitBackend({ fsync: false, ...options });
  cleanups.push(() => b.close());
  return b;
}

describe("opening and creating repositories", () => {
  it("creates the layout git init --bare makes, and git agrees (sha1 and sha256)", async () => {
    for (const algorithm of ["sha1", "sha256"] as const) {
      const dir = join(scratch(), "new", "repo.git");
      const b = await open({ path: dir, hash: algorithm });
      expect(b.algorithm).toBe(algorithm);
      expect(readFileSync(join(dir, "HEAD"), "utf8")).toBe("ref: refs/heads/main\n");
      const config = parseGitConfig(readFileSync(join(dir, "config"), "utf8"));
      expect(config.get("core", "repositoryformatversion")).toBe(algorithm === "sha1" ? "0" : "1");
      expect(config.get("core", "bare")).toBe("true");
      expect(config.get("core", "filemode")).toBe("true");
      expect(config.get("extensions", "objectformat")).toBe(algorithm === "sha1" ? undefined : "sha256");
      expect(gitText(dir, ["--git-dir", dir, "rev-parse", "--is-bare-repository", "--show-object-format"])).toBe(`true\n${algorithm}`);
      expect(gitText(dir, ["--git-dir", dir, "symbolic-ref", "HEAD"])).toBe("refs/heads/main");
      git(dir, ["--git-dir", dir, "fsck", "--strict"]);
    }
  });

  it("opens repositories made by git, detecting the object format", async () => {
    const base = scratch();
    git(base, ["init", "-q", "--bare", "--object-format=sha256", "s.git"]);
    git(base, ["init", "-q", "--bare", "d.git"]);
    expect((await open({ path: join(base, "s.git") })).algorithm).toBe("sha256");
    expect((await open({ path: join(base, "d.git") })).algorithm).toBe("sha1");
    await expectCode(gitBackend({ path: join(base, "s.git"), hash: "sha1" }), "INVALID_ARGUMENT");
    await expectCode(gitBackend({ path: join(base, "d.git"), hash: "sha256" }), "INVALID_ARGUMENT");
  });

  it("opens a work tree's .git directory and a .git file (gitdir: pointer)", async () => {
    const base = scratch();
    const work = join(base, "work");
    git(base, ["init", "-q", "-b", "main", "--separate-git-dir", join(base, "store.git"), work]);
    expect(readFileSync(join(work, ".git"), "utf8")).toMatch(/^gitdir: /);
    const viaFile = await open({ path: work });
    expect(viaFile.gitDir).toBe(join(base, "store.git"));
    const viaPointer = await open({ path: join(work, ".git") });
    expect(viaPointer.gitDir).toBe(join(base, "store.git"));
    const plain = join(base, "plain");
    git(base, ["init", "-q", plain]);
    expect((await open({ path: plain })).gitDir).toBe(join(plain, ".git"));
  });

  it("refuses what it cannot use: NOT_FOUND, INVALID_ARGUMENT, UNSUPPORTED", async () => {
    const base = scratch();
    await expectCode(gitBackend({ path: join(base, "missing"), create: false }), "NOT_FOUND");
    mkdirSync(join(base, "data"));
    writeFileSync(join(base, "data", "notes.txt"), "user data");
    await expectCode(gitBackend({ path: join(base, "data") }), "INVALID_ARGUMENT");
    await expectCode(gitBackend({ path: "" }), "INVALID_ARGUMENT");
    await expectCode(gitBackend({ path: join(base, "x"), hash: "md5" as "sha1" }), "INVALID_ARGUMENT");
    await expectCode(gitBackend({ path: join(base, "y"), lockTimeoutMs: -1 }), "INVALID_ARGUMENT");

    const set = (repo: string, args: string[]) => git(base, ["--git-dir", repo, "config", ...args]);
    git(base, ["init", "-q", "--bare", "v2.git"]);
    set(join(base, "v2.git"), ["core.repositoryformatversion", "2"]);
    await expectCode(gitBackend({ path: join(base, "v2.git") }), "UNSUPPORTED");
    git(base, ["init", "-q", "--bare", "ext.git"]);
    set(join(base, "ext.git"), ["core.repositoryformatversion", "1"]);
    set(join(base, "ext.git"), ["extensions.refStorage", "reftable"]);
    await expectCode(gitBackend({ path: join(base, "ext.git") }), "UNSUPPORTED");
    git(base, ["init", "-q", "--bare", "ok.git"]);
    set(join(base, "ok.git"), ["core.repositoryformatversion", "1"]);
    set(join(base, "ok.git"), ["extensions.worktreeConfig", "true"]);
    expect((await open({ path: join(base, "ok.git") })).algorithm).toBe("sha1");
  });

  it("completes a creation another opener has under way (its temporary files beside config and HEAD)", async () => {
    const base = scratch();
    // What a concurrent creator leaves for a moment: the layout, and config or HEAD written aside.
    for (const [name, temp] of [["a.git", "config"], ["b.git", "HEAD"]]) {
      const dir = join(base, name);
      mkdirSync(join(dir, "objects", "pack"), { recursive: true });
      mkdirSync(join(dir, "refs", "heads"), { recursive: true });
      writeFileSync(join(dir, `${temp}.tmp-4242-0badc0de1f`), temp === "config" ? "[core]\n" : "ref: refs/heads/main\n");
      expect((await open({ path: dir })).algorithm).toBe("sha1");
      git(dir, ["--git-dir", dir, "fsck", "--strict"]);
    }
    // Anything else is still someone's data.
    for (const stray of ["config.tmp", "config.tmp-12-xyz", "HEAD.lock", "notes.txt", "objects.tmp-1-ab"]) {
      const dir = join(base, `stray-${stray}`);
      mkdirSync(dir);
      writeFileSync(join(dir, stray), "");
      await expectCode(gitBackend({ path: dir }), "INVALID_ARGUMENT");
    }
  });

  it("two concurrent creators agree on one repository", async () => {
    const dir = join(scratch(), "race.git");
    const [a, b] = await Promise.all([open({ path: dir }), open({ path: dir })]);
    const h = await a.objects.put("blob", new TextEncoder().encode("x"));
    expect((await b.objects.get(h))?.type).toBe("blob");
    git(dir, ["--git-dir", dir, "fsck", "--strict"]);
  });
});

describe("git config parsing", () => {
  it("handles sections, subsections, quoting, escapes, comments and continuations", () => {
    const c = parseGitConfig(
      [
        "# comment",
        "[core]",
        "\trepositoryformatversion = 1 ; trailing comment",
        "\tBare",
        '[remote "origin"]',
        '\turl = "a b#c" \\',
        "  tail",
        "[Extensions] objectFormat = sha256",
        "[branch.Main]",
        '  merge = "x\\ty\\"z"',
        "[core]",
        "  repositoryformatversion = 0",
        "",
      ].join("\n"),
    );
    expect(c.get("core", "repositoryformatversion")).toBe("0");
    expect(c.getAll("CORE", "RepositoryFormatVersion")).toEqual(["1", "0"]);
    expect(c.get("core", "bare")).toBe("true");
    expect(c.getBoolean("core", "bare", false)).toBe(true);
    expect(c.get("remote", "url", "origin")).toBe("a b#c   tail"); // what git config prints
    expect(c.get("extensions", "objectformat")).toBe("sha256");
    expect(c.get("branch", "merge", "main")).toBe('x\ty"z');
    expect(c.get("core", "missing")).toBeUndefined();
  });

  it("skips a UTF-8 byte order mark at the start, as git does", () => {
    const dir = scratch();
    git(dir, ["init", "-q", "--bare", "r.git"]);
    const path = join(dir, "r.git", "config");
    writeFileSync(path, `\uFEFF${readFileSync(path, "utf8")}`);
    git(dir, ["--git-dir", join(dir, "r.git"), "config", "core.bare"]);
    expect(parseGitConfig(readFileSync(path, "utf8")).get("core", "bare")).toBe("true");
  });

  it("rejects malformed files with CORRUPT, as git does", async () => {
    for (const bad of ["[core\nx = 1\n", "x = 1\n", "[core]\n  = 1\n", '[core]\n x = "open\n', "[core]\n x = a\\q\n"]) {
      await expectCode(() => parseGitConfig(bad), "CORRUPT");
    }
  });

  it("agrees with git config on values it reads", () => {
    const dir = scratch();
    git(dir, ["init", "-q", "--bare", "r.git"]);
    const repo = join(dir, "r.git");
    git(dir, ["--git-dir", repo, "config", "user.name", ' Odd "Name" \\ here ']);
    git(dir, ["--git-dir", repo, "config", "section.sub.key", "tab\there"]);
    writeFileSync(join(repo, "config"), `${readFileSync(join(repo, "config"), "utf8")}[odd]\n\tv = a\t b  \\\n c ;x\n`);
    const c = parseGitConfig(readFileSync(join(repo, "config"), "utf8"));
    const read = (key: string) => git(dir, ["--git-dir", repo, "config", key]).toString("utf8").replace(/\n$/, "");
    expect(c.get("user", "name")).toBe(read("user.name"));
    expect(c.get("section", "key", "sub")).toBe(read("section.sub.key"));
    expect(c.get("odd", "v")).toBe(read("odd.v"));
  });
});
