/**
 * Object directories borrowed through `objects/info/alternates` (`git clone --shared`,
 * `--reference`, `git worktree`-style setups): read, never written, as git does. Each line of
 * the file names another objects directory, absolute or relative to this one; `#` starts a
 * comment; an alternate's own alternates are followed up to git's depth of five.
 */
import { existsSync, readFileSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import { isIrminError } from "../../core/errors.js";
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
      if (raw === "" || raw.startsWith("#")) continue;
      const line = raw.startsWith('"') ? unquote(raw) : raw;
      const path = isAbsolute(line) ? resolve(line) : resolve(dir, line);
      // A missing one is skipped, as git does (with a warning it prints).
      if (seen.has(path) || !existsSync(path)) continue;
      seen.add(path);
      out.push(path);
      visit(path, depth + 1);
    }
  };
  // This directory's own list is depth 0: git reads five levels of alternates below it.
  visit(objectsDir, 0);
  return out;
}

/** A C-quoted path (`"a\\"b"`, octal escapes for bytes), as git writes one that needs it. */
function unquote(quoted: string): string {
  const bytes: number[] = [];
  const body = quoted.endsWith('"') ? quoted.slice(1, -1) : quoted.slice(1);
  const simple: Record<string, number> = { a: 7, b: 8, f: 12, n: 10, r: 13, t: 9, v: 11, '"': 34, "\\": 92 };
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c !== "\\") {
      bytes.push(...Buffer.from(c, "utf8"));
      continue;
    }
    const e = body[++i];
    if (e !== undefined && /[0-3]/.test(e) && /^[0-7]{2}$/.test(body.slice(i + 1, i + 3))) {
      bytes.push(parseInt(body.slice(i, i + 3), 8));
      i += 2;
    } else if (e !== undefined && simple[e] !== undefined) {
      bytes.push(simple[e]);
    } else {
      bytes.push(92, ...(e === undefined ? [] : Buffer.from(e, "utf8")));
    }
  }
  return Buffer.from(bytes).toString("utf8");
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

  /**
   * For writers: whether an alternate holds `hash`, from the packs already open and loose files
   * (no rescan on a miss: a copy written here is harmless). An alternate that cannot be read
   * (a damaged pack) counts as not holding it: the object is written here, as git does.
   */
  async hasForWrite(hash: Hash): Promise<boolean> {
    for (const d of this.dirs) {
      try {
        if ((await d.packs.hasKnown(hash)) || (await d.loose.has(hash))) return true;
      } catch (e) {
        if (!isIrminError(e, "CORRUPT") && !isIrminError(e, "IO")) throw e;
      }
    }
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
