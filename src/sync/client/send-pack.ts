/**
 * The push side of the smart protocol (`man 5 gitprotocol-pack`, "Pushing data to a server"):
 * after receive-pack's ref advertisement, send one `<old> <new> <ref>` command per update, then
 * a pack of the objects the remote lacks, and read the `report-status` (side-band demultiplexed).
 * The remote alone moves its refs, each with its own compare-and-set against `<old>`.
 */
import { corrupt, IrminError } from "../../core/errors.js";
import { isHash, zeroHash, type Hash, type HashAlgorithm } from "../../core/hash.js";
import type { ObjectStore } from "../../backend/object-store.js";
import { objectsToSend, packStream } from "../pack-send.js";
import { concatBytes, encodePktLine, FLUSH_PKT, PktLineReader } from "../pkt-line.js";
import type { ProgressCallback } from "../progress.js";
import type { SmartConnection } from "../transport/transport.js";
import { AGENT } from "./fetch-pack.js";
import type { AdvertisedRefs, Capabilities } from "./refs-advertisement.js";
import type { RefUpdate, RefUpdateResult } from "./session.js";
import { demuxSideband } from "./sideband-demux.js";

/** The objects to send for `updates`: reachable from the new ids, not from what the remote has. */
export async function objectsForPush(local: ObjectStore, algorithm: HashAlgorithm, updates: readonly RefUpdate[], remoteRefs: Iterable<Hash>): Promise<Hash[]> {
  const wants = updates.flatMap((u) => (u.new === undefined ? [] : [u.new]));
  if (wants.length === 0) return [];
  const haves: Hash[] = [];
  for (const h of new Set(remoteRefs)) if (await local.has(h)) haves.push(h);
  return (await objectsToSend(local, algorithm, wants, haves)).hashes;
}

/** Parses a report-status: `unpack ok|<error>`, then `ok <ref>` / `ng <ref> <reason>` lines. */
async function readReport(reader: PktLineReader, updates: readonly RefUpdate[]): Promise<RefUpdateResult[]> {
  const unpack = await reader.readText();
  if (unpack === undefined || !unpack.startsWith("unpack ")) throw corrupt(`bad report-status: ${JSON.stringify(unpack)}`);
  const unpackError = unpack === "unpack ok" ? undefined : unpack.slice(7);
  const byName = new Map<string, RefUpdateResult>();
  for (let i = 0; i < 1_000_000; i++) {
    const line = await reader.readText();
    if (line === undefined) break;
    if (line.startsWith("ok ")) byName.set(line.slice(3), { name: line.slice(3), ok: true });
    else if (line.startsWith("ng ")) {
      const rest = line.slice(3);
      const sp = rest.indexOf(" ");
      const name = sp < 0 ? rest : rest.slice(0, sp);
      byName.set(name, { name, ok: false, reason: sp < 0 ? "rejected" : rest.slice(sp + 1) });
    } else throw corrupt(`bad report-status line ${JSON.stringify(line)}`);
  }
  return updates.map((u) => byName.get(u.name) ?? { name: u.name, ok: false, reason: unpackError !== undefined ? `unpack failed: ${unpackError}` : "no status reported" });
}

/**
 * Pushes `updates` over an open receive-pack connection whose advertisement (`refs`, `caps`) was
 * read. Returns one result per update, in order.
 */
export async function sendPack(
  conn: SmartConnection,
  caps: Capabilities,
  refs: AdvertisedRefs,
  algorithm: HashAlgorithm,
  local: ObjectStore,
  updates: readonly RefUpdate[],
  onProgress?: ProgressCallback,
): Promise<RefUpdateResult[]> {
  if (updates.length === 0) return [];
  if (!caps.has("report-status")) throw new IrminError("UNSUPPORTED", "the remote does not report push status (report-status)");
  if (updates.some((u) => u.new === undefined) && !caps.has("delete-refs")) throw new IrminError("UNSUPPORTED", "the remote does not allow deleting refs");
  const zero = zeroHash(algorithm);
  const wanted = ["report-status", "side-band-64k", "ofs-delta", ...(updates.length > 1 ? ["atomic"] : []), ...(onProgress === undefined ? ["quiet"] : [])].filter((c) => caps.has(c));
  if (caps.has("object-format")) wanted.push(`object-format=${algorithm}`);
  wanted.push(AGENT);
  const lines = updates.map((u, i) => {
    const text = `${u.old ?? zero} ${u.new ?? zero} ${u.name}`;
    for (const h of [u.old, u.new]) if (h !== undefined && !isHash(h, algorithm)) throw corrupt(`bad id ${h}`);
    return encodePktLine(i === 0 ? `${text}\0${wanted.join(" ")}` : `${text}\n`);
  });
  const commands = concatBytes([...lines, FLUSH_PKT]);
  const needsPack = updates.some((u) => u.new !== undefined);
  let body: Uint8Array | AsyncIterable<Uint8Array> = commands;
  if (needsPack) {
    const hashes = await objectsForPush(local, algorithm, updates, refs.refs.values());
    const pack = packStream(local, algorithm, hashes, { ofsDelta: caps.has("ofs-delta"), onProgress });
    body = (async function* () {
      yield commands;
      yield* pack;
    })();
  }
  const reader = await conn.request(body);
  const sideband = wanted.includes("side-band-64k");
  const report = sideband ? new PktLineReader(demuxSideband(reader, onProgress)) : reader;
  return readReport(report, updates);
}
