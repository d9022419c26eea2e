import { closeSync, futimesSync, linkSync, mkdirSync, openSync, renameSync, unlink, unlinkSync } from "node:fs";
import { dirname } from "node:path";
import { IrminError } from "../../core/errors.js";
import { closeQuietly, datasync, fsyncFd, syncDirectory } from "./durability.js";
import { writeAllSync } from "./loose-objects.js";
import { linked, type SpareFiles } from "./spare-files.js";
import { StaleLockCheck, type StaleLockOptions } from "./stale-locks.js";
import { errnoCode, ioError } from "./io-error.js";

/** Options of {@link LockFile.acquire}. */
export interface LockOptions {
  /** How long to keep retrying while another process holds the lock, in milliseconds. */
  readonly timeoutMs: number;
  /**
   * Flush the new content to disk before it replaces the target, and the directory after, so that
   * a committed update survives a power cut.
   */
  readonly fsync: boolean;
  /** Empty files made ahead, in a directory of the same file system: the lock is then a link to one. */
  readonly spares?: SpareFiles;
  /**
   * Where a lock made from a spare keeps the spare's name while it is held, and so where a lock
   * left by a process that died is told from a held one and removed (see `stale-locks.ts`).
   */
  readonly stale?: StaleLockOptions;
}

/** Removals of released locks' spare names and of retired targets under way (see {@link LockFile.settled}). */
const removals = new Set<Promise<void>>();

/** Removes the name `path` on the thread pool, counted in {@link removals}. */
function removeLater(path: string): void {
  const done = new Promise<void>((resolve) => unlink(path, () => resolve()));
  removals.add(done);
  void done.then(() => removals.delete(done));
}

/** Counter of retired target names (see {@link LockFile.commit}). */
let retired = 0;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Git's lock-file protocol (`lockfile.c`), which git itself and every other Git tool follow:
 * whoever creates `<target>.lock` exclusively (`O_CREAT|O_EXCL`) owns `<target>` until it renames
 * the lock over the target (commit) or deletes it (rollback). Cross-process and crash-safe: the
 * target is always a whole old or a whole new file. A crash leaves a stale `.lock`: with git, it
 * must be removed by hand (acquirers fail with `LOCKED`); a lock made from a spare file names its
 * owner, and an acquirer with `stale` removes it once that owner is gone (see `stale-locks.ts`).
 */
export class LockFile {
  private done = false;
  private closed = false;

  private constructor(
    /** The file this lock guards. */
    readonly target: string,
    /** `<target>.lock`. */
    readonly path: string,
    private readonly fd: number,
    private readonly fsync: boolean,
    /** The spare file's name the lock keeps while held (see `stale-locks.ts`), removed once it is released. */
    private readonly marker?: string,
  ) {}

  /**
   * Takes the lock on `target`, creating missing parent directories. While another holder has it,
   * retries with growing, jittered sleeps (as git does) until `timeoutMs`, then throws `LOCKED`.
   * An `ENOTDIR` (a parent path is a file) is rethrown as is for the caller to interpret.
   *
   * With `spares`, the lock file is a hard link to a spare file made ahead (one `link`, which
   * fails when the name exists exactly as an exclusive create does, instead of an inode
   * allocation on the caller's path: see `spare-files.ts`), and the spare keeps its name until the
   * lock is released, so that others can tell who holds it; where the file system refuses links,
   * the spares are turned off and the file is created as git creates it. With `stale`, a lock
   * whose owner is gone is removed (see `stale-locks.ts`) instead of waited for.
   */
  static async acquire(target: string, options: LockOptions): Promise<LockFile> {
    const path = `${target}.lock`;
    const start = Date.now();
    let multiplier = 1;
    let n = 1;
    let missingDirs = 0;
    const spares = options.spares;
    let spare = spares?.takeOrMake();
    const stale = options.stale === undefined ? undefined : new StaleLockCheck(options.stale);
    try {
      for (;;) {
        try {
          let lock: LockFile;
          if (spare !== undefined) {
            linkSync(spare.path, path);
            lock = new LockFile(target, path, spare.fd, options.fsync, spare.path);
            spare = undefined;
          } else {
            // Synchronous: a short metadata operation, cheaper than a thread-pool round trip.
            lock = new LockFile(target, path, openSync(path, "wx", 0o666), options.fsync);
          }
          void spares?.refill();
          return lock;
        } catch (e) {
          const code = errnoCode(e);
          if (spare !== undefined && code !== "EEXIST" && code !== "ENOTDIR" && !(code === "ENOENT" && linked(spare.fd))) {
            // No link here (EPERM, EXDEV...), or the spare is gone (ENOENT; a missing directory
            // of the lock is made below): this attempt and the next create the file.
            if (code !== "ENOENT") void spares!.close();
            spares!.giveBack(spare);
            spare = undefined;
            continue;
          }
          if (code === "ENOENT" && missingDirs++ < 5) {
            // A concurrent ref deletion may prune the directory we just made: make it again.
            try {
              mkdirSync(dirname(path), { recursive: true });
            } catch (err) {
              if (errnoCode(err) !== "EEXIST") throw err;
            }
            continue;
          }
          if (code === "ENOTDIR") throw e;
          if (code !== "EEXIST") throw ioError(e, `creating ${path}`);
          let elapsed = Date.now() - start;
          if (stale !== undefined && (await stale.check(path, elapsed >= options.timeoutMs))) continue;
          elapsed = Date.now() - start;
          if (elapsed >= options.timeoutMs) {
            const why = stale?.failure ?? "another process holds it, or a crash left it behind";
            throw new IrminError("LOCKED", `could not lock ${target}: ${path} exists (${why})`);
          }
          const wait = Math.min(((750 + Math.random() * 500) * multiplier) / 1000, 100, options.timeoutMs - elapsed);
          multiplier = Math.min(multiplier + 2 * n + 1, 1000);
          n++;
          await sleep(Math.max(1, wait));
        }
      }
    } finally {
      if (spare !== undefined) spares!.giveBack(spare);
    }
  }

