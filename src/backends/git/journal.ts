/**
 * The write-ahead journal behind the git backend's default durability (`fsync: true`).
 *
 * A durable commit made only with git's own files needs three flushes in a row: the pack's bytes,
 * then its directory entry, then (after the ref is renamed) the ref's directory entry. With the
 * journal it needs one: the commit's small pack and its ref change are appended to a journal file
 * this backend instance owns and flushed there (`fdatasync`, one device round trip), while the
 * pack and the ref are written to git's files as usual but not flushed. Git and other processes
 * see the commit at once, as before. Every few megabytes (and on close) a checkpoint flushes
 * git's files and empties the journal.
 *
 * Recovery: a process that dies without closing leaves its journal behind. When the machine has
 * not restarted since, everything the process wrote is in the page cache: the next open flushes
 * the files the journal names and deletes it. After a restart (a power cut), the next open claims
 * it and replays it: missing or damaged pack files are written again from their bytes, and each
 * recorded ref change is applied again where the ref still holds the value it replaced (or was
 * left unreadable), in the order the changes were made. Until then, git itself may see the state
 * a power cut left (as with git's own default, which flushes no ref). A ref moved back to an
 * earlier value by someone else between the last write and the cut is moved forward again.
 *
 * The journal lives in `<gitdir>/irmin-journal/`, which git ignores (and `git clone` does not
 * copy). Its files are named by the owner's process id; the owner's host, boot and process start
 * time, written in the file's first line, tell a live owner from a dead one.
 */
import { closeSync, existsSync, fstatSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, renameSync, statSync, unlinkSync, writeSync } from "node:fs";
import { createHash, randomBytes } from "node:crypto";
import { hostname, uptime } from "node:os";
import { dirname, join, resolve } from "node:path";
import { IrminError, isIrminError } from "../../core/errors.js";
import type { Hash } from "../../core/hash.js";
import { crc32 } from "../../platform/native.js";
import { closeQuietly, datasync, syncDirectory, syncFile } from "./durability.js";
import { errnoCode, ioError } from "./io-error.js";

/** A pack recorded in the journal: its checksum name and the exact bytes of its two files. */
export interface JournalPack {
  readonly name: string;
  readonly pack: Uint8Array;
  readonly index: Uint8Array;
}

/** A ref change recorded in the journal (`before`/`after` undefined: absent). */
export interface JournalRefChange {
  readonly name: string;
  readonly before: Hash | undefined;
  readonly after: Hash | undefined;
}

/**
 * One journal record: packs written since the previous record, and the ref change they serve (if
 * any). With `abort`, the record cancels the last earlier record of the same journal with the same
 * ref change: that update failed after it was recorded.
 */
export interface JournalRecord {
  readonly packs: readonly JournalPack[];
  readonly ref?: JournalRefChange;
  readonly abort?: boolean;
  /** When it was recorded (ms since the epoch): orders the records of several journals. */
  readonly time?: number;
}

/** Who wrote a journal: enough to tell, later, whether it is still running and whether the machine restarted. */
export interface JournalOwner {
  readonly host: string;
  /** Identifies the boot the owner ran in (`/proc/sys/kernel/random/boot_id` on Linux; else the boot time in seconds). */
  readonly boot: string;
  readonly pid: number;
  /** The owner's start time (Linux: clock ticks after boot), or "" where unknown. */
  readonly start: string;
}

const MAGIC = "irmin-ts journal 2\n";
/** The owner field: JSON, padded with spaces, ending in a newline (one sector with the rest of the header: written whole). */
const OWNER_FIELD = 256;
/** Magic line, owner field, generation line (8 hex digits and a newline). */
const HEADER_SIZE = MAGIC.length + OWNER_FIELD + 9;
/** Free journals kept for reuse; more are deleted. */
const KEEP_FREE = 4;
const FREE = /^free-[0-9a-f]+\.journal$/;
/** `u32` payload length, `u32` CRC-32 of the generation and payload, `u32` generation. */
const RECORD_HEADER = 12;
/**
 * The file is written with zeros ahead of the records, this much at a time: a record then
 * overwrites allocated blocks, and its flush is a data write, with no file-system journal commit
 * for a size change (measured: 150 µs against 340 µs for a 28 KB record).
 */
const ALLOCATE = 1 << 20;
const enc = new TextEncoder();
const dec = new TextDecoder("utf-8", { fatal: true });

/**
 * Encodes a record of `generation` (see {@link Journal.clear}): its header (`RECORD_HEADER`), then
 * the payload.
 */
