/**
 * upload-pack for protocol v2 (`man 5 gitprotocol-v2`): the `ls-refs` and `fetch` commands. Each
 * request is a command, its capabilities, a delimiter, its arguments and a flush; over HTTP one
 * request per POST, but several in a row are answered in turn.
 */
import type { Hash, HashAlgorithm } from "../../core/hash.js";
import { DELIM_PKT, encodePktLine, FLUSH_PKT, PktLineReader, pktText } from "../pkt-line.js";
import { shallowBoundary } from "../shallow-boundary.js";
import { listRefs, ownShallow, type ServerStores } from "./advertise.js";
import { DeepenArgs } from "./deepen-args.js";
import { MAX_HAVES, Negotiation } from "./negotiation.js";
import { packResponse } from "./pack-response.js";
import { errorLine, MAX_WANTS, parseId, ProtocolError } from "./request-args.js";

/** Most arguments one command may carry. */
const MAX_ARGS = MAX_WANTS + MAX_HAVES;

interface Command {
  readonly name: string;
  readonly capabilities: string[];
  readonly args: string[];
}

/** Reads one command request; undefined at the end of the stream. */
async function readCommand(reader: PktLineReader): Promise<Command | undefined> {
  let name: string | undefined;
  const capabilities: string[] = [];
  const args: string[] = [];
  let inArgs = false;
  for (;;) {
    const pkt = await reader.next();
    if (pkt === undefined) {
      if (name === undefined && capabilities.length === 0) return undefined;
      throw new ProtocolError("request ended before its flush");
    }
    if (pkt.type === "flush") break;
    if (pkt.type === "delim") {
      if (inArgs) throw new ProtocolError("two delimiters in one request");
      inArgs = true;
      continue;
    }
    if (pkt.type === "response-end") throw new ProtocolError("unexpected response-end packet");
    const line = pktText(pkt.data);
    if (inArgs) {
      if (args.length >= MAX_ARGS) throw new ProtocolError("too many arguments");
      args.push(line);
    } else if (line.startsWith("command=")) {
      if (name !== undefined) throw new ProtocolError("two commands in one request");
      name = line.slice(8);
    } else if (capabilities.length < 64) capabilities.push(line);
    else throw new ProtocolError("too many capabilities");
  }
  if (name === undefined) {
    // A bare flush (a client ending its session) is no command.
    if (capabilities.length === 0 && args.length === 0) return { name: "", capabilities, args };
    throw new ProtocolError("no command in request");
  }
  return { name, capabilities, args };
}

function checkObjectFormat(capabilities: readonly string[], algorithm: HashAlgorithm): void {
  for (const c of capabilities) {
    if (c.startsWith("object-format=") && c.slice(14) !== algorithm) throw new ProtocolError(`mismatched object format: the repository uses ${algorithm}`);
  }
}

async function* lsRefs(stores: ServerStores, algorithm: HashAlgorithm, args: readonly string[]): AsyncIterable<Uint8Array> {
  const prefixes: string[] = [];
  let symrefs = false;
  let peel = false;
  let unborn = false;
  for (const a of args) {
    if (a === "symrefs") symrefs = true;
    else if (a === "peel") peel = true;
    else if (a === "unborn") unborn = true;
    else if (a.startsWith("ref-prefix ")) prefixes.push(a.slice(11));
    else throw new ProtocolError(`unexpected line: ${JSON.stringify(a.slice(0, 80))}`);
  }
  const listing = await listRefs(stores, algorithm, { peel, prefixes });
  const out: Uint8Array[] = [];
  const headWanted = prefixes.length === 0 || prefixes.some((p) => "HEAD".startsWith(p));
  const hasHead = listing.refs.some((r) => r.name === "HEAD");
  if (!hasHead && unborn && headWanted && listing.headTarget !== undefined) out.push(encodePktLine(`unborn HEAD${symrefs ? ` symref-target:${listing.headTarget}` : ""}\n`));
  for (const r of listing.refs) {
    let line = `${r.hash} ${r.name}`;
    if (symrefs && r.name === "HEAD" && listing.headTarget !== undefined) line += ` symref-target:${listing.headTarget}`;
    if (r.peeled !== undefined) line += ` peeled:${r.peeled}`;
    out.push(encodePktLine(line + "\n"));
  }
  out.push(FLUSH_PKT);
  yield* out;
}

