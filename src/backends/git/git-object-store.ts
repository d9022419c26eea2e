import { invalidArgument, IrminError, isIrminError } from "../../core/errors.js";
import { type Hash, type HashAlgorithm, isHash } from "../../core/hash.js";
import { hashObject, isObjectType, type ObjectType, type RawObject } from "../../codec/object.js";
import { decodeCommit } from "../../codec/commit.js";
import type { ObjectStore, PackSink, StoredObject } from "../../backend/object-store.js";
import type { LooseObjects } from "./loose-objects.js";
import type { Alternates } from "./alternates.js";

/** What the object store needs from the packfiles of `objects/pack` (implemented by `PackDirectory`). */
export interface PackSource {
  get(hash: Hash): Promise<RawObject | undefined>;
  has(hash: Hash): Promise<boolean>;
  /** Whether a pack already open holds `hash` (no rescan, no check that it is still on disk: reads). */
  hasKnown(hash: Hash): Promise<boolean>;
  /** Whether a pack on disk holds each of `hashes`, refreshing their times unless `freshen` is false (the write path; rescans only when a pack was deleted). */
  hasOnDisk(hashes: readonly Hash[], freshen?: boolean): Promise<boolean[]>;
  hashes(): AsyncIterable<Hash>;
  writePack(objects: AsyncIterable<RawObject> | Iterable<RawObject>): Promise<{ name: string; count: number }>;
  /** An object as a pack stores it (see `ObjectStore.getStored`); undefined when no open pack holds it. */
  getStored?(hash: Hash): StoredObject | undefined;
  /** A sink for a received pack, kept as it is (see `ObjectStore.openPackSink`). */
  openPackSink?(): PackSink;
  /** Writes distinct, hashed objects as one pack, flushed before it is visible. */
  writeSmallPack(objects: readonly { hash: Hash; type: ObjectType; data: Uint8Array }[]): Promise<string>;
}

/** Tuning of {@link GitObjectStore}. */
export interface GitObjectStoreOptions {
  /** `putMany` writes one packfile instead of loose files when at least this many objects are new. */
  readonly packThreshold: number;
  /** The durability barrier (see `durability.ts`): flushed by {@link GitObjectStore.flush}. */
  readonly flush: () => Promise<void>;
  /** How many loose objects `putMany` writes at the same time. */
  readonly concurrency: number;
  /** Object directories borrowed through `objects/info/alternates`: read, counted as present, never written. */
  readonly alternates?: Alternates;
}

/**
 * The object store of a Git directory: loose objects first (new writes land there), then
 * packfiles. Every read is checked against its id (`CORRUPT` otherwise), by the loose reader or
 * the pack reader. Ids that are not well-formed for this store's algorithm are simply absent
 * (no file-system access is made for them).
 */
export class GitObjectStore implements ObjectStore {
  constructor(
    readonly algorithm: HashAlgorithm,
    private readonly loose: LooseObjects,
    private readonly packs: PackSource,
    private readonly live: () => void,
    private readonly options: GitObjectStoreOptions,
  ) {}

  /** Known packs first, then a loose file, then the packs again after a rescan of `objects/pack` (so a concurrent `git gc` is followed). */
  async get(hash: Hash): Promise<RawObject | undefined> {
    this.live();
    if (!isHash(hash, this.algorithm)) return undefined;
    // Packs already open answer from their in-memory index; only then a loose file, then a
    // rescan of objects/pack (for packs a concurrent git gc wrote).
    if (await this.packs.hasKnown(hash)) return this.packs.get(hash);
    return (await this.loose.read(hash)) ?? (await this.packs.get(hash)) ?? (await this.options.alternates?.get(hash));
  }

  /** Whether a loose file or a pack holds `hash`; the content is checked only when read. */
  async has(hash: Hash): Promise<boolean> {
    this.live();
    if (!isHash(hash, this.algorithm)) return false;
    return (await this.loose.has(hash)) || (await this.packs.has(hash)) || ((await this.options.alternates?.has(hash)) ?? false);
  }

  /**
   * Writes one loose object unless a loose file or a known pack already holds it. Visible to every
   * reader (other processes, git) when the promise resolves, and safe against a process crash;
   * against a power cut, like git's loose objects, only once {@link flush} (or any ref update of
   * this backend, which flushes first) has resolved.
   */
  async put(type: ObjectType, data: Uint8Array): Promise<Hash> {
    this.live();
    checkObject(type, data);
    const hash = hashObject(this.algorithm, type, data);
    if (!(await this.present(hash))) await this.loose.write(hash, type, data);
    return hash;
  }

  /**
   * Whether `hash` may be named by a ref, checked under the ref's lock (as `git update-ref` checks
   * the object exists): it is on disk and, for a commit, so are its tree and parents. A pack
   * deleted since this process opened it (a concurrent `git repack -a -d` or `gc --prune=now`
   * drops objects no ref reaches yet) does not count. `isShallow`: whether a commit is a shallow
   * clone's boundary, whose parents are absent by design. Cost for a fresh commit: index lookups
   * and one existence check per pack holding the three (a loose file or a rescan only for what
   * the open packs lack).
   */
  async refTargetOnDisk(hash: Hash, isShallow: (hash: Hash) => Promise<boolean>): Promise<boolean> {
    this.live();
    if (!(await this.onDisk([hash]))[0]) return false;
    const o = await this.get(hash);
    if (o === undefined) return false;
    if (o.type !== "commit") return true;
    let c: ReturnType<typeof decodeCommit>;
    try {
      c = decodeCommit(o.data, this.algorithm);
    } catch (e) {
      // A malformed commit is not this check's business (it exists): reading it says CORRUPT.
      if (isIrminError(e, "CORRUPT")) return true;
      throw e;
    }
    const [tree, ...parents] = await this.onDisk([c.tree, ...c.parents]);
    if (!tree) return false;
    return parents.every(Boolean) || isShallow(hash);
  }

