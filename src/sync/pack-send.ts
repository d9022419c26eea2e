/**
 * The sending side of a fetch or push: which objects the other side lacks ({@link objectsToSend}),
 * and a pack of them streamed chunk by chunk ({@link packStream}). Built on the `ObjectStore`
 * contract only, so any backend can serve.
 *
 * The enumeration is Git's: commits are walked newest first from the wanted and the known
 * ("have") tips together, and stops as soon as only known commits are left, so its cost follows
 * what is sent, not the size of the history. Trees are walked beside the same path in the
 * boundary commits' trees: an entry equal to the boundary's is one the receiver already has, and
 * is skipped without being read.
 */
import { corrupt, IrminError, invalidArgument } from "../core/errors.js";
import { digestLength, isHash, writeHex, type Hash, type HashAlgorithm } from "../core/hash.js";
import { MaxHeap } from "../core/max-heap.js";
import type { ObjectStore } from "../backend/object-store.js";
import type { RawObject } from "../codec/object.js";
import { decodeCommit } from "../codec/commit.js";
import { peelTags } from "./peel.js";
import { IdSet } from "./id-set.js";
import { isDeepening, shallowBoundary, type DeepenRequest } from "./shallow-boundary.js";

/** Options of {@link objectsToSend}. */
export interface ObjectsToSendOptions {
  /** Send at most this many commits along each line of history (a shallow fetch); at least 1. */
  depth?: number;
  /** How a shallow fetch limits history, in full (`depth` is short for `{ depth }`). */
  deepen?: DeepenRequest;
  /** Commits the receiver has without their parents (its current shallow boundary). */
  shallow?: Hash[];
  /**
   * This store's own shallow commits: their parents are not here, so the walk stops at them, and
   * the receiver gets them as shallow commits (in `shallow`) when it did not have them already.
   */
  ownShallow?: Hash[];
  /**
   * Whether the receiver is told the new boundary (default true). When false (a protocol v0
   * answer to a request without `deepen`), no receiver-shallow commit is deepened: the shallow
   * commits of both sides only bound the walk.
   */
  boundaryAnnounced?: boolean;
}

/** What {@link objectsToSend} found. */
export interface ObjectsToSend {
  /** The objects to send, each once: tags and commits first, then trees, then blobs grouped by path. */
  hashes: Hash[];
  /**
   * With a depth (or a shallow store): the commits sent without their parents that the receiver
   * did not have as shallow (its new shallow boundary).
   */
  shallow: Hash[];
  /** With a depth (or a shallow store): receiver's shallow commits whose parents are now sent. */
  unshallow: Hash[];
  /**
   * For a changed blob or tree, the object at the same path in a commit the receiver has: a good
   * delta base for a thin pack (pass it to {@link packStream} as `baseHints`).
   */
  baseHints: Map<Hash, Hash>;
}

interface CommitInfo {
  readonly hash: Hash;
  readonly tree: Hash;
  readonly parents: readonly Hash[];
  readonly time: number;
  uninteresting: boolean;
  queued: boolean;
  popped: boolean;
}

/** Reads an object or fails with NOT_FOUND naming what was expected. */
async function need(objects: ObjectStore, hash: Hash, what: string): Promise<RawObject> {
  const o = await objects.get(hash);
  if (o === undefined) throw new IrminError("NOT_FOUND", `${what} ${hash} is not in the object store`);
  return o;
}

const MAX_EDGE_BASES = 8;

/**
 * The objects reachable from `wants` and not from `haves` (commits, trees, blobs, tags), in an
 * order good for packing (commits, then trees and blobs). With depth: stop after `depth` commits,
 * returning the shallow boundary. Cost: O(objects sent + boundary), not O(repository).
 *
 * A want that is absent is NOT_FOUND; a have that is absent is ignored (the receiver has objects
 * this store does not). An object reachable from a have may still be sent when the walk cannot
 * see it cheaply (for example a file moved to another path): the result is never missing an
 * object the receiver lacks, and never reads whole trees of the boundary.
 */
