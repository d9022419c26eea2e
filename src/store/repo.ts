import { invalidArgument } from "../core/errors.js";
import type { Hash, HashAlgorithm } from "../core/hash.js";
import { IrminError } from "../core/errors.js";
import type { Backend } from "../backend/backend.js";
import { memoryBackend } from "../backends/memory/memory-backend.js";
import { parseAuthor, defaultAuthor } from "../history/commits.js";
import { checkBound, lowestCommonAncestors } from "../history/lca.js";
import { setShallowCommits } from "../history/shallow.js";
import { Contents } from "../merge/contents.js";
import { Branch } from "./branch.js";
import { Commit } from "./commit.js";
import { RepoCore } from "./repo-core.js";
import type { Remote } from "../sync/remote.js";
import { cloneRepo, fetchRemote, type CloneOptions, type FetchOptions } from "../sync/operations.js";

/** Options of {@link Repo.open} and {@link Repo.memory}. */
export interface RepoOptions<V> {
  /** Directory of the repository (a bare Git repository, or a checkout's `.git`); created if missing. */
  path?: string;
  /** `"git"` (default with a path) or `"memory"`; or a backend instance. */
  backend?: "git" | "memory" | Backend;
  /** How values are stored and merged (default `Contents.string`). */
  contents?: Contents<V>;
  /** Object format for a new repository (default `sha1`; an existing one keeps its own). */
  hash?: HashAlgorithm;
  /** Default author of commits, `"Name <email>"`. */
  author?: string;
}

/** Options of {@link Repo.lcas}: each a non-negative integer or `Infinity` (the default), else INVALID_ARGUMENT. */
export interface RepoLcaOptions {
  /**
   * How many generations below the two commits the search may read; past it, MAX_DEPTH_REACHED.
   * 0 reads only the two commits: it answers only when they are equal (one k commits below the
   * other needs at least k).
   */
  maxDepth?: number;
  /** Most common ancestors accepted; past it, TOO_MANY_LCAS. */
  limit?: number;
}

/**
 * A repository: the object store, the branches, and the history. Open one on disk with
 * {@link Repo.open} (a real Git repository) or in memory with {@link Repo.memory}.
 */
export class Repo<V = string> {
  private constructor(private readonly core: RepoCore<V>) {}

  /** Opens (creating it if missing) the repository described by `options`. */
  static async open<V = string>(options: RepoOptions<V> = {}): Promise<Repo<V>> {
    if (options === null || typeof options !== "object") throw invalidArgument("Repo.open expects an options object");
    const author = options.author ?? defaultAuthor();
    parseAuthor(author);
    const contents = (options.contents ?? Contents.string) as Contents<V>;
    if (typeof contents?.encode !== "function" || typeof contents?.decode !== "function" || typeof contents?.merge !== "function") {
      throw invalidArgument("contents must be a Contents codec (encode, decode, merge)");
    }
    let backend: Backend;
    const kind = options.backend ?? (options.path !== undefined ? "git" : "memory");
    if (typeof kind === "object") backend = kind;
    else if (kind === "memory") backend = memoryBackend({ hash: options.hash });
    else if (kind === "git") {
      if (typeof options.path !== "string" || options.path === "") throw invalidArgument("the git backend needs a path");
      // Loaded on demand: the on-disk backend needs Node's fs, a memory or custom backend does not.
      const { gitBackend } = await import("../backends/git/git-backend.js");
      backend = await gitBackend({ path: options.path, hash: options.hash });
    } else throw invalidArgument(`unknown backend ${JSON.stringify(kind)}`);
    const core = new RepoCore(backend, contents, author);
    // A shallow clone's boundary: history walks stop at these commits.
    setShallowCommits(core.ctx, (await backend.shallow?.list()) ?? []);
    return new Repo(core);
  }

  /** A repository in memory (same API; gone when the process ends). */
  static memory<V = string>(options: Omit<RepoOptions<V>, "path" | "backend"> = {}): Promise<Repo<V>> {
    return Repo.open({ ...options, backend: "memory" });
  }

  /** The object format of this repository. */
  get hashAlgorithm(): HashAlgorithm {
    return this.core.ctx.algorithm;
  }

  /** @internal The shared state of this repository's handles. */
  get internals(): RepoCore<V> {
    return this.core;
  }

  /** A handle on branch `name` (no I/O; the branch need not exist). INVALID_ARGUMENT for a name Git refuses. */
  branch(name: string): Branch<V> {
    this.core.live();
    return new Branch(this.core, name);
  }

  /** The names of all branches, sorted. */
  async branches(): Promise<string[]> {
    this.core.live();
    const refs = await this.core.backend.refs.list("refs/heads/");
    return refs.map((r) => r.name.slice("refs/heads/".length));
  }

  /** Deletes branch `name` (its commits stay until garbage-collected); nothing happens when it does not exist. */
  async removeBranch(name: string): Promise<void> {
    this.core.live();
    await this.core.backend.refs.remove(new Branch(this.core, name).ref);
  }

  /** The commit `hash`; NOT_FOUND when the repository does not have it, INVALID_ARGUMENT when it is not a commit's id. */
  commit(hash: Hash): Promise<Commit<V>> {
    return this.core.givenCommit(hash);
  }

  /**
   * The lowest common ancestors of two commits (several after criss-cross merges). INVALID_ARGUMENT
   * for an id that is not a commit's or a bad option, NOT_FOUND for a missing commit.
   */
  async lcas(a: Commit<V> | Hash, b: Commit<V> | Hash, options: RepoLcaOptions = {}): Promise<Commit<V>[]> {
    this.core.live();
    checkBound(options.maxDepth, "maxDepth");
    checkBound(options.limit, "limit");
    const ha = typeof a === "string" ? (await this.core.givenCommit(a)).hash : a.hash;
    const hb = typeof b === "string" ? (await this.core.givenCommit(b)).hash : b.hash;
    const r = await lowestCommonAncestors(this.core.ctx, ha, hb, options);
    if (!r.ok) {
      throw r.reason === "max-depth"
        ? new IrminError("MAX_DEPTH_REACHED", `no common ancestor within ${options.maxDepth} generations`)
        : new IrminError("TOO_MANY_LCAS", `more than ${options.limit} common ancestors`);
    }
    return Promise.all(r.lcas.map((h) => this.core.commit(h)));
  }

  /**
   * Fetches branch `branch` of `remote`: returns its head commit with everything it reaches stored
   * here (down to `depth` commits), or `undefined` when the remote has no such branch. No local
   * branch moves; for URL and path remotes `refs/remotes/<remote.name>/<branch>` records the head,
   * as git does. CORRUPT (and nothing written to a ref) when the remote sends bad or missing data.
   */
  fetch(remote: Remote, branch: string, options?: FetchOptions): Promise<Commit<V> | undefined> {
    this.core.live();
    return fetchRemote(this, remote, branch, options);
  }

  /**
   * A new repository (on disk at `options.path`, or in memory) holding every branch of `remote`,
   * with HEAD on the remote's default branch. Refuses a target that already has refs.
   */
  static clone<V = string>(remote: Remote, options: CloneOptions<V> = {}): Promise<Repo<V>> {
    return cloneRepo(remote, options);
  }

  /** Closes the backend (files, watchers). Further use throws CLOSED. Idempotent. */
  close(): Promise<void> {
    return this.core.close();
  }
}