export function encodeJournalRecord(record: JournalRecord, generation: number): Uint8Array {
  const ref = record.ref;
  const refName = ref === undefined ? new Uint8Array(0) : enc.encode(ref.name);
  const before = enc.encode(ref?.before ?? "");
  const after = enc.encode(ref?.after ?? "");
  const names = record.packs.map((p) => enc.encode(p.name));
  let size = 1 + 8 + 2 + refName.length + 1 + before.length + 1 + after.length + 4;
  record.packs.forEach((p, i) => (size += 1 + names[i].length + 4 + p.pack.length + 4 + p.index.length));
  const out = new Uint8Array(RECORD_HEADER + size);
  const view = new DataView(out.buffer);
  let at = RECORD_HEADER;
  const bytes = (b: Uint8Array) => {
    out.set(b, at);
    at += b.length;
  };
  out[at++] = (ref === undefined ? 0 : 1) | (record.abort === true ? 2 : 0);
  view.setFloat64(at, record.time ?? Date.now());
  at += 8;
  view.setUint16(at, refName.length);
  at += 2;
  bytes(refName);
  out[at++] = before.length;
  bytes(before);
  out[at++] = after.length;
  bytes(after);
  view.setUint32(at, record.packs.length);
  at += 4;
  record.packs.forEach((p, i) => {
    out[at++] = names[i].length;
    bytes(names[i]);
    view.setUint32(at, p.pack.length);
    at += 4;
    bytes(p.pack);
    view.setUint32(at, p.index.length);
    at += 4;
    bytes(p.index);
  });
  view.setUint32(0, size);
  view.setUint32(8, generation);
  view.setUint32(4, crc32(out.subarray(8)));
  return out;
}

/**
 * Decodes the records of `generation` in a journal's body, in order. Stops at the first record
 * that is incomplete, fails its CRC (an append cut short by a crash, never acknowledged) or is of
 * another generation (zeros ahead, or a record from before the journal was last emptied).
 */
export function decodeJournalRecords(body: Uint8Array, generation: number): JournalRecord[] {
  const records: JournalRecord[] = [];
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  let at = 0;
  while (at + RECORD_HEADER <= body.length) {
    const size = view.getUint32(at);
    const end = at + RECORD_HEADER + size;
    if (end > body.length) break;
    if (view.getUint32(at + 8) !== generation || crc32(body.subarray(at + 8, end)) !== view.getUint32(at + 4)) break;
    const payload = body.subarray(at + RECORD_HEADER, end);
    const record = decodePayload(payload);
    if (record === undefined) break;
    records.push(record);
    at = end;
  }
  return records;
}

function decodePayload(p: Uint8Array): JournalRecord | undefined {
  const view = new DataView(p.buffer, p.byteOffset, p.byteLength);
  let at = 0;
  const need = (n: number) => {
    if (at + n > p.length) throw new RangeError("short record");
  };
  const take = (n: number) => {
    need(n);
    const b = p.subarray(at, at + n);
    at += n;
    return b;
  };
  const u8 = () => take(1)[0];
  const u16 = () => {
    need(2);
    at += 2;
    return view.getUint16(at - 2);
  };
  const u32 = () => {
    need(4);
    at += 4;
    return view.getUint32(at - 4);
  };
  try {
    const flags = u8();
    if (flags > 3) return undefined;
    need(8);
    const time = view.getFloat64(at);
    at += 8;
    const name = dec.decode(take(u16()));
    const before = dec.decode(take(u8()));
    const after = dec.decode(take(u8()));
    const count = u32();
    const packs: JournalPack[] = [];
    for (let i = 0; i < count; i++) {
      const packName = dec.decode(take(u8()));
      const pack = take(u32());
      const index = take(u32());
      packs.push({ name: packName, pack, index });
    }
    if (at !== p.length) return undefined;
    if ((flags & 1) === 0) return { packs, time };
    const ref = { name, before: before === "" ? undefined : before, after: after === "" ? undefined : after };
    return (flags & 2) !== 0 ? { packs, ref, abort: true, time } : { packs, ref, time };
  } catch {
    return undefined;
  }
}

/** This process as a journal owner. */
export function currentOwner(): JournalOwner {
  // The header keeps 100 characters of the host name: compared as kept.
  return { host: hostname().slice(0, 100), boot: bootId(), pid: process.pid, start: processStart(process.pid) ?? "" };
}

function bootId(): string {
  try {
    return readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
  } catch {
    // Elsewhere: the boot time in seconds (compared with a tolerance, see sameBoot).
    return `t${Math.round(bootTime() / 1000)}`;
  }
}

/** When the machine booted (ms since the epoch), from the clock and the uptime. */
function bootTime(): number {
  return Date.now() - uptime() * 1000;
}

/**
 * Boot ids are equal, or both are boot times (no `/proc`) less than a minute apart: the uptime
 * and the clock drift apart by seconds, while a restart moves the boot time by at least the time
 * the previous boot lasted plus the restart.
 */
function sameBoot(a: string, b: string): boolean {
  if (a === b) return true;
  const ta = /^t(\d+)$/.exec(a);
  const tb = /^t(\d+)$/.exec(b);
  return ta !== null && tb !== null && Math.abs(Number(ta[1]) - Number(tb[1])) < 60;
}

/** Whether the process `pid` that started at `start` ("0": unknown) still runs (not another that reused its id). */
function runs(pid: number, start: string): boolean {
  if (!alive(pid)) return false;
  const now = processStart(pid);
  return start === "0" || now === undefined || now === start;
}

/** Whether process `pid` runs (a process of another user counts). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return errnoCode(e) !== "ESRCH";
  }
}

/** A process's start time (field 22 of `/proc/<pid>/stat`), or undefined where there is no `/proc`. */
function processStart(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) may hold spaces and parentheses: count fields after the last ')'.
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  } catch {
    return undefined;
  }
}

