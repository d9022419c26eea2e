import { existsSync, rmSync } from "node:fs";
import { resolve } from "node:path";
import { InvalidArgumentError, type Command } from "commander";
import cliProgress from "cli-progress";
import { notFound } from "../core/errors.js";
import type { Repo } from "../store/repo.js";
import { cloneRepo, fetchRemote, pullBranch, pushBranch, trackingRef } from "../sync/operations.js";
import type { SyncProgress } from "../sync/progress.js";
import { Remote } from "../sync/remote.js";
import type { CommandContext, Register } from "./context.js";
import { untilAborted } from "./interrupt.js";
import type { TextSink } from "./io.js";
import { shortHash } from "./io.js";

/** A remote named on the command line: a URL (`scheme://...`) or a directory (relative to the current one). */
export function remoteFromArgument(text: string, cwd: string): Remote {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) return Remote.url(text);
  return Remote.path(resolve(cwd, text));
}

/** The default directory of a clone: the last segment of the source without `.git`. */
function cloneDirName(source: string): string {
  const last = source.replace(/[/\\]+$/, "").split(/[/\\]/).pop() ?? "";
  return last.replace(/\.git$/, "") || "repository";
}

const PHASE_LABEL: Record<SyncProgress["phase"], string> = {
  counting: "Counting objects",
  compressing: "Compressing objects",
  receiving: "Receiving objects",
  resolving: "Resolving deltas",
  writing: "Writing objects",
  remote: "remote",
};

/**
 * A progress callback drawing a bar on stderr when it is a terminal (nothing otherwise, so logs
 * and pipes stay clean), and the function that ends the bar.
 */
function progressBar(stderr: TextSink): { onProgress?: (p: SyncProgress) => void; stop: () => void } {
  const stream = stderr as TextSink & { isTTY?: boolean };
  if (stream.isTTY !== true) return { stop: () => undefined };
  let bar: cliProgress.SingleBar | undefined;
  let phase: string | undefined;
  const stop = (): void => {
    bar?.stop();
    bar = undefined;
  };
  const onProgress = (p: SyncProgress): void => {
    if (p.phase === "remote") return;
    if (p.phase !== phase || bar === undefined) {
      stop();
      phase = p.phase;
      const format = p.total === undefined ? `${PHASE_LABEL[p.phase]}: {value}` : `${PHASE_LABEL[p.phase]} [{bar}] {percentage}% ({value}/{total})`;
      bar = new cliProgress.SingleBar({ format, stream: stream as unknown as NodeJS.WritableStream, hideCursor: true, clearOnComplete: false }, cliProgress.Presets.shades_classic);
      bar.start(p.total ?? 0, p.done);
    } else {
      if (p.total !== undefined) bar.setTotal(p.total);
      bar.update(p.done);
    }
  };
  return { onProgress, stop };
}

/**
 * Runs the sync operation `f` with a progress bar. With a network remote, the wait ends as soon as
 * the run's signal is aborted (a server that never answers must not hold Ctrl-C): the operation is
 * given up, and the local ref updates it might still attempt are refused (see `guardWrites`).
 * Not with a repository directory: the operation is local and short, and what it writes in that
 * other repository is not guarded, so it runs to its end.
 */
async function withProgress<T>(ctx: CommandContext, remote: Remote, f: (onProgress?: (p: SyncProgress) => void) => Promise<T>): Promise<T> {
  const { onProgress, stop } = progressBar(ctx.io.stderr);
  const network = remote.kind === "http" || remote.kind === "git";
  try {
    return await untilAborted(network ? ctx.io.signal : undefined, f(onProgress));
  } finally {
    stop();
  }
}

/**
 * The remote-tracking ref that `fetchRemote` set for `branch` of `remote` (to `hash`), read back
 * from the repository rather than assumed; `why` says why none is there.
 */
async function trackingRefSet(repo: Repo, remote: Remote, branch: string, hash: string): Promise<{ ref?: string; why?: string }> {
  const tracking = trackingRef(remote, branch);
  if (!("ref" in tracking)) return tracking;
  if ((await repo.internals.backend.refs.get(tracking.ref)) !== hash) return { why: `${tracking.ref} was not set` };
  return tracking;
}

function strategyOf(text: string): "merge" | "set" {
  if (text !== "merge" && text !== "set") throw new InvalidArgumentError("expected merge or set.");
  return text;
}

function positiveInteger(text: string): number {
  if (!/^[1-9]\d*$/.test(text)) throw new InvalidArgumentError("expected a positive integer.");
  return Number(text);
}

/**
 * Registers `clone`, `fetch`, `pull` and `push`: sync with a Git remote (`http(s)://`, `git://`,
 * or a repository directory). `--branch` (global) is the local branch, and by default the remote
 * branch of the same name (`--remote-branch` names another).
 */
