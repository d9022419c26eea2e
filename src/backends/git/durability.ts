/**
 * When written files reach the disk: the git backend's fsync policy in one place.
 *
 * Git's default (`core.fsync=committed,-loose-object`) flushes packs and refs but not loose
 * objects, so a power cut can lose a loose object that a ref already points at. This backend
 * keeps git's cheap loose writes but closes that hole with a barrier: every file and directory
 * entry written without a flush is remembered here, and {@link Durability.flush} makes them all
 * durable at once (the flushes run in parallel, so the file system commits them together) before
 * any ref update this backend makes. Large packs are flushed before they are renamed into place,
 * as git does. Small packs (a commit's) and ref changes go to a journal instead when there is one
 * (the default: see `journal.ts`): one flush per ref update instead of three in a row. A process
 * crash loses nothing either way: written data is in the page cache.
 */
import { fdatasync as fdatasyncCb, fsync as fsyncCb, openSync, closeSync, unlinkSync } from "node:fs";
import { unlink } from "node:fs/promises";
import { IrminError } from "../../core/errors.js";
import { errnoCode, ioError } from "./io-error.js";
import type { JournalPack, JournalRecord, JournalRefChange } from "./journal-format.js";

/** fdatasync on the thread pool (the one call that waits on the device). */
export function datasync(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fdatasyncCb(fd, (e) => (e ? reject(e) : resolve())));
}

/** fsync on the thread pool: data and metadata (a directory's entries, a date set on a file). */
export function fsyncFd(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fsyncCb(fd, (e) => (e ? reject(e) : resolve())));
}

/** Flushes the file or directory at `path` (opened read-only: enough for fsync on POSIX). */
async function syncPath(path: string, directory: boolean): Promise<void> {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (e) {
    // A file packed and pruned meanwhile is durable elsewhere (the pack was flushed first).
    if (errnoCode(e) === "ENOENT") return;
    throw e;
  }
  try {
    await (directory ? fsyncFd(fd) : datasync(fd));
  } catch (e) {
    // Some file systems refuse fsync on directories: the entry is as durable as they allow.
    if (!directory) throw e;
  } finally {
    // Synchronous: closing a descriptor whose data was just flushed writes nothing, and a
    // thread-pool close is one more round trip before the caller resumes (measured ~0.15 ms on
    // each of the two directory flushes of a commit, more under load).
    closeQuietly(fd);
  }
}

/** Flushes a file's data to disk (nothing when it is gone). */
export function syncFile(path: string): Promise<void> {
  return syncPath(path, false);
}

/** Flushes a directory's entries (a rename into it) to disk; best effort where refused. */
export function syncDirectory(dir: string): Promise<void> {
  return syncPath(dir, true);
}

/** A journal of {@link Durability} (see `journal.ts`). */
export interface DurabilityJournal {
  /** Bytes of records since it was last emptied. */
  readonly length: number;
  /** False once a flush failed or the file was deleted: appends are refused until {@link restart}. */
  readonly usable: boolean;
  append(record: JournalRecord): Promise<void>;
  clear(): Promise<void>;
  remove(): Promise<void>;
  /** Drops an unusable journal (what it covered is durable elsewhere); the next append starts anew. */
  restart(): Promise<void>;
}

/** A checkpoint empties the journal once it holds this many bytes of records. */
const CHECKPOINT_BYTES = 4 << 20;
/** ... or once this many roll-ups wait for it to delete the packs they replaced (which git and other processes still list). */
const CHECKPOINT_ROLL_UPS = 8;

/**
 * Files and directories written but not yet flushed; see the module comment. With a journal
 * (the default durability), small packs and ref changes are recorded there instead: see
 * {@link Durability.beforeRefUpdate}.
 */
export class Durability {
  private files = new Set<string>();
  private dirs = new Set<string>();
  private inflight = new Set<Promise<void>>();
  /** Small packs written unflushed and not yet in the journal. */
  private unrecorded: JournalPack[] = [];
  /** Files and directories the journal covers, flushed by the next checkpoint. */
  private coveredFiles = new Set<string>();
  private coveredDirs = new Set<string>();
  /** Records appended, or being appended, whose effects are not yet all noted in `covered*`. */
  private recording = 0;
  private idleWaiters: (() => void)[] = [];
  private checkpointing: Promise<void> | undefined;
  /** Records are appended one after the other (each takes the packs the previous one gave back on failure). */
  private records: Promise<unknown> = Promise.resolve();
  /** Files the next checkpoint deletes once it has flushed the rest (a roll-up's sources). */
  private retired: { files: readonly string[]; done: () => void }[] = [];
  /** Deletions checkpoints began (see {@link startCheckpoint}). */
  private readonly deleting = new Set<Promise<void>>();
  private closed = false;

