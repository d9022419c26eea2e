/**
 * The on-disk format of the git backend's write-ahead journal (see `journal.ts`): the records,
 * the header (magic line, owner, generation), and who owns a journal (host, boot, process).
 */
import { readFileSync, readlinkSync, statSync } from "node:fs";
import { hostname, uptime } from "node:os";
import { IrminError } from "../../core/errors.js";
import type { Hash } from "../../core/hash.js";
import { crc32 } from "../../platform/native.js";
import { errnoCode } from "./io-error.js";

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
  /**
   * The owner's pid namespace (Linux: the inode number of `/proc/self/ns/pid`); absent where
   * unknown. Containers of one machine may share a host name and a repository, not their pids.
   */
  readonly ns?: string;
}

const MAGIC = "irmin-ts journal 2\n";
/** The owner field: JSON, padded with spaces, ending in a newline (one sector with the rest of the header: written whole). */
const OWNER_FIELD = 256;
/** Magic line, owner field, generation line (8 hex digits and a newline). */
export const HEADER_SIZE = MAGIC.length + OWNER_FIELD + 9;
export const FREE = /^free-[0-9a-f]+\.journal$/;
/** `u32` payload length, `u32` CRC-32 of the generation and payload, `u32` generation. */
export const RECORD_HEADER = 12;
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
  const ns = pidNamespace();
  return { host: hostname().slice(0, 100), boot: bootId(), pid: process.pid, start: processStart(process.pid) ?? "", ...(ns !== undefined && { ns }) };
}

function pidNamespace(): string | undefined {
  try {
    return /^pid:\[(\d+)\]$/.exec(readlinkSync("/proc/self/ns/pid"))?.[1];
  } catch {
    return undefined;
  }
}

function bootId(): string {
  try {
    return readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
  } catch {
    // Elsewhere: the boot time in seconds (compared with a tolerance, see sameBoot).
    return `t${Math.round(bootTime() / 1000)}`;
  }
}

/** Whether the file's status last changed before the machine booted (a rename or a link sets it). */
export function fromEarlierBoot(path: string): boolean {
  try {
    return statSync(path).ctimeMs < bootTime() - 5000;
  } catch {
    return false;
  }
}

/** When the machine booted (ms since the epoch), from the clock and the uptime. */
export function bootTime(): number {
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
export function runs(pid: number, start: string): boolean {
  if (!alive(pid)) return false;
  const now = processStart(pid);
  return start === "0" || now === undefined || now === start;
}

/** Whether process `pid` runs (a process of another user counts). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return errnoCode(e) !== "ESRCH";
  }
}

/** A process's start time (field 22 of `/proc/<pid>/stat`), or undefined where there is no `/proc`. */
export function processStart(pid: number): string | undefined {
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
 * are all in the page cache, delete the journal), `rebooted` (replay it). An owner of this boot in
 * another pid namespace (another container) counts as live: its process cannot be seen from here,
 * and deleting the journal of a live writer would lose its next records; a restart makes it
 * replayable.
 */
export function judgeOwner(owner: JournalOwner, self: JournalOwner = currentOwner()): "live" | "foreign" | "dead" | "rebooted" {
  if (owner.host !== self.host) return "foreign";
  if (!sameBoot(owner.boot, self.boot)) return "rebooted";
  if (owner.ns !== undefined && self.ns !== undefined && owner.ns !== self.ns) return "live";
  if (owner.pid === self.pid) return owner.start === self.start ? "live" : "dead";
  if (!alive(owner.pid)) return "dead";
  const start = processStart(owner.pid);
  return start !== undefined && owner.start !== "" && start !== owner.start ? "dead" : "live";
}

/** The header of a journal of `owner` (undefined: free) at `generation`. */
export function encodeHeader(owner: JournalOwner | undefined, generation: number): Uint8Array {
  const json = JSON.stringify(owner === undefined ? { free: true } : { ...owner, host: owner.host.slice(0, 100) });
  const field = json.padEnd(OWNER_FIELD - 1, " ") + "\n";
  const header = enc.encode(`${MAGIC}${field}${generationLine(generation)}`);
  if (header.length !== HEADER_SIZE) throw new IrminError("INVALID_ARGUMENT", "journal owner too long");
  return header;
}

/** Parses a header: the owner (undefined: free) and the generation; undefined when it is not one. */
export function readHeader(bytes: Uint8Array): { owner: JournalOwner | undefined; generation: number } | undefined {
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
  if (o.ns !== undefined && typeof o.ns !== "string") return undefined;
  return { owner: o as JournalOwner, generation: parseInt(generation, 16) };
}

export function generationLine(generation: number): string {
  return `${generation.toString(16).padStart(8, "0")}\n`;
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
