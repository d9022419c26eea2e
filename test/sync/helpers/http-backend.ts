/**
 * A tiny node:http server on 127.0.0.1 that runs the real `git http-backend` as a CGI program for
 * every request, serving the repositories under `root` (GIT_PROJECT_ROOT, GIT_HTTP_EXPORT_ALL) for
 * fetch and push (push is allowed because REMOTE_USER is set). Passes the `Git-Protocol` header
 * through so protocol v2 works. Shared by the client and server sync tests.
 */
import { spawn } from "node:child_process";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { GIT_ENV } from "../../backends/git/git-cli.js";

/** A running bridge: `url(name)` is `http://127.0.0.1:<port>/<name>`; `stop()` closes it. */
export interface HttpBackend {
  readonly port: number;
  url(name: string): string;
  /** Every request seen, as `METHOD path?query` (to check what a client asked for). */
  readonly requests: string[];
  stop(): Promise<void>;
}

/** Options of {@link startHttpBackend}. */
export interface HttpBackendOptions {
  /** Appended to every `Content-Type` git sends (`; charset=utf-8`), as some hosts and proxies do. */
  readonly contentTypeSuffix?: string;
  /** Rewrites each chunk of the body git sends (a server that advertises what git would not store). */
  readonly rewriteBody?: (chunk: Buffer) => Buffer;
}

function handle(root: string, req: IncomingMessage, res: ServerResponse, requests: string[], options: HttpBackendOptions): void {
  const url = new URL(req.url ?? "/", "http://127.0.0.1");
  requests.push(`${req.method} ${url.pathname}${url.search}`);
  const env: Record<string, string> = {
    ...GIT_ENV,
    HOME: root,
    GIT_PROJECT_ROOT: root,
    GIT_HTTP_EXPORT_ALL: "1",
    REQUEST_METHOD: req.method ?? "GET",
    PATH_INFO: decodeURIComponent(url.pathname),
    QUERY_STRING: url.search.replace(/^\?/, ""),
    CONTENT_TYPE: req.headers["content-type"] ?? "",
    REMOTE_USER: "test",
    REMOTE_ADDR: "127.0.0.1",
    GATEWAY_INTERFACE: "CGI/1.1",
    SERVER_PROTOCOL: "HTTP/1.1",
  };
  const proto = req.headers["git-protocol"];
  if (typeof proto === "string") env.GIT_PROTOCOL = proto;
  const enc = req.headers["content-encoding"];
  if (typeof enc === "string") env.HTTP_CONTENT_ENCODING = enc;
  const child = spawn("git", ["http-backend"], { env, stdio: ["pipe", "pipe", "ignore"] });
  req.pipe(child.stdin);
  child.stdin.on("error", () => undefined);
  let head = Buffer.alloc(0);
  let headersDone = false;
  child.stdout.on("data", (chunk: Buffer) => {
    const rewrite = options.rewriteBody ?? ((b: Buffer) => b);
    if (headersDone) {
      res.write(rewrite(chunk));
      return;
    }
    head = Buffer.concat([head, chunk]);
    let sep = head.indexOf("\r\n\r\n");
    let sepLen = 4;
    if (sep < 0) {
      sep = head.indexOf("\n\n");
      sepLen = 2;
    }
    if (sep < 0) return;
    headersDone = true;
    let status = 200;
    for (const line of head.subarray(0, sep).toString("latin1").split(/\r?\n/)) {
      const i = line.indexOf(":");
      if (i < 0) continue;
      const name = line.slice(0, i).trim();
      const value = line.slice(i + 1).trim();
      if (name.toLowerCase() === "status") status = Number(value.split(" ")[0]);
      else if (name.toLowerCase() === "content-type") res.setHeader(name, value + (options.contentTypeSuffix ?? ""));
      else res.setHeader(name, value);
    }
    res.statusCode = status;
    res.write(rewrite(head.subarray(sep + sepLen)));
  });
  child.on("close", (code) => {
    if (!headersDone) {
      res.statusCode = 500;
      res.end(`http-backend exited with ${code}`);
    } else res.end();
  });
}

/** Starts the bridge over `root` on a port the OS picks. */
export function startHttpBackend(root: string, options: HttpBackendOptions = {}): Promise<HttpBackend> {
  const requests: string[] = [];
  const server = createServer((req, res) => handle(root, req, res, requests, options));
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const addr = server.address();
      const port = typeof addr === "object" && addr !== null ? addr.port : 0;
      resolve({
        port,
        requests,
        url: (name) => `http://127.0.0.1:${port}/${name}`,
        stop: () =>
          new Promise<void>((r) => {
            server.closeAllConnections();
            server.close(() => r());
          }),
      });
    });
  });
}
