import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { createServer, connect, type Server, type Socket } from "node:net";
import { tempDir } from "../../backends/git/git-cli.js";
import { startGitDaemon, type GitDaemon } from "../helpers/git-daemon.js";
import { Remote } from "../../../src/sync/remote.js";
import { cloneRepo } from "../../../src/sync/operations.js";
import { makeServerRepo } from "./fixtures.js";

/** A TCP proxy to `port` that passes the first `limit` bytes from the server, then nothing. */
function stallingProxy(port: number, limit: number): Promise<{ port: number; stop: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const up = connect({ host: "127.0.0.1", port });
    sockets.add(client).add(up);
    let passed = 0;
    client.on("data", (b) => up.write(b));
    up.on("data", (b: Buffer) => {
      if (passed < limit) client.write(b.subarray(0, limit - passed));
      passed += b.length;
    });
    const kill = () => {
      client.destroy();
      up.destroy();
    };
    client.on("error", kill).on("close", kill);
    up.on("error", kill).on("close", kill);
  });
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () => {
      const addr = server.address();
      resolve({
        port: typeof addr === "object" && addr !== null ? addr.port : 0,
        stop: () =>
          new Promise<void>((r) => {
            for (const s of sockets) s.destroy();
            server.close(() => r());
          }),
      });
    }),
  );
}

describe("git:// transport: a server that stalls once connected", () => {
  const tmp = tempDir("irmin-stall-");
  let daemon: GitDaemon;
  beforeAll(async () => {
    makeServerRepo(tmp.dir, "stall.git");
    daemon = await startGitDaemon(tmp.dir);
  });
  afterAll(async () => {
    await daemon?.stop();
    tmp.remove();
  });

  for (const protocol of [0, 2] as const) {
    it(`v${protocol}: fails with IO "no data", not "cannot connect"`, async () => {
      // git daemon answers; the proxy passes part of the advertisement, then stalls.
      const proxy = await stallingProxy(daemon.port, 50);
      try {
        const remote = Remote.url(`git://127.0.0.1:${proxy.port}/stall.git`, { protocol, timeoutMs: 400 });
        const err = await cloneRepo(remote, {}).then(
          () => undefined,
          (e: unknown) => e as { code?: string; message: string },
        );
        expect(err?.code).toBe("IO");
        expect(err?.message).toMatch(/no data for 400 ms/);
        expect(err?.message).not.toMatch(/cannot connect/);
      } finally {
        await proxy.stop();
      }
    });
  }
});
