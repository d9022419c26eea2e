import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { IrminError, invalidArgument } from "../../core/errors.js";
import { checkHash, type Hash, type HashAlgorithm } from "../../core/hash.js";
import type { RawObject } from "../../codec/object.js";
import type { Backend, BackendSupports, ShallowStore } from "../../backend/backend.js";
import { Alternates } from "./alternates.js";
import { openGitDirectory } from "./git-dir.js";
import { GitObjectStore } from "./git-object-store.js";
import { GitRefStore } from "./git-ref-store.js";
import { Durability } from "./durability.js";
import { Journal } from "./journal.js";
import type { JournalRefChange } from "./journal-format.js";
import { recoverJournals } from "./journal-recovery.js";
import { LooseObjects } from "./loose-objects.js";
import { PackDirectory } from "./pack/pack-directory.js";
import { repack as repackPacks } from "./pack/repack.js";
import { readShallowFile, writeShallowFile } from "./shallow-file.js";

/** Options of {@link gitBackend}. */
export interface GitBackendOptions {
  /**
   * A bare repository, a work tree with a `.git` directory (or a `.git` file, `gitdir: <path>`),
   * or a directory to create a bare repository in.
   */
  readonly path: string;
  /** Object format: checked against an existing repository (`INVALID_ARGUMENT` on mismatch); `sha1` for a new one. Default: what the repository uses. */
  readonly hash?: HashAlgorithm;
  /** Create a bare repository when `path` is missing or empty (default true); otherwise `NOT_FOUND`. */
  readonly create?: boolean;
  /**
   * Durability policy (default true: durability first). With `true`, a resolved ref update
   * survives a power cut, and so does everything it points at that this backend wrote (stronger
   * than git's default `core.fsync`: git 2.39 flushes packs, but neither loose objects nor refs):
   * - loose objects (`put`, small `putMany`) are not flushed when written (git does not flush
   *   them either), but every ref update of this backend first flushes, in one parallel round,
   *   all the objects written before it; `objects.flush()` does the same for objects no ref
   *   points at yet;
   * - with `journal` (the default), a small pack (a commit's) and each ref change are recorded in
   *   a journal file, flushed once per update, and git's own files are flushed every few
   *   megabytes (see `journal.ts`): a commit costs one flush. After a power cut, the next open
   *   replays the journal; until then git may see what the cut left, as with git's own commits;
   * - without it, packs are flushed before they become visible, and the ref file and its
   *   directory after: no window, even for git, but three flushes in a row per commit;
   * - received packs (fetches) are always flushed before they become visible; roll-ups too
   *   without a journal, and with one at the next checkpoint, before the packs they replace go
   *   (a replay after a restart drops a roll-up the cut damaged);
   * - a process crash loses nothing that a resolved call wrote (the page cache keeps it).
   *
   * With `false`, nothing is flushed (tests, throwaway repositories, or git's own trade-off for
   * loose objects and refs): a power cut may lose or truncate recent files; a process crash still
   * loses nothing a resolved call wrote. A commit then costs no device round trip.
   */
  readonly fsync?: boolean;
  /** With `fsync`: make small packs and ref changes durable through a journal (default true); see `fsync`. */
  readonly journal?: boolean;
  /** How long a ref update waits for a lock held by another writer before `LOCKED` (default 5000 ms). */
  readonly lockTimeoutMs?: number;
  /** Period of the poll backing up `fs.watch` while refs are watched (default 2000 ms). */
  readonly pollIntervalMs?: number;
  /**
   * `putMany` writes one packfile instead of loose objects from this many new objects on
   * (default 3: a commit's new blob, trees and commit become two files instead of five). Small
   * packs are rolled up geometrically (like `git repack --geometric=2`) once there are more than
   * `maxPacks`, so reads check O(log n) packs.
   */
  readonly packThreshold?: number;
  /** See `packThreshold` (default 16). */
  readonly maxPacks?: number;
}

/** Options of {@link GitBackend.repack}. */
export interface GitRepackOptions {
  /** Also merge every existing pack into the new one and delete them (git's `repack -a -d`). Default false. */
  readonly all?: boolean;
}

/** What {@link GitBackend.repack} did. */
export interface GitRepackResult {
  /** Checksum name of the new pack (empty when there was nothing to pack). */
  readonly pack: string;
  /** Objects in the new pack. */
  readonly objects: number;
  /** Loose object files deleted because the new pack holds them. */
  readonly looseRemoved: number;
  /** Old packs deleted (with `all`). */
  readonly packsRemoved: readonly string[];
}

