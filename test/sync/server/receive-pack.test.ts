import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Backend } from "../../../src/backend/backend.js";
import { gitBackend } from "../../../src/backends/git/git-backend.js";
import { memoryBackend } from "../../../src/backends/memory/memory-backend.js";
import { Repo } from "../../../src/store/repo.js";
import { gitAsync, gitOut, makeHistory, runGit, tempDir } from "./fixture.js";
import { serve, type TestServer, serveCopies } from "./serve.js";

/** A work-tree clone of `url` with one new commit on `branch` (created from the clone's HEAD when new). */
async function commitIn(work: string, file: string, text: string, message: string): Promise<string> {
  writeFileSync(join(work, file), text);
  runGit(["add", file], { cwd: work });
  runGit(["commit", "-q", "-m", message], { cwd: work });
  return gitOut(["rev-parse", "HEAD"], { cwd: work });
}

describe("git push against gitHttpHandler", () => {
  const tmp = tempDir("irmin-push-");
  const source = join(tmp.dir, "source.git");
  const disk = join(tmp.dir, "disk.git");
  const repos = new Map<string, Repo<unknown>>();
  let server: TestServer;

  beforeAll(async () => {
    makeHistory(source, 12);
    server = await serveCopies(source, disk, repos, { maxPackBytes: 1 << 20 });
  });
  afterAll(async () => {
    await server.stop();
    for (const r of repos.values()) await r.close();
    tmp.remove();
  });

  for (const name of ["disk.git", "mem.git"]) {
    it(`${name}: new branch, fast-forward, rejected non-fast-forward, forced, delete; watches fire; fsck on both ends`, async () => {
      const repo = repos.get(name)!;
      const refs = repo.internals.backend.refs;
      const cwd = tempDir("irmin-push-client-");
      const seen: (string | undefined)[] = [];
      const stop = repo.branch("feature").watch(({ after }) => {
        seen.push(after?.hash);
      });
      try {
        const work = join(cwd.dir, "work");
        await gitAsync(["clone", "-q", server.url(name), work], { cwd: cwd.dir });
        const base = gitOut(["rev-parse", "HEAD"], { cwd: work });

        // A new branch.
        const feature = await commitIn(work, "feature.txt", "feature\n", "feature");
        await gitAsync(["push", "-q", "origin", "HEAD:refs/heads/feature"], { cwd: work });
        expect(await refs.get("refs/heads/feature")).toBe(feature);
        await stop();
        expect(seen).toEqual([feature]);

        // A fast-forward of main.
        const ff = await commitIn(work, "doc.txt", "rewritten\n", "fast-forward");
        await gitAsync(["push", "-q", "origin", "HEAD:main"], { cwd: work });
        expect(await refs.get("refs/heads/main")).toBe(ff);
        // The library reads what was pushed.
        expect(await repo.branch("main").get("doc.txt")).toBe("rewritten\n");

        // A non-fast-forward is refused (by the git client, which knows the remote head).
        runGit(["reset", "-q", "--hard", base], { cwd: work });
        const diverged = await commitIn(work, "other.txt", "other\n", "diverged");
        await expect(gitAsync(["push", "origin", "HEAD:main"], { cwd: work })).rejects.toThrow(/rejected|non-fast-forward/);
        expect(await refs.get("refs/heads/main")).toBe(ff);

        // Forced, it goes through.
        await gitAsync(["push", "-q", "--force", "origin", "HEAD:main"], { cwd: work });
        expect(await refs.get("refs/heads/main")).toBe(diverged);

        // Two refs at once, atomically.
        const tagged = await commitIn(work, "t.txt", "t\n", "atomic");
        await gitAsync(["push", "-q", "--atomic", "origin", "HEAD:main", "HEAD:refs/heads/atomic"], { cwd: work });
        expect(await refs.get("refs/heads/main")).toBe(tagged);
        expect(await refs.get("refs/heads/atomic")).toBe(tagged);

        // Deleting a branch.
        await gitAsync(["push", "-q", "origin", ":feature", ":atomic"], { cwd: work });
        expect(await refs.get("refs/heads/feature")).toBeUndefined();
        expect(await refs.get("refs/heads/atomic")).toBeUndefined();
        // Not the branch HEAD points to (git: "deletion of the current branch prohibited").
        await expect(gitAsync(["push", "origin", ":main"], { cwd: work })).rejects.toThrow(/deletion of the current branch prohibited/);
        expect(await refs.get("refs/heads/main")).toBe(tagged);

        // Both ends are valid repositories holding the same history.
        runGit(["fsck", "--strict"], { cwd: work });
        const check = join(cwd.dir, "check.git");
        await gitAsync(["clone", "-q", "--bare", server.url(name), check], { cwd: cwd.dir });
        runGit(["--git-dir", check, "fsck", "--strict"]);
        expect(gitOut(["--git-dir", check, "rev-parse", "main"])).toBe(tagged);
        if (name === "disk.git") runGit(["--git-dir", disk, "fsck", "--strict"]);
      } finally {
        await stop();
        cwd.remove();
      }
    });
  }

  it("a pack over maxPackBytes is refused and moves no ref", async () => {
    const repo = repos.get("mem.git")!;
    const cwd = tempDir("irmin-push-big-");
    try {
      const work = join(cwd.dir, "work");
      await gitAsync(["clone", "-q", server.url("mem.git"), work], { cwd: cwd.dir });
      const before = await repo.internals.backend.refs.list();
      // 2 MiB of incompressible bytes.
      writeFileSync(join(work, "big.bin"), randomBytes(2 << 20));
      runGit(["add", "big.bin"], { cwd: work });
      runGit(["commit", "-q", "-m", "big"], { cwd: work });
      await expect(gitAsync(["push", "origin", "HEAD:main", "HEAD:refs/heads/big"], { cwd: work })).rejects.toThrow();
      expect(await repo.internals.backend.refs.list()).toEqual(before);
      // The server still answers.
      await gitAsync(["ls-remote", server.url("mem.git")], { cwd: cwd.dir });
    } finally {
      cwd.remove();
    }
  });
});

