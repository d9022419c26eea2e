/**
 * A received pack kept as it is (what `git index-pack` does): its bytes go to a temporary file
 * as they arrive, and on commit the checksum is appended, an index is written from the entries
 * the receiver computed, and both are renamed into place (`.pack` first, `.idx` last: readers
 * look for `.idx` files, so the pack is visible only once complete). No object is inflated,
 * deflated or hashed here: the receiver has checked every one.
 */
import { openSync, readSync, renameSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { uniqueSuffix } from "../temp-names.js";
import { IrminError, invalidArgument, isIrminError } from "../../../core/errors.js";
import { toHex, type Hash, type HashAlgorithm } from "../../../core/hash.js";
import { writePackIndex, writePackIndexColumns } from "../../../codec/pack/pack-index.js";
import type { PackSink } from "../../../backend/object-store.js";
import { closeQuietly, datasync, type Durability } from "../durability.js";
import { writeAllSync } from "../loose-objects.js";

function io(e: unknown, what: string): unknown {
  if (isIrminError(e)) return e;
  return new IrminError("IO", `${what}: ${(e as Error).message}`, { cause: e });
}

/** Writes in runs of at least this many bytes (the receiver hands over chunks of any size). */
const WRITE_RUN = 1 << 20;

/**
 * The git backend's {@link PackSink}: a temporary `tmp_pack_*` file in `packDir` (a name git's gc
 * cleans up if this process dies), flushed before it is renamed when `durability.enabled`, its
 * directory entry noted in `durability` (flushed by the next ref update, as for other packs).
 * `adopt` is called with the new pack's name once both files are in place.
 */
export class GitPackSink implements PackSink {
  private fd: number | undefined;
  private readonly tmpPack: string;
  private length = 0;
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  private done = false;

  constructor(
    private readonly packDir: string,
    private readonly algorithm: HashAlgorithm,
    private readonly durability: Durability,
    private readonly adopt: (name: string) => Promise<void>,
  ) {
    this.tmpPack = join(packDir, `tmp_pack_${uniqueSuffix()}`);
    try {
      this.fd = openSync(this.tmpPack, "wx+", 0o444);
    } catch (e) {
      throw io(e, `creating ${this.tmpPack}`);
    }
  }

  write(bytes: Uint8Array): void {
    if (this.done) throw invalidArgument("the pack sink is closed");
    if (bytes.length === 0) return;
    // Kept by reference until written: the receiver never changes bytes it handed over.
    this.pending.push(bytes);
    this.pendingBytes += bytes.length;
    if (this.pendingBytes >= WRITE_RUN) this.drain();
  }

  private drain(): void {
    if (this.pendingBytes === 0) return;
    const parts = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    try {
      for (const p of parts) {
        writeAllSync(this.fd!, p);
        this.length += p.length;
      }
    } catch (e) {
      throw io(e, `writing ${this.tmpPack}`);
    }
  }

  read(offset: number, length: number): Uint8Array {
    if (this.done) throw invalidArgument("the pack sink is closed");
    this.drain();
    if (offset < 0 || length < 0 || offset + length > this.length) throw invalidArgument(`read of ${length} bytes at ${offset} outside the ${this.length} bytes written`);
    const out = new Uint8Array(length);
    try {
      for (let done = 0; done < length; ) {
        const n = readSync(this.fd!, out, done, length - done, offset + done);
        if (n === 0) throw new IrminError("IO", `${this.tmpPack} shrank while being written`);
        done += n;
      }
    } catch (e) {
      throw io(e, `reading ${this.tmpPack}`);
    }
    return out;
  }

  async commit(entries: readonly { hash: Hash; offset: number; crc32: number }[], checksum: Uint8Array): Promise<void> {
    if (this.done) throw invalidArgument("the pack sink is closed");
    return this.install(writePackIndex(entries, checksum, this.algorithm), checksum);
  }

  /**
   * {@link commit} with the entries as columns (see `writePackIndexColumns`: binary ids, offsets
   * and CRCs of entry `k` at position `k`, `count` entries): no hex id or object per entry.
   */
  async commitColumns(ids: Uint8Array, offsets: ArrayLike<number>, crcs: ArrayLike<number>, count: number, checksum: Uint8Array): Promise<void> {
    if (this.done) throw invalidArgument("the pack sink is closed");
    return this.install(writePackIndexColumns(ids, offsets, crcs, count, checksum, this.algorithm), checksum);
  }

  private async install(index: Uint8Array, checksum: Uint8Array): Promise<void> {
    this.drain();
    const name = toHex(checksum);
    const tmpIdx = join(this.packDir, `tmp_idx_${uniqueSuffix()}`);
    let idxFd: number | undefined;
    try {
      writeAllSync(this.fd!, checksum);
      idxFd = openSync(tmpIdx, "wx", 0o444);
      writeAllSync(idxFd, index);
      if (this.durability.enabled) await Promise.all([datasync(this.fd!), datasync(idxFd)]);
      closeQuietly(idxFd);
      idxFd = undefined;
      closeQuietly(this.fd);
      this.fd = undefined;
      renameSync(this.tmpPack, join(this.packDir, `pack-${name}.pack`));
      this.done = true;
      renameSync(tmpIdx, join(this.packDir, `pack-${name}.idx`));
    } catch (e) {
      closeQuietly(idxFd);
      try {
        unlinkSync(tmpIdx);
      } catch {
        // Never created.
      }
      if (!this.done) await this.abort();
      throw io(e, "writing a received pack");
    }
    this.durability.noteDir(this.packDir);
    await this.adopt(name);
  }

  async abort(): Promise<void> {
    if (this.done) return;
    this.done = true;
    this.pending = [];
    closeQuietly(this.fd);
    this.fd = undefined;
    try {
      unlinkSync(this.tmpPack);
    } catch {
      // Already gone.
    }
  }
}