/** Where the journals live, in the git directory (git ignores it). */
const JOURNAL_DIR = "irmin-journal";

const SUPPORTS: BackendSupports = {
  persistent: true,
  multiProcess: true,
  externalChanges: true,
  algorithms: ["sha1", "sha256"],
};

/**
 * A backend on a real Git repository on disk (see {@link gitBackend}). Git reads everything it
 * writes and the other way round, at any moment: loose objects and packfiles, loose and packed
 * refs, symbolic `HEAD`, reflogs when the repository keeps them.
 */
export class GitBackend implements Backend {
  readonly name = "git";
  readonly supports = SUPPORTS;
  readonly objects: GitObjectStore;
  readonly refs: GitRefStore;
  /** `<gitdir>/shallow`, as git keeps it. */
  readonly shallow: ShallowStore = {
    list: async () => {
      this.live();
      return readShallowFile(this.gitDir);
    },
    set: async (hashes) => {
      this.live();
      for (const h of hashes) checkHash(h, this.algorithm);
      await writeShallowFile(this.gitDir, hashes);
    },
  };
  private closed = false;
  private closing: Promise<void> | undefined;

  /** @internal use {@link gitBackend} */
  constructor(
    /** Absolute path of the Git directory (the bare repository, or a work tree's `.git`). */
    readonly gitDir: string,
    readonly algorithm: HashAlgorithm,
    private readonly loose: LooseObjects,
    private readonly packs: PackDirectory,
    refs: (live: () => void, objects: GitObjectStore) => GitRefStore,
    packThreshold: number,
    private readonly durability: Durability,
    private readonly alternates: Alternates,
  ) {
    const live = () => this.live();
    this.objects = new GitObjectStore(algorithm, loose, packs, live, {
      packThreshold,
      concurrency: 16,
      flush: () => durability.flush(),
      alternates: alternates.empty ? undefined : alternates,
    });
    this.refs = refs(live, this.objects);
  }

  /**
   * Packs the loose objects into one new packfile (with deltas), then deletes the loose files the
   * new pack holds, like `git repack -d` + `git prune-packed`. Safe while other processes read:
   * a reader that misses a loose file finds the object in the new pack. With `all`, existing packs
   * are merged in too. Cost: reads every loose object (and with `all` every packed one) once.
   */
  async repack(options: GitRepackOptions = {}): Promise<GitRepackResult> {
    this.live();
    const hashes: Hash[] = [];
    for await (const h of this.loose.hashes()) hashes.push(h);
    const loose = this.loose;
    async function* objects(): AsyncIterable<RawObject> {
      for (const h of hashes) {
        const o = await loose.read(h);
        if (o !== undefined) yield o;
      }
    }
    const result = await repackPacks(this.packs, objects(), { all: options.all ?? false });
    let looseRemoved = 0;
    for (const h of hashes) {
      // Only what a pack now verifiably indexes is deleted.
      if (await this.packs.has(h)) {
        await this.loose.remove(h);
        looseRemoved++;
      }
    }
    return { pack: result.name, objects: result.count, looseRemoved, packsRemoved: result.removed };
  }

  /**
   * Flushes what was written (see `fsync`), stops watches and closes pack files. Idempotent; every
   * later call on the backend throws `CLOSED`.
   */
  async close(): Promise<void> {
    if (this.closing !== undefined) return this.closing;
    // New calls are refused at once; what is under way finishes (or fails with CLOSED when it
    // would record a change after this point) before the last flush.
    this.closed = true;
    this.closing = (async () => {
      try {
        await this.durability.close();
      } finally {
        await this.refs.close();
        await this.packs.close();
        await this.alternates.close();
      }
    })();
    return this.closing;
  }

  private live(): void {
    if (this.closed) throw new IrminError("CLOSED", `the git backend at ${this.gitDir} is closed`);
  }
}

