import { resolve } from "node:path";
import type { Command } from "commander";
import { gitBackend } from "../backends/git/git-backend.js";
import { invalidArgument, isIrminError, IrminError, notFound } from "../core/errors.js";
import { hexLength } from "../core/hash.js";
import type { Path } from "../core/path.js";
import { parseAuthor } from "../history/commits.js";
import { Repo } from "../store/repo.js";
import type { Branch, CommitOptions } from "../store/branch.js";
import type { Commit } from "../store/commit.js";
import { guardWrites } from "./interrupt.js";
import { displayPath, Output, type CliIo } from "./io.js";

/** The options every command accepts (before or after the command name). */
export interface GlobalOptions {
  /** `--root DIR`. */
  readonly root?: string;
  /** `--branch B` (default `main`). */
  readonly branch: string;
  /** `--json`. */
  readonly json: boolean;
}

/** What a command's action works with: the injected I/O, its output, and the global options. */
export class CommandContext {
  /** Where results go, text or JSON. */
  readonly out: Output;

  constructor(
    readonly io: CliIo,
    readonly globals: GlobalOptions,
  ) {
    this.out = new Output(io.stdout, globals.json);
  }

  /** The environment (injected or the process's). */
  get env(): Readonly<Record<string, string | undefined>> {
    return this.io.env ?? process.env;
  }

  /**
   * The repository directory, absolute: `--root`, else `$IRMIN_ROOT`, else `.irmin`; a relative
   * one is taken from the (injected) current directory.
   */
  get root(): string {
    const dir = this.globals.root ?? (this.env.IRMIN_ROOT || ".irmin");
    if (dir === "") throw invalidArgument("--root must not be empty");
    return resolve(this.io.cwd ?? process.cwd(), dir);
  }

  /**
   * Opens the existing repository at {@link root}, runs `fn` on it and the `--branch` handle, and
   * closes it whatever happens. NOT_FOUND (with a hint to run `irmin init`) when there is none:
   * only `init` creates a repository, so a mistyped `--root` is an error, not a new empty store.
   * Once the run's signal is aborted no ref update starts (see `guardWrites`).
   */
  async withRepo<T>(fn: (repo: Repo, branch: Branch) => Promise<T>): Promise<T> {
    const root = this.root;
    let backend;
    try {
      backend = await gitBackend({ path: root, create: false });
    } catch (e) {
      if (isIrminError(e, "NOT_FOUND")) throw notFound(`no repository at ${root} (run "irmin init" to create one)`);
      throw e;
    }
    const repo = await Repo.open({ backend: guardWrites(backend, this.io.signal) });
    try {
      return await fn(repo, repo.branch(this.globals.branch));
    } finally {
      await repo.close();
    }
  }
}

/**
 * The commit a command-line argument names, tried in this order: `HEAD` (the head of `current`,
 * the `--branch`), an existing branch, a full
 * commit id, an abbreviated commit id (at least 4 hex digits, unique among the repository's
 * commits, as git accepts them). NOT_FOUND when nothing matches, INVALID_ARGUMENT when an
 * abbreviation is ambiguous. Cost: one ref read; an abbreviation lists every object id once.
 */
export async function resolveCommit(repo: Repo, rev: string, current: Branch): Promise<Commit> {
  if (rev === "") throw invalidArgument("expected a branch name or a commit id, got an empty string");
  if (rev === "HEAD") return headOf(current);
  let branch: Branch | undefined;
  try {
    branch = repo.branch(rev);
  } catch (e) {
    if (!isIrminError(e, "INVALID_ARGUMENT")) throw e;
  }
  const head = branch === undefined ? undefined : await branch.head();
  if (head !== undefined) return head;
  const hex = rev.toLowerCase();
  if (!/^[0-9a-f]{4,}$/.test(hex) || hex.length > hexLength(repo.hashAlgorithm)) throw notFound(`no branch or commit named ${rev}`);
  if (hex.length === hexLength(repo.hashAlgorithm)) return commitOrNotFound(repo, hex, rev);
  const candidates: string[] = [];
  for await (const h of repo.internals.backend.objects.hashes()) if (h.startsWith(hex)) candidates.push(h);
  const commits: Commit[] = [];
  for (const h of candidates) {
    try {
      commits.push(await repo.commit(h));
    } catch (e) {
      // Blobs and trees share the id space: an abbreviation only has to be unique among commits.
      if (!isIrminError(e, "INVALID_ARGUMENT")) throw e;
    }
  }
  if (commits.length === 0) throw notFound(`no branch or commit named ${rev}`);
  if (commits.length > 1) throw invalidArgument(`commit id ${rev} is ambiguous (${commits.length} commits start with it)`);
  return commits[0];
}

async function commitOrNotFound(repo: Repo, hash: string, rev: string): Promise<Commit> {
  try {
    return await repo.commit(hash);
  } catch (e) {
    if (isIrminError(e, "INVALID_ARGUMENT")) throw invalidArgument(`${rev} is not a commit`);
    if (isIrminError(e, "NOT_FOUND")) throw notFound(`no branch or commit named ${rev}`);
    throw e;
  }
}

/** The head of `branch`; NOT_FOUND naming the branch when it has no commit yet. */
export async function headOf(branch: Branch): Promise<Commit> {
  const head = await branch.head();
  if (head === undefined) throw new IrminError("NOT_FOUND", `branch ${branch.name} has no commits yet`);
  return head;
}

/** How a command's action is attached: it receives the context and its own arguments and options. */
export type Register = (
  command: Command,
  action: (ctx: CommandContext, args: string[], options: Record<string, unknown>) => Promise<number | void>,
  how?: RegisterOptions,
) => Command;

/** Options of {@link Register}. */
export interface RegisterOptions {
  /**
   * The command runs until the run's signal is aborted and then ends normally, with its own exit
   * code (`watch`); any other command ends with 128 + the signal's number when the signal comes.
   */
  readonly untilInterrupted?: boolean;
}

/** `-m/--message` and `--author`, as the store takes them; INVALID_ARGUMENT for a malformed author, even when nothing would be committed. */
export function commitOptions(options: Record<string, unknown>): CommitOptions {
  const out: { message?: string; author?: string } = {};
  if (typeof options.message === "string") out.message = options.message;
  if (typeof options.author === "string") {
    parseAuthor(options.author);
    out.author = options.author;
  }
  return out;
}

/**
 * `options` with the message `<op> <path>` when it has none: the library's default, but with the
 * path as text output shows it (`displayPath`), so that a path with a line break or a quote does
 * not cut or blur the commit's subject.
 */
export function defaultMessage(options: CommitOptions, op: string, path: Path): CommitOptions {
  return { ...options, message: options.message ?? `${op} ${displayPath(path)}` };
}

/** Adds `-m/--message` and `--author` to a command that makes a commit. */
export function withCommitOptions(command: Command): Command {
  return command.option("-m, --message <message>", "commit message (default: the operation and path)").option("--author <author>", 'commit author, "Name <email>"');
}
