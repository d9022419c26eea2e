import { afterEach, describe, expect, it } from "vitest";
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gitBackend } from "../../../src/backends/git/git-backend.js";
import { Durability, type DurabilityJournal } from "../../../src/backends/git/durability.js";
import type { JournalRecord } from "../../../src/backends/git/journal-format.js";
import { readJournal } from "../../../src/backends/git/journal-format.js";
import { LockFile } from "../../../src/backends/git/lock-file.js";
import { SpareFiles } from "../../../src/backends/git/spare-files.js";
import { ownTag } from "../../../src/backends/git/owner-tag.js";
import { Repo } from "../../../src/store/repo.js";
import { deadPid, git, gitText, tempDir } from "./git-cli.js";

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function scratch(): string {
  const t = tempDir("irmin-spares-");
  cleanups.push(t.remove);
  return t.dir;
}

/** A spare pool in `dir` with its first file made. */
async function readyPool(dir: string): Promise<SpareFiles> {
  const spares = new SpareFiles(dir, `${process.pid}-`, 0o666, ".tmp");
  cleanups.push(() => spares.close());
  await spares.refill();
  return spares;
}

const files = (dir: string) => readdirSync(dir).sort();

describe("ref locks made from spare files", () => {
  it("are links to the spare: exclusive as git's lock, and the next spare is made", async () => {
    const dir = scratch();
    const spareDir = join(dir, "spares");
    mkdirSync(spareDir);
    const spares = await readyPool(spareDir);
    const [spareName] = files(spareDir);
    const spareInode = statSync(join(spareDir, spareName)).ino;
    const target = join(dir, "refs", "heads", "main");
    mkdirSync(join(dir, "refs", "heads"), { recursive: true });
    const lock = await LockFile.acquire(target, { timeoutMs: 1000, fsync: false, spares });
    expect(statSync(`${target}.lock`).ino).toBe(spareInode);
    // The spare keeps its name while the lock is held: it tells who holds it (see stale-locks.ts).
    expect(statSync(join(spareDir, spareName)).nlink).toBe(2);
    // A second taker (git, another process) finds the name taken.
    await expect(LockFile.acquire(target, { timeoutMs: 30, fsync: false, spares })).rejects.toMatchObject({ code: "LOCKED" });
    await lock.write("x\n");
    await lock.commit();
    expect(existsSync(`${target}.lock`)).toBe(false);
    expect(statSync(target).ino).toBe(spareInode);
    // The spare's own name is removed once the lock is released; a new one is made (the failed taker gave its spare back).
    await LockFile.settled();
    await spares.refill();
    const now = files(spareDir);
    expect(now).toHaveLength(1);
    expect(now[0]).not.toBe(spareName);
  });

  it("is made on the spot when none is ready, and kept through a missing ref directory: every lock names its owner", async () => {
    const dir = scratch();
    const spareDir = join(dir, "spares");
    mkdirSync(spareDir);
    const spares = new SpareFiles(spareDir, `${process.pid}-`, 0o666, ".tmp");
    cleanups.push(() => spares.close());
    // No refill yet (a process's first lock), and the branch's directory does not exist.
    const target = join(dir, "refs", "heads", "feature", "x");
    const lock = await LockFile.acquire(target, { timeoutMs: 1000, fsync: false, spares });
    expect(statSync(`${target}.lock`).nlink).toBe(2);
    await lock.release();
  });

  it("make a missing ref directory, as a created lock does", async () => {
    const dir = scratch();
    const spares = await readyPool(dir);
    const target = join(dir, "refs", "heads", "feature", "x");
    const lock = await LockFile.acquire(target, { timeoutMs: 1000, fsync: false, spares });
    await lock.write("y\n");
    await lock.commit();
    expect(statSync(target).size).toBe(2);
  });

  it("are created as git creates them where the file system refuses the link (another device): spares then stop", async (ctx) => {
    // /dev/shm is a tmpfs: a link from there into the scratch directory fails with EXDEV.
    if (!existsSync("/dev/shm") || statSync("/dev/shm").dev === statSync(scratch()).dev) return ctx.skip();
    const shm = join("/dev/shm", `irmin-spares-${process.pid}-${Date.now()}`);
    mkdirSync(shm);
    cleanups.push(() => rmSync(shm, { recursive: true, force: true }));
    const spares = await readyPool(shm);
    const target = join(scratch(), "main");
    const lock = await LockFile.acquire(target, { timeoutMs: 1000, fsync: false, spares });
    await lock.write("z\n");
    await lock.commit();
    expect(statSync(target).size).toBe(2);
    await spares.refill();
    expect(files(shm)).toEqual([]);
    expect(spares.take()).toBeUndefined();
  });

  it("of a repository wait in its journal directory, are deleted at close, and a dead process's are removed by the next open", async () => {
    const dir = join(scratch(), "repo.git");
    const repo = await Repo.open({ path: dir });
    const main = repo.branch("main");
    for (let i = 0; i < 3; i++) await main.set(`k/${i}`, `v${i}`);
    const jdir = join(dir, "irmin-journal");
    // The last lock's spare name is removed in the background once released.
    await LockFile.settled();
    expect(files(jdir).filter((n) => n.startsWith(`${ownTag()}-`)).length).toBeLessThanOrEqual(1);
    expect(existsSync(join(dir, "refs", "heads", "main.lock"))).toBe(false);
    expect(gitText(dir, ["--git-dir", dir, "cat-file", "-p", "main:k/2"])).toBe("v2");
    git(dir, ["--git-dir", dir, "fsck", "--strict"]);
    await repo.close();
    expect(files(jdir).filter((n) => n.endsWith(".tmp"))).toEqual([]);
    const left = join(jdir, `${await deadPid()}-0123456789ab.tmp`);
    writeFileSync(left, "");
    const b = await gitBackend({ path: dir });
    expect(existsSync(left)).toBe(false);
    await b.close();
  });
});

