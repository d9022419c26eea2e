/**
 * All the packs of a Git object directory (`<gitdir>/objects/pack`), as one read-mostly object
 * source for the on-disk backend. It follows what git does to the directory behind its back: a
 * lookup that misses rescans the directory (one `readdir`), so packs written by `git gc` or
 * `git repack` are found and packs they deleted are dropped, with no reopening.
 */
import { readdirSync, readFileSync } from "node:fs";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { IrminError, isIrminError } from "../../../core/errors.js";
import type { Hash, HashAlgorithm } from "../../../core/hash.js";
import { isHash } from "../../../core/hash.js";
import type { RawObject } from "../../../codec/object.js";
import { DeltaBaseCache, type DeltaBaseCacheOptions } from "./delta-base-cache.js";
import { encodeWholeEntries, writePackEntries, writePackFile, type WritePackOptions, type WrittenPackWithIndex } from "./pack-file-writer.js";
import { geometricSplit, mergePacks } from "./consolidate.js";
import { closeQuietly, Durability, removeQuietly } from "../durability.js";
import { PackIndex } from "../../../codec/pack/pack-index.js";
import { PackReader } from "./pack-reader.js";
import { GitPackSink } from "./pack-sink.js";
import { SpareFiles } from "../spare-files.js";
import { packOnDisk } from "./on-disk.js";
import type { PackSink } from "../../../backend/object-store.js";

/** Options of {@link PackDirectory}. */
export interface PackDirectoryOptions {
  /** Bounds of the cache of decoded delta bases shared by all packs. */
  cache?: DeltaBaseCacheOptions;
  /** Where unflushed directory entries are noted (default: a private one that flushes). */
  durability?: Durability;
  /** zlib level of the small packs `writeSmallPack` writes (default 1: speed, as loose objects). */
  smallPackCompression?: number;
  /**
   * zlib level of the trees, commits and tags in those small packs (default 0: stored). A tree is
   * mostly object ids, which do not compress: level 1 saves ~18% of a large directory's bytes for
   * 20x the time (measured: 300 µs against 15 µs for a 1,000-entry tree), on every commit that
   * touches it. A commit (~250 bytes) saves ~70 bytes for a native zlib call of 15–30 µs (a
   * compressor set up and torn down), where a stored block is written in JS in ~1 µs.
   */
  smallPackMetadataCompression?: number;
  /**
   * Above this many packs, a small-pack write rolls the smallest ones up geometrically (see
   * `consolidate.ts`; default 16). `Infinity` turns the roll-up off.
   */
  maxPacks?: number;
  /**
   * Check each index's trailing checksum when a pack is first opened (default false, as git: a
   * hash over the whole index is most of the cost of opening a large pack, and every object read
   * is checked against its id anyway).
   */
  verifyIndexChecksum?: boolean;
}

const IDX_NAME = /^pack-([0-9a-f]{40}|[0-9a-f]{64})\.idx$/;

/**
 * Packs this process writes up to this size stay in memory as well as on disk (a commit's pack,
 * ~30 KiB in the store bench, and early roll-ups): the next commit reads its trees, and the next
 * roll-up its entries, with no system call. At most about `maxPacks` such packs are open.
 */
const KEEP_IN_MEMORY = 1 << 20;

/**
 * With a journal (see `durability.ts`), a small pack up to this size is recorded there rather than
 * flushed in place: its bytes are written twice, which costs less than two flush rounds up to
 * a few hundred KiB, and bounds the journal's growth per commit.
 */
const JOURNAL_PACK_BYTES = 256 << 10;

function isMissingFile(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return code === "ENOENT" || code === "ENOTDIR";
}

/**
 * The packs of one directory. Reads are concurrent; packs are opened once and read with
 * positioned reads. A pack whose files are unreadable or malformed is set aside: lookups go on
 * in the other packs, but a lookup that finds nothing elsewhere throws its `CORRUPT` error rather
 * than claiming the object is absent.
 */
