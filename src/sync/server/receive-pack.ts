/**
 * receive-pack (protocol v0/v1, the serving side of `git push`): reads the ref update commands and
 * the pack that follows, stores the pack's objects, checks that every new tip is complete, then
 * moves each ref with the same compare-and-set as a local write (so watches fire and a concurrent
 * local writer is never overwritten: its write wins and the push of that ref is refused). A bad
 * pack, a pack over the size limit or an incomplete push moves no ref.
 */
import { isIrminError } from "../../core/errors.js";
import { isHash, zeroHash, type Hash, type HashAlgorithm } from "../../core/hash.js";
import { refNameProblem } from "../../core/ref-name.js";
import { decodeCommit } from "../../codec/commit.js";
import { concatBytes, encodePktLine, FLUSH_PKT, PktLineReader, pktText } from "../pkt-line.js";
import { receivePack } from "../pack-receive.js";
import { objectsToSend } from "../pack-send.js";
import type { ServerStores } from "./advertise.js";
import { BAND, encodeSideband, sidebandLimit } from "./sideband.js";

/** Options of {@link receivePackV0}. */
export interface ReceivePackServerOptions {
  /** Largest pack accepted, in bytes (default: no limit). */
  maxPackBytes?: number;
  /** Refuse updates that are not fast-forwards, even forced ones (default false, as git). */
  denyNonFastForwards?: boolean;
  /** Refuse deleting refs (default false). */
  denyDeletes?: boolean;
}

/** Most commands one push may carry. */
const MAX_COMMANDS = 10_000;
/** After a failed pack, how much of the rest of the request is read (and dropped) so the client sees the report. */
const MAX_DRAIN = 64 * 1024 * 1024;

interface Command {
  readonly old: Hash;
  readonly next: Hash;
  readonly ref: string;
  /** Why this update is refused, once known. */
  error?: string;
}

class ProtocolError extends Error {}

function parseCommand(line: string, algorithm: HashAlgorithm): Command {
  const m = /^(\S+) (\S+) (.+)$/.exec(line);
  if (m === null || !isHash(m[1], algorithm) || !isHash(m[2], algorithm)) throw new ProtocolError(`protocol error: expected old/new/ref, got ${JSON.stringify(line.slice(0, 120))}`);
  const cmd: Command = { old: m[1], next: m[2], ref: m[3] };
  const problem = m[3].startsWith("refs/") ? refNameProblem(m[3]) : "only refs under refs/ can be pushed";
  if (problem !== undefined) cmd.error = `funny refname (${problem})`;
  return cmd;
}

/**
 * Handles one push request read from `body` and yields the answer: with `report-status`, the
 * `unpack` line and one `ok`/`ng` line per command (inside band 1 when the client asked for
 * side-band-64k). Never throws: a malformed request gets an error report.
 */
export async function* receivePackV0(stores: ServerStores, algorithm: HashAlgorithm, body: AsyncIterable<Uint8Array>, options: ReceivePackServerOptions = {}): AsyncIterable<Uint8Array> {
  const reader = new PktLineReader(body);
  const zero = zeroHash(algorithm);
  const commands: Command[] = [];
  let caps = new Set<string>();
  try {
    for (;;) {
      const pkt = await reader.next();
      if (pkt === undefined || pkt.type !== "data") break;
      let line = pktText(pkt.data);
      const nul = line.indexOf("\0");
      if (nul >= 0) {
        if (commands.length === 0) caps = new Set(line.slice(nul + 1).split(" "));
        line = line.slice(0, nul);
      }
      // A shallow client announces its boundary first; the connectivity check covers what matters.
      if (line.startsWith("shallow ")) continue;
      if (commands.length >= MAX_COMMANDS) throw new ProtocolError("too many commands");
      commands.push(parseCommand(line, algorithm));
    }
  } catch (e) {
    yield encodePktLine(`ERR ${e instanceof ProtocolError ? e.message : "protocol error"}\n`);
    return;
  }
  if (commands.length === 0) return;
  const report = caps.has("report-status");
  const sideband = caps.has("side-band-64k");
  const atomic = caps.has("atomic");

  let unpack = "ok";
  if (commands.some((c) => c.next !== zero)) {
    try {
      await receivePack(stores.objects, algorithm, reader.rest(), { maxBytes: options.maxPackBytes });
    } catch (e) {
      unpack = isIrminError(e) ? e.message.replace(/\n/g, " ") : "unpacker failed";
      for (const c of commands) c.error ??= "unpacker error";
      // Read (and drop) what the client is still sending, so that it reads the report.
      let drained = 0;
      try {
        for await (const chunk of reader.rest()) if ((drained += chunk.length) > MAX_DRAIN) break;
      } catch {
        // The client went away: nothing to report to.
      }
    }
  }
  if (unpack === "ok") await checkCommands(stores, algorithm, commands, options, zero);
  if (atomic && commands.some((c) => c.error !== undefined)) {
    for (const c of commands) c.error ??= "atomic push failed";
  }
  if (unpack === "ok") await applyCommands(stores, commands, atomic, zero);

  if (!report) {
    if (sideband) yield FLUSH_PKT;
    return;
  }
  const lines = [encodePktLine(`unpack ${unpack}\n`)];
  for (const c of commands) lines.push(encodePktLine(c.error === undefined ? `ok ${c.ref}\n` : `ng ${c.ref} ${c.error.replace(/\n/g, " ")}\n`));
  lines.push(FLUSH_PKT);
  const status = concatBytes(lines);
  if (sideband) yield concatBytes([encodeSideband(BAND.data, status, sidebandLimit(true)), FLUSH_PKT]);
  else yield status;
}