/**
 * Opens (or creates) the Git repository at `options.path` as a backend.
 *
 * A new repository is what `git init --bare [--object-format=sha256]` makes: `HEAD` →
 * `refs/heads/main`, `config`, `objects/{info,pack}`, `refs/{heads,tags}`. An existing one is
 * opened with its object format (`extensions.objectformat`); `INVALID_ARGUMENT` when `hash`
 * asks for the other one, `UNSUPPORTED` for repository formats and extensions this library does
 * not handle, `NOT_FOUND` when it is missing and `create` is false.
 *
 * Writes: `put` writes a loose object (temporary file, then linked into place; never rewritten);
 * `putMany` writes up to `packThreshold - 1` new objects as loose files and larger batches as one
 * packfile; small packs are rolled up as they accumulate. See `fsync` for when writes are
 * durable. Use {@link repack} to pack loose objects later.
 */
export async function gitBackend(options: GitBackendOptions): Promise<GitBackend> {
  if (typeof options !== "object" || options === null) throw invalidArgument("gitBackend expects an options object");
  const positive = (value: number | undefined, name: string, fallback: number) => {
    if (value === undefined) return fallback;
    if (typeof value !== "number" || !(value > 0)) throw invalidArgument(`${name} must be a positive number`);
    return value;
  };
  const lockTimeoutMs = positive(options.lockTimeoutMs, "lockTimeoutMs", 5000);
  const pollIntervalMs = positive(options.pollIntervalMs, "pollIntervalMs", 2000);
  const packThreshold = positive(options.packThreshold, "packThreshold", 3);
  const maxPacks = positive(options.maxPacks, "maxPacks", 16);
  const fsync = options.fsync ?? true;
  const journaled = fsync && (options.journal ?? true);
  const dir = await openGitDirectory({ path: options.path, hash: options.hash, create: options.create ?? true });
  const objectsDir = join(dir.gitDir, "objects");
  const journalDir = join(dir.gitDir, JOURNAL_DIR);
  // A tool that drops empty directories may have dropped this one; git makes it again on demand.
  // Where it cannot be made (a read-only repository), reads go on and writes fail as they would.
  try {
    mkdirSync(join(objectsDir, "pack"), { recursive: true });
  } catch {
    // Left to the first write.
  }
  const durability = new Durability(fsync, journaled ? new Journal(journalDir) : undefined);
  // What a process that died left in its journal (see `journal.ts`): at open, and before a ref
  // lock it left is removed (see `stale-locks.ts`). Refs are replayed through the backend below.
  const replay = {
    ref: (change: JournalRefChange, recordedAt?: number) => backend.refs.replay(change, recordedAt),
    current: (name: string) => backend.refs.replayState(name),
    has: (hash: Hash) => backend.objects.has(hash),
    refPath: (name: string) => join(dir.gitDir, name),
  };
  const recover = () => recoverJournals(journalDir, join(objectsDir, "pack"), replay, lockTimeoutMs);
  const loose = new LooseObjects(objectsDir, dir.algorithm, durability);
  const packs = new PackDirectory(join(objectsDir, "pack"), dir.algorithm, { durability, maxPacks });
  // Thin-pack style REF_DELTA bases may be loose objects.
  packs.setExternalResolver((h) => loose.read(h));
  const backend = new GitBackend(
    dir.gitDir,
    dir.algorithm,
    loose,
    packs,
    (live, objects) =>
      new GitRefStore({
        gitDir: dir.gitDir,
        algorithm: dir.algorithm,
        config: dir.config,
        lockTimeoutMs,
        fsync,
        pollIntervalMs,
        live,
        journaled,
        // Spare lock files go where the journal is (a process's leftovers are removed as its journal's).
        lockSpareDir: journaled ? journalDir : undefined,
        beforeBreakingLock: async () => void (await recover()),
        beforeUpdate: (change) => durability.beforeRefUpdate(change),
        afterUpdate: (change, applied, paths, refDir) => durability.afterRefUpdate(change, applied, paths, refDir),
        objectOnDisk: (hash) => objects.refTargetOnDisk(hash, async (h) => (await readShallowFile(dir.gitDir)).includes(h)),
      }),
    packThreshold,
    durability,
    Alternates.open(objectsDir, dir.algorithm),
  );
  try {
    await recover();
  } catch (e) {
    await backend.close().catch(() => undefined);
    throw e;
  }
  return backend;
}

/**
 * Packs the loose objects of a git backend (see {@link GitBackend.repack}); `INVALID_ARGUMENT`
 * for any other backend.
 */
export async function repack(backend: Backend, options: GitRepackOptions = {}): Promise<GitRepackResult> {
  if (!(backend instanceof GitBackend)) throw invalidArgument("repack needs a git backend");
  return backend.repack(options);
}
