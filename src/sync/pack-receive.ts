/**
 * Receiving a packfile from the network (`man 5 gitformat-pack`): the pack is parsed as it streams
 * in (only a window of it is buffered), every entry is inflated and checked (ids computed from
 * the bytes, commits, trees and tags parsed), OFS_DELTA and REF_DELTA entries are resolved against
 * earlier entries or against objects the store already holds (a thin pack), and the pack's
 * trailing checksum is verified. No ref is touched: a caller moves refs only after this resolves.
 *
 * Storage, two ways. A store with a pack sink (`ObjectStore.openPackSink`: the git backend) keeps
 * the pack itself, byte for byte, plus an index, as `git index-pack` does: no object is
 * compressed again. Other stores get the objects through `putMany`, in bounded batches. A thin
 * pack cannot be kept as it is (its delta bases are elsewhere): it is read back from the sink and
 * stored object by object.
 *
 * The receive also records what the objects reference (tree entries, commit trees and parents,
 * tag targets) that the pack does not hold, so that the connectivity check after a fetch needs no
 * second pass over the objects (git's `--check-self-contained-and-connected`).
 */
import { corrupt, IrminError, isIrminError } from "../core/errors.js";
import { digestLength, toHex, writeHex, type Hash, type HashAlgorithm } from "../core/hash.js";
import type { ObjectStore, PackSink } from "../backend/object-store.js";
import { decodeCommit } from "../codec/commit.js";
import type { ObjectType, RawObject } from "../codec/object.js";
import { applyDelta, deltaSizes } from "../codec/pack/delta.js";
import { decodeEntryHeader, decodeOfsDistance, decodePackHeader, objectTypeOfCode, PACK_HEADER_LENGTH, PACK_TYPE } from "../codec/pack/pack-format.js";
import { decodeTag } from "../codec/tag.js";
import { crc32, createHasher, createInflater, digest, type Hasher, type Inflater } from "../platform/native.js";
import { IdSet } from "./id-set.js";
import { concatBytes } from "./pkt-line.js";
import { reportProgress, type SyncProgress } from "./progress.js";
import { ENTRY_GITLINK, scanTree } from "./tree-links.js";

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
  /** Keep the pack as it is when the store offers a pack sink (default true); false: always putMany. */
  usePackSink?: boolean;
}

/** What a received pack references without holding it (see {@link receivePack}). */
export interface PackLinks {
  /** Ids that received trees (blob and tree entries), commits (their tree) and tags (their target) name and the pack does not hold. */
  readonly outside: Hash[];
  /** `[commit, parent]` for each parent of a received commit that the pack does not hold. */
  readonly outsideParents: [Hash, Hash][];
}

/** What {@link receivePack} stored. */
export interface ReceivedPack {
  /** Number of objects in the pack. */
  count: number;
  /** Their ids, in pack order. */
  hashes: Hash[];
  /** What they reference outside the pack (for a connectivity check). */
  links: PackLinks;
}

const BATCH_BYTES = 16 << 20;
const BASE_CACHE_BYTES = 96 << 20;
/** Largest first try at an entry's compressed bytes; bigger entries widen the window as needed. */
const MAX_FIRST_WINDOW = 1 << 24;
/** Bytes read back from a sink per chunk when a thin pack is replayed. */
const REPLAY_CHUNK = 1 << 20;

const RECEIVED = 1;
const REFERENCED = 2;

