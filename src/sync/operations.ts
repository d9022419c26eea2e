/**
 * The user-level sync operations (fetch, pull, push, clone), written on the public Repo/Branch API
 * and the backend contracts, so they work for every backend and every kind of {@link Remote}.
 * Objects are always stored (and checked) before any ref moves; a ref moves with one
 * compare-and-set (pull through the branch's own merge or reset; push by the remote itself).
 */
import { corrupt, invalidArgument, IrminError, isIrminError, notFound } from "../core/errors.js";
import type { Hash } from "../core/hash.js";
import { branchRef, checkRefName, refNameProblem } from "../core/ref-name.js";
import { setShallowCommits } from "../history/shallow.js";
import type { Contents } from "../merge/contents.js";
import type { Branch, MergeResult } from "../store/branch.js";
import type { Commit } from "../store/commit.js";
import { Repo } from "../store/repo.js";
import type { RepoCore } from "../store/repo-core.js";
import { isAncestor } from "./client/ancestry.js";
import { checkConnected, isConnected } from "./client/connectivity.js";
import { HaveWalker } from "./client/have-walker.js";
import type { RemoteSession } from "./client/session.js";
import { reportProgress, type ProgressCallback, type SyncProgress } from "./progress.js";
import type { Remote } from "./remote.js";

/** Options of {@link fetchRemote}. */
export interface FetchOptions {
  /** Fetch only the newest `depth` commits of the branch (a shallow fetch). */
  depth?: number;
  /** Called with progress reports (see {@link SyncProgress}); what it throws is ignored. */
  onProgress?: (p: SyncProgress) => void;
}

/** Options of {@link pullBranch}. */
export interface PullOptions {
  /** The remote branch (default: the local branch's name). */
  branch?: string;
  /** `merge` (default): merge the remote head into the branch; `set`: move the branch to it. */
  strategy?: "merge" | "set";
  /** Called with progress reports (see {@link SyncProgress}); what it throws is ignored. */
  onProgress?: (p: SyncProgress) => void;
}

/** Options of {@link pushBranch}. */
export interface PushOptions {
  /** The remote branch (default: the local branch's name). */
  branch?: string;
  /** Overwrite the remote branch even when it is not an ancestor of the local head. */
  force?: boolean;
  /** Called with progress reports (see {@link SyncProgress}); what it throws is ignored. */
  onProgress?: (p: SyncProgress) => void;
}

/** Options of {@link cloneRepo}. */
export interface CloneOptions<V> {
  /** Directory of the new repository (a bare Git repository); required for the git backend. */
  path?: string;
  /** `"git"` (default with a path) or `"memory"`. */
  backend?: "git" | "memory";
  /** How values are stored and merged (default `Contents.string`). */
  contents?: Contents<V>;
  /** Fetch only the newest `depth` commits of each branch. */
  depth?: number;
  /** Called with progress reports (see {@link SyncProgress}); what it throws is ignored. */
  onProgress?: (p: SyncProgress) => void;
}

/** The result of a push: accepted, or why not (non-fast-forward, refused by the remote, ...). */
export type PushResult = { ok: true } | { ok: false; reason: string };

function checkDepth(depth: number | undefined): void {
  if (depth !== undefined && !(Number.isSafeInteger(depth) && depth >= 1)) throw invalidArgument("depth must be a positive integer");
}

/** The full ref of a branch name (`refs/...` names are kept as they are). */
function remoteRef(name: string): string {
  if (typeof name !== "string" || name === "") throw invalidArgument("a branch name is required");
  return name.startsWith("refs/") ? checkRefName(name) : branchRef(name);
}

/** The repository state behind a branch handle. */
function coreOf<V>(branch: Branch<V>): RepoCore<V> {
  const core = (branch as { internals?: RepoCore<V> }).internals;
  if (core === undefined) throw invalidArgument("not a branch handle");
  return core;
}

/**
 * Fetches `wants` from an open session into the repository of `core`: negotiation from the local
 * refs, the pack checked and stored, connectivity checked (CORRUPT when the remote left something
 * out), and the shallow boundary recorded in the backend (`<gitdir>/shallow` for the git backend)
 * and in the history layer, so that walks stop there. Moves no ref.
 */
