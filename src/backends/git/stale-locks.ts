/**
 * Telling a ref lock whose owner died from one still held, and removing it.
 *
 * A process that dies while it holds a lock (`refs/heads/main.lock`) leaves it behind; git then
 * fails every update of that ref until someone removes the file by hand. A lock this library
 * takes with a journal is a hard link to a spare file of the journal directory that keeps its
 * tagged name (see `owner-tag.ts`) for as long as the lock is held (see `LockFile`): a waiter
 * finds that name by the lock's inode and judges its owner, once the lock has been held longer
 * than a commit holds one. Only a lock whose owner is gone is removed: a process that died in this
 * boot, or one from before a restart (another boot id, and the name linked before this boot). A
 * lock with one name (git's, another tool's, or this library's without a journal) is waited for,
 * as git waits.
 *
 * The lock of a process that died in this boot is removed only after `beforeBreak` has run: the
 * backend recovers the dead process's journal then (flushes what it names and deletes it, as the
 * next open does), so that the update it recorded but never made cannot be replayed after a later
 * power cut over the updates made since. Of several waiters judging the same lock, the one whose
 * rename of its tagged name succeeds removes it, after checking that it is still the same file.
 */
import { lstatSync, readdirSync, renameSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { removeQuietly } from "./durability.js";
import { errnoCode } from "./io-error.js";
import { ownTag, judgeTagged, taggedOwner } from "./owner-tag.js";
import { uniqueSuffix } from "./temp-names.js";

/** Where held locks keep their owner's name, and what runs before a dead owner's lock is removed. */
export interface StaleLockOptions {
  /** The journal directory: the spare files locks are made from, and their tagged names. */
  readonly dir: string;
  /** Runs before the lock of a process that died in this boot is removed (see the module comment). */
  readonly beforeBreak?: () => Promise<void>;
}

/**
 * How long a lock file must be seen held before its owner is judged: longer than any commit holds
 * one (a commit holds its lock for well under a millisecond, a loaded one for tens), so that
 * writers contending for a branch do not judge each other. A lock is also judged before `LOCKED`.
 */
const JUDGE_AFTER_MS = 1000;

/**
 * The stale-lock checks of one lock acquisition: {@link check} runs each time the lock is found
 * taken; a lock file is judged once it has been held {@link JUDGE_AFTER_MS}, then again at most
 * as often, and no more once removing it failed ({@link failure} says why).
 */
export class StaleLockCheck {
  private seen: { ino: number; since: number; judgedAt?: number } | undefined;
  /** Why a lock whose owner is gone could not be removed (for the `LOCKED` message). */
  failure: string | undefined;

  constructor(private readonly options: StaleLockOptions) {}

  /**
   * Removes the lock at `path` when its owner is gone; resolves to true when the lock is gone
   * (removed here or by someone else meanwhile): the caller tries to take it again at once.
   * `final`: the caller gives up after this check, so the lock is judged now if it has not been.
   */
  async check(path: string, final = false): Promise<boolean> {
    let lock;
    try {
      lock = lstatSync(path);
    } catch (e) {
      return errnoCode(e) === "ENOENT"; // released meanwhile
    }
    if (lock.nlink < 2) return false;
    const now = Date.now();
    if (this.seen?.ino !== lock.ino) this.seen = { ino: lock.ino, since: now };
    const seen = this.seen;
    if (seen.judgedAt === Infinity) return false;
    const due = seen.judgedAt === undefined ? now - seen.since >= JUDGE_AFTER_MS || final : now - seen.judgedAt >= JUDGE_AFTER_MS;
    if (!due) return false;
    seen.judgedAt = now;
    let names: string[];
    try {
      names = readdirSync(this.options.dir);
    } catch {
      return false;
    }
    for (const name of names) {
      const owner = taggedOwner(name);
      if (owner === undefined) continue;
      const marker = join(this.options.dir, name);
      let stat;
      try {
        stat = lstatSync(marker);
      } catch {
        continue;
      }
      if (stat.ino !== lock.ino || stat.dev !== lock.dev) continue;
      const verdict = judgeTagged(owner, marker);
      if (verdict === "live" || verdict === "foreign") return false;
      if (verdict === "dead") await this.options.beforeBreak?.();
      const failure = breakLock(path, lock, marker, this.options.dir);
      if (failure === undefined) return true;
      this.failure = failure;
      seen.judgedAt = Infinity;
      return false;
    }
    return false;
  }
}

/**
 * Claims the lock by renaming its tagged name to one of this process (one waiter wins; if this
 * process dies now, the lock names it, and the next waiter judges it), then removes the lock if it
 * is still that file. Undefined when the lock is gone (removed here, or claimed by another
 * waiter); else why it could not be removed (the claim is then given back to the dead owner's
 * name, for a later waiter to try again; kept if even that fails: the lock then names this
 * process, and can be removed once it is gone).
 */
function breakLock(path: string, lock: { ino: number; dev: number }, marker: string, dir: string): string | undefined {
  const claim = join(dir, `${ownTag()}-${uniqueSuffix()}.tmp`);
  try {
    renameSync(marker, claim);
  } catch (e) {
    if (errnoCode(e) === "ENOENT") return undefined; // another waiter claimed it
    return `its owner is gone, but claiming it failed: ${(e as Error).message}`;
  }
  try {
    const now = lstatSync(path);
    if (now.ino === lock.ino && now.dev === lock.dev) unlinkSync(path);
  } catch (e) {
    if (errnoCode(e) !== "ENOENT") {
      try {
        renameSync(claim, marker);
      } catch {
        // Kept under this process's name.
      }
      return `its owner is gone, but removing it failed: ${(e as Error).message}`;
    }
  }
  removeQuietly(claim);
  return undefined;
}