/** Refuses updates whose new tip is incomplete, not a commit/tag where git expects one, or not allowed. */
async function checkCommands(stores: ServerStores, algorithm: HashAlgorithm, commands: Command[], options: ReceivePackServerOptions, zero: Hash): Promise<void> {
  const live = commands.filter((c) => c.error === undefined);
  const seen = new Set<string>();
  // As git's receive.denyDeleteCurrent (refuse by default, bare repositories too): a HEAD left
  // dangling would make every clone come out without a checked-out branch.
  const current = await stores.refs.getSymbolic("HEAD");
  for (const c of live) {
    if (seen.has(c.ref)) c.error = "ref updated twice in one push";
    seen.add(c.ref);
    if (c.next === zero && options.denyDeletes === true) c.error ??= "deletion prohibited";
    if (c.next === zero && c.ref === current) c.error ??= "deletion of the current branch prohibited";
  }
  const updates = live.filter((c) => c.error === undefined && c.next !== zero);
  if (updates.length === 0) return;
  // Completeness: everything reachable from the new tips and not from the current refs exists.
  const tips = (await stores.refs.list("refs/")).map((r) => r.hash);
  for (const c of updates) {
    try {
      const o = await stores.objects.get(c.next);
      if (o === undefined) throw new Error("missing");
      if (c.ref.startsWith("refs/heads/") && o.type !== "commit") {
        c.error = `refusing a non-commit object in ${c.ref}`;
        continue;
      }
      const { hashes } = await objectsToSend(stores.objects, algorithm, [c.next], tips.filter((h) => h !== c.next));
      for (const h of hashes) if (!(await stores.objects.has(h))) throw new Error("missing");
    } catch {
      c.error = "missing necessary objects";
      continue;
    }
    if (options.denyNonFastForwards === true && c.old !== zero && !(await reaches(stores, algorithm, c.next, c.old))) c.error = "non-fast-forward";
  }
}

/** Most commits the fast-forward check walks before calling an update a rewrite. */
const MAX_FF_WALK = 100_000;

/**
 * Whether `ancestor` is reachable from `start`. Walks parents without a date cut-off (pushed
 * commits may carry any date), at most {@link MAX_FF_WALK} commits.
 */
async function reaches(stores: ServerStores, algorithm: HashAlgorithm, start: Hash, ancestor: Hash): Promise<boolean> {
  const seen = new Set<Hash>([start]);
  const queue = [start];
  for (let i = 0; i < queue.length && i < MAX_FF_WALK; i++) {
    const h = queue[i];
    if (h === ancestor) return true;
    const o = await stores.objects.get(h);
    if (o === undefined || o.type !== "commit") continue;
    for (const p of decodeCommit(o.data, algorithm).parents) {
      if (!seen.has(p)) {
        seen.add(p);
        queue.push(p);
      }
    }
  }
  return false;
}

/** Moves the refs, each by compare-and-set from the old id the client saw; atomic: all or none. */
async function applyCommands(stores: ServerStores, commands: Command[], atomic: boolean, zero: Hash): Promise<void> {
  const done: Command[] = [];
  for (const c of commands) {
    if (c.error !== undefined) continue;
    const expected = c.old === zero ? undefined : c.old;
    const next = c.next === zero ? undefined : c.next;
    let ok: boolean;
    try {
      ok = await stores.refs.testAndSet(c.ref, expected, next);
    } catch (e) {
      c.error = isIrminError(e) ? `failed to update ref: ${e.message}` : "failed to update ref";
      ok = false;
    }
    if (!ok) {
      c.error ??= c.old === zero ? "failed to update ref: it already exists" : "failed to update ref: it changed since the push started (fetch first)";
      if (atomic) break;
      continue;
    }
    done.push(c);
  }
  if (!atomic || commands.every((c) => c.error === undefined)) return;
  // Roll back what an atomic push already moved (unless someone moved it again since).
  for (const c of done.reverse()) {
    await stores.refs.testAndSet(c.ref, c.next === zero ? undefined : c.next, c.old === zero ? undefined : c.old).catch(() => false);
  }
  for (const c of commands) c.error ??= "atomic push failed";
}
