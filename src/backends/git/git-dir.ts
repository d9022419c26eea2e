import { link, mkdir, readdir, readFile, stat, unlink, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { uniqueSuffix } from "./temp-names.js";
import { IrminError, invalidArgument, notFound } from "../../core/errors.js";
import type { HashAlgorithm } from "../../core/hash.js";
import { type GitConfig, parseGitConfig } from "./git-config.js";
import { errnoCode, ioError } from "./io-error.js";

/** An opened Git directory: where it is, its object format and its config. */
export interface GitDirectory {
  /** Absolute path of the Git directory (the bare repository, or the `.git` of a work tree). */
  readonly gitDir: string;
  readonly algorithm: HashAlgorithm;
  readonly config: GitConfig;
  /** Whether this call created the repository. */
  readonly created: boolean;
}

/** Options of {@link openGitDirectory}. */
export interface OpenGitDirectoryOptions {
  /** A bare repository, a work tree holding `.git` (a directory or a `gitdir:` file), or a `gitdir:` file. */
  readonly path: string;
  /** Expected object format; `undefined` accepts what the repository uses (sha1 for a new one). */
  readonly hash?: HashAlgorithm;
  /** Create a bare repository when `path` is missing or an empty directory. */
  readonly create: boolean;
}

// Extensions whose only effect is on things this library does not do (or that mean nothing):
// a repository using them is read and written correctly without further support.
const HARMLESS_EXTENSIONS = new Set(["noop", "worktreeconfig"]);
// What `git init --bare` leaves: a directory holding only these is an unfinished init we may complete.
const LAYOUT_NAMES = new Set(["HEAD", "config", "objects", "refs", "description", "hooks", "info", "branches", "packed-refs", "logs"]);
// The temporary files `createWhole` writes beside `config` and `HEAD` (see `tempNameOf`): a
// concurrent creator's, or a crashed one's, are part of an unfinished init too.
const INIT_TEMP_NAME = /^(?:config|HEAD)\.tmp-[0-9]+-[0-9a-f]+$/;

/**
 * Finds (or creates) the Git directory at `options.path` and checks that this library can use it.
 *
 * - missing or empty directory: creates a bare repository when `create` (else `NOT_FOUND`);
 *   creation is safe against a concurrent creator (files appear whole, first one wins), and a
 *   directory holding only part of what a creation writes (this library's or `git init --bare`'s,
 *   its temporary files included) is completed;
 * - `INVALID_ARGUMENT`: `path` exists but is not a repository, or `hash` differs from the
 *   repository's object format;
 * - `UNSUPPORTED`: a `repositoryformatversion` above 1, an extension this library does not
 *   handle (reftable, partial clone, ...), or a linked work tree (`commondir`).
 */
export async function openGitDirectory(options: OpenGitDirectoryOptions): Promise<GitDirectory> {
  if (typeof options.path !== "string" || options.path.length === 0) throw invalidArgument("path must be a non-empty string");
  if (options.hash !== undefined && options.hash !== "sha1" && options.hash !== "sha256") {
    throw invalidArgument(`unknown hash ${JSON.stringify(options.hash)}`);
  }
  const path = resolve(options.path);
  let gitDir = await locate(path);
  let created = false;
  if (gitDir === undefined) {
    if (!(await isEmptyOrUnfinished(path))) throw invalidArgument(`${path} exists and is not a Git repository`);
    if (!options.create) throw notFound(`no Git repository at ${path}`);
    await initBare(path, options.hash ?? "sha1");
    gitDir = path;
    created = true;
  }
  if (await exists(join(gitDir, "commondir"))) {
    throw new IrminError("UNSUPPORTED", `${gitDir} is a linked work tree (commondir); open the main repository instead`);
  }
  let configText = "";
  try {
    configText = await readFile(join(gitDir, "config"), "utf8");
  } catch (e) {
    if (errnoCode(e) !== "ENOENT") throw ioError(e, `reading ${join(gitDir, "config")}`);
  }
  const config = parseGitConfig(configText);
  const algorithm = repositoryAlgorithm(config, gitDir);
  if (options.hash !== undefined && options.hash !== algorithm) {
    throw invalidArgument(`${gitDir} uses ${algorithm} object ids, not ${options.hash}`);
  }
  return { gitDir, algorithm, config, created };
}

/** Checks the repository format (as git's `verify_repository_format` does) and returns its object format. */
function repositoryAlgorithm(config: GitConfig, gitDir: string): HashAlgorithm {
  const versionText = config.get("core", "repositoryformatversion") ?? "0";
  if (!/^[0-9]+$/.test(versionText)) throw new IrminError("CORRUPT", `${gitDir}: bad core.repositoryformatversion ${versionText}`);
  const version = Number(versionText);
  if (version > 1) throw new IrminError("UNSUPPORTED", `${gitDir}: repositoryformatversion ${version} is not supported`);
  let algorithm: HashAlgorithm = "sha1";
  for (const e of config.section("extensions")) {
    if (e.subsection !== undefined) continue;
    if (e.key === "objectformat") {
      // Git refuses v1-only extensions in a version 0 repository rather than silently ignoring them.
      if (version === 0) throw new IrminError("UNSUPPORTED", `${gitDir}: extensions.objectformat needs repositoryformatversion 1`);
      const v = (e.value ?? "").toLowerCase();
      if (v !== "sha1" && v !== "sha256") throw new IrminError("UNSUPPORTED", `${gitDir}: object format ${v} is not supported`);
      algorithm = v;
    } else if (version === 1 && !HARMLESS_EXTENSIONS.has(e.key)) {
      throw new IrminError("UNSUPPORTED", `${gitDir}: extension ${e.key} is not supported`);
    }
  }
  return algorithm;
}

/** The Git directory that `path` designates, or `undefined` when there is none (yet). */
async function locate(path: string): Promise<string | undefined> {
  let info;
  try {
    info = await stat(path);
  } catch (e) {
    if (errnoCode(e) === "ENOENT") return undefined;
    throw ioError(e, `opening ${path}`);
  }
  if (info.isFile()) return readGitFile(path);
  if (!info.isDirectory()) throw invalidArgument(`${path} is neither a directory nor a gitdir file`);
  const dotGit = join(path, ".git");
  try {
    const s = await stat(dotGit);
    if (s.isDirectory()) {
      if (await isGitDir(dotGit)) return dotGit;
      throw invalidArgument(`${dotGit} is not a Git directory`);
    }
    if (s.isFile()) return readGitFile(dotGit);
  } catch (e) {
    if (errnoCode(e) !== "ENOENT") throw ioError(e, `opening ${dotGit}`);
  }
  return (await isGitDir(path)) ? path : undefined;
}

/** Follows a `.git` file (`gitdir: <path>`, relative to the file's directory). */
async function readGitFile(file: string): Promise<string> {
  const text = await readFile(file, "utf8").catch((e: unknown) => {
    throw ioError(e, `reading ${file}`);
  });
  const m = /^gitdir: *(.+?)\s*$/.exec(text);
  if (m === null) throw invalidArgument(`${file} is not a gitdir file`);
  const target = resolve(dirname(file), m[1]);
  if (!(await isGitDir(target))) throw invalidArgument(`${file} points at ${target}, which is not a Git directory`);
  return target;
}

/** Git's own test: a `HEAD` file, an `objects` directory and a `refs` directory. */
async function isGitDir(dir: string): Promise<boolean> {
  const [head, objects, refs] = await Promise.all(
    ["HEAD", "objects", "refs"].map((n) => stat(join(dir, n)).catch(() => undefined)),
  );
  return head !== undefined && head.isFile() && objects !== undefined && objects.isDirectory() && refs !== undefined && refs.isDirectory();
}

async function isEmptyOrUnfinished(path: string): Promise<boolean> {
  try {
    const names = await readdir(path);
    return names.every((n) => LAYOUT_NAMES.has(n) || INIT_TEMP_NAME.test(n));
  } catch (e) {
    if (errnoCode(e) === "ENOENT") return true;
    if (errnoCode(e) === "ENOTDIR") return false;
    throw ioError(e, `reading ${path}`);
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** The config `git init --bare [--object-format=...]` writes. */
function initialConfig(algorithm: HashAlgorithm): string {
  const core = `[core]\n\trepositoryformatversion = ${algorithm === "sha1" ? 0 : 1}\n\tfilemode = true\n\tbare = true\n`;
  return algorithm === "sha1" ? core : `${core}[extensions]\n\tobjectformat = sha256\n`;
}

/**
 * Creates the layout of a bare repository. `config` is written before `HEAD`, and each appears
 * whole (written aside, then hard-linked into place, which fails if it already exists), so a
 * directory with a `HEAD` always has its config, and of two concurrent creators the first wins
 * (the second then sees the first one's object format when it reads the config).
 */
async function initBare(dir: string, algorithm: HashAlgorithm): Promise<void> {
  try {
    for (const sub of ["objects/info", "objects/pack", "refs/heads", "refs/tags"]) await mkdir(join(dir, sub), { recursive: true });
    await createWhole(join(dir, "config"), initialConfig(algorithm));
    await createWhole(join(dir, "HEAD"), "ref: refs/heads/main\n");
  } catch (e) {
    throw ioError(e, `creating a repository at ${dir}`);
  }
}

/** The temporary name `createWhole` writes `path` under first (matched by `INIT_TEMP_NAME`). */
function tempNameOf(path: string): string {
  return `${path}.tmp-${process.pid}-${uniqueSuffix()}`;
}

async function createWhole(path: string, content: string): Promise<void> {
  const tmp = tempNameOf(path);
  await writeFile(tmp, content, { flag: "wx" });
  try {
    await link(tmp, path);
  } catch (e) {
    if (errnoCode(e) !== "EEXIST") throw e;
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
}
