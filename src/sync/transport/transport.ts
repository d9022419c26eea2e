/**
 * How the smart protocol reaches a remote: a connection to one service (`git-upload-pack` for
 * fetch, `git-receive-pack` for push) that first yields the remote's advertisement, then carries
 * requests. Stateful transports (git://) keep one bidirectional stream; stateless ones (HTTP) make
 * one round trip per request, so the client resends its state each time (`stateless`).
 */
import type { PktLineReader } from "../pkt-line.js";

/** The two services of the smart protocol. */
export type GitService = "git-upload-pack" | "git-receive-pack";

/** A request body: bytes, or a stream of them (a pack being pushed). */
export type RequestBody = Uint8Array | AsyncIterable<Uint8Array>;

/** An open connection to one service of a remote. */
export interface SmartConnection {
  /** True for HTTP: every request is answered on its own; no state survives between them. */
  readonly stateless: boolean;
  /** The advertisement (v0 refs or v2 capabilities); on a stateful connection responses follow on the same reader. */
  readonly advertisement: PktLineReader;
  /** Sends `body` and returns the reader of the response. */
  request(body: RequestBody): Promise<PktLineReader>;
  /** Ends the connection (idempotent). */
  close(): void;
}

/** Opens connections to one remote repository. */
export interface SmartTransport {
  /** A human-readable location, for messages. */
  readonly location: string;
  /** Connects to `service`, asking for protocol version 2 when `protocol` is 2 (the remote may answer v0). */
  connect(service: GitService, options: { protocol: 0 | 2 }): Promise<SmartConnection>;
}

/** Collects a request body made of several pieces into one stream. */
export async function* bodyChunks(body: RequestBody): AsyncIterable<Uint8Array> {
  if (body instanceof Uint8Array) yield body;
  else yield* body;
}
