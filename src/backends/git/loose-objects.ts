import { accessSync, closeSync, mkdirSync, openSync, readFileSync, renameSync, unlinkSync, utimesSync, writeSync } from "node:fs";
import { readdir, rmdir, unlink } from "node:fs/promises";
import { dirname, join } from "node:path";
import { uniqueSuffix } from "./temp-names.js";
import { corrupt } from "../../core/errors.js";
import { type Hash, type HashAlgorithm, hexLength } from "../../core/hash.js";
import { frameObject, type ObjectType, type RawObject, unframeObject } from "../../codec/object.js";
import { deflate, digestHex, inflate } from "../../platform/native.js";
import { closeQuietly, datasync, type Durability } from "./durability.js";
import { errnoCode, ioError } from "./io-error.js";

/**
 * The loose objects of a Git directory: one zlib-compressed file per object at
 * `objects/<first two hex digits>/<the rest>`, holding `"<type> <size>\0" + body`.
 * Callers pass well-formed ids (checked by the object store).
 */
export class LooseObjects {
  private readonly restPattern: RegExp;

  /**
   * @param objectsDir `<gitdir>/objects`
   * @param durability where unflushed writes are noted (see `write`)
   * @param syncEach flush each object file to disk before it is linked into place
   */
  constructor(
    readonly objectsDir: string,
    readonly algorithm: HashAlgorithm,
    private readonly durability: Durability,
    private readonly syncEach = false,
  ) {
    this.restPattern = new RegExp(`^[0-9a-f]{${hexLength(algorithm) - 2}}$`);
  }

  /** The file that holds (or would hold) `hash`. */
  pathOf(hash: Hash): string {
    return join(this.objectsDir, hash.slice(0, 2), hash.slice(2));
  }

  /**
   * The object, or `undefined` when there is no loose file for it. One file read and one inflate.
   * Throws `CORRUPT` when the file does not inflate, has a bad header, or hashes to another id.
   * The read is synchronous on purpose: loose objects are small, and a thread-pool round trip
   * costs several times the read itself (measured in bench/: ~40 µs against ~5 µs).
   */
  async read(hash: Hash): Promise<RawObject | undefined> {
    const file = this.pathOf(hash);
    let compressed: Uint8Array;
    try {
      compressed = readFileSync(file);
    } catch (e) {
      if (errnoCode(e) === "ENOENT") return undefined;
      throw ioError(e, `reading ${file}`);
    }
    let inflated: Uint8Array;
    try {
      inflated = inflate(compressed);
    } catch (e) {
      throw corrupt(`loose object ${hash}: bad zlib data`, e);
    }
    // A plain view, so callers get a Uint8Array rather than a Node Buffer.
    const framed = new Uint8Array(inflated.buffer, inflated.byteOffset, inflated.byteLength);
    let object: RawObject;
    try {
      object = unframeObject(framed);
    } catch (e) {
      throw corrupt(`loose object ${hash}: ${(e as Error).message}`, e);
    }
    const actual = digestHex(this.algorithm, [framed]);
    if (actual !== hash) throw corrupt(`loose object ${hash} holds the content of ${actual}`);
    return object;
  }

  /** Whether a loose file exists for `hash` (one synchronous `access` call, as in `read`; the content is not checked). */
  async has(hash: Hash): Promise<boolean> {
    try {
      accessSync(this.pathOf(hash));
      return true;
    } catch (e) {
      if (errnoCode(e) === "ENOENT") return false;
      throw ioError(e, `checking ${this.pathOf(hash)}`);
    }
  }

  /**
   * Whether a loose file exists for `hash`, setting its modification time to now when it does:
   * the write path's check, as git's `freshen_loose_object`. An object this process does not write
   * again because it exists may be one no ref reaches yet, old enough for a concurrent `git gc` to
   * prune; a fresh time keeps it for the prune's grace period (two weeks by default). A file whose
   * time cannot be set (another user's, a read-only file system) counts as absent, as in git: the
   * caller writes the object again, which is harmless.
   */
  freshen(hash: Hash): boolean {
    const file = this.pathOf(hash);
    try {
      const now = new Date();
      utimesSync(file, now, now);
      return true;
    } catch (e) {
      const code = errnoCode(e);
      if (code === "ENOENT" || code === "ENOTDIR" || code === "EPERM" || code === "EACCES" || code === "EROFS") return false;
      throw ioError(e, `checking ${file}`);
    }
  }