export class PackDirectory {
  private packs: { name: string; reader: PackReader }[] = [];
  private readonly broken = new Map<string, IrminError>();
  /** Packs a roll-up replaced, left on disk until the journal's next checkpoint (see `consolidate`). */
  private readonly retiring = new Set<string>();
  /** Packs whose time this process has refreshed for writers (see {@link hasOnDisk}): once each, as git. */
  private readonly freshened = new Set<string>();
  private readonly cache: DeltaBaseCache;
  private external: ((hash: Hash) => Promise<RawObject | undefined>) | undefined;
  private scanned = false;
  private closed = false;
  private queuedScan: Promise<boolean> | undefined;
  private runningScan: Promise<boolean> | undefined;
  private consolidating: Promise<void> | undefined;
  private readonly durability: Durability;
  /** Files for the next small pack, created ahead (see `spare-files.ts`); made at the first small pack. */
  private spares: { pack: SpareFiles; idx: SpareFiles } | undefined;

  constructor(
    readonly packDir: string,
    readonly algorithm: HashAlgorithm,
    private readonly options: PackDirectoryOptions = {},
  ) {
    this.cache = new DeltaBaseCache(options.cache);
    this.durability = options.durability ?? new Durability(true);
  }

  /**
   * The object `hash`, resolved through OFS_DELTA / REF_DELTA chains and checked against its id
   * (`CORRUPT` on mismatch), or undefined when no pack holds it (after a rescan of the
   * directory). A malformed id is simply absent. Cost: one binary search per pack, then one
   * positioned read per entry of the delta chain not in the base cache.
   */
  async get(hash: Hash): Promise<RawObject | undefined> {
    this.live();
    if (!isHash(hash, this.algorithm)) return undefined;
    await this.ensureScanned();
    const found = await this.lookup(hash, 0);
    if (found !== undefined) return found;
    // Look again even when this rescan changed nothing: a concurrent one may have opened the
    // pack in the meantime, or dropped the pack the first lookup tried.
    await this.rescan();
    const again = await this.lookup(hash, 0);
    if (again !== undefined) return again;
    this.throwIfBroken();
    return undefined;
  }

  /**
   * Whether a pack on disk holds `hash`: index lookups in the packs open, then a check that the
   * pack answering is still on disk; after a miss or a deleted pack, a rescan and the same again.
   */
  async has(hash: Hash): Promise<boolean> {
    this.live();
    if (!isHash(hash, this.algorithm)) return false;
    await this.ensureScanned();
    return (await this.onDisk(hash, false)) !== undefined;
  }

  /**
   * For writers: whether a pack on disk holds each of `hashes`. Looks in the packs open; each pack
   * answering is checked once per call to be still on disk, and its time refreshed the first time
   * in this process (see `packOnDisk`; as git freshens a packed object it does not write again, so
   * that a concurrent gc keeps it). Rescans only when a pack answering was deleted (a git gc or
   * repack since), not on a miss: missing a pack that appeared a moment ago only costs a redundant
   * copy, while a rescan per new object would cost a `readdir` each. `freshen` false: checked only
   * (before a ref update, which makes the object reachable anyway).
   */
  async hasOnDisk(hashes: readonly Hash[], freshen = true): Promise<boolean[]> {
    this.live();
    await this.ensureScanned();
    const checked = new Map<string, boolean>();
    const out: boolean[] = [];
    for (const hash of hashes) {
      const held = isHash(hash, this.algorithm) ? this.packs.find((p) => p.reader.has(hash)) : undefined;
      if (held === undefined) {
        out.push(false);
        continue;
      }
      let present = checked.get(held.name);
      if (present === undefined) {
        const refresh = freshen && !this.freshened.has(held.name);
        present = packOnDisk(this.packDir, held.name, refresh);
        if (present && refresh) this.freshened.add(held.name);
        checked.set(held.name, present);
      }
      out.push(present || (await this.onDisk(hash, freshen)) !== undefined);
    }
    return out;
  }