export async function objectsToSend(objects: ObjectStore, algorithm: HashAlgorithm, wants: Hash[], haves: Hash[], options: ObjectsToSendOptions = {}): Promise<ObjectsToSend> {
  for (const h of [...wants, ...haves, ...(options.shallow ?? [])]) if (!isHash(h, algorithm)) throw invalidArgument(`not a ${algorithm} object id: ${JSON.stringify(h)}`);
  const deepen: DeepenRequest | undefined = options.deepen ?? (options.depth === undefined ? undefined : { depth: options.depth });
  const depth = deepen?.depth;
  if (depth !== undefined && (!Number.isSafeInteger(depth) || depth < 1)) throw invalidArgument(`bad depth ${depth}`);
  const ownShallow = options.ownShallow ?? [];

  const out: Hash[] = [];
  const idLength = digestLength(algorithm);
  // Every id sent or known, also as binary ids: the tree walk tests each entry against it before
  // building the entry's hex id (most entries of most trees were seen already).
  const seen = new IdSet(idLength);
  const scratch = new Uint8Array(idLength);
  const see = (h: Hash) => {
    writeHex(h, scratch, 0);
    seen.add(scratch, 0, 1);
  };
  const sent = new Set<Hash>();
  const emit = (h: Hash) => {
    if (sent.has(h)) return false;
    sent.add(h);
    see(h);
    out.push(h);
    return true;
  };
  // Peel wanted tags: the tag objects are sent, their targets are wanted.
  const wantCommits: Hash[] = [];
  const wantTrees: Hash[] = [];
  for (const w of wants) {
    const target = await peelTags(objects, algorithm, w);
    if (target.type === undefined) throw new IrminError("NOT_FOUND", `wanted object ${w} is not in the object store`);
    for (const t of target.tags) emit(t);
    if (target.type === "commit") wantCommits.push(target.hash);
    else if (target.type === "tree") wantTrees.push(target.hash);
    else emit(target.hash);
  }
  const haveCommits: Hash[] = [];
  const haveTrees: Hash[] = [];
  for (const h of haves) {
    const target = await peelTags(objects, algorithm, h);
    if (target.type === "commit") haveCommits.push(target.hash);
    else if (target.type === "tree") haveTrees.push(target.hash);
  }

  const nodes = new Map<Hash, CommitInfo>();
  const load = async (hash: Hash): Promise<CommitInfo> => {
    let n = nodes.get(hash);
    if (n !== undefined) return n;
    const o = await need(objects, hash, "commit");
    if (o.type !== "commit") throw corrupt(`object ${hash} is a ${o.type}, expected a commit`);
    const c = decodeCommit(o.data, algorithm);
    n = { hash, tree: c.tree, parents: c.parents, time: c.committer.timestamp, uninteresting: false, queued: false, popped: false };
    nodes.set(hash, n);
    return n;
  };

  // Shallow boundaries: the receiver's (those that stay shallow) and the new one from `depth`.
  const clientShallow = new Set(options.shallow ?? []);
  const grafted = new Set<Hash>([...clientShallow, ...ownShallow]);
  const extraHaves: Hash[] = [];
  let shallow: Hash[] = [];
  let unshallow: Hash[] = [];
  if (isDeepening(deepen) || (ownShallow.length > 0 && options.boundaryAnnounced !== false)) {
    ({ shallow, unshallow } = await shallowBoundary(objects, algorithm, wantCommits, deepen, [...clientShallow], ownShallow));
    for (const h of shallow) grafted.add(h);
    for (const h of unshallow) {
      // Deepening: the receiver gets this commit's parents, and already has the commit.
      wantCommits.push(...(await load(h)).parents);
      extraHaves.push(h);
    }
  }
  // Every receiver-shallow commit stays a boundary of the walk (it lacks their parents), even an
  // unshallowed one: its parents are walked as wants instead, as git's upload-pack does.
  const parentsOf = (n: CommitInfo) => (grafted.has(n.hash) ? [] : n.parents);

  // The commit walk: newest first, until only uninteresting commits remain queued.
  const queue = new MaxHeap<CommitInfo>((c) => c.time);
  let interestingQueued = 0;
  const markUninteresting = (start: CommitInfo) => {
    const stack = [start];
    while (stack.length > 0) {
      const n = stack.pop()!;
      if (n.uninteresting) continue;
      n.uninteresting = true;
      if (n.queued && !n.popped) interestingQueued--;
      // Already walked past: its parents, if loaded, become uninteresting too.
      if (n.popped) for (const p of parentsOf(n)) {
        const pn = nodes.get(p);
        if (pn !== undefined) stack.push(pn);
      }
    }
  };
  const add = async (hash: Hash, uninteresting: boolean) => {
    let n: CommitInfo;
    if (uninteresting) {
      if (nodes.get(hash) === undefined && !(await objects.has(hash))) return;
      n = await load(hash);
      markUninteresting(n);
    } else n = await load(hash);
    if (!n.queued) {
      n.queued = true;
      if (!n.uninteresting) interestingQueued++;
      queue.push(n);
    }
  };
  for (const h of [...haveCommits, ...extraHaves]) await add(h, true);
  for (const w of wantCommits) await add(w, false);
  const walked: CommitInfo[] = [];
  const edges = new Set<CommitInfo>();
  while (interestingQueued > 0) {
    const n = queue.pop()!;
    n.popped = true;
    if (!n.uninteresting) {
      interestingQueued--;
      walked.push(n);
    }
    for (const p of parentsOf(n)) await add(p, n.uninteresting);
  }
  const commits = walked.filter((n) => !n.uninteresting);
  for (const n of commits) {
    for (const p of parentsOf(n)) {
      const pn = nodes.get(p);
      if (pn?.uninteresting === true) edges.add(pn);
    }
  }
  for (const h of [...haveCommits, ...extraHaves]) {
    const n = nodes.get(h);
    if (n !== undefined && edges.size < MAX_EDGE_BASES) edges.add(n);
  }

  for (const n of commits) emit(n.hash);

  // Trees and blobs, walked beside the boundary's trees at the same path.
  const known = new Set<Hash>(haveTrees);
  const edgeRoots = [...new Set([...edges].slice(0, MAX_EDGE_BASES).map((e) => e.tree))];
  for (const t of edgeRoots) known.add(t);
  for (const t of known) see(t);
  const baseHints = new Map<Hash, Hash>();
  const paths = new Map<Hash, string>();
  const all = () => true;
  const unseen = (data: Uint8Array, pos: number) => seen.indexOf(data, pos) < 0;
  const treeEntries = async (hash: Hash, wanted: (id: Hash) => boolean = all, fresh?: (data: Uint8Array, pos: number) => boolean) => {
    const o = await need(objects, hash, "tree");
    if (o.type !== "tree") throw corrupt(`object ${hash} is a ${o.type}, expected a tree`);
    return scanTree(o.data, idLength, hash, wanted, fresh);
  };
  const unknown = (id: Hash) => !known.has(id) && !sent.has(id);
  const trees: Hash[] = [];
  const blobs: Hash[] = [];
  const walkTree = async (root: Hash, rootBases: Hash[]) => {
    const stack: { hash: Hash; path: string; bases: Hash[] }[] = [{ hash: root, path: "", bases: rootBases }];
    while (stack.length > 0) {
      const { hash, path, bases } = stack.pop()!;
      if (known.has(hash) || sent.has(hash)) continue;
      sent.add(hash);
      see(hash);
      trees.push(hash);
      paths.set(hash, path);
      const baseByName = new Map<string, Hash[]>();
      for (const b of bases) {
        for (const e of await treeEntries(b)) {
          if (!known.has(e.hash)) {
            known.add(e.hash);
            see(e.hash);
          }
          // By name and kind: a path may be a file in one version and a directory in another.
          const key = `${e.kind} ${e.name}`;
          const list = baseByName.get(key);
          if (list === undefined) baseByName.set(key, [e.hash]);
          else if (!list.includes(e.hash)) list.push(e.hash);
        }
      }
      for (const e of await treeEntries(hash, baseByName.size === 0 ? unknown : all, baseByName.size === 0 ? unseen : undefined)) {
        const kind = e.kind;
        // Gitlinks point into another repository: never sent.
        if (kind === "commit") continue;
        const sub = path === "" ? e.name : `${path}/${e.name}`;
        const same = baseByName.get(`${kind} ${e.name}`) ?? [];
        if (same.includes(e.hash) || known.has(e.hash) || sent.has(e.hash)) continue;
        if (same.length > 0) baseHints.set(e.hash, same[0]);
        if (kind === "tree") stack.push({ hash: e.hash, path: sub, bases: same });
        else {
          sent.add(e.hash);
          see(e.hash);
          blobs.push(e.hash);
          paths.set(e.hash, sub);
        }
      }
    }
  };
  for (const n of commits) await walkTree(n.tree, edgeRoots);
  for (const t of wantTrees) await walkTree(t, []);

  // Versions of the same path side by side (newest first, as walked): the delta window sees them together.
  const byPath = (list: Hash[]) => {
    const order = new Map(list.map((h, i) => [h, i]));
    return list.sort((a, b) => {
      const pa = paths.get(a)!;
      const pb = paths.get(b)!;
      return pa < pb ? -1 : pa > pb ? 1 : order.get(a)! - order.get(b)!;
    });
  };
  out.push(...byPath(trees), ...byPath(blobs));
  return { hashes: out, shallow, unshallow, baseHints };
}

