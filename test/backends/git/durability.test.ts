import { afterEach, describe, expect, it, vi } from "vitest";
import { readdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { gitBackend } from "../../../src/backends/git/git-backend.js";
import { Durability } from "../../../src/backends/git/durability.js";
import { geometricSplit } from "../../../src/backends/git/pack/consolidate.js";
import { hashObject } from "../../../src/codec/object.js";
import { contentsChild, Node, TreeContext, type Child } from "../../../src/tree/node.js";
import { readCommit, writeTreeCommit } from "../../../src/history/commits.js";
import { git, gitText, runUntilKilled, tempDir } from "./git-cli.js";

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const ROOT = resolve(import.meta.dirname, "../../..");
const enc = new TextEncoder();

function scratch(): string {
  const t = tempDir("irmin-durability-");
  cleanups.push(t.remove);
  return t.dir;
}

const packsOf = (dir: string) => readdirSync(join(dir, "objects", "pack")).filter((f) => f.endsWith(".pack"));

/** A tree holding `blobs` (names b0, b1, ...) as git's mktree makes it, and a commit of it, both through the backend. */
async function commitOf(b: Awaited<ReturnType<typeof gitBackend>>, blobs: readonly string[], parent?: string): Promise<string> {
  const lines = blobs.map((h, i) => `100644 blob ${h}\tb${i}`).join("\n") + "\n";
  const dir = (b as unknown as { gitDir: string }).gitDir;
  const tree = gitText(dir, ["--git-dir", dir, "mktree"], lines);
  const body = `tree ${tree}\n${parent ? `parent ${parent}\n` : ""}author A <a@x> 1700000000 +0000\ncommitter A <a@x> 1700000000 +0000\n\nc\n`;
  return b.objects.put("commit", enc.encode(body));
}

describe("geometric roll-up", () => {
  it("merges the packs that break the progression, and none when they form one", () => {
    expect(geometricSplit([], 2)).toBe(0);
    expect(geometricSplit([100], 2)).toBe(0);
    expect(geometricSplit([1, 2, 4, 8], 2)).toBe(0);
    expect(geometricSplit([5, 5, 5, 5], 2)).toBe(4);
    // The merged small packs (10) would break the progression with 15: it joins them.
    expect(geometricSplit([5, 5, 15, 100], 2)).toBe(3);
    expect(geometricSplit([5, 5, 40, 100], 2)).toBe(2);
  });
});

describe("git backend durability and small packs", () => {
  it("without a journal, small batches become packs that are rolled up as they accumulate; every object stays readable; git fsck and gc agree", async () => {
    const dir = join(scratch(), "repo.git");
    const b = await gitBackend({ path: dir, maxPacks: 4, journal: false });
    const all: string[] = [];
    let head: string | undefined;
    let maxSeen = 0;
    for (let round = 0; round < 40; round++) {
      const batch = Array.from({ length: 3 }, (_, i) => ({ type: "blob" as const, data: enc.encode(`round ${round} blob ${i}\n`) }));
      all.push(...(await b.objects.putMany(batch)));
      maxSeen = Math.max(maxSeen, packsOf(dir).length);
      head = await commitOf(b, all, head);
      await b.refs.set("refs/heads/main", head);
    }
    // 40 batches, yet never more than maxPacks + 1 packs (the roll-up runs after the write that exceeds it).
    expect(maxSeen).toBeLessThanOrEqual(5);
    expect(packsOf(dir).length).toBeLessThanOrEqual(5);
    for (const h of all) expect((await b.objects.get(h))?.type).toBe("blob");
    await b.close();
    const again = await gitBackend({ path: dir });
    for (const h of all) expect((await again.objects.get(h))?.type).toBe("blob");
    await again.close();
    git(dir, ["--git-dir", dir, "fsck", "--strict", "--no-dangling"]);
    for (const p of packsOf(dir)) git(dir, ["--git-dir", dir, "verify-pack", join(dir, "objects", "pack", p.replace(/\.pack$/, ".idx"))]);
    git(dir, ["--git-dir", dir, "gc", "--quiet"]);
    git(dir, ["--git-dir", dir, "fsck", "--strict", "--no-dangling"]);
    const reopened = await gitBackend({ path: dir });
    for (const h of all) expect((await reopened.objects.get(h))?.type).toBe("blob");
    await reopened.close();
  });

  it("rolls up packs git wrote with deltas (OFS_DELTA entries copied with new distances)", async () => {
    const dir = join(scratch(), "repo.git");
    git(scratch(), ["init", "--bare", "-q", dir]);
    // Two packs of similar blobs, written by git with deltas.
    const ids: string[] = [];
    for (let p = 0; p < 2; p++) {
      const hashes = [];
      for (let i = 0; i < 20; i++) {
        const body = `${"line of shared text\n".repeat(50)}pack ${p} variant ${i}\n`;
        hashes.push(gitText(dir, ["--git-dir", dir, "hash-object", "-w", "--stdin"], body));
      }
      ids.push(...hashes);
      git(dir, ["--git-dir", dir, "pack-objects", "-q", "--depth=10", join(dir, "objects", "pack", "pack")], hashes.join("\n") + "\n");
      git(dir, ["--git-dir", dir, "prune-packed"]);
    }
    expect(packsOf(dir).length).toBe(2);
    const b = await gitBackend({ path: dir, maxPacks: 1, journal: false });
    // One more small pack: three packs above maxPacks = 1, all of them rolled up.
    ids.push(...(await b.objects.putMany([1, 2, 3].map((i) => ({ type: "blob" as const, data: enc.encode(`small ${i}\n`) })))));
    expect(packsOf(dir).length).toBe(1);
    for (const h of ids) expect((await b.objects.get(h))?.type).toBe("blob");
    await b.close();
    const idx = join(dir, "objects", "pack", packsOf(dir)[0].replace(/\.pack$/, ".idx"));
    const verify = gitText(dir, ["--git-dir", dir, "verify-pack", "-v", idx]);
    expect(verify).toMatch(/chain length = 1/);
    for (const h of ids) expect(gitText(dir, ["--git-dir", dir, "cat-file", "-t", h])).toBe("blob");
  });

  it("without a journal, a ref update flushes every object written before it, in one barrier", async () => {
    const dir = join(scratch(), "repo.git");
    const b = await gitBackend({ path: dir, journal: false });
    const flush = vi.spyOn(Durability.prototype, "flush");
    cleanups.push(() => flush.mockRestore());
    const blob = await b.objects.put("blob", enc.encode("loose, not flushed yet\n"));
    const commit = await commitOf(b, [blob]);
    const before = flush.mock.calls.length;
    await b.refs.set("refs/heads/main", commit);
    expect(flush.mock.calls.length).toBe(before + 1);
    const durability = flush.mock.contexts.at(-1) as Durability;
    expect(durability.pending).toBe(false);
    await b.close();
  });

  it("writeTreeCommit stores a commit's new blobs, trees and commit as one batch: one pack, read back by git", async () => {
    const dir = join(scratch(), "repo.git");
    const b = await gitBackend({ path: dir });
    const ctx = new TreeContext(b.objects, "sha1");
    const putMany = vi.spyOn(b.objects, "putMany");
    const put = vi.spyOn(b.objects, "put");
    const leaf = new Map<string, Child>([["x", contentsChild(ctx, enc.encode("hello\n"))]]);
    const root = Node.fromEntries(new Map<string, Child>([["dir", { kind: "node", node: Node.fromEntries(leaf) }]]));
    const prepared = await ctx.prepareWrite(root);
    expect(prepared.objects).toHaveLength(3);
    const commit = await writeTreeCommit(ctx, prepared, { parents: [], author: "A <a@x>", message: "one batch", date: 1_700_000_000_000 });
    expect(putMany).toHaveBeenCalledTimes(1);
    expect(put).not.toHaveBeenCalled();
    // Marked written by the caller once a ref names the commit (a concurrent repack may drop it before).
    expect(root.stored).toBe(false);
    expect(packsOf(dir)).toHaveLength(1);
    await b.refs.set("refs/heads/main", commit.hash);
    ctx.markWritten(prepared);
    expect(root.stored).toBe(true);
    expect(gitText(dir, ["--git-dir", dir, "cat-file", "-p", "main:dir/x"])).toBe("hello");
    expect((await readCommit(ctx, commit.hash)).tree).toBe(prepared.hash);
    git(dir, ["--git-dir", dir, "fsck", "--strict", "--no-dangling"]);
    await b.close();
  });

  it("a durability barrier flushes noted files and directories, and is a no-op when disabled", async () => {
    const dir = scratch();
    const file = join(dir, "f");
    writeFileSync(file, "x");
    const d = new Durability(true);
    d.noteFile(file, dir);
    expect(d.pending).toBe(true);
    await d.flush();
    expect(d.pending).toBe(false);
    // A file removed meanwhile (packed and pruned) is not an error.
    d.noteFile(join(dir, "gone"), dir);
    await d.flush();
    const off = new Durability(false);
    off.noteFile(file, dir);
    expect(off.pending).toBe(false);
  });

  it("start() begins the flush without waiting; flush() awaits it, and a failed started flush is retried and reported", async () => {
    const dir = scratch();
    const file = join(dir, "f");
    writeFileSync(file, "x");
    const d = new Durability(true);
    d.noteFile(file, dir);
    d.start();
    // Taken by the started run: nothing left pending, and flush() resolves once that run is done.
    expect(d.pending).toBe(false);
    await d.flush();
    // A path through a regular file cannot be opened (ENOTDIR): the started run fails, puts the
    // path back, and the next flush() retries it and throws IO instead of losing the error.
    d.noteFile(join(file, "under-a-file"), dir);
    d.start();
    await new Promise((r) => setTimeout(r, 20));
    expect(d.pending).toBe(true);
    await expect(d.flush()).rejects.toSatisfy((e: unknown) => (e as { code?: string }).code === "IO");
    expect(d.pending).toBe(true);
  });

  it("without a journal, a small pack starts the flush of its directory entry at once; the ref update still awaits it before moving the ref", async () => {
    const dir = join(scratch(), "repo.git");
    const b = await gitBackend({ path: dir, journal: false });
    const start = vi.spyOn(Durability.prototype, "start");
    const flush = vi.spyOn(Durability.prototype, "flush");
    cleanups.push(() => start.mockRestore(), () => flush.mockRestore());
    const blobs = await b.objects.putMany([1, 2, 3].map((i) => ({ type: "blob" as const, data: enc.encode(`early ${i}\n`) })));
    expect(packsOf(dir)).toHaveLength(1);
    expect(start).toHaveBeenCalledTimes(1);
    const durability = start.mock.contexts[0] as Durability;
    // Nothing waits unflushed: the pack directory's flush is under way (or done).
    expect(durability.pending).toBe(false);
    const commit = await commitOf(b, blobs);
    const before = flush.mock.calls.length;
    await b.refs.set("refs/heads/main", commit);
    expect(flush.mock.calls.length).toBe(before + 1);
    expect(durability.pending).toBe(false);
    expect(gitText(dir, ["--git-dir", dir, "cat-file", "-p", "main:b2"])).toBe("early 3");
    await b.close();
  });

  it("a process killed between its object writes and its ref update leaves a valid repository with every acknowledged update", async () => {
    const t = scratch();
    const dir = join(t, "repo.git");
    const worker = join(t, "worker.mts");
    writeFileSync(
      worker,
      `
import { gitBackend } from ${JSON.stringify(join(ROOT, "src/backends/git/git-backend.ts"))};
import { execFileSync } from "node:child_process";
const enc = new TextEncoder();
const b = await gitBackend({ path: process.argv[2] });
let parent;
for (let i = 0; i < 5; i++) {
  const blob = await b.objects.put("blob", enc.encode("value " + i + "\\n"));
  const tree = execFileSync("git", ["--git-dir", process.argv[2], "mktree"], { input: "100644 blob " + blob + "\\tk\\n" }).toString().trim();
  const body = "tree " + tree + "\\n" + (parent ? "parent " + parent + "\\n" : "") + "author A <a@x> 1700000000 +0000\\ncommitter A <a@x> 1700000000 +0000\\n\\nc" + i + "\\n";
  const commit = await b.objects.put("commit", enc.encode(body));
  await b.refs.set("refs/heads/main", commit);
  parent = commit;
  console.log(commit);
}
// New objects, loose and packed, then a crash before the ref update that would use them.
await b.objects.put("blob", enc.encode("never referenced\\n"));
await b.objects.putMany([1, 2, 3].map((i) => ({ type: "blob", data: enc.encode("batch " + i + "\\n") })));
process.kill(process.pid, "SIGKILL");
`,
    );
    const out = await runUntilKilled(ROOT, worker, [dir]);
    const acknowledged = out.trim().split("\n");
    expect(acknowledged).toHaveLength(5);
    expect(gitText(dir, ["--git-dir", dir, "rev-parse", "refs/heads/main"])).toBe(acknowledged[4]);
    git(dir, ["--git-dir", dir, "fsck", "--strict"]);
    const b = await gitBackend({ path: dir });
    expect(await b.refs.get("refs/heads/main")).toBe(acknowledged[4]);
    // What the killed process wrote before the crash is there and intact (a process crash keeps the page cache).
    expect((await b.objects.get(hashObject("sha1", "blob", enc.encode("never referenced\n"))))?.type).toBe("blob");
    expect((await b.objects.get(hashObject("sha1", "blob", enc.encode("batch 2\n"))))?.type).toBe("blob");
    await b.close();
  });
});
