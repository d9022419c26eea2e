import { afterEach, describe, expect, it } from "vitest";
import { readFileSync, readdirSync, statSync, writeFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { gitBackend, repack } from "../../../src/backends/git/git-backend.js";
import type { RefChange } from "../../../src/backend/ref-store.js";
import { type HashAlgorithm, fromHex } from "../../../src/core/hash.js";
import { allObjects, git, gitText, tempDir } from "./git-cli.js";
import { waitFor, sleep } from "../../conformance/helpers.js";

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
function scratch(): string {
  const t = tempDir("irmin-git-interop-");
  cleanups.push(t.remove);
  return t.dir;
}
async function open(path: string, hash?: HashAlgorithm) {
  const b = await gitBackend({ path, hash, fsync: false, pollIntervalMs: 300 });
  cleanups.push(() => b.close());
  return b;
}

const enc = new TextEncoder();
/** A tree body: entries `[mode, name, hex id]`, given in git's order. */
function tree(entries: [string, string, string][]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const [mode, name, id] of entries) parts.push(enc.encode(`${mode} ${name}\0`), fromHex(id));
  return Buffer.concat(parts);
}

/** A commit with an empty tree (git refuses to point a branch at anything else). */
async function commitOf(b: Awaited<ReturnType<typeof open>>, message: string): Promise<string> {
  const root = await b.objects.put("tree", new Uint8Array());
  return b.objects.put("commit", enc.encode(`tree ${root}\nauthor A <a@x> 1 +0000\ncommitter A <a@x> 1 +0000\n\n${message}\n`));
}

