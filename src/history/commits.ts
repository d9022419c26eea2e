import { corrupt, invalidArgument } from "../core/errors.js";
import type { Hash } from "../core/hash.js";
import { hashObject } from "../codec/object.js";
import { decodeCommit, encodeCommit } from "../codec/commit.js";
import type { Identity } from "../codec/identity.js";
import type { PreparedWrite, TreeContext } from "../tree/node.js";
import { shallowCommits } from "./shallow.js";

/** What a commit says about itself. */
export interface CommitInfo {
  /** `"Name <email>"`. */
  readonly author: string;
  /** The commit message as Git stores it (with its final newline). */
  readonly message: string;
  /** Author date in milliseconds since the epoch (Git keeps seconds: a multiple of 1000). */
  readonly date: number;
}

/** A decoded commit: what the history layer walks. */
export interface CommitNode {
  readonly hash: Hash;
  readonly tree: Hash;
  readonly parents: readonly Hash[];
  readonly info: CommitInfo;
  /** Committer time in seconds, the order history walks use. */
  readonly time: number;
}

/** What a new commit is made of. */
export interface NewCommit {
  readonly tree: Hash;
  readonly parents: readonly Hash[];
  /** `"Name <email>"`. */
  readonly author: string;
  readonly message: string;
  /** Milliseconds since the epoch (default now). */
  readonly date?: number;
}

/** Reads and decodes a commit, through the context's cache; NOT_FOUND when absent, CORRUPT when not a commit. A commit on the shallow boundary (see `shallow.ts`) has no parents. */
export function readCommit(ctx: TreeContext, hash: Hash): Promise<CommitNode> {
  return readAnyCommit(ctx, hash, false);
}

/**
 * {@link readCommit} for an id a caller gave (to merge, reset, look up): `INVALID_ARGUMENT` when
 * it names another kind of object (a tree, a blob), which is a mistake, not corruption. A commit
 * object that does not decode is still `CORRUPT`.
 */
export function readGivenCommit(ctx: TreeContext, hash: Hash): Promise<CommitNode> {
  return readAnyCommit(ctx, hash, true);
}

async function readAnyCommit(ctx: TreeContext, hash: Hash, given: boolean): Promise<CommitNode> {
  const node = await readStoredCommit(ctx, hash, given);
  // A commit on the shallow boundary has parents that were never fetched: it is a root here.
  return node.parents.length > 0 && shallowCommits(ctx).has(hash) ? { ...node, parents: [] } : node;
}

async function readStoredCommit(ctx: TreeContext, hash: Hash, given: boolean): Promise<CommitNode> {
  const key = "c" + hash;
  const hit = ctx.cache.get(key) as CommitNode | undefined;
  if (hit !== undefined) return hit;
  const o = await ctx.read(hash, "commit");
  if (o.type !== "commit") {
    if (given) throw invalidArgument(`${hash} is not a commit (it is a ${o.type})`);
    throw corrupt(`object ${hash} is a ${o.type}, expected a commit`);
  }
  const c = decodeCommit(o.data, ctx.algorithm);
  const node: CommitNode = {
    hash,
    tree: c.tree,
    parents: c.parents,
    info: { author: `${c.author.name} <${c.author.email}>`, message: c.message, date: c.author.timestamp * 1000 },
    time: c.committer.timestamp,
  };
  ctx.cache.set(key, node, 256 + c.message.length);
  return node;
}

/** Parses `"Name <email>"`; INVALID_ARGUMENT when malformed. */
export function parseAuthor(author: string): { name: string; email: string } {
  const m = /^([^<>\n]*?) ?<([^<>\n]*)>$/.exec(author);
  if (m === null) throw invalidArgument(`author must look like "Name <email>", got ${JSON.stringify(author)}`);
  return { name: m[1], email: m[2] };
}

