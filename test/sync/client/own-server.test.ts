import { describe, it, expect, afterAll, beforeAll } from "vitest";
import { createServer, type Server } from "node:http";
import { Repo } from "../../../src/store/repo.js";
import { Remote } from "../../../src/sync/remote.js";
import { cloneRepo, fetchRemote, pullBranch, pushBranch } from "../../../src/sync/operations.js";
import { gitHttpHandler } from "../../../src/sync/server/http-handler.js";

/** Our client against our own smart-HTTP server, both protocol versions, a memory repository behind it. */
describe("sync client against the irmin-ts smart HTTP server", () => {
  let server: Server;
  let base = "";
  let central: Repo;
  beforeAll(async () => {
    central = await Repo.memory();
    for (let i = 0; i < 5; i++) await central.branch("main").set(`k${i}`, `v${i}`);
    // A Repo<string> (the default Repo) is served as it is: no cast to Repo<unknown>.
    const handler = gitHttpHandler({ resolve: (p) => (p === "central.git" ? central : undefined) });
    server = createServer((req, res) => {
      void handler(req, res).then((handled) => {
        if (!handled) {
          res.statusCode = 404;
          res.end();
        }
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const addr = server.address();
    base = `http://127.0.0.1:${typeof addr === "object" && addr !== null ? addr.port : 0}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it.each([2, 0] as const)("protocol v%s: clone, push, fetch, pull; several nodes converge", async (protocol) => {
    const remote = Remote.url(`${base}/central.git`, { protocol });
    const nodes = [await cloneRepo<string>(remote, { backend: "memory" }), await cloneRepo<string>(remote, { backend: "memory" })];
    for (const [i, node] of nodes.entries()) {
      await node.branch("main").set(`node${i}-p${protocol}`, "x");
      // Retry pull + push until the push lands (another node may have pushed meanwhile).
      for (let attempt = 0; attempt < 5; attempt++) {
        const pulled = await pullBranch(node.branch("main"), remote);
        expect(pulled.ok).toBe(true);
        if ((await pushBranch(node.branch("main"), remote)).ok) break;
      }
    }
    for (const node of nodes) await pullBranch(node.branch("main"), remote);
    const head = (await central.branch("main").head())!.hash;
    for (const node of nodes) {
      expect((await node.branch("main").head())?.hash).toBe(head);
      expect(await node.branch("main").get(`node0-p${protocol}`)).toBe("x");
      expect(await node.branch("main").get(`node1-p${protocol}`)).toBe("x");
    }
    const fresh = await Repo.memory();
    expect((await fetchRemote(fresh, remote, "main", { depth: 1 }))?.hash).toBe(head);
    await expect(fetchRemote(fresh, Remote.url(`${base}/missing.git`, { protocol }), "main")).rejects.toMatchObject({ code: "NOT_FOUND" });
  });
});
