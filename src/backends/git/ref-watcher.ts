import { type FSWatcher, watch } from "node:fs";
import type { Hash } from "../../core/hash.js";
import type { RefChange } from "../../backend/ref-store.js";

/** What {@link ExternalRefWatcher} needs from the ref store. */
export interface RefWatcherSource {
  /** The Git directory: `refs/` and `packed-refs` are watched. */
  readonly gitDir: string;
  /** Every ref (name → id), read synchronously: the baseline when the watch starts. */
  snapshotSync(): Map<string, Hash>;
  /** Every ref (name → id). */
  snapshot(): Promise<Map<string, Hash>>;
  /** Delivers a change to the watch callbacks. */
  emit(change: RefChange): void;
}

/**
 * Notices ref changes made outside this ref store (another process, `git update-ref`,
 * `git pack-refs`, `git gc`): `fs.watch` on `refs/` (recursive) and on the Git directory (for
 * `packed-refs`) triggers a rescan, and a low-frequency poll covers what `fs.watch` misses
 * (network file systems, overflowing event queues). Each rescan reads every ref and emits the
 * differences from the previous one, so only real changes are reported, once each.
 *
 * Local writes go through {@link noteLocal}, which keeps the baseline current, so a rescan never
 * reports them a second time. Nothing here keeps the process alive (unreferenced timers,
 * non-persistent watchers). Cost while running: one read of every ref per rescan.
 */
export class ExternalRefWatcher {
  private snapshot: Map<string, Hash>;
  private readonly fsWatchers: FSWatcher[] = [];
  private poll: NodeJS.Timeout | undefined;
  private debounce: NodeJS.Timeout | undefined;
  private version = 0;
  private scanning = false;
  private again = false;
  private stopped = false;

  /**
   * Takes the baseline synchronously, so that every change after the constructor returns is
   * reported, then starts watching.
   */
  constructor(
    private readonly source: RefWatcherSource,
    pollIntervalMs: number,
  ) {
    this.snapshot = source.snapshotSync();
    const trigger = () => this.schedule();
    for (const [path, recursive] of [
      [`${source.gitDir}/refs`, true],
      [source.gitDir, false],
    ] as const) {
      try {
        const w = watch(path, { recursive, persistent: false }, trigger);
        w.on("error", () => undefined); // e.g. the directory was removed; the poll still runs
        this.fsWatchers.push(w);
      } catch {
        // fs.watch is unavailable here (some network or container file systems): the poll suffices.
      }
    }
    this.poll = setInterval(trigger, pollIntervalMs);
    this.poll.unref();
  }

  /**
   * Records a change made by this store before it is emitted, and says whether it still must be:
   * a rescan that ran between the ref file's rename and this call has already reported it (the
   * baseline holds its `after`), and reporting it again, or the "change back" in between, would
   * be wrong. When the baseline holds something else than the change's `before`, an external
   * change happened in between and is emitted first.
   */
  noteLocal(change: RefChange): boolean {
    this.version++;
    const known = this.snapshot.get(change.name);
    if (known === change.after) return false;
    if (known !== change.before) this.source.emit({ name: change.name, before: known, after: change.before });
    if (change.after === undefined) this.snapshot.delete(change.name);
    else this.snapshot.set(change.name, change.after);
    return true;
  }

  /** Stops watching: closes the file watchers and clears the timers. Idempotent. */
  stop(): void {
    this.stopped = true;
    for (const w of this.fsWatchers) w.close();
    this.fsWatchers.length = 0;
    if (this.poll !== undefined) clearInterval(this.poll);
    if (this.debounce !== undefined) clearTimeout(this.debounce);
  }

  /** Rescans soon; a burst of file events (a `git pack-refs` touches many files) makes one rescan. */
  private schedule(): void {
    if (this.stopped || this.debounce !== undefined) return;
    this.debounce = setTimeout(() => {
      this.debounce = undefined;
      void this.rescan();
    }, 15);
    this.debounce.unref();
  }

  private async rescan(): Promise<void> {
    if (this.scanning) {
      this.again = true;
      return;
    }
    this.scanning = true;
    try {
      // A scan that overlapped a local write may hold values older than the baseline: redo it.
      for (let round = 0; round < 5 && !this.stopped; round++) {
        this.again = false;
        const version = this.version;
        const next = await this.source.snapshot();
        if (this.stopped) return;
        if (version !== this.version) {
          this.again = true;
          continue;
        }
        const before = this.snapshot;
        this.snapshot = next;
        for (const [name, hash] of next) {
          if (before.get(name) !== hash) this.source.emit({ name, before: before.get(name), after: hash });
        }
        for (const [name, hash] of before) {
          if (!next.has(name)) this.source.emit({ name, before: hash, after: undefined });
        }
        if (!this.again) break;
      }
    } catch {
      // A ref caught mid-change or a transient I/O error: the next event or poll rescans.
    } finally {
      this.scanning = false;
    }
    if (this.again && !this.stopped) this.schedule();
  }
}