/**
 * A window over the incoming bytes with their absolute offset in the pack. Consumed bytes are
 * hashed (the pack checksum), written to the sink and CRC'd (per entry) lazily, in large runs,
 * when the window moves or on request ({@link release}).
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
  /** Start (in `buf`) of the consumed bytes not yet hashed and written. */
  private released = 0;
  /** Start (in `buf`) of the current entry's bytes not yet in `crc`. */
  private crcFrom = 0;
  private crc = 0;
  private readonly hasher: Hasher;

  constructor(
    source: AsyncIterable<Uint8Array>,
    algorithm: HashAlgorithm,
    private readonly maxBytes: number,
    private readonly sink: PackSink | undefined,
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

  /** Hashes (and writes to the sink) every byte consumed so far. */
  release(): void {
    if (this.pos > this.released) {
      const run = this.buf.subarray(this.released, this.pos);
      this.hasher.update(run);
      this.sink?.write(run);
      this.released = this.pos;
    }
  }

  /** Starts the CRC of an entry at the current position. */
  startEntry(): void {
    this.crc = 0;
    this.crcFrom = this.pos;
  }

  /** The CRC-32 of the bytes consumed since {@link startEntry}. */
  entryCrc(): number {
    if (this.sink !== undefined && this.pos > this.crcFrom) this.crc = crc32(this.buf.subarray(this.crcFrom, this.pos), this.crc);
    this.crcFrom = this.pos;
    return this.crc;
  }

  /** Buffers at least `n` unread bytes, or as many as the stream still has; returns the count. */
  async fill(n: number): Promise<number> {
    if (this.available >= n || this.ended) return this.available;
    this.release();
    if (this.sink !== undefined && this.pos > this.crcFrom) this.crc = crc32(this.buf.subarray(this.crcFrom, this.pos), this.crc);
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
      parts.push(chunk);
      have += chunk.length;
    }
    this.base += this.pos;
    this.buf = parts.length === 1 ? parts[0] : concatBytes(parts);
    this.pos = 0;
    this.released = 0;
    this.crcFrom = 0;
    return have;
  }

  /** Consumes `n` buffered bytes. */
  consume(n: number): void {
    this.pos += n;
  }

  /** The next `n` bytes (consumed); CORRUPT when the stream ends first. */
  async take(n: number, what: string): Promise<Uint8Array> {
    if (this.available < n && (await this.fill(n)) < n) throw corrupt(`pack truncated in ${what}`);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** The checksum of everything consumed so far. */
  digest(): Uint8Array {
    this.release();
    return this.hasher.digest();
  }

  /** Reads the trailer (not hashed) and checks that nothing follows it. */
  async trailer(length: number): Promise<Uint8Array> {
    this.release();
    if ((await this.fill(length + 1)) < length) throw corrupt("pack truncated in its checksum");
    if (this.available > length) throw corrupt("pack has data after its checksum");
    const out = this.buf.slice(this.pos, this.pos + length);
    this.pos += length;
    this.released = this.pos;
    return out;
  }
}

/** Inflates with `inflater`, mapping zlib's failures to CORRUPT; undefined when the input ends first. */
function inflateSome(inflater: Inflater, data: Uint8Array, offset: number, size: number, what: string): { output: Uint8Array; consumed: number } | undefined {
  let r;
  try {
    r = inflater.inflate(data, offset, size);
  } catch (e) {
    throw corrupt(`${what}: bad zlib data`, e);
  }
  if (r !== undefined && r.output.length !== size) throw corrupt(`${what}: inflated to ${r.output.length} bytes, header says ${size}`);
  return r;
}

/** Inflates the zlib stream at the input's position, which must produce exactly `size` bytes. */
async function inflateEntry(input: PackInput, inflater: Inflater, size: number, what: string): Promise<Uint8Array> {
  const quick = input.available > 0 ? inflateSome(inflater, input.buf, input.pos, size, what) : undefined;
  if (quick !== undefined) {
    input.consume(quick.consumed);
    return quick.output;
  }
  // zlib never expands data by more than ~1/8 plus a few bytes, so this usually holds the whole
  // stream; a stream cut by the end of the window widens it, unless the pack has no more bytes.
  let want = Math.max(Math.min(size + (size >> 3) + 64, MAX_FIRST_WINDOW), input.available * 2);
  for (;;) {
    const have = await input.fill(want);
    if (have === 0) throw corrupt(`pack truncated in ${what}`);
    const r = inflateSome(inflater, input.buf, input.pos, size, what);
    if (r !== undefined) {
      input.consume(r.consumed);
      return r.output;
    }
    if (input.ended) throw corrupt(`pack truncated in ${what}`);
    want = have * 2;
  }
}

/** Recently resolved entries kept as delta bases, bounded in bytes (insertion-order LRU). */
class BaseCache {
  private readonly map = new Map<number, RawObject>();
  private bytes = 0;
  get(entry: number): RawObject | undefined {
    return this.map.get(entry);
  }
  set(entry: number, o: RawObject): void {
    if (o.data.length > BASE_CACHE_BYTES / 4 || this.map.has(entry)) return;
    this.map.set(entry, o);
    this.bytes += o.data.length;
    if (this.bytes <= BASE_CACHE_BYTES) return;
    for (const [k, v] of this.map) {
      if (this.bytes <= BASE_CACHE_BYTES) break;
      this.map.delete(k);
      this.bytes -= v.data.length;
    }
  }
}

