/**
 * Recovery of the git backend's write-ahead journals (see `journal.ts`) when a backend opens:
 * journals that dead writers left are flushed and deleted, or, after a restart, replayed.
 */
import { closeSync, existsSync, fstatSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, renameSync, statSync } from "node:fs";
import { createHash } from "node:crypto";
import { basename, dirname, join, resolve } from "node:path";
import { uniqueSuffix } from "./temp-names.js";
import { IrminError, isIrminError } from "../../core/errors.js";
import type { Hash } from "../../core/hash.js";
import { closeQuietly, datasync, removeQuietly, syncDirectory, syncFile } from "./durability.js";
import { errnoCode, ioError } from "./io-error.js";
import { writeAllSync } from "./loose-objects.js";
import { judgeTagged, taggedOwner } from "./owner-tag.js";
import { alive, currentOwner, FREE, fromEarlierBoot, judgeOwner, processStart, readJournal, runs, type JournalRecord, type JournalRefChange } from "./journal-format.js";

/** What {@link recoverJournals} needs from the backend. */
export interface JournalReplay {
  /**
   * Applies a recorded ref change, durably, where the ref itself (symbolic refs not followed)
   * holds `before` or its file is unreadable; resolves to whether it did. The ref file is dated
   * `recordedAt` (when the change was recorded), so that a replay that stops half-way leaves no
   * file that the next one would take for someone else's (see `replayChanges`).
   */
  ref(change: JournalRefChange, recordedAt?: number): Promise<boolean>;
  /** What the ref itself holds now (symbolic refs not followed). */
  current(name: string): Promise<Hash | undefined | "unreadable" | "symbolic">;
  /** Whether the object exists: a change is replayed only when the object it points at does. */
  has(hash: Hash): Promise<boolean>;
  /** The path of a ref's loose file. */
  refPath(name: string): string;
}

/** A journal claimed by a recovery: `.replaying-<pid>-<start>` (start "0" where unknown). */
const CLAIMED = /\.journal\.replaying-(\d+)(?:-(\d+))?$/;
const TEMPORARY = /^(\d+)-[0-9a-f]+\.tmp$/;
const PACK_IDX = /^pack-([0-9a-f]{40}|[0-9a-f]{64})\.idx$/;
/**
 * How far the clocks that stamp records and files may disagree. Packs written this long before a
 * journal's first record may be a roll-up its owner did not flush; a ref file must be this much
 * newer than its last record to count as moved by someone else (see `replayChanges`).
 */
const CLOCK_SLACK_MS = 60_000;

/** A journal this process claimed for replay: its claimed and original paths, records, and owner's pid (undefined: free). */
interface Claimed {
  readonly path: string;
  readonly original: string;
  readonly records: JournalRecord[];
  readonly owner: number | undefined;
}

/** Recoveries running in this process, by journal directory: a second open waits for the first. */
const recovering = new Map<string, Promise<number>>();

/**
 * Replays or deletes the journals that dead owners left in `dir` (see the module comment); leaves
 * those of live owners and other hosts. A journal of the current boot is deleted once the files
 * it names are flushed (they are in the page cache). Journals from before a restart are claimed
 * first (renamed, so that two processes never replay one), then replayed together: every recorded
 * pack is restored into `packDir` (written again when missing or different, flushed with its
 * directory entry), packs written since the journal began that fail their checksum (a roll-up
 * the cut damaged: its sources are still there) are deleted, then each ref's recorded changes are
 * applied in order from the one after the change the ref already shows, each where the ref
 * still holds the value it replaced and the object it points at exists (a ref whose file was
 * written after the last record naming it is left alone: see `replayChanges`). A change git refuses
 * (`INVALID_ARGUMENT`) ends its ref's replay; any other failure fails the open and gives the
 * journals back for the next one. Waits for recoveries of other processes (`LOCKED` after
 * `timeoutMs`). Returns the number of journals replayed.
 */
