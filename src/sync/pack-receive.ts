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
import { corrupt, isIrminError } from "../core/errors.js";
import { digestLength, toHex, writeHex, type Hash, type HashAlgorithm } from "../core/hash.js";
import type { ObjectStore, PackSink } from "../backend/object-store.js";
import { decodeCommit } from "../codec/commit.js";
import type { ObjectType, RawObject } from "../codec/object.js";
import { applyDelta, deltaSizes } from "../codec/pack/delta.js";
import { decodeEntryHeader, decodeOfsDistance, decodePackHeader, PACK_HEADER_LENGTH, PACK_TYPE } from "../codec/pack/pack-format.js";
import { decodeTag } from "../codec/tag.js";
import { createInflater, digestInto } from "../platform/native.js";
import { IdSet } from "./id-set.js";
import { entryName, inflateEntry, inflateSome, PackInput } from "./pack-input.js";
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
/** Bytes read back from a sink per chunk when a thin pack is replayed. */
const REPLAY_CHUNK = 1 << 20;

const RECEIVED = 1;
const REFERENCED = 2;

/** A delta whose base is not known yet. */
interface PendingDelta {
  entry: number;
  delta: Uint8Array;
}

/** Most entries kept as delta bases at once (with {@link BASE_CACHE_BYTES}, whichever comes first). */
const BASE_CACHE_ENTRIES = 1 << 14;

/**
 * Recently resolved entries kept as delta bases, bounded in bytes and in count, evicted oldest
 * first: an array indexed by entry plus a ring of the cached entries (no Map, no object per
 * entry). Entries that fall out are read back from the sink or the store when needed.
 */
class BaseCache {
  private readonly data: (Uint8Array | undefined)[] = [];
  private readonly ring = new Int32Array(BASE_CACHE_ENTRIES);
  private head = 0;
  private length = 0;
  private bytes = 0;
  get(entry: number): Uint8Array | undefined {
    return this.data[entry];
  }
  set(entry: number, data: Uint8Array): void {
    if (data.length > BASE_CACHE_BYTES / 4 || this.data[entry] !== undefined) return;
    const ring = this.ring;
    while (this.length > 0 && (this.length === ring.length || this.bytes + data.length > BASE_CACHE_BYTES)) {
      const old = ring[this.head];
      this.bytes -= this.data[old]!.length;
      this.data[old] = undefined;
      this.head = (this.head + 1) & (ring.length - 1);
      this.length--;
    }
    this.data[entry] = data;
    ring[(this.head + this.length) & (ring.length - 1)] = entry;
    this.length++;
    this.bytes += data.length;
  }
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
      const count = r.result.count;
      if (sink.commitColumns !== undefined) await sink.commitColumns(r.ids, r.offsets, r.crcs, count, r.trailer);
      else {
        const hashes = r.result.hashes;
        await sink.commit(
          hashes.map((hash, k) => ({ hash, offset: r.offsets[k], crc32: r.crcs[k] })),
          r.trailer,
        );
      }
      reportProgress(options.onProgress, { phase: "writing", done: count, total: count });
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
  /** Per entry `k` in pack order: its binary id at `ids[k * idLength]`, its offset, its CRC-32. */
  ids: Uint8Array;
  offsets: Float64Array;
  crcs: Uint32Array;
  trailer: Uint8Array;
  /** Bytes of the pack before its trailer. */
  length: number;
}

const TYPE_OF_CODE: readonly (ObjectType | undefined)[] = [undefined, "commit", "tree", "blob", "tag"];