async function* fetch(stores: ServerStores, algorithm: HashAlgorithm, args: readonly string[]): AsyncIterable<Uint8Array> {
  const wants: Hash[] = [];
  const haves: Hash[] = [];
  const shallow: Hash[] = [];
  const deepenArgs = new DeepenArgs();
  let done = false;
  const flags = new Set<string>();
  for (const a of args) {
    if (a.startsWith("want ")) wants.push(parseId(a.slice(5), algorithm, "wanted"));
    else if (a.startsWith("have ")) haves.push(parseId(a.slice(5), algorithm, "have"));
    else if (a.startsWith("shallow ")) shallow.push(parseId(a.slice(8), algorithm, "shallow"));
    else if (deepenArgs.read(a)) continue;
    else if (a === "done") done = true;
    else if (a === "thin-pack" || a === "no-progress" || a === "include-tag" || a === "ofs-delta") flags.add(a);
    else throw new ProtocolError(`unexpected line: ${JSON.stringify(a.slice(0, 80))}`);
  }
  if (wants.length === 0) throw new ProtocolError("fetch without a want");
  const deepen = await deepenArgs.resolve(stores);
  const own = await ownShallow(stores);
  for (const w of wants) if (!(await stores.objects.has(w))) throw new ProtocolError(`not our ref ${w}`);
  const negotiation = new Negotiation(stores.objects, algorithm, wants);
  for (const h of haves) await negotiation.have(h);
  const out: Uint8Array[] = [];
  if (!done) {
    out.push(encodePktLine("acknowledgments\n"));
    if (negotiation.common.length === 0) out.push(encodePktLine("NAK\n"));
    for (const h of negotiation.common) out.push(encodePktLine(`ACK ${h}\n`));
    if (!(await negotiation.ready())) {
      out.push(FLUSH_PKT);
      yield* out;
      return;
    }
    out.push(encodePktLine("ready\n"), DELIM_PKT);
  }
  // A shallow server tells every client its own boundary (git: deepen to INFINITE_DEPTH).
  if (deepen !== undefined || own.length > 0) {
    const b = await shallowBoundary(stores.objects, algorithm, wants, deepen, shallow, own);
    out.push(encodePktLine("shallow-info\n"));
    for (const h of b.shallow) out.push(encodePktLine(`shallow ${h}\n`));
    for (const h of b.unshallow) out.push(encodePktLine(`unshallow ${h}\n`));
    out.push(DELIM_PKT);
  }
  out.push(encodePktLine("packfile\n"));
  yield* out;
  yield* packResponse(stores, algorithm, {
    wants,
    haves: negotiation.common,
    deepen,
    shallow,
    ownShallow: own,
    boundaryAnnounced: deepen !== undefined || own.length > 0,
    thin: flags.has("thin-pack"),
    ofsDelta: flags.has("ofs-delta"),
    includeTag: flags.has("include-tag"),
    sideband: "large",
    progress: !flags.has("no-progress"),
  });
}

/**
 * Answers the protocol v2 command requests read from `body` (`ls-refs`, `fetch`), in turn. Never
 * throws: a malformed request is answered with an `ERR` line and ends the answer.
 */
export async function* uploadPackV2(stores: ServerStores, algorithm: HashAlgorithm, body: AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array> {
  const reader = new PktLineReader(body);
  for (;;) {
    let answer: AsyncIterable<Uint8Array>;
    // The parts before the pack are gathered first, so that an error yields a clean ERR line.
    const head: Uint8Array[] = [];
    try {
      const cmd = await readCommand(reader);
      if (cmd === undefined) return;
      if (cmd.name === "") continue;
      checkObjectFormat(cmd.capabilities, algorithm);
      if (cmd.name === "ls-refs") answer = lsRefs(stores, algorithm, cmd.args);
      else if (cmd.name === "fetch") answer = fetch(stores, algorithm, cmd.args);
      else throw new ProtocolError(`unknown command ${JSON.stringify(cmd.name.slice(0, 80))}`);
      const it = answer[Symbol.asyncIterator]();
      // Run the answer up to its first pack bytes (`packfile` header included) before yielding.
      for (;;) {
        const r = await it.next();
        if (r.done === true) break;
        head.push(r.value);
        if (pktText(r.value.subarray(4)) === "packfile") {
          yield* head.splice(0);
          for (let n = await it.next(); n.done !== true; n = await it.next()) yield n.value;
          break;
        }
      }
    } catch (e) {
      yield errorLine(e);
      return;
    }
    yield* head;
  }
}
