import { readdir, rmdir, unlink } from "node:fs/promises";
import { dirname, join } from "node:path";
import { IrminError, corrupt, invalidArgument } from "../../core/errors.js";
import { checkHash, type Hash, type HashAlgorithm } from "../../core/hash.js";
import { checkRefName } from "../../core/ref-name.js";
import type { RefChange, RefEntry, RefStore } from "../../backend/ref-store.js";
import type { JournalRefChange } from "./journal-format.js";
import { SpareFiles } from "./spare-files.js";
import { ownTag } from "./owner-tag.js";
import { RefWatchers } from "../../backend/ref-watchers.js";
import type { GitConfig } from "./git-config.js";
import { syncDirectory } from "./durability.js";
import { errnoCode, ioError } from "./io-error.js";
import { LockFile, type LockOptions } from "./lock-file.js";
import { type LooseRef, readLooseRef, readLooseRefs, readLooseRefSync, readLooseRefsSync } from "./loose-refs.js";
import { type PackedRefs, PackedRefsFile } from "./packed-refs.js";
import { ExternalRefWatcher } from "./ref-watcher.js";
import { Reflogs } from "./reflog.js";

/** Options of {@link GitRefStore}. */
export interface GitRefStoreOptions {
  readonly gitDir: string;
  readonly algorithm: HashAlgorithm;
  readonly config: GitConfig;
  /** How long an update waits for a ref lock held by someone else before `LOCKED`. */
  readonly lockTimeoutMs: number;
  /** Flush ref files to disk before renaming them into place. */
  readonly fsync: boolean;
  /** Period of the poll that backs up `fs.watch` while someone watches. */
  readonly pollIntervalMs: number;
  /** Throws `CLOSED` once the backend is closed. */
  readonly live: () => void;
  /**
   * Runs before a ref is moved or deleted, under its lock (in parallel with the write of the lock
   * file): the object store's durability barrier, so a ref never points at an object a crash can
   * lose, and with `journaled` the record that makes the change itself durable.
   */
  readonly beforeUpdate?: (change: JournalRefChange) => Promise<void>;
  /**
   * Runs after every update whose `beforeUpdate` resolved, with whether the change was made
   * (`paths`: the files it changed; `dir`: their directory). See `Durability.afterRefUpdate`.
   */
  readonly afterUpdate?: (change: JournalRefChange, applied: boolean, paths: readonly string[], dir: string) => Promise<void>;
  /**
   * Checked under the lock before a ref is set to an object, as `git update-ref` does: whether the
   * object is on disk (`GitObjectStore.refTargetOnDisk`: with a commit's tree and parents; a pack
   * deleted since this process opened it does not count). An update to a missing object is
   * `NOT_FOUND` and changes nothing.
   */
  readonly objectOnDisk?: (hash: Hash) => Promise<boolean>;
  /**
   * Ref changes are made durable by `beforeUpdate` (a journal): loose ref files and their
   * directory are then not flushed on each update. `packed-refs` and `HEAD` still are.
   */
  readonly journaled?: boolean;
  /**
   * Where spare files for the locks of loose ref updates are made ahead (see `spare-files.ts`),
   * in the git directory's file system: each such lock is then a link to one.
   */
  readonly lockSpareDir?: string;
  /**
   * Runs before the lock of a process that died is removed (see `stale-locks.ts`): the recovery of
   * dead processes' journals. Locks are judged stale only with `lockSpareDir`.
   */
  readonly beforeBreakingLock?: () => Promise<void>;
}

const ANY = Symbol("any");
const MAX_SYMREF_DEPTH = 5;
const REFLOG_MESSAGE = "irmin-ts: update";