/**
 * The receive loop. Per entry it keeps numbers in typed columns (offset, data offset, size, base,
 * type, CRC, binary id) and allocates only the inflated bytes and what hashing needs; it awaits
 * only when the window must be refilled, a base must be read back, or a batch is stored, so a
 * pack of small objects is processed without a promise per object.
 */
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

  // Per entry, in pack order: where it starts (plus the end of the last one), where its zlib
  // data starts, its inflated size, its base entry (-1: a whole object; -2: a base outside the
  // pack; -3: a REF_DELTA waiting for its base), its type code once resolved (0 before), its
  // CRC-32 and its binary id. Sized for the announced count (capped: the header is not trusted).
  let cap = Math.min(count, 1 << 20) + 1;
  let offsets = new Float64Array(cap);
  let dataAt = new Float64Array(cap);
  let sizes = new Float64Array(cap);
  let bases = new Int32Array(cap);
  let types = new Uint8Array(cap);
  let crcs = new Uint32Array(cap);
  let entryIds = new Uint8Array(cap * idLength);
  const grow = (): void => {
    cap *= 2;
    const more = <T extends Float64Array | Int32Array | Uint8Array | Uint32Array>(a: T, n: number): T => {
      const b = new (a.constructor as new (n: number) => T)(n);
      b.set(a);
      return b;
    };
    offsets = more(offsets, cap);
    dataAt = more(dataAt, cap);
    sizes = more(sizes, cap);
    bases = more(bases, cap);
    types = more(types, cap);
    crcs = more(crcs, cap);
    entryIds = more(entryIds, cap * idLength);
  };
  const hexOf = (entry: number): Hash => toHex(entryIds, entry * idLength, idLength);

  const outsideBases = new Map<number, Hash>();
  const ids = new IdSet(idLength, Math.min(count, 1 << 20) + 16);
  const parentLinks: [number, Hash][] = [];
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
    writeHex(hex, scratch, 0);
    ids.add(scratch, 0, REFERENCED);
  };

  /** Checks that a commit, tree or tag parses (blobs are any bytes) and notes what it references. */
  const check = (type: ObjectType, data: Uint8Array, entry: number): void => {
    try {
      if (type === "tree") scanTree(data, idLength, "tree", link);
      else if (type === "commit") {
        const c = decodeCommit(data, algorithm);
        linkHex(c.tree);
        for (const p of c.parents) parentLinks.push([entry, p]);
      } else if (type === "tag") linkHex(decodeTag(data, algorithm).object);
    } catch (e) {
      if (isIrminError(e)) throw corrupt(`received ${type} ${hexOf(entry)} is malformed: ${e.message}`, e);
      throw e;
    }
  };

  // Git's object framing `"<type> <size>\0" + data`, assembled in one reused buffer and hashed
  // in one call (objects past FRAME_MAX are hashed from two pieces).
  let frame = new Uint8Array(4096);
  const hashInto = (type: ObjectType, data: Uint8Array, entry: number): void => {
    const prefix = TYPE_PREFIX[type];
    const size = data.length;
    let digits = 1;
    for (let v = size; v >= 10; v = Math.floor(v / 10)) digits++;
    const headerLength = prefix.length + digits + 1;
    const n = headerLength + size;
    if (n > FRAME_MAX) {
      digestInto(algorithm, [frameHeader(type, size), data], entryIds, entry * idLength);
      return;
    }
    if (n > frame.length) frame = new Uint8Array(Math.min(FRAME_MAX, Math.max(n, frame.length * 2)));
    frame.set(prefix);
    let v = size;
    for (let i = prefix.length + digits - 1; i >= prefix.length; i--) {
      frame[i] = 0x30 + (v % 10);
      v = Math.floor(v / 10);
    }
    frame[headerLength - 1] = 0;
    if (size <= 64) for (let i = 0; i < size; i++) frame[headerLength + i] = data[i];
    else frame.set(data, headerLength);
    digestInto(algorithm, [frame.subarray(0, n)], entryIds, entry * idLength);
  };

  /** Entry `e` read back from the sink (or, for a base outside the pack, the store), its delta chain applied (bases cached on the way). */
  const reread = async (e: number): Promise<Uint8Array> => {
    input.release();
    const chain: { entry: number; delta: Uint8Array }[] = [];
    let cur = e;
    let base: Uint8Array | undefined;
    while (base === undefined) {
      const cached = cache.get(cur);
      if (cached !== undefined) {
        base = cached;
        break;
      }
      const end = offsets[cur + 1];
      const bytes = sink!.read(dataAt[cur], end - dataAt[cur]);
      const r = inflateSome(inflater, bytes, 0, sizes[cur], cur, offsets[cur]);
      if (r === undefined) throw corrupt(`pack entry ${cur} changed while being read back`);
      const b = bases[cur];
      if (b === -1) base = r.output;
      else {
        chain.push({ entry: cur, delta: r.output });
        if (b === -2) {
          const outside = await objects.get(outsideBases.get(cur)!);
          if (outside === undefined) throw corrupt(`delta base ${outsideBases.get(cur)} vanished`);
          base = outside.data;
        } else cur = b;
      }
    }
    for (let i = chain.length - 1; i >= 0; i--) {
      base = applyDelta(base, chain[i].delta);
      cache.set(chain[i].entry, base);
    }
    return base;
  };

  /** The data of entry `e` (resolved earlier) when it is not cached: from the pack sink or the store. */
  const fetchData = async (e: number): Promise<Uint8Array> => {
    if (sink !== undefined) return reread(e);
    const hash = hexOf(e);
    const o = batchIndex.get(hash) ?? (await objects.get(hash));
    if (o === undefined) throw corrupt(`delta base ${hash} vanished`);
    return o.data;
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
  const record = (entry: number, type: ObjectType, data: Uint8Array): void => {
    hashInto(type, data, entry);
    check(type, data, entry);
    const at = entry * idLength;
    const before = ids.size;
    const k = ids.add(entryIds, at, 0);
    // An object twice in one pack: legal, but an index cannot list it twice.
    if (ids.size === before && (ids.flags(k) & RECEIVED) !== 0) selfContained = false;
    else {
      ids.orFlags(k, RECEIVED);
      if (k >= entryOfId.length) {
        const grown = new Int32Array(entryOfId.length * 2 + k);
        grown.set(entryOfId);
        entryOfId = grown;
      }
      entryOfId[k] = entry;
    }
    types[entry] = PACK_TYPE[type];
    cache.set(entry, data);
    if (sink === undefined) {
      const hash = hexOf(entry);
      if (!batchIndex.has(hash)) {
        const raw: RawObject = { type, data };
        batch.push(raw);
        batchIndex.set(hash, raw);
        batchBytes += data.length;
      }
    }
  };

  /** Records a resolved entry, then resolves every delta that waited on it (iteratively). */
  const resolved = (entry: number, type: ObjectType, data: Uint8Array): void => {
    record(entry, type, data);
    if (waitingCount === 0) return;
    const stack: { entry: number; data: Uint8Array }[] = [{ entry, data }];
    while (stack.length > 0) {
      const o = stack.pop()!;
      const waiters = waitingOnEntry.get(o.entry);
      const hash = waitingOnHash.size > 0 ? hexOf(o.entry) : undefined;
      const byHash = hash === undefined ? undefined : waitingOnHash.get(hash);
      if (waiters === undefined && byHash === undefined) continue;
      waitingOnEntry.delete(o.entry);
      if (hash !== undefined) waitingOnHash.delete(hash);
      for (const w of [...(waiters ?? []), ...(byHash ?? [])]) {
        waitingCount--;
        bases[w.entry] = o.entry;
        const d = patch(o.data, w.delta);
        record(w.entry, type, d);
        stack.push({ entry: w.entry, data: d });
      }
    }
  };

  for (let i = 0; i < count; i++) {
    if (i + 1 >= cap) grow();
    if (input.available < 64 && !input.ended) await input.fill(64);
    const offset = input.offset;
    offsets[i] = offset;
    input.startEntry();
    const { code, size, length: headerLength } = decodeEntryHeader(input.buf, input.pos);
    input.consume(headerLength);
    if (size > maxObjectBytes) throw corrupt(`${entryName(i, offset)}: ${size} bytes exceeds the object size limit`);
    sizes[i] = size;
    const type = TYPE_OF_CODE[code];
    let baseEntry = -1;
    let baseId: Uint8Array | undefined;
    if (code === PACK_TYPE.ofsDelta) {
      const d = decodeOfsDistance(input.buf.subarray(0, input.pos + Math.min(input.available, 16)), input.pos);
      input.consume(d.length);
      const baseOffset = offset - d.distance;
      baseEntry = d.distance > 0 ? entryAtOffsetOf(offsets, i, baseOffset) : -1;
      if (baseEntry < 0) throw corrupt(`${entryName(i, offset)}: OFS_DELTA base ${baseOffset} is not an earlier entry`);
    } else if (type === undefined) {
      if (input.available >= idLength) {
        baseId = input.buf.subarray(input.pos, input.pos + idLength);
        input.consume(idLength);
      } else baseId = await input.take(idLength, entryName(i, offset));
    }
    dataAt[i] = input.offset;
    let data: Uint8Array;
    const quick = input.available > 0 ? inflateSome(inflater, input.buf, input.pos, size, i, offset) : undefined;
    if (quick !== undefined) {
      input.consume(quick.consumed);
      data = quick.output;
    } else data = await inflateEntry(input, inflater, size, i, offset);
    crcs[i] = input.entryCrc();
    if (type !== undefined) {
      bases[i] = -1;
      resolved(i, type, data);
    } else if (baseId === undefined) {
      bases[i] = baseEntry;
      if (types[baseEntry] === 0) {
        push(waitingOnEntry, baseEntry, { entry: i, delta: data });
        waitingCount++;
      } else {
        const base = cache.get(baseEntry) ?? (await fetchData(baseEntry));
        resolved(i, TYPE_OF_CODE[types[baseEntry]]!, patch(base, data));
      }
    } else {
      const inPack = entryOfRawId(baseId, 0);
      if (inPack >= 0) {
        bases[i] = inPack;
        const base = cache.get(inPack) ?? (await fetchData(inPack));
        resolved(i, TYPE_OF_CODE[types[inPack]]!, patch(base, data));
      } else {
        const baseHash = toHex(baseId, 0, idLength);
        bases[i] = -3;
        const outside = batchIndex.get(baseHash) ?? (await objects.get(baseHash));
        if (outside === undefined) {
          push(waitingOnHash, baseHash, { entry: i, delta: data });
          waitingCount++;
        } else {
          bases[i] = -2;
          outsideBases.set(i, baseHash);
          selfContained = false;
          resolved(i, outside.type, patch(outside.data, data));
        }
      }
    }
    if (batch.length >= batchSize || batchBytes >= BATCH_BYTES) await flush();
    if ((i & 255) === 255 || i + 1 === count) reportProgress(progress, { phase: "receiving", done: i + 1, total: count });
  }
  const length = input.offset;
  offsets[count] = length;
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
  const outsideParents: [Hash, Hash][] = [];
  for (const [entry, parent] of parentLinks) if (entryOfHex(parent) < 0) outsideParents.push([hexOf(entry), parent]);
  // The hex ids in pack order, built only if a caller asks (the connectivity check does not
  // when the links show the pack complete).
  let hexes: Hash[] | undefined;
  const finalIds = entryIds;
  const result: ReceivedPack = {
    count,
    get hashes(): Hash[] {
      if (hexes === undefined) {
        hexes = new Array<Hash>(count);
        for (let k = 0; k < count; k++) hexes[k] = toHex(finalIds, k * idLength, idLength);
      }
      return hexes;
    },
    links: { outside, outsideParents },
  };
  return { result, selfContained, ids: entryIds, offsets, crcs, trailer, length };
}

/** The entry among the first `n` starting at `offset` (binary search: entries come in offset order), or -1. */
function entryAtOffsetOf(offsets: Float64Array, n: number, offset: number): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (offsets[mid] < offset) lo = mid + 1;
    else hi = mid;
  }
  return lo < n && offsets[lo] === offset ? lo : -1;
}

/** Objects whose framing is past this size are hashed from two pieces instead of one copy. */
const FRAME_MAX = 1 << 16;

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