/** A delta whose base is not known yet. */
interface PendingDelta {
  entry: number;
  delta: Uint8Array;
}

/**
 * Parses a pack streamed from `source` (not held whole in memory), checks every object (its id
 * computed from its bytes; commits, trees and tags must parse; the trailing checksum must match),
 * resolves OFS/REF deltas (a REF_DELTA base may already be in `objects`: thin packs are
 * completed), and stores every object: as the pack itself when the store has a pack sink and the
 * pack is self-contained, else with putMany in bounded batches. Returns how many objects the
 * pack held, their ids in pack order, and what they reference outside the pack. Throws `CORRUPT`
 * on a truncated or corrupt pack, a bad delta or a delta base found nowhere; `INVALID_ARGUMENT`
 * past `maxBytes`; `IO` when the source fails. Through putMany, objects stored before a failure
 * stay (content-addressed, unreferenced); through a sink, nothing of a failed pack is kept. No
 * ref is touched. Memory: a bounded base cache (plus the putMany batch), a few numbers per entry,
 * the distinct ids referenced, and the data of REF_DELTAs whose base comes later in the pack.
 */
export async function receivePack(objects: ObjectStore, algorithm: HashAlgorithm, source: AsyncIterable<Uint8Array>, options: ReceivePackOptions = {}): Promise<ReceivedPack> {
  let sink: PackSink | undefined;
  try {
    if ((options.usePackSink ?? true) && typeof objects.openPackSink === "function") sink = await objects.openPackSink();
    const r = await receive(objects, algorithm, source, options, sink);
    if (sink === undefined || r.result.count === 0) return r.result;
    if (r.selfContained) {
      await sink.commit(r.indexEntries, r.trailer);
      reportProgress(options.onProgress, { phase: "writing", done: r.result.count, total: r.result.count });
      return r.result;
    }
    // A thin pack (or an empty one): store its objects one by one, reading the pack back.
    const s = sink;
    const length = r.length;
    const replay = async function* (): AsyncIterable<Uint8Array> {
      for (let at = 0; at < length; at += REPLAY_CHUNK) yield s.read(at, Math.min(REPLAY_CHUNK, length - at));
      yield r.trailer;
    };
    return (await receive(objects, algorithm, replay(), { ...options, maxBytes: undefined }, undefined)).result;
  } catch (e) {
    if (isIrminError(e)) throw e;
    // Defence in depth: whatever a hostile pack provokes (a RangeError from an absurd size, ...)
    // surfaces as CORRUPT, never as a crash of another kind.
    throw corrupt(`bad pack: ${(e as Error)?.message ?? String(e)}`, e);
  } finally {
    await sink?.abort().catch(() => undefined);
  }
}

interface ReceiveOutcome {
  result: ReceivedPack;
  /** Whether every delta base was in the pack and no id repeats (a sink can keep it as is). */
  selfContained: boolean;
  indexEntries: { hash: Hash; offset: number; crc32: number }[];
  trailer: Uint8Array;
  /** Bytes of the pack before its trailer. */
  length: number;
}