  /**
   * @param enabled false: never flush anything (the `fsync: false` option).
   * @param journal where small packs and ref changes are made durable in one flush (when enabled).
   * @param checkpointBytes a checkpoint starts once the journal holds this many bytes of records.
   */
  constructor(
    readonly enabled: boolean,
    private readonly journal?: DurabilityJournal,
    private readonly checkpointBytes = CHECKPOINT_BYTES,
  ) {}

  /** Whether anything written is waiting for {@link flush}. */
  get pending(): boolean {
    return this.files.size > 0 || this.dirs.size > 0 || this.unrecorded.length > 0;
  }

  /** Whether small packs and ref changes go to the journal instead of being flushed in place. */
  get journaled(): boolean {
    return this.enabled && this.journal !== undefined;
  }

  /** Remembers a file whose data was not flushed, and the directory whose new entry names it. */
  noteFile(path: string, dir: string): void {
    if (!this.enabled) return;
    this.files.add(path);
    this.dirs.add(dir);
  }

  /** Remembers a directory that gained (or lost) an entry whose rename must survive a crash. */
  noteDir(dir: string): void {
    if (this.enabled) this.dirs.add(dir);
  }

  /**
   * Takes a small pack written and renamed into `dir` without a flush (only when
   * {@link journaled}): recorded in the journal with the next record, normally the ref update
   * that follows (one flush per commit: two in a row were measured 20% slower per commit); its
   * files (`paths`) and their directory entry are flushed by the next checkpoint. A recovery
   * checks every pack written since the journal's first record, so a pack that a power cut
   * damaged before it was recorded is found and dropped (no ref names it): the first pack after
   * the journal was emptied, or while a checkpoint empties it, is therefore recorded at once (not
   * awaited; on failure it is left to the next record).
   */
  notePack(pack: JournalPack, paths: readonly string[], dir: string): void {
    this.unrecorded.push(pack);
    for (const p of paths) this.coveredFiles.add(p);
    this.coveredDirs.add(dir);
    if (this.journal!.length > 0 && this.checkpointing === undefined) return;
    void this.record(undefined).then(
      () => {
        this.endRecording();
        // Writers of objects alone (no ref update) checkpoint too.
        void this.maybeCheckpoint();
      },
      () => undefined,
    );
  }

  /**
   * Takes a roll-up (only when {@link journaled}): its new pack's files (`paths`, in `dir`),
   * written unflushed, are flushed by the next checkpoint, which then deletes `obsolete` (the
   * packs it replaces, each index first) and calls `done`. Until then the old packs stay on disk:
   * a power cut before the checkpoint leaves them, not a new pack that may have lost its bytes.
   */
  noteRollUp(paths: readonly string[], dir: string, obsolete: readonly string[], done: () => void): void {
    for (const p of paths) this.coveredFiles.add(p);
    this.coveredDirs.add(dir);
    this.retired.push({ files: obsolete, done });
    void this.maybeCheckpoint();
  }

  /**
   * The barrier before a ref update: resolves once every object written before the call is durable
   * and, with a journal, once the change itself is recorded there (the ref's own files then need no
   * flush). Every call that resolves must be followed by {@link afterRefUpdate}. `CLOSED` once
   * {@link close} has begun.
   */
  async beforeRefUpdate(change: JournalRefChange): Promise<void> {
    if (!this.journaled) return this.flush();
    await this.record(change);
  }

