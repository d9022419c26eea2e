import { hashObject } from "../codec/object.js";
import { knownSame, sameEntry } from "./edit.js";
import { compareNames, isGitlink, Node, type Child, type ContentsChild, type TreeContext } from "./node.js";
import type { LeafCodec } from "./leaf-codec.js";

/** A path where a 3-way tree merge could not decide, with why. */
export interface MergeConflict {
  /** Where, as `"a/b"`; `""` for the whole tree (for example when the ancestor search gave up). */
  readonly path: string;
  /** Why, from the contents or data type merge that could not decide. */
  readonly message: string;
}

/**
 * How a directory changed on both sides is merged before falling back to entry by entry. The data
 * types plug in here: a subtree that describes itself as a counter, a log, ... returns its merged
 * node, or `{ conflict }` when the two sides cannot be merged as one (two kinds of data type).
 */
export type NodeMergeHook = (
  path: readonly string[],
  old: Node | undefined,
  a: Node,
  b: Node,
) => Promise<Node | { readonly conflict: string } | undefined>;

/** Options of {@link mergeTrees}. */
export interface TreeMergeOptions<V> {
  readonly codec: LeafCodec<V>;
  /** Tried for every directory changed on both sides. */
  readonly nodeHook?: NodeMergeHook;
  /**
   * `"fail"` (default): conflicts are reported. `"base"`: a conflicting entry takes the ancestor's
   * version, as when merging several common ancestors into a virtual one (the real merge then sees
   * both sides' changes against it).
   */
  readonly onConflict?: "fail" | "base";
}

/**
 * The 3-way merge of trees `a` and `b` with common ancestor `old` (`undefined`: merge against the
 * empty tree). Entries equal on both sides, or changed on one side only, are taken without being
 * read; directories changed on both sides are merged recursively; values changed on both sides go
 * through the codec's merge. A gitlink (submodule) is kept, or taken from the side that changed it;
 * changed on both sides differently, it is a conflict. Cost: O(what differs), never O(size of the trees).
 */
export async function mergeTrees<V>(
  ctx: TreeContext,
  old: Node | undefined,
  a: Node,
  b: Node,
  options: TreeMergeOptions<V>,
): Promise<{ ok: true; node: Node } | { ok: false; conflicts: MergeConflict[] }> {
  const conflicts: MergeConflict[] = [];
  const node = await mergeNode(ctx, old, a, b, [], options, conflicts);
  return conflicts.length === 0 ? { ok: true, node } : { ok: false, conflicts };
}

async function mergeNode<V>(
  ctx: TreeContext,
  old: Node | undefined,
  a: Node,
  b: Node,
  path: string[],
  options: TreeMergeOptions<V>,
  conflicts: MergeConflict[],
): Promise<Node> {
  const ha = await ctx.hashNode(a);
  const hb = await ctx.hashNode(b);
  if (ha === hb) return a;
  if (old !== undefined) {
    const ho = await ctx.hashNode(old);
    if (ho === ha) return b;
    if (ho === hb) return a;
  }
  if (options.nodeHook !== undefined) {
    const merged = await options.nodeHook(path, old, a, b);
    if (merged instanceof Node) return merged;
    if (merged !== undefined) {
      // A conflict at this directory as a whole (two kinds of data type, say).
      if (options.onConflict === "base") return old ?? Node.empty();
      conflicts.push({ path: path.join("/"), message: merged.conflict });
      return a;
    }
  }
  const eo = old === undefined ? new Map<string, Child>() : await ctx.load(old);
  const ea = await ctx.load(a);
  const eb = await ctx.load(b);
  const names = new Set([...ea.keys(), ...eb.keys()]);
  const result = new Map(ea);
  let changed = false;
  for (const name of [...names].sort(compareNames)) {
    const x = ea.get(name);
    const y = eb.get(name);
    const o = eo.get(name);
    // Most entries of a large directory are untouched: decided here by their ids, with no await.
    if (knownSame(x, y) || knownSame(o, y)) continue;
    const next = knownSame(o, x) ? y : await mergeChild(ctx, o, x, y, [...path, name], options, conflicts);
    if (next === x) continue;
    changed = true;
    if (next === undefined) result.delete(name);
    else result.set(name, next);
  }
  return changed ? Node.fromEntries(result) : a;
}

async function mergeChild<V>(
  ctx: TreeContext,
  o: Child | undefined,
  x: Child | undefined,
  y: Child | undefined,
  path: string[],
  options: TreeMergeOptions<V>,
  conflicts: MergeConflict[],
): Promise<Child | undefined> {
  if (await sameEntry(ctx, x, y)) return x;
  if (await sameEntry(ctx, o, x)) return y;
  if (await sameEntry(ctx, o, y)) return x;
  const where = path.join("/");
  const conflict = (message: string): Child | undefined => {
    if (options.onConflict === "base") return o;
    conflicts.push({ path: where, message });
    return x;
  };
  if (x?.kind === "node" && y?.kind === "node") {
    const base = o?.kind === "node" ? o.node : undefined;
    const merged = await mergeNode(ctx, base, x.node, y.node, path, options, conflicts);
    return (await ctx.load(merged)).size === 0 ? undefined : { kind: "node", node: merged, ...(x.rawName && { rawName: x.rawName }) };
  }
  // A submodule's commit is not a value: changed on both sides, it cannot be merged here.
  if (isGitlink(x) || isGitlink(y)) {
    if (x === undefined || y === undefined) return conflict("removed on one side and changed on the other");
    if (isGitlink(x) && isGitlink(y)) return conflict(`the submodule (gitlink) changed on both sides (${(x as ContentsChild).hash} and ${(y as ContentsChild).hash})`);
    return conflict("a submodule (gitlink) on one side and a value or directory on the other");
  }
  if (x?.kind === "contents" && y?.kind === "contents") {
    const { codec } = options;
    let oldValue: V | undefined;
    let left: V;
    let right: V;
    try {
      oldValue = o?.kind === "contents" && !isGitlink(o) ? codec.decode(await ctx.contentsBytes(o)) : undefined;
      left = codec.decode(await ctx.contentsBytes(x));
      right = codec.decode(await ctx.contentsBytes(y));
    } catch (e) {
      return conflict(`cannot decode a value to merge it: ${(e as Error).message}`);
    }
    // The mode (executable, symlink) merges like a value: the side that changed it wins.
    const oldMode = o?.kind === "contents" ? o.mode : undefined;
    const mode = x.mode === y.mode || y.mode === oldMode ? x.mode : x.mode === oldMode ? y.mode : undefined;
    if (mode === undefined) return conflict(`the mode changed on both sides (${x.mode} and ${y.mode})`);
    const r = codec.merge(oldValue, left, right);
    if (!r.ok) return conflict(r.conflict);
    const bytes = codec.encode(r.value);
    return { kind: "contents", mode, hash: hashObject(ctx.algorithm, "blob", bytes), pending: bytes, ...(x.rawName && { rawName: x.rawName }) };
  }
  if (x === undefined || y === undefined) return conflict("removed on one side and changed on the other");
  return conflict("a value on one side and a directory on the other");
}
