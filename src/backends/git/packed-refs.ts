import { open, rename, unlink } from "node:fs/promises";
import { closeSync, fstatSync, openSync, readFileSync } from "node:fs";
import { uniqueSuffix } from "./temp-names.js";
import { corrupt } from "../../core/errors.js";
import { type Hash, type HashAlgorithm, isHash } from "../../core/hash.js";
import { refNameProblem } from "../../core/ref-name.js";
import { errnoCode, ioError } from "./io-error.js";
import { LockFile, type LockOptions } from "./lock-file.js";

/** One line of `packed-refs`, with its `^<peeled>` line when the file has one. */
export interface PackedRef {
  readonly name: string;
  readonly hash: Hash;
  readonly peeled?: Hash;
}

/**
 * The content of a `packed-refs` file: its header line (if any) and its refs by name, in file
 * order. The file is handled as bytes, one character per byte (latin1): git allows ref names that
 * are not UTF-8. Those refs are not in `refs` (the library's names are strings) but kept in
 * `order` as they were read, so that a rewrite leaves them as they are.
 */
export interface PackedRefs {
  readonly header: string | undefined;
  readonly refs: ReadonlyMap<string, PackedRef>;
  /** The file's lines in order: a ref of `refs` by name, or the raw lines of a ref whose name is not UTF-8. */
  readonly order?: readonly ({ readonly name: string } | { readonly raw: string })[];
}

const EMPTY: PackedRefs = { header: undefined, refs: new Map() };
const UTF8 = new TextDecoder("utf-8", { fatal: true });

/** A name read as one character per byte, decoded as UTF-8; undefined when the bytes are not UTF-8. */
function utf8Name(latin1: string): string | undefined {
  try {
    return UTF8.decode(Buffer.from(latin1, "latin1"));
  } catch {
    return undefined;
  }
}

/**
 * Parses `packed-refs`, given as one character per byte (`# pack-refs with: peeled fully-peeled
 * sorted` header, `<hex> <name>` lines, `^<hex>` peeled lines after annotated tags). Throws
 * `CORRUPT` on anything else.
 */
export function parsePackedRefs(text: string, algorithm: HashAlgorithm): PackedRefs {
  const refs = new Map<string, PackedRef>();
  const order: ({ name: string } | { raw: string })[] = [];
  let header: string | undefined;
  let last: PackedRef | undefined;
  let lastRaw: { raw: string } | undefined;
  const lines = text.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  else if (lines.length > 0) throw corrupt("packed-refs: last line is not terminated");
  lines.forEach((line, i) => {
    if (i === 0 && line.startsWith("# pack-refs with:")) {
      header = line;
      return;
    }
    if (line.startsWith("^")) {
      const peeled = line.slice(1);
      const target = last ?? lastRaw;
      if (target === undefined || !isHash(peeled, algorithm) || (last !== undefined ? last.peeled !== undefined : lastRaw!.raw.includes("\n"))) {
        throw corrupt(`packed-refs line ${i + 1}: misplaced or bad peeled line`);
      }
      if (last !== undefined) {
        last = { ...last, peeled };
        refs.set(last.name, last);
      } else {
        lastRaw!.raw += `\n${line}`;
      }
      return;
    }
    const space = line.indexOf(" ");
    const hash = line.slice(0, space);
    const raw = line.slice(space + 1);
    const name = utf8Name(raw);
    if (space < 0 || !isHash(hash, algorithm) || (name !== undefined && refNameProblem(name) !== undefined)) {
      throw corrupt(`packed-refs line ${i + 1}: ${JSON.stringify(line.slice(0, 200))}`);
    }
    if (name === undefined) {
      last = undefined;
      lastRaw = { raw: line };
      order.push(lastRaw);
      return;
    }
    lastRaw = undefined;
    last = { name, hash };
    refs.set(name, last);
    order.push({ name });
  });
  return { header, refs, order };
}

/** The text (one character per byte) of a `packed-refs` file holding `refs` in the given order. */
export function serializePackedRefs(packed: PackedRefs): string {
  let out = packed.header === undefined ? "" : `${packed.header}\n`;
  const line = (r: PackedRef) => `${r.hash} ${Buffer.from(r.name, "utf8").toString("latin1")}\n${r.peeled === undefined ? "" : `^${r.peeled}\n`}`;
  if (packed.order === undefined) {
    for (const r of packed.refs.values()) out += line(r);
    return out;
  }
  for (const entry of packed.order) {
    if ("raw" in entry) {
      out += `${entry.raw}\n`;
      continue;
    }
    const r = packed.refs.get(entry.name);
    if (r !== undefined) out += line(r);
  }
  return out;
}

interface Cached {
  readonly key: string;
  readonly value: PackedRefs;
}

/**
 * The `packed-refs` file of a Git directory, re-read only when it changed. Every writer (git and
 * this library) replaces it by renaming a new file over it, so its inode, size and times identify
 * a version; the content and the identity are read from the same open file.
 */
export class PackedRefsFile {
  private cached: Cached | undefined;

  constructor(
    readonly path: string,
    readonly algorithm: HashAlgorithm,
  ) {}

  /**
   * The current refs (empty when the file is missing). One `open` + `fstat`; a read only after a
   * change. Synchronous underneath (see {@link readSync}): a thread-pool round trip per call costs
   * more than the small reads themselves.
   */
  async read(): Promise<PackedRefs> {
    return this.readSync();
  }

  /** Synchronous {@link read}, also for taking a watch baseline inside a synchronous call. */
  readSync(): PackedRefs {
    let fd: number;
    try {
      fd = openSync(this.path, "r");
    } catch (e) {
      if (errnoCode(e) === "ENOENT") return EMPTY;
      throw ioError(e, `reading ${this.path}`);
    }
    try {
      const s = fstatSync(fd, { bigint: true });
      const key = `${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`;
      if (this.cached?.key === key) return this.cached.value;
      return this.remember(key, readFileSync(fd, "latin1"));
    } catch (e) {
      throw ioError(e, `reading ${this.path}`);
    } finally {
      closeSync(fd);
    }
  }

  /**
   * Deletes refs the way git does (`files_transaction_finish`): while holding
   * `packed-refs.lock` (so that a concurrent `git pack-refs` cannot re-pack a value meanwhile),
   * rewrites the file without `names` when any of them is packed (header, order and peeled lines
   * of the other refs kept; written aside and renamed into place), then runs `deleteLoose`, then
   * releases the lock. Callers hold the locks of the refs themselves.
   */
  async deleteRefs(names: readonly string[], lock: LockOptions, deleteLoose: () => Promise<void>): Promise<void> {
    const held = await LockFile.acquire(this.path, lock);
    try {
      const current = await this.read();
      if (names.some((n) => current.refs.has(n))) {
        const refs = new Map(current.refs);
        for (const n of names) refs.delete(n);
        await this.replace(serializePackedRefs({ header: current.header, refs, order: current.order }), lock.fsync);
      }
      await deleteLoose();
    } finally {
      await held.release();
    }
  }

  private async replace(content: string, fsync: boolean): Promise<void> {
    const tmp = `${this.path}.tmp-${uniqueSuffix()}`;
    try {
      const handle = await open(tmp, "wx", 0o666);
      try {
        await handle.writeFile(content, "latin1");
        if (fsync) await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(tmp, this.path);
    } catch (e) {
      await unlink(tmp).catch(() => undefined);
      throw ioError(e, `rewriting ${this.path}`);
    }
  }

  private remember(key: string, text: string): PackedRefs {
    const value = parsePackedRefs(text, this.algorithm);
    this.cached = { key, value };
    return value;
  }
}
