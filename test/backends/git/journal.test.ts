import { afterEach, describe, expect, it } from "vitest";
import fc from "fast-check";
import { chmodSync, cpSync, existsSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, statSync, truncateSync, unlinkSync, writeFileSync } from "node:fs";
import { createRequire, syncBuiltinESMExports } from "node:module";
import { basename, join, resolve } from "node:path";
import { gitBackend } from "../../../src/backends/git/git-backend.js";
import { Durability } from "../../../src/backends/git/durability.js";
import { currentOwner, decodeJournalRecords, encodeJournalRecord, judgeOwner, readJournal, type JournalRecord } from "../../../src/backends/git/journal-format.js";
import { Journal } from "../../../src/backends/git/journal.js";
import { changesByRef } from "../../../src/backends/git/journal-recovery.js";
import { Repo } from "../../../src/store/repo.js";
import { deadPid, git, gitText, runUntilKilled, sparesReady, tempDir } from "./git-cli.js";

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const ROOT = resolve(import.meta.dirname, "../../..");

function scratch(): string {
  const t = tempDir("irmin-journal-");
  cleanups.push(t.remove);
  return t.dir;
}

/** The journals of writers (not the free ones kept for reuse). */
const journalsIn = (gitDir: string): string[] => {
  const dir = join(gitDir, "irmin-journal");
  return existsSync(dir) ? readdirSync(dir).filter((n) => n.endsWith(".journal") && !n.startsWith("free-")).map((n) => join(dir, n)) : [];
};

const concat = (parts: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};

const hex = (n: number) => fc.stringMatching(new RegExp(`^[0-9a-f]{${n}}$`));
const recordArb: fc.Arbitrary<JournalRecord> = fc.record(
  {
    packs: fc.array(fc.record({ name: hex(40), pack: fc.uint8Array({ maxLength: 64 }), index: fc.uint8Array({ maxLength: 32 }) }), { maxLength: 3 }),
    ref: fc.record({
      name: fc.constantFrom("refs/heads/main", "refs/heads/é/x", "refs/tags/v1"),
      before: fc.option(hex(40), { nil: undefined }),
      after: fc.option(hex(40), { nil: undefined }),
    }),
  },
  { requiredKeys: ["packs"] },
);

describe("journal records", () => {
  it("decode what was encoded, and stop at a cut, a damaged record or another generation", () => {
    fc.assert(
      fc.property(fc.array(recordArb, { minLength: 1, maxLength: 5 }), fc.nat(), fc.nat(), (records, cutSeed, flipSeed) => {
        const encoded = records.map((r) => encodeJournalRecord(r, 7));
        const body = concat([...encoded, new Uint8Array(40)]);
        const normalize = (rs: readonly JournalRecord[]) => rs.map((r) => ({ packs: r.packs.map((p) => ({ ...p, pack: [...p.pack], index: [...p.index] })), ref: r.ref }));
        expect(normalize(decodeJournalRecords(body, 7))).toEqual(normalize(records));
        // Another generation: nothing counts.
        expect(decodeJournalRecords(body, 8)).toEqual([]);
        // A cut anywhere keeps exactly the whole records before it.
        const cut = cutSeed % (body.length - 40);
        let whole = 0;
        for (let at = 0; whole < encoded.length && at + encoded[whole].length <= cut; at += encoded[whole++].length);
        expect(decodeJournalRecords(body.subarray(0, cut), 7)).toHaveLength(whole);
        // A flipped bit stops the decoding at the record holding it.
        const damaged = body.slice();
        const bit = flipSeed % ((body.length - 40) * 8);
        damaged[bit >> 3] ^= 1 << (bit & 7);
        let holder = 0;
        for (let at = encoded[0].length; at <= bit >> 3; at += encoded[++holder].length);
        expect(decodeJournalRecords(damaged, 7).length).toBe(holder);
      }),
      { numRuns: 200 },
    );
  });

  it("order each ref's changes across journals by their chain, whatever the clocks say", () => {
    const [x, y, z, w] = ["1", "2", "3", "4"].map((c) => c.repeat(40));
    const change = (before: string | undefined, after: string, time: number): JournalRecord => ({ packs: [], ref: { name: "refs/heads/main", before, after }, time });
    const order = (journals: JournalRecord[][]) => changesByRef(journals).get("refs/heads/main")!.map((c) => `${c.before?.[0] ?? "-"}${c.after![0]}`);
    // Equal times, the later writer's journal listed first.
    expect(order([[change(y, z, 5)], [change(x, y, 5)]])).toEqual(["12", "23"]);
    // A clock that stepped back between the two writers.
    expect(order([[change(y, z, 5)], [change(x, y, 10)]])).toEqual(["12", "23"]);
    // X, Y, X again in one journal, then W from another writer: kept in order.
    expect(order([[change(undefined, x, 1), change(x, y, 2), change(y, x, 3)], [change(x, w, 4)]])).toEqual(["-1", "12", "21", "14"]);
    // Cycles across two writers: X→Y (A), Y→X (B), X→Z (A), whatever B's clock says or the listing order.
    expect(order([[change(x, y, 10), change(x, z, 30)], [change(y, x, 5)]])).toEqual(["12", "21", "13"]);
    expect(order([[change(y, x, 5)], [change(x, y, 5), change(x, z, 5)]])).toEqual(["12", "21", "13"]);
    // The same with a deletion: created at X (A), deleted (B), created at Z (A).
    const del = (before: string, time: number): JournalRecord => ({ packs: [], ref: { name: "refs/heads/main", before, after: undefined }, time });
    expect(
      changesByRef([[change(undefined, x, 1), change(undefined, z, 3)], [del(x, 0)]])
        .get("refs/heads/main")!
        .map((c) => `${c.before?.[0] ?? "-"}${c.after?.[0] ?? "-"}`),
    ).toEqual(["-1", "1-", "-3"]);
    // An aborted change is left out.
    expect(order([[change(x, y, 1), { ...change(x, y, 2), abort: true }, change(x, z, 3)]])).toEqual(["13"]);
  });

  it("tell a live owner from a dead one, another boot and another host", async () => {
    const self = currentOwner();
    expect(judgeOwner(self)).toBe("live");
    expect(judgeOwner({ ...self, host: `${self.host}-elsewhere` })).toBe("foreign");
    expect(judgeOwner({ ...self, boot: "another-boot" })).toBe("rebooted");
    const pid = await deadPid();
    expect(judgeOwner({ ...self, pid, start: "1" })).toBe("dead");
    if (self.start !== "") expect(judgeOwner({ ...self, start: `${self.start}0` })).toBe("dead");
  });
});

