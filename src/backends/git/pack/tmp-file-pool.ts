/**
 * Temporary files created ahead of need, so that writing a small pack creates no file on the
 * commit's critical path. Creating a file costs ~0.05 ms on a quiet disk but ~1 ms while other
 * flushes are in progress (measured, see bench/README.md), and a small-pack commit needed two
 * (`.pack` and `.idx`); here they are created on the thread pool after a pack is installed,
 * while the commit goes on with its ref update, and the next commit takes them ready-made.
 *
 * Where they live: the objects directory itself (`objects/tmp_pack_*`, `objects/tmp_idx_*`), not
 * `objects/pack`. Git treats `tmp_*` files in both as its own temporary files (`git prune`, run
 * by `git gc`, removes them once older than `gc.pruneExpire`, at once with `--prune=now`), but
 * `git count-objects -v` reports any `tmp_*` file of `objects/pack` as garbage, which files kept
 * waiting there would make permanent; in `objects/` it reports nothing. A rename from `objects/`
 * into `objects/pack` stays on one file system, and a crash that leaves the files behind leaves
 * empty files git removes on its own terms.
 *
 * A file can vanish under us (`git gc --prune=now` running meanwhile): {@link TmpFilePool.take}
 * checks the link count of what it hands out, and the writer falls back to files created on
 * demand when a rename still finds the name gone.
 */
import { randomBytes } from "node:crypto";
import { fstatSync, open as openCb, unlinkSync } from "node:fs";
import { join } from "node:path";
import { closeQuietly } from "../durability.js";

/** One pre-created empty file: its path and a descriptor open read/write on it. */
export interface TmpFile {
  readonly path: string;
  readonly fd: number;
}

/** The two files a small pack is written through. */
export interface TmpPackFiles {
  readonly pack: TmpFile;
  readonly idx: TmpFile;
}

function createFile(path: string): Promise<number> {
  // O_CREAT|O_EXCL (a name no one else holds), read/write (the pack is read back through it),
  // 0444 like every pack file.
  return new Promise((resolve, reject) => openCb(path, "wx+", 0o444, (e, fd) => (e ? reject(e) : resolve(fd))));
}

/** Closes and removes `file` (best effort: it may already be gone). */
export function discardTmpFile(file: TmpFile): void {
  closeQuietly(file.fd);
  try {
    unlinkSync(file.path);
  } catch {
    // Already removed (renamed, or pruned by git).
  }
}

function alive(file: TmpFile): boolean {
  try {
    return fstatSync(file.fd).nlink > 0;
  } catch {
    return false;
  }
}

/**
 * Up to `size` pairs of empty temporary files in `dir`, refilled in the background. Not shared
 * between processes (each process has its own files, with random names). Owned by a
 * `PackDirectory`, which must {@link close} it.
 */
export class TmpFilePool {
  private ready: TmpPackFiles[] = [];
  private filling: Promise<void> | undefined;
  private closed = false;

  /**
   * @param dir where the files are created (the objects directory: see the module comment).
   * @param size pairs kept ready (default 2: a commit and one concurrent writer).
   */
  constructor(
    readonly dir: string,
    readonly size = 2,
  ) {}

  /** Number of pairs ready now (for tests). */
  get available(): number {
    return this.ready.length;
  }

  /**
   * A pair of ready files, now owned by the caller (who renames or {@link discardTmpFile}s them),
   * or undefined when none is ready (the caller creates its own). Pairs whose files were removed
   * behind our back are discarded here. Cost: one `fstat` per file; no file creation.
   */
  take(): TmpPackFiles | undefined {
    for (;;) {
      const pair = this.ready.pop();
      if (pair === undefined) return undefined;
      if (alive(pair.pack) && alive(pair.idx)) return pair;
      discardTmpFile(pair.pack);
      discardTmpFile(pair.idx);
    }
  }

  /**
   * Starts creating files until `size` pairs are ready, in the background (on the thread pool),
   * unless that is already under way. Never rejects: a file that cannot be created now is
   * simply not in the pool, and writers create theirs on demand.
   */
  refill(): void {
    if (this.closed || this.filling !== undefined || this.ready.length >= this.size) return;
    const run = (async () => {
      while (!this.closed && this.ready.length < this.size) {
        const suffix = randomBytes(6).toString("hex");
        const paths = [join(this.dir, `tmp_pack_${suffix}`), join(this.dir, `tmp_idx_${suffix}`)];
        const made = await Promise.allSettled(paths.map(createFile));
        const files = made.map((r, i) => (r.status === "fulfilled" ? { path: paths[i], fd: r.value } : undefined));
        const [pack, idx] = files;
        if (this.closed || pack === undefined || idx === undefined) {
          for (const f of files) if (f !== undefined) discardTmpFile(f);
          return;
        }
        this.ready.push({ pack, idx });
      }
    })();
    const filling: Promise<void> = run
      .catch(() => undefined)
      .finally(() => {
        if (this.filling === filling) this.filling = undefined;
      });
    this.filling = filling;
  }

  /** Waits for a refill under way (for tests and {@link close}). */
  async settled(): Promise<void> {
    await this.filling;
  }

  /** Removes every file not handed out, after any refill under way; later refills do nothing. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    await this.filling;
    for (const pair of this.ready.splice(0)) {
      discardTmpFile(pair.pack);
      discardTmpFile(pair.idx);
    }
  }
}