export function registerSyncCommands(program: Command, register: Register): void {
  register(
    program
      .command("clone")
      .summary("copy a remote repository (every branch) into a new one")
      .description(
        "clone SOURCE (a URL or a directory) into DIR (default: --root if given, else the last segment of SOURCE); " +
          "a clone that fails or is interrupted removes the directory it created",
      )
      .argument("<source>", "http(s)://, git:// URL or a repository directory")
      .argument("[dir]", "where to create the repository")
      .option("--depth <n>", "fetch only the newest N commits of each branch", positiveInteger),
    async (ctx, [source, dir], options) => {
      const cwd = ctx.io.cwd ?? process.cwd();
      const target = dir !== "" ? resolve(cwd, dir) : ctx.globals.root !== undefined ? ctx.root : resolve(cwd, cloneDirName(source));
      const remote = remoteFromArgument(source, cwd);
      const created = !existsSync(target);
      let repo;
      try {
        repo = await withProgress(ctx, remote, (onProgress) => cloneRepo(remote, { path: target, depth: options.depth as number | undefined, onProgress }));
      } catch (e) {
        // As git does: a clone that failed or was interrupted leaves no half-made repository behind.
        if (created) rmSync(target, { recursive: true, force: true });
        throw e;
      }
      try {
        const branches = await repo.branches();
        ctx.out.result({ path: target, branches }, () => [`cloned ${source} into ${target} (${branches.length} branch${branches.length === 1 ? "" : "es"})`]);
      } finally {
        await repo.close();
      }
    },
  );

  register(
    program
      .command("fetch")
      .summary("download a remote branch (no local branch moves)")
      .description(
        "fetch BRANCH (default --branch) of REMOTE: its objects are stored and no branch moves; the remote-tracking ref " +
          "refs/remotes/<remote>/<branch> is set (<remote>: the last segment of REMOTE without .git) when that is a valid ref name, " +
          'else none is, and the output says so ("no remote-tracking ref")',
      )
      .argument("<remote>", "a URL or a repository directory")
      .argument("[branch]", "the remote branch")
      .option("--depth <n>", "fetch only the newest N commits", positiveInteger),
    (ctx, [remoteArg, branchArg], options) =>
      ctx.withRepo(async (repo, branch) => {
        const remote = remoteFromArgument(remoteArg, ctx.io.cwd ?? process.cwd());
        const name = branchArg !== "" ? branchArg : branch.name;
        const head = await withProgress(ctx, remote, (onProgress) => fetchRemote(repo, remote, name, { depth: options.depth as number | undefined, onProgress }));
        if (head === undefined) throw notFound(`${remoteArg} has no branch ${name}`);
        const tracking = await trackingRefSet(repo, remote, name, head.hash);
        ctx.out.result({ branch: name, commit: head.hash, tracking: tracking.ref ?? null }, () => [
          tracking.ref !== undefined ? `${shortHash(head.hash)} ${tracking.ref.slice("refs/remotes/".length)}` : `${shortHash(head.hash)} ${name} (no remote-tracking ref: ${tracking.why})`,
        ]);
      }),
  );

  register(
    program
      .command("pull")
      .summary("fetch a remote branch and merge it into --branch")
      .description("fetch the remote branch (default: --branch's name) and merge it into --branch (--strategy set: move --branch to it)")
      .argument("<remote>", "a URL or a repository directory")
      .option("--remote-branch <name>", "the remote branch (default: --branch's name)")
      .option("--strategy <s>", "merge (default) or set", strategyOf, "merge"),
    (ctx, [remoteArg], options) =>
      ctx.withRepo(async (_repo, branch) => {
        const remote = remoteFromArgument(remoteArg, ctx.io.cwd ?? process.cwd());
        const remoteBranch = typeof options.remoteBranch === "string" ? options.remoteBranch : undefined;
        const result = await withProgress(ctx, remote, (onProgress) => pullBranch(branch, remote, { branch: remoteBranch, strategy: options.strategy as "merge" | "set", onProgress }));
        if (!result.ok) {
          ctx.out.result({ ok: false, conflicts: result.conflicts }, () => result.conflicts.map((c) => `conflict ${c.path}: ${c.message}`));
          ctx.io.stderr.write(`irmin: pull into ${branch.name} failed with ${result.conflicts.length} conflict(s); ${branch.name} is unchanged\n`);
          return 1;
        }
        const hash = result.commit?.hash;
        ctx.out.result({ ok: true, branch: branch.name, commit: hash ?? null }, () => [`${branch.name} ${hash === undefined ? "(empty)" : shortHash(hash)}`]);
      }),
  );

  register(
    program
      .command("push")
      .summary("send --branch to a remote branch")
      .description("push --branch to the remote branch of the same name (or --remote-branch); refused when the remote has commits --branch lacks, unless --force")
      .argument("<remote>", "a URL or a repository directory")
      .option("--remote-branch <name>", "the remote branch (default: --branch's name)")
      .option("-f, --force", "overwrite the remote branch even when it is not an ancestor"),
    (ctx, [remoteArg], options) =>
      ctx.withRepo(async (_repo, branch) => {
        const remote = remoteFromArgument(remoteArg, ctx.io.cwd ?? process.cwd());
        const remoteBranch = typeof options.remoteBranch === "string" ? options.remoteBranch : branch.name;
        const result = await withProgress(ctx, remote, (onProgress) => pushBranch(branch, remote, { branch: remoteBranch, force: options.force === true, onProgress }));
        if (!result.ok) {
          ctx.out.result({ ok: false, reason: result.reason }, () => []);
          ctx.io.stderr.write(`irmin: push of ${branch.name} to ${remoteArg} ${remoteBranch} rejected: ${result.reason}\n`);
          return 1;
        }
        ctx.out.result({ ok: true, branch: remoteBranch }, () => [`pushed ${branch.name} to ${remote.name}/${remoteBranch}`]);
      }),
  );
}
