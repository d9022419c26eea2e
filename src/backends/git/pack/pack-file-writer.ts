/**
 * Writing a pack and its version 2 index into a pack directory, atomically and in git's order:
 * both go to temporary files (`tmp_pack_*`, `tmp_idx_*`, names git's own gc cleans up if we
 * crash), then the `.pack` is renamed into place, then the `.idx`. Readers only look for `.idx`
 * files, so a pack becomes visible only once it is complete.
 */
import { openSync, renameSync, unlinkSync } from "node:fs";
import { open, rename, unlink, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import { crc32 as zlibCrc32 } from "node:zlib";
import { uniqueSuffix } from "../temp-names.js";
import { IrminError, invalidArgument, isIrminError } from "../../../core/errors.js";
import type { Hash, HashAlgorithm } from "../../../core/hash.js";
import { digestLength, toHex, writeHex } from "../../../core/hash.js";
import { hashObject, isObjectType, type RawObject } from "../../../codec/object.js";
import { createHasher } from "../../../platform/native.js";
import { DeltaWindow, type DeltaWindowOptions } from "../../../codec/pack/delta-window.js";
import type { PackIndexEntry } from "../../../codec/pack/pack-index.js";
import { writePackIndex, writePackIndexColumns } from "../../../codec/pack/pack-index.js";
import { PACK_HEADER_LENGTH, encodePackHeader } from "../../../codec/pack/pack-format.js";
import { DEFAULT_PACK_COMPRESSION, encodeObjectEntry, encodeOfsDeltaEntry } from "../../../codec/pack/pack-writer.js";
import { closeQuietly, datasync } from "../durability.js";
import { writeAllSync } from "../loose-objects.js";
import { discard, type SpareFile } from "../spare-files.js";

/** Options of {@link writePackFile}. */
export interface WritePackOptions {
  /**
   * Store objects as OFS_DELTAs against similar ones (default false). Deltas need the objects
   * sorted (by type, then size, largest first, as git does), so they are all held in memory
   * first; without deltas objects stream through one at a time.
   */
  deltas?: boolean | DeltaWindowOptions;
  /** zlib level (default {@link DEFAULT_PACK_COMPRESSION}). */
  compression?: number;
}

/** What {@link writePackFile} wrote. */
export interface WrittenPack {
  /** Hex checksum of the pack: the files are `pack-<name>.pack` and `pack-<name>.idx`. Empty when nothing was written. */
  readonly name: string;
  /** Number of distinct objects in the pack. */
  readonly count: number;
  /** The index triples, in pack order. */
  readonly entries: readonly PackIndexEntry[];
}

function wrapIo(e: unknown, what: string): unknown {
  if (isIrminError(e)) return e;
  return new IrminError("IO", `${what}: ${(e as Error).message}`, { cause: e });
}

async function writeAll(file: FileHandle, bytes: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < bytes.length) {
    const { bytesWritten } = await file.write(bytes, done, bytes.length - done, position + done);
    done += bytesWritten;
  }
}

async function* sortedForDeltas(objects: AsyncIterable<RawObject> | Iterable<RawObject>): AsyncIterable<RawObject> {
  const all: RawObject[] = [];
  for await (const o of objects) all.push(o);
  const rank = { commit: 0, tree: 1, blob: 2, tag: 3 } as const;
  all.sort((a, b) => rank[a.type] - rank[b.type] || b.data.length - a.data.length);
  yield* all;
}

/**
 * Writes `objects` (duplicates are stored once) as one pack plus index in `packDir`. Returns the
 * pack's name; writes nothing and returns an empty name when there are no objects. A pack of the
 * same name (same objects, same order) is replaced by identical bytes. Throws
 * `INVALID_ARGUMENT` for an object of unknown type, `IO` when the filesystem refuses; on any
 * failure the temporary files are removed and nothing becomes visible.
 */
