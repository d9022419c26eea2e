/**
 * Serves repositories with {@link gitHttpHandler} on 127.0.0.1 (a port the OS picks), for the
 * server-side tests: `url(name)` is the clone URL of the repository registered as `name`.
 */
import { createServer, type IncomingMessage } from "node:http";
import { gitBackend } from "../../../src/backends/git/git-backend.js";
import { Repo } from "../../../src/store/repo.js";
import { runGit } from "./fixture.js";
import { gitHttpHandler, type GitHttpHandlerOptions } from "../../../src/sync/server/http-handler.js";

export interface TestServer {
  readonly port: number;
  url(name: string): string;
  /** Every request seen, as `METHOD path?query`. */
  readonly requests: string[];
  /** Requests the handler declined (returned false for). */
  readonly declined: string[];
  stop(): Promise<void>;
}

/** Starts a server over `repos` (name → repository). */
export function serve(repos: Map<string, Repo<unknown>>, options: Omit<GitHttpHandlerOptions, "resolve"> & { resolve?: GitHttpHandlerOptions["resolve"] } = {}): Promise<TestServer> {
  const requests: string[] = [];
  const declined: string[] = [];
  const handler = gitHttpHandler({ resolve: (path: string, _req: IncomingMessage) => repos.get(path), ...options });
  const server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    void handler(req, res).then((handled) => {
      if (!handled) {
        declined.push(`${req.method} ${req.url}`);
        res.writeHead(404).end("not git");
      }
    });
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const addr = server.address();
      const port = typeof addr === "object" && addr !== null ? addr.port : 0;
      resolve({
        port,
        requests,
        declined,
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

/** A memory repository holding a copy of every object and ref of the git repository at `dir`. */
export async function memoryCopy(dir: string): Promise<Repo<unknown>> {
  const source = await gitBackend({ path: dir });
  const repo = await Repo.memory<unknown>();
  const target = repo.internals.backend;
  const batch = [];
  for await (const h of source.objects.hashes()) batch.push((await source.objects.get(h))!);
  await target.objects.putMany(batch);
  for (const r of await source.refs.list("refs/")) await target.refs.set(r.name, r.hash);
  const head = await source.refs.getSymbolic("HEAD");
  if (head !== undefined) await target.refs.setSymbolic("HEAD", head);
  await source.close();
  return repo;
}

/**
 * Adds `source` to `repos` twice, as `disk.git` (a bare mirror at `disk`, opened with the git
 * backend) and `mem.git` (a memory copy), and serves them.
 */
export async function serveCopies(source: string, disk: string, repos: Map<string, Repo<unknown>>, options: Parameters<typeof serve>[1] = {}): Promise<TestServer> {
  runGit(["clone", "-q", "--bare", "--mirror", source, disk]);
  repos.set("disk.git", await Repo.open<unknown>({ path: disk }));
  repos.set("mem.git", await memoryCopy(source));
  return serve(repos, options);
}
