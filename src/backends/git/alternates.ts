/**
 * Object directories borrowed through `objects/info/alternates` (`git clone --shared`,
 * `--reference`, `git worktree`-style setups): read, never written, as git does. Each line of
 * the file names another objects directory, absolute or relative to this one; `#` starts a
 * comment; an alternate's own alternates are followed up to git's depth of five.
 */
import { existsSync, readFileSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import type { Hash, HashAlgorithm } from "../../core/hash.js";
import type { RawObject } from "../../codec/object.js";
import { Durability } from "./durability.js";
import { ioError, errnoCode } from "./io-error.js";
import { LooseObjects } from "./loose-objects.js";
import { PackDirectory } from "./pack/pack-directory.js";

/** Git follows alternates of alternates this deep. */
const MAX_DEPTH = 5;

/** The objects directories `objectsDir`'s alternates name, recursively, each once, in git's order. */
export function alternateDirectories(objectsDir: string): string[] {
  const out: string[] = [];
  const seen = new Set([resolve(objectsDir)]);
  const visit = (dir: string, depth: number) => {
    if (depth > MAX_DEPTH) return;
    let text: string;
    try {
      text = readFileSync(resolve(dir, "info", "alternates"), "utf8");
    } catch (e) {
      if (errnoCode(e) === "ENOENT" || errnoCode(e) === "ENOTDIR") return;
      throw ioError(e, `reading ${dir}/info/alternates`);
    }
    for (const raw of text.split("\n")) {
      const line = raw.trim();
      if (line === "" || line.startsWith("#")) continue;
      const path = isAbsolute(line) ? resolve(line) : resolve(dir, line);
      // A missing one is skipped, as git does (with a warning it prints).
      if (seen.has(path) || !existsSync(path)) continue;
      seen.add(path);
      out.push(path);
      visit(path, depth + 1);
    }
  };
  visit(objectsDir, 1);
  return out;
}

/** The read side of the object directories borrowed through alternates. */
export class Alternates {
  private constructor(private readonly dirs: readonly { loose: LooseObjects; packs: PackDirectory }[]) {}

  /** Opens the alternates of `objectsDir` (none when it has no `info/alternates`). */
  static open(objectsDir: string, algorithm: HashAlgorithm): Alternates {
    const readOnly = new Durability(false);
    return new Alternates(
      alternateDirectories(objectsDir).map((dir) => ({
        loose: new LooseObjects(dir, algorithm, readOnly),
        packs: new PackDirectory(resolve(dir, "pack"), algorithm, { durability: readOnly }),
      })),
    );
  }

  /** Whether any directory is borrowed. */
  get empty(): boolean {
    return this.dirs.length === 0;
  }

  /** The object `hash` from the first alternate that holds it (checked against its id), or undefined. */
  async get(hash: Hash): Promise<RawObject | undefined> {
    for (const d of this.dirs) {
      const found = (await d.loose.read(hash)) ?? (await d.packs.get(hash));
      if (found !== undefined) return found;
    }
    return undefined;
  }

  /** Whether an alternate holds `hash`. */
  async has(hash: Hash): Promise<boolean> {
    for (const d of this.dirs) if ((await d.loose.has(hash)) || (await d.packs.has(hash))) return true;
    return false;
  }

  /** Every id of every alternate (an id held by several may come more than once). */
  async *hashes(): AsyncIterable<Hash> {
    for (const d of this.dirs) {
      yield* d.loose.hashes();
      yield* d.packs.hashes();
    }
  }

  /** Closes the alternates' pack files. */
  async close(): Promise<void> {
    await Promise.all(this.dirs.map((d) => d.packs.close()));
  }
}
