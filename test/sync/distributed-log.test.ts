/**
 * The distributed logging demo of the seeds: several nodes append to a log locally, and sync with
 * a central repository by pulling (merge) and pushing, racing each other. Every node ends with the
 * same log, with no entry lost or duplicated, and the central repository stays a valid Git repo.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { GIT_ENV, tempDir } from "../backends/git/git-cli.js";
import { isIrminError } from "../../src/core/errors.js";
import { Repo } from "../../src/store/repo.js";
import { Remote } from "../../src/sync/remote.js";
import { startGitDaemon } from "./helpers/git-daemon.js";
import { serve } from "./server/serve.js";

const tmp = tempDir("irmin-distributed-log-");
afterAll(() => tmp.remove());

const NODES = 3;
const ROUNDS = 4;
const PER_ROUND = 3;

/** Pull then push until the push lands (another node may push in between): bounded. */
async function sync(repo: Repo, remote: Remote): Promise<number> {
  const main = repo.branch("main");
  for (let attempt = 1; attempt <= 50; attempt++) {
    // The central repository starts empty: the first push creates its branch.
    const pulled = await main.pull(remote).catch((e: unknown) => {
      if (isIrminError(e, "NOT_FOUND")) return { ok: true as const };
      throw e;
    });
    if (!pulled.ok) throw new Error(`a log merge conflicted: ${JSON.stringify(pulled.conflicts)}`);
    const pushed = await main.push(remote);
    if (pushed.ok) return attempt;
  }
  throw new Error("push kept losing the race");
}

async function runNodes(remote: Remote, label: string): Promise<Repo[]> {
  const nodes: Repo[] = [];
  for (let n = 0; n < NODES; n++) {
    nodes.push(n % 2 === 0 ? await Repo.memory() : await Repo.open({ path: join(tmp.dir, `node-${label}-${n}`) }));
  }
  // Every node appends, then syncs, round after round, all nodes at once.
  await Promise.all(
    nodes.map(async (repo, n) => {
      const log = repo.branch("main").log("app/log");
      for (let round = 0; round < ROUNDS; round++) {
        for (let i = 0; i < PER_ROUND; i++) await log.append(`node${n} round${round} entry${i}`);
        await sync(repo, remote);
      }
    }),
  );
  // A last pull so that everyone has what the last pusher sent.
  for (const repo of nodes) expect((await repo.branch("main").pull(remote)).ok).toBe(true);
  return nodes;
}

function expectSameCompleteLog(logs: string[][]): void {
  const expected = new Set<string>();
  for (let n = 0; n < NODES; n++) for (let r = 0; r < ROUNDS; r++) for (let i = 0; i < PER_ROUND; i++) expected.add(`node${n} round${r} entry${i}`);
  for (const log of logs) {
    expect(log).toEqual(logs[0]);
    expect(log).toHaveLength(expected.size);
    expect(new Set(log)).toEqual(expected);
  }
  // Each node's own entries keep their order (newest first).
  for (let n = 0; n < NODES; n++) {
    const mine = logs[0].filter((e) => e.startsWith(`node${n} `));
    const inOrder = [...mine].sort((a, b) => (a < b ? 1 : -1));
    expect(mine).toEqual(inOrder);
  }
}

describe("distributed logging (the seeds' demo)", () => {
  it("nodes append, pull and push through git daemon; every node ends with the same complete log", async () => {
    const root = join(tmp.dir, "daemon");
    mkdirSync(root, { recursive: true });
    execFileSync("git", ["init", "--bare", "-q", "--initial-branch=main", join(root, "central.git")], { env: GIT_ENV });
    const daemon = await startGitDaemon(root);
    try {
      const remote = Remote.url(daemon.url("central.git"));
      const nodes = await runNodes(remote, "daemon");
      expectSameCompleteLog(await Promise.all(nodes.map(async (r) => (await r.branch("main").log("app/log").all()).map((e) => e.value))));
      execFileSync("git", ["--git-dir", join(root, "central.git"), "fsck", "--strict"], { env: GIT_ENV, stdio: "pipe" });
      for (const r of nodes) await r.close();
    } finally {
      await daemon.stop();
    }
  });

  it("the same through an irmin-ts node serving smart HTTP", async () => {
    const central = await Repo.open({ path: join(tmp.dir, "served.git") });
    const server = await serve(new Map([["central", central as Repo<unknown>]]));
    try {
      const remote = Remote.url(server.url("central"));
      const nodes = await runNodes(remote, "http");
      const logs = await Promise.all([...nodes, central].map(async (r) => (await r.branch("main").log("app/log").all()).map((e) => e.value)));
      expectSameCompleteLog(logs);
      execFileSync("git", ["--git-dir", join(tmp.dir, "served.git"), "fsck", "--strict"], { env: GIT_ENV, stdio: "pipe" });
      for (const r of nodes) await r.close();
    } finally {
      await server.stop();
      await central.close();
    }
  });
});