/**
 * What to do with a journal left by `owner`: `live` (its owner runs: leave it), `foreign` (written
 * on another host: leave it), `dead` (the owner is gone but the machine did not restart: its writes
 * are all in the page cache, delete the journal), `rebooted` (replay it).
 */
export function judgeOwner(owner: JournalOwner, self: JournalOwner = currentOwner()): "live" | "foreign" | "dead" | "rebooted" {
  if (owner.host !== self.host) return "foreign";
  if (!sameBoot(owner.boot, self.boot)) return "rebooted";
  if (owner.pid === self.pid) return owner.start === self.start ? "live" : "dead";
  if (!alive(owner.pid)) return "dead";
  const start = processStart(owner.pid);
  return start !== undefined && owner.start !== "" && start !== owner.start ? "dead" : "live";
}

/**
 * The journal file of one backend instance, created on the first append. Appends are group
 * committed: callers that append while a flush runs share the next one.
 *
 * Layout: a magic line, the owner (a JSON line in a fixed field), the generation (8 hex digits
 * and a newline), then records, then zeros. Emptying the journal only increments the generation:
 * records of older generations no longer count. A closed backend leaves its journal empty and
 * marked free (`free-*.journal`) for the next one, which takes it with one rename and rewrites
 * the header in place with its first record: no file creation, no directory flush, no zeros to
 * write. Recovery reads owners from headers, so a rename a crash undid changes nothing.
 */
export class Journal {
  private fd: number | undefined;
  private path: string | undefined;
  private size = 0;
  private allocated = 0;
  private headerSize = 0;
  private generation = 1;
  private written = 0;
  private synced = 0;
  private syncing: Promise<void> | undefined;
  private opening: Promise<void> | undefined;
  /** Set when emptying failed half-way: the file's generation is unknown, so no record may count on it. */
  private failed: Error | undefined;
  /** End of the records known to be on disk. */
  private durableEnd = 0;

  /** @param dir `<gitdir>/irmin-journal` */
  constructor(readonly dir: string) {}

  /** Bytes of records in the journal since it was last emptied. */
  get length(): number {
    return this.size - this.headerSize;
  }

  /** Appends `record` and resolves once it is on disk. `IO` when the file system refuses. */
  async append(record: JournalRecord): Promise<void> {
    if (this.fd === undefined) await (this.opening ??= this.create());
    if (this.failed !== undefined) throw ioError(this.failed, `the journal ${this.path} is unusable`);
    const fd = this.fd!;
    const bytes = encodeJournalRecord(record, this.generation);
    try {
      if (this.size + bytes.length + RECORD_HEADER > this.allocated) this.allocate(this.size + bytes.length + RECORD_HEADER);
      // Positioned, whole: a short write leaves a record whose CRC fails, ignored by recovery.
      writeAt(fd, bytes, this.size);
    } catch (e) {
      throw ioError(e, `writing ${this.path}`);
    }
    this.size += bytes.length;
    const mine = ++this.written;
    while (this.synced < mine) {
      if (this.syncing === undefined) {
        const upTo = this.written;
        const end = this.size;
        this.syncing = datasync(fd)
          .then(
            () => {
              this.synced = Math.max(this.synced, upTo);
              this.durableEnd = Math.max(this.durableEnd, end);
            },
            (e: unknown) => this.fail(e),
          )
          .finally(() => {
            this.syncing = undefined;
          });
      }
      await this.syncing;
    }
  }

  /**
   * A flush failed: what it covered may or may not be on disk, and after a failed flush the page
   * cache no longer tells (the kernel may drop the pages). The records not known durable are
   * overwritten with zeros (best effort: a later write-back then carries no update its caller saw
   * fail), and the journal refuses every later append.
   */
  private fail(e: unknown): never {
    this.failed = e as Error;
    try {
      if (this.fd !== undefined && this.size > this.durableEnd) writeAt(this.fd, new Uint8Array(this.size - this.durableEnd), this.durableEnd);
    } catch {
      // The device refuses writes too: nothing more to do.
    }
    throw ioError(e, `flushing ${this.path}`);
  }

  /**
   * Empties the journal, durably (the caller has made what it recorded durable elsewhere): the
   * next generation, written in place. Not to be called while an append runs. When the flush
   * fails, the journal refuses further appends (`IO`): whether the new generation reached the
   * disk is unknown, so a record written now might not count.
   */
  async clear(): Promise<void> {
    if (this.fd === undefined || this.size === this.headerSize) return;
    if (this.failed !== undefined) throw ioError(this.failed, `the journal ${this.path} is unusable`);
    const next = this.generation + 1;
    try {
      writeAt(this.fd, enc.encode(generationLine(next)), HEADER_SIZE - 9);
    } catch (e) {
      // Nothing changed on disk that counts: the old generation stands.
      throw ioError(e, `emptying ${this.path}`);
    }
    this.generation = next;
    this.size = this.durableEnd = this.headerSize;
    try {
      await datasync(this.fd);
    } catch (e) {
      this.failed = e as Error;
      throw ioError(e, `emptying ${this.path}`);
    }
  }