/**
 * The refs of a Git directory, stored exactly as git stores them: loose ref files
 * (`refs/heads/main` holding `<hex>\n`), `packed-refs`, and symbolic refs (`ref: <target>\n`,
 * e.g. `HEAD`). Every update follows git's lock protocol on `<ref>.lock`, so updates by this store,
 * by other processes using it, and by git itself (`git update-ref`, `git pack-refs`, `git gc`)
 * never lose each other's writes. Updates follow symbolic refs (`HEAD` updates the branch it
 * points to), as `git update-ref` does; reads see the repository's current state (no stale cache).
 *
 * Git cannot hold both `refs/heads/a` and `refs/heads/a/b` (one is a file, the other a directory):
 * creating one while the other exists throws `INVALID_ARGUMENT`, as git refuses it.
 */
export class GitRefStore implements RefStore {
  private readonly watchers = new RefWatchers();
  private external: ExternalRefWatcher | undefined;
  private readonly packed: PackedRefsFile;
  private readonly reflogs: Reflogs;
  /** Locks of loose ref updates (not flushed with a journal). */
  private readonly lock: LockOptions;
  /** Locks of `packed-refs`, `HEAD` and replayed changes: flushed whenever `fsync` is set. */
  private readonly durableLock: LockOptions;
  readonly gitDir: string;
  readonly algorithm: HashAlgorithm;

  constructor(private readonly options: GitRefStoreOptions) {
    this.gitDir = options.gitDir;
    this.algorithm = options.algorithm;
    this.packed = new PackedRefsFile(join(options.gitDir, "packed-refs"), options.algorithm);
    this.reflogs = new Reflogs(options.gitDir, options.algorithm, options.config);
    const dir = options.lockSpareDir;
    // Replays run within the recovery of dead processes' journals: nothing to run before a break.
    this.durableLock = { timeoutMs: options.lockTimeoutMs, fsync: options.fsync, ...(dir !== undefined && { stale: { dir } }) };
    const spares = dir === undefined ? undefined : new SpareFiles(dir, `${ownTag()}-`, 0o666, ".tmp");
    const stale = dir === undefined ? undefined : { dir, beforeBreak: options.beforeBreakingLock };
    this.lock = { timeoutMs: options.lockTimeoutMs, fsync: options.fsync && options.journaled !== true, spares, stale };
  }

  /** Loose file first, then `packed-refs`; symbolic refs followed. `CORRUPT` for an unreadable ref file. */
  async get(name: string): Promise<Hash | undefined> {
    this.options.live();
    return this.resolve(checkRefName(name), 0);
  }

  /** Points `name` (or the branch a symbolic `name` points to) at `hash`, under the ref's lock. */
  async set(name: string, hash: Hash): Promise<void> {
    this.options.live();
    checkRefName(name);
    checkHash(hash, this.algorithm);
    await this.update(name, ANY, hash);
  }

  /** Compare-and-set under the ref's lock (see the class comment); `LOCKED` when the lock stays taken past the timeout. */
  async testAndSet(name: string, expected: Hash | undefined, next: Hash | undefined): Promise<boolean> {
    this.options.live();
    checkRefName(name);
    if (expected !== undefined) checkHash(expected, this.algorithm);
    if (next !== undefined) checkHash(next, this.algorithm);
    return this.update(name, expected, next);
  }

  /**
   * Replays a journal's ref change after a restart (see `journal.ts`): applied, and flushed, when
   * the ref holds `change.before` or its loose file is unreadable (what a power cut leaves of a
   * file written but not flushed); left alone otherwise, and when the ref is now symbolic (the
   * change was to the ref itself). Resolves to whether it was applied. `recordedAt` (ms since the
   * epoch): when the change was recorded, the date the ref file is given, flushed with it (the
   * replay tells refs moved by someone else by their files' dates: see `journal-recovery.ts`).
   */
  async replay(change: JournalRefChange, recordedAt?: number): Promise<boolean> {
    this.options.live();
    checkRefName(change.name);
    if (change.before !== undefined) checkHash(change.before, this.algorithm);
    if (change.after !== undefined) checkHash(change.after, this.algorithm);
    if (change.before === change.after) return false;
    return this.update(change.name, change.before, change.after, true, recordedAt);
  }