  /**
   * Ends what {@link beforeRefUpdate} began. `applied` false: the update failed after it was
   * recorded, and an abort record (flushed) keeps a replay from applying it. `paths` are the files
   * the update changed and `dir` their directory, flushed by the next checkpoint, which starts here
   * when the journal is large or roll-ups wait for it (its failure is left to the next one: the
   * update itself is done).
   */
  async afterRefUpdate(change: JournalRefChange, applied: boolean, paths: readonly string[], dir: string): Promise<void> {
    if (!this.journaled) return;
    for (const p of paths) this.coveredFiles.add(p);
    this.coveredDirs.add(dir);
    this.endRecording();
    if (!applied) {
      // Best effort: if even this fails, a replay may apply the change, as one made just before a crash.
      await this.record({ ...change, abort: true }).then(
        () => this.endRecording(),
        () => undefined,
      );
    }
    await this.maybeCheckpoint();
  }

  /**
   * Makes everything noted so far durable: file data first, then the directory entries, and with a
   * journal the small packs it does not hold yet (once the records before have settled, so a pack
   * a failed record gave back is included). Resolves once the flushes started by earlier calls
   * have finished too, so whoever awaits it may point a ref at any object written before the
   * call. Throws `IO` when the file system refuses.
   */
  async flush(): Promise<void> {
    if (!this.journaled) return this.flushNoted();
    await this.record(undefined);
    this.endRecording();
    await this.maybeCheckpoint();
  }

  /**
   * With a journal: flushes the files and directories it covers, empties it, then deletes the packs
   * roll-ups replaced. Waits for the records in progress; those that start meanwhile wait for it.
   * Without: {@link flush}. `final` (the close): the journal is then removed, not emptied.
   */
  async checkpoint(final = false): Promise<void> {
    await this.startCheckpoint(final);
    await this.deletions();
  }

  /**
   * {@link checkpoint}, resolving before the deletions: they run on the thread pool, each pack's
   * index first, and hold up neither the commit that began the checkpoint nor the next records
   * (measured: done in place, they were 2% of the commit path's CPU in the store bench).
   */
  private startCheckpoint(final = false): Promise<void> {
    if (!this.journaled) return this.flush();
    if (this.checkpointing !== undefined) return this.checkpointing;
    const run = (async () => {
      try {
        if (this.recording > 0) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
        const retired = this.retired;
        this.retired = [];
        try {
          await this.flushCovered(retired);
          await (final ? this.journal!.remove() : this.journal!.clear());
        } catch (e) {
          this.retired = retired.concat(this.retired);
          throw ioError(e, "checkpointing the journal");
        }
        const deleting = (async () => {
          for (const r of retired) {
            // Already gone after a concurrent gc or roll-up: fine.
            for (const f of r.files) await unlink(f).catch(() => undefined);
            r.done();
          }
        })();
        this.deleting.add(deleting);
        void deleting.finally(() => this.deleting.delete(deleting));
      } finally {
        this.checkpointing = undefined;
      }
    })();
    this.checkpointing = run;
    return run;
  }

  /** Resolves once the packs that checkpoints began deleting are gone. */
  private async deletions(): Promise<void> {
    while (this.deleting.size > 0) await Promise.all([...this.deleting]);
  }

  /**
   * The backend's close: later records are refused (`CLOSED`); once the records in progress are
   * done, everything is flushed, and the journal emptied and removed.
   */
  async close(): Promise<void> {
    if (!this.journaled) return this.flush();
    if (!this.closed) {
      // What was written before the close is recorded or flushed.
      await this.flush();
      this.closed = true;
    }
    await this.records.catch(() => undefined);
    await this.flushNoted();
    while (this.checkpointing !== undefined) await this.checkpointing.catch(() => undefined);
    await this.checkpoint(true);
  }

  /**
   * Flushes in place the files and directories the journal covers, but not the packs `retired`
   * lists (about to be deleted: the roll-up's pack that replaces them is flushed). On failure they
   * stay covered.
   */
  private async flushCovered(retired: readonly { files: readonly string[] }[]): Promise<void> {
    const deleted = new Set(retired.flatMap((r) => r.files));
    const covered = { files: this.coveredFiles, dirs: this.coveredDirs };
    this.coveredFiles = new Set();
    this.coveredDirs = new Set();
    try {
      // Two at a time: the thread pool (4 threads) stays open to the commits going on meanwhile.
      await inTurn(
        [...covered.files].filter((f) => !deleted.has(f)),
        2,
        (f) => syncPath(f, false),
      );
      await inTurn([...covered.dirs], 2, (d) => syncPath(d, true));
    } catch (e) {
      for (const f of covered.files) this.coveredFiles.add(f);
      for (const d of covered.dirs) this.coveredDirs.add(d);
      throw e;
    }
  }

