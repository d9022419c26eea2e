/**
 * Receiving a packfile from the network (`man 5 gitformat-pack`): the pack is parsed as it streams
 * in (only a window of it is buffered), every entry is inflated and checked, OFS_DELTA and
 * REF_DELTA entries are resolved against earlier entries or against objects the store already
 * holds (a thin pack), and the objects are stored in bounded batches. The pack's trailing checksum
 * is verified. No ref is touched: a caller moves refs only after this resolves.
 */
import { corrupt, IrminError, isIrminError } from "../core/errors.js";
import { digestLength, toHex, type Hash, type HashAlgorithm } from "../core/hash.js";
import type { ObjectStore } from "../backend/object-store.js";
import { decodeCommit } from "../codec/commit.js";
import { hashObject, type ObjectType, type RawObject } from "../codec/object.js";
import { applyDelta, deltaSizes } from "../codec/pack/delta.js";
import { decodeEntryHeader, decodeOfsDistance, decodePackHeader, objectTypeOfCode, PACK_HEADER_LENGTH, PACK_TYPE } from "../codec/pack/pack-format.js";
import { decodeTag } from "../codec/tag.js";
import { decodeTree } from "../codec/tree.js";
import { createHasher, inflateAt, type Hasher } from "../platform/native.js";
import { concatBytes } from "./pkt-line.js";
import { reportProgress, type SyncProgress } from "./progress.js";

/** Options of {@link receivePack}. */
export interface ReceivePackOptions {
  /** Largest pack accepted, in bytes; past it the receive stops with `INVALID_ARGUMENT`. Default: no limit. */
  maxBytes?: number;
  /** Called with `receiving` (objects parsed), `resolving` (deltas) and `writing` (objects stored) reports. */
  onProgress?: (p: SyncProgress) => void;
  /** Objects stored per putMany call (default 2000); also capped at ~16 MiB of data per batch. */
  batchSize?: number;
  /** Largest object accepted (inflated, or produced by a delta), in bytes; default 1 GiB. CORRUPT past it. */
  maxObjectBytes?: number;
}

const BATCH_BYTES = 16 << 20;
const BASE_CACHE_BYTES = 64 << 20;
/** Largest first try at an entry's compressed bytes; bigger entries widen the window as needed. */
const MAX_FIRST_WINDOW = 1 << 24;

/**
 * A window over the incoming bytes with their absolute offset in the pack, hashing every byte it
 * lets go of, so that the pack checksum is computed without keeping the pack.
 */
class PackInput {
  private readonly iterator: AsyncIterator<Uint8Array>;
  buf: Uint8Array = new Uint8Array(0);
  /** Position of the next unread byte within `buf`. */
  pos = 0;
  /** Absolute pack offset of `buf[0]`. */
  base = 0;
  ended = false;
  received = 0;
  private readonly hasher: Hasher;

  constructor(
    source: AsyncIterable<Uint8Array>,
    algorithm: HashAlgorithm,
    private readonly maxBytes: number,
    private readonly onBytes: (n: number) => void,
  ) {
    this.iterator = source[Symbol.asyncIterator]();
    this.hasher = createHasher(algorithm);
  }

  get offset(): number {
    return this.base + this.pos;
  }

  get available(): number {
    return this.buf.length - this.pos;
  }

  /** Buffers at least `n` unread bytes, or as many as the stream still has; returns the count. */
  async fill(n: number): Promise<number> {
    if (this.available >= n || this.ended) return this.available;
    const parts: Uint8Array[] = [this.buf.subarray(this.pos)];
    let have = this.available;
    while (have < n) {
      let r: IteratorResult<Uint8Array>;
      try {
        r = await this.iterator.next();
      } catch (e) {
        if (isIrminError(e)) throw e;
        throw new IrminError("IO", `pack stream failed: ${(e as Error)?.message ?? String(e)}`, { cause: e });
      }
      if (r.done === true) {
        this.ended = true;
        break;
      }
      const chunk = r.value;
      this.received += chunk.length;
      if (this.received > this.maxBytes) throw new IrminError("INVALID_ARGUMENT", `pack exceeds the limit of ${this.maxBytes} bytes`);
      this.onBytes(this.received);
      parts.push(chunk);
      have += chunk.length;
    }
    this.base += this.pos;
    this.buf = parts.length === 1 ? parts[0] : concatBytes(parts);
    this.pos = 0;
    return have;
  }