  /** {@link has} of several ids, the open packs first (one existence check per pack), then a loose file or a rescan for the rest. */
  private async onDisk(hashes: readonly Hash[]): Promise<boolean[]> {
    const inPacks = await this.packs.hasOnDisk(hashes, false);
    return Promise.all(hashes.map(async (h, i) => inPacks[i] || (await this.has(h))));
  }

  /** The write path's existence check: no pack rescan on a miss (a duplicate loose copy is harmless); a pack or loose file found has its time refreshed. */
  private async present(hash: Hash): Promise<boolean> {
    return (await this.packs.hasOnDisk([hash]))[0] || this.loose.freshen(hash) || ((await this.options.alternates?.hasForWrite(hash)) ?? false);
  }

  /**
   * Makes every object written so far durable (flushed to disk with the directory entries that
   * name them). Ref updates of this backend do it first; call it to make objects that no ref
   * points at durable. Cost: one parallel round of flushes of what was written since the last.
   */
  async flush(): Promise<void> {
    this.live();
    await this.options.flush();
  }

  /**
   * Stores a batch: validates everything first (nothing is written for a bad batch), skips
   * objects already in a pack (and, for loose writes, objects already loose), then writes the
   * new ones either as loose objects (fewer than `options.packThreshold`; see {@link put} for
   * when they are durable) or as one packfile, flushed to disk before it becomes visible (one
   * file and its index instead of many small files: a commit's new trees, blobs and commit cost
   * two file creations).
   */
  async putMany(objects: readonly RawObject[]): Promise<Hash[]> {
    this.live();
    if (!Array.isArray(objects)) throw invalidArgument("putMany expects an array of objects");
    for (const o of objects) {
      if (typeof o !== "object" || o === null) throw invalidArgument("putMany expects { type, data } objects");
      checkObject(o.type, o.data);
    }
    const hashes = objects.map((o) => hashObject(this.algorithm, o.type, o.data));
    const unique = new Map<Hash, RawObject>();
    hashes.forEach((h, i) => unique.set(h, objects[i]));
    // Packs first (an in-memory lookup). Enough left for a pack: written without looking for
    // loose copies (a syscall per object on every commit; an object both loose and packed is
    // harmless, and git's gc prunes the loose copy). Else only objects found nowhere go loose.
    const alternates = this.options.alternates;
    const inPacks = await this.packs.hasOnDisk([...unique.keys()]);
    if (alternates !== undefined) {
      const keys = [...unique.keys()];
      for (let i = 0; i < keys.length; i++) inPacks[i] ||= await alternates.hasForWrite(keys[i]);
    }
    let missing = [...unique].filter((_, i) => !inPacks[i]);
    if (missing.length >= this.options.packThreshold) {
      await this.packs.writeSmallPack(missing.map(([hash, o]) => ({ hash, type: o.type, data: o.data })));
    } else {
      const loose = missing.map(([h]) => this.loose.freshen(h));
      missing = missing.filter((_, i) => !loose[i]);
      await mapLimit(missing, this.options.concurrency, ([h, o]) => this.loose.write(h, o.type, o.data));
    }
    return hashes;
  }

  /**
   * The object `hash` as a pack stores it, for a server to copy into the pack it sends (see
   * `ObjectStore.getStored`): undefined when it is loose, in no open pack, or its entry fails the
   * index's CRC-32. Synchronous: one index lookup and one positioned read.
   */
  getStored(hash: Hash): StoredObject | undefined {
    this.live();
    return this.packs.getStored?.(hash);
  }

  /**
   * A sink that keeps a received pack as it is, with an index (as `git index-pack`): the objects
   * become visible, as durable as a `putMany` pack, when the sink commits. See
   * `ObjectStore.openPackSink`.
   */
  async openPackSink(): Promise<PackSink> {
    this.live();
    if (this.packs.openPackSink === undefined) throw new IrminError("UNSUPPORTED", "this pack source takes no received packs");
    return this.packs.openPackSink();
  }

  /** Every id, each once: loose objects, then packed ones not already seen. Holds the set of ids seen in memory. */
  async *hashes(): AsyncIterable<Hash> {
    this.live();
    const seen = new Set<Hash>();
    for await (const h of this.loose.hashes()) {
      seen.add(h);
      yield h;
    }
    for await (const h of this.packs.hashes()) {
      if (seen.has(h)) continue;
      seen.add(h);
      yield h;
    }
    for await (const h of this.options.alternates?.hashes() ?? []) {
      if (seen.has(h)) continue;
      seen.add(h);
      yield h;
    }
  }
}

function checkObject(type: ObjectType, data: Uint8Array): void {
  if (!isObjectType(type)) throw invalidArgument(`unknown object type ${JSON.stringify(type)}`);
  if (!(data instanceof Uint8Array)) throw invalidArgument("object data must be a Uint8Array");
}

/** `fn` over `items` with at most `limit` calls in flight; results in input order. */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