/** A journal that keeps what is appended (in memory). */
class MemoryJournal implements DurabilityJournal {
  readonly records: JournalRecord[] = [];
  readonly usable = true;
  get length(): number {
    return this.records.length;
  }
  async append(record: JournalRecord): Promise<void> {
    this.records.push(record);
  }
  async clear(): Promise<void> {
    this.records.length = 0;
  }
  async remove(): Promise<void> {
    this.records.length = 0;
  }
  async restart(): Promise<void> {}
}

const pack = (name: string) => ({ name: name.repeat(40), pack: new Uint8Array([1]), index: new Uint8Array([2]) });
const change = (after: string) => ({ name: "refs/heads/main", before: undefined, after: after.repeat(40) });
const settle = () => new Promise((r) => setTimeout(r, 10));

describe("a commit's journal record", () => {
  it("holds its pack and its ref change (one flush); the first pack of an empty journal is recorded at once", async () => {
    const journal = new MemoryJournal();
    const d = new Durability(true, journal);
    d.notePack(pack("a"), ["/x/a.pack", "/x/a.idx"], "/x");
    await settle();
    // Recorded alone: a recovery then checks every pack written after it.
    expect(journal.records).toEqual([{ packs: [pack("a")], ref: undefined, abort: undefined }]);
    await d.beforeRefUpdate(change("1"));
    await d.afterRefUpdate(change("1"), true, [], "/x/refs");
    d.notePack(pack("b"), ["/x/b.pack", "/x/b.idx"], "/x");
    await settle();
    expect(journal.records).toHaveLength(2);
    await d.beforeRefUpdate(change("2"));
    await d.afterRefUpdate(change("2"), true, [], "/x/refs");
    expect(journal.records).toHaveLength(3);
    expect(journal.records[2]).toEqual({ packs: [pack("b")], ref: change("2"), abort: undefined });
    // Objects written without a ref update wait for the next flush.
    d.notePack(pack("c"), ["/x/c.pack", "/x/c.idx"], "/x");
    await settle();
    expect(d.pending).toBe(true);
    expect(journal.records).toHaveLength(3);
    await d.flush();
    expect(journal.records[3]).toEqual({ packs: [pack("c")], ref: undefined, abort: undefined });
  });

  it("of a real commit, after the first, is one record in the journal file", async () => {
    const dir = join(scratch(), "repo.git");
    const repo = await Repo.open({ path: dir });
    const main = repo.branch("main");
    for (let i = 0; i < 4; i++) await main.set(`k/${i}`, `v${i}`);
    const jdir = join(dir, "irmin-journal");
    const [name] = readdirSync(jdir).filter((n) => n.endsWith(".journal"));
    const { records } = readJournal(join(jdir, name))!;
    // The first commit: its pack at once (the journal was empty), then its ref change.
    expect(records.map((r) => [r.packs.length, r.ref !== undefined])).toEqual([
      [1, false],
      [0, true],
      [1, true],
      [1, true],
      [1, true],
    ]);
    await repo.close();
  });
});
