// SIGINT and SIGTERM: in-process through the run's signal, and as a process with real signals.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { Backend } from "../../src/backend/backend.js";
import { memoryBackend } from "../../src/backends/memory/memory-backend.js";
import { guardWrites, Interrupted, interruptExitCode, writesSettled } from "../../src/cli/interrupt.js";
import { run } from "../../src/cli/program.js";
import { git, runCli, spawnCli, tempDir, until, type CliResult } from "./harness.js";

const tmp = tempDir("irmin-cli-signals-");
afterAll(() => tmp.cleanup());
let count = 0;

async function fresh(): Promise<string> {
  const root = join(tmp.dir, `r${count++}`);
  expect((await runCli(["--root", root, "init"])).code).toBe(0);
  return root;
}

/** Runs the CLI in-process with a standard input that sends `first` and then waits forever (a user still typing). */
async function runTyping(argv: string[], first: string, signal: AbortSignal): Promise<CliResult> {
  let stdout = "";
  let stderr = "";
  const code = await run(argv, {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    stdin: (async function* () {
      yield new TextEncoder().encode(first);
      await new Promise(() => undefined);
    })(),
    env: {},
    signal,
  });
  return { code, stdout, stderr };
}

/** An HTTP server that accepts connections and never answers; `hits` counts the requests it got. */
async function silentServer(): Promise<{ url: string; hits: () => number; close: () => Promise<void> }> {
  let hits = 0;
  const server: Server = createServer(() => void hits++);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/repo.git`,
    hits: () => hits,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
}

const commits = (root: string) => git(["--git-dir", root, "for-each-ref", "--format=%(refname)"]).trim();

describe("an interrupted command (in-process)", () => {
  it("set - stops reading standard input: no commit, 128 + the signal's number, nothing printed", async () => {
    const root = await fresh();
    for (const [reason, expected] of [
      ["SIGINT", 130],
      ["SIGTERM", 143],
    ] as const) {
      const controller = new AbortController();
      const pending = runTyping(["--root", root, "set", "k", "-"], "half-typed", controller.signal);
      setTimeout(() => controller.abort(reason), 50);
      expect(await pending).toEqual({ code: expected, stdout: "", stderr: "" });
    }
    const queue = new AbortController();
    const pending = runTyping(["--root", root, "queue", "q", "push", "-"], "half", queue.signal);
    setTimeout(() => queue.abort("SIGINT"), 50);
    expect((await pending).code).toBe(130);
    expect(commits(root)).toBe("");
  });

  it("a signal already aborted: no commit, no ref update starts", async () => {
    const root = await fresh();
    const controller = new AbortController();
    controller.abort("SIGTERM");
    for (const args of [
      ["set", "k", "v"],
      ["counter", "c", "inc"],
    ]) {
      const r = await run(["--root", root, ...args], { stdout: { write: () => undefined }, stderr: { write: () => undefined }, env: {}, signal: controller.signal });
      expect(r, args.join(" ")).toBe(143);
    }
    expect(commits(root)).toBe("");
  });

  it("clone and fetch from a server that never answers stop on the signal; the clone leaves nothing behind", async () => {
    const server = await silentServer();
    try {
      const root = await fresh();
      await runCli(["--root", root, "set", "k", "v"]);
      const target = join(tmp.dir, "never-cloned");
      for (const argv of [
        ["clone", server.url, target],
        ["--root", root, "fetch", server.url],
      ]) {
        const controller = new AbortController();
        const before = server.hits();
        const pending = run(argv, { stdout: { write: () => undefined }, stderr: { write: () => undefined }, env: {}, signal: controller.signal });
        await until(() => server.hits() > before, "the request to reach the server");
        controller.abort("SIGINT");
        expect(await pending, argv.join(" ")).toBe(130);
      }
      expect(existsSync(target)).toBe(false);
      expect(commits(root)).toBe("refs/heads/main");
    } finally {
      await server.close();
    }
  });
});

describe("guardWrites", () => {
  it("refuses ref updates once the signal is aborted, and closing waits for the one under way", async () => {
    const inner = memoryBackend();
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let landed = false;
    const slow: Backend = {
      ...inner,
      refs: {
        ...inner.refs,
        set: async (name, hash) => {
          await held;
          await inner.refs.set(name, hash);
          landed = true;
        },
        list: (prefix) => inner.refs.list(prefix),
        get: (name) => inner.refs.get(name),
      },
      close: () => inner.close(),
    };
    const controller = new AbortController();
    const guarded = guardWrites(slow, controller.signal);
    // A ref names an object the store has.
    const hash = await inner.objects.put("blob", new TextEncoder().encode("x"));
    const underWay = guarded.refs.set("refs/heads/a", hash);
    controller.abort("SIGTERM");
    await expect(guarded.refs.testAndSet("refs/heads/b", undefined, hash)).rejects.toBeInstanceOf(Interrupted);
    await expect(guarded.refs.setSymbolic("HEAD", "refs/heads/b")).rejects.toBeInstanceOf(Interrupted);
    const closing = guarded.close();
    const settled = writesSettled();
    await new Promise((r) => setTimeout(r, 20));
    expect(landed).toBe(false);
    release();
    await Promise.all([underWay, closing, settled]);
    expect(landed).toBe(true);
    expect(interruptExitCode("SIGINT")).toBe(130);
    expect(interruptExitCode("SIGTERM")).toBe(143);
    expect(interruptExitCode(new Error("x"))).toBe(130);
  });
});

describe("an interrupted command (as a process)", () => {
  it("SIGINT and SIGTERM during set -: exit 130 and 143, no commit, nothing on stderr", async () => {
    const root = await fresh();
    for (const [signal, expected] of [
      ["SIGINT", 130],
      ["SIGTERM", 143],
    ] as const) {
      // More than a pipe holds: once it is written, the CLI is reading its standard input.
      const child = spawnCli(["--root", root, "set", "k", "-"], { stdin: "x".repeat(1 << 20), holdStdin: true });
      await child.stdinWritten;
      child.kill(signal);
      const r = await child.done;
      expect(r).toEqual({ code: expected, stdout: "", stderr: "" });
    }
    expect(commits(root)).toBe("");
  });

  it("SIGINT during a clone from a server that never answers", async () => {
    const server = await silentServer();
    try {
      const target = join(tmp.dir, "clone-interrupted");
      const child = spawnCli(["clone", server.url, target]);
      await until(() => server.hits() > 0, "the request to reach the server");
      child.kill("SIGINT");
      const r = await child.done;
      expect(r.code).toBe(130);
      expect(r.stderr.split("\n").length).toBeLessThanOrEqual(2);
      expect(existsSync(target)).toBe(false);
    } finally {
      await server.close();
    }
  });
});
