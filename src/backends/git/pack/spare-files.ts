/**
 * Empty temporary files created ahead of need, off the write path.
 *
 * Creating a file costs far more than writing or renaming one on a loaded disk (measured on this
 * project's machine: `open(O_CREAT|O_EXCL)` 0.7–0.8 ms median in `objects/pack`, a rename
 * 0.02–0.03 ms): the inode must be allocated, which may read its table from the disk. A commit
 * writes a small pack and its index through two such files. Taken from here, they were created on
 * the thread pool while the process did other work (the previous commit's ref update, the next
 * commit's trees); each file taken starts the creation of its replacement.
 *
 * The files are named as git names its own temporary pack files (`tmp_pack_*`, `tmp_idx_*`), which
 * `git gc` (through `git prune`) removes when a crash leaves them behind, and when they are old: a
 * spare found deleted is not used.
 */
import { randomBytes } from "node:crypto";
import { fstatSync, open } from "node:fs";
import { join } from "node:path";
import { closeQuietly, removeQuietly } from "../durability.js";

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
   * @param prefix their name before a random suffix (`tmp_pack_`)
   * @param mode their permission bits (`0o444`: read-only for later opens, as git's packs)
   */
  constructor(
    private readonly dir: string,
    private readonly prefix: string,
    private readonly mode: number,
  ) {}

  /**
   * The spare file, when one is ready (the caller owns it: writes, renames or deletes it, and
   * closes its descriptor); undefined otherwise. Either way the creation of the next one starts.
   */
  take(): SpareFile | undefined {
    let file = this.ready;
    this.ready = undefined;
    // Deleted meanwhile (`git prune` removes old temporary pack files): the writer makes its own.
    if (file !== undefined && !linked(file.fd)) {
      closeQuietly(file.fd);
      file = undefined;
    }
    this.refill();
    return file;
  }

  /** Deletes the spare file, and the one being made. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    await this.making;
    const file = this.ready;
    this.ready = undefined;
    if (file !== undefined) discard(file);
  }

  private refill(): void {
    if (this.closed || this.making !== undefined) return;
    const path = join(this.dir, `${this.prefix}${randomBytes(6).toString("hex")}`);
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
  }
}

/** Whether the open file still has a name. */
function linked(fd: number): boolean {
  try {
    return fstatSync(fd).nlink > 0;
  } catch {
    return false;
  }
}

/** Closes and deletes a spare file (synchronously: a close that resolves leaves none behind). */
function discard(file: SpareFile): void {
  closeQuietly(file.fd);
  removeQuietly(file.path);
}
