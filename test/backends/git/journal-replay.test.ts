/** Journals after a crash: what the next open deletes, restores and replays (see `journal-recovery.ts`). */
import { describe, expect, it } from "vitest";
import { chmodSync, existsSync, readdirSync, readFileSync, renameSync, rmSync, statSync, truncateSync, unlinkSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gitBackend } from "../../../src/backends/git/git-backend.js";
import { encodeJournalRecord, readJournal } from "../../../src/backends/git/journal-format.js";
import { Repo } from "../../../src/store/repo.js";
import { deadPid, git, gitText, runUntilKilled } from "./git-cli.js";
import { agedRecords, asIfRebooted, commitsThenKill, journalsIn, lostUpdates, powerCutCopy, readAll, replaceFs, ROOT, scratchDirs } from "./journal-helpers.js";

const { scratch } = scratchDirs();

describe("git backend journal: recovery", () => {
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
      if (loss === "ref rolled back, packs gone") lostUpdates(join(dir, "refs/heads/main"), `${acknowledged[1]}\n`);
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

  it("after a restart, a ref that git moved after the last record (beyond the clock slack) stays, even back to a value the records start from", async () => {
    const dir = join(scratch(), "repo.git");
    const acknowledged = await commitsThenKill(dir, 3);
    const [path] = journalsIn(dir);
    // A rollback made with git after the writer died (two minutes later: beyond the clock
    // slack), then a power cut and a restart.
    git(dir, ["--git-dir", dir, "update-ref", "refs/heads/main", acknowledged[0]]);
    const later = new Date(Date.now() + 120_000);
    utimesSync(join(dir, "refs/heads/main"), later, later);
    asIfRebooted(path);
    const b = await gitBackend({ path: dir });
    expect(await b.refs.get("refs/heads/main")).toBe(acknowledged[0]);
    await b.close();
    expect(journalsIn(dir)).toEqual([]);
    // Within the clock slack of the last record, a rollback cannot be told from a file whose
    // clock runs ahead: replayed over, so that no acknowledged update is lost.
    const soon = join(scratch(), "soon.git");
    const quick = await commitsThenKill(soon, 3);
    git(soon, ["--git-dir", soon, "update-ref", "refs/heads/main", quick[0]]);
    asIfRebooted(journalsIn(soon)[0]);
    const s = await gitBackend({ path: soon });
    expect(await s.refs.get("refs/heads/main")).toBe(quick[2]);
    await s.close();
    // The same ref file written before the records (the cut lost the later updates): replayed.
    const again = join(scratch(), "again.git");
    const replayed = await commitsThenKill(again, 3);
    lostUpdates(join(again, "refs/heads/main"), `${replayed[0]}\n`);
    asIfRebooted(journalsIn(again)[0]);
    const c = await gitBackend({ path: again });
    expect(await c.refs.get("refs/heads/main")).toBe(replayed[2]);
    await c.close();
  });

  it("a replay that fails half-way through a ref's changes leaves its file dated as recorded: the next open goes on", async () => {
    const dir = join(scratch(), "repo.git");
    const acknowledged = await commitsThenKill(dir, 3);
    const [path] = journalsIn(dir);
    // Recorded an hour ago, then the cut lost the last two moves of main.
    agedRecords(path, 3_600_000);
    lostUpdates(join(dir, "refs/heads/main"), `${acknowledged[0]}\n`);
    asIfRebooted(path);
    // The replay's second rename of main fails (a full disk, say): the open fails half-way.
    let renames = 0;
    const restore = replaceFs(
      "renameSync",
      (original) =>
        ((from: string, to: string) => {
          if (String(from).endsWith("refs/heads/main.lock") && ++renames === 2) throw Object.assign(new Error("EIO: simulated"), { code: "EIO" });
          original(from, to);
        }) as typeof original,
    );
    try {
      await expect(gitBackend({ path: dir })).rejects.toMatchObject({ code: "IO" });
    } finally {
      restore();
    }
    expect(readFileSync(join(dir, "refs/heads/main"), "utf8").trim()).toBe(acknowledged[1]);
    // Dated as its record (an hour ago), not as the replay: not taken for a move by someone else.
    expect(statSync(join(dir, "refs/heads/main")).mtimeMs).toBeLessThan(Date.now() - 3_000_000);
    const b = await gitBackend({ path: dir });
    expect(await b.refs.get("refs/heads/main")).toBe(acknowledged[2]);
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
    lostUpdates(join(dir, "refs/heads/main"), `${x}\n`);
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
    lostUpdates(join(dir, "refs/heads/main"), `${acknowledged[0]}\n`);
    const b = await gitBackend({ path: dir });
    expect(await b.refs.get("refs/heads/main")).toBe(acknowledged[1]);
    await b.close();
    expect(readdirSync(join(dir, "irmin-journal"))).toEqual([]);
  });

  it("a replay starts after the change the ref already shows: X, Y, X again, with only the move to Y on disk, ends at X", async () => {
    const dir = join(scratch(), "repo.git");
    const b = await gitBackend({ path: dir });
    const enc = new TextEncoder();
    const [x, y] = await Promise.all([b.objects.put("blob", enc.encode("x\n")), b.objects.put("blob", enc.encode("y\n"))]);
    await b.refs.set("refs/heads/main", x);
    await b.refs.set("refs/heads/main", y);
    await b.refs.set("refs/heads/main", x);
    const copy = powerCutCopy(dir, scratch());
    lostUpdates(join(copy, "refs/heads/main"), `${y}\n`);
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
    lostUpdates(join(dir, "refs/heads/main"), `${acknowledged[0]}\n`);
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
    lostUpdates(join(dir, "refs/heads/main"), `${acknowledged[0]}\n`);
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

});
