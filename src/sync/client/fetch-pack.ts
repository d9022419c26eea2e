/**
 * The fetch side of the smart protocol (`man 5 gitprotocol-pack`, `gitprotocol-v2`): send wants,
 * negotiate common commits with haves in growing rounds (multi_ack_detailed in v0/v1, the
 * `acknowledgments` section in v2), then receive the pack (side-band demultiplexed) into the
 * local store. Works on stateful (git://) and stateless (HTTP) connections: a stateless request
 * carries the wants and every have found common so far again.
 */
import { corrupt } from "../../core/errors.js";
import { isHash, type Hash, type HashAlgorithm } from "../../core/hash.js";
import { decodeCommit } from "../../codec/commit.js";
import type { ObjectStore } from "../../backend/object-store.js";
import { receivePack } from "../pack-receive.js";
import { concatBytes, DELIM_PKT, encodePktLine, FLUSH_PKT, pktText, type PktLineReader } from "../pkt-line.js";
import type { SmartConnection } from "../transport/transport.js";
import type { Capabilities } from "./refs-advertisement.js";
import type { FetchRequest, FetchResult } from "./session.js";
import { demuxSideband } from "./sideband-demux.js";

/** Haves per round: the first round is small, later ones double up to this. */
const MAX_ROUND = 256;
/** After this many haves without reaching `ready`, give up negotiating and send `done`. */
const MAX_HAVES = 2048;

/** The agent string sent to servers. */
export const AGENT = "agent=irmin-ts/0.1";

function objectFormatArg(algorithm: HashAlgorithm, caps: Capabilities): string | undefined {
  return caps.has("object-format") ? `object-format=${algorithm}` : undefined;
}

function parseShallowLine(line: string, out: { shallow: Hash[]; unshallow: Hash[] }, algorithm: HashAlgorithm): boolean {
  const [kind, id] = line.split(" ");
  if ((kind !== "shallow" && kind !== "unshallow") || !isHash(id, algorithm)) return false;
  (kind === "shallow" ? out.shallow : out.unshallow).push(id);
  return true;
}

/** Protocol v2 `fetch`. The connection's advertisement has been read (`caps` are the server's). */
export async function fetchV2(conn: SmartConnection, caps: Capabilities, algorithm: HashAlgorithm, local: ObjectStore, req: FetchRequest): Promise<FetchResult> {
  const fetchCaps = new Set((caps.get("fetch") ?? "").split(" "));
  if (req.depth !== undefined && !fetchCaps.has("shallow")) throw corrupt("the remote does not support shallow fetches");
  const header: Uint8Array[] = [encodePktLine("command=fetch\n"), encodePktLine(`${AGENT}\n`)];
  const fmt = objectFormatArg(algorithm, caps);
  if (fmt !== undefined) header.push(encodePktLine(`${fmt}\n`));
  header.push(DELIM_PKT, encodePktLine("thin-pack\n"), encodePktLine("ofs-delta\n"));
  if (req.onProgress === undefined) header.push(encodePktLine("no-progress\n"));
  for (const w of req.wants) header.push(encodePktLine(`want ${w}\n`));
  for (const s of req.shallow ?? []) header.push(encodePktLine(`shallow ${s}\n`));
  if (req.depth !== undefined) header.push(encodePktLine(`deepen ${req.depth}\n`));
  const common: Hash[] = [];
  let sent = 0;
  let round = 16;
  let done = await req.haves.isEmpty();
  for (let rounds = 0; rounds < 1000; rounds++) {
    const batch = done ? [] : await req.haves.next(round);
    sent += batch.length;
    if (batch.length === 0 || sent >= MAX_HAVES) done = true;
    round = Math.min(round * 2, MAX_ROUND);
    const haves = [...common, ...batch].map((h) => encodePktLine(`have ${h}\n`));
    const body = concatBytes([...header, ...haves, ...(done ? [encodePktLine("done\n")] : []), FLUSH_PKT]);
    const reader = await conn.request(body);
    const section = await reader.readText();
    if (section === "acknowledgments") {
      let ready = false;
      for (let i = 0; i < 100_000; i++) {
        const p = await reader.next();
        if (p === undefined) throw corrupt("fetch response ended inside acknowledgments");
        if (p.type === "flush") break;
        if (p.type === "delim") {
          if (!ready) throw corrupt("acknowledgments continue without ready");
          return readPackfileSections(reader, algorithm, local, req);
        }
        if (p.type !== "data") throw corrupt("unexpected packet in acknowledgments");
        const line = pktText(p.data);
        if (line === "ready") ready = true;
        else if (line.startsWith("ACK ")) {
          const id = line.slice(4);
          if (!isHash(id, algorithm)) throw corrupt(`bad ACK ${JSON.stringify(line)}`);
          if (!common.includes(id)) common.push(id);
          req.haves.markCommon(id);
        } else if (line !== "NAK") throw corrupt(`unexpected acknowledgment ${JSON.stringify(line)}`);
      }
      if (ready) throw corrupt("ready without a packfile");
      if (done) throw corrupt("no packfile after done");
      continue;
    }
    if (section === undefined) throw corrupt("empty fetch response");
    reader.unread({ type: "data", data: encodePktLine(section).subarray(4) });
    return readPackfileSections(reader, algorithm, local, req);
  }
  throw corrupt("negotiation did not end");
}

