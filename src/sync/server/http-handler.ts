/**
 * Git's smart HTTP protocol (`man 5 gitprotocol-http`) as a `node:http` request handler: the
 * later HTTP server mounts it beside its other routes, `git clone/fetch/push http://…` work
 * against it. Node's http types are imported as types only, and gzip bodies are decoded with the
 * web `DecompressionStream`, so this file has no runtime Node dependency.
 *
 * Routes (`<repo>` is any path, handed to `resolve`):
 * - `GET <repo>/info/refs?service=git-upload-pack|git-receive-pack`: the ref advertisement
 *   (protocol v2 capabilities for upload-pack when the `Git-Protocol` header asks for `version=2`);
 * - `POST <repo>/git-upload-pack`, `POST <repo>/git-receive-pack`: one stateless request.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Repo } from "../../store/repo.js";
import type { HashAlgorithm } from "../../core/hash.js";
import { encodeAdvertisement, encodeV2Capabilities, listRefs, ownShallow, receivePackCapabilities, uploadPackCapabilities, type ServerStores } from "./advertise.js";
import { uploadPackV0 } from "./upload-pack.js";
import { uploadPackV2 } from "./upload-pack-v2.js";

/** Options of {@link gitHttpHandler}; `V` is the served repositories' value type (any: the handler serves Git objects only). */
export interface GitHttpHandlerOptions<V = unknown> {
  /**
   * The repository served at `repoPath` (the URL path before `/info/refs` or `/git-…-pack`,
   * percent-decoded, without its leading `/`, never containing a `.` or `..` segment), or
   * undefined for a 404. The request is passed for authentication.
   */
  resolve: (repoPath: string, req: IncomingMessage) => Promise<Repo<V> | undefined> | Repo<V> | undefined;
  /** Whether pushes are accepted (default true); when false, receive-pack answers 403. */
  receivePack?: boolean;
  /** Largest pushed pack accepted, in bytes (default: no limit). */
  maxPackBytes?: number;
  /** Refuse pushes that are not fast-forwards, even forced ones (default false, as git). */
  denyNonFastForwards?: boolean;
}

type Service = "git-upload-pack" | "git-receive-pack";

const ROUTE = /^\/(.*?)\/?(info\/refs|git-upload-pack|git-receive-pack)$/;

function parse(req: IncomingMessage): { repoPath: string; endpoint: string; service: Service | undefined } | undefined {
  let url: URL;
  try {
    url = new URL(req.url ?? "/", "http://localhost");
  } catch {
    return undefined;
  }
  const m = ROUTE.exec(url.pathname);
  if (m === null) return undefined;
  let repoPath: string;
  try {
    repoPath = decodeURIComponent(m[1]);
  } catch {
    return undefined;
  }
  const endpoint = m[2];
  const service = endpoint === "info/refs" ? url.searchParams.get("service") : endpoint;
  return { repoPath, endpoint, service: service === "git-upload-pack" || service === "git-receive-pack" ? service : undefined };
}

function plain(res: ServerResponse, status: number, text: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(status, { "Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-cache" });
  res.end(text + "\n");
}

/** The request body, gunzipped when it says so; undefined for an encoding we do not read. */
function requestBody(req: IncomingMessage): AsyncIterable<Uint8Array> | undefined {
  const encoding = (req.headers["content-encoding"] ?? "identity").toLowerCase();
  if (encoding === "identity") return req as AsyncIterable<Uint8Array>;
  if (encoding !== "gzip" && encoding !== "x-gzip") return undefined;
  const it = (req as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]();
  const source = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const r = await it.next();
      if (r.done === true) controller.close();
      else controller.enqueue(new Uint8Array(r.value));
    },
    cancel() {
      req.destroy();
    },
  });
  const inflated: ReadableStream<Uint8Array> = source.pipeThrough(new DecompressionStream("gzip"));
  return (async function* (): AsyncGenerator<Uint8Array> {
    const reader = inflated.getReader();
    try {
      for (;;) {
        const r = await reader.read();
        if (r.done) return;
        yield r.value;
      }
    } finally {
      reader.releaseLock();
    }
  })();
}

