/**
 * Empty files created ahead of need, off the write path.
 *
 * Creating a file costs far more than writing or renaming one on a loaded disk (measured on this
 * project's machine: `open(O_CREAT|O_EXCL)` 0.35–0.8 ms median, a rename 0.02–0.03 ms): the inode
 * must be allocated, and ext4 without a journal first skips every inode freed in the last minutes
 * (see bench/README.md). A commit creates three files: its small pack and index (`tmp_pack_*`,
 * `tmp_idx_*` in `objects/pack`, renamed into place) and its ref's lock (a link to a spare made in
 * the journal directory: see `LockFile.acquire`). Taken from here, they were created on the thread
 * pool while the process waited for the previous commit's flush.
 *
 * A creation holds its directory's lock throughout, so the writer asks for the next file
 * ({@link SpareFiles.refill}) once its own renames in that directory are done. Spares of a crashed
 * process are removed by others: git's `tmp_pack_*` and `tmp_idx_*` by `git gc` (through
 * `git prune`) once they are old, the journal directory's tagged names (see `owner-tag.ts`;
 * one still linked to a lock is left for a waiter: see `stale-locks.ts`) by the next backend that
 * opens the repository (see `journal-recovery.ts`). A spare found deleted is not used.
 */
import { fstatSync, open, openSync } from "node:fs";
import { join } from "node:path";
import { uniqueSuffix } from "./temp-names.js";
import { closeQuietly, removeQuietly } from "./durability.js";

/** A created, empty file, open for reading and writing. */
export interface SpareFile {
  readonly path: string;
  readonly fd: number;
}

/** A pool of one spare file per prefix (see the module comment). */
export class SpareFiles {
  private ready: SpareFile | undefined;
  private making: Promise<void> | undefined;
  private closed = false;

  /**
   * @param dir where the files are made
   * @param prefix their name before a random part (`tmp_pack_`)
   * @param mode their permission bits (`0o444`: read-only for later opens, as git's packs)
   * @param suffix their name after the random part (`.tmp`)
   */
  constructor(
    private readonly dir: string,
    private readonly prefix: string,
    private readonly mode: number,
    private readonly suffix = "",
  ) {}

  /**
   * The spare file, when one is ready (the caller owns it: writes, renames or deletes it, and
   * closes its descriptor); undefined otherwise. The next one is made at the next {@link refill}.
   */
  take(): SpareFile | undefined {
    let file = this.ready;
    this.ready = undefined;
    // Deleted meanwhile (`git prune` removes old temporary pack files): the writer makes its own.
    if (file !== undefined && !linked(file.fd)) {
      closeQuietly(file.fd);
      file = undefined;
    }
    return file;
  }

  /**
   * The spare file when one is ready, else one made now, synchronously (on the caller's path: a
   * process's first lock, or a refill that has not finished); undefined once closed or when the
   * creation fails (the caller then creates its own file, and sees the error).
   */
  takeOrMake(): SpareFile | undefined {
    const ready = this.take();
    if (ready !== undefined || this.closed) return ready;
    const path = join(this.dir, `${this.prefix}${uniqueSuffix()}${this.suffix}`);
    try {
      return { path, fd: openSync(path, "wx+", this.mode) };
    } catch {
      return undefined;
    }
  }

  /** Takes back a spare file taken but not used: kept when none is ready, else deleted. */
  giveBack(file: SpareFile): void {
    if (this.closed || this.ready !== undefined) discard(file);
    else this.ready = file;
  }

  /** Deletes the spare file, and the one being made; no more are made. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    await this.making;
    const file = this.ready;
    this.ready = undefined;
    if (file !== undefined) discard(file);
  }

  /**
   * Starts making the next spare file, when none is ready or being made; resolves once it is
   * made (or failed: the writer then creates its own file, and sees the error). A creation holds
   * its directory's lock while the file system looks for a free inode, so the writer calls this
   * once its own renames in that directory are done, not when it takes the file: a rename right
   * after would wait for the lock (measured: 0.3–0.4 ms per rename, against 0.02–0.04 ms).
   */
  refill(): Promise<void> {
    if (this.closed || this.ready !== undefined) return Promise.resolve();
    if (this.making !== undefined) return this.making;
    const path = join(this.dir, `${this.prefix}${uniqueSuffix()}${this.suffix}`);
    this.making = new Promise<void>((resolve) => {
      open(path, "wx+", this.mode, (e, fd) => {
        this.making = undefined;
        // A failure is not reported here: the writer creates its own file, and sees the error.
        if (e === null) {
          if (this.closed || this.ready !== undefined) discard({ path, fd });
          else this.ready = { path, fd };
        }
        resolve();
      });
    });
    return this.making;
  }
}

/** Whether the open file still has a name. */
export function linked(fd: number): boolean {
  try {
    return fstatSync(fd).nlink > 0;
  } catch {
    return false;
  }
}

/** Closes and deletes a spare file (synchronously: a close that resolves leaves none behind). */
export function discard(file: SpareFile): void {
  closeQuietly(file.fd);
  removeQuietly(file.path);
}