export async function recoverJournals(dir: string, packDir: string, replay: JournalReplay, timeoutMs = 5000): Promise<number> {
  const key = resolve(dir);
  for (let running = recovering.get(key); running !== undefined; running = recovering.get(key)) await running.catch(() => undefined);
  const run = recoverOnce(dir, packDir, replay, timeoutMs);
  recovering.set(key, run);
  try {
    return await run;
  } finally {
    recovering.delete(key);
  }
}

async function recoverOnce(dir: string, packDir: string, replay: JournalReplay, timeoutMs: number): Promise<number> {
  const self = currentOwner();
  const deadline = Date.now() + timeoutMs;
  let replayed = 0;
  for (;;) {
    const claimed: Claimed[] = [];
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch (e) {
      if (errnoCode(e) === "ENOENT" || errnoCode(e) === "ENOTDIR") return 0;
      throw ioError(e, `listing ${dir}`);
    }
    let othersRecovering = false;
    let removedDead = false;
    for (const name of names) {
      const path = join(dir, name);
      const temporary = TEMPORARY.exec(name);
      const claim = CLAIMED.exec(name);
      if (temporary !== null) {
        // A journal being created; or left by a crash.
        if (!alive(Number(temporary[1])) || fromEarlierBoot(path)) removeQuietly(path);
        continue;
      }
      const maker = taggedOwner(name);
      if (maker !== undefined) {
        // A spare lock file (see spare-files.ts), or left by a crash. One with a second name is a
        // held lock's (see stale-locks.ts): left for a waiter to judge, or for git's next rename
        // over the ref that lock became.
        const verdict = judgeTagged(maker, path);
        if ((verdict === "dead" || verdict === "rebooted") && linkCount(path) === 1) removeQuietly(path);
        continue;
      }
      if (claim !== null) {
        // Claimed by a recovery: running in another process (wait for it), or one that died or
        // failed (this process runs none now: it waited for them above).
        const pid = Number(claim[1]);
        if (pid !== process.pid && runs(pid, claim[2] ?? "0") && !fromEarlierBoot(path)) {
          othersRecovering = true;
          continue;
        }
        const original = path.slice(0, path.length - claim[0].length + ".journal".length);
        const taken = claimFile(path, original);
        if (taken !== undefined) claimed.push(taken);
        continue;
      }
      if (!name.endsWith(".journal")) continue;
      let journal;
      try {
        journal = readJournal(path);
      } catch (e) {
        if (errnoCode(e) === "ENOENT") continue; // recovered by another process meanwhile
        throw ioError(e, `reading ${path}`);
      }
      if (journal === undefined) continue; // not one of ours: left alone
      if (journal.owner === undefined) {
        // Freed, but a crash undid its rename (a live backend taking it has the same header for a moment).
        const pid = /^(\d+)-/.exec(name);
        if (!FREE.test(name) && (pid === null || !alive(Number(pid[1])) || fromEarlierBoot(path))) removeQuietly(path);
        continue;
      }
      const verdict = judgeOwner(journal.owner, self);
      if (verdict === "live" || verdict === "foreign") continue;
      if (verdict === "dead") {
        await flushNamed(packDir, journal.records, replay);
        removeLeftovers(journal.records, journal.owner.pid, replay, dir);
        removeQuietly(path);
        removedDead = true;
        continue;
      }
      const taken = claimFile(path, path);
      if (taken !== undefined) claimed.push(taken);
    }
    // A deleted journal must stay deleted: after a power cut, its records would be replayed over
    // the updates made since (a ref lock its owner left is removed right after: see stale-locks.ts).
    if (removedDead) await syncDirectory(dir);
    if (claimed.length > 0) {
      await replayClaimed(claimed, packDir, replay);
      replayed += claimed.length;
      continue; // then wait for other processes' recoveries, if any
    }
    if (!othersRecovering) return replayed;
    if (Date.now() >= deadline) throw new IrminError("LOCKED", `another process is recovering the journals in ${dir}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Restores, checks and replays what the claimed journals hold; gives them back on failure, deletes them on success. */
async function replayClaimed(claimed: readonly Claimed[], packDir: string, replay: JournalReplay): Promise<void> {
  try {
    const records = claimed.flatMap((c) => c.records);
    await restorePacks(packDir, records);
    await dropDamagedPacks(packDir, records);
    await replayChanges(
      claimed.map((c) => c.records),
      replay,
    );
  } catch (e) {
    // Given back: the next open tries again.
    for (const c of claimed) {
      try {
        renameSync(c.path, c.original);
      } catch {
        // Left claimed: a later open takes it over once this process is gone.
      }
    }
    throw e;
  }
  for (const c of claimed) {
    if (c.owner !== undefined) removeLeftovers(c.records, c.owner, replay, dirname(c.path));
    removeQuietly(c.path);
  }
  // Replayed once: a power cut must not bring them back to be replayed over later updates.
  if (claimed.length > 0) await syncDirectory(dirname(claimed[0].path));
}

/**
 * Removes the second names that the dead process `pid` may have left for the refs it updated (a
 * crash or an exit without `close` between a ref's rename and their removal leaves them): beside a
 * ref, `<ref>..retired-<pid>-<n>.lock` (see `LockFile.commit`), and in `journalDir` the tagged name
 * of the lock that became the ref file (see `stale-locks.ts`: same inode as the ref; a held
 * lock's is another file's). Git ignores both, and removing one early is harmless. The refs named
 * in its records are enough: the update under way when it died is recorded.
 */
function removeLeftovers(records: readonly JournalRecord[], pid: number, replay: JournalReplay, journalDir: string): void {
  const refFiles = new Set<number>();
  for (const name of new Set(records.flatMap((r) => (r.ref === undefined ? [] : [r.ref.name])))) {
    const file = replay.refPath(name);
    const prefix = `${basename(file)}..retired-${pid}-`;
    try {
      refFiles.add(lstatSync(file).ino);
    } catch {
      // Deleted since, or packed: no spare name can be on it.
    }
    let names: string[];
    try {
      names = readdirSync(dirname(file));
    } catch {
      continue;
    }
    for (const n of names) if (n.startsWith(prefix) && n.endsWith(".lock")) removeQuietly(join(dirname(file), n));
  }
  let names: string[] = [];
  try {
    names = readdirSync(journalDir);
  } catch {
    // Nothing to remove.
  }
  for (const n of names) {
    if (taggedOwner(n)?.pid !== pid) continue;
    try {
      if (refFiles.has(lstatSync(join(journalDir, n)).ino)) removeQuietly(join(journalDir, n));
    } catch {
      // Gone meanwhile.
    }
  }
}

/** Renames `path` to a name only this process uses, then reads it; undefined when another process took it first. */
function claimFile(path: string, original: string): Claimed | undefined {
  const mine = `${original}.replaying-${process.pid}-${processStart(process.pid) || "0"}`;
  try {
    if (mine !== path) renameSync(path, mine);
    const journal = readJournal(mine);
    return { path: mine, original, records: journal?.owner === undefined ? [] : journal.records, owner: journal?.owner?.pid };
  } catch (e) {
    if (errnoCode(e) === "ENOENT") return undefined;
    throw ioError(e, `claiming ${path}`);
  }
}

/** How many names the file has (0: gone, or unreadable). */
function linkCount(path: string): number {
  try {
    return lstatSync(path).nlink;
  } catch {
    return 0;
  }
}


/**
 * The ref changes of the journals, without those their abort records cancel, per ref: each
 * journal's in its order, merged into one chain where one exists (a ref's updates are serialized
 * by its lock, so each change starts where the previous one ended: see {@link chainOrder}), else
 * greedily (see {@link greedyOrder}). Exported for its tests.
 */
export function changesByRef(journals: readonly (readonly JournalRecord[])[]): Map<string, JournalRefChange[]> {
  const perRef = new Map<string, { change: JournalRefChange; time: number }[][]>();
  journals.forEach((records, j) => {
    const kept: { change: JournalRefChange; time: number }[] = [];
    for (const r of records) {
      if (r.ref === undefined) continue;
      if (r.abort === true) {
        const ref = r.ref;
        const k = kept.findLastIndex((c) => c.change.name === ref.name && c.change.before === ref.before && c.change.after === ref.after);
        if (k >= 0) kept.splice(k, 1);
      } else kept.push({ change: r.ref, time: r.time ?? 0 });
    }
    for (const c of kept) {
      const lists = perRef.get(c.change.name) ?? journals.map(() => []);
      lists[j].push(c);
      perRef.set(c.change.name, lists);
    }
  });
  const byRef = new Map<string, JournalRefChange[]>();
  for (const [name, lists] of perRef) byRef.set(name, chainOrder(lists) ?? greedyOrder(lists));
  return byRef;
}

type Timed = { change: JournalRefChange; time: number };

/** How many steps {@link chainOrder} may take before it gives up (journals rarely share a ref). */
const CHAIN_SEARCH_STEPS = 20_000;

/**
 * An order of the journals' changes (each journal's kept) in which every change starts where the
 * previous one ended, found by a depth-first search trying the oldest first; undefined when there
 * is none (someone else moved the ref in between) or the search runs out of steps. Cycles
 * (X→Y, Y→X, X→Z across two writers) make the greedy merge ambiguous; a full chain is not.
 */
function chainOrder(lists: readonly (readonly Timed[])[]): JournalRefChange[] | undefined {
  const total = lists.reduce((n, l) => n + l.length, 0);
  const next = lists.map(() => 0);
  const out: JournalRefChange[] = [];
  const dead = new Set<string>();
  let steps = 0;
  const search = (): boolean => {
    if (out.length === total) return true;
    if (++steps > CHAIN_SEARCH_STEPS) return false;
    const key = `${next.join(",")}|${out.at(-1)?.after ?? "-"}`;
    if (dead.has(key)) return false;
    const last = out.at(-1);
    const heads = lists
      .map((list, j) => ({ j, head: next[j] < list.length ? list[next[j]] : undefined }))
      .filter((h): h is { j: number; head: Timed } => h.head !== undefined && (last === undefined || h.head.change.before === last.after))
      .sort((a, b) => a.head.time - b.head.time);
    for (const { j, head } of heads) {
      next[j]++;
      out.push(head.change);
      if (search()) return true;
      out.pop();
      next[j]--;
    }
    if (steps <= CHAIN_SEARCH_STEPS) dead.add(key);
    return false;
  };
  return search() ? out : undefined;
}

/** The merge when no full chain exists: follow the chain where it decides, else the oldest start of a chain, else the oldest. */
function greedyOrder(lists: readonly (readonly Timed[])[]): JournalRefChange[] {
  const next = lists.map(() => 0);
  const out: JournalRefChange[] = [];
  for (;;) {
    const heads = lists.flatMap((list, j) => (next[j] < list.length ? [{ j, ...list[next[j]] }] : []));
    if (heads.length === 0) return out;
    const last = out.at(-1);
    const chained = last === undefined ? [] : heads.filter((h) => h.change.before === last.after);
    // Else a change no other pending one leads to (the start of a chain).
    const starts = heads.filter((h) => !heads.some((o) => o !== h && o.change.after === h.change.before));
    const pool = chained.length > 0 ? chained : starts.length > 0 ? starts : heads;
    const pick = pool.reduce((a, b) => (b.time < a.time ? b : a));
    next[pick.j]++;
    out.push(pick.change);
  }
}

/**
 * Applies each ref's recorded changes, from the one after the last change whose result the ref
 * already holds (or the first that starts from what it holds; all of them when it is unreadable),
 * in order, while they apply. A ref whose loose file was written after the last record naming it
 * is left alone: someone without a journal (git) moved it since, maybe back to a value a recorded
 * change starts from (a rollback), which a replay must not undo. A writer's own ref file is written
 * before its record, so a file older than the records is one whose later updates the cut lost.
 * "After" means by more than the clock slack: a file system whose clock runs ahead of this
 * machine's (a network one) must not make a writer's own file look newer than its records, which
 * would lose acknowledged updates; a rollback within that minute is replayed over, as before.
 */
async function replayChanges(journals: readonly (readonly JournalRecord[])[], replay: JournalReplay): Promise<void> {
  // When each change was recorded, and the last record naming each ref.
  const recordedAt = new Map<JournalRefChange, number | undefined>();
  const lastRecorded = new Map<string, number>();
  for (const records of journals) {
    for (const r of records) {
      if (r.ref === undefined) continue;
      recordedAt.set(r.ref, r.time);
      lastRecorded.set(r.ref.name, Math.max(lastRecorded.get(r.ref.name) ?? -Infinity, r.time ?? Infinity));
    }
  }
  for (const [name, changes] of changesByRef(journals)) {
    const current = await replay.current(name);
    if (current === "symbolic") continue;
    let start = 0;
    if (current !== "unreadable") {
      const modified = modifiedAt(replay.refPath(name));
      if (modified !== undefined && modified > (lastRecorded.get(name) ?? Infinity) + CLOCK_SLACK_MS) continue;
      const shown = changes.findLastIndex((c) => c.after === current);
      start = shown >= 0 ? shown + 1 : changes.findIndex((c) => c.before === current);
      if (start < 0) continue; // moved elsewhere since: left alone
    }
    for (const change of changes.slice(start)) {
      if (change.after !== undefined && !(await replay.has(change.after))) break;
      let applied: boolean;
      try {
        applied = await applyChange(change, recordedAt.get(change), replay);
      } catch (e) {
        if (isIrminError(e, "INVALID_ARGUMENT")) break; // refused by git's rules now: as an update that failed
        throw e;
      }
      if (!applied) break;
    }
  }
}

/** When the file at `path` was last written (ms since the epoch); undefined when there is none. */
function modifiedAt(path: string): number | undefined {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return undefined;
  }
}

/** Applies one change; a ref lock left by a crash before the restart is removed first (no one can hold it). */
async function applyChange(change: JournalRefChange, recordedAt: number | undefined, replay: JournalReplay): Promise<boolean> {
  try {
    return await replay.ref(change, recordedAt);
  } catch (e) {
    const lock = `${replay.refPath(change.name)}.lock`;
    if (!isIrminError(e, "LOCKED") || !fromEarlierBoot(lock)) throw e;
    removeQuietly(lock);
    return replay.ref(change, recordedAt);
  }
}

/** The oldest record time of `records`, less the clock slack; undefined without times. */
function since(records: readonly JournalRecord[]): number | undefined {
  const times = records.map((r) => r.time).filter((t): t is number => t !== undefined && t > 0);
  return times.length === 0 ? undefined : Math.min(...times) - CLOCK_SLACK_MS;
}

/** Packs in `packDir` whose index changed at or after `time` (roll-ups of the journal's owner, unflushed). */
function packsSince(packDir: string, time: number): string[] {
  let names: string[];
  try {
    names = readdirSync(packDir);
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const n of names) {
    const m = PACK_IDX.exec(n);
    if (m === null) continue;
    try {
      if (statSync(join(packDir, n)).mtimeMs >= time) out.push(m[1]);
    } catch {
      // Gone meanwhile.
    }
  }
  return out;
}

/**
 * Deletes the packs written since the journals began, other than the recorded ones (restored) and
 * those with a `.keep` file, whose bytes fail their checksum or their index's: a roll-up a power
 * cut caught before its flush. Its sources are still on disk (deleted only after a checkpoint
 * flushed it). The index goes first (a pack without one is invisible), then the pack and its other
 * files. A pack that cannot be read to the end is kept: only a checksum proves damage.
 */
async function dropDamagedPacks(packDir: string, records: readonly JournalRecord[]): Promise<void> {
  const start = since(records);
  if (start === undefined) return;
  const recorded = new Set(records.flatMap((r) => r.packs.map((p) => p.name)));
  let dropped = false;
  for (const name of packsSince(packDir, start)) {
    if (recorded.has(name) || existsSync(join(packDir, `pack-${name}.keep`)) || !packDamaged(packDir, name)) continue;
    const prefix = `pack-${name}.`;
    const others = readdirSync(packDir).filter((f) => f.startsWith(prefix) && f !== `${prefix}idx`);
    for (const f of [`${prefix}idx`, ...others]) removeQuietly(join(packDir, f));
    dropped = true;
  }
  if (dropped) await syncDirectory(packDir);
}

/**
 * Whether `pack-<name>.pack` provably fails: shorter than a pack, or its bytes do not hash to its
 * trailer, or the trailer is not its name or its index's. Read in chunks (packs may exceed what
 * one read returns); false when it cannot be read (nothing proven).
 */
function packDamaged(packDir: string, name: string): boolean {
  const size = name.length / 2;
  let fd: number | undefined;
  try {
    const idx = readFileSync(join(packDir, `pack-${name}.idx`));
    fd = openSync(join(packDir, `pack-${name}.pack`), "r");
    const length = fstatSync(fd).size;
    if (length < 12 + size || idx.length < 2 * size) return true;
    const hash = createHash(size === 20 ? "sha1" : "sha256");
    const chunk = Buffer.alloc(1 << 20);
    for (let at = 0; at < length - size; ) {
      const n = readSync(fd, chunk, 0, Math.min(chunk.length, length - size - at), at);
      if (n === 0) return false;
      hash.update(chunk.subarray(0, n));
      at += n;
    }
    const trailer = Buffer.alloc(size);
    if (readSync(fd, trailer, 0, size, length - size) !== size) return false;
    return !hash.digest().equals(trailer) || trailer.toString("hex") !== name || !idx.subarray(idx.length - 2 * size, idx.length - size).equals(trailer);
  } catch {
    return false;
  } finally {
    closeQuietly(fd);
  }
}

/**
 * Flushes the pack and ref files `records` name, and the packs written since the journal began
 * (roll-ups), with their directories: a dead owner's journal of the current boot, whose files are
 * in the page cache.
 */
async function flushNamed(packDir: string, records: readonly JournalRecord[], replay: JournalReplay): Promise<void> {
  const files = new Set<string>();
  const dirs = new Set<string>();
  const packs = records.flatMap((r) => r.packs.map((p) => p.name));
  const start = since(records);
  if (start !== undefined) packs.push(...packsSince(packDir, start));
  for (const name of packs) {
    files.add(join(packDir, `pack-${name}.pack`));
    files.add(join(packDir, `pack-${name}.idx`));
    dirs.add(packDir);
  }
  for (const r of records) {
    if (r.ref === undefined) continue;
    const path = replay.refPath(r.ref.name);
    files.add(path);
    dirs.add(dirname(path));
  }
  try {
    await Promise.all([...files].map((f) => syncFile(f)));
    await Promise.all([...dirs].map((d) => syncDirectory(d)));
  } catch (e) {
    throw ioError(e, `flushing what a journal in ${packDir} names`);
  }
}

/** Writes again, and flushes, every recorded pack file that is missing or differs from its recorded bytes. */
async function restorePacks(packDir: string, records: readonly JournalRecord[]): Promise<void> {
  let wrote = false;
  for (const r of records) {
    for (const p of r.packs) {
      if (!/^[0-9a-f]{40}([0-9a-f]{24})?$/.test(p.name)) continue;
      // The index last: it makes the pack visible.
      for (const [suffix, bytes] of [
        ["pack", p.pack],
        ["idx", p.index],
      ] as const) {
        const file = join(packDir, `pack-${p.name}.${suffix}`);
        if (sameContent(file, bytes)) continue;
        const tmp = join(packDir, `tmp_journal_${uniqueSuffix()}`);
        try {
          mkdirSync(packDir, { recursive: true });
          const fd = openSync(tmp, "wx", 0o444);
          try {
            writeAllSync(fd, bytes, 0);
            await datasync(fd);
          } finally {
            closeSync(fd);
          }
          renameSync(tmp, file);
        } catch (e) {
          throw ioError(e, `restoring ${file}`);
        }
        wrote = true;
      }
    }
  }
  if (wrote) await syncDirectory(packDir);
}

function sameContent(file: string, bytes: Uint8Array): boolean {
  try {
    return Buffer.from(readFileSync(file)).equals(bytes);
  } catch {
    return false;
  }
}