async function receive(objects: ObjectStore, algorithm: HashAlgorithm, source: AsyncIterable<Uint8Array>, options: ReceivePackOptions, sink: PackSink | undefined): Promise<ReceiveOutcome> {
  const maxObjectBytes = options.maxObjectBytes ?? 1 << 30;
  const maxBytes = options.maxBytes ?? Number.POSITIVE_INFINITY;
  const batchSize = Math.max(1, options.batchSize ?? 2000);
  const progress = options.onProgress;
  const input = new PackInput(source, algorithm, maxBytes, sink);
  const inflater = createInflater();
  const header = decodePackHeader(await input.take(PACK_HEADER_LENGTH, "its header"));
  const count = header.count;
  const idLength = digestLength(algorithm);

  // Per entry, in pack order: where it starts, where its zlib data starts, its inflated size,
  // its base entry (-1: a whole object; -2: a base outside the pack), its type once resolved.
  const offsets: number[] = [];
  const dataAt: number[] = [];
  const sizes: number[] = [];
  const bases: number[] = [];
  const types: (ObjectType | undefined)[] = [];
  const hashes: Hash[] = [];
  const crcs: number[] = [];
  const outsideBases = new Map<number, Hash>();
  const ids = new IdSet(idLength, Math.min(count, 1 << 20) + 16);
  const parentLinks: [Hash, Hash][] = [];
  const waitingOnEntry = new Map<number, PendingDelta[]>();
  const waitingOnHash = new Map<Hash, PendingDelta[]>();
  let waitingCount = 0;
  let selfContained = true;
  const cache = new BaseCache();
  let batch: RawObject[] = [];
  let batchIndex = new Map<Hash, RawObject>();
  let batchBytes = 0;
  let stored = 0;
  let resolvedDeltas = 0;

  const patch = (base: Uint8Array, delta: Uint8Array): Uint8Array => {
    if (deltaSizes(delta).resultSize > maxObjectBytes) throw corrupt("a delta produces an object over the size limit");
    const out = applyDelta(base, delta);
    resolvedDeltas++;
    if ((resolvedDeltas & 255) === 0) reportProgress(progress, { phase: "resolving", done: resolvedDeltas });
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

  const link = (data: Uint8Array, pos: number, kind: number): void => {
    if (kind !== ENTRY_GITLINK) ids.add(data, pos, REFERENCED);
  };
  const scratch = new Uint8Array(idLength);
  const linkHex = (hex: Hash): void => {
    for (let i = 0; i < idLength; i++) scratch[i] = parseInt(hex.substr(2 * i, 2), 16);
    ids.add(scratch, 0, REFERENCED);
  };

  /** Checks that a commit, tree or tag parses (blobs are any bytes) and notes what it references. */
  const check = (type: ObjectType, data: Uint8Array, hash: Hash): void => {
    try {
      if (type === "tree") scanTree(data, idLength, `received tree ${hash}`, link);
      else if (type === "commit") {
        const c = decodeCommit(data, algorithm);
        linkHex(c.tree);
        for (const p of c.parents) parentLinks.push([hash, p]);
      } else if (type === "tag") linkHex(decodeTag(data, algorithm).object);
    } catch (e) {
      if (isIrminError(e)) throw corrupt(`received ${type} ${hash} is malformed: ${e.message}`, e);
      throw e;
    }
  };

  /** The data of entry `e` (resolved earlier), from the cache, the pack sink or the store. */
  const dataOf = async (e: number): Promise<RawObject> => {
    const cached = cache.get(e);
    if (cached !== undefined) return cached;
    if (sink !== undefined) return reread(e);
    const o = batchIndex.get(hashes[e]) ?? (await objects.get(hashes[e]));
    if (o === undefined) throw corrupt(`delta base ${hashes[e]} vanished`);
    return o;
  };

  /** Entry `e` read back from the sink, its delta chain applied (bases cached on the way). */
  const reread = async (e: number): Promise<RawObject> => {
    input.release();
    const chain: { entry: number; delta: Uint8Array }[] = [];
    let cur = e;
    let base: RawObject | undefined;
    while (base === undefined) {
      const cached = cache.get(cur);
      if (cached !== undefined) {
        base = cached;
        break;
      }
      const end = offsets[cur + 1];
      const bytes = sink!.read(dataAt[cur], end - dataAt[cur]);
      const r = inflateSome(inflater, bytes, 0, sizes[cur], `pack entry ${cur}`);
      if (r === undefined) throw corrupt(`pack entry ${cur} changed while being read back`);
      const b = bases[cur];
      if (b === -1) base = { type: types[cur]!, data: r.output };
      else {
        chain.push({ entry: cur, delta: r.output });
        if (b === -2) {
          const outside = await objects.get(outsideBases.get(cur)!);
          if (outside === undefined) throw corrupt(`delta base ${outsideBases.get(cur)} vanished`);
          base = outside;
        } else cur = b;
      }
    }
    for (let i = chain.length - 1; i >= 0; i--) {
      base = { type: base.type, data: applyDelta(base.data, chain[i].delta) };
      cache.set(chain[i].entry, base);
    }
    return base;
  };

  /** Index (in `ids`) → entry, for received objects. */
  let entryOfId = new Int32Array(Math.min(count, 1 << 20) + 16);
  /** The entry holding the object whose raw id is at `bytes[pos..]`, or -1. */
  const entryOfRawId = (bytes: Uint8Array, pos: number): number => {
    const k = ids.indexOf(bytes, pos);
    return k >= 0 && (ids.flags(k) & RECEIVED) !== 0 ? entryOfId[k] : -1;
  };
  const entryOfHex = (hex: Hash): number => {
    writeHex(hex, scratch, 0);
    return entryOfRawId(scratch, 0);
  };

  /** Records one resolved entry: id, checks, cache, batch. */
  const record = (entry: number, type: ObjectType, data: Uint8Array): Hash => {
    const id = digest(algorithm, [frameHeader(type, data.length), data]);
    const hash = toHex(id);
    check(type, data, hash);
    const before = ids.size;
    const k = ids.add(id, 0, 0);
    // An object twice in one pack: legal, but an index cannot list it twice.
    if (ids.size === before && (ids.flags(k) & RECEIVED) !== 0) selfContained = false;
    else {
      ids.add(id, 0, RECEIVED);
      if (k >= entryOfId.length) {
        const grown = new Int32Array(entryOfId.length * 2 + k);
        grown.set(entryOfId);
        entryOfId = grown;
      }
      entryOfId[k] = entry;
    }
    types[entry] = type;
    hashes[entry] = hash;
    const raw: RawObject = { type, data };
    cache.set(entry, raw);
    if (sink === undefined && !batchIndex.has(hash)) {
      batch.push(raw);
      batchIndex.set(hash, raw);
      batchBytes += data.length;
    }
    return hash;
  };

  /** Records a resolved entry, then resolves every delta that waited on it (iteratively). */
  const resolved = async (entry: number, type: ObjectType, data: Uint8Array): Promise<void> => {
    const hash = record(entry, type, data);
    if (waitingCount > 0) {
      const stack: { entry: number; hash: Hash; type: ObjectType; data: Uint8Array }[] = [{ entry, hash, type, data }];
      while (stack.length > 0) {
        const o = stack.pop()!;
        const waiters = waitingOnEntry.get(o.entry);
        const byHash = waitingOnHash.get(o.hash);
        if (waiters === undefined && byHash === undefined) continue;
        waitingOnEntry.delete(o.entry);
        waitingOnHash.delete(o.hash);
        for (const w of [...(waiters ?? []), ...(byHash ?? [])]) {
          waitingCount--;
          bases[w.entry] = o.entry;
          const d = patch(o.data, w.delta);
          stack.push({ entry: w.entry, hash: record(w.entry, o.type, d), type: o.type, data: d });
        }
      }
    }
    if (batch.length >= batchSize || batchBytes >= BATCH_BYTES) await flush();
  };

  for (let i = 0; i < count; i++) {
    const offset = input.offset;
    offsets.push(offset);
    if (input.available < 48) await input.fill(48);
    input.startEntry();
    const h = decodeEntryHeader(input.buf.subarray(0, input.pos + Math.min(input.available, 48)), input.pos);
    input.consume(h.length);
    const what = `pack entry ${i} at offset ${offset}`;
    if (h.size > maxObjectBytes) throw corrupt(`${what}: ${h.size} bytes exceeds the object size limit`);
    sizes.push(h.size);
    const type = objectTypeOfCode(h.code);
    if (type !== undefined) {
      bases.push(-1);
      dataAt.push(input.offset);
      const data = await inflateEntry(input, inflater, h.size, what);
      crcs.push(input.entryCrc());
      await resolved(i, type, data);
    } else if (h.code === PACK_TYPE.ofsDelta) {
      const d = decodeOfsDistance(input.buf.subarray(0, input.pos + Math.min(input.available, 16)), input.pos);
      input.consume(d.length);
      const baseOffset = offset - d.distance;
      const baseEntry = d.distance > 0 ? entryAtOffsetOf(offsets, baseOffset) : -1;
      if (baseEntry < 0) throw corrupt(`${what}: OFS_DELTA base ${baseOffset} is not an earlier entry`);
      bases.push(baseEntry);
      dataAt.push(input.offset);
      const delta = await inflateEntry(input, inflater, h.size, what);
      crcs.push(input.entryCrc());
      if (hashes[baseEntry] === undefined) {
        push(waitingOnEntry, baseEntry, { entry: i, delta });
        waitingCount++;
      } else {
        const base = await dataOf(baseEntry);
        await resolved(i, base.type, patch(base.data, delta));
      }
    } else {
      const baseId = await input.take(idLength, what);
      const baseHash = toHex(baseId, 0, idLength);
      const inPack = entryOfRawId(baseId, 0);
      dataAt.push(input.offset);
      const delta = await inflateEntry(input, inflater, h.size, what);
      crcs.push(input.entryCrc());
      if (inPack >= 0) {
        bases.push(inPack);
        const base = await dataOf(inPack);
        await resolved(i, base.type, patch(base.data, delta));
      } else {
        bases.push(-3);
        const outside = batchIndex.get(baseHash) ?? (await objects.get(baseHash));
        if (outside === undefined) {
          push(waitingOnHash, baseHash, { entry: i, delta });
          waitingCount++;
        } else {
          bases[i] = -2;
          outsideBases.set(i, baseHash);
          selfContained = false;
          await resolved(i, outside.type, patch(outside.data, delta));
        }
      }
    }
    if ((i & 255) === 255 || i + 1 === count) reportProgress(progress, { phase: "receiving", done: i + 1, total: count });
  }
  const length = input.offset;
  offsets.push(length);
  const expected = input.digest();
  const trailer = await input.trailer(idLength);
  if (toHex(trailer) !== toHex(expected)) throw corrupt("pack checksum mismatch");
  if (waitingCount > 0) {
    const missing = [...waitingOnHash.keys()][0] ?? "an entry of the pack";
    throw corrupt(`pack has ${waitingCount} deltas whose base is missing (e.g. ${missing})`);
  }
  if (resolvedDeltas > 0) reportProgress(progress, { phase: "resolving", done: resolvedDeltas, total: resolvedDeltas });
  await flush();
  const outside: Hash[] = [];
  for (let k = 0; k < ids.size; k++) if (ids.flags(k) === REFERENCED) outside.push(ids.hexAt(k));
  const outsideParents = parentLinks.filter(([, p]) => entryOfHex(p) < 0);
  const indexEntries = sink === undefined ? [] : sortedById(hashes.map((hash, k) => ({ hash, offset: offsets[k], crc32: crcs[k] })));
  return { result: { count, hashes, links: { outside, outsideParents } }, selfContained, indexEntries, trailer, length };
}

/**
 * `entries` in id order, in linear time: a counting sort on the first 16 bits (ids are uniformly
 * spread), then insertion sorts of the small buckets. The index writer sorts again, which costs
 * one comparison per entry on sorted input, instead of a full string sort.
 */
function sortedById<T extends { hash: Hash }>(entries: T[]): T[] {
  const key = (e: T) => parseInt(e.hash.slice(0, 4), 16);
  const counts = new Uint32Array(65537);
  for (const e of entries) counts[key(e) + 1]++;
  for (let i = 1; i < counts.length; i++) counts[i] += counts[i - 1];
  const out = new Array<T>(entries.length);
  for (const e of entries) out[counts[key(e)]++] = e;
  // Each bucket is now contiguous; order within it by insertion.
  for (let i = 1; i < out.length; i++) {
    const e = out[i];
    let j = i - 1;
    while (j >= 0 && out[j].hash > e.hash) {
      out[j + 1] = out[j];
      j--;
    }
    out[j + 1] = e;
  }
  return out;
}

/** The entry starting at `offset` (binary search: entries come in offset order), or -1. */
function entryAtOffsetOf(offsets: readonly number[], offset: number): number {
  let lo = 0;
  let hi = offsets.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (offsets[mid] < offset) lo = mid + 1;
    else hi = mid;
  }
  return lo < offsets.length && offsets[lo] === offset ? lo : -1;
}

const TYPE_PREFIX: Record<ObjectType, Uint8Array> = {
  blob: Uint8Array.from([0x62, 0x6c, 0x6f, 0x62, 0x20]),
  tree: Uint8Array.from([0x74, 0x72, 0x65, 0x65, 0x20]),
  commit: Uint8Array.from([0x63, 0x6f, 0x6d, 0x6d, 0x69, 0x74, 0x20]),
  tag: Uint8Array.from([0x74, 0x61, 0x67, 0x20]),
};

/** Git's object header `"<type> <size>\0"` (as `objectHeader`, without a text encoder per object). */
function frameHeader(type: ObjectType, size: number): Uint8Array {
  const prefix = TYPE_PREFIX[type];
  const digits = String(size);
  const out = new Uint8Array(prefix.length + digits.length + 1);
  out.set(prefix);
  for (let i = 0; i < digits.length; i++) out[prefix.length + i] = digits.charCodeAt(i);
  return out;
}

function push<K>(map: Map<K, PendingDelta[]>, key: K, value: PendingDelta): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [value]);
  else list.push(value);
}