/** The v2 sections after acknowledgments: shallow-info, wanted-refs, packfile-uris, packfile. */
async function readPackfileSections(reader: PktLineReader, algorithm: HashAlgorithm, local: ObjectStore, req: FetchRequest): Promise<FetchResult> {
  const boundary = { shallow: [] as Hash[], unshallow: [] as Hash[] };
  for (let s = 0; s < 10; s++) {
    const section = await reader.readText();
    if (section === "packfile") {
      const r = await receivePack(local, algorithm, demuxSideband(reader, req.onProgress), { maxBytes: req.maxBytes, onProgress: req.onProgress });
      return {
        // Read through: the receive builds the hex ids only if someone asks.
        get hashes() {
          return r.hashes;
        },
        links: r.links,
        ...boundary,
      };
    }
    if (section === undefined) throw corrupt("fetch response without a packfile");
    for (let i = 0; i < 10_000_000; i++) {
      const p = await reader.next();
      if (p === undefined) throw corrupt(`fetch response ended inside ${section}`);
      if (p.type === "delim") break;
      if (p.type !== "data") throw corrupt(`unexpected packet in ${section}`);
      const line = pktText(p.data);
      if (section === "shallow-info" && !parseShallowLine(line, boundary, algorithm)) throw corrupt(`bad shallow-info line ${JSON.stringify(line)}`);
      if (section === "packfile-uris") throw corrupt("the remote sent packfile URIs it was not asked for");
    }
  }
  throw corrupt("too many sections in the fetch response");
}

/** The v0/v1 capabilities the client asks for, among those the server offers. */
function v0Capabilities(caps: Capabilities, algorithm: HashAlgorithm, req: FetchRequest): string {
  const want = ["multi_ack_detailed", "side-band-64k", "thin-pack", "ofs-delta"];
  if (!caps.has("side-band-64k")) want.push("side-band");
  if (req.onProgress === undefined) want.push("no-progress");
  if (req.depth !== undefined) {
    if (!caps.has("shallow")) throw corrupt("the remote does not support shallow fetches");
    want.push("shallow");
  }
  const out = want.filter((c) => caps.has(c));
  const fmt = objectFormatArg(algorithm, caps);
  if (fmt !== undefined) out.push(fmt);
  out.push(AGENT);
  return out.join(" ");
}

/** Reads `shallow`/`unshallow` lines up to a flush (the answer to deepen in v0). */
async function readShallowInfo(reader: PktLineReader, algorithm: HashAlgorithm, out: { shallow: Hash[]; unshallow: Hash[] }): Promise<void> {
  for (let i = 0; i < 10_000_000; i++) {
    const line = await reader.readText();
    if (line === undefined) return;
    if (!parseShallowLine(line, out, algorithm)) throw corrupt(`bad shallow line ${JSON.stringify(line)}`);
  }
}

/**
 * Reads one round of acknowledgments (multi_ack_detailed): `ACK <id> common`, `ACK <id> ready`,
 * ending at `NAK`; after `done`, the round ends at `NAK` or a final `ACK <id>`. Returns whether
 * the server is ready.
 */
async function readAcks(reader: PktLineReader, algorithm: HashAlgorithm, req: FetchRequest, common: Hash[], final: boolean): Promise<boolean> {
  let ready = false;
  for (let i = 0; i < 100_000; i++) {
    const line = await reader.readText();
    if (line === undefined) throw corrupt("negotiation response ended early");
    if (line === "NAK") return ready;
    const m = /^ACK ([0-9a-f]+)(?: (common|ready|continue))?$/.exec(line);
    if (m === null || !isHash(m[1], algorithm)) {
      if (line.startsWith("ERR ")) throw corrupt(`remote error: ${line.slice(4)}`);
      throw corrupt(`unexpected negotiation line ${JSON.stringify(line)}`);
    }
    if (m[2] === undefined) {
      if (final) return ready;
      // Single-ack servers end a round with a bare ACK too.
      return true;
    }
    if (!common.includes(m[1])) common.push(m[1]);
    req.haves.markCommon(m[1]);
    if (m[2] === "ready") ready = true;
  }
  throw corrupt("too many acknowledgments");
}