/** Git's timezone string for the local offset at `date`, e.g. `"+0100"`. */
function timezoneOf(date: Date): string {
  const offset = -date.getTimezoneOffset();
  const sign = offset < 0 ? "-" : "+";
  const abs = Math.abs(offset);
  return `${sign}${String(Math.floor(abs / 60)).padStart(2, "0")}${String(abs % 60).padStart(2, "0")}`;
}

/**
 * Encodes a new commit and returns its id and bytes, without writing it. The committer is the
 * author; the committer time is the author's date, or `notBefore` (seconds) when that is later.
 */
function buildCommit(ctx: TreeContext, c: NewCommit, notBefore: number): { hash: Hash; data: Uint8Array; node: CommitNode } {
  const { name, email } = parseAuthor(c.author);
  const date = c.date ?? Date.now();
  if (!Number.isFinite(date)) throw invalidArgument("commit date must be a finite number of milliseconds");
  const timezone = timezoneOf(new Date(date));
  const author: Identity = { name, email, timestamp: Math.floor(date / 1000), timezone };
  const committer: Identity = author.timestamp >= notBefore ? author : { ...author, timestamp: notBefore };
  const message = c.message.endsWith("\n") ? c.message : c.message + "\n";
  const data = encodeCommit({ tree: c.tree, parents: [...c.parents], author, committer, extraHeaders: [], message });
  const hash = hashObject(ctx.algorithm, "commit", data);
  const node: CommitNode = {
    hash,
    tree: c.tree,
    parents: [...c.parents],
    info: { author: `${name} <${email}>`, message, date: author.timestamp * 1000 },
    time: committer.timestamp,
  };
  return { hash, data, node };
}

/**
 * The latest committer time of `parents` (0 for none): a new commit's committer time is never
 * earlier, so that committer times never decrease along the history this library writes, even
 * when the clocks of the replicas that made it disagree. History walks order commits by that time
 * (as git's do without a commit-graph) and stop below a commit's time when looking for it
 * (`isAncestor`): with a clock that went back, they would miss ancestors. Reads the parents
 * (cached: the writer has just read them).
 */
async function latestParentTime(ctx: TreeContext, parents: readonly Hash[]): Promise<number> {
  let t = 0;
  for (const p of parents) t = Math.max(t, (await readCommit(ctx, p)).time);
  return t;
}

/** Writes a new commit; its tree and parents must already be stored. */
export async function writeCommit(ctx: TreeContext, c: NewCommit): Promise<CommitNode> {
  const { data, node } = buildCommit(ctx, c, await latestParentTime(ctx, c.parents));
  ctx.stats.writes++;
  await ctx.objects.put("commit", data);
  ctx.cache.set("c" + node.hash, node, 256 + node.info.message.length);
  return node;
}

/**
 * Writes a prepared tree (see `TreeContext.prepareWrite`) and a new commit of it in ONE batch:
 * on the git backend, one small pack flushed once, instead of a batch of trees then a commit
 * object. The store's write loop should use this rather than `writeNode` + {@link writeCommit}.
 * The caller calls `ctx.markWritten(prepared)` once a ref names the commit, not before: until
 * then a concurrent `git repack -a -d` may delete what no ref reaches, and a retry must find
 * these trees unwritten to store them again.
 */
export async function writeTreeCommit(ctx: TreeContext, prepared: PreparedWrite, c: Omit<NewCommit, "tree">): Promise<CommitNode> {
  const { data, node } = buildCommit(ctx, { ...c, tree: prepared.hash }, await latestParentTime(ctx, c.parents));
  ctx.stats.writes += prepared.objects.length + 1;
  await ctx.objects.putMany([...prepared.objects, { type: "commit", data }]);
  ctx.cache.set("c" + node.hash, node, 256 + node.info.message.length);
  return node;
}

/** A default author for commits: `"irmin-ts <irmin@host>"`-like, overridable per repo and per call. */
export function defaultAuthor(): string {
  return "irmin-ts <irmin@localhost>";
}