interface ScannedEntry {
  readonly kind: "blob" | "tree" | "commit";
  /** The name's bytes as a binary string (one char per byte): a sort and lookup key, not text. */
  readonly name: string;
  readonly hash: Hash;
}

const HEX_CODES = new Uint16Array(512);
for (let i = 0; i < 256; i++) {
  HEX_CODES[2 * i] = "0123456789abcdef".charCodeAt(i >> 4);
  HEX_CODES[2 * i + 1] = "0123456789abcdef".charCodeAt(i & 15);
}

/**
 * The entries of a tree, read leanly: the walk visits every entry of every tree it sends, and
 * most are already known, so ids are built flat in one call and names stay undecoded bytes,
 * built only when `wanted(id)` says the entry matters (their order and equality is all the walk
 * needs). CORRUPT when the bytes are not a tree's.
 */
function scanTree(data: Uint8Array, idLength: number, hash: Hash, wanted: (id: Hash) => boolean, fresh?: (data: Uint8Array, pos: number) => boolean): ScannedEntry[] {
  const out: ScannedEntry[] = [];
  const codes = new Uint16Array(idLength * 2);
  let pos = 0;
  while (pos < data.length) {
    // Byte loops: a call to indexOf per entry costs more than the short scans themselves.
    const end = data.length;
    let space = pos;
    while (space < end && data[space] !== 0x20) space++;
    if (space >= end) space = -1;
    let nul = space < 0 ? end : space + 1;
    while (nul < end && data[nul] !== 0) nul++;
    if (nul >= end) nul = -1;
    if (space <= pos || space - pos > 7 || nul < 0 || nul === space + 1 || nul + 1 + idLength > data.length) throw corrupt(`tree ${hash}: malformed entry at byte ${pos}`);
    if (fresh !== undefined && !fresh(data, nul + 1)) {
      pos = nul + 1 + idLength;
      continue;
    }
    for (let i = 0, at = nul + 1; i < idLength; i++) {
      const b = data[at + i];
      codes[2 * i] = HEX_CODES[2 * b];
      codes[2 * i + 1] = HEX_CODES[2 * b + 1];
    }
    const id = String.fromCharCode.apply(null, codes as unknown as number[]);
    if (wanted(id)) {
      // 40000 (or 040000): a tree; 160000: a gitlink; the rest are files and symlinks.
      const first = data[pos] === 0x30 ? data[pos + 1] : data[pos];
      const kind = first === 0x34 ? "tree" : data[pos] === 0x31 && data[pos + 1] === 0x36 ? "commit" : "blob";
      out.push({ kind, name: String.fromCharCode.apply(null, data.subarray(space + 1, nul) as unknown as number[]), hash: id });
    }
    pos = nul + 1 + idLength;
  }
  return out;
}

export { packStream, type PackStreamOptions } from "./pack-stream.js";
