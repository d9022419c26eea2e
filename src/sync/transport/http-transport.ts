/**
 * The smart HTTP transport (`man 5 gitprotocol-http`): `GET <url>/info/refs?service=<service>`
 * for the advertisement, then one `POST <url>/<service>` per request. Stateless. Protocol v2 is
 * asked for with the `Git-Protocol: version=2` header. Node only (node:http, node:https).
 */
import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import { IrminError, invalidArgument, notFound } from "../../core/errors.js";
import { PktLineReader, pktText } from "../pkt-line.js";
import type { GitService, RequestBody, SmartConnection, SmartTransport } from "./transport.js";

async function* responseChunks(res: IncomingMessage, location: string): AsyncIterable<Uint8Array> {
  try {
    for await (const chunk of res) yield chunk as Uint8Array;
  } catch (e) {
    throw new IrminError("IO", `${location}: ${(e as Error).message}`, { cause: e });
  }
}

async function drain(res: IncomingMessage): Promise<string> {
  let text = "";
  try {
    for await (const chunk of res) if (text.length < 1000) text += Buffer.from(chunk as Uint8Array).toString("utf8");
  } catch {
    // The status already says what went wrong.
  }
  return text.slice(0, 200).trim();
}

function send(url: URL, method: "GET" | "POST", headers: Record<string, string>, body: RequestBody | undefined, timeoutMs: number): Promise<IncomingMessage> {
  const req = (url.protocol === "https:" ? httpsRequest : httpRequest)(url, { method, headers });
  // An idle socket (no response, or a response that stalls) fails instead of hanging.
  req.setTimeout(timeoutMs, () => req.destroy(new IrminError("IO", `${method} ${url.href}: no data for ${timeoutMs} ms`)));
  return new Promise((resolve, reject) => {
    req.once("response", resolve);
    req.once("error", (e) => reject(new IrminError("IO", `${method} ${url.href}: ${e.message}`, { cause: e })));
    if (body === undefined) req.end();
    else if (body instanceof Uint8Array) req.end(body);
    else {
      void (async () => {
        try {
          for await (const chunk of body) {
            if (!req.write(chunk)) await new Promise((r) => req.once("drain", r));
          }
          req.end();
        } catch (e) {
          req.destroy(e as Error);
          reject(e);
        }
      })();
    }
  });
}

async function checkStatus(res: IncomingMessage, what: string, expectedType: string): Promise<void> {
  const status = res.statusCode ?? 0;
  if (status === 404) throw notFound(`${what}: repository not found (HTTP 404)`);
  if (status !== 200) throw new IrminError("IO", `${what}: HTTP ${status} ${await drain(res)}`);
  const type = String(res.headers["content-type"] ?? "");
  // The media type only: servers and proxies may add parameters (`; charset=utf-8`), which git ignores.
  if (type.split(";")[0].trim().toLowerCase() !== expectedType) {
    await drain(res);
    throw new IrminError("UNSUPPORTED", `${what}: not a smart Git HTTP server (content type ${JSON.stringify(type)})`);
  }
}

/**
 * Smart HTTP(S) to the repository at `url` (credentials in the URL are sent as basic auth). A
 * request idle for `timeoutMs` (default 2 minutes) fails with `IO`.
 */
export function httpTransport(url: string, options: { timeoutMs?: number } = {}): SmartTransport {
  const timeoutMs = options.timeoutMs ?? 120_000;
  const base = new URL(url);
  if (base.protocol !== "http:" && base.protocol !== "https:") throw invalidArgument(`not an http(s) url: ${url}`);
  const auth: Record<string, string> = {};
  if (base.username !== "") {
    auth.authorization = `Basic ${Buffer.from(`${decodeURIComponent(base.username)}:${decodeURIComponent(base.password)}`).toString("base64")}`;
    base.username = "";
    base.password = "";
  }
  const root = base.href.replace(/\/+$/, "");
  const location = root;
  return {
    location,
    async connect(service: GitService, options: { protocol: 0 | 2 }): Promise<SmartConnection> {
      const proto: Record<string, string> = options.protocol === 2 ? { "git-protocol": "version=2" } : {};
      const headers = { ...auth, ...proto, "user-agent": "git/irmin-ts", accept: "*/*" };
      const res = await send(new URL(`${root}/info/refs?service=${service}`), "GET", headers, undefined, timeoutMs);
      await checkStatus(res, `${location} info/refs`, `application/x-${service}-advertisement`);
      const advertisement = new PktLineReader(responseChunks(res, location));
      // A v0 smart server starts with "# service=<service>" and a flush; a v2 one may not.
      const first = await advertisement.next();
      if (first?.type === "data" && pktText(first.data) === `# service=${service}`) {
        const flush = await advertisement.next();
        if (flush?.type !== "flush") throw new IrminError("CORRUPT", `${location}: no flush after the service line`);
      } else {
        advertisement.unread(first);
      }
      // Every response of this connection: a fetch that stops part-way (a corrupt pack) never reads
      // its response to the end, so close() destroys them all, not only the advertisement.
      const responses: IncomingMessage[] = [res];
      return {
        stateless: true,
        advertisement,
        async request(body: RequestBody): Promise<PktLineReader> {
          const r = await send(new URL(`${root}/${service}`), "POST", { ...headers, "content-type": `application/x-${service}-request`, accept: `application/x-${service}-result` }, body, timeoutMs);
          responses.push(r);
          await checkStatus(r, `${location} ${service}`, `application/x-${service}-result`);
          return new PktLineReader(responseChunks(r, location));
        },
        close(): void {
          for (const r of responses) r.destroy();
          responses.length = 0;
        },
      };
    },
  };
}