for (const algorithm of ["sha1", "sha256"] as const) {
  describe(`interoperability with git (${algorithm})`, () => {
    it("a repository we create and write passes git fsck --strict and git reads it", async () => {
      const dir = join(scratch(), "repo.git");
      const b = await open(dir, algorithm);
      const readme = await b.objects.put("blob", enc.encode("hello\n"));
      const nested = await b.objects.put("blob", enc.encode("nested\n"));
      const sub = await b.objects.put("tree", tree([["100644", "n.txt", nested]]));
      const root = await b.objects.put("tree", tree([["100644", "README", readme], ["40000", "dir", sub]]));
      const commit = await b.objects.put(
        "commit",
        enc.encode(`tree ${root}\nauthor A <a@x> 1700000000 +0000\ncommitter A <a@x> 1700000000 +0000\n\nfirst\n`),
      );
      const tag = await b.objects.put("tag", enc.encode(`object ${commit}\ntype commit\ntag v1\ntagger A <a@x> 1700000000 +0000\n\nv1\n`));
      await b.refs.set("refs/heads/main", commit);
      await b.refs.set("refs/tags/v1", tag);
      // A large batch goes to a pack: git must accept it as well.
      const many = await b.objects.putMany(Array.from({ length: 600 }, (_, i) => ({ type: "blob" as const, data: enc.encode(`blob ${i}\n`) })));
      const manyTree = await b.objects.put("tree", tree(many.map((h, i) => ["100644", `f${String(i).padStart(4, "0")}`, h] as [string, string, string]).sort((x, y) => (x[1] < y[1] ? -1 : 1))));
      const second = await b.objects.put(
        "commit",
        enc.encode(`tree ${manyTree}\nparent ${commit}\nauthor A <a@x> 1700000001 +0000\ncommitter A <a@x> 1700000001 +0000\n\nsecond\n`),
      );
      expect(await b.refs.testAndSet("HEAD", commit, second)).toBe(true);

      expect(readFileSync(join(dir, "HEAD"), "utf8")).toBe("ref: refs/heads/main\n");
      const config = readFileSync(join(dir, "config"), "utf8");
      expect(config).toContain(`repositoryformatversion = ${algorithm === "sha1" ? 0 : 1}`);
      expect(config).toContain("bare = true");
      for (const d of ["objects/info", "objects/pack", "refs/heads", "refs/tags"]) expect(statSync(join(dir, d)).isDirectory()).toBe(true);
      expect(gitText(dir, ["--git-dir", dir, "rev-parse", "--show-object-format"])).toBe(algorithm);

      git(dir, ["--git-dir", dir, "fsck", "--strict", "--no-dangling"]);
      expect(gitText(dir, ["--git-dir", dir, "rev-parse", "main", "v1"]).split("\n")).toEqual([second, tag]);
      expect(gitText(dir, ["--git-dir", dir, "log", "--format=%s", "main"]).split("\n")).toEqual(["second", "first"]);
      expect(gitText(dir, ["--git-dir", dir, "cat-file", "-p", `${commit}:dir/n.txt`])).toBe("nested");
      expect(gitText(dir, ["--git-dir", dir, "cat-file", "-p", "main:f0599"])).toBe("blob 599");
      expect(gitText(dir, ["--git-dir", dir, "count-objects", "-v"])).toMatch(/garbage: 0/);
      // Loose objects are read-only files, like git's.
      const loose = join(dir, "objects", readme.slice(0, 2), readme.slice(2));
      expect(statSync(loose).mode & 0o777).toBe(0o444);
      const packs = readdirSync(join(dir, "objects/pack")).filter((f) => f.endsWith(".pack"));
      expect(packs).toHaveLength(1);
    });

    it("a repository written by git is read in full, before and after git gc --aggressive", async () => {
      const work = scratch();
      git(work, ["init", "-q", `--object-format=${algorithm}`, "-b", "trunk"]);
      for (let i = 0; i < 12; i++) {
        writeFileSync(join(work, `file${i % 4}.txt`), `line ${i}\n`.repeat(50 + i));
        writeFileSync(join(work, "big.txt"), `${"x".repeat(2000)}\n${i}\n`);
        git(work, ["add", "-A"]);
        git(work, ["commit", "-q", "-m", `commit ${i}`]);
        if (i === 5) git(work, ["tag", "-a", "-m", "annotated", "v0.5"]);
        if (i === 7) git(work, ["branch", "side"]);
      }
      git(work, ["tag", "light"]);
      // Opened through the work tree: the backend uses its .git directory.
      const b = await open(work);
      expect(b.objects.algorithm).toBe(algorithm);
      const gitDir = join(work, ".git");
      const check = async () => {
        const expected = allObjects(gitDir);
        expect(expected.size).toBeGreaterThan(40);
        const ours = new Set<string>();
        for await (const h of b.objects.hashes()) ours.add(h);
        expect(ours).toEqual(new Set(expected.keys()));
        for (const [id, o] of expected) {
          const got = await b.objects.get(id);
          expect(got?.type).toBe(o.type);
          expect(Buffer.from(got!.data).equals(Buffer.from(o.data))).toBe(true);
        }
        const refs = gitText(gitDir, ["--git-dir", gitDir, "for-each-ref", "--format=%(refname) %(objectname)"])
          .split("\n")
          .map((l) => {
            const [name, hash] = l.split(" ");
            return { name, hash };
          });
        expect(await b.refs.list()).toEqual(refs);
        expect(await b.refs.getSymbolic("HEAD")).toBe("refs/heads/trunk");
        expect(await b.refs.get("HEAD")).toBe(gitText(gitDir, ["--git-dir", gitDir, "rev-parse", "HEAD"]));
      };
      await check();
      git(work, ["gc", "-q", "--aggressive", "--prune=now"]);
      expect(existsSync(join(gitDir, "packed-refs"))).toBe(true);
      expect(readdirSync(join(gitDir, "refs/tags"))).toEqual([]);
      await check(); // same instance: packs and packed refs made behind its back are found
    });

    it("refs: git sees what we move, we see (and watch) what git moves", async () => {
      const dir = join(scratch(), "repo.git");
      const b = await open(dir, algorithm);
      const h1 = await commitOf(b, "1");
      const h2 = gitText(dir, ["--git-dir", dir, "commit-tree", gitText(dir, ["--git-dir", dir, "mktree"], "")], "2");
      await b.refs.set("refs/heads/ours", h1);
      expect(gitText(dir, ["--git-dir", dir, "rev-parse", "refs/heads/ours"])).toBe(h1);

      const seen: RefChange[] = [];
      const stop = b.refs.watch((c) => seen.push(c));
      git(dir, ["--git-dir", dir, "update-ref", "refs/heads/theirs", h2]);
      await waitFor(() => seen.length >= 1, "the watch to see git update-ref");
      expect(await b.refs.get("refs/heads/theirs")).toBe(h2);
      git(dir, ["--git-dir", dir, "update-ref", "refs/heads/ours", h2, h1]);
      await waitFor(() => seen.length >= 2, "the second change");
      git(dir, ["--git-dir", dir, "pack-refs", "--all"]); // moves refs, changes no value: no event
      git(dir, ["--git-dir", dir, "update-ref", "-d", "refs/heads/theirs"]);
      await waitFor(() => seen.length >= 3, "the deletion");
      await sleep(400);
      expect(seen).toEqual([
        { name: "refs/heads/theirs", before: undefined, after: h2 },
        { name: "refs/heads/ours", before: h1, after: h2 },
        { name: "refs/heads/theirs", before: h2, after: undefined },
      ]);
      stop();
      expect(await b.refs.get("refs/heads/ours")).toBe(h2);
    });

    it("after git pack-refs --all we update and remove packed refs as git does", async () => {
      const dir = join(scratch(), "repo.git");
      const b = await open(dir, algorithm);
      const ids = await Promise.all(["a", "b", "c"].map((s) => commitOf(b, s)));
      const commit = await commitOf(b, "c");
      const tag = await b.objects.put("tag", enc.encode(`object ${commit}\ntype commit\ntag v1\ntagger A <a@x> 1 +0000\n\nv1\n`));
      await b.refs.set("refs/heads/one", ids[0]);
      await b.refs.set("refs/heads/two", ids[1]);
      await b.refs.set("refs/heads/deep/three", ids[2]);
      await b.refs.set("refs/tags/v1", tag);
      git(dir, ["--git-dir", dir, "pack-refs", "--all"]);
      expect(existsSync(join(dir, "refs/heads/one"))).toBe(false);
      const packed = readFileSync(join(dir, "packed-refs"), "utf8");
      expect(packed).toMatch(/^# pack-refs with: peeled fully-peeled sorted/);
      expect(packed).toContain(`^${commit}\n`);

      expect(await b.refs.get("refs/heads/one")).toBe(ids[0]);
      expect(await b.refs.testAndSet("refs/heads/one", ids[1], ids[2])).toBe(false);
      expect(await b.refs.testAndSet("refs/heads/one", ids[0], ids[2])).toBe(true);
      await b.refs.remove("refs/heads/two");
      expect(await b.refs.testAndSet("refs/heads/deep/three", ids[2], undefined)).toBe(true);
      // A branch under a removed packed name can now be created (no directory/file conflict left).
      await b.refs.set("refs/heads/two/sub", ids[0]);

      const after = readFileSync(join(dir, "packed-refs"), "utf8");
      expect(after).not.toContain("refs/heads/two\n");
      expect(after).not.toContain("refs/heads/deep/three");
      expect(after).toContain(`^${commit}\n`); // the peeled line of the tag is kept
      expect(gitText(dir, ["--git-dir", dir, "for-each-ref", "--format=%(refname) %(objectname)"]).split("\n")).toEqual([
        `refs/heads/one ${ids[2]}`,
        `refs/heads/two/sub ${ids[0]}`,
        `refs/tags/v1 ${tag}`,
      ]);
      git(dir, ["--git-dir", dir, "update-ref", "refs/heads/one", ids[1], ids[2]]);
      expect(await b.refs.get("refs/heads/one")).toBe(ids[1]);
      await expect(b.refs.set("refs/heads/one/child", ids[0])).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
      git(dir, ["--git-dir", dir, "fsck", "--strict", "--no-dangling"]);
    });

    it("repack packs loose objects; git and a reopened backend read them", async () => {
      const dir = join(scratch(), "repo.git");
      const b = await open(dir, algorithm);
      const ids: string[] = [];
      for (let i = 0; i < 30; i++) ids.push(await b.objects.put("blob", enc.encode(`v${i}\n`.repeat(20))));
      const result = await repack(b);
      expect(result.objects).toBe(30);
      expect(result.looseRemoved).toBe(30);
      const fanout = readdirSync(join(dir, "objects")).filter((d) => /^[0-9a-f]{2}$/.test(d));
      expect(fanout).toEqual([]);
      for (const id of ids) expect((await b.objects.get(id))?.type).toBe("blob");
      expect(gitText(dir, ["--git-dir", dir, "cat-file", "blob", ids[7]])).toBe("v7\n".repeat(20).trim());
      git(dir, ["--git-dir", dir, "fsck", "--strict"]);
    });
  });
}

describe("object directories borrowed through objects/info/alternates", () => {
  it("a git clone --shared reads the objects it borrows, writes only its own, and git agrees", async () => {
    const dir = scratch();
    const origin = join(dir, "origin.git");
    const b = await open(origin);
    const blob = await b.objects.put("blob", enc.encode("shared\n"));
    const root = await b.objects.put("tree", tree([["100644", "a", blob]]));
    const commit = gitText(dir, ["--git-dir", origin, "commit-tree", root, "-m", "one"]);
    await b.refs.set("refs/heads/main", commit);
    git(dir, ["--git-dir", origin, "gc", "-q"]);
    git(dir, ["clone", "-q", "--shared", "--bare", origin, join(dir, "clone.git")]);
    // A second level, through a relative path, as git writes for nested alternates.
    const nested = join(dir, "nested.git");
    git(dir, ["init", "-q", "--bare", nested]);
    writeFileSync(join(nested, "objects", "info", "alternates"), "# borrowed\n../../clone.git/objects\n");
    git(dir, ["--git-dir", nested, "update-ref", "refs/heads/main", commit]);

    for (const path of [join(dir, "clone.git"), nested]) {
      const c = await open(path);
      expect(new TextDecoder().decode((await c.objects.get(blob))!.data)).toBe("shared\n");
      expect(await c.objects.has(commit)).toBe(true);
      // Borrowed objects are not written again; a new one lands here, not in the origin.
      await c.objects.putMany([{ type: "blob", data: enc.encode("shared\n") }]);
      const mine = await c.objects.put("blob", enc.encode(`new in ${path}\n`));
      expect(gitText(dir, ["--git-dir", path, "count-objects"])).toMatch(/^1 objects/);
      expect(existsSync(join(origin, "objects", mine.slice(0, 2), mine.slice(2)))).toBe(false);
      const next = gitText(dir, ["--git-dir", path, "commit-tree", root, "-p", commit, "-m", "two"]);
      expect(await c.refs.testAndSet("refs/heads/main", commit, next)).toBe(true);
      git(dir, ["--git-dir", path, "fsck", "--strict"]);
    }
  });

  it("follows five levels of alternates below the repository's own list, as git; a damaged alternate does not block writes", async () => {
    const dir = scratch();
    const chain = Array.from({ length: 8 }, (_, i) => join(dir, `r${i}.git`));
    for (const [i, path] of chain.entries()) {
      git(dir, ["init", "-q", "--bare", path]);
      if (i > 0) writeFileSync(join(path, "objects", "info", "alternates"), `${join(chain[i - 1], "objects")}\n`);
    }
    const only = chain.map((path, i) => gitText(dir, ["--git-dir", path, "hash-object", "-w", "--stdin"], `only in r${i}\n`));
    const last = await open(chain[7]);
    for (const [i, h] of only.entries()) {
      const gitHas = (() => {
        try {
          git(dir, ["--git-dir", chain[7], "cat-file", "-e", h]);
          return true;
        } catch {
          return false;
        }
      })();
      expect(await last.objects.has(h), `r${i}`).toBe(gitHas);
    }
    expect(await last.objects.has(only[1])).toBe(true);
    expect(await last.objects.has(only[0])).toBe(false);
    // A damaged pack in an alternate: reads of it fail as CORRUPT, writes here go on.
    writeFileSync(join(chain[6], "objects", "pack", `pack-${"ab".repeat(20)}.idx`), "not an index");
    writeFileSync(join(chain[6], "objects", "pack", `pack-${"ab".repeat(20)}.pack`), "not a pack");
    const mine = await last.objects.putMany(["x", "y", "z"].map((s) => ({ type: "blob" as const, data: enc.encode(s) })));
    expect(await last.objects.has(mine[0])).toBe(true);
  });

  it("reads a C-quoted alternates path, as git writes one with special characters", async () => {
    const dir = scratch();
    const odd = join(dir, 'a "quoted"\\dir.git');
    const borrower = join(dir, "borrower.git");
    git(dir, ["init", "-q", "--bare", odd]);
    git(dir, ["init", "-q", "--bare", borrower]);
    const h = gitText(dir, ["--git-dir", odd, "hash-object", "-w", "--stdin"], "borrowed\n");
    const quoted = `"${join(odd, "objects").replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
    writeFileSync(join(borrower, "objects", "info", "alternates"), `${quoted}\n`);
    git(dir, ["--git-dir", borrower, "cat-file", "-e", h]);
    expect(await (await open(borrower)).objects.has(h)).toBe(true);
  });
});
