import { describe, it, expect, afterAll } from "vitest";
import { join } from "node:path";
import { gitText, tempDir } from "../../backends/git/git-cli.js";
import { Repo } from "../../../src/store/repo.js";
import { Remote } from "../../../src/sync/remote.js";
import { cloneRepo, fetchRemote, pullBranch, pushBranch } from "../../../src/sync/operations.js";
import { fsck } from "./fixtures.js";

const tmp = tempDir("irmin-sync-inproc-");
afterAll(() => tmp.remove());

/** Counts object writes of a repository (putMany objects and puts). */
function countWrites(repo: Repo<string>): { count: () => number } {
  const objects = repo.internals.backend.objects;
  let n = 0;
  const putMany = objects.putMany.bind(objects);
  const put = objects.put.bind(objects);
  objects.putMany = async (os) => {
    n += os.length;
    return putMany(os);
  };
  objects.put = async (t, d) => {
    n++;
    return put(t, d);
  };
  return { count: () => n };
}

describe("Remote.repo and Remote.path (in process)", () => {
  it.each(["memory", "git"] as const)("memory ↔ %s: fetch copies only missing objects, push, pull, clone", async (kind) => {
    const central = kind === "memory" ? await Repo.memory() : await Repo.open({ path: join(tmp.dir, "central") });
    const main = central.branch("main");
    for (let i = 0; i < 10; i++) await main.set(`dir/k${i}`, `v${i}`);
    const remote = Remote.repo(central);

    const a = await cloneRepo<string>(remote, { backend: "memory" });
    expect(await a.branch("main").get("dir/k9")).toBe("v9");
    expect((await a.branch("main").history()).length).toBe(10);

    // One more commit on the central repo: a fetch copies its commit, two trees and one blob.
    await main.set("dir/k10", "v10");
    const writes = countWrites(a);
    const head = await fetchRemote(a, remote, "main");
    expect(head?.hash).toBe((await main.head())?.hash);
    expect(writes.count()).toBe(4);
    expect(await fetchRemote(a, remote, "main")).toBeDefined();
    expect(writes.count()).toBe(4);

    const b = await cloneRepo<string>(remote, { backend: "memory" });
    await a.branch("main").set("from-a", "1");
    expect(await pushBranch(a.branch("main"), remote)).toEqual({ ok: false, reason: expect.stringMatching(/non-fast-forward/) });
    expect((await pullBranch(a.branch("main"), remote)).ok).toBe(true);
    expect(await pushBranch(a.branch("main"), remote)).toEqual({ ok: true });
    await b.branch("main").set("from-b", "2");
    expect(await pushBranch(b.branch("main"), remote)).toMatchObject({ ok: false });
    expect((await pullBranch(b.branch("main"), remote)).ok).toBe(true);
    expect(await pushBranch(b.branch("main"), remote)).toEqual({ ok: true });
    expect((await pullBranch(a.branch("main"), remote)).ok).toBe(true);
    for (const r of [a, b, central]) {
      expect(await r.branch("main").get("from-a")).toBe("1");
      expect(await r.branch("main").get("from-b")).toBe("2");
    }
    expect((await a.branch("main").head())?.hash).toBe((await main.head())?.hash);
    if (kind === "git") fsck(join(tmp.dir, "central"));
    await central.close();
  });

  it("Remote.path: clone from and push to a repository on disk, read back by git", async () => {
    const path = join(tmp.dir, "on-disk");
    const disk = await Repo.open({ path });
    await disk.branch("main").set("x", "1");
    await disk.close();
    const local = await cloneRepo<string>(Remote.path(path), { backend: "memory" });
    await local.branch("main").set("y", "2", { message: "from memory" });
    expect(await pushBranch(local.branch("main"), Remote.path(path))).toEqual({ ok: true });
    expect(gitText(path, ["--git-dir", path, "log", "-1", "--format=%s", "main"])).toBe("from memory");
    fsck(path);
    await expect(fetchRemote(local, Remote.path(join(tmp.dir, "missing")), "main")).rejects.toMatchObject({ code: "NOT_FOUND" });
  });

  it("refuses bad arguments with INVALID_ARGUMENT", async () => {
    expect(() => Remote.url("ftp://x/y")).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
    expect(() => Remote.url("not a url")).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
    expect(() => Remote.path("")).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
    const r = await Repo.memory();
    await expect(fetchRemote(r, Remote.repo(r), "bad..name")).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    await expect(fetchRemote(r, Remote.repo(r), "main", { depth: 0 })).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    await expect(pushBranch(r.branch("main"), Remote.repo(r))).rejects.toMatchObject({ code: "NOT_FOUND" });
  });
});
