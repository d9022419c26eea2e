/**
 * Ref locks left by a writer that died: the next writer tells them from held ones by the name the
 * lock's spare file keeps (its owner's pid, start, namespace, host and boot), and removes them;
 * what the dead writer recorded but never made stays unmade, even after a later power cut.
 */
import { describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import { existsSync, linkSync, readdirSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gitBackend } from "../../../src/backends/git/git-backend.js";
import { ownTag } from "../../../src/backends/git/owner-tag.js";
import { Repo } from "../../../src/store/repo.js";
import { expectCode } from "../../conformance/helpers.js";
import { deadPid, git, GIT_ENV, gitText, runUntilKilled } from "./git-cli.js";
import { lostUpdates, powerCutCopy, replaceFs, ROOT, scratchDirs } from "./journal-helpers.js";

const { scratch, cleanups } = scratchDirs();

/**
 * A worker that commits `k/0`..`k/2` on main (printing each head), then starts a fourth commit and
 * stops under main's lock: `when` = "locked" before the journal records the change, "recorded"
 * after (flushed), "renaming" in the rename of the lock over the ref, "renamed" right after it,
 * and then kills itself, or
 * with "hang" (recorded) waits there until killed.
 */
function worker(): string {
  const path = join(scratch(), "worker.mts");
  writeFileSync(
    path,
    `
import { Repo } from ${JSON.stringify(join(ROOT, "src/store/repo.ts"))};
import { Durability } from ${JSON.stringify(join(ROOT, "src/backends/git/durability.ts"))};
import fs from "node:fs";
import { syncBuiltinESMExports } from "node:module";
const rename = fs.renameSync;
const [dir, when] = process.argv.slice(2);
const repo = await Repo.open({ path: dir });
const main = repo.branch("main");
for (let i = 0; i < 3; i++) {
  await main.set("k/" + i, "v" + i);
  console.log((await main.head()).hash);
}
const original = Durability.prototype.beforeRefUpdate;
Durability.prototype.beforeRefUpdate = async function (change) {
  if (when !== "locked") await original.call(this, change);
  console.log("locked " + change.after);
  if (when === "renaming" || when === "renamed") {
    // Dies in the ref's rename (the old ref file has its second name: see LockFile.commit), or
    // right after it (the lock, now the ref file, still has its spare's name).
    fs.renameSync = (from, to) => {
      if (!to.endsWith("main")) return rename(from, to);
      if (when === "renamed") rename(from, to);
      process.kill(process.pid, "SIGKILL");
    };
    syncBuiltinESMExports();
    return;
  }
  if (when !== "hang") process.kill(process.pid, "SIGKILL");
  setInterval(() => undefined, 1000); // keeps the process running
  await new Promise(() => undefined);
};
await main.set("k/lost", "never acknowledged");
`,
  );
  return path;
}

const lockOf = (dir: string) => join(dir, "refs", "heads", "main.lock");
const spareNames = (dir: string) => readdirSync(join(dir, "irmin-journal")).filter((n) => n.endsWith(".tmp"));

async function open(dir: string, lockTimeoutMs?: number): Promise<Repo> {
  const repo = await Repo.open({ backend: await gitBackend({ path: dir, lockTimeoutMs }) });
  cleanups.push(() => repo.close());
  return repo;
}

/** A lock on main that a process of tag `tag` holds (a file and its second, tagged name), as a crash leaves it. */
function forgedLock(dir: string, tag: string): string {
  writeFileSync(lockOf(dir), "");
  const marker = join(dir, "irmin-journal", `${tag}-0123abcd.tmp`);
  linkSync(lockOf(dir), marker);
  return marker;
}

/** This process's tag with some of its fields (pid, start, ns, host, boot) replaced. */
function tagWith(fields: { pid?: number; ns?: string; host?: string; boot?: string }): string {
  const [pid, start, ns, host, boot] = ownTag().split(".");
  return [fields.pid ?? pid, start, fields.ns ?? ns, fields.host ?? host, fields.boot ?? boot].join(".");
}

describe("a ref lock left by a writer that died", () => {
  it.each(["locked", "recorded", "renaming", "renamed"])("(killed %s) is removed by the next writer; only the acknowledged updates count", async (when) => {
    const dir = join(scratch(), "repo.git");
    const lines = (await runUntilKilled(ROOT, worker(), [dir, when])).trim().split("\n");
    const acknowledged = lines.slice(0, 3);
    const [, made] = lines[3].split(" ");
    expect(made).toMatch(/^[0-9a-f]{40}$/);
    // Made, never acknowledged: the ref shows it, or the one before.
    const before = when === "renamed" ? made : acknowledged[2];
    if (when !== "renamed") {
      expect(existsSync(lockOf(dir))).toBe(true);
      // git waits for such a lock forever (until removed by hand).
      expect(() => git(dir, ["--git-dir", dir, "update-ref", "refs/heads/main", acknowledged[1]])).toThrow(/lock/);
    }

    const repo = await open(dir);
    const main = repo.branch("main");
    expect((await main.head())!.hash).toBe(before);
    await main.set("k/next", "after the crash");
    const head = (await main.head())!;
    expect(head.parents).toEqual([before]);
    expect(await main.get("k/lost")).toBe(when === "renamed" ? "never acknowledged" : undefined);
    await repo.close();
    expect(readdirSync(join(dir, "refs", "heads")).filter((n) => n.endsWith(".lock"))).toEqual([]);
    expect(spareNames(dir)).toEqual([]);
    git(dir, ["--git-dir", dir, "fsck", "--strict"]);
    expect(gitText(dir, ["--git-dir", dir, "rev-parse", "main"])).toBe(head.hash);
  });

  it("is removed only after the dead writer's journal is recovered: its recorded change is not replayed over later ones after a power cut", async () => {
    const dir = join(scratch(), "repo.git");
    // Open before the worker dies: this open's recovery did not see the worker's journal.
    const repo = await open(dir);
    const main = repo.branch("main");
    await main.set("start", "1");
    const lines = (await runUntilKilled(ROOT, worker(), [dir, "recorded"])).trim().split("\n");
    // The deletion of the dead writer's journal is flushed (its directory) before the lock goes.
    const flushed: string[] = [];
    const restore = replaceFs("fsync", (original) => ((fd: number, cb: (e: Error | null) => void) => {
      flushed.push(readlinkSync(`/proc/self/fd/${fd}`));
      original(fd, cb);
    }) as typeof original);
    cleanups.push(restore);
    await main.set("k/next", "after the crash");
    restore();
    expect(flushed).toContain(join(dir, "irmin-journal"));
    const acknowledged = (await main.head())!.hash;
    expect((await main.head())!.parents).toEqual([lines[2]]);
    // A power cut loses the ref file's last writes (not flushed: the journal holds them).
    const copy = powerCutCopy(dir, scratch());
    lostUpdates(join(copy, "refs", "heads", "main"), `${lines[2]}\n`);
    const after = await open(copy);
    expect((await after.branch("main").head())!.hash).toBe(acknowledged);
    expect(await after.branch("main").get("k/lost")).toBeUndefined();
  });

  it("is not removed while its writer runs: LOCKED, then taken once that writer is gone", async () => {
    const dir = join(scratch(), "repo.git");
    const child = spawn(process.execPath, ["--import", "tsx", worker(), dir, "hang"], { cwd: ROOT, env: { ...process.env, ...GIT_ENV }, stdio: ["ignore", "pipe", "pipe"] });
    const exited = new Promise<void>((ok) => child.on("exit", () => ok()));
    cleanups.push(async () => {
      child.kill("SIGKILL");
      await exited;
    });
    await new Promise<void>((ok, fail) => {
      let out = "";
      child.stdout.on("data", (d: Buffer) => (out += d.toString()).includes("locked") && ok());
      child.on("exit", () => fail(new Error(`worker exited: ${out}`)));
    });
    const repo = await open(dir, 300);
    const main = repo.branch("main");
    await expectCode(main.set("k/next", "waits"), "LOCKED");
    expect(existsSync(lockOf(dir))).toBe(true);
    child.kill("SIGKILL");
    await exited;
    await main.set("k/next", "after the crash");
    expect(await main.get("k/next")).toBe("after the crash");
    expect(existsSync(lockOf(dir))).toBe(false);
  });

  it("is judged by its owner's namespace, host and boot: one of another container, host or boot is waited for, a dead one's removed", async () => {
    const dir = join(scratch(), "repo.git");
    const repo = await open(dir, 200);
    const main = repo.branch("main");
    await main.set("a", "1");
    const dead = await deadPid();
    // A process of another pid namespace or another host may be running: its lock stays.
    for (const tag of [tagWith({ pid: dead, ns: "1" }), tagWith({ pid: dead, host: "00000000" })]) {
      const marker = forgedLock(dir, tag);
      await expectCode(main.set("a", "2"), "LOCKED");
      expect(existsSync(lockOf(dir))).toBe(true);
      for (const f of [lockOf(dir), marker]) rmSync(f);
    }
    // A lock with one name (git's own, or another tool's) is waited for, as git does.
    writeFileSync(lockOf(dir), "");
    await expectCode(main.set("a", "2"), "LOCKED");
    rmSync(lockOf(dir));
    // Another boot id on a lock linked in this boot: a sandbox with its own boot id may be running.
    const marker = forgedLock(dir, tagWith({ pid: dead, boot: "00000000" }));
    await expectCode(main.set("a", "2"), "LOCKED");
    for (const f of [lockOf(dir), marker]) rmSync(f);
    // Gone: dead in this boot.
    forgedLock(dir, tagWith({ pid: dead }));
    await main.set("a", "3");
    expect(await main.get("a")).toBe("3");
    expect(existsSync(lockOf(dir))).toBe(false);
    expect(spareNames(dir).filter((n) => !n.startsWith(`${ownTag()}-`))).toEqual([]);
  });

  it("that cannot be removed (the file system refuses) is LOCKED, saying why, and judged no more", async () => {
    const dir = join(scratch(), "repo.git");
    const repo = await open(dir, 1500);
    const main = repo.branch("main");
    await main.set("a", "1");
    const dead = await deadPid();
    forgedLock(dir, tagWith({ pid: dead }));
    const restore = replaceFs("renameSync", (original) => ((from: string, to: string) => {
      if (from.includes("irmin-journal") && from.endsWith("0123abcd.tmp")) throw Object.assign(new Error("EACCES: simulated"), { code: "EACCES" });
      return original(from, to);
    }) as typeof original);
    cleanups.push(restore);
    await expect(main.set("a", "2")).rejects.toMatchObject({ code: "LOCKED", message: expect.stringMatching(/owner is gone, but claiming it failed: EACCES/) });
    restore();
    // The same when removing the lock itself fails: the claim goes back to the dead owner's name.
    const refuse = replaceFs("unlinkSync", (original) => ((path: string) => {
      if (path.endsWith("main.lock")) throw Object.assign(new Error("EPERM: simulated"), { code: "EPERM" });
      return original(path);
    }) as typeof original);
    cleanups.push(refuse);
    await expect(main.set("a", "2")).rejects.toMatchObject({ code: "LOCKED", message: expect.stringMatching(/owner is gone, but removing it failed: EPERM/) });
    refuse();
    expect(existsSync(join(dir, "irmin-journal", `${tagWith({ pid: dead })}-0123abcd.tmp`))).toBe(true);
    // Once the file system allows it, the next writer removes it.
    await main.set("a", "2");
    expect(await main.get("a")).toBe("2");
  });

  it("removed by two writers at once: one removes it, both updates land", async () => {
    const dir = join(scratch(), "repo.git");
    const [one, two] = [await open(dir), await open(dir)];
    await one.branch("main").set("a", "0");
    forgedLock(dir, tagWith({ pid: await deadPid() }));
    await Promise.all([one.branch("main").set("x", "1"), two.branch("main").set("y", "2")]);
    const main = (await open(dir)).branch("main");
    expect([await main.get("a"), await main.get("x"), await main.get("y")]).toEqual(["0", "1", "2"]);
    expect(existsSync(lockOf(dir))).toBe(false);
  });

  it("writers killed at random moments of their commits: each time the next writer goes on, with every acknowledged write", async () => {
    const dir = join(scratch(), "repo.git");
    const script = join(scratch(), "loop.mts");
    writeFileSync(
      script,
      `
import { Repo } from ${JSON.stringify(join(ROOT, "src/store/repo.ts"))};
const [dir, run] = process.argv.slice(2);
const repo = await Repo.open({ path: dir });
const main = repo.branch("main");
for (let i = 0; i < 5000; i++) {
  await main.set("k/" + run + "/" + i, "v" + i);
  console.log((await main.head()).hash);
}
`,
    );
    let seed = 7;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let run = 0; run < 6; run++) {
      const child = spawn(process.execPath, ["--import", "tsx", script, dir, String(run)], { cwd: ROOT, env: { ...process.env, ...GIT_ENV }, stdio: ["ignore", "pipe", "pipe"] });
      const exited = new Promise<void>((ok) => child.on("exit", () => ok()));
      let out = "";
      // Killed a few commits in, at a moment that differs from run to run.
      await new Promise<void>((ok) => {
        child.stdout.on("data", (d: Buffer) => (out += d.toString()).split("\n").length > 3 && ok());
        child.on("exit", () => ok());
      });
      await new Promise((ok) => setTimeout(ok, random() * 20));
      child.kill("SIGKILL");
      await exited;
      const acknowledged = out.split("\n").filter((l) => /^[0-9a-f]{40}$/.test(l));
      const last = acknowledged[acknowledged.length - 1];
      const repo = await Repo.open({ path: dir });
      const main = repo.branch("main");
      const head = (await main.head())!;
      // The last acknowledged commit, or the one after it (made, not yet acknowledged).
      expect(head.hash === last || head.parents[0] === last).toBe(true);
      for (let i = 0; i < acknowledged.length; i++) expect(await main.get(`k/${run}/${i}`)).toBe(`v${i}`);
      await main.set(`after/${run}`, "next writer");
      await repo.close();
    }
    expect(readdirSync(join(dir, "refs", "heads")).filter((n) => n.endsWith(".lock"))).toEqual([]);
    git(dir, ["--git-dir", dir, "fsck", "--strict"]);
  });
});