/**
 * Protocol v0/v1 fetch (upload-pack) after the ref advertisement was read. `serverShallow`: the
 * `shallow` lines of that advertisement (a shallow server's own boundary); those of them that
 * arrive, or are here without their parents, become shallow here, as git does on a clone.
 */
export async function fetchV0(conn: SmartConnection, caps: Capabilities, algorithm: HashAlgorithm, local: ObjectStore, req: FetchRequest, serverShallow: readonly Hash[] = []): Promise<FetchResult> {
  const capText = v0Capabilities(caps, algorithm, req);
  const wantLines: Uint8Array[] = req.wants.map((w, i) => encodePktLine(i === 0 ? `want ${w} ${capText}\n` : `want ${w}\n`));
  for (const s of req.shallow ?? []) wantLines.push(encodePktLine(`shallow ${s}\n`));
  if (req.depth !== undefined) wantLines.push(encodePktLine(`deepen ${req.depth}\n`));
  wantLines.push(FLUSH_PKT);
  const wantsBlock = concatBytes(wantLines);
  const boundary = { shallow: [] as Hash[], unshallow: [] as Hash[] };
  const common: Hash[] = [];
  const deepen = req.depth !== undefined;
  let reader: PktLineReader | undefined;
  if (!conn.stateless) {
    reader = await conn.request(wantsBlock);
    if (deepen) await readShallowInfo(reader, algorithm, boundary);
  }
  let done = await req.haves.isEmpty();
  let sent = 0;
  let round = 16;
  for (let rounds = 0; rounds < 1000; rounds++) {
    const batch = done ? [] : await req.haves.next(round);
    sent += batch.length;
    if (batch.length === 0 || sent >= MAX_HAVES) done = true;
    round = Math.min(round * 2, MAX_ROUND);
    const haves = (conn.stateless ? [...common, ...batch] : batch).map((h) => encodePktLine(`have ${h}\n`));
    const tail = done ? encodePktLine("done\n") : FLUSH_PKT;
    const body = conn.stateless ? concatBytes([wantsBlock, ...haves, tail]) : concatBytes([...haves, tail]);
    if (conn.stateless) {
      reader = await conn.request(body);
      if (deepen) {
        boundary.shallow.length = 0;
        boundary.unshallow.length = 0;
        await readShallowInfo(reader, algorithm, boundary);
      }
    } else await conn.request(body);
    const ready = await readAcks(reader!, algorithm, req, common, done);
    if (done) break;
    if (ready) done = true;
    if (done && !conn.stateless) {
      await conn.request(encodePktLine("done\n"));
      await readAcks(reader!, algorithm, req, common, true);
      break;
    }
    if (done) {
      // Stateless: one more request ending in done, answered with the pack.
      reader = await conn.request(concatBytes([wantsBlock, ...common.map((h) => encodePktLine(`have ${h}\n`)), encodePktLine("done\n")]));
      if (deepen) {
        boundary.shallow.length = 0;
        boundary.unshallow.length = 0;
        await readShallowInfo(reader, algorithm, boundary);
      }
      await readAcks(reader, algorithm, req, common, true);
      break;
    }
  }
  const sideband = caps.has("side-band-64k") || caps.has("side-band");
  const source = sideband ? demuxSideband(reader!, req.onProgress) : reader!.rest();
  const r = await receivePack(local, algorithm, source, { maxBytes: req.maxBytes, onProgress: req.onProgress });
  // A shallow server's boundary (advertised, not sent with the pack in v0): each of its shallow
  // commits received now, or here without its parents, is a shallow commit here too (git's
  // fetch-pack keeps every one in the pack of a clone).
  const known = new Set([...boundary.shallow, ...(req.shallow ?? [])]);
  let received: Set<Hash> | undefined;
  for (const s of serverShallow) {
    if (known.has(s)) continue;
    const o = await local.get(s);
    if (o?.type !== "commit") continue;
    received ??= new Set(r.hashes);
    let complete = !received.has(s);
    for (const p of decodeCommit(o.data, algorithm).parents) if (complete && !(await local.has(p))) complete = false;
    if (!complete) {
      known.add(s);
      boundary.shallow.push(s);
    }
  }
  return {
        // Read through: the receive builds the hex ids only if someone asks.
        get hashes() {
          return r.hashes;
        },
        links: r.links,
        ...boundary,
      };
}
