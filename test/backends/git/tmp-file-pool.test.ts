/**
 * The pre-created temporary files small packs are written through (`tmp-file-pool.ts`): used,
 * never leaked (close, errors, nothing to write), invisible to git's checks while they wait,
 * and harmless when git's gc removes them under a live backend or after a crash.
 */
import { afterEach, describe, expect, it } from "vitest";
import { existsSync, mkdirSync, readdirSync, statSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { gitBackend } from "../../../src/backends/git/git-backend.js";
import { TmpFilePool } from "../../../src/backends/git/pack/tmp-file-pool.js";
import { encodeWholeEntries, writePackEntries } from "../../../src/backends/git/pack/pack-file-writer.js";
import { hashObject } from "../../../src/codec/object.js";
import { isIrminError } from "../../../src/core/errors.js";
import { Repo } from "../../../src/store/repo.js";
import { git, gitText, tempDir } from "./git-cli.js";

const cleanups: (() => void)[] = [];
afterEach(() => {
  while (cleanups.length > 0) cleanups.pop()!();
});

function bareRepo(): string {
  const t = tempDir("irmin-tmp-pool-");
  cleanups.push(t.remove);
  const dir = join(t.dir, "r.git");
  git(t.dir, ["init", "-q", "--bare", "-b", "main", dir]);
  return dir;
}

const tmpNames = (dir: string): string[] => readdirSync(dir).filter((n) => n.startsWith("tmp_"));

function garbage(dir: string): string {
  return gitText(dir, ["count-objects", "-v"])
    .split("\n")
    .filter((l) => l.startsWith("garbage") || l.startsWith("size-garbage"))
    .join(",");
}

function blobEntries(texts: readonly string[]) {
  const enc = new TextEncoder();
  return encodeWholeEntries(
    texts.map((t) => ({ hash: hashObject("sha1", "blob", enc.encode(t)), type: "blob" as const, data: enc.encode(t) })),
    1,
  );
}

describe("TmpFilePool", () => {
  it("creates pairs in the background, hands them out once, removes the rest at close", async () => {
    const dir = bareRepo();
    const objects = join(dir, "objects");
    const pool = new TmpFilePool(objects, 2);
    expect(pool.take()).toBeUndefined();
    pool.refill();
    await pool.settled();
    expect(pool.available).toBe(2);
    expect(tmpNames(objects)).toHaveLength(4);
    const a = pool.take()!;
    const b = pool.take()!;
    expect(pool.take()).toBeUndefined();
    expect(new Set([a.pack.path, a.idx.path, b.pack.path, b.idx.path]).size).toBe(4);
    // A pack written through a pooled pair: renamed into place, git accepts it.
    const written = await writePackEntries(join(objects, "pack"), "sha1", blobEntries(["one", "two"]), { fsync: true, tmp: a });
    expect(existsSync(a.pack.path) || existsSync(a.idx.path)).toBe(false);
    git(dir, ["verify-pack", join(objects, "pack", `pack-${written.name}.idx`)]);
    expect(gitText(dir, ["cat-file", "-p", written.entries[0].hash])).toMatch(/^(one|two)$/);
    // Nothing to write: the pair is released, not leaked.
    await writePackEntries(join(objects, "pack"), "sha1", [], { fsync: false, tmp: b });
    expect(tmpNames(objects)).toEqual([]);
    pool.refill();
    await pool.close();
    expect(tmpNames(objects)).toEqual([]);
    pool.refill();
    await pool.settled();
    expect(tmpNames(objects)).toEqual([]);
  });

  it("removes the pooled files when the write fails, and skips files removed behind its back", async () => {
    const dir = bareRepo();
    const objects = join(dir, "objects");
    const pool = new TmpFilePool(objects, 2);
    pool.refill();
    await pool.settled();
    const pair = pool.take()!;
    const err = await writePackEntries(join(objects, "no-such-dir"), "sha1", blobEntries(["x"]), { fsync: false, tmp: pair }).catch((e: unknown) => e);
    expect(isIrminError(err, "IO")).toBe(true);
    expect(tmpNames(objects)).toHaveLength(2); // only the pair still pooled
    // git gc --prune=now removes the waiting files: take() notices and hands out nothing stale.
    for (const n of tmpNames(objects)) unlinkSync(join(objects, n));
    expect(pool.take()).toBeUndefined();
    await pool.close();
    expect(tmpNames(objects)).toEqual([]);
  });
});

describe("git backend with pooled temporary files", () => {
  it("writes every commit's pack through pooled files; git sees no garbage; close leaves nothing", async () => {
    const dir = bareRepo();
    const objects = join(dir, "objects");
    const repo = await Repo.open({ backend: await gitBackend({ path: dir, fsync: true }) });
    const main = repo.branch("main");
    for (let i = 0; i < 6; i++) await main.set(`k/${i}`, `v${i}`);
    // The pool is refilled after each ref update: pairs wait in objects/, none in objects/pack.
    await new Promise((r) => setTimeout(r, 50));
    expect(tmpNames(objects).length).toBeGreaterThan(0);
    expect(tmpNames(join(objects, "pack"))).toEqual([]);
    expect(garbage(dir)).toBe("garbage: 0,size-garbage: 0");
    git(dir, ["fsck", "--strict", "--no-dangling"]);
    // A pooled file renamed into place keeps git's pack file mode (read-only).
    const packs = readdirSync(join(objects, "pack")).filter((n) => n.endsWith(".pack"));
    expect(packs.length).toBeGreaterThan(1);
    for (const p of packs) expect(statSync(join(objects, "pack", p)).mode & 0o222).toBe(0);
    await repo.close();
    expect(tmpNames(objects)).toEqual([]);
    expect(gitText(dir, ["rev-list", "--count", "main"])).toBe("6");
  });

  it("keeps working when git gc --prune=now removes the pool under a live backend", async () => {
    const dir = bareRepo();
    const objects = join(dir, "objects");
    const repo = await Repo.open({ backend: await gitBackend({ path: dir, fsync: false }) });
    const main = repo.branch("main");
    for (let i = 0; i < 3; i++) await main.set(`a/${i}`, `v${i}`);
    await new Promise((r) => setTimeout(r, 50));
    expect(tmpNames(objects).length).toBeGreaterThan(0);
    git(dir, ["gc", "-q", "--prune=now"]);
    expect(tmpNames(objects)).toEqual([]);
    for (let i = 3; i < 8; i++) await main.set(`a/${i}`, `v${i}`);
    expect(await main.get("a/7")).toBe("v7");
    git(dir, ["fsck", "--strict", "--no-dangling"]);
    expect(garbage(dir)).toBe("garbage: 0,size-garbage: 0");
    await repo.close();
    expect(tmpNames(objects)).toEqual([]);
    expect(gitText(dir, ["show", "main:a/7"])).toBe("v7");
  });

  it("files left by a crash are harmless: git ignores them until gc prunes them", async () => {
    const dir = bareRepo();
    const objects = join(dir, "objects");
    mkdirSync(join(objects, "pack"), { recursive: true });
    const pool = new TmpFilePool(objects, 2);
    pool.refill();
    await pool.settled();
    // No close(): as a crash would leave them.
    const repo = await Repo.open({ backend: await gitBackend({ path: dir, fsync: false }) });
    await repo.branch("main").set("k", "v");
    await repo.close();
    expect(tmpNames(objects).length).toBeGreaterThanOrEqual(4);
    expect(garbage(dir)).toBe("garbage: 0,size-garbage: 0");
    git(dir, ["fsck", "--strict", "--no-dangling"]);
    git(dir, ["gc", "-q"]); // default expiry: kept, still clean
    git(dir, ["fsck", "--strict", "--no-dangling"]);
    git(dir, ["gc", "-q", "--prune=now"]);
    expect(tmpNames(objects)).toEqual([]);
    expect(gitText(dir, ["show", "main:k"])).toBe("v");
    await pool.close(); // the crashed process's descriptors, for the test's own hygiene
  });
});