  /**
   * The name of a pack on disk holding `hash` (see `packOnDisk` for `freshen`), looked up in the
   * packs open, then again after a rescan (which drops deleted packs), or undefined.
   */
  private async onDisk(hash: Hash, freshen: boolean): Promise<string | undefined> {
    for (let round = 0; round < 2; round++) {
      if (round > 0) await this.rescan();
      for (const p of this.packs) if (p.reader.has(hash) && packOnDisk(this.packDir, p.name, freshen)) return p.name;
    }
    this.throwIfBroken();
    return undefined;
  }

  /**
   * Whether one of the packs already open holds `hash`, without rescanning on a miss or checking
   * that the pack is still on disk: for reads, whose bytes are the object's either way.
   */
  async hasKnown(hash: Hash): Promise<boolean> {
    this.live();
    if (!isHash(hash, this.algorithm)) return false;
    await this.ensureScanned();
    return this.packs.some((p) => p.reader.has(hash));
  }

  /** Every id in the packs, each once (deduplicated across packs), after a rescan. */
  async *hashes(): AsyncIterable<Hash> {
    this.live();
    await this.rescan();
    this.throwIfBroken();
    const packs = this.packs.slice();
    if (packs.length === 1) {
      yield* packs[0].reader.index.hashes();
      return;
    }
    const seen = new Set<Hash>();
    for (const p of packs) {
      for (const h of p.reader.index.hashes()) {
        if (seen.has(h)) continue;
        seen.add(h);
        yield h;
      }
    }
  }

  /**
   * Where REF_DELTA bases not found in any pack come from (the backend's loose objects). The
   * resolver must return a verified object or undefined.
   */
  setExternalResolver(fn: (hash: Hash) => Promise<RawObject | undefined>): void {
    this.external = fn;
  }

  /**
   * The object `hash` as the first open pack holding it stores it (see `PackReader.storedEntry`),
   * or undefined when no open pack holds it (no rescan: the caller falls back to {@link get}).
   */
  getStored(hash: Hash): ReturnType<PackReader["storedEntry"]> {
    this.live();
    if (!isHash(hash, this.algorithm)) return undefined;
    for (const p of this.packs) {
      if (!p.reader.has(hash)) continue;
      try {
        return p.reader.storedEntry(hash);
      } catch (e) {
        // A pack dropped by a concurrent rescan: the checked read path finds the object.
        if (isIrminError(e, "CLOSED")) return undefined;
        throw e;
      }
    }
    return undefined;
  }

  /**
   * A sink that keeps a received pack as it is (see `ObjectStore.openPackSink`): on commit the
   * pack and its index are renamed into this directory, noted for the durability barrier, and
   * opened here at once (a rescan).
   */
  openPackSink(): PackSink {
    this.live();
    return new GitPackSink(this.packDir, this.algorithm, this.durability, async () => {
      await this.rescan();
    });
  }

  /**
   * Writes one pack plus version 2 index holding `objects` (see {@link writePackFile}: temporary
   * files, `.pack` renamed first, `.idx` last, so the pack is visible only when complete) and
   * makes it readable here at once. Returns the pack's checksum name (empty for no objects) and
   * the number of distinct objects.
   */
  async writePack(
    objects: AsyncIterable<RawObject> | Iterable<RawObject>,
    options: WritePackOptions = {},
  ): Promise<{ name: string; count: number }> {
    this.live();
    const written = await writePackFile(this.packDir, this.algorithm, objects, options);
    if (written.count > 0) await this.rescan();
    return { name: written.name, count: written.count };
  }