export async function writePackFile(
  packDir: string,
  algorithm: HashAlgorithm,
  objects: AsyncIterable<RawObject> | Iterable<RawObject>,
  options: WritePackOptions = {},
): Promise<WrittenPack> {
  const level = options.compression ?? DEFAULT_PACK_COMPRESSION;
  const window = options.deltas ? new DeltaWindow(options.deltas === true ? {} : options.deltas) : undefined;
  const source = window ? sortedForDeltas(objects) : objects;
  const suffix = uniqueSuffix();
  const tmpPack = join(packDir, `tmp_pack_${suffix}`);
  const tmpIdx = join(packDir, `tmp_idx_${suffix}`);
  let file: FileHandle | undefined;
  let idxFile: FileHandle | undefined;
  const cleanup = async () => {
    await file?.close().catch(() => undefined);
    await idxFile?.close().catch(() => undefined);
    await unlink(tmpPack).catch(() => undefined);
    await unlink(tmpIdx).catch(() => undefined);
  };
  try {
    try {
      file = await open(tmpPack, "wx+", 0o444);
    } catch (e) {
      throw wrapIo(e, `creating ${tmpPack}`);
    }
    const entries: PackIndexEntry[] = [];
    const seen = new Set<Hash>();
    // The header needs the count, unknown until the end: write a placeholder and fix it up.
    let position = PACK_HEADER_LENGTH;
    for await (const o of source) {
      if (!isObjectType(o.type) || !(o.data instanceof Uint8Array)) throw invalidArgument("writePack: not a Git object");
      const hash = hashObject(algorithm, o.type, o.data);
      if (seen.has(hash)) continue;
      seen.add(hash);
      const choice = window?.choose(o.type, o.data);
      const bytes = choice ? encodeOfsDeltaEntry(position - choice.baseOffset, choice.delta, level) : encodeObjectEntry(o.type, o.data, level);
      window?.add(o.type, o.data, position, choice?.depth ?? 0);
      entries.push({ hash, offset: position, crc32: entryCrc(bytes) });
      await writeAll(file, bytes, position);
      position += bytes.length;
    }
    if (entries.length === 0) {
      await cleanup();
      return { name: "", count: 0, entries };
    }
    await writeAll(file, encodePackHeader(entries.length), 0);
    // One sequential pass to checksum what is on disk (as git's fixup_pack_header_footer does).
    const hasher = createHasher(algorithm);
    const chunk = new Uint8Array(1 << 20);
    for (let at = 0; at < position; ) {
      const { bytesRead } = await file.read(chunk, 0, Math.min(chunk.length, position - at), at);
      if (bytesRead === 0) throw new IrminError("IO", `${tmpPack} shrank while being written`);
      hasher.update(chunk.subarray(0, bytesRead));
      at += bytesRead;
    }
    const checksum = hasher.digest();
    await writeAll(file, checksum, position);
    await file.sync();
    await file.close();
    file = undefined;
    const name = toHex(checksum);
    await rename(tmpPack, join(packDir, `pack-${name}.pack`));
    const idx = writePackIndex(entries, checksum, algorithm);
    idxFile = await open(tmpIdx, "wx", 0o444);
    await writeAll(idxFile, idx, 0);
    await idxFile.sync();
    await idxFile.close();
    idxFile = undefined;
    await rename(tmpIdx, join(packDir, `pack-${name}.idx`));
    await syncDir(packDir);
    return { name, count: entries.length, entries };
  } catch (e) {
    await cleanup();
    throw wrapIo(e, "writing pack");
  }
}