async function fetchInto<V>(core: RepoCore<V>, session: RemoteSession, wants: Hash[], options: { depth?: number; onProgress?: ProgressCallback; maxBytes?: number }): Promise<void> {
  const { backend } = core;
  const objects = backend.objects;
  const oldShallow = (await backend.shallow?.list()) ?? [];
  const tips = (await backend.refs.list("refs/")).map((r) => r.hash);
  const unique = [...new Set(wants)];
  // Present is not enough: a failed fetch may have left a commit without its history.
  if (options.depth === undefined && (await isConnected(objects, objects.algorithm, unique, new Set(tips), new Set(oldShallow)))) return;
  const missing = unique;
  const haves = new HaveWalker(objects, objects.algorithm, [...new Set(tips)], new Set(oldShallow));
  const result = await session.fetch(objects, { wants: missing, haves, depth: options.depth, shallow: oldShallow, maxBytes: options.maxBytes, onProgress: options.onProgress });
  const shallow = new Set<Hash>(oldShallow);
  for (const u of result.unshallow) shallow.delete(u);
  for (const s of result.shallow) shallow.add(s);
  await checkConnected(objects, objects.algorithm, missing, () => result.hashes, shallow, result.links);
  if (result.shallow.length > 0 || result.unshallow.length > 0) {
    if (backend.shallow === undefined) throw new IrminError("UNSUPPORTED", `the ${backend.name} backend cannot hold a shallow clone`);
    await backend.shallow.set([...shallow]);
    setShallowCommits(core.ctx, shallow);
  }
}

/**
 * The remote-tracking ref `fetchRemote` sets for `branch` (a name, or a full ref) of `remote`:
 * `refs/remotes/<remote.name>/<branch>` for a branch of a URL or path remote, when that is a
 * valid ref name; otherwise `why` says why there is none.
 */
export function trackingRef(remote: Remote, branch: string): { ref: string } | { why: string } {
  if (remote.kind === "repo") return { why: "an in-process remote has no remote-tracking refs" };
  const ref = remoteRef(branch);
  if (!ref.startsWith("refs/heads/")) return { why: `${branch} is not a branch` };
  const name = `refs/remotes/${remote.name}/${ref.slice("refs/heads/".length)}`;
  const problem = refNameProblem(name);
  return problem === undefined ? { ref: name } : { why: `${JSON.stringify(name)} is not a valid ref name (${problem})` };
}

async function withSession<R>(remote: Remote, f: (s: RemoteSession) => Promise<R>): Promise<R> {
  const session = await remote.open();
  try {
    return await f(session);
  } finally {
    await session.close();
  }
}

/**
 * Fetches branch `branch` of `remote` into `repo`: returns the remote head commit with every
 * object it reaches stored locally (down to `depth` commits), or `undefined` when the remote has
 * no such branch. No branch is moved; for URL and path remotes the remote-tracking ref
 * `refs/remotes/<remote.name>/<branch>` is set to the fetched head (as git does), which keeps
 * the objects reachable and makes the next fetch of an unchanged branch free. CORRUPT when the
 * remote sends a bad pack or leaves objects out (no ref is written then).
 */
export async function fetchRemote<V>(repo: Repo<V>, remote: Remote, branch: string, options: FetchOptions = {}): Promise<Commit<V> | undefined> {
  const core = repo.internals;
  core.live();
  checkDepth(options.depth);
  const ref = remoteRef(branch);
  const hash = await withSession(remote, async (session) => {
    const adv = await session.listRefs([ref]);
    const h = adv.refs.get(ref);
    if (h === undefined) return undefined;
    await fetchInto(core, session, [h], { depth: options.depth, onProgress: options.onProgress, maxBytes: remote.maxPackBytes });
    const tracking = trackingRef(remote, ref);
    if ("ref" in tracking) await core.backend.refs.set(tracking.ref, h);
    return h;
  });
  return hash === undefined ? undefined : core.commit(hash);
}

/**
 * Fetches the remote branch (`options.branch`, default the same name) and merges it into `branch`
 * (`strategy: "merge"`, a fast-forward when possible) or moves `branch` to it (`"set"`). NOT_FOUND
 * when the remote has no such branch. Conflicts are returned and leave the branch unchanged.
 */
export async function pullBranch<V>(branch: Branch<V>, remote: Remote, options: PullOptions = {}): Promise<MergeResult<V>> {
  const strategy = options.strategy ?? "merge";
  if (strategy !== "merge" && strategy !== "set") throw invalidArgument(`unknown pull strategy ${JSON.stringify(strategy)}`);
  const core = coreOf(branch);
  const name = options.branch ?? branch.name;
  const head = await withSession(remote, async (session) => {
    const ref = remoteRef(name);
    const adv = await session.listRefs([ref]);
    const h = adv.refs.get(ref);
    if (h === undefined) return undefined;
    await fetchInto(core, session, [h], { onProgress: options.onProgress, maxBytes: remote.maxPackBytes });
    return h;
  });
  if (head === undefined) throw notFound(`the remote ${remote.location} has no branch ${name}`);
  if (strategy === "set") {
    await branch.reset(head);
    return { ok: true, commit: await core.commit(head) };
  }
  return branch.merge(head, { message: `merge ${remote.name}/${name} into ${branch.name}` });
}

/**
 * Pushes `branch`'s head to the remote branch (`options.branch`, default the same name). Without
 * `force`, a remote branch that is not an ancestor of the local head (or that the local repository
 * does not even have) is a rejection: `{ ok: false, reason }` starting with `non-fast-forward`.
 * The remote moves its own ref (compare-and-set against the value seen), and may refuse too.
 * NOT_FOUND when the local branch does not exist; UNSUPPORTED when the remote uses another object
 * format (SHA-1 vs SHA-256).
 */