/** Rewrites a journal's owner as if the machine had restarted since it was written. */
function asIfRebooted(path: string): void {
  const bytes = readFileSync(path);
  const first = bytes.indexOf(10);
  const second = bytes.indexOf(10, first + 1);
  const owner = JSON.parse(bytes.subarray(first + 1, second).toString("utf8"));
  // The owner field has a fixed size: padded with spaces.
  const line = Buffer.from(`${JSON.stringify({ ...owner, boot: "before-the-restart" }).padEnd(second - first - 1)}\n`);
  writeFileSync(path, Buffer.concat([bytes.subarray(0, first + 1), line, bytes.subarray(second + 1)]));
}

/** A copy of the repository as a power cut with nothing lost would leave it, the machine restarted since. */
function powerCutCopy(gitDir: string): string {
  const copy = join(scratch(), "copy.git");
  cpSync(gitDir, copy, { recursive: true });
  for (const j of journalsIn(copy)) asIfRebooted(j);
  return copy;
}

/** Runs `n` commits on `main` in a child process that is then killed; resolves to the acknowledged commit ids. */
async function commitsThenKill(gitDir: string, n: number): Promise<string[]> {
  const worker = join(gitDir, "..", "worker.mts");
  writeFileSync(
    worker,
    `
import { Repo } from ${JSON.stringify(join(ROOT, "src/store/repo.ts"))};
const repo = await Repo.open({ path: process.argv[2] });
const main = repo.branch("main");
for (let i = 0; i < ${n}; i++) {
  await main.set("k/" + i, "value " + i);
  console.log((await main.head()).hash);
}
process.kill(process.pid, "SIGKILL");
`,
  );
  const out = await runUntilKilled(ROOT, worker, [gitDir]);
  return out.trim().split("\n");
}

async function readAll(gitDir: string, n: number): Promise<(string | undefined)[]> {
  const repo = await Repo.open({ path: gitDir });
  try {
    const main = repo.branch("main");
    return await Promise.all(Array.from({ length: n }, (_, i) => main.get(`k/${i}`)));
  } finally {
    await repo.close();
  }
}

