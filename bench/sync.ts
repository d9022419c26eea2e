/**
 * Sync throughput (issue "sync"): a clone of a repository of 10,000 commits and of one with
 * 100,000 small files, served by the real `git daemon` on 127.0.0.1, by our client
 * (`cloneRepo` into a git-backend repository on disk) against `git clone --bare` of the same URL
 * in the same run. A third line serves the same repository with our smart-HTTP handler and clones
 * it with git, against git cloning it from `git daemon` (different transports: info only).
 *
 * Baselines: `git clone --bare -q git://…` (protocol v2, as our client speaks).
 */
import { Repo } from "../src/store/repo.js";
import { cloneRepo } from "../src/sync/operations.js";
import { Remote } from "../src/sync/remote.js";
// The servers of the sync tests (git daemon on 127.0.0.1; our smart-HTTP handler), shared here.
import { startGitDaemon } from "../test/sync/helpers/git-daemon.js";
import { serve } from "../test/sync/server/serve.js";
import { type BenchOptions, type BenchRow, envScale, git, gitInitBare, interleaved, measure, row, scaled, groupTempDirs } from "./harness.js";

const GROUP = "sync";

/** A fast-import stream: `count` commits on main, commit `i` changing `k/<i mod 100>` (a small text) and adding `log/<i mod 1000>/<i>`. */
function historyStream(count: number): Buffer {
  const parts: string[] = [];
  for (let i = 0; i < count; i++) {
    const message = `commit ${i}`;
    const value = `value ${i} of key ${i % 100}\n`.repeat(4);
    const log = `entry ${i}\n`;
    parts.push(
      `commit refs/heads/main\nmark :${i + 1}\ncommitter Bench <bench@example.com> ${1_700_000_000 + i} +0000\ndata ${Buffer.byteLength(message)}\n${message}\n` +
        (i > 0 ? `from :${i}\n` : "") +
        `M 100644 inline k/${i % 100}\ndata ${Buffer.byteLength(value)}\n${value}\n` +
        `M 100644 inline log/${i % 1000}/${i}\ndata ${Buffer.byteLength(log)}\n${log}\n\n`,
    );
  }
  return Buffer.from(parts.join(""));
}

/** A fast-import stream: one commit holding `count` small files `d<i mod 1000>/f<i>`. */
function filesStream(count: number): Buffer {
  const parts: string[] = [`commit refs/heads/main\ncommitter Bench <bench@example.com> 1700000000 +0000\ndata 5\nfiles\n`];
  for (let i = 0; i < count; i++) {
    const value = `file ${i}\n`;
    parts.push(`M 100644 inline d${i % 1000}/f${i}\ndata ${Buffer.byteLength(value)}\n${value}\n`);
  }
  parts.push("\n");
  return Buffer.from(parts.join(""));
}

/**
 * Runs the sync benchmarks and returns their rows. Sizes: `10000 × scale` commits (each touching
 * two small files, one of 100 keys edited over and over, so `git gc` deltifies) and `100000 ×
 * scale` files in one commit. Both served repositories are `git gc`-ed first.
 */
export async function runSyncBench(options: BenchOptions = {}): Promise<BenchRow[]> {
  const scale = options.scale ?? envScale();
  const runs = options.runs ?? 3;
  const log = options.log ?? (() => {});
  const nCommits = scaled(10_000, scale, 20);
  const nFiles = scaled(100_000, scale, 100);
  const { tmp, done } = groupTempDirs(options);
  const rows: BenchRow[] = [];
  const root = await tmp.make("sync-served");
  let daemon: Awaited<ReturnType<typeof startGitDaemon>> | undefined;
  try {
    log(`sync: building ${nCommits} commits and ${nFiles} files with fast-import, then git gc`);
    const served: [string, Buffer, string][] = [
      ["history.git", historyStream(nCommits), `clone of ${nCommits} commits`],
      ["files.git", filesStream(nFiles), `clone of one commit of ${nFiles} files`],
    ];
    for (const [name, stream] of served) {
      const dir = `${root}/${name}`;
      await gitInitBare(dir);
      await git(["--git-dir", dir, "fast-import", "--quiet"], stream);
      await git(["--git-dir", dir, "gc", "-q"]);
    }
    daemon = await startGitDaemon(root);
    for (const [name, , what] of served) {
      const url = daemon.url(name);
      const objects = Number((await git(["--git-dir", `${root}/${name}`, "rev-list", "--objects", "--all", "--count"])).toString().trim());
      log(`sync: ${what} (${objects} objects), git clone vs irmin-ts cloneRepo`);
      const gitClone = measure({
        setup: () => tmp.make("git-clone"),
        fn: (d: string) => git(["clone", "--bare", "-q", url, `${d}/c.git`]),
      });
      const ours = measure({
        setup: () => tmp.make("our-clone"),
        fn: async (d: string) => {
          const repo = await cloneRepo(Remote.url(url), { path: `${d}/c.git` });
          await repo.close();
        },
      });
      const [tGit, tOurs] = await interleaved(runs, [gitClone, ours]);
      rows.push(row({ group: GROUP, name: `${what}: cloneRepo (git backend) from git daemon`, baseline: "git clone --bare (git daemon)", unit: "objects", goal: 0.5, note: `${objects} objects; git ${tGit.toFixed(2)} s, ours ${tOurs.toFixed(2)} s` }, objects, tOurs, objects, tGit));
    }

    // Our server, cloned by git, against git daemon serving the same repository.
    {
      const [name, , what] = served[0];
      const repo = await Repo.open<unknown>({ path: `${root}/${name}` });
      const ourServer = await serve(new Map([[name, repo]]), { receivePack: false });
      try {
        const objects = Number((await git(["--git-dir", `${root}/${name}`, "rev-list", "--objects", "--all", "--count"])).toString().trim());
        log(`sync: ${what}, git clone from gitHttpHandler vs from git daemon`);
        const fromDaemon = measure({ setup: () => tmp.make("git-clone"), fn: (d: string) => git(["clone", "--bare", "-q", daemon!.url(name), `${d}/c.git`]) });
        const fromOurs = measure({ setup: () => tmp.make("git-clone-ours"), fn: (d: string) => git(["clone", "--bare", "-q", ourServer.url(name), `${d}/c.git`]) });
        const [tDaemon, tOurs] = await interleaved(runs, [fromDaemon, fromOurs]);
        rows.push(row({ group: GROUP, name: `${what}: git clone from our server (smart HTTP)`, baseline: "git clone from git daemon", unit: "objects", note: "server side: our objectsToSend + packStream (stored entries reused, as git pack-objects does)" }, objects, tOurs, objects, tDaemon));
      } finally {
        await ourServer.stop();
        await repo.close();
      }
    }
  } finally {
    await daemon?.stop();
    await done();
  }
  return rows;
}