/** A backend whose first pack write runs `during` first (to interleave a local write with a push). */
function interleaving(inner: Backend, during: () => Promise<void>): Backend {
  let armed = false;
  const objects = Object.create(inner.objects) as Backend["objects"];
  Object.assign(objects, {
    algorithm: inner.objects.algorithm,
    get: (h: string) => inner.objects.get(h),
    has: (h: string) => inner.objects.has(h),
    put: (t: Parameters<Backend["objects"]["put"]>[0], d: Uint8Array) => inner.objects.put(t, d),
    hashes: () => inner.objects.hashes(),
    putMany: async (list: Parameters<Backend["objects"]["putMany"]>[0]) => {
      if (armed) {
        armed = false;
        await during();
      }
      return inner.objects.putMany(list);
    },
  });
  // A store that keeps received packs as they are writes them through its pack sink instead.
  const openSink = inner.objects.openPackSink?.bind(inner.objects);
  if (openSink !== undefined) {
    objects.openPackSink = async () => {
      const sink = await openSink();
      return {
        write: (b: Uint8Array) => sink.write(b),
        read: (o: number, n: number) => sink.read(o, n),
        abort: () => sink.abort(),
        commit: async (entries: Parameters<typeof sink.commit>[0], checksum: Uint8Array) => {
          if (armed) {
            armed = false;
            await during();
          }
          return sink.commit(entries, checksum);
        },
      };
    };
  }
  return {
    name: inner.name,
    supports: inner.supports,
    objects,
    refs: inner.refs,
    close: () => inner.close(),
    arm: () => (armed = true),
  } as Backend & { arm: () => boolean };
}

describe("a push racing a local write", () => {
  for (const kind of ["memory", "git"] as const) {
    it(`${kind}: the local write wins, the push of that branch is refused, nothing is lost`, async () => {
      const tmp = tempDir("irmin-push-race-");
      let repo: Repo<string> | undefined;
      let server: TestServer | undefined;
      try {
        const inner = kind === "memory" ? memoryBackend() : await gitBackend({ path: join(tmp.dir, "served.git") });
        const backend = interleaving(inner, async () => {
          await repo!.branch("main").set("local/write", "kept", { message: "local write during a push" });
        }) as Backend & { arm: () => boolean };
        repo = await Repo.open<string>({ backend });
        await repo.branch("main").set("start", "1");
        server = await serve(new Map([["r.git", repo as Repo<unknown>]]));
        const work = join(tmp.dir, "work");
        await gitAsync(["clone", "-q", server.url("r.git"), work], { cwd: tmp.dir });
        await commitIn(work, "pushed", "2", "pushed");
        backend.arm();
        await expect(gitAsync(["push", "origin", "HEAD:main"], { cwd: work })).rejects.toThrow(/remote rejected|failed/);
        expect(await repo.branch("main").get("local/write")).toBe("kept");
        expect(await repo.branch("main").get("pushed")).toBeUndefined();
        // Pulled and pushed again, both changes are there.
        await gitAsync(["pull", "-q", "--no-rebase", "origin", "main"], { cwd: work });
        await gitAsync(["push", "-q", "origin", "HEAD:main"], { cwd: work });
        expect(await repo.branch("main").get("local/write")).toBe("kept");
        expect(await repo.branch("main").get("pushed")).toBe("2");
      } finally {
        await server?.stop();
        await repo?.close();
        tmp.remove();
      }
    });
  }
});