export async function pushBranch<V>(branch: Branch<V>, remote: Remote, options: PushOptions = {}): Promise<PushResult> {
  const core = coreOf(branch);
  const head = await branch.head();
  if (head === undefined) throw notFound(`branch ${branch.name} does not exist: nothing to push`);
  const ref = remoteRef(options.branch ?? branch.name);
  return withSession(remote, async (session) => {
    const adv = await session.listRefs([ref]);
    // Before comparing ids: a remote of another object format has none of ours (not a rejection).
    if (session.algorithm !== core.ctx.algorithm) throw new IrminError("UNSUPPORTED", `the remote uses ${session.algorithm}, the local repository ${core.ctx.algorithm}`);
    const old = adv.refs.get(ref);
    if (old === head.hash) return { ok: true };
    if (old !== undefined && options.force !== true) {
      const objects = core.backend.objects;
      if (!(await objects.has(old)) || !(await isAncestor(objects, objects.algorithm, old, head.hash))) {
        return { ok: false, reason: `non-fast-forward: ${ref} on the remote has commits that ${branch.name} does not contain (pull first, or push with force)` };
      }
    }
    let result;
    try {
      [result] = await session.push(core.backend.objects, [{ name: ref, old, new: head.hash }], { onProgress: options.onProgress });
    } catch (e) {
      // A shallow repository lacks the history behind its boundary: the remote needs it (git's
      // receive-pack refuses such a push the same way).
      if (isIrminError(e, "NOT_FOUND") && ((await core.backend.shallow?.list()) ?? []).length > 0) {
        return { ok: false, reason: `shallow update not allowed: the remote lacks commits older than this shallow repository holds (fetch with more depth, or push to a remote that has them)` };
      }
      throw e;
    }
    if (result === undefined) throw corrupt("the remote reported nothing for the push");
    return result.ok ? { ok: true } : { ok: false, reason: result.reason };
  });
}

/**
 * A new repository holding every branch of `remote` (with all their objects, down to `depth`
 * commits), `HEAD` pointing where the remote's does (else `main`, else the first branch). With a
 * path the repository is a bare Git repository there; INVALID_ARGUMENT when it already has refs.
 * The object format is the remote's. A remote branch whose name is invalid is skipped, with a
 * warning through `onProgress` (phase `remote`). On failure no branch is left behind: a retry into
 * the same path starts from an empty repository.
 */
export async function cloneRepo<V>(remote: Remote, options: CloneOptions<V>): Promise<Repo<V>> {
  if (options === null || typeof options !== "object") throw invalidArgument("cloneRepo expects an options object");
  checkDepth(options.depth);
  return withSession(remote, async (session) => {
    const adv = await session.listRefs(["refs/heads/"]);
    // A branch whose name is invalid here is skipped with a warning, as git skips "funny" refs.
    const heads: [string, Hash][] = [];
    for (const [name, hash] of adv.refs) {
      if (!name.startsWith("refs/heads/")) continue;
      const problem = refNameProblem(name);
      if (problem === undefined) heads.push([name, hash]);
      else reportProgress(options.onProgress, { phase: "remote", done: 0, message: `warning: ignoring ref with broken name ${JSON.stringify(name)}: ${problem}` });
    }
    const backend = options.backend ?? (options.path !== undefined ? "git" : "memory");
    const repo = await Repo.open<V>({ path: options.path, backend, contents: options.contents, hash: session.algorithm });
    const core = repo.internals;
    const written: string[] = [];
    try {
      if (core.ctx.algorithm !== session.algorithm) throw new IrminError("UNSUPPORTED", `the remote uses ${session.algorithm}, the repository at ${options.path} ${core.ctx.algorithm}`);
      if ((await core.backend.refs.list("refs/")).length > 0) throw invalidArgument(`cannot clone into ${options.path}: the repository is not empty`);
      await fetchInto(core, session, heads.map(([, h]) => h), { depth: options.depth, onProgress: options.onProgress, maxBytes: remote.maxPackBytes });
      for (const [name, hash] of heads) {
        await core.backend.refs.set(name, hash);
        written.push(name);
      }
      const names = heads.map(([n]) => n);
      const head = adv.head !== undefined && names.includes(adv.head) ? adv.head : names.includes("refs/heads/main") ? "refs/heads/main" : names[0];
      if (head !== undefined) await core.backend.refs.setSymbolic("HEAD", head);
      return repo;
    } catch (e) {
      // No half-made clone: the branches written so far go, and a shallow fetch's boundary, so
      // that a retry finds it empty.
      for (const name of written) await core.backend.refs.remove(name).catch(() => undefined);
      await core.backend.shallow?.set([]).catch(() => undefined);
      await repo.close();
      throw e;
    }
  });
}
