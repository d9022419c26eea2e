/**
 * A {@link RemoteSession} over the smart protocol, on any {@link SmartTransport}: protocol v2 is
 * asked for (ls-refs, fetch) and v0/v1 is spoken when the server answers with it; push always
 * uses receive-pack's v0 protocol (v2 has no push).
 */
import { corrupt, IrminError, notFound } from "../../core/errors.js";
import type { Hash, HashAlgorithm } from "../../core/hash.js";
import type { ObjectStore } from "../../backend/object-store.js";
import { concatBytes, DELIM_PKT, encodePktLine, FLUSH_PKT, type PktLineReader } from "../pkt-line.js";
import type { ProgressCallback } from "../progress.js";
import type { GitService, SmartConnection, SmartTransport } from "../transport/transport.js";
import { AGENT, fetchV0, fetchV2 } from "./fetch-pack.js";
import { parseCapabilities, parseLsRefs, parseV0Advertisement, remoteAlgorithm, type AdvertisedRefs, type Capabilities } from "./refs-advertisement.js";
import { sendPack } from "./send-pack.js";
import type { FetchRequest, FetchResult, RefUpdate, RefUpdateResult, RemoteSession } from "./session.js";

/** An open service connection with what its advertisement said. */
interface Discovered {
  conn: SmartConnection;
  version: 0 | 2;
  caps: Capabilities;
  /** v0: the advertised refs (v2 lists them on request). */
  refs: AdvertisedRefs | undefined;
  /** v0: the server's own shallow commits (`shallow` lines of the advertisement). */
  shallow?: Hash[];
}

async function firstLine(reader: PktLineReader, location: string): Promise<string> {
  const p = await reader.next();
  if (p === undefined) throw notFound(`${location}: the remote closed the connection (no such repository?)`);
  if (p.type !== "data") {
    if (p.type === "flush") return "";
    throw corrupt(`${location}: unexpected ${p.type} packet in the advertisement`);
  }
  const text = new TextDecoder().decode(p.data).replace(/\n$/, "");
  if (text.startsWith("ERR ")) {
    const msg = text.slice(4);
    if (/not found|no such|does not appear|not exported|access denied/i.test(msg)) throw notFound(`${location}: ${msg}`);
    throw new IrminError("IO", `${location}: ${msg}`);
  }
  return text;
}

/** Connects and reads the advertisement of `service`. */
async function discover(transport: SmartTransport, service: GitService, protocol: 0 | 2): Promise<Discovered> {
  const conn = await transport.connect(service, { protocol });
  try {
    const reader = conn.advertisement;
    let line = await firstLine(reader, transport.location);
    if (line === "version 2") {
      const caps: Capabilities = new Map();
      for (let i = 0; i < 10_000; i++) {
        const l = await reader.readText();
        if (l === undefined) break;
        const eq = l.indexOf("=");
        caps.set(eq < 0 ? l : l.slice(0, eq), eq < 0 ? undefined : l.slice(eq + 1));
      }
      return { conn, version: 2, caps, refs: undefined };
    }
    if (line === "version 1") line = await firstLine(reader, transport.location);
    if (line === "") {
      // An empty advertisement (flush only): an empty repository with no capabilities.
      return { conn, version: 0, caps: parseCapabilities(""), refs: { refs: new Map(), head: undefined, peeled: new Map() } };
    }
    const { refs, caps, shallow } = await parseV0Advertisement(line, reader);
    return { conn, version: 0, caps, refs, shallow };
  } catch (e) {
    conn.close();
    throw e;
  }
}

/** A session speaking the smart protocol over `transport` (`protocol` 2 by default, 0 to force v0). */
export function smartSession(transport: SmartTransport, options: { protocol?: 0 | 2 } = {}): RemoteSession {
  const protocol = options.protocol ?? 2;
  let upload: Discovered | undefined;
  let algorithm: HashAlgorithm = "sha1";

  const uploadPack = async (): Promise<Discovered> => {
    if (upload === undefined) {
      upload = await discover(transport, "git-upload-pack", protocol);
      algorithm = remoteAlgorithm(upload.caps);
    }
    return upload;
  };
  /** After a v0 fetch the stateful conversation is over: the next call reconnects. */
  const retire = (): void => {
    upload?.conn.close();
    upload = undefined;
  };

  const session: RemoteSession = {
    get algorithm(): HashAlgorithm {
      return algorithm;
    },

    async listRefs(prefixes?: string[]): Promise<AdvertisedRefs> {
      const d = await uploadPack();
      if (d.version === 0) return d.refs!;
      const args = ["symrefs", "peel", ...(prefixes ?? []).map((p) => `ref-prefix ${p}`)];
      if (prefixes !== undefined) args.push("ref-prefix HEAD");
      if (d.caps.get("ls-refs")?.split(" ").includes("unborn")) args.push("unborn");
      const head = [encodePktLine("command=ls-refs\n"), encodePktLine(`${AGENT}\n`)];
      if (d.caps.has("object-format")) head.push(encodePktLine(`object-format=${algorithm}\n`));
      const reader = await d.conn.request(concatBytes([...head, DELIM_PKT, ...args.map((a) => encodePktLine(`${a}\n`)), FLUSH_PKT]));
      return parseLsRefs(reader);
    },

    async fetch(local: ObjectStore, request: FetchRequest): Promise<FetchResult> {
      const d = await uploadPack();
      if (local.algorithm !== algorithm) throw new IrminError("UNSUPPORTED", `the remote uses ${algorithm}, the local repository ${local.algorithm}`);
      if (request.wants.length === 0) return { hashes: [], shallow: [], unshallow: [] };
      try {
        return d.version === 2 ? await fetchV2(d.conn, d.caps, algorithm, local, request) : await fetchV0(d.conn, d.caps, algorithm, local, request, d.shallow);
      } finally {
        if (d.version === 0 || !d.conn.stateless) retire();
      }
    },

    async push(local: ObjectStore, updates: RefUpdate[], opts: { onProgress?: ProgressCallback } = {}): Promise<RefUpdateResult[]> {
      const d = await discover(transport, "git-receive-pack", 0);
      try {
        const alg = remoteAlgorithm(d.caps);
        if (local.algorithm !== alg) throw new IrminError("UNSUPPORTED", `the remote uses ${alg}, the local repository ${local.algorithm}`);
        return await sendPack(d.conn, d.caps, d.refs!, alg, local, updates, opts.onProgress);
      } finally {
        d.conn.close();
      }
    },

    async close(): Promise<void> {
      retire();
    },
  };
  return session;
}