describe("git backend journal", () => {
  it("a commit is recorded in the journal (its pack and its ref change) and is visible to git at once; close empties and removes it", async () => {
    const dir = join(scratch(), "repo.git");
    const repo = await Repo.open({ path: dir });
    const main = repo.branch("main");
    await main.set("a/b", "one");
    await main.set("a/c", "two");
    const head = (await main.head())!.hash;
    expect(gitText(dir, ["--git-dir", dir, "rev-parse", "main"])).toBe(head);
    expect(gitText(dir, ["--git-dir", dir, "cat-file", "-p", "main:a/c"])).toBe("two");
    const [path] = journalsIn(dir);
    const journal = readJournal(path)!;
    expect(journal.owner!.pid).toBe(process.pid);
    const changes = journal.records.filter((r) => r.ref !== undefined).map((r) => r.ref);
    expect(changes).toEqual([
      { name: "refs/heads/main", before: undefined, after: expect.any(String) },
      { name: "refs/heads/main", before: changes[0]!.after, after: head },
    ]);
    // The pack of each commit is recorded (before its ref change), exactly as written in objects/pack.
    const packs = journal.records.flatMap((r) => r.packs);
    expect(packs).toHaveLength(2);
    for (const p of packs) {
      const file = join(dir, "objects", "pack", `pack-${p.name}.pack`);
      expect(Buffer.from(readFileSync(file)).equals(p.pack)).toBe(true);
    }
    git(dir, ["--git-dir", dir, "fsck", "--strict"]);
    await repo.close();
    expect(journalsIn(dir)).toEqual([]);
  });

  it("after a restart, the next open restores lost packs and a ref rolled back or left empty by the power cut", async () => {
    for (const loss of ["ref rolled back, packs gone", "ref file empty, packs empty"] as const) {
      const dir = join(scratch(), "repo.git");
      // A commit from before, durable: the first recorded change moves main from it.
      const before = await Repo.open({ path: dir });
      await before.branch("main").set("base", "from before");
      const base = (await before.branch("main").head())!.hash;
      await before.close();
      const acknowledged = await commitsThenKill(dir, 4);
      expect(acknowledged).toHaveLength(4);
      const [path] = journalsIn(dir);
      const { records } = readJournal(path)!;
      const changes = records.filter((r) => r.ref !== undefined).map((r) => r.ref!);
      expect(changes.map((c) => c.after)).toEqual(acknowledged);
      expect(changes[0].before).toBe(base);
      // What a power cut may leave of files written but never flushed.
      for (const r of records) {
        for (const p of r.packs) {
          for (const f of [`pack-${p.name}.pack`, `pack-${p.name}.idx`]) {
            if (loss === "ref rolled back, packs gone") unlinkSync(join(dir, "objects", "pack", f));
            else truncateSync(join(dir, "objects", "pack", f), 0);
          }
        }
      }
      if (loss === "ref rolled back, packs gone") writeFileSync(join(dir, "refs/heads/main"), `${acknowledged[1]}\n`);
      else writeFileSync(join(dir, "refs/heads/main"), "");
      asIfRebooted(path);
      const b = await gitBackend({ path: dir });
      expect(await b.refs.get("refs/heads/main")).toBe(acknowledged[3]);
      await b.close();
      expect(journalsIn(dir)).toEqual([]);
      expect(await readAll(dir, 4)).toEqual(["value 0", "value 1", "value 2", "value 3"]);
      git(dir, ["--git-dir", dir, "fsck", "--strict"]);
    }
  });

  it("two writers in two processes on one branch, killed, then a restart that lost their packs and the branch: every acknowledged value comes back", async () => {
    const dir = join(scratch(), "repo.git");
    const base = await Repo.open({ path: dir });
    await base.branch("main").set("base", "0");
    await base.close();
    const worker = join(dir, "..", "writer.mts");
    writeFileSync(
      worker,
      `
import { existsSync, writeFileSync } from "node:fs";
import { Repo } from ${JSON.stringify(join(ROOT, "src/store/repo.ts"))};
const [path, id, other] = process.argv.slice(2);
// Both writers run at once: each waits for the other before writing, and before dying (bounded).
const meet = async (step: string) => {
  writeFileSync(path + "." + id + "." + step, "");
  for (let i = 0; i < 1000 && !existsSync(path + "." + other + "." + step); i++) await new Promise((r) => setTimeout(r, 10));
};
const repo = await Repo.open({ path });
const main = repo.branch("main");
await meet("ready");
for (let i = 0; i < 6; i++) {
  await main.set(id + "/" + i, "value " + i);
  console.log((await main.head()).hash);
  // In step: the two writers' changes to main interleave.
  await meet("step" + i);
}
process.kill(process.pid, "SIGKILL");
`,
    );
    const [a, b] = await Promise.all([runUntilKilled(ROOT, worker, [dir, "a", "b"]), runUntilKilled(ROOT, worker, [dir, "b", "a"])]);
    expect(a.trim().split("\n")).toHaveLength(6);
    expect(b.trim().split("\n")).toHaveLength(6);
    const journals = journalsIn(dir);
    expect(journals).toHaveLength(2);
    // The cut lost every pack the journals hold, and the branch file.
    for (const path of journals) {
      for (const r of readJournal(path)!.records) {
        for (const p of r.packs) for (const ext of ["pack", "idx"]) rmSync(join(dir, "objects", "pack", `pack-${p.name}.${ext}`), { force: true });
      }
      asIfRebooted(path);
    }
    writeFileSync(join(dir, "refs/heads/main"), "");
    const repo = await Repo.open({ path: dir });
    const main = repo.branch("main");
    for (const id of ["a", "b"]) {
      for (let i = 0; i < 6; i++) expect(await main.get(`${id}/${i}`)).toBe(`value ${i}`);
    }
    expect(await main.get("base")).toBe("0");
    await repo.close();
    git(dir, ["--git-dir", dir, "fsck", "--strict"]);
    expect(journalsIn(dir)).toEqual([]);
  });

  it("a replay leaves a ref someone else moved, and ignores a record cut short", async () => {
    const dir = join(scratch(), "repo.git");
    const acknowledged = await commitsThenKill(dir, 3);
    const [path] = journalsIn(dir);
    // A record cut short by the crash: never acknowledged, never replayed.
    const { records } = readJournal(path)!;
    const last = encodeJournalRecord({ packs: [], ref: { name: "refs/heads/other", before: undefined, after: acknowledged[0] } }, 1);
    const bytes = readFileSync(path);
    const header = bytes.indexOf(10, bytes.indexOf(10) + 1) + 10;
    const end = header + records.reduce((n, r) => n + encodeJournalRecord(r, 1).length, 0);
    writeFileSync(path, Buffer.concat([bytes.subarray(0, end), last.subarray(0, last.length - 3)]));
    expect(readJournal(path)!.records).toHaveLength(records.length);
    // Another writer moved main after the crash: the replay must not move it back.
    git(dir, ["--git-dir", dir, "update-ref", "refs/heads/main", acknowledged[0]]);
    git(dir, ["--git-dir", dir, "update-ref", "refs/heads/side", acknowledged[2]]);
    const moved = gitText(dir, ["--git-dir", dir, "commit-tree", "-p", acknowledged[2], "-m", "elsewhere", `${acknowledged[2]}^{tree}`]);
    git(dir, ["--git-dir", dir, "update-ref", "refs/heads/main", moved]);
    asIfRebooted(path);
    const b = await gitBackend({ path: dir });
    expect(await b.refs.get("refs/heads/main")).toBe(moved);
    expect(await b.refs.get("refs/heads/other")).toBeUndefined();
    await b.close();
    expect(journalsIn(dir)).toEqual([]);
  });

  it("with no restart, a dead writer's journal is deleted unplayed: a rollback made with git after it died stays", async () => {
    const dir = join(scratch(), "repo.git");
    const acknowledged = await commitsThenKill(dir, 3);
    expect(journalsIn(dir)).toHaveLength(1);
    git(dir, ["--git-dir", dir, "update-ref", "refs/heads/main", acknowledged[0]]);
    const b = await gitBackend({ path: dir });
    expect(await b.refs.get("refs/heads/main")).toBe(acknowledged[0]);
    await b.close();
    expect(journalsIn(dir)).toEqual([]);
  });

  it("a live writer's journal is left alone by another backend opening the repository", async () => {
    const dir = join(scratch(), "repo.git");
    const writer = await Repo.open({ path: dir });
    await writer.branch("main").set("x", "1");
    const [path] = journalsIn(dir);
    const other = await gitBackend({ path: dir });
    expect(journalsIn(dir)).toEqual([path]);
    await other.close();
    await writer.branch("main").set("x", "2");
    expect(readJournal(path)!.records.filter((r) => r.ref !== undefined)).toHaveLength(2);
    await writer.close();
    expect(journalsIn(dir)).toEqual([]);
  });

  it("a roll-up leaves the packs it replaced on disk until the checkpoint, unread here; then they go, and git agrees", async () => {
    const dir = join(scratch(), "repo.git");
    const b = await gitBackend({ path: dir, maxPacks: 4 });
    const packs = () => readdirSync(join(dir, "objects", "pack")).filter((f) => f.endsWith(".pack"));
    const ids: string[] = [];
    for (let round = 0; round < 6; round++) {
      ids.push(...(await b.objects.putMany([0, 1, 2].map((i) => ({ type: "blob" as const, data: new TextEncoder().encode(`round ${round} blob ${i}\n`) })))));
    }
    // Five small packs went above maxPacks = 4 and were rolled up; the old ones are still on disk.
    expect(packs().length).toBeGreaterThan(5);
    // This process reads the new pack only, even after a rescan (a lookup that misses).
    const internals = b as unknown as { packs: { packNames(): string[]; rescan(): Promise<boolean> } };
    await internals.packs.rescan();
    expect(internals.packs.packNames().length).toBeLessThanOrEqual(5);
    // Another reader meanwhile sees every object (in the old packs or the new one).
    const other = await gitBackend({ path: dir, fsync: false });
    for (const h of ids) expect((await other.objects.get(h))?.type).toBe("blob");
    await other.close();
    for (const h of ids) git(dir, ["--git-dir", dir, "cat-file", "-e", h]);
    await b.close();
    expect(packs().length).toBeLessThanOrEqual(5);
    for (const h of ids) git(dir, ["--git-dir", dir, "cat-file", "-e", h]);
    const again = await gitBackend({ path: dir });
    for (const h of ids) expect((await again.objects.get(h))?.type).toBe("blob");
    await again.close();
  });

  it("two first updates at once share a readable journal", async () => {
    const dir = join(scratch(), "repo.git");
    const b = await gitBackend({ path: dir });
    const enc = new TextEncoder();
    const [x, y] = await Promise.all([b.objects.put("blob", enc.encode("x\n")), b.objects.put("blob", enc.encode("y\n"))]);
    await Promise.all([b.refs.set("refs/heads/a", x), b.refs.set("refs/heads/b", y)]);
    const [path] = journalsIn(dir);
    expect(
      readJournal(path)!
        .records.map((r) => r.ref?.name)
        .sort(),
    ).toEqual(["refs/heads/a", "refs/heads/b"]);
    await b.close();
  });

  it("an update that fails after it was recorded is not replayed", async () => {
    const dir = join(scratch(), "repo.git");
    const b = await gitBackend({ path: dir, lockTimeoutMs: 50 });
    const enc = new TextEncoder();
    const h = await b.objects.put("blob", enc.encode("x\n"));
    await b.refs.set("refs/heads/x/y", h);
    await b.refs.set("refs/heads/keep", h);
    // Refused by git's rules once the ref is locked and read: INVALID_ARGUMENT.
    await expect(b.refs.set("refs/heads/x", h)).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    // packed-refs is locked by someone else (git gc): the deletion fails with LOCKED.
    writeFileSync(join(dir, "packed-refs.lock"), "");
    await expect(b.refs.remove("refs/heads/keep")).rejects.toMatchObject({ code: "LOCKED" });
    unlinkSync(join(dir, "packed-refs.lock"));
    const [path] = journalsIn(dir);
    expect(readJournal(path)!.records.filter((r) => r.abort === true).map((r) => r.ref?.name)).toEqual(["refs/heads/x", "refs/heads/keep"]);
    // A restart with nothing lost: the failed updates stay failed, and the repository opens.
    asIfRebooted(path);
    const again = await gitBackend({ path: dir });
    expect(await again.refs.get("refs/heads/keep")).toBe(h);
    expect(await again.refs.get("refs/heads/x/y")).toBe(h);
    expect(await again.refs.get("refs/heads/x")).toBeUndefined();
    await again.close();
    await b.close();
  });

  it("journals of several writers are replayed in the order their changes were made", async () => {
    const dir = join(scratch(), "repo.git");
    const a = await Repo.open({ path: dir });
    await a.branch("main").set("k", "x");
    const b = await Repo.open({ path: dir });
    const x = (await a.branch("main").head())!.hash;
    await a.branch("main").set("k", "y");
    await new Promise((r) => setTimeout(r, 5));
    await b.branch("main").set("k", "z");
    const z = (await b.branch("main").head())!.hash;
    // Both die before a restart that loses main's last moves; b's journal is listed first.
    const paths = journalsIn(dir);
    const ofB = paths.find((p) => readJournal(p)!.records.some((r) => r.ref?.after === z))!;
    const ofA = paths.find((p) => p !== ofB)!;
    const copies = [join(dir, "irmin-journal", "0-b.journal"), join(dir, "irmin-journal", "1-a.journal")];
    writeFileSync(copies[0], readFileSync(ofB));
    writeFileSync(copies[1], readFileSync(ofA));
    copies.forEach(asIfRebooted);
    await a.close();
    await b.close();
    git(dir, ["--git-dir", dir, "update-ref", "refs/heads/main", x]);
    const c = await Repo.open({ path: dir });
    expect((await c.branch("main").head())!.hash).toBe(z);
    expect(await c.branch("main").get("k")).toBe("z");
    await c.close();
    expect(journalsIn(dir)).toEqual([]);
  });

  it("a replay does not follow a symbolic ref: a change to a detached HEAD does not move the branch HEAD was attached to since", async () => {
    const dir = join(scratch(), "repo.git");
    const b = await gitBackend({ path: dir });
    const enc = new TextEncoder();
    const [c1, c2] = await Promise.all([b.objects.put("blob", enc.encode("1\n")), b.objects.put("blob", enc.encode("2\n"))]);
    await b.refs.set("refs/heads/main", c1);
    // HEAD detached at c1 (blobs stand in for commits: git's update-ref would refuse them).
    writeFileSync(join(dir, "HEAD"), `${c1}\n`);
    await b.refs.set("HEAD", c2);
    writeFileSync(join(dir, "HEAD"), "ref: refs/heads/main\n");
    const [path] = journalsIn(dir);
    const copy = join(dir, "irmin-journal", "0-copy.journal");
    writeFileSync(copy, readFileSync(path));
    asIfRebooted(copy);
    await b.close();
    const again = await gitBackend({ path: dir });
    expect(await again.refs.get("refs/heads/main")).toBe(c1);
    await again.close();
  });

  it("a journal claimed by a recovery that died is replayed by the next one", async () => {
    const dir = join(scratch(), "repo.git");
    const acknowledged = await commitsThenKill(dir, 2);
    const [path] = journalsIn(dir);
    asIfRebooted(path);
    const dead = await deadPid();
    renameSync(path, `${path}.replaying-${dead}-0`);
    git(dir, ["--git-dir", dir, "update-ref", "refs/heads/main", acknowledged[0]]);
    const b = await gitBackend({ path: dir });
    expect(await b.refs.get("refs/heads/main")).toBe(acknowledged[1]);
    await b.close();
    expect(readdirSync(join(dir, "irmin-journal"))).toEqual([]);
  });

  it("updates racing a close either land before it or fail with CLOSED; nothing is left to flush", async () => {
    const dir = join(scratch(), "repo.git");
    const b = await gitBackend({ path: dir });
    const enc = new TextEncoder();
    const blobs = await Promise.all(Array.from({ length: 12 }, (_, i) => b.objects.put("blob", enc.encode(`${i}\n`))));
    const updates = blobs.map((h, i) => b.refs.set(`refs/heads/b${i}`, h));
    await new Promise((r) => setImmediate(r));
    await b.close();
    const results = await Promise.allSettled(updates);
    for (const r of results) if (r.status === "rejected") expect(r.reason).toMatchObject({ code: "CLOSED" });
    expect(journalsIn(dir)).toEqual([]);
    const durability = (b as unknown as { durability: { pending: boolean; coveredFiles: Set<string> } }).durability;
    expect(durability.pending).toBe(false);
    expect(durability.coveredFiles.size).toBe(0);
    const again = await gitBackend({ path: dir, fsync: false });
    for (const [i, r] of results.entries()) expect(await again.refs.get(`refs/heads/b${i}`)).toBe(r.status === "fulfilled" ? blobs[i] : undefined);
    await again.close();
  });

  it("a closed backend leaves its journal free; the next one takes it over, and only its own records count there", async () => {
    const dir = join(scratch(), "repo.git");
    const jdir = join(dir, "irmin-journal");
    const first = await Repo.open({ path: dir });
    for (let i = 0; i < 3; i++) await first.branch("main").set(`k/${i}`, "first");
    await first.close();
    const free = readdirSync(jdir);
    expect(free).toEqual([expect.stringMatching(/^free-[0-9a-f]+\.journal$/)]);
    expect(readJournal(join(jdir, free[0]))).toEqual({ owner: undefined, records: [] });
    const inode = statSync(join(jdir, free[0])).ino;
    const second = await Repo.open({ path: dir });
    await second.branch("main").set("k/3", "second");
    const [path] = journalsIn(dir);
    // Beside it while open: at most the spare file of the next ref lock (see spare-files.ts).
    expect(readdirSync(jdir).filter((n) => !new RegExp(`^${process.pid}-[0-9a-f]+\\.tmp$`).test(n))).toEqual([basename(path)]);
    expect(statSync(path).ino).toBe(inode);
    const { owner, records } = readJournal(path)!;
    expect(owner!.pid).toBe(process.pid);
    expect(records.filter((r) => r.ref !== undefined).map((r) => r.ref!.after)).toEqual([(await second.branch("main").head())!.hash]);
    await second.close();
    // A free header under a writer's name: being taken by a live writer (left), or a rename a crash undid (removed).
    const dead = await deadPid();
    const [again] = readdirSync(jdir);
    writeFileSync(join(jdir, `${process.pid}-aa.journal`), readFileSync(join(jdir, again)));
    writeFileSync(join(jdir, `${dead}-bb.journal`), readFileSync(join(jdir, again)));
    await (await gitBackend({ path: dir })).close();
    expect(readdirSync(jdir).sort()).toEqual([`${process.pid}-aa.journal`, again].sort());
  });

  it("a replay starts after the change the ref already shows: X, Y, X again, with only the move to Y on disk, ends at X", async () => {
    const dir = join(scratch(), "repo.git");
    const b = await gitBackend({ path: dir });
    const enc = new TextEncoder();
    const [x, y] = await Promise.all([b.objects.put("blob", enc.encode("x\n")), b.objects.put("blob", enc.encode("y\n"))]);
    await b.refs.set("refs/heads/main", x);
    await b.refs.set("refs/heads/main", y);
    await b.refs.set("refs/heads/main", x);
    const copy = powerCutCopy(dir);
    writeFileSync(join(copy, "refs/heads/main"), `${y}\n`);
    await b.close();
    const c = await gitBackend({ path: copy });
    expect(await c.refs.get("refs/heads/main")).toBe(x);
    await c.close();
  });

  it("a replay that cannot take a ref's lock fails the open and keeps the journal for the next one", async () => {
    const dir = join(scratch(), "repo.git");
    const acknowledged = await commitsThenKill(dir, 2);
    const [path] = journalsIn(dir);
    asIfRebooted(path);
    writeFileSync(join(dir, "refs/heads/main"), `${acknowledged[0]}\n`);
    // A lock of this boot: someone may hold it.
    writeFileSync(join(dir, "refs/heads/main.lock"), "");
    await expect(gitBackend({ path: dir, lockTimeoutMs: 50 })).rejects.toMatchObject({ code: "LOCKED" });
    expect(journalsIn(dir)).toEqual([path]);
    unlinkSync(join(dir, "refs/heads/main.lock"));
    const b = await gitBackend({ path: dir });
    expect(await b.refs.get("refs/heads/main")).toBe(acknowledged[1]);
    await b.close();
  });

  it("two opens at once after a restart both see the replayed state", async () => {
    const dir = join(scratch(), "repo.git");
    const acknowledged = await commitsThenKill(dir, 2);
    asIfRebooted(journalsIn(dir)[0]);
    writeFileSync(join(dir, "refs/heads/main"), `${acknowledged[0]}\n`);
    const [a, b] = await Promise.all([gitBackend({ path: dir }), gitBackend({ path: dir })]);
    expect(await a.refs.get("refs/heads/main")).toBe(acknowledged[1]);
    expect(await b.refs.get("refs/heads/main")).toBe(acknowledged[1]);
    await a.close();
    await b.close();
  });

  it("a roll-up the cut damaged is dropped at the replay: its sources are still there", async () => {
    const dir = join(scratch(), "repo.git");
    const acknowledged = await commitsThenKill(dir, 24);
    const [path] = journalsIn(dir);
    const recorded = new Set(readJournal(path)!.records.flatMap((r) => r.packs.map((p) => p.name)));
    const packDir = join(dir, "objects", "pack");
    const rollUps = readdirSync(packDir).filter((f) => f.endsWith(".pack") && !recorded.has(f.slice(5, -5)));
    expect(rollUps.length).toBeGreaterThan(0);
    // Its index made it to disk, its bytes did not.
    for (const f of rollUps) {
      const file = join(packDir, f);
      const bytes = readFileSync(file);
      chmodSync(file, 0o644);
      writeFileSync(file, Buffer.concat([bytes.subarray(0, 12), Buffer.alloc(bytes.length - 12)]));
    }
    asIfRebooted(path);
    expect(await readAll(dir, 24)).toEqual(Array.from({ length: 24 }, (_, i) => `value ${i}`));
    for (const f of rollUps) expect(existsSync(join(packDir, f))).toBe(false);
    expect(gitText(dir, ["--git-dir", dir, "rev-parse", "main"])).toBe(acknowledged[23]);
    git(dir, ["--git-dir", dir, "fsck", "--strict"]);
  });

  it("a replay keeps packs written since the journal began that are intact, or kept by a .keep file", async () => {
    const dir = join(scratch(), "repo.git");
    const acknowledged = await commitsThenKill(dir, 3);
    const [path] = journalsIn(dir);
    // git packs everything into one flushed pack (and deletes the journal's small packs).
    git(dir, ["--git-dir", dir, "repack", "-a", "-d", "-q"]);
    const packDir = join(dir, "objects", "pack");
    const [gitPack] = readdirSync(packDir).filter((f) => f.endsWith(".pack"));
    // And a damaged pack someone marked to keep.
    const kept = "f".repeat(40);
    writeFileSync(join(packDir, `pack-${kept}.pack`), "PACK damaged");
    writeFileSync(join(packDir, `pack-${kept}.idx`), Buffer.alloc(100));
    writeFileSync(join(packDir, `pack-${kept}.keep`), "");
    asIfRebooted(path);
    const b = await gitBackend({ path: dir });
    expect(await b.refs.get("refs/heads/main")).toBe(acknowledged[2]);
    await b.close();
    expect(existsSync(join(packDir, gitPack))).toBe(true);
    expect(existsSync(join(packDir, `pack-${kept}.pack`))).toBe(true);
    expect(await readAll(dir, 3)).toEqual(["value 0", "value 1", "value 2"]);
  });

  it("a spare pack file deleted by git (prune) is not used: the commit makes its own", async () => {
    const dir = join(scratch(), "repo.git");
    const repo = await Repo.open({ path: dir });
    const main = repo.branch("main");
    await main.set("a", "1");
    const packDir = join(dir, "objects", "pack");
    await sparesReady(repo.internals.backend);
    for (const f of readdirSync(packDir).filter((n) => n.startsWith("tmp_"))) unlinkSync(join(packDir, f));
    await main.set("b", "2");
    expect(await main.get("b")).toBe("2");
    git(dir, ["--git-dir", dir, "fsck", "--strict"]);
    await repo.close();
  });

  it("a free-named journal that has an owner (its take-over undone by a crash) is not reused", async () => {
    const dir = join(scratch(), "repo.git");
    const a = await Repo.open({ path: dir });
    await a.branch("main").set("x", "1");
    const [path] = journalsIn(dir);
    const elsewhere = join(dir, "irmin-journal", "free-0123456789ab.journal");
    const bytes = readFileSync(path);
    await a.close();
    writeFileSync(elsewhere, bytes);
    asIfRebooted(elsewhere);
    // Another host's: recovery leaves it, and no backend may take it over.
    const text = readFileSync(elsewhere, "latin1").replace(/"host":"(.)/, (_m, c: string) => `"host":"${c === "x" ? "y" : "x"}`);
    writeFileSync(elsewhere, Buffer.from(text, "latin1"));
    const before = readJournal(elsewhere)!;
    expect(before.owner!.host).not.toBe(currentOwner().host);
    const b = await Repo.open({ path: dir });
    await b.branch("main").set("x", "2");
    expect(readJournal(elsewhere)!.records).toHaveLength(before.records.length);
    await b.close();
  });

  it("a failed journal flush fails the update, wipes its record and refuses later updates", async () => {
    const dir = join(scratch(), "repo.git");
    const b = await gitBackend({ path: dir });
    const enc = new TextEncoder();
    const [x, y] = await Promise.all([b.objects.put("blob", enc.encode("x\n")), b.objects.put("blob", enc.encode("y\n"))]);
    await b.refs.set("refs/heads/main", x);
    const fs = createRequire(import.meta.url)("node:fs") as typeof import("node:fs");
    const original = fs.fdatasync;
    let fail = true;
    fs.fdatasync = ((fd: number, cb: (e: Error | null) => void) => {
      if (fail && readlinkSync(`/proc/self/fd/${fd}`).includes("irmin-journal")) {
        fail = false;
        process.nextTick(() => cb(Object.assign(new Error("EIO: simulated"), { code: "EIO" })));
        return;
      }
      original(fd, cb);
    }) as typeof fs.fdatasync;
    syncBuiltinESMExports();
    cleanups.push(() => {
      fs.fdatasync = original;
      syncBuiltinESMExports();
    });
    await expect(b.refs.set("refs/heads/main", y)).rejects.toMatchObject({ code: "IO" });
    await expect(b.refs.set("refs/heads/other", x)).rejects.toMatchObject({ code: "IO" });
    expect(await b.refs.get("refs/heads/main")).toBe(x);
    const [path] = journalsIn(dir);
    expect(readJournal(path)!.records.filter((r) => r.ref !== undefined).map((r) => r.ref!.after)).toEqual([x]);
    await b.close().catch(() => undefined);
  });

  it("a checkpoint waits for the ref update in progress, flushes what the journal covers and empties it; updates after it wait", async () => {
    const dir = scratch();
    const journal = new Journal(join(dir, "irmin-journal"));
    const d = new Durability(true, journal, 1);
    const file = join(dir, "pack-x.pack");
    writeFileSync(file, "pack");
    d.notePack({ name: "a".repeat(40), pack: new Uint8Array([1]), index: new Uint8Array([2]) }, [file], dir);
    const change = { name: "refs/heads/main", before: undefined, after: "b".repeat(40) };
    await d.beforeRefUpdate(change);
    expect(journal.length).toBeGreaterThan(0);
    let checkpointed = false;
    const checkpoint = d.checkpoint().then(() => (checkpointed = true));
    await new Promise((r) => setTimeout(r, 20));
    expect(checkpointed).toBe(false);
    // An update that starts now waits for the checkpoint, which waits for the first update.
    let second = false;
    const next = d.beforeRefUpdate({ ...change, before: change.after, after: "c".repeat(40) }).then(() => (second = true));
    await new Promise((r) => setTimeout(r, 20));
    expect(second).toBe(false);
    await d.afterRefUpdate(change, true, [file], dir);
    await checkpoint;
    await next;
    expect(second).toBe(true);
    const [path] = readdirSync(join(dir, "irmin-journal")).map((n) => join(dir, "irmin-journal", n));
    expect(readJournal(path)!.records.map((r) => r.ref?.after)).toEqual(["c".repeat(40)]);
    // The journal is past its (1-byte) threshold: the end of this update checkpoints again.
    await d.afterRefUpdate({ ...change, before: change.after, after: "c".repeat(40) }, true, [], dir);
    expect(journal.length).toBe(0);
    expect(readJournal(path)!.records).toEqual([]);
    await d.close();
    expect(existsSync(path)).toBe(false);
  });
});
