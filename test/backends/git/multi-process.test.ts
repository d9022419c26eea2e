import { afterEach, describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { gitBackend } from "../../../src/backends/git/git-backend.js";
import { Repo } from "../../../src/index.js";
import { GIT_ENV, tempDir } from "./git-cli.js";

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const ROOT = resolve(import.meta.dirname, "../../..");
const COUNTER = "refs/counters/n";

/** Runs a command; resolves with stdout, rejects with stderr on a non-zero exit. */
function run(command: string, args: string[], env: Record<string, string> = {}): Promise<string> {
  return new Promise((ok, fail) => {
    const child = spawn(command, args, { cwd: ROOT, env: { ...process.env, ...GIT_ENV, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.on("error", fail);
    child.on("close", (code) => (code === 0 ? ok(out) : fail(new Error(`${command} exited ${code}: ${err}`))));
  });
}

// Each worker process increments the counter N times: read the ref, read the blob it points
// to, write a blob with the next number, compare-and-set the ref; retry on a lost race.
const WORKER = `
import { gitBackend } from ${JSON.stringify(join(ROOT, "src/backends/git/git-backend.ts"))};
const [path, rounds] = process.argv.slice(2);
const b = await gitBackend({ path, create: false, fsync: false, lockTimeoutMs: 20000 });
const ref = ${JSON.stringify(COUNTER)};
let wins = 0;
for (let i = 0; i < Number(rounds); i++) {
  for (let attempt = 0; ; attempt++) {
    if (attempt > 5000) throw new Error("no progress");
    const h = await b.refs.get(ref);
    const n = Number(new TextDecoder().decode((await b.objects.get(h)).data));
    const next = await b.objects.put("blob", new TextEncoder().encode(String(n + 1)));
    if (await b.refs.testAndSet(ref, h, next)) { wins++; break; }
  }
}
await b.close();
console.log(wins);
`;

// The same with git's plumbing: a bounded loop of `git update-ref <ref> <new> <old>`.
const GIT_LOOP = `
set -u
wins=0
for i in $(seq "$2"); do
  old=$(git --git-dir "$1" rev-parse -q --verify ${COUNTER}) || continue
  n=$(git --git-dir "$1" cat-file blob "$old") || continue
  new=$(printf %s $((n + 1)) | git --git-dir "$1" hash-object -w --stdin)
  if git --git-dir "$1" -c core.filesRefLockTimeout=2000 update-ref ${COUNTER} "$new" "$old" 2>/dev/null; then wins=$((wins + 1)); fi
done
echo $wins
`;

describe("several processes and git update-ref on one repository", () => {
  it("no compare-and-set is lost: the counter equals the number of successful updates", async () => {
    const t = tempDir("irmin-git-mp-");
    cleanups.push(t.remove);
    const repo = join(t.dir, "repo.git");
    const b = await gitBackend({ path: repo, fsync: false });
    await b.refs.set(COUNTER, await b.objects.put("blob", new TextEncoder().encode("0")));
    await b.close();
    writeFileSync(join(t.dir, "worker.mts"), WORKER);
    writeFileSync(join(t.dir, "loop.sh"), GIT_LOOP);

    const ROUNDS = 25;
    const results = await Promise.all([
      ...[1, 2, 3].map(() => run(process.execPath, ["--import", "tsx", join(t.dir, "worker.mts"), repo, String(ROUNDS)])),
      run("bash", [join(t.dir, "loop.sh"), repo, String(ROUNDS)]),
      run("bash", [join(t.dir, "loop.sh"), repo, String(ROUNDS)]),
    ]);
    const wins = results.map((r) => Number(r.trim()));
    expect(wins.slice(0, 3)).toEqual([ROUNDS, ROUNDS, ROUNDS]);
    const total = wins.reduce((a, c) => a + c, 0);

    const again = await gitBackend({ path: repo, create: false });
    try {
      const final = await again.objects.get((await again.refs.get(COUNTER))!);
      expect(Number(new TextDecoder().decode(final!.data))).toBe(total);
    } finally {
      await again.close();
    }
    // Every lock was released.
    const { readdirSync } = await import("node:fs");
    expect(readdirSync(join(repo, "refs/counters"))).toEqual(["n"]);
  });
});

// Each worker sets its own keys on one branch, all at once: every set is a small pack, and the
// packs are rolled up while the other process reads them (before the fix, a rescan whose listing
// predated this process's own roll-up dropped it, and a commit read failed with NOT_FOUND).
const STORE_WORKER = `
import { Repo } from ${JSON.stringify(join(ROOT, "src/index.ts"))};
const [path, tag, n] = process.argv.slice(2);
const repo = await Repo.open({ path });
const main = repo.branch("main");
const results = await Promise.allSettled(Array.from({ length: Number(n) }, (_, i) => main.set(tag + "/" + i, "v" + i)));
await repo.close();
const failed = results.filter((r) => r.status === "rejected");
if (failed.length > 0) { console.error(failed.length + " failed: " + failed[0].reason); process.exit(1); }
console.log("ok");
`;

describe("several processes writing one branch through the store", () => {
  it("every concurrent set lands while the packs are rolled up in both processes", async () => {
    const t = tempDir("irmin-git-mp-");
    cleanups.push(t.remove);
    const path = join(t.dir, "repo.git");
    const repo = await Repo.open({ path });
    await repo.close();
    writeFileSync(join(t.dir, "store-worker.mts"), STORE_WORKER);
    const N = 40;
    await Promise.all(["one", "two"].map((tag) => run(process.execPath, ["--import", "tsx", join(t.dir, "store-worker.mts"), path, tag, String(N)])));
    const files = (await run("git", ["--git-dir", path, "ls-tree", "-r", "--name-only", "main"])).trim().split("\n");
    expect(files.length).toBe(2 * N);
    await run("git", ["--git-dir", path, "fsck", "--strict"]);
  });
});