  /**
   * The backend's close, after a checkpoint: the journal emptied and marked free in one flushed
   * write, then renamed `free-*.journal` for the next backend to reuse (removed instead when
   * enough are free, or when it is unusable).
   */
  async remove(): Promise<void> {
    await this.opening?.catch(() => undefined);
    const fd = this.fd;
    if (fd === undefined) return;
    this.fd = undefined;
    try {
      let reuse = this.failed === undefined && this.freeJournals().length < KEEP_FREE;
      if (reuse) {
        try {
          writeAt(fd, encodeHeader(undefined, this.generation + 1), 0);
          await datasync(fd);
        } catch {
          reuse = false;
        }
      }
      if (reuse) renameSync(this.path!, join(this.dir, `free-${randomBytes(6).toString("hex")}.journal`));
      else unlinkSync(this.path!);
    } catch {
      // Gone, or left: an empty or free journal is harmless, and recovery removes a dead one.
    } finally {
      closeQuietly(fd);
    }
  }

  private freeJournals(): string[] {
    try {
      return readdirSync(this.dir).filter((n) => FREE.test(n));
    } catch {
      return [];
    }
  }

  /**
   * Takes a free journal (one rename: another backend that takes it first wins), with a
   * generation past any record in it; its header is rewritten in place, flushed with the first
   * record. Returns false when none could be taken.
   */
  private reuse(name: string): boolean {
    for (const free of this.freeJournals()) {
      const path = join(this.dir, `${name}.journal`);
      try {
        renameSync(join(this.dir, free), path);
      } catch {
        continue; // taken by another backend
      }
      let fd: number | undefined;
      try {
        fd = openSync(path, "r+");
        const header = readHeader(readSlice(fd, HEADER_SIZE));
        if (header === undefined) throw new Error("not a journal");
        if (header.owner !== undefined) {
          // A journal whose take-over a crash undid (recovery judges it by its header): not free.
          closeQuietly(fd);
          renameSync(path, join(this.dir, free));
          continue;
        }
        this.generation = header.generation + 1;
        // Flushed with the first record (an owner with no record is a dead owner's empty journal).
        writeAt(fd, encodeHeader(currentOwner(), this.generation), 0);
        this.allocated = fstatSync(fd).size;
        this.path = path;
        this.size = this.durableEnd = this.headerSize = HEADER_SIZE;
        this.fd = fd;
        return true;
      } catch {
        closeQuietly(fd);
        removeQuietly(path);
      }
    }
    return false;
  }

  /** Writes zeros from the allocated end up to past `end` (whole steps of `step` bytes). */
  private allocate(end: number, fd = this.fd!, step = ALLOCATE): void {
    const target = Math.ceil(end / step) * step;
    writeAt(fd, new Uint8Array(target - this.allocated), this.allocated);
    this.allocated = target;
  }

  /**
   * Creates the file complete (header, zeros) under a temporary name, flushed, then renames it:
   * a `*.journal` file always has its owner line. The descriptor is published last, so appends
   * made meanwhile wait for it.
   */
  private async create(): Promise<void> {
    let fd: number | undefined;
    const name = `${process.pid}-${randomBytes(4).toString("hex")}`;
    if (this.reuse(name)) return;
    const tmp = join(this.dir, `${name}.tmp`);
    try {
      mkdirSync(this.dir, { recursive: true });
      fd = openSync(tmp, "wx", 0o644);
      const header = encodeHeader(currentOwner(), this.generation);
      writeAt(fd, header, 0);
      this.allocated = header.length;
      // A small start: a short-lived writer needs no more; a busy one grows it, 1 MiB at a time, once.
      this.allocate(header.length + 1, fd, ALLOCATE / 4);
      await datasync(fd);
      const path = join(this.dir, `${name}.journal`);
      renameSync(tmp, path);
      // The file's name must survive a crash before any record in it counts.
      await syncDirectory(this.dir);
      await syncDirectory(join(this.dir, ".."));
      this.path = path;
      this.size = this.durableEnd = this.headerSize = header.length;
      this.fd = fd;
    } catch (e) {
      closeQuietly(fd);
      try {
        unlinkSync(tmp);
      } catch {
        // Not created, or renamed.
      }
      this.opening = undefined;
      throw ioError(e, `creating a journal in ${this.dir}`);
    }
  }
}

/** The header of a journal of `owner` (undefined: free) at `generation`. */
function encodeHeader(owner: JournalOwner | undefined, generation: number): Uint8Array {
  const json = JSON.stringify(owner === undefined ? { free: true } : { ...owner, host: owner.host.slice(0, 100) });
  const field = json.padEnd(OWNER_FIELD - 1, " ") + "\n";
  const header = enc.encode(`${MAGIC}${field}${generationLine(generation)}`);
  if (header.length !== HEADER_SIZE) throw new IrminError("INVALID_ARGUMENT", "journal owner too long");
  return header;
}