  /**
   * Writes `objects` (distinct ids, computed by the caller) as one small pack of whole entries,
   * flushed and renamed into place (see {@link writePackEntries}), and opens it at once with the
   * index bytes in hand (no directory scan, no read of the index). Its directory entry is noted
   * in the durability barrier, whose flush starts at once, not awaited: the pack's bytes are
   * already flushed and its entry must be durable only before a ref names it, which the ref
   * update ensures by awaiting the barrier; started here, the directory flush overlaps the ref
   * store's lock, read and lock-file write (measured: the wait at the barrier fell from a median
   * of 0.41–0.54 ms to 0.12–0.17 ms). With a journal (the default durability) a pack up to
   * `JOURNAL_PACK_BYTES` is not flushed at all: the next ref update records its bytes in the
   * journal. When there are then more than `maxPacks` packs, the smallest
   * are rolled up geometrically before this resolves (awaited on purpose: see bench/README.md,
   * a roll-up in the background was measured no faster, its flushes delay the next commits').
   * Returns the pack's name.
   */
  async writeSmallPack(objects: readonly { hash: Hash; type: RawObject["type"]; data: Uint8Array }[]): Promise<string> {
    this.live();
    await this.ensureScanned();
    const entries = encodeWholeEntries(objects, this.options.smallPackCompression ?? 1, this.options.smallPackMetadataCompression ?? 0);
    const journal = this.durability.journaled && entries.reduce((n, e) => n + e.bytes.length, 0) <= JOURNAL_PACK_BYTES;
    this.spares ??= { pack: new SpareFiles(this.packDir, "tmp_pack_", 0o444), idx: new SpareFiles(this.packDir, "tmp_idx_", 0o444) };
    const spare = { pack: this.spares.pack.take(), idx: this.spares.idx.take() };
    const written = await writePackEntries(this.packDir, this.algorithm, entries, { fsync: this.durability.enabled && !journal, keepOpen: true, spare });
    if (journal) {
      const base = join(this.packDir, `pack-${written.name}`);
      this.durability.notePack({ name: written.name, pack: written.bytes, index: written.index }, [`${base}.pack`, `${base}.idx`], this.packDir);
    } else {
      this.durability.noteDir(this.packDir);
      this.durability.start();
    }
    this.adopt(written);
    if (this.packs.length > (this.options.maxPacks ?? 16)) await this.consolidate();
    // Made after this commit's renames in the directory (see SpareFiles.refill).
    const spares = this.spares;
    void spares.pack.refill().then(() => spares.idx.refill());
    return written.name;
  }

  /**
   * Rolls the smallest packs up into one (geometric, factor 2; packs with a `.keep` file are left
   * alone), flushes the new pack and its directory entry, then deletes the packs it replaces
   * (index first). With a journal, the flush and the deletions wait for its next checkpoint (one
   * flush round for many roll-ups; this process stops reading the old packs at once). Concurrent
   * calls share one run. Safe against other processes: a pack is only deleted once a durable pack
   * holds all its objects, and readers that lose a pack find the objects in the new one. Resolves
   * to the number of packs merged (0 when nothing to do).
   */
  async consolidate(): Promise<number> {
    this.live();
    while (this.consolidating !== undefined) await this.consolidating.catch(() => undefined);
    let merged = 0;
    const run = (async () => {
      await this.ensureScanned();
      // One listing instead of a lookup per pack and per file kind (creating and deleting files
      // is what a roll-up mostly pays for on the commit path).
      const files = new Set(readdirSync(this.packDir));
      const candidates = this.packs.filter((p) => !files.has(`pack-${p.name}.keep`)).sort((a, b) => a.reader.index.count - b.reader.index.count);
      const split = geometricSplit(
        candidates.map((p) => p.reader.index.count),
        2,
      );
      if (split < 2) return;
      const sources = candidates.slice(0, split);
      const journaled = this.durability.journaled;
      let written: WrittenPackWithIndex;
      try {
        written = await mergePacks(
          this.packDir,
          this.algorithm,
          sources.map((p) => p.reader),
          { fsync: this.durability.enabled && !journaled, level: this.options.smallPackCompression ?? 1, keepOpen: true },
        );
      } catch (e) {
        // A source was deleted by another process's roll-up (or a git gc) and dropped by a
        // rescan: its objects are in a newer pack. The next roll-up starts from the packs as
        // they are then.
        if (isIrminError(e, "CLOSED") && !this.closed) return;
        throw e;
      }
      // Readable at once; its directory entry must be durable before the old packs go.
      this.adopt(written);
      const gone = new Set(sources.filter((p) => p.name !== written.name).map((p) => p.name));
      // The index first: a pack without one is invisible. Then its other files (`.rev`,
      // `.bitmap`, `.mtimes`...) as listed.
      const obsolete = [...gone].flatMap((name) => {
        const prefix = `pack-${name}.`;
        return [`${prefix}idx`, ...[...files].filter((f) => f.startsWith(prefix) && f !== `${prefix}idx`)].map((f) => join(this.packDir, f));
      });
      if (journaled) {
        // Flushed, then the old packs deleted, by the next checkpoint; hidden from rescans until then.
        const base = join(this.packDir, `pack-${written.name}`);
        for (const name of gone) this.retiring.add(name);
        this.durability.noteRollUp([`${base}.pack`, `${base}.idx`], this.packDir, obsolete, () => {
          for (const name of gone) this.retiring.delete(name);
        });
      } else {
        this.durability.noteDir(this.packDir);
        await this.durability.flushNoted();
        // Already gone after a concurrent gc or roll-up: fine.
        for (const f of obsolete) removeQuietly(f);
        this.durability.noteDir(this.packDir);
      }
      this.drop(gone);
      merged = sources.length;
    })();
    this.consolidating = run;
    try {
      await run;
    } finally {
      this.consolidating = undefined;
    }
    return merged;
  }