/** fsync of the directory so the renames survive a crash; not every platform allows it. */
async function syncDir(dir: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(dir, "r");
    await handle.sync();
  } catch {
    // Best effort: some filesystems refuse fsync on directories.
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

/** One entry of a pack being assembled in memory: its id and its complete encoded bytes. */
export interface EncodedEntry {
  readonly hash: Hash;
  /** Entry header, delta base (if any) and zlib data, exactly as they go into the pack. */
  readonly bytes: Uint8Array;
  /** CRC-32 of `bytes` when the caller already knows it (an entry copied as is); computed otherwise. */
  readonly crc32?: number;
}

/** A pack written by {@link writePackEntries}: also its index bytes, so it opens with no read. */
export interface WrittenPackWithIndex extends Omit<WrittenPack, "entries"> {
  readonly index: Uint8Array;
  /** Size of the `.pack` file in bytes. */
  readonly size: number;
  /**
   * With `keepOpen`, a read-only-use descriptor of the `.pack` (opened read/write to write it),
   * owned by the caller, so that the pack is read with no second `open`; undefined otherwise.
   */
  readonly fd?: number;
  /** The `.pack` file's bytes, as written (not to be changed). */
  readonly bytes: Uint8Array;
}

/** CRC-32 of pack entries: zlib's native one (this is Node-only code; Node >= 20.15 has it), ~50x the pure one. */
const entryCrc = (data: Uint8Array): number => zlibCrc32(data);

/**
 * Writes a pack of already encoded entries, in the given order (OFS_DELTA distances must hold
 * for the positions they get here: the first entry sits at offset 12), plus its index, from
 * memory: one write per file, both files flushed in parallel when `fsync` (one device round trip
 * instead of two), then `.pack` and `.idx` renamed into place in that order (the `.idx` makes the
 * pack visible). The directory entry is the caller's to flush. Ids must be distinct. Returns an
 * empty name for no entries. `IO` when the file system refuses; nothing is left behind then.
 * Cost: two file creations, two renames, one pass of CRC-32 and of the pack hash over the bytes
 * (no CRC pass for entries that bring theirs).
 */
export async function writePackEntries(
  packDir: string,
  algorithm: HashAlgorithm,
  entries: readonly EncodedEntry[],
  options: { fsync: boolean; keepOpen?: boolean; spare?: { pack?: SpareFile; idx?: SpareFile } },
): Promise<WrittenPackWithIndex> {
  if (entries.length === 0) {
    // Spare files given for nothing: not kept.
    for (const f of [options.spare?.pack, options.spare?.idx]) if (f !== undefined) discard(f);
    return { name: "", count: 0, index: new Uint8Array(0), size: 0, bytes: new Uint8Array(0) };
  }
  const header = encodePackHeader(entries.length);
  const parts: Uint8Array[] = [header];
  // The index's columns, built directly: the ids are ours (hashed here or read from an index),
  // so the per-id check of writePackIndex is not needed.
  const h = digestLength(algorithm);
  const ids = new Uint8Array(entries.length * h);
  const offsets: number[] = [];
  const crcs: number[] = [];
  let position = PACK_HEADER_LENGTH;
  const hasher = createHasher(algorithm);
  hasher.update(header);
  for (const e of entries) {
    const crc = e.crc32 ?? entryCrc(e.bytes);
    writeHex(e.hash, ids, offsets.length * h);
    offsets.push(position);
    crcs.push(crc);
    hasher.update(e.bytes);
    parts.push(e.bytes);
    position += e.bytes.length;
  }
  const checksum = hasher.digest();
  parts.push(checksum);
  const pack = Buffer.concat(parts);
  const index = writePackIndexColumns(ids, offsets, crcs, entries.length, checksum, algorithm);
  const name = toHex(checksum);
  const suffix = uniqueSuffix();
  // Files created ahead (see spare-files.ts) when the caller has them.
  const tmpPack = options.spare?.pack?.path ?? join(packDir, `tmp_pack_${suffix}`);
  const tmpIdx = options.spare?.idx?.path ?? join(packDir, `tmp_idx_${suffix}`);
  let packFd: number | undefined = options.spare?.pack?.fd;
  let idxFd: number | undefined = options.spare?.idx?.fd;
  let renamed = false;
  try {
    // Read/write when the caller keeps the descriptor to read the pack (mode 0444 binds later opens only).
    packFd ??= openSync(tmpPack, options.keepOpen ? "wx+" : "wx", 0o444);
    idxFd ??= openSync(tmpIdx, "wx", 0o444);
    writeAllSync(packFd, pack);
    writeAllSync(idxFd, index);
    if (options.fsync) await Promise.all([datasync(packFd), datasync(idxFd)]);
    closeQuietly(idxFd);
    idxFd = undefined;
    if (!options.keepOpen) {
      closeQuietly(packFd);
      packFd = undefined;
    }
    renameSync(tmpPack, join(packDir, `pack-${name}.pack`));
    renamed = true;
    renameSync(tmpIdx, join(packDir, `pack-${name}.idx`));
    return { name, count: entries.length, index, size: pack.length, fd: packFd, bytes: pack };
  } catch (e) {
    closeQuietly(packFd);
    closeQuietly(idxFd);
    // A pack renamed without its index is invisible (and git's gc removes it); never delete a
    // .pack that may be an identical one someone else made visible.
    for (const f of renamed ? [tmpIdx] : [tmpPack, tmpIdx]) {
      try {
        unlinkSync(f);
      } catch {
        // Not created.
      }
    }
    throw wrapIo(e, "writing pack");
  }
}

/**
 * Encodes `objects` (with their ids, distinct) as whole (non-delta) pack entries: blobs at zlib
 * `level`, trees, commits and tags at `metadataLevel` (default `level`).
 */
export function encodeWholeEntries(
  objects: readonly { hash: Hash; type: RawObject["type"]; data: Uint8Array }[],
  level: number,
  metadataLevel = level,
): EncodedEntry[] {
  return objects.map((o) => ({ hash: o.hash, bytes: encodeObjectEntry(o.type, o.data, o.type === "blob" ? level : metadataLevel) }));
}

/** CRC-32 of `bytes` as a pack index stores it (native zlib when available). */
export function packEntryCrc(bytes: Uint8Array): number {
  return entryCrc(bytes);
}