  /**
   * Writes the object whose id is `hash` (the caller computed it). Crash-safe like git: the
   * compressed bytes go to a `tmp_obj_*` file beside the target (mode 0444), which is then
   * hard-linked into place, so a reader never sees a partial object; when the object already
   * exists (callers check first; a concurrent writer may still win), it is replaced by the same bytes.
   * The file is flushed to disk before it is linked when `syncEach` is set; otherwise (git's
   * default for loose objects) it is noted in `durability` and flushed by the next barrier, which
   * runs before any ref update. The calls are synchronous: each is a short metadata operation,
   * cheaper than a thread-pool round trip.
   */
  async write(hash: Hash, type: ObjectType, data: Uint8Array): Promise<void> {
    const file = this.pathOf(hash);
    const dir = dirname(file);
    const tmp = join(dir, `tmp_obj_${uniqueSuffix()}`);
    const bytes = deflate(frameObject(type, data));
    let fd: number | undefined;
    let renamed = false;
    try {
      for (let attempt = 0; ; attempt++) {
        try {
          fd = openSync(tmp, "wx", 0o444);
          break;
        } catch (e) {
          // The fan-out directory is created on demand; `git prune` may remove it meanwhile.
          if (errnoCode(e) !== "ENOENT" || attempt > 3) throw e;
          mkdirSync(dir, { recursive: true });
          this.durability.noteDir(this.objectsDir);
        }
      }
      writeAllSync(fd, bytes);
      if (this.syncEach) await datasync(fd);
      closeSync(fd);
      fd = undefined;
      // A rename rather than git's link + unlink: one metadata operation instead of two. When a
      // concurrent writer stored the same object first, its file is replaced by identical bytes.
      renameSync(tmp, file);
      renamed = true;
      if (this.syncEach) this.durability.noteDir(dir);
      else this.durability.noteFile(file, dir);
    } catch (e) {
      throw ioError(e, `writing loose object ${hash}`);
    } finally {
      closeQuietly(fd);
      if (!renamed) {
        try {
          unlinkSync(tmp);
        } catch {
          // Never created.
        }
      }
    }
  }

  /** Deletes the loose file of `hash` (after it was packed), and its fan-out directory when empty. */
  async remove(hash: Hash): Promise<void> {
    const file = this.pathOf(hash);
    try {
      await unlink(file);
    } catch (e) {
      if (errnoCode(e) !== "ENOENT") throw ioError(e, `removing ${file}`);
    }
    await rmdir(dirname(file)).catch(() => undefined);
  }

  /** Every loose object id, in directory order. Reads each fan-out directory once. */
  async *hashes(): AsyncIterable<Hash> {
    let dirs: string[];
    try {
      dirs = await readdir(this.objectsDir);
    } catch (e) {
      if (errnoCode(e) === "ENOENT") return;
      throw ioError(e, `listing ${this.objectsDir}`);
    }
    for (const d of dirs) {
      if (!/^[0-9a-f]{2}$/.test(d)) continue;
      let names: string[];
      try {
        names = await readdir(join(this.objectsDir, d));
      } catch (e) {
        if (errnoCode(e) === "ENOENT" || errnoCode(e) === "ENOTDIR") continue;
        throw ioError(e, `listing ${join(this.objectsDir, d)}`);
      }
      for (const name of names) if (this.restPattern.test(name)) yield d + name;
    }
  }
}

/** Writes all of `bytes` at `position` of `fd` (default: its current position). */
export function writeAllSync(fd: number, bytes: Uint8Array, position?: number): void {
  for (let done = 0; done < bytes.length; ) {
    done += writeSync(fd, bytes, done, bytes.length - done, position === undefined ? null : position + done);
  }
}