/** Writes `chunks` to `res`, waiting for the socket to drain; stops when the client goes away. */
async function pipeTo(chunks: AsyncIterable<Uint8Array>, res: ServerResponse): Promise<void> {
  const it = chunks[Symbol.asyncIterator]();
  let closed = false;
  res.once("close", () => (closed = true));
  try {
    for (;;) {
      const r = await it.next();
      if (r.done === true) break;
      if (closed) break;
      if (!res.write(r.value)) {
        await new Promise<void>((resolve) => {
          const done = () => {
            res.off("drain", done);
            res.off("close", done);
            resolve();
          };
          res.once("drain", done);
          res.once("close", done);
        });
      }
    }
  } finally {
    if (closed) await it.return?.();
  }
  if (!closed) res.end();
}

function protocolVersion(req: IncomingMessage): 0 | 2 {
  const header = req.headers["git-protocol"];
  const text = Array.isArray(header) ? header.join(":") : (header ?? "");
  return text.split(":").includes("version=2") ? 2 : 0;
}

/**
 * A smart-HTTP handler: resolves `true` when it answered the request (successfully or with an
 * error status), `false` when the URL is not a Git request (so the caller can try other routes).
 * Never rejects: failures become an HTTP error status, or, once the answer has started, a Git
 * error message or a closed connection. Pushes update refs by compare-and-set (see
 * {@link receivePackV0}); a bad or oversized pack moves no ref.
 */
export function gitHttpHandler<V = unknown>(options: GitHttpHandlerOptions<V>): (req: IncomingMessage, res: ServerResponse) => Promise<boolean> {
  const allowPush = options.receivePack ?? true;
  return async (req, res) => {
    const route = parse(req);
    if (route === undefined) return false;
    try {
      const { repoPath, endpoint, service } = route;
      if (service === undefined) {
        plain(res, 403, "only the smart HTTP protocol is served");
        return true;
      }
      if (repoPath.split("/").some((s) => s === "." || s === "..")) {
        plain(res, 404, "repository not found");
        return true;
      }
      const isInfo = endpoint === "info/refs";
      if (req.method !== (isInfo ? "GET" : "POST") && !(isInfo && req.method === "HEAD")) {
        res.setHeader("Allow", isInfo ? "GET" : "POST");
        plain(res, 405, "method not allowed");
        return true;
      }
      if (service === "git-receive-pack" && !allowPush) {
        plain(res, 403, "pushing is not allowed");
        return true;
      }
      const repo = await options.resolve(repoPath, req);
      if (repo === undefined || repo.internals.isClosed) {
        plain(res, 404, "repository not found");
        return true;
      }
      const stores: ServerStores = repo.internals.backend;
      const algorithm: HashAlgorithm = repo.hashAlgorithm;
      const version = service === "git-upload-pack" ? protocolVersion(req) : 0;
      if (isInfo) {
        let body: Uint8Array;
        if (version === 2) body = encodeV2Capabilities(algorithm);
        else {
          const listing = await listRefs(stores, algorithm, { peel: true });
          const caps = service === "git-upload-pack" ? uploadPackCapabilities(algorithm, listing.headTarget) : receivePackCapabilities(algorithm);
          const shallow = service === "git-upload-pack" ? await ownShallow(stores) : [];
          body = encodeAdvertisement(listing, caps, algorithm, { service, shallow });
        }
        res.writeHead(200, { "Content-Type": `application/x-${service}-advertisement`, "Cache-Control": "no-cache", "Content-Length": String(body.length) });
        res.end(req.method === "HEAD" ? undefined : body);
        return true;
      }
      if ((req.headers["content-type"] ?? "") !== `application/x-${service}-request`) {
        plain(res, 415, `expected content type application/x-${service}-request`);
        return true;
      }
      const body = requestBody(req);
      if (body === undefined) {
        plain(res, 415, "unsupported content encoding");
        return true;
      }
      // The push side is loaded on first use: a read-only server never needs it.
      const answer =
        service === "git-receive-pack"
          ? (await import("./receive-pack.js")).receivePackV0(stores, algorithm, body, { maxPackBytes: options.maxPackBytes, denyNonFastForwards: options.denyNonFastForwards })
          : version === 2
            ? uploadPackV2(stores, algorithm, body)
            : uploadPackV0(stores, algorithm, body);
      res.writeHead(200, { "Content-Type": `application/x-${service}-result`, "Cache-Control": "no-cache" });
      await pipeTo(answer, res);
      return true;
    } catch {
      plain(res, 500, "internal error");
      return true;
    }
  };
}
