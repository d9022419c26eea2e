/**
 * Packing loose objects, the backend's `gc`: one new pack from the loose objects it passes in,
 * optionally merged with every existing pack (git's `repack -a -d`). Deleting the loose objects
 * afterwards is the backend's job, once this has resolved (the new pack is durable by then).
 */
import { unlink } from "node:fs/promises";
import { join } from "node:path";
import { existsSync } from "node:fs";
import type { RawObject } from "../../../codec/object.js";
import type { PackDirectory } from "./pack-directory.js";
import type { WritePackOptions } from "./pack-file-writer.js";

/** Options of {@link repack}. */
export interface RepackOptions extends WritePackOptions {
  /**
   * Also rewrite every object of the existing packs into the new one, then delete those packs
   * (default false). Packs with a `.keep` file are left alone, as git does.
   */
  all?: boolean;
}

/** What {@link repack} did. */
export interface RepackResult {
  /** Checksum name of the new pack, empty when there was nothing to pack. */
  readonly name: string;
  /** Objects in the new pack. */
  readonly count: number;
  /** Names of the packs deleted because the new one holds all their objects. */
  readonly removed: readonly string[];
}

/**
 * Writes `loose` (and, with `all`, every packed object) into one new pack
 * with deltas (default on; set `deltas: false` to stream without holding objects in memory),
 * then with `all` deletes the packs it superseded (index first, so a concurrent reader never sees
 * an index without its pack). Atomic per pack: a crash leaves either the old packs or the new one
 * readable, possibly both.
 */
export async function repack(
  directory: PackDirectory,
  loose: AsyncIterable<RawObject> | Iterable<RawObject>,
  options: RepackOptions = {},
): Promise<RepackResult> {
  await directory.rescan();
  const dir = directory.packDir;
  const old = options.all ? directory.packNames().filter((n) => !existsSync(join(dir, `pack-${n}.keep`))) : [];
  async function* everything(): AsyncIterable<RawObject> {
    yield* loose;
    if (!options.all) return;
    for await (const hash of directory.hashes()) {
      const o = await directory.get(hash);
      if (o !== undefined) yield o;
    }
  }
  const written = await directory.writePack(everything(), { deltas: true, ...options });
  const removed: string[] = [];
  for (const name of old) {
    if (name === written.name) continue;
    for (const ext of [".idx", ".pack", ".rev", ".bitmap"]) {
      await unlink(join(dir, `pack-${name}${ext}`)).catch(() => undefined);
    }
    removed.push(name);
  }
  if (removed.length > 0) await directory.rescan();
  return { name: written.name, count: written.count, removed };
}