  /**
   * After a failed journal flush: what the journal covers is flushed in place, then the journal
   * is dropped and the next record starts a new one. Until a flush succeeds, updates keep failing
   * (`IO`), as they must: the page cache no longer tells what reached the disk.
   */
  private async restartJournal(): Promise<void> {
    try {
      await this.flushCovered(this.retired);
      await this.journal!.restart();
    } catch (e) {
      throw ioError(e, "flushing what the journal covered, after its flush failed");
    }
  }

  /** Checkpoints when the journal is large or roll-ups wait; never rejects (a failure is left to the next one). */
  private async maybeCheckpoint(): Promise<void> {
    if (this.closed || this.checkpointing !== undefined) return;
    if (this.journal!.length >= this.checkpointBytes || this.retired.length >= CHECKPOINT_ROLL_UPS) await this.startCheckpoint().catch(() => undefined);
  }

  /**
   * Appends a record of the unrecorded packs and `ref` after the records before it, once no
   * checkpoint runs and the objects noted so far are flushed; counts it in `recording` (the
   * caller ends it once its effects are noted; a failure ends it here and gives the packs back).
   */
  private record(ref: (JournalRefChange & { abort?: boolean }) | undefined): Promise<void> {
    const run = this.records.then(async () => {
      while (this.checkpointing !== undefined) await this.checkpointing.catch(() => undefined);
      if (this.closed) throw new IrminError("CLOSED", "the git backend is closed");
      if (!this.journal!.usable) await this.restartJournal();
      this.recording++;
      const packs = ref?.abort === true ? [] : this.unrecorded;
      if (ref?.abort !== true) this.unrecorded = [];
      try {
        await this.flushNoted();
        if (packs.length > 0 || ref !== undefined) {
          const change = ref === undefined ? undefined : { name: ref.name, before: ref.before, after: ref.after };
          await this.journal!.append({ packs, ref: change, abort: ref?.abort });
        }
      } catch (e) {
        this.unrecorded = packs.concat(this.unrecorded);
        this.endRecording();
        throw e;
      }
    });
    this.records = run.catch(() => undefined);
    return run;
  }

  private endRecording(): void {
    if (--this.recording > 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  /**
   * Flushes the files and directory entries noted so far (and those whose flush {@link start}
   * began), but not the packs waiting for the journal: for a writer whose own files must be
   * durable before it deletes others (a roll-up without a journal).
   */
  async flushNoted(): Promise<void> {
    this.start();
    if (this.inflight.size === 0) return;
    try {
      await Promise.all([...this.inflight]);
    } catch (e) {
      throw ioError(e, "flushing written objects to disk");
    }
  }

  /**
   * Starts flushing everything noted so far, without waiting: the next {@link flush} awaits it.
   * For a writer that knows a ref update will follow, so that the flush overlaps the work before
   * that update instead of starting with it. A failure is not lost: what it did not flush is
   * noted again, and the next {@link flush} retries it and throws if it fails again.
   */
  start(): void {
    if (this.files.size > 0 || this.dirs.size > 0) {
      const files = [...this.files];
      const dirs = [...this.dirs];
      this.files = new Set();
      this.dirs = new Set();
      const run = (async () => {
        try {
          await Promise.all(files.map((f) => syncPath(f, false)));
          await Promise.all(dirs.map((d) => syncPath(d, true)));
        } catch (e) {
          // Not durable: the next flush tries again.
          for (const f of files) this.files.add(f);
          for (const d of dirs) this.dirs.add(d);
          throw e;
        }
      })();
      this.inflight.add(run);
      void run.then(
        () => this.inflight.delete(run),
        () => this.inflight.delete(run),
      );
    }
  }
}

/** `fn` over `items`, at most `limit` at a time; rejects at the first failure. */
async function inTurn<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** Deletes `path`, ignoring errors (already gone, or removed by someone else). */
export function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Already gone.
  }
}

/** Closes `fd`, ignoring errors (cleanup paths). */
export function closeQuietly(fd: number | undefined): void {
  if (fd === undefined) return;
  try {
    closeSync(fd);
  } catch {
    // Already closed or invalid: nothing left to release.
  }
}
