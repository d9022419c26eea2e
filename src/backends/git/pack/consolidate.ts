/**
 * Keeping the number of packs small as writes add one small pack each: a geometric roll-up like
 * `git repack --geometric=2`. Packs are ordered by object count; the smallest ones that do not
 * form a geometric progression (each pack at least `factor` times the total of the smaller ones
 * kept beside it) are merged into one new pack, so every object is rewritten O(log n) times over
 * the life of the repository and a lookup checks O(log n) packs.
 */
import type { Hash, HashAlgorithm } from "../../../core/hash.js";
import { encodeEntryHeader, encodeOfsDistance } from "../../../codec/pack/pack-format.js";
import { encodeObjectEntry, encodeOfsDeltaEntry } from "../../../codec/pack/pack-writer.js";
import { DeltaWindow } from "../../../codec/pack/delta-window.js";
import type { ObjectType } from "../../../codec/object.js";
import { corrupt } from "../../../core/errors.js";
import { inflateAt } from "../../../platform/native.js";
import { type EncodedEntry, packEntryCrc, writePackEntries, type WrittenPackWithIndex } from "./pack-file-writer.js";
import type { PackReader } from "./pack-reader.js";

/**
 * How many of the packs, sorted by ascending `counts`, a geometric roll-up with `factor` merges
 * (git's `split_pack_geometry`): 0 or 1 means the packs already form a progression.
 */
export function geometricSplit(counts: readonly number[], factor: number): number {
  const n = counts.length;
  let i = n - 1;
  for (; i > 0; i--) if (counts[i] < factor * counts[i - 1]) break;
  let split = i === 0 ? 0 : i + 1;
  // The merged pack must not break the progression of the larger packs either.
  let total = 0;
  for (let k = 0; k < split; k++) total += counts[k];
  while (split < n && counts[split] < factor * total) total += counts[split++];
  return split;
}

/** Whole entries' types by pack type code; the types a roll-up stores as deltas. */
const DELTIFIED: ReadonlyMap<number, ObjectType> = new Map([
  [2, "tree"],
  [3, "blob"],
]);

/**
 * How a roll-up looks for deltas: the 16 trees (blobs) placed last are the candidate bases of a
 * tree (blob), and the two closest to it in size are tried. Successive versions of a directory (the usual case: every
 * commit rewrites the directories above what it changed) are then stored once whole and as small
 * deltas after, as git's repack and fast-import store them; objects above 1 MiB are copied whole
 * (the delta search stays cheap on the commit path).
 */
const ROLL_UP_DELTAS = { window: 16, tries: 2, maxDepth: 50, maxSize: 1 << 20 } as const;

/**
 * Sources with more objects than this are copied as they are, deltas or not: the search is for
 * the packs of single commits and their first roll-ups, and must not turn a roll-up that happens
 * to include a large pack received whole into seconds of delta search on the commit path.
 */
const DELTIFY_MAX_SOURCE = 4096;

/**
 * Writes one pack holding every object of `sources` (duplicates once), copying entries as they
 * are stored: whole objects and REF_DELTAs byte for byte, OFS_DELTAs with their distance
 * recomputed (their base is copied before them, as in the source). Whole trees and blobs of a
 * source that holds no delta (a pack of one commit's objects, written whole for speed) and at
 * most {@link DELTIFY_MAX_SOURCE} objects are stored as deltas against a similar object placed
 * before them where that saves half their size (no entry of such a pack is anyone's base, so no
 * existing chain grows; new chains are at most 50 long). Flushed before it is renamed into place; the caller deletes the sources once the
 * directory entry is durable. Cost: one read of each source pack and one write; an inflate and up
 * to two delta computations per whole tree or blob of a delta-free source; no inflate otherwise
 * except for an OFS_DELTA whose base is a duplicate copied from an earlier source.
 */
export async function mergePacks(
  packDir: string,
  algorithm: HashAlgorithm,
  sources: readonly PackReader[],
  options: { fsync: boolean; level: number; keepOpen?: boolean },
): Promise<WrittenPackWithIndex> {
  const out: EncodedEntry[] = [];
  const placed = new Map<Hash, number>();
  const window = new DeltaWindow(ROLL_UP_DELTAS);
  let position = 12;
  for (const source of sources) {
    // Where each source offset landed, for the OFS_DELTA entries that follow.
    const moved = new Map<number, number>();
    const entries = source.rawEntries();
    const deltify = entries.length <= DELTIFY_MAX_SOURCE && entries.every((e) => e.code < 6);
    for (const e of entries) {
      const at = placed.get(e.hash);
      if (at !== undefined) {
        moved.set(e.offset, at);
        continue;
      }
      let bytes = e.bytes;
      // As git's repack when it reuses an entry: the copy is checked against the index's CRC, so
      // a bit flipped on disk stops the roll-up (and the deletion of the source) instead of being
      // sealed into a pack with a fresh CRC.
      const crc = packEntryCrc(e.bytes);
      if (e.crc32 !== undefined && crc !== e.crc32) throw corrupt(`pack entry ${e.hash} at offset ${e.offset} does not match its CRC-32`);
      let known: number | undefined = crc;
      if (e.code === 6) {
        known = undefined;
        const base = e.baseOffset === undefined ? undefined : moved.get(e.baseOffset);
        if (base === undefined) {
          // No copied base to point at: store the object whole.
          const o = await source.get(e.hash);
          bytes = encodeObjectEntry(o!.type, o!.data, options.level);
        } else {
          const header = encodeEntryHeader(6, e.size);
          const distance = encodeOfsDistance(position - base);
          const data = e.bytes.subarray(e.dataAt);
          bytes = new Uint8Array(header.length + distance.length + data.length);
          bytes.set(header, 0);
          bytes.set(distance, header.length);
          bytes.set(data, header.length + distance.length);
        }
      }
      const type = deltify ? DELTIFIED.get(e.code) : undefined;
      if (type !== undefined && e.size <= ROLL_UP_DELTAS.maxSize) {
        const data = inflateAt(e.bytes, e.dataAt, e.size).output;
        if (data.length !== e.size) throw corrupt(`pack entry ${e.hash} at offset ${e.offset} inflates to ${data.length} bytes, not ${e.size}`);
        const choice = window.choose(type, data);
        if (choice !== undefined) {
          bytes = encodeOfsDeltaEntry(position - choice.baseOffset, choice.delta, options.level);
          known = undefined;
        }
        window.add(type, data, position, choice?.depth ?? 0);
      }
      out.push({ hash: e.hash, bytes, crc32: known });
      placed.set(e.hash, position);
      moved.set(e.offset, position);
      position += bytes.length;
    }
  }
  return writePackEntries(packDir, algorithm, out, { fsync: options.fsync, keepOpen: options.keepOpen });
}
