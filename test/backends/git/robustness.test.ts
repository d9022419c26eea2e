import { afterEach, describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import { copyFileSync, existsSync, readdirSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { deflateSync } from "node:zlib";
import { gitBackend } from "../../../src/backends/git/git-backend.js";
import { Repo } from "../../../src/store/repo.js";
import { parsePackedRefs, serializePackedRefs } from "../../../src/backends/git/packed-refs.js";
import { parseLooseRef } from "../../../src/backends/git/loose-refs.js";
import type { RefChange } from "../../../src/backend/ref-store.js";
import { expectCode, sleep } from "../../conformance/helpers.js";
import { git, gitText, tempDir } from "./git-cli.js";

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
async function fresh(options: { lockTimeoutMs?: number } = {}) {
  const t = tempDir("irmin-git-robust-");
  cleanups.push(t.remove);
  const dir = join(t.dir, "repo.git");
  const b = await gitBackend({ path: dir, fsync: false, ...options });
  cleanups.push(() => b.close());
  return { b, dir };
}
const enc = new TextEncoder();
const looseFile = (dir: string, h: string) => join(dir, "objects", h.slice(0, 2), h.slice(2));
function replaceFile(path: string, content: Uint8Array | string) {
  unlinkSync(path);
  writeFileSync(path, content);
}

describe("corruption is CORRUPT, never wrong data", () => {
  it("loose objects: bad zlib, bad header, wrong content", async () => {
    const { b, dir } = await fresh();
    const [a, c, d, e] = await Promise.all(["a", "c", "d", "e"].map((s) => b.objects.put("blob", enc.encode(s))));
    replaceFile(looseFile(dir, a), "not zlib at all");
    await expectCode(b.objects.get(a), "CORRUPT");
    replaceFile(looseFile(dir, c), deflateSync(Buffer.from("blob 7\0c")));
    await expectCode(b.objects.get(c), "CORRUPT");
    replaceFile(looseFile(dir, d), deflateSync(Buffer.from("blub 1\0d")));
    await expectCode(b.objects.get(d), "CORRUPT");
    unlinkSync(looseFile(dir, e));
    copyFileSync(looseFile(dir, await b.objects.put("blob", enc.encode("other"))), looseFile(dir, e));
    await expectCode(b.objects.get(e), "CORRUPT");
    // The truncated stream of a real object.
    const f = await b.objects.put("blob", enc.encode("x".repeat(1000)));
    replaceFile(looseFile(dir, f), deflateSync(Buffer.from(`blob 1000\0${"x".repeat(1000)}`)).subarray(0, 10));
    await expectCode(b.objects.get(f), "CORRUPT");
  });

  it("refs: unreadable loose refs and packed-refs", async () => {
    const { b, dir } = await fresh();
    const h = await b.objects.put("blob", enc.encode("x"));
    await b.refs.set("refs/tags/ok", h);
    writeFileSync(join(dir, "refs/tags/bad"), "garbage\n");
    await expectCode(b.refs.get("refs/tags/bad"), "CORRUPT");
    await expectCode(b.refs.list(), "CORRUPT");
    await expectCode(b.refs.testAndSet("refs/tags/bad", undefined, h), "CORRUPT");
    unlinkSync(join(dir, "refs/tags/bad"));
    writeFileSync(join(dir, "packed-refs"), "# pack-refs with: peeled\nnonsense line\n");
    await expectCode(b.refs.get("refs/tags/missing"), "CORRUPT");
    expect(await b.refs.get("refs/tags/ok")).toBe(h); // a loose ref does not need packed-refs
    writeFileSync(join(dir, "refs/tags/loop"), "ref: refs/tags/loop\n");
    await expectCode(b.refs.get("refs/tags/loop"), "CORRUPT");
  });
});

describe("locks", () => {
  it("a lock held elsewhere makes updates wait, then LOCKED; no lock is left behind", async () => {
    const { b, dir } = await fresh({ lockTimeoutMs: 150 });
    const h = await b.objects.put("blob", enc.encode("x"));
    writeFileSync(join(dir, "refs/heads/held.lock"), "");
    await expectCode(b.refs.set("refs/heads/held", h), "LOCKED");
    await expectCode(b.refs.testAndSet("refs/heads/held", undefined, h), "LOCKED");
    expect(await b.refs.get("refs/heads/held")).toBeUndefined();
    // Released while we wait: the update goes through.
    const pending = b.refs.testAndSet("refs/heads/held", undefined, h);
    await sleep(20);
    unlinkSync(join(dir, "refs/heads/held.lock"));
    expect(await pending).toBe(true);

    await b.refs.set("refs/heads/packed", h);
    git(dir, ["--git-dir", dir, "pack-refs", "--all"]);
    writeFileSync(join(dir, "packed-refs.lock"), "");
    await expectCode(b.refs.remove("refs/heads/packed"), "LOCKED");
    expect(await b.refs.get("refs/heads/packed")).toBe(h);
    unlinkSync(join(dir, "packed-refs.lock"));
    expect(await b.refs.testAndSet("refs/heads/other", h, h)).toBe(false);
    await b.refs.remove("refs/heads/packed");
    expect(await b.refs.get("refs/heads/packed")).toBeUndefined();
    const leftovers = (d: string): string[] =>
      readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? leftovers(join(d, e.name)) : e.name.endsWith(".lock") ? [e.name] : []));
    // The second name of a replaced ref file is removed in the background (see LockFile.commit): bounded wait.
    for (let i = 0; i < 100 && leftovers(dir).length > 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(leftovers(dir)).toEqual([]);
  });
});

describe("refs details", () => {
  it("symbolic refs under refs/ are listed and updated through, as git does", async () => {
    const { b, dir } = await fresh();
    const h = gitText(dir, ["--git-dir", dir, "commit-tree", gitText(dir, ["--git-dir", dir, "mktree"], "")], "m");
    await b.refs.set("refs/remotes/origin/main", h);
    git(dir, ["--git-dir", dir, "symbolic-ref", "refs/remotes/origin/HEAD", "refs/remotes/origin/main"]);
    expect(await b.refs.get("refs/remotes/origin/HEAD")).toBe(h);
    expect(await b.refs.list("refs/remotes/")).toEqual([
      { name: "refs/remotes/origin/HEAD", hash: h },
      { name: "refs/remotes/origin/main", hash: h },
    ]);
    const h2 = gitText(dir, ["--git-dir", dir, "commit-tree", "-p", h, gitText(dir, ["--git-dir", dir, "mktree"], "")], "n");
    await b.refs.set("refs/remotes/origin/HEAD", h2);
    expect(gitText(dir, ["--git-dir", dir, "symbolic-ref", "refs/remotes/origin/HEAD"])).toBe("refs/remotes/origin/main");
    expect(gitText(dir, ["--git-dir", dir, "rev-parse", "refs/remotes/origin/main"])).toBe(h2);
  });

  it("removing a symbolic ref removes it, not the ref it points to (as git branch -D)", async () => {
    const { b, dir } = await fresh();
    const h = gitText(dir, ["--git-dir", dir, "commit-tree", gitText(dir, ["--git-dir", dir, "mktree"], "")], "m");
    await b.refs.set("refs/heads/main", h);
    git(dir, ["--git-dir", dir, "symbolic-ref", "refs/heads/alias", "refs/heads/main"]);
    await b.refs.remove("refs/heads/alias");
    expect(await b.refs.get("refs/heads/main")).toBe(h);
    expect(await b.refs.list("refs/heads/")).toEqual([{ name: "refs/heads/main", hash: h }]);
    expect(gitText(dir, ["--git-dir", dir, "for-each-ref", "--format=%(refname)"])).toBe("refs/heads/main");
    // One whose target does not exist is removed too.
    git(dir, ["--git-dir", dir, "symbolic-ref", "refs/heads/dangling", "refs/heads/nowhere"]);
    await b.refs.remove("refs/heads/dangling");
    expect(existsSync(join(dir, "refs", "heads", "dangling"))).toBe(false);
  });

  it("a repository whose empty objects/pack was dropped (by a copy tool) is written to, as git does", async () => {
    const t = tempDir("irmin-git-robust-");
    cleanups.push(t.remove);
    const dir = join(t.dir, "repo.git");
    git(t.dir, ["init", "-q", "--bare", dir]);
    rmSync(join(dir, "objects", "pack"), { recursive: true });
    const repo = await Repo.open({ path: dir });
    cleanups.push(() => repo.close());
    for (let i = 0; i < 3; i++) await repo.branch("main").set(`k${i}`, "v");
    git(dir, ["--git-dir", dir, "fsck", "--strict"]);
    expect(gitText(dir, ["--git-dir", dir, "cat-file", "-p", "main:k2"])).toBe("v");
  });

  it("a detached HEAD is updated in place and getSymbolic gives undefined", async () => {
    const { b, dir } = await fresh();
    const h = await b.objects.put("blob", enc.encode("x"));
    writeFileSync(join(dir, "HEAD"), `${h}\n`);
    expect(await b.refs.getSymbolic("HEAD")).toBeUndefined();
    expect(await b.refs.get("HEAD")).toBe(h);
    const h2 = await b.objects.put("blob", enc.encode("y"));
    expect(await b.refs.testAndSet("HEAD", h, h2)).toBe(true);
    expect(gitText(dir, ["--git-dir", dir, "rev-parse", "HEAD"])).toBe(h2);
    expect(await b.refs.list()).toEqual([]);
  });

  it("reflogs are appended where git keeps them (non-bare repositories), so git reflog works", async () => {
    const t = tempDir("irmin-git-reflog-");
    cleanups.push(t.remove);
    git(t.dir, ["init", "-q", "-b", "main", "work"]);
    git(join(t.dir, "work"), ["commit", "-q", "--allow-empty", "-m", "one"]);
    const b = await gitBackend({ path: join(t.dir, "work"), fsync: false });
    cleanups.push(() => b.close());
    const first = (await b.refs.get("HEAD"))!;
    const next = gitText(join(t.dir, "work"), ["commit-tree", "-p", first, "-m", "two", `${first}^{tree}`]);
    expect(await b.refs.testAndSet("refs/heads/main", first, next)).toBe(true);
    const log = gitText(join(t.dir, "work"), ["reflog", "show", "--format=%H", "refs/heads/main"]).split("\n");
    expect(log).toEqual([next, first]);
    expect(gitText(join(t.dir, "work"), ["reflog", "show", "--format=%H", "HEAD"]).split("\n")[0]).toBe(next);
    // A bare repository made by the backend keeps none, like git.
    const { b: bare, dir } = await fresh();
    await bare.refs.set("refs/heads/main", await bare.objects.put("blob", enc.encode("x")));
    expect(existsSync(join(dir, "logs"))).toBe(false);
  });

  it("a closed backend's watch reports nothing more", async () => {
    const { b, dir } = await fresh();
    const seen: RefChange[] = [];
    b.refs.watch((c) => seen.push(c));
    await b.close();
    const h = gitText(dir, ["--git-dir", dir, "commit-tree", gitText(dir, ["--git-dir", dir, "mktree"], "")], "m");
    git(dir, ["--git-dir", dir, "update-ref", "refs/heads/x", h]);
    await sleep(300);
    expect(seen).toEqual([]);
  });

  it("an open backend with an active watch does not keep the process alive", async () => {
    const t = tempDir("irmin-git-exit-");
    cleanups.push(t.remove);
    const root = resolve(import.meta.dirname, "../../..");
    const script = join(t.dir, "watch.mts");
    writeFileSync(
      script,
      `import { gitBackend } from ${JSON.stringify(join(root, "src/backends/git/git-backend.ts"))};
       const b = await gitBackend({ path: ${JSON.stringify(join(t.dir, "r.git"))}, pollIntervalMs: 50 });
       b.refs.watch(() => undefined);
       await b.refs.set("refs/heads/x", await b.objects.put("blob", new TextEncoder().encode("x")));
       console.log("done");`,
    );
    const code = await new Promise<number | null>((ok) => {
      const child = spawn(process.execPath, ["--import", "tsx", script], { cwd: root, stdio: "ignore" });
      const guard = setTimeout(() => child.kill(), 30_000);
      child.on("close", (c) => {
        clearTimeout(guard);
        ok(c);
      });
    });
    expect(code).toBe(0); // killed by the guard would be null
  });
});

describe("file formats", () => {
  it("packed-refs written by git parse and serialize back byte for byte", async () => {
    const { b, dir } = await fresh();
    const c = gitText(dir, ["--git-dir", dir, "commit-tree", gitText(dir, ["--git-dir", dir, "mktree"], "")], "m");
    await b.refs.set("refs/heads/main", c);
    git(dir, ["--git-dir", dir, "tag", "-a", "-m", "t", "v1", c]);
    git(dir, ["--git-dir", dir, "tag", "light", c]);
    git(dir, ["--git-dir", dir, "pack-refs", "--all"]);
    const { readFileSync } = await import("node:fs");
    const text = readFileSync(join(dir, "packed-refs"), "utf8");
    const parsed = parsePackedRefs(text, "sha1");
    expect([...parsed.refs.keys()]).toEqual(["refs/heads/main", "refs/tags/light", "refs/tags/v1"]);
    expect(parsed.refs.get("refs/tags/v1")?.peeled).toBe(c);
    expect(serializePackedRefs(parsed)).toBe(text);
    for (const bad of ["abc refs/heads/x\n", `${c} refs/heads/x`, `^${c}\n`, `${c} main\n`]) await expectCode(() => parsePackedRefs(bad, "sha1"), "CORRUPT");
  });

  it("a packed ref whose name is not UTF-8 (git allows it) is kept byte for byte when another ref is deleted", async () => {
    const { b, dir } = await fresh();
    const c = gitText(dir, ["--git-dir", dir, "commit-tree", gitText(dir, ["--git-dir", dir, "mktree"], "")], "m");
    await b.refs.set("refs/heads/other", c);
    await b.refs.set("refs/tags/t", c);
    git(dir, ["--git-dir", dir, "pack-refs", "--all"]);
    const path = join(dir, "packed-refs");
    const { readFileSync } = await import("node:fs");
    // refs/heads/caf\xe9 (latin1 bytes), then its own peeled line, between two UTF-8 refs.
    const lines = readFileSync(path, "latin1").split("\n");
    lines.splice(2, 0, `${c} refs/heads/caf\xe9`);
    writeFileSync(path, Buffer.from(lines.join("\n"), "latin1"));
    const before = readFileSync(path);
    expect((await b.refs.list()).map((r) => r.name)).toEqual(["refs/heads/other", "refs/tags/t"]);
    await b.refs.remove("refs/heads/other");
    const after = readFileSync(path);
    expect(after.includes(Buffer.from(`${c} refs/heads/caf\xe9\n`, "latin1"))).toBe(true);
    expect(after.length).toBe(before.length - `${c} refs/heads/other\n`.length);
    git(dir, ["--git-dir", dir, "fsck", "--strict"]);
  });

  it("loose ref contents are read as git reads them", () => {
    const h = "a".repeat(40);
    expect(parseLooseRef(`${h}\n`, "sha1")).toEqual({ kind: "hash", hash: h });
    expect(parseLooseRef(`${h.toUpperCase()} trailing\n`, "sha1")).toEqual({ kind: "hash", hash: h });
    expect(parseLooseRef("ref:  refs/heads/x \n", "sha1")).toEqual({ kind: "symref", target: "refs/heads/x" });
    expect(parseLooseRef(`${h}x\n`, "sha1").kind).toBe("broken");
    expect(parseLooseRef(`${h}\n`, "sha256").kind).toBe("broken");
    expect(parseLooseRef("ref: ../x\n", "sha1").kind).toBe("broken");
  });
});