  /** Opens a pack this process has just written, from its index bytes and the descriptor it was written through. */
  private adopt(written: WrittenPackWithIndex): void {
    if (this.packs.some((p) => p.name === written.name)) {
      closeQuietly(written.fd);
      return;
    }
    const index = PackIndex.parse(written.index, this.algorithm, { verifyChecksum: false });
    const options = { cache: this.cache, cacheKey: written.name };
    const reader =
      written.fd !== undefined
        ? PackReader.adopt(written.fd, written.size, index, options, written.size <= KEEP_IN_MEMORY ? written.bytes : undefined)
        : PackReader.openSync(join(this.packDir, `pack-${written.name}.pack`), index, options);
    this.packs = [{ name: written.name, reader }, ...this.packs];
  }

  /** Forgets (and closes, once their reads finish) the packs named in `names`. */
  private drop(names: ReadonlySet<string>): void {
    const kept = [];
    for (const p of this.packs) {
      if (!names.has(p.name)) {
        kept.push(p);
        continue;
      }
      this.cache.dropPrefix(`${p.name}:`);
      void p.reader.close().catch(() => undefined);
    }
    this.packs = kept;
  }

  /**
   * Rescans the directory now: opens new packs, drops vanished ones. Resolves to whether the set
   * of packs changed. Concurrent calls share one scan that starts after the call.
   */
  async rescan(): Promise<boolean> {
    this.live();
    if (this.queuedScan !== undefined) return this.queuedScan;
    const before = this.runningScan ?? Promise.resolve(false);
    const scan: Promise<boolean> = before
      .catch(() => false)
      .then(() => {
        this.queuedScan = undefined;
        this.runningScan = scan;
        return this.scan();
      })
      .finally(() => {
        if (this.runningScan === scan) this.runningScan = undefined;
      });
    this.queuedScan = scan;
    return scan;
  }

  /** Names (checksums) of the packs currently open, newest first. */
  packNames(): string[] {
    return this.packs.map((p) => p.name);
  }