  /**
   * What the ref itself holds, for a replay (see `journal.ts`): its id (loose, else packed), or
   * undefined, or whether its loose file is unreadable or symbolic (not followed).
   */
  async replayState(name: string): Promise<Hash | undefined | "unreadable" | "symbolic"> {
    this.options.live();
    checkRefName(name);
    const loose = readLooseRefSync(this.gitDir, name, this.algorithm);
    if (loose?.kind === "symref") return "symbolic";
    if (loose?.kind === "broken") return "unreadable";
    if (loose?.kind === "hash") return loose.hash;
    return name === "HEAD" ? undefined : (await this.packed.read()).refs.get(name)?.hash;
  }

  /**
   * Removes the loose file and, under `packed-refs.lock`, the packed entry, as `git update-ref -d`
   * does. A symbolic ref is removed itself, not the ref it points to (as `git branch -D`).
   */
  async remove(name: string): Promise<void> {
    this.options.live();
    checkRefName(name);
    await this.update(name, ANY, undefined);
  }

  /** Reads the loose refs under the deepest directory `prefix` names, and `packed-refs`. Sorted by name. */
  async list(prefix = "refs/"): Promise<RefEntry[]> {
    this.options.live();
    if (typeof prefix !== "string") throw invalidArgument("list prefix must be a string");
    const slash = prefix.lastIndexOf("/");
    const dir = prefix.startsWith("refs/") ? prefix.slice(0, slash) : "refs";
    // Loose refs before packed-refs: git packs before it prunes, so this order never misses a ref.
    const loose = await readLooseRefs(this.gitDir, dir, this.algorithm);
    const packed = await this.packed.read();
    const { refs, unresolved } = combineRefs(loose, packed, prefix, (name) => {
      throw corrupt(`ref ${name} does not hold an object id or a symbolic ref`);
    });
    for (const [name, target] of unresolved) {
      const hash = await this.resolve(target, 1);
      if (hash !== undefined) refs.set(name, hash);
    }
    return [...refs]
      .map(([name, hash]) => ({ name, hash }))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /**
   * Local updates are delivered at once; while at least one callback is registered, an
   * {@link ExternalRefWatcher} also reports changes made by other processes and by git. The
   * baseline for those is read synchronously here (one read of every ref).
   */
  watch(callback: (change: RefChange) => void): () => void {
    this.options.live();
    if (typeof callback !== "function") throw invalidArgument("watch expects a function");
    const remove = this.watchers.add(callback);
    if (this.external === undefined) {
      this.external = new ExternalRefWatcher(
        {
          gitDir: this.gitDir,
          snapshotSync: () => this.snapshotSync(),
          snapshot: () => this.snapshot(),
          emit: (c) => this.watchers.emit(c),
        },
        this.options.pollIntervalMs,
      );
    }
    return () => {
      remove();
      if (this.watchers.size === 0) this.stopExternal();
    };
  }

  /** The branch `HEAD` points to, or `undefined` when `HEAD` is detached or missing. */
  async getSymbolic(name: "HEAD"): Promise<string | undefined> {
    this.options.live();
    if (name !== "HEAD") throw invalidArgument(`only HEAD is symbolic here, not ${JSON.stringify(name)}`);
    const head = await readLooseRef(this.gitDir, "HEAD", this.algorithm);
    return head?.kind === "symref" ? head.target : undefined;
  }

  /** Writes `ref: <target>` into `HEAD` under `HEAD.lock`. `target` must be a valid name under `refs/`. */
  async setSymbolic(name: "HEAD", target: string): Promise<void> {
    this.options.live();
    if (name !== "HEAD") throw invalidArgument(`only HEAD can be made symbolic, not ${JSON.stringify(name)}`);
    checkRefName(target);
    if (!target.startsWith("refs/")) throw invalidArgument(`HEAD must point under refs/, not to ${JSON.stringify(target)}`);
    const lock = await this.acquire("HEAD", this.durableLock);
    try {
      await lock.write(`ref: ${target}\n`);
      await lock.commit();
    } catch (e) {
      throw ioError(e, "writing HEAD");
    } finally {
      await lock.release();
    }
  }

  /** Stops the external watch, forgets the callbacks and deletes the spare lock file (the backend's close). */
  async close(): Promise<void> {
    this.stopExternal();
    this.watchers.clear();
    await this.lock.spares?.close();
    await LockFile.settled();
  }

  private stopExternal(): void {
    this.external?.stop();
    this.external = undefined;
  }

  /** The id `name` resolves to, following symbolic refs. */
  private async resolve(name: string, depth: number): Promise<Hash | undefined> {
    if (depth > MAX_SYMREF_DEPTH) throw corrupt(`symbolic ref loop at ${name}`);
    const ref = await this.read(name);
    if (ref === undefined) return undefined;
    if (ref.kind === "hash") return ref.hash;
    if (ref.kind === "symref") return this.resolve(ref.target, depth + 1);
    throw corrupt(`ref ${name} does not hold an object id or a symbolic ref: ${JSON.stringify(ref.text.slice(0, 100))}`);
  }

  /** The loose ref, else the packed one (loose first: see {@link list}). */
  private async read(name: string): Promise<LooseRef | undefined> {
    const loose = await readLooseRef(this.gitDir, name, this.algorithm);
    if (loose !== undefined || name === "HEAD") return loose;
    const packed = (await this.packed.read()).refs.get(name);
    return packed === undefined ? undefined : { kind: "hash", hash: packed.hash };
  }

  /** The ref an update of `name` writes: symbolic refs are followed to the ref they point to. */
  private async target(name: string): Promise<string> {
    let current = name;
    for (let depth = 0; depth <= MAX_SYMREF_DEPTH; depth++) {
      const loose = await readLooseRef(this.gitDir, current, this.algorithm);
      if (loose?.kind !== "symref") return current;
      current = loose.target;
    }
    throw corrupt(`symbolic ref loop at ${name}`);
  }

  private async acquire(ref: string, options: LockOptions = this.lock): Promise<LockFile> {
    try {
      return await LockFile.acquire(join(this.gitDir, ref), options);
    } catch (e) {
      if (errnoCode(e) === "ENOTDIR") throw invalidArgument(`cannot create ${ref}: a ref exists at one of its parent paths`);
      throw ioError(e, `locking ${ref}`);
    }
  }

  /**
   * The one write path: lock the ref, read its current value (loose, else packed), compare,
   * then write (lock file renamed over the ref) or delete (packed entry, then loose file), release.
   * With `replay` (see {@link replay}): an unreadable loose file counts as `expected`, no hook
   * runs, and everything is flushed in place.
   */
  private async update(name: string, expected: Hash | undefined | typeof ANY, next: Hash | undefined, replay = false, recordedAt?: number): Promise<boolean> {
    const lockOptions = replay ? this.durableLock : this.lock;
    // As git: lock the name first and read it under the lock (one read); only a symbolic ref
    // (HEAD) needs its target resolved and locked instead.
    let ref = name;
    let lock = await this.acquire(ref, lockOptions);
    let loose: LooseRef | undefined;
    // `remove` of a symbolic ref removes it, not the ref it points to (as `git branch -D`).
    let removingSymref = false;
    try {
      loose = readLooseRefSync(this.gitDir, ref, this.algorithm);
      removingSymref = loose?.kind === "symref" && !replay && next === undefined && expected === ANY && name !== "HEAD";
      if (loose?.kind === "symref" && replay) {
        // The recorded change was to this very ref (then not symbolic): it no longer applies.
        await lock.release();
        return false;
      }
      if (loose?.kind === "symref" && !removingSymref) {
        await lock.release();
        ref = await this.target(name);
        lock = await this.acquire(ref, lockOptions);
        loose = readLooseRefSync(this.gitDir, ref, this.algorithm);
      }
    } catch (e) {
      await lock.release();
      throw e;
    }
    const path = join(this.gitDir, ref);
    let change: RefChange | undefined;
    // The change `beforeUpdate` resolved for: `afterUpdate` must then run, whatever happens next.
    let began: JournalRefChange | undefined;
    try {
      const broken = loose?.kind === "broken";
      if (broken && !replay) throw corrupt(`ref ${ref} does not hold an object id: ${JSON.stringify((loose as { text: string }).text.slice(0, 100))}`);
      const current =
        loose === undefined || broken
          ? (await this.packed.read()).refs.get(ref)?.hash
          : loose.kind === "hash"
            ? loose.hash
            : await this.resolve(ref, 0);
      if (expected !== ANY && current !== expected && !broken) return false;
      if (current === next && !broken && !removingSymref) return true;
      const hooks = !replay && this.options.beforeUpdate !== undefined;
      if (next === undefined) {
        if (hooks) {
          const recorded = { name: ref, before: current, after: undefined };
          await this.options.beforeUpdate!(recorded);
          began = recorded;
        }
        await this.packed.deleteRefs([ref], this.durableLock, async () => {
          await unlink(path).catch((e: unknown) => {
            if (errnoCode(e) !== "ENOENT") throw ioError(e, `deleting ${ref}`);
          });
        });
        // A replay skips symbolic refs (journal-recovery.ts): this removal is made durable here.
        if ((replay || removingSymref) && this.options.fsync) await syncDirectory(dirname(path));
        await this.reflogs.remove(ref);
      } else {
        if (current === undefined) await this.checkCreatable(ref);
        if (!replay && this.options.objectOnDisk !== undefined && !(await this.options.objectOnDisk(next))) {
          throw new IrminError("NOT_FOUND", `cannot set ${ref} to ${next}: no such object on disk (a concurrent git gc, repack or prune may have removed it)`);
        }
        const recorded = { name: ref, before: current, after: next };
        const [written, barrier] = await Promise.allSettled([lock.write(`${next}\n`, { modified: recordedAt }), hooks ? this.options.beforeUpdate!(recorded) : undefined]);
        if (hooks && barrier.status === "fulfilled") began = recorded;
        if (written.status === "rejected") throw written.reason;
        if (barrier.status === "rejected") throw barrier.reason;
        this.reflogs.append(ref, current, next, REFLOG_MESSAGE, () => this.headTarget());
        await this.commit(lock, ref, loose !== undefined && !broken);
      }
      change = { name: ref, before: current, after: next };
    } finally {
      await lock.release();
      if (began !== undefined) await this.options.afterUpdate?.(began, change !== undefined, change === undefined ? [] : [path], dirname(path));
    }
    if (change === undefined) return true;
    if (next === undefined) await pruneEmptyParents(this.gitDir, ref);
    // A rescan may already have reported it (between the rename and here): then not again.
    if (this.external?.noteLocal(change) !== false) this.watchers.emit(change);
    return true;
  }

  /** The branch HEAD points to (undefined when detached, missing or unreadable). */
  private headTarget(): string | undefined {
    try {
      const head = readLooseRefSync(this.gitDir, "HEAD", this.algorithm);
      return head?.kind === "symref" ? head.target : undefined;
    } catch {
      return undefined;
    }
  }

  /** Refuses to create `ref` when a packed ref is its parent or child (git's directory/file conflict). */
  private async checkCreatable(ref: string): Promise<void> {
    for (const other of (await this.packed.read()).refs.keys()) {
      if (ref.startsWith(`${other}/`) || other.startsWith(`${ref}/`)) {
        throw invalidArgument(`cannot create ${ref}: ${other} exists`);
      }
    }
  }

  /** Renames the lock over the ref; an empty directory left where the ref goes (by deleted refs) is removed first. */
  private async commit(lock: LockFile, ref: string, replacesFile: boolean): Promise<void> {
    try {
      await lock.commit({ retire: replacesFile });
    } catch (e) {
      const code = errnoCode(e);
      if (code !== "EISDIR" && code !== "ENOTEMPTY" && code !== "EEXIST") throw ioError(e, `writing ${ref}`);
      if (!(await removeEmptyTree(join(this.gitDir, ref)))) throw invalidArgument(`cannot create ${ref}: refs exist under ${ref}/`);
      try {
        await lock.commit();
      } catch (e2) {
        throw ioError(e2, `writing ${ref}`);
      }
    }
  }

  private async snapshot(): Promise<Map<string, Hash>> {
    const loose = await readLooseRefs(this.gitDir, "refs", this.algorithm);
    return combineRefs(loose, await this.packed.read(), "refs/", () => undefined).refs;
  }

  private snapshotSync(): Map<string, Hash> {
    const loose = readLooseRefsSync(this.gitDir, "refs", this.algorithm);
    return combineRefs(loose, this.packed.readSync(), "refs/", () => undefined).refs;
  }
}

/**
 * Loose refs over packed ones, restricted to names starting with `prefix`; symbolic refs resolved
 * within the two (those whose target is elsewhere are returned in `unresolved`); `onBroken` is
 * called for unreadable loose refs, which are left out.
 */
function combineRefs(
  loose: ReadonlyMap<string, LooseRef>,
  packed: PackedRefs,
  prefix: string,
  onBroken: (name: string) => void,
): { refs: Map<string, Hash>; unresolved: [string, string][] } {
  const refs = new Map<string, Hash>();
  const unresolved: [string, string][] = [];
  for (const [name, p] of packed.refs) if (name.startsWith(prefix) && !loose.has(name)) refs.set(name, p.hash);
  for (const [name, l] of loose) {
    if (!name.startsWith(prefix)) continue;
    if (l.kind === "hash") refs.set(name, l.hash);
    else if (l.kind === "broken") onBroken(name);
    else {
      const target = resolveIn(loose, packed, l.target);
      if (target.hash !== undefined) refs.set(name, target.hash);
      else if (target.outside !== undefined) unresolved.push([name, target.outside]);
    }
  }
  return { refs, unresolved };
}

/** Follows a symbolic ref inside the loaded refs: its id, or the first name not loaded (`outside`). */
function resolveIn(loose: ReadonlyMap<string, LooseRef>, packed: PackedRefs, start: string): { hash?: Hash; outside?: string } {
  let name = start;
  for (let depth = 0; depth < MAX_SYMREF_DEPTH; depth++) {
    const l = loose.get(name);
    if (l === undefined) {
      const p = packed.refs.get(name);
      return p !== undefined ? { hash: p.hash } : { outside: name };
    }
    if (l.kind === "hash") return { hash: l.hash };
    if (l.kind === "broken") return {};
    name = l.target;
  }
  return {};
}

/** Removes `dir` and the empty directories under it; false when a file is in the way. */
async function removeEmptyTree(dir: string): Promise<boolean> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (e) {
    return errnoCode(e) === "ENOENT";
  }
  for (const entry of entries) {
    if (!entry.isDirectory() || !(await removeEmptyTree(join(dir, entry.name)))) return false;
  }
  try {
    await rmdir(dir);
    return true;
  } catch (e) {
    return errnoCode(e) === "ENOENT";
  }
}

/** After a deletion, removes the ref's now-empty parent directories, keeping `refs/<kind>` (as git does). */
async function pruneEmptyParents(gitDir: string, ref: string): Promise<void> {
  let rel = dirname(ref);
  while (rel.split("/").length > 2) {
    try {
      await rmdir(join(gitDir, rel));
    } catch {
      return;
    }
    rel = dirname(rel);
  }
}
