/**
 * Keeping the number of packs small as writes add one small pack each: a geometric roll-up like
 * `git repack --geometric=2`. Packs are ordered by object count; the smallest ones that do not
 * form a geometric progression (each pack at least `factor` times the total of the smaller ones
 * kept beside it) are merged into one new pack, so every object is rewritten O(log n) times over
 * the life of the repository and a lookup checks O(log n) packs.
 */
import type { Hash, HashAlgorithm } from "../../../core/hash.js";
import { encodeEntryHeader, encodeOfsDistance } from "../../../codec/pack/pack-format.js";
import { encodeObjectEntry } from "../../../codec/pack/pack-writer.js";
import { corrupt } from "../../../core/errors.js";
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

/**
 * Writes one pack holding every object of `sources` (duplicates once), copying entries as they
 * are stored: whole objects and REF_DELTAs byte for byte, OFS_DELTAs with their distance
 * recomputed (their base is copied before them, as in the source). Flushed before it is renamed
 * into place; the caller deletes the sources once the directory entry is durable. Cost: one read
 * of each source pack and one write, with no inflate or deflate except for an OFS_DELTA whose
 * base is a duplicate copied from an earlier source.
 */
export async function mergePacks(
  packDir: string,
  algorithm: HashAlgorithm,
  sources: readonly PackReader[],
  options: { fsync: boolean; level: number; keepOpen?: boolean },
): Promise<WrittenPackWithIndex> {
  const out: EncodedEntry[] = [];
  const placed = new Map<Hash, number>();
  let position = 12;
  for (const source of sources) {
    // Where each source offset landed, for the OFS_DELTA entries that follow.
    const moved = new Map<number, number>();
    for (const e of source.rawEntries()) {
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
      out.push({ hash: e.hash, bytes, crc32: known });
      placed.set(e.hash, position);
      moved.set(e.offset, position);
      position += bytes.length;
    }
  }
  return writePackEntries(packDir, algorithm, out, { fsync: options.fsync, keepOpen: options.keepOpen });
}