  /** Closes every pack file; later calls throw `CLOSED`. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.runningScan?.catch(() => undefined);
    await this.consolidating?.catch(() => undefined);
    await Promise.all([this.spares?.pack.close(), this.spares?.idx.close()]);
    const packs = this.packs;
    this.packs = [];
    await Promise.all(packs.map((p) => p.reader.close()));
  }

  private live(): void {
    if (this.closed) throw new IrminError("CLOSED", "the pack directory is closed");
  }

  private async ensureScanned(): Promise<void> {
    if (!this.scanned) await this.rescan();
  }

  private throwIfBroken(): void {
    for (const e of this.broken.values()) throw e;
  }

  private async lookup(hash: Hash, depth: number): Promise<RawObject | undefined> {
    for (const p of this.packs.slice()) {
      if (!p.reader.has(hash)) continue;
      try {
        return await p.reader.get(hash, this.resolveBase, depth);
      } catch (e) {
        // The pack was dropped by a concurrent rescan; the object may live in a newer pack.
        if (isIrminError(e, "CLOSED") && !this.closed) continue;
        throw e;
      }
    }
    return undefined;
  }

  private readonly resolveBase = async (hash: Hash, depth: number): Promise<RawObject | undefined> => {
    return (await this.lookup(hash, depth)) ?? (await this.external?.(hash));
  };

  /**
   * Scans until a listing's packs could all be opened (bounded). A pack that vanishes between the
   * listing and its opening was replaced (a roll-up by another process, a `git gc`): its objects
   * are in a pack written before it was deleted, which the next listing shows. Stopping at the
   * first listing would report those objects missing.
   */
  private async scan(): Promise<boolean> {
    let changed = false;
    for (let round = 0; round < 8; round++) {
      const r = await this.scanOnce();
      changed ||= r.changed;
      if (!r.vanished || this.closed) break;
    }
    return changed;
  }

  private async scanOnce(): Promise<{ changed: boolean; vanished: boolean }> {
    // Packs this process adopts while the listing is read (its own small packs and roll-ups) may
    // be missing from it: only those open before the listing began can have vanished. After the
    // listing, everything runs without yielding, against the packs as they are then.
    const before = new Set(this.packs.map((p) => p.name));
    let files: string[];
    try {
      files = await readdir(this.packDir);
    } catch (e) {
      if (!isMissingFile(e)) throw new IrminError("IO", `listing ${this.packDir}: ${(e as Error).message}`, { cause: e });
      files = [];
    }
    if (this.closed) return { changed: false, vanished: false };
    const present = new Set<string>();
    for (const f of files) {
      const m = IDX_NAME.exec(f);
      if (m !== null) present.add(m[1]);
    }
    let changed = false;
    const kept = [];
    for (const p of this.packs) {
      if (present.has(p.name) || !before.has(p.name)) {
        kept.push(p);
        continue;
      }
      changed = true;
      this.cache.dropPrefix(`${p.name}:`);
      void p.reader.close().catch(() => undefined);
    }
    for (const name of this.broken.keys()) if (!present.has(name)) this.broken.delete(name);
    const known = new Set(kept.map((p) => p.name));
    const added: { name: string; reader: PackReader }[] = [];
    let vanished = false;
    for (const name of present) {
      if (known.has(name) || this.broken.has(name) || this.retiring.has(name)) continue;
      const reader = this.openPack(name);
      if (reader === undefined) {
        vanished ||= !this.broken.has(name);
        continue;
      }
      added.push({ name, reader });
      changed = true;
    }
    this.packs = [...added, ...kept];
    this.scanned = true;
    return { changed, vanished };
  }

  private openPack(name: string): PackReader | undefined {
    const base = join(this.packDir, `pack-${name}`);
    try {
      const bytes = readFileSync(`${base}.idx`);
      const index = PackIndex.parse(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), this.algorithm, {
        verifyChecksum: this.options.verifyIndexChecksum ?? false,
      });
      return PackReader.openSync(`${base}.pack`, index, { cache: this.cache, cacheKey: name });
    } catch (e) {
      // Removed between readdir and open (a concurrent gc): simply not there.
      if (isMissingFile(e)) return undefined;
      const err = isIrminError(e)
        ? e.code === "CORRUPT"
          ? new IrminError("CORRUPT", `pack-${name}: ${e.message}`, { cause: e })
          : e
        : new IrminError("IO", `opening pack-${name}: ${(e as Error).message}`, { cause: e });
      this.broken.set(name, err);
      return undefined;
    }
  }
}