  /**
   * Writes the complete new content of the target into the lock file. With `modified` (ms since
   * the epoch), the file is dated then instead of now, the date flushed with the content.
   */
  async write(content: string | Uint8Array, options: { modified?: number } = {}): Promise<void> {
    try {
      writeAllSync(this.fd, typeof content === "string" ? Buffer.from(content) : content);
      if (options.modified !== undefined) futimesSync(this.fd, options.modified / 1000, options.modified / 1000);
      if (this.fsync) await (options.modified === undefined ? datasync(this.fd) : fsyncFd(this.fd));
    } catch (e) {
      throw ioError(e, `writing ${this.path}`);
    }
  }

  /**
   * Replaces the target with what was written (one `rename`, atomic) and releases the lock.
   * When the rename fails, the error is rethrown and the lock stays held: the caller may fix the
   * target (e.g. remove an empty directory in its way) and commit again, or release.
   *
   * With `retire` (the target is known to exist), the old target file is first given a second
   * name, `<target>..retired-<pid>-<n>.lock`, removed in the background once the rename is done:
   * the rename then no longer frees the old file's inode, which on ext4 under load costs up to a
   * millisecond on the critical path (measured: rename over a file 500–940 µs, link + rename
   * ~200 µs). The name is no ref's and no ref's lock (`..` is refused in ref names) and git skips
   * `*.lock` files when it lists refs; a crash before the removal leaves only that harmless name,
   * which the recovery of the crashed process's journal removes (see `journal-recovery.ts`).
   */
  async commit(options: { retire?: boolean } = {}): Promise<void> {
    if (this.done) return;
    this.close();
    let aside: string | undefined;
    if (options.retire) {
      aside = `${this.target}..retired-${process.pid}-${retired++}.lock`;
      try {
        linkSync(this.target, aside);
      } catch {
        // Gone meanwhile, or not a file: a plain rename.
        aside = undefined;
      }
    }
    try {
      renameSync(this.path, this.target);
    } catch (e) {
      if (aside !== undefined) unlink(aside, () => undefined);
      throw e;
    }
    this.done = true;
    // Freeing the old inode happens on the thread pool, off the caller's path, as does removing
    // the spare's name (no inode is freed: the target keeps it).
    if (aside !== undefined) removeLater(aside);
    this.forgetMarker();
    if (this.fsync) await syncDirectory(dirname(this.target));
  }

  /** Releases the lock without touching the target. Idempotent. */
  async release(): Promise<void> {
    if (this.done) return;
    this.done = true;
    if (!this.closed) {
      this.closed = true;
      closeQuietly(this.fd);
    }
    try {
      unlinkSync(this.path);
    } catch {
      // Already gone.
    }
    this.forgetMarker();
  }

  private forgetMarker(): void {
    if (this.marker !== undefined) removeLater(this.marker);
  }

  /** Resolves once the second names of locks and targets released so far are removed (a closing backend leaves none behind). */
  static async settled(): Promise<void> {
    await Promise.all(removals);
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    closeSync(this.fd);
  }
}
