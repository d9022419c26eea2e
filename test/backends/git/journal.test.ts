import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { existsSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { gitBackend } from "../../../src/backends/git/git-backend.js";
import { Durability } from "../../../src/backends/git/durability.js";
import { currentOwner, decodeJournalRecords, encodeJournalRecord, judgeOwner, readJournal, type JournalRecord } from "../../../src/backends/git/journal-format.js";
import { Journal } from "../../../src/backends/git/journal.js";
import { ownTag } from "../../../src/backends/git/owner-tag.js";
import { changesByRef } from "../../../src/backends/git/journal-recovery.js";
import { Repo } from "../../../src/store/repo.js";
import { deadPid, git, gitText, sparesReady } from "./git-cli.js";
import { asIfRebooted, concat, journalsIn, replaceFs, scratchDirs } from "./journal-helpers.js";

const { scratch, cleanups } = scratchDirs();

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
    // A writer in another container of this machine (same host name, another pid namespace):
    // its process cannot be seen from here, so it is not judged dead.
    expect(self.ns).toMatch(/^\d+$/);
    expect(judgeOwner({ ...self, pid, start: "1", ns: `${self.ns}0` })).toBe("live");
    expect(judgeOwner({ ...self, ns: `${self.ns}0`, boot: "another-boot" })).toBe("rebooted");
    const { ns: _, ...unknown } = { ...self, pid, start: "1" };
    expect(judgeOwner(unknown)).toBe("dead");
    if (self.start !== "") expect(judgeOwner({ ...self, start: `${self.start}0` })).toBe("dead");
  });
});

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
    expect(readdirSync(jdir).filter((n) => !n.startsWith(`${ownTag()}-`))).toEqual([basename(path)]);
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

  it("a failed journal flush fails the update and wipes its record; the next update flushes what the journal covered in place and starts a new one", async () => {
    const dir = join(scratch(), "repo.git");
    const b = await gitBackend({ path: dir });
    const enc = new TextEncoder();
    const [x, y] = await Promise.all([b.objects.put("blob", enc.encode("x\n")), b.objects.put("blob", enc.encode("y\n"))]);
    await b.refs.set("refs/heads/main", x);
    let fail = true;
    let refuse = false;
    const restore = replaceFs(
      "fdatasync",
      (original) =>
        ((fd: number, cb: (e: Error | null) => void) => {
          if (refuse || (fail && readlinkSync(`/proc/self/fd/${fd}`).includes("irmin-journal"))) {
            fail = false;
            process.nextTick(() => cb(Object.assign(new Error("EIO: simulated"), { code: "EIO" })));
            return;
          }
          original(fd, cb);
        }) as typeof original,
    );
    cleanups.push(restore);
    const [path] = journalsIn(dir);
    await expect(b.refs.set("refs/heads/main", y)).rejects.toMatchObject({ code: "IO" });
    expect(await b.refs.get("refs/heads/main")).toBe(x);
    expect(readJournal(path)!.records.filter((r) => r.ref !== undefined).map((r) => r.ref!.after)).toEqual([x]);
    // While the device refuses flushes, updates fail: nothing can be known durable.
    refuse = true;
    await expect(b.refs.set("refs/heads/other", x)).rejects.toMatchObject({ code: "IO" });
    expect(existsSync(path)).toBe(true);
    // Once it flushes again: the old journal is gone, the update lands, recorded in a new one.
    refuse = false;
    await b.refs.set("refs/heads/other", x);
    expect(await b.refs.get("refs/heads/other")).toBe(x);
    expect(existsSync(path)).toBe(false);
    const [next] = journalsIn(dir);
    expect(readJournal(next)!.records.map((r) => r.ref?.name)).toEqual(["refs/heads/other"]);
    await b.refs.set("refs/heads/main", y);
    await b.close();
    expect(journalsIn(dir)).toEqual([]);
    expect(gitText(dir, ["--git-dir", dir, "rev-parse", "main", "other"]).split("\n")).toEqual([y, x]);
  });

  it("a journal deleted while open (someone removed irmin-journal/) is noticed at the next update: what it covered is flushed in place, and a new one records the update", async () => {
    const dir = join(scratch(), "repo.git");
    const repo = await Repo.open({ path: dir });
    const main = repo.branch("main");
    await main.set("a", "1");
    const [old] = journalsIn(dir);
    rmSync(join(dir, "irmin-journal"), { recursive: true });
    await main.set("b", "2");
    const [next] = journalsIn(dir);
    expect(next).toBeDefined();
    expect(next).not.toBe(old);
    // The update after the deletion is in a journal on disk: it survives a power cut.
    expect(readJournal(next)!.records.map((r) => r.ref?.after).filter(Boolean)).toEqual([(await main.head())!.hash]);
    await main.set("c", "3");
    await repo.close();
    expect(journalsIn(dir)).toEqual([]);
    git(dir, ["--git-dir", dir, "fsck", "--strict"]);
    expect(gitText(dir, ["--git-dir", dir, "cat-file", "-p", "main:c"])).toBe("3");
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