/** Parses a header: the owner (undefined: free) and the generation; undefined when it is not one. */
function readHeader(bytes: Uint8Array): { owner: JournalOwner | undefined; generation: number } | undefined {
  let owner: unknown;
  let generation: string;
  try {
    if (bytes.length < HEADER_SIZE || dec.decode(bytes.subarray(0, MAGIC.length)) !== MAGIC) return undefined;
    generation = dec.decode(bytes.subarray(HEADER_SIZE - 9, HEADER_SIZE));
    owner = JSON.parse(dec.decode(bytes.subarray(MAGIC.length, MAGIC.length + OWNER_FIELD)));
  } catch {
    return undefined;
  }
  if (!/^[0-9a-f]{8}\n$/.test(generation)) return undefined;
  const o = owner as Partial<JournalOwner> & { free?: boolean };
  if (o?.free === true) return { owner: undefined, generation: parseInt(generation, 16) };
  if (typeof o?.host !== "string" || typeof o.boot !== "string" || typeof o.pid !== "number" || typeof o.start !== "string") return undefined;
  return { owner: o as JournalOwner, generation: parseInt(generation, 16) };
}

function readSlice(fd: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let done = 0;
  while (done < length) {
    const n = readSync(fd, out, done, length - done, done);
    if (n === 0) break;
    done += n;
  }
  return out.subarray(0, done);
}

function generationLine(generation: number): string {
  return `${generation.toString(16).padStart(8, "0")}\n`;
}

function writeAt(fd: number, bytes: Uint8Array, position: number): void {
  for (let done = 0; done < bytes.length; ) done += writeSync(fd, bytes, done, bytes.length - done, position + done);
}

/**
 * Reads a journal file: its owner (undefined: a free journal) and records; undefined when it is
 * not a journal (no complete header).
 */
export function readJournal(path: string): { owner: JournalOwner | undefined; records: JournalRecord[] } | undefined {
  const bytes = readFileSync(path);
  const header = readHeader(bytes);
  if (header === undefined) return undefined;
  return { owner: header.owner, records: header.owner === undefined ? [] : decodeJournalRecords(bytes.subarray(HEADER_SIZE), header.generation) };
}

/** What {@link recoverJournals} needs from the backend. */
export interface JournalReplay {
  /**
   * Applies a recorded ref change, durably, where the ref itself (symbolic refs not followed)
   * holds `before` or its file is unreadable; resolves to whether it did.
   */
  ref(change: JournalRefChange): Promise<boolean>;
  /** What the ref itself holds now (symbolic refs not followed). */
  current(name: string): Promise<Hash | undefined | "unreadable" | "symbolic">;
  /** Whether the object exists: a change is replayed only when the object it points at does. */
  has(hash: Hash): Promise<boolean>;
  /** The path of a ref's loose file. */
  refPath(name: string): string;
}

/** A journal claimed by a recovery: `.replaying-<pid>-<start>` (start "0" where unknown). */
const CLAIMED = /\.journal\.replaying-(\d+)(?:-(\d+))?$/;
const TEMPORARY = /^(\d+)-[0-9a-f]+\.tmp$/;
const PACK_IDX = /^pack-([0-9a-f]{40}|[0-9a-f]{64})\.idx$/;
/** Packs written this long before a journal's first record may be a roll-up its owner did not flush. */
const CLOCK_SLACK_MS = 60_000;

/** Recoveries running in this process, by journal directory: a second open waits for the first. */
const recovering = new Map<string, Promise<number>>();

/**
 * Replays or deletes the journals that dead owners left in `dir` (see the module comment); leaves
 * those of live owners and other hosts. A journal of the current boot is deleted once the files
 * it names are flushed (they are in the page cache). Journals from before a restart are claimed
 * first (renamed, so that two processes never replay one), then replayed together: every recorded
 * pack is restored into `packDir` (written again when missing or different, flushed with its
 * directory entry), packs written since the journal began that fail their checksum (a roll-up
 * the cut damaged: its sources are still there) are deleted, then each ref's recorded changes are
 * applied in order from the one after the change the ref already shows, each where the ref
 * still holds the value it replaced and the object it points at exists. A change git refuses
 * (`INVALID_ARGUMENT`) ends its ref's replay; any other failure fails the open and gives the
 * journals back for the next one. Waits for recoveries of other processes (`LOCKED` after
 * `timeoutMs`). Returns the number of journals replayed.
 */
export async function recoverJournals(dir: string, packDir: string, replay: JournalReplay, timeoutMs = 5000): Promise<number> {
  const key = resolve(dir);
  for (let running = recovering.get(key); running !== undefined; running = recovering.get(key)) await running.catch(() => undefined);
  const run = recoverOnce(dir, packDir, replay, timeoutMs);
  recovering.set(key, run);
  try {
    return await run;
  } finally {
    recovering.delete(key);
  }
}

