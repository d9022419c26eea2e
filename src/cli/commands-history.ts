import { InvalidArgumentError, type Command } from "commander";
import { gitBackend } from "../backends/git/git-backend.js";
import { invalidArgument, isIrminError } from "../core/errors.js";
import { parsePath } from "../core/path.js";
import type { Commit } from "../store/commit.js";
import { commitOptions, headOf, resolveCommit, withCommitOptions, type Register } from "./context.js";
import { formatDate, shortHash, subject } from "./io.js";
import { changeJson, changeLine, diffItems } from "./items.js";

/** A commit as `--json` prints it. */
export function commitJson(commit: Commit): { hash: string; parents: readonly string[]; author: string; date: string; message: string } {
  return { hash: commit.hash, parents: commit.parents, author: commit.info.author, date: formatDate(commit.info.date), message: commit.info.message };
}

/** One line of `log`: short hash, date, first line of the message. */
function commitLine(commit: Commit): string {
  return `${shortHash(commit.hash)} ${formatDate(commit.info.date)} ${subject(commit.info.message)}`;
}

function nonNegativeInteger(text: string): number {
  if (!/^\d+$/.test(text)) throw new InvalidArgumentError("expected a non-negative integer.");
  return Number(text);
}

/** Registers `log`, `branches`, `fork`, `merge`, `reset` and `diff`: the repository and its history. */
export function registerHistoryCommands(program: Command, register: Register): void {
  register(
    program
      .command("log")
      .summary("the history: short hash, date, message")
      .description("the branch's history, newest first: short hash, date, message")
      .option("-n, --max-count <n>", "show at most N commits", nonNegativeInteger)
      .option("--path <path>", "only commits that changed PATH"),
    (ctx, _args, options) =>
      ctx.withRepo(async (_repo, branch) => {
        const limit = options.maxCount as number | undefined;
        const path = typeof options.path === "string" ? parsePath(options.path) : undefined;
        const commits = await branch.history({ limit, path });
        ctx.out.result(commits.map(commitJson), () => commits.map(commitLine));
      }),
  );

  register(program.command("branches").summary("list the branches (* marks --branch)").description("list the branches; * marks --branch"), (ctx) =>
    ctx.withRepo(async (repo, branch) => {
      const names = await repo.branches();
      const heads = await Promise.all(names.map(async (name) => (await repo.branch(name).head())?.hash ?? null));
      const rows = names.map((name, i) => ({ name, head: heads[i], current: name === branch.name }));
      ctx.out.result(rows, () => rows.map((r) => `${r.current ? "*" : " "} ${r.name}${r.head === null ? "" : ` ${shortHash(r.head)}`}`));
    }),
  );

  register(
    program
      .command("fork")
      .summary("create branch NAME at the head of --branch")
      .description("create branch NAME at the head of --branch; fails when NAME exists, even when another process creates it at the same time (unless --force)")
      .argument("<name>", "the new branch")
      .option("-f, --force", "overwrite NAME when it exists"),
    (ctx, [name], options) =>
      ctx.withRepo(async (repo, branch) => {
        const target = repo.branch(name);
        if (target.name === branch.name) throw invalidArgument(`cannot fork ${name} onto itself`);
        const head = await headOf(branch);
        const refs = repo.internals.backend.refs;
        // Not Branch.fork, which overwrites: without --force, the ref is created only if absent, in
        // one compare-and-set, so that of two processes creating NAME at once exactly one succeeds.
        if (options.force) await refs.set(target.ref, head.hash);
        else if (!(await refs.testAndSet(target.ref, undefined, head.hash))) throw invalidArgument(`branch ${name} already exists (use --force to overwrite it)`);
        ctx.out.result({ branch: name, from: branch.name, commit: head.hash }, () => [`${name} ${shortHash(head.hash)} forked from ${branch.name}`]);
      }),
  );

  register(
    withCommitOptions(program.command("merge").summary("merge a branch or commit into --branch").description("merge FROM (a branch or a commit) into --branch").argument("<from>", "a branch name or a commit id")),
    (ctx, [from], options) =>
      ctx.withRepo(async (repo, branch) => {
        const source = await resolveCommit(repo, from, branch);
        const label = (await repo.branches()).includes(from) ? from : shortHash(source.hash);
        const opts = commitOptions(options);
        const result = await branch.merge(source, { ...opts, message: opts.message ?? `merge ${label} into ${branch.name}` });
        if (!result.ok) {
          ctx.out.result({ ok: false, conflicts: result.conflicts }, () => result.conflicts.map((c) => `conflict ${c.path}: ${c.message}`));
          ctx.io.stderr.write(`irmin: merge of ${from} into ${branch.name} failed with ${result.conflicts.length} conflict(s); ${branch.name} is unchanged\n`);
          return 1;
        }
        const head = result.commit!;
        ctx.out.result({ ok: true, branch: branch.name, commit: commitJson(head) }, () => [`${branch.name} ${commitLine(head)}`]);
      }),
  );

  register(
    program.command("reset").summary("move --branch to a commit or branch").description("move --branch to COMMIT (a commit id or a branch name)").argument("<commit>", "a commit id or a branch name"),
    (ctx, [rev]) =>
      ctx.withRepo(async (repo, branch) => {
        const target = await resolveCommit(repo, rev, branch);
        const before = await branch.head();
        await branch.reset(target);
        ctx.out.result({ branch: branch.name, before: before?.hash ?? null, commit: target.hash }, () => [`${branch.name} ${commitLine(target)}`]);
      }),
  );

  register(
    program
      .command("diff")
      .summary("what changed from A to B")
      .description("what changed from A to B (commits or branch names), one line per value or data type, as `tree` shows them: + added, - removed, ~ updated")
      .argument("<a>", "a commit id or a branch name")
      .argument("<b>", "a commit id or a branch name"),
    (ctx, [a, b]) =>
      ctx.withRepo(async (repo, branch) => {
        const [ca, cb] = [await resolveCommit(repo, a, branch), await resolveCommit(repo, b, branch)];
        const changes = await diffItems(await ca.tree(), await cb.tree());
        ctx.out.result(changes.map(changeJson), () => changes.map(changeLine));
      }),
  );
}

/** Registers `init`: creates the repository (or reports the existing one). */
export function registerInitCommand(program: Command, register: Register): void {
  register(program.command("init").summary("create the repository at --root").description("create the repository (a bare Git repository) at --root"), async (ctx) => {
    const root = ctx.root;
    let created = false;
    let backend;
    try {
      backend = await gitBackend({ path: root, create: false });
    } catch (e) {
      if (!isIrminError(e, "NOT_FOUND")) throw e;
      backend = await gitBackend({ path: root, create: true });
      created = true;
    }
    const where = backend.gitDir;
    await backend.close();
    ctx.out.result({ path: where, created }, () => [created ? `Initialized empty irmin repository in ${where}` : `Existing irmin repository in ${where}`]);
  });
}