  /** Consumes `n` buffered bytes, hashing them. */
  consume(n: number): void {
    this.hasher.update(this.buf.subarray(this.pos, this.pos + n));
    this.pos += n;
  }

  /** The next `n` bytes (consumed); CORRUPT when the stream ends first. */
  async take(n: number, what: string): Promise<Uint8Array> {
    if ((await this.fill(n)) < n) throw corrupt(`pack truncated in ${what}`);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.consume(n);
    return out;
  }

  /** The checksum of everything consumed so far. */
  digest(): Uint8Array {
    return this.hasher.digest();
  }

  /** Reads the trailer (not hashed) and checks that nothing follows it. */
  async trailer(length: number): Promise<Uint8Array> {
    if ((await this.fill(length + 1)) < length) throw corrupt("pack truncated in its checksum");
    if (this.available > length) throw corrupt("pack has data after its checksum");
    const out = this.buf.slice(this.pos, this.pos + length);
    this.pos += length;
    return out;
  }
}

function isDefinitelyCorrupt(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return code === "Z_DATA_ERROR" || code === "ERR_BUFFER_TOO_LARGE" || code === "Z_NEED_DICT" || code === "Z_STREAM_ERROR";
}

/** Inflates the zlib stream at the input's position, which must produce exactly `size` bytes. */
async function inflateEntry(input: PackInput, size: number, what: string): Promise<Uint8Array> {
  // zlib never expands data by more than ~1/8 plus a few bytes, so this usually holds the whole
  // stream: small entries inflate from the bytes already buffered, without regrowing the window
  // (regrowing per entry would copy the buffer once per object).
  let want = Math.min(size + (size >> 3) + 64, MAX_FIRST_WINDOW);
  for (;;) {
    const have = await input.fill(want);
    if (have === 0) throw corrupt(`pack truncated in ${what}`);
    try {
      const { output, consumed } = inflateAt(input.buf.subarray(0, input.pos + have), input.pos, size);
      if (output.length !== size) throw corrupt(`${what}: inflated to ${output.length} bytes, header says ${size}`);
      input.consume(consumed);
      return output;
    } catch (e) {
      if (isIrminError(e)) throw e;
      // A stream cut by the end of the window: widen it, unless the pack has no more bytes.
      if (isDefinitelyCorrupt(e) || input.ended) throw corrupt(`${what}: bad zlib data`, e);
      want = have * 2;
    }
  }
}

/** Checks that a commit, tree or tag body parses (blobs are any bytes). CORRUPT otherwise. */
function checkObject(type: ObjectType, data: Uint8Array, algorithm: HashAlgorithm, hash: Hash): void {
  try {
    if (type === "commit") decodeCommit(data, algorithm);
    else if (type === "tree") decodeTree(data, algorithm);
    else if (type === "tag") decodeTag(data, algorithm);
  } catch (e) {
    if (isIrminError(e)) throw corrupt(`received ${type} ${hash} is malformed: ${e.message}`, e);
    throw e;
  }
}

/** A delta whose base is not known yet. */
interface PendingDelta {
  offset: number;
  delta: Uint8Array;
}

/** Recently resolved objects kept for use as delta bases, bounded in bytes (insertion-order LRU). */
class BaseCache {
  private readonly map = new Map<Hash, RawObject>();
  private bytes = 0;
  get(hash: Hash): RawObject | undefined {
    const o = this.map.get(hash);
    if (o !== undefined) {
      this.map.delete(hash);
      this.map.set(hash, o);
    }
    return o;
  }
  set(hash: Hash, o: RawObject): void {
    if (o.data.length > BASE_CACHE_BYTES / 4 || this.map.has(hash)) return;
    this.map.set(hash, o);
    this.bytes += o.data.length;
    for (const [h, v] of this.map) {
      if (this.bytes <= BASE_CACHE_BYTES) break;
      this.map.delete(h);
      this.bytes -= v.data.length;
    }
  }
}

