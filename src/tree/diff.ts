import { compareNames, isGitlink, type Child, type ContentsChild, type Node, type TreeContext } from "./node.js";

/** A change to one value between two trees. */
export interface DiffEntry<V> {
  /** The value's path, as segments. */
  path: string[];
  /** Whether the value appeared, went away, or changed. */
  kind: "added" | "removed" | "updated";
  /** The value in the first tree (for `removed` and `updated`). */
  before?: V;
  /** The value in the second tree (for `added` and `updated`). */
  after?: V;
}

/** A change between two trees, with the leaves instead of values. */
export interface RawDiffEntry {
  path: string[];
  kind: "added" | "removed" | "updated";
  before?: ContentsChild;
  after?: ContentsChild;
}

/**
 * The value-level changes from `a` (a tree of `ca`) to `b` (a tree of `cb`: the same context, or
 * another repository's with the same hash algorithm), sorted by path: segment by segment in name
 * order (as `list`), a path before the paths below it (a value replaced by a directory:
 * `removed d`, then `added d/x`; the reverse: `added d`, then `removed d/x`). Gitlinks
 * (submodules) are not values and are not reported. Subtrees with equal hashes are skipped
 * unread, so the cost grows with the differences, not with the trees.
 */
export async function diffNodes(ca: TreeContext, a: Node, cb: TreeContext, b: Node, prefix: string[]): Promise<RawDiffEntry[]> {
  const out: RawDiffEntry[] = [];
  await walk(ca, a, cb, b, prefix, out);
  return out;
}

async function walk(ca: TreeContext, a: Node, cb: TreeContext, b: Node, prefix: string[], out: RawDiffEntry[]): Promise<void> {
  if (a === b) return;
  if ((await ca.hashNode(a)) === (await cb.hashNode(b))) return;
  const ea = await ca.load(a);
  const eb = await cb.load(b);
  const names = [...new Set([...ea.keys(), ...eb.keys()])].sort(compareNames);
  for (const name of names) {
    await diffChild(ca, ea.get(name), cb, eb.get(name), [...prefix, name], out);
  }
}

async function diffChild(ca: TreeContext, x: Child | undefined, cb: TreeContext, y: Child | undefined, path: string[], out: RawDiffEntry[]): Promise<void> {
  // A gitlink is not a value: a change to or from one reads as the value or directory appearing or going.
  if (isGitlink(x)) x = undefined;
  if (isGitlink(y)) y = undefined;
  if (x?.kind === "node" && y?.kind === "node") return walk(ca, x.node, cb, y.node, path, out);
  if (x?.kind === "contents" && y?.kind === "contents") {
    if (x.hash !== y.hash || x.mode !== y.mode) out.push({ path, kind: "updated", before: x, after: y });
    return;
  }
  // Kinds differ (or one side is absent): everything under x is removed, everything under y added.
  // A value at `path` comes before the values below it, as a path sorts before its children.
  const removed = (c: Child) => leaves(ca, c, path, (p, h) => out.push({ path: p, kind: "removed", before: h }));
  const added = (c: Child) => leaves(cb, c, path, (p, h) => out.push({ path: p, kind: "added", after: h }));
  if (x?.kind === "node") {
    if (y !== undefined) await added(y);
    await removed(x);
  } else {
    if (x !== undefined) await removed(x);
    if (y !== undefined) await added(y);
  }
}

async function leaves(ctx: TreeContext, child: Child, path: string[], emit: (path: string[], leaf: ContentsChild) => void): Promise<void> {
  if (child.kind === "contents") return isGitlink(child) ? undefined : emit(path, child);
  const entries = await ctx.load(child.node);
  for (const name of child.node.names()) await leaves(ctx, entries.get(name)!, [...path, name], emit);
}
