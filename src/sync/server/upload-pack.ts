/**
 * upload-pack for protocol v0/v1 in stateless-RPC form (smart HTTP): each request restates the
 * wants, the shallow state and every have so far; the answer carries the shallow update, the
 * acknowledgements (`multi_ack_detailed`, `multi_ack` or plain), and, once the client sent `done`
 * (or the server said `ready` and the client speaks `no-done`), the pack.
 */
import type { Hash, HashAlgorithm } from "../../core/hash.js";
import { encodePktLine, FLUSH_PKT, PktLineReader, pktText } from "../pkt-line.js";
import { isDeepening, shallowBoundary, type DeepenRequest } from "../shallow-boundary.js";
import { ownShallow, type ServerStores } from "./advertise.js";
import { DeepenArgs } from "./deepen-args.js";
import { errorLine, MAX_WANTS, parseId, ProtocolError } from "./request-args.js";
import { MAX_HAVES, Negotiation } from "./negotiation.js";
import { packResponse } from "./pack-response.js";

/**
 * Answers one stateless upload-pack request (v0/v1) read from `body`. Never throws: a malformed
 * request is answered with an `ERR` line, a failure during the pack on the error band.
 */
export async function* uploadPackV0(stores: ServerStores, algorithm: HashAlgorithm, body: AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array> {
  const reader = new PktLineReader(body);
  let caps = new Set<string>();
  const wants: Hash[] = [];
  const shallow: Hash[] = [];
  const deepenArgs = new DeepenArgs();
  let deepen: DeepenRequest | undefined;
  let own: Hash[] = [];
  let negotiation: Negotiation;
  const out: Uint8Array[] = [];
  let sendPack = false;
  try {
    // The wants, shallow and deepen lines, up to a flush.
    for (;;) {
      const pkt = await reader.next();
      if (pkt === undefined || pkt.type !== "data") break;
      const line = pktText(pkt.data);
      if (line.startsWith("want ")) {
        const rest = line.slice(5);
        const [id, ...features] = rest.split(" ");
        if (wants.length === 0) caps = new Set(features);
        if (wants.length >= MAX_WANTS) throw new ProtocolError("too many wants");
        wants.push(parseId(id, algorithm, "wanted"));
      } else if (line.startsWith("shallow ")) {
        if (shallow.length >= MAX_WANTS) throw new ProtocolError("too many shallow lines");
        shallow.push(parseId(line.slice(8), algorithm, "shallow"));
      } else if (!deepenArgs.read(line)) throw new ProtocolError(`protocol error: expected want, got ${JSON.stringify(line.slice(0, 80))}`);
    }
    if (wants.length === 0) return;
    for (const w of wants) if (!(await stores.objects.has(w))) throw new ProtocolError(`not our ref ${w}`);
    // Shallow clients only learn their boundary from a request with a depth (in v0, a shallow
    // server's own boundary is in its ref advertisement).
    // In v0/v1, deepen-relative is a capability of the first want line, not a line of its own.
    if (caps.has("deepen-relative")) deepenArgs.relative = true;
    deepen = await deepenArgs.resolve(stores);
    own = await ownShallow(stores);
    if (isDeepening(deepen)) {
      const b = await shallowBoundary(stores.objects, algorithm, wants, deepen, shallow, own);
      for (const h of b.shallow) out.push(encodePktLine(`shallow ${h}\n`));
      for (const h of b.unshallow) out.push(encodePktLine(`unshallow ${h}\n`));
      out.push(FLUSH_PKT);
    }
    const multiAck = caps.has("multi_ack_detailed") ? 2 : caps.has("multi_ack") ? 1 : 0;
    const noDone = caps.has("no-done");
    negotiation = new Negotiation(stores.objects, algorithm, wants);
    let last: Hash | undefined;
    let gotCommon = false;
    let gotOther = false;
    let sentReady = false;
    let haves = 0;
    for (;;) {
      const pkt = await reader.next();
      // A stateless request that ends without a flush (the first one of a shallow fetch: wants
      // and deepen only) gets only the shallow list, as git's upload-pack answers it.
      if (pkt === undefined) break;
      if (pkt.type !== "data") {
        // End of a round.
        if (multiAck === 2 && gotCommon && !gotOther && (await negotiation.ready())) {
          sentReady = true;
          out.push(encodePktLine(`ACK ${last} ready\n`));
        }
        if (negotiation.common.length === 0 || multiAck > 0) out.push(encodePktLine("NAK\n"));
        if (noDone && sentReady) {
          out.push(encodePktLine(`ACK ${last}\n`));
          sendPack = true;
          break;
        }
        // Stateless: the round ends the request; the client comes back with a new one.
        break;
      }
      const line = pktText(pkt.data);
      if (line.startsWith("have ")) {
        if (++haves > MAX_HAVES) throw new ProtocolError("too many haves");
        const id = parseId(line.slice(5), algorithm, "have");
        if (await negotiation.have(id)) {
          gotCommon = true;
          last = id;
          if (multiAck === 2) out.push(encodePktLine(`ACK ${id} common\n`));
          else if (multiAck === 1) out.push(encodePktLine(`ACK ${id} continue\n`));
          else if (negotiation.common.length === 1) out.push(encodePktLine(`ACK ${id}\n`));
        } else {
          gotOther = true;
          if (multiAck > 0 && (await negotiation.ready())) {
            if (multiAck === 2) {
              sentReady = true;
              out.push(encodePktLine(`ACK ${id} ready\n`));
            } else out.push(encodePktLine(`ACK ${id} continue\n`));
          }
        }
        continue;
      }
      if (line === "done") {
        if (negotiation.common.length > 0) {
          if (multiAck > 0) out.push(encodePktLine(`ACK ${last}\n`));
        } else out.push(encodePktLine("NAK\n"));
        sendPack = true;
        break;
      }
      throw new ProtocolError(`expected have or done, got ${JSON.stringify(line.slice(0, 80))}`);
    }
  } catch (e) {
    yield errorLine(e);
    return;
  }
  for (const o of out) yield o;
  if (!sendPack) return;
  yield* packResponse(stores, algorithm, {
    wants,
    haves: negotiation.common,
    deepen,
    shallow,
    ownShallow: own,
    boundaryAnnounced: isDeepening(deepen),
    thin: caps.has("thin-pack"),
    ofsDelta: caps.has("ofs-delta"),
    includeTag: caps.has("include-tag"),
    sideband: caps.has("side-band-64k") ? "large" : caps.has("side-band") ? "small" : "none",
    progress: !caps.has("no-progress"),
  });
}