/**
 * Parses a pack streamed from `source` (not held whole in memory), checks every object (commits,
 * trees and tags must parse; the trailing checksum must match), resolves OFS/REF deltas (a
 * REF_DELTA base may already be in `objects`: thin packs are completed), and stores every object
 * with putMany in bounded batches. Returns how many objects the pack held and their ids in pack
 * order (resolved deltas included). Throws `CORRUPT` on a truncated or corrupt pack, a bad delta
 * or a delta base found nowhere; `INVALID_ARGUMENT` past `maxBytes`; `IO` when the source fails.
 * Objects stored before a failure stay (they are content-addressed and unreferenced); no ref is
 * touched. Memory: the batch being stored, a bounded base cache, one id per entry, and the data
 * of REF_DELTAs whose base comes later in the pack.
 */
export async function receivePack(objects: ObjectStore, algorithm: HashAlgorithm, source: AsyncIterable<Uint8Array>, options: ReceivePackOptions = {}): Promise<{ count: number; hashes: Hash[] }> {
  try {
    return await receive(objects, algorithm, source, options);
  } catch (e) {
    if (isIrminError(e)) throw e;
    // Defence in depth: whatever a hostile pack provokes (a RangeError from an absurd size, ...)
    // surfaces as CORRUPT, never as a crash of another kind.
    throw corrupt(`bad pack: ${(e as Error)?.message ?? String(e)}`, e);
  }
}