async function recoverOnce(dir: string, packDir: string, replay: JournalReplay, timeoutMs: number): Promise<number> {
  const self = currentOwner();
  const deadline = Date.now() + timeoutMs;
  let replayed = 0;
  for (;;) {
    const claimed: { path: string; original: string; records: JournalRecord[] }[] = [];
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch (e) {
      if (errnoCode(e) === "ENOENT" || errnoCode(e) === "ENOTDIR") return 0;
      throw ioError(e, `listing ${dir}`);
    }
    let othersRecovering = false;
    for (const name of names) {
      const path = join(dir, name);
      const temporary = TEMPORARY.exec(name);
      const claim = CLAIMED.exec(name);
      if (temporary !== null) {
        // A journal being created, or left half-made by a crash.
        if (!alive(Number(temporary[1])) || fromEarlierBoot(path)) removeQuietly(path);
        continue;
      }
      if (claim !== null) {
        // Claimed by a recovery: running in another process (wait for it), or one that died or
        // failed (this process runs none now: it waited for them above).
        const pid = Number(claim[1]);
        if (pid !== process.pid && runs(pid, claim[2] ?? "0") && !fromEarlierBoot(path)) {
          othersRecovering = true;
          continue;
        }
        const original = path.slice(0, path.length - claim[0].length + ".journal".length);
        const taken = claimFile(path, original);
        if (taken !== undefined) claimed.push(taken);
        continue;
      }
      if (!name.endsWith(".journal")) continue;
      let journal;
      try {
        journal = readJournal(path);
      } catch (e) {
        if (errnoCode(e) === "ENOENT") continue; // recovered by another process meanwhile
        throw ioError(e, `reading ${path}`);
      }
      if (journal === undefined) continue; // not one of ours: left alone
      if (journal.owner === undefined) {
        // Freed, but a crash undid its rename (a live backend taking it has the same header for a moment).
        const pid = /^(\d+)-/.exec(name);
        if (!FREE.test(name) && (pid === null || !alive(Number(pid[1])) || fromEarlierBoot(path))) removeQuietly(path);
        continue;
      }
      const verdict = judgeOwner(journal.owner, self);
      if (verdict === "live" || verdict === "foreign") continue;
      if (verdict === "dead") {
        await flushNamed(packDir, journal.records, replay);
        removeQuietly(path);
        continue;
      }
      const taken = claimFile(path, path);
      if (taken !== undefined) claimed.push(taken);
    }
    if (claimed.length > 0) {
      await replayClaimed(claimed, packDir, replay);
      replayed += claimed.length;
      continue; // then wait for other processes' recoveries, if any
    }
    if (!othersRecovering) return replayed;
    if (Date.now() >= deadline) throw new IrminError("LOCKED", `another process is recovering the journals in ${dir}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Restores, checks and replays what the claimed journals hold; gives them back on failure, deletes them on success. */
async function replayClaimed(claimed: readonly { path: string; original: string; records: JournalRecord[] }[], packDir: string, replay: JournalReplay): Promise<void> {
  try {
    const records = claimed.flatMap((c) => c.records);
    await restorePacks(packDir, records);
    await dropDamagedPacks(packDir, records);
    await replayChanges(
      claimed.map((c) => c.records),
      replay,
    );
  } catch (e) {
    // Given back: the next open tries again.
    for (const c of claimed) {
      try {
        renameSync(c.path, c.original);
      } catch {
        // Left claimed: a later open takes it over once this process is gone.
      }
    }
    throw e;
  }
  for (const c of claimed) removeQuietly(c.path);
}

/** Renames `path` to a name only this process uses, then reads it; undefined when another process took it first. */
function claimFile(path: string, original: string): { path: string; original: string; records: JournalRecord[] } | undefined {
  const mine = `${original}.replaying-${process.pid}-${processStart(process.pid) || "0"}`;
  try {
    if (mine !== path) renameSync(path, mine);
    const journal = readJournal(mine);
    return { path: mine, original, records: journal?.owner === undefined ? [] : journal.records };
  } catch (e) {
    if (errnoCode(e) === "ENOENT") return undefined;
    throw ioError(e, `claiming ${path}`);
  }
}

/** Whether the file's status last changed before the machine booted (a rename sets it). */
export function fromEarlierBoot(path: string): boolean {
  try {
    return statSync(path).ctimeMs < bootTime() - 5000;
  } catch {
    return false;
  }
}

function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Removed by another process recovering it too.
  }
}

/**
 * The ref changes of the journals, without those their abort records cancel, per ref: each
 * journal's in its order, merged into one chain where one exists (a ref's updates are serialized
 * by its lock, so each change starts where the previous one ended: see {@link chainOrder}), else
 * greedily (see {@link greedyOrder}). Exported for its tests.
 */
export function changesByRef(journals: readonly (readonly JournalRecord[])[]): Map<string, JournalRefChange[]> {
  const perRef = new Map<string, { change: JournalRefChange; time: number }[][]>();
  journals.forEach((records, j) => {
    const kept: { change: JournalRefChange; time: number }[] = [];
    for (const r of records) {
      if (r.ref === undefined) continue;
      if (r.abort === true) {
        const ref = r.ref;
        const k = kept.findLastIndex((c) => c.change.name === ref.name && c.change.before === ref.before && c.change.after === ref.after);
        if (k >= 0) kept.splice(k, 1);
      } else kept.push({ change: r.ref, time: r.time ?? 0 });
    }
    for (const c of kept) {
      const lists = perRef.get(c.change.name) ?? journals.map(() => []);
      lists[j].push(c);
      perRef.set(c.change.name, lists);
    }
  });
  const byRef = new Map<string, JournalRefChange[]>();
  for (const [name, lists] of perRef) byRef.set(name, chainOrder(lists) ?? greedyOrder(lists));
  return byRef;
}

type Timed = { change: JournalRefChange; time: number };

/** How many steps {@link chainOrder} may take before it gives up (journals rarely share a ref). */
const CHAIN_SEARCH_STEPS = 20_000;

/**
 * An order of the journals' changes (each journal's kept) in which every change starts where the
 * previous one ended, found by a depth-first search trying the oldest first; undefined when there
 * is none (someone else moved the ref in between) or the search runs out of steps. Cycles
 * (X→Y, Y→X, X→Z across two writers) make the greedy merge ambiguous; a full chain is not.
 */
function chainOrder(lists: readonly (readonly Timed[])[]): JournalRefChange[] | undefined {
  const total = lists.reduce((n, l) => n + l.length, 0);
  const next = lists.map(() => 0);
  const out: JournalRefChange[] = [];
  const dead = new Set<string>();
  let steps = 0;
  const search = (): boolean => {
    if (out.length === total) return true;
    if (++steps > CHAIN_SEARCH_STEPS) return false;
    const key = `${next.join(",")}|${out.at(-1)?.after ?? "-"}`;
    if (dead.has(key)) return false;
    const last = out.at(-1);
    const heads = lists
      .map((list, j) => ({ j, head: next[j] < list.length ? list[next[j]] : undefined }))
      .filter((h): h is { j: number; head: Timed } => h.head !== undefined && (last === undefined || h.head.change.before === last.after))
      .sort((a, b) => a.head.time - b.head.time);
    for (const { j, head } of heads) {
      next[j]++;
      out.push(head.change);
      if (search()) return true;
      out.pop();
      next[j]--;
    }
    if (steps <= CHAIN_SEARCH_STEPS) dead.add(key);
    return false;
  };
  return search() ? out : undefined;
}

/** The merge when no full chain exists: follow the chain where it decides, else the oldest start of a chain, else the oldest. */
function greedyOrder(lists: readonly (readonly Timed[])[]): JournalRefChange[] {
  const next = lists.map(() => 0);
  const out: JournalRefChange[] = [];
  for (;;) {
    const heads = lists.flatMap((list, j) => (next[j] < list.length ? [{ j, ...list[next[j]] }] : []));
    if (heads.length === 0) return out;
    const last = out.at(-1);
    const chained = last === undefined ? [] : heads.filter((h) => h.change.before === last.after);
    // Else a change no other pending one leads to (the start of a chain).
    const starts = heads.filter((h) => !heads.some((o) => o !== h && o.change.after === h.change.before));
    const pool = chained.length > 0 ? chained : starts.length > 0 ? starts : heads;
    const pick = pool.reduce((a, b) => (b.time < a.time ? b : a));
    next[pick.j]++;
    out.push(pick.change);
  }
}

/**
 * Applies each ref's recorded changes, from the one after the last change whose result the ref
 * already holds (or the first that starts from what it holds; all of them when it is unreadable),
 * in order, while they apply.
 */
async function replayChanges(journals: readonly (readonly JournalRecord[])[], replay: JournalReplay): Promise<void> {
  for (const [name, changes] of changesByRef(journals)) {
    const current = await replay.current(name);
    if (current === "symbolic") continue;
    let start = 0;
    if (current !== "unreadable") {
      const shown = changes.findLastIndex((c) => c.after === current);
      start = shown >= 0 ? shown + 1 : changes.findIndex((c) => c.before === current);
      if (start < 0) continue; // moved elsewhere since: left alone
    }
    for (const change of changes.slice(start)) {
      if (change.after !== undefined && !(await replay.has(change.after))) break;
      let applied: boolean;
      try {
        applied = await applyChange(change, replay);
      } catch (e) {
        if (isIrminError(e, "INVALID_ARGUMENT")) break; // refused by git's rules now: as an update that failed
        throw e;
      }
      if (!applied) break;
    }
  }
}

/** Applies one change; a ref lock left by a crash before the restart is removed first (no one can hold it). */
async function applyChange(change: JournalRefChange, replay: JournalReplay): Promise<boolean> {
  try {
    return await replay.ref(change);
  } catch (e) {
    const lock = `${replay.refPath(change.name)}.lock`;
    if (!isIrminError(e, "LOCKED") || !fromEarlierBoot(lock)) throw e;
    removeQuietly(lock);
    return replay.ref(change);
  }
}

/** The oldest record time of `records`, less the clock slack; undefined without times. */
function since(records: readonly JournalRecord[]): number | undefined {
  const times = records.map((r) => r.time).filter((t): t is number => t !== undefined && t > 0);
  return times.length === 0 ? undefined : Math.min(...times) - CLOCK_SLACK_MS;
}

/** Packs in `packDir` whose index changed at or after `time` (roll-ups of the journal's owner, unflushed). */
function packsSince(packDir: string, time: number): string[] {
  let names: string[];
  try {
    names = readdirSync(packDir);
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const n of names) {
    const m = PACK_IDX.exec(n);
    if (m === null) continue;
    try {
      if (statSync(join(packDir, n)).mtimeMs >= time) out.push(m[1]);
    } catch {
      // Gone meanwhile.
    }
  }
  return out;
}

/**
 * Deletes the packs written since the journals began, other than the recorded ones (restored) and
 * those with a `.keep` file, whose bytes fail their checksum or their index's: a roll-up a power
 * cut caught before its flush. Its sources are still on disk (deleted only after a checkpoint
 * flushed it). The index goes first (a pack without one is invisible), then the pack and its other
 * files. A pack that cannot be read to the end is kept: only a checksum proves damage.
 */
async function dropDamagedPacks(packDir: string, records: readonly JournalRecord[]): Promise<void> {
  const start = since(records);
  if (start === undefined) return;
  const recorded = new Set(records.flatMap((r) => r.packs.map((p) => p.name)));
  let dropped = false;
  for (const name of packsSince(packDir, start)) {
    if (recorded.has(name) || existsSync(join(packDir, `pack-${name}.keep`)) || !packDamaged(packDir, name)) continue;
    const prefix = `pack-${name}.`;
    const others = readdirSync(packDir).filter((f) => f.startsWith(prefix) && f !== `${prefix}idx`);
    for (const f of [`${prefix}idx`, ...others]) removeQuietly(join(packDir, f));
    dropped = true;
  }
  if (dropped) await syncDirectory(packDir);
}

/**
 * Whether `pack-<name>.pack` provably fails: shorter than a pack, or its bytes do not hash to its
 * trailer, or the trailer is not its name or its index's. Read in chunks (packs may exceed what
 * one read returns); false when it cannot be read (nothing proven).
 */
function packDamaged(packDir: string, name: string): boolean {
  const size = name.length / 2;
  let fd: number | undefined;
  try {
    const idx = readFileSync(join(packDir, `pack-${name}.idx`));
    fd = openSync(join(packDir, `pack-${name}.pack`), "r");
    const length = fstatSync(fd).size;
    if (length < 12 + size || idx.length < 2 * size) return true;
    const hash = createHash(size === 20 ? "sha1" : "sha256");
    const chunk = Buffer.alloc(1 << 20);
    for (let at = 0; at < length - size; ) {
      const n = readSync(fd, chunk, 0, Math.min(chunk.length, length - size - at), at);
      if (n === 0) return false;
      hash.update(chunk.subarray(0, n));
      at += n;
    }
    const trailer = Buffer.alloc(size);
    if (readSync(fd, trailer, 0, size, length - size) !== size) return false;
    return !hash.digest().equals(trailer) || trailer.toString("hex") !== name || !idx.subarray(idx.length - 2 * size, idx.length - size).equals(trailer);
  } catch {
    return false;
  } finally {
    closeQuietly(fd);
  }
}

/**
 * Flushes the pack and ref files `records` name, and the packs written since the journal began
 * (roll-ups), with their directories: a dead owner's journal of the current boot, whose files are
 * in the page cache.
 */
async function flushNamed(packDir: string, records: readonly JournalRecord[], replay: JournalReplay): Promise<void> {
  const files = new Set<string>();
  const dirs = new Set<string>();
  const packs = records.flatMap((r) => r.packs.map((p) => p.name));
  const start = since(records);
  if (start !== undefined) packs.push(...packsSince(packDir, start));
  for (const name of packs) {
    files.add(join(packDir, `pack-${name}.pack`));
    files.add(join(packDir, `pack-${name}.idx`));
    dirs.add(packDir);
  }
  for (const r of records) {
    if (r.ref === undefined) continue;
    const path = replay.refPath(r.ref.name);
    files.add(path);
    dirs.add(dirname(path));
  }
  try {
    await Promise.all([...files].map((f) => syncFile(f)));
    await Promise.all([...dirs].map((d) => syncDirectory(d)));
  } catch (e) {
    throw ioError(e, `flushing what a journal in ${packDir} names`);
  }
}

/** Writes again, and flushes, every recorded pack file that is missing or differs from its recorded bytes. */
async function restorePacks(packDir: string, records: readonly JournalRecord[]): Promise<void> {
  let wrote = false;
  for (const r of records) {
    for (const p of r.packs) {
      if (!/^[0-9a-f]{40}([0-9a-f]{24})?$/.test(p.name)) continue;
      // The index last: it makes the pack visible.
      for (const [suffix, bytes] of [
        ["pack", p.pack],
        ["idx", p.index],
      ] as const) {
        const file = join(packDir, `pack-${p.name}.${suffix}`);
        if (sameContent(file, bytes)) continue;
        const tmp = join(packDir, `tmp_journal_${randomBytes(6).toString("hex")}`);
        try {
          mkdirSync(packDir, { recursive: true });
          const fd = openSync(tmp, "wx", 0o444);
          try {
            writeAt(fd, bytes, 0);
            await datasync(fd);
          } finally {
            closeSync(fd);
          }
          renameSync(tmp, file);
        } catch (e) {
          throw ioError(e, `restoring ${file}`);
        }
        wrote = true;
      }
    }
  }
  if (wrote) await syncDirectory(packDir);
}

function sameContent(file: string, bytes: Uint8Array): boolean {
  try {
    return Buffer.from(readFileSync(file)).equals(bytes);
  } catch {
    return false;
  }
}
