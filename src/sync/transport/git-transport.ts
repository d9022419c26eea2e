/**
 * The `git://` transport (`man 5 gitprotocol-pack`, "Git Transport"): a TCP connection that starts
 * with one pkt-line naming the service and the path, `git-upload-pack /repo\0host=h\0`, with
 * `\0version=2\0` appended to ask for protocol v2. Stateful: requests and responses share the
 * socket. Node only (node:net).
 */
import { connect, type Socket } from "node:net";
import { IrminError, invalidArgument } from "../../core/errors.js";
import { encodePktLine, PktLineReader } from "../pkt-line.js";
import type { GitService, RequestBody, SmartConnection, SmartTransport } from "./transport.js";

/** A socket as a stream of chunks that turns socket errors into `IO`. */
async function* socketChunks(socket: Socket, location: string): AsyncIterable<Uint8Array> {
  try {
    for await (const chunk of socket) yield chunk as Uint8Array;
  } catch (e) {
    throw new IrminError("IO", `${location}: ${(e as Error).message}`, { cause: e });
  }
}

function write(socket: Socket, bytes: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.write(bytes, (err) => (err ? reject(new IrminError("IO", `write failed: ${err.message}`, { cause: err })) : resolve()));
  });
}

/**
 * Connects over git:// to `url` (`git://host[:port]/path`, default port 9418). A connection idle
 * for `timeoutMs` (default 2 minutes) fails with `IO`, so a silent server cannot hang a fetch.
 */
export function gitTransport(url: string, options: { timeoutMs?: number } = {}): SmartTransport {
  const timeoutMs = options.timeoutMs ?? 120_000;
  const u = new URL(url);
  if (u.protocol !== "git:") throw invalidArgument(`not a git:// url: ${url}`);
  const host = u.hostname.replace(/^\[|\]$/g, "");
  const port = u.port === "" ? 9418 : Number(u.port);
  const path = decodeURIComponent(u.pathname);
  return {
    location: url,
    async connect(service: GitService, options: { protocol: 0 | 2 }): Promise<SmartConnection> {
      const socket = await new Promise<Socket>((resolve, reject) => {
        const s = connect({ host, port });
        // The timeout covers connecting too: a host that never answers fails in timeoutMs, not the OS's minutes.
        const onTimeout = () => s.destroy(new IrminError("IO", `cannot connect to ${url}: no answer in ${timeoutMs} ms`));
        s.setTimeout(timeoutMs, onTimeout);
        s.once("connect", () => {
          // Connected: a later stall is reported by the idle timeout below, not as a failed connect.
          s.removeListener("timeout", onTimeout);
          s.removeAllListeners("error");
          resolve(s);
        });
        s.once("error", (e) => reject(new IrminError("IO", `cannot connect to ${url}: ${e.message}`, { cause: e })));
      });
      socket.on("error", () => undefined); // surfaced through the reader
      socket.setTimeout(timeoutMs, () => socket.destroy(new IrminError("IO", `${url}: no data for ${timeoutMs} ms`)));
      const extra = options.protocol === 2 ? "\0version=2\0" : "";
      await write(socket, encodePktLine(`${service} ${path}\0host=${u.host}\0${extra}`));
      const reader = new PktLineReader(socketChunks(socket, url));
      return {
        stateless: false,
        advertisement: reader,
        async request(body: RequestBody): Promise<PktLineReader> {
          if (body instanceof Uint8Array) await write(socket, body);
          else for await (const chunk of body) await write(socket, chunk);
          return reader;
        },
        close(): void {
          socket.destroy();
        },
      };
    },
  };
}