async function receive(objects: ObjectStore, algorithm: HashAlgorithm, source: AsyncIterable<Uint8Array>, options: ReceivePackOptions): Promise<{ count: number; hashes: Hash[] }> {
  const maxObjectBytes = options.maxObjectBytes ?? 1 << 30;
  const maxBytes = options.maxBytes ?? Number.POSITIVE_INFINITY;
  const batchSize = Math.max(1, options.batchSize ?? 2000);
  const progress = options.onProgress;
  const input = new PackInput(source, algorithm, maxBytes, () => undefined);
  const header = decodePackHeader(await input.take(PACK_HEADER_LENGTH, "its header"));
  const count = header.count;
  const idLength = digestLength(algorithm);

  /** Entry offset → id, for every entry resolved so far (OFS_DELTA bases). */
  const byOffset = new Map<number, Hash>();
  /** Entry offsets seen (resolved or not), to tell a bad OFS distance from a pending base. */
  const entryStarts = new Set<number>();
  const waitingOnOffset = new Map<number, PendingDelta[]>();
  const waitingOnHash = new Map<Hash, PendingDelta[]>();
  let waitingCount = 0;
  const cache = new BaseCache();
  let batch: RawObject[] = [];
  let batchIndex = new Map<Hash, RawObject>();
  let batchBytes = 0;
  let stored = 0;
  const hashes: Hash[] = [];
  let resolvedDeltas = 0;

  const patch = (base: Uint8Array, delta: Uint8Array): Uint8Array => {
    if (deltaSizes(delta).resultSize > maxObjectBytes) throw corrupt("a delta produces an object over the size limit");
    const out = applyDelta(base, delta);
    resolvedDeltas++;
    reportProgress(progress, { phase: "resolving", done: resolvedDeltas });
    return out;
  };

  const flush = async (): Promise<void> => {
    if (batch.length === 0) return;
    const toStore = batch;
    batch = [];
    batchIndex = new Map();
    batchBytes = 0;
    await objects.putMany(toStore);
    stored += toStore.length;
    reportProgress(progress, { phase: "writing", done: stored, total: count });
  };

  const lookup = async (hash: Hash): Promise<RawObject | undefined> => {
    const o = cache.get(hash) ?? batchIndex.get(hash);
    if (o !== undefined) return o;
    const fromStore = await objects.get(hash);
    if (fromStore !== undefined) cache.set(hash, fromStore);
    return fromStore;
  };

  /** Records a resolved object, then resolves every delta that waited on it (iteratively). */
  const resolved = async (offset: number, type: ObjectType, data: Uint8Array): Promise<void> => {
    const stack: { offset: number; type: ObjectType; data: Uint8Array }[] = [{ offset, type, data }];
    while (stack.length > 0) {
      const o = stack.pop()!;
      const hash = hashObject(algorithm, o.type, o.data);
      checkObject(o.type, o.data, algorithm, hash);
      const raw: RawObject = { type: o.type, data: o.data };
      byOffset.set(o.offset, hash);
      hashes.push(hash);
      cache.set(hash, raw);
      if (!batchIndex.has(hash)) {
        batch.push(raw);
        batchIndex.set(hash, raw);
        batchBytes += o.data.length;
      }
      const waiters = [...(waitingOnOffset.get(o.offset) ?? []), ...(waitingOnHash.get(hash) ?? [])];
      waitingOnOffset.delete(o.offset);
      waitingOnHash.delete(hash);
      for (const w of waiters) {
        waitingCount--;
        stack.push({ offset: w.offset, type: o.type, data: patch(o.data, w.delta) });
      }
    }
    if (batch.length >= batchSize || batchBytes >= BATCH_BYTES) await flush();
  };

  for (let i = 0; i < count; i++) {
    const offset = input.offset;
    entryStarts.add(offset);
    await input.fill(32);
    const h = decodeEntryHeader(input.buf.subarray(0, input.pos + Math.min(input.available, 32)), input.pos);
    input.consume(h.length);
    const what = `pack entry ${i} at offset ${offset}`;
    if (h.size > maxObjectBytes) throw corrupt(`${what}: ${h.size} bytes exceeds the object size limit`);
    const type = objectTypeOfCode(h.code);
    if (type !== undefined) {
      await resolved(offset, type, await inflateEntry(input, h.size, what));
    } else if (h.code === PACK_TYPE.ofsDelta) {
      await input.fill(16);
      const d = decodeOfsDistance(input.buf.subarray(0, input.pos + Math.min(input.available, 16)), input.pos);
      input.consume(d.length);
      const baseOffset = offset - d.distance;
      if (d.distance <= 0 || !entryStarts.has(baseOffset)) throw corrupt(`${what}: OFS_DELTA base ${baseOffset} is not an earlier entry`);
      const delta = await inflateEntry(input, h.size, what);
      const baseHash = byOffset.get(baseOffset);
      if (baseHash === undefined) {
        push(waitingOnOffset, baseOffset, { offset, delta });
        waitingCount++;
      } else {
        const base = await lookup(baseHash);
        if (base === undefined) throw corrupt(`${what}: delta base ${baseHash} vanished`);
        await resolved(offset, base.type, patch(base.data, delta));
      }
    } else {
      const baseHash = toHex(await input.take(idLength, what), 0, idLength);
      const delta = await inflateEntry(input, h.size, what);
      const base = await lookup(baseHash);
      if (base === undefined) {
        push(waitingOnHash, baseHash, { offset, delta });
        waitingCount++;
      } else {
        await resolved(offset, base.type, patch(base.data, delta));
      }
    }
    reportProgress(progress, { phase: "receiving", done: i + 1, total: count });
  }
  const expected = input.digest();
  const trailer = await input.trailer(idLength);
  if (toHex(trailer) !== toHex(expected)) throw corrupt("pack checksum mismatch");
  if (waitingCount > 0) {
    const missing = [...waitingOnHash.keys()][0] ?? "an entry of the pack";
    throw corrupt(`pack has ${waitingCount} deltas whose base is missing (e.g. ${missing})`);
  }
  await flush();
  return { count, hashes };
}

function push<K>(map: Map<K, PendingDelta[]>, key: K, value: PendingDelta): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [value]);
  else list.push(value);
}
