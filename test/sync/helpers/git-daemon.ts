/**
 * Starts the real `git daemon` on 127.0.0.1 (a free port), serving every repository under `root`
 * (`--export-all`) for fetch and push (`--enable=receive-pack`). Shared by the client and server
 * sync tests.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createConnection, createServer } from "node:net";
import { GIT_ENV } from "../../backends/git/git-cli.js";

/** A running daemon: `url(name)` is `git://127.0.0.1:<port>/<name>`; `stop()` kills it. */
export interface GitDaemon {
  readonly port: number;
  url(name: string): string;
  stop(): Promise<void>;
}

/** A port that was free a moment ago (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const addr = s.address();
      const port = typeof addr === "object" && addr !== null ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = createConnection({ host: "127.0.0.1", port });
    c.once("connect", () => {
      c.destroy();
      resolve(true);
    });
    c.once("error", () => resolve(false));
  });
}

/** Starts `git daemon` over `root`; resolves once it accepts connections (at most ~10 s). */
export async function startGitDaemon(root: string): Promise<GitDaemon> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const child: ChildProcess = spawn(
      "git",
      ["daemon", "--reuseaddr", "--export-all", "--enable=receive-pack", "--informative-errors", `--base-path=${root}`, "--listen=127.0.0.1", `--port=${port}`, root],
      { env: { ...GIT_ENV, HOME: root }, stdio: ["ignore", "ignore", "pipe"] },
    );
    let exited = false;
    child.once("exit", () => {
      exited = true;
    });
    child.stderr?.resume();
    for (let i = 0; i < 200 && !exited; i++) {
      if (await canConnect(port)) {
        return {
          port,
          url: (name) => `git://127.0.0.1:${port}/${name}`,
          stop: () =>
            new Promise<void>((resolve) => {
              if (exited) return resolve();
              child.once("exit", () => resolve());
              child.kill("SIGTERM");
            }),
        };
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    if (!exited) child.kill("SIGKILL");
  }
  throw new Error("git daemon did not start");
}
