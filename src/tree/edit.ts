import { invalidArgument } from "../core/errors.js";
import { formatPath, type Path } from "../core/path.js";
import { MODE_EXECUTABLE, MODE_SYMLINK } from "../codec/tree.js";
import { isGitlink, Node, type Child, type ContentsChild, type TreeContext } from "./node.js";
import { LayeredEntries } from "./layered-entries.js";

/**
 * The value or directory at `path` under `root` (`undefined` when absent, or when a gitlink is
 * there: not a value of the store, see {@link isGitlink}). Reads one node per segment.
 */
export async function findChild(ctx: TreeContext, root: Node, path: Path): Promise<Child | undefined> {
  let node = root;
  for (let i = 0; i < path.length; i++) {
    const child = (await ctx.load(node)).get(path[i]);
    if (i === path.length - 1) return isGitlink(child) ? undefined : child;
    if (child?.kind !== "node") return undefined;
    node = child.node;
  }
  return { kind: "node", node: root };
}

/**
 * A new root where the entry at `path` (non-empty) is replaced by `fn(current)`; `undefined` removes
 * it (`fn` sees a gitlink there as it is: a write at its path replaces it). Directories left empty
 * are pruned (Git stores no empty trees); a value or gitlink on the way is replaced by a directory.
 * A data type's subtree on the way (a directory below `root` that `ctx.ownedSubtree` claims) is
 * INVALID_ARGUMENT: it belongs to the type, whose own operations rewrite it whole; replacing or
 * removing it at its own path is fine. Nodes owned by `owner` are changed in place, the others are
 * copied once and the copies owned by `owner`: a builder that keeps its token pays one copy per
 * node, not one per write. When nothing changes, `root` itself is returned.
 */
export async function updateAt(
  ctx: TreeContext,
  root: Node,
  path: Path,
  fn: (current: Child | undefined) => Child | undefined,
  owner: object | undefined,
): Promise<Node> {
  return update(ctx, root, path, fn, owner, 0, path);
}

async function update(
  ctx: TreeContext,
  root: Node,
  path: Path,
  fn: (current: Child | undefined) => Child | undefined,
  owner: object | undefined,
  depth: number,
  full: Path,
): Promise<Node> {
  const entries = await ctx.load(root);
  if (depth > 0 && ctx.ownedSubtree?.(entries) === true) {
    throw invalidArgument(`${formatPath(full.slice(0, depth))} is a data type: ${formatPath(full)} inside it is not written (its subtree belongs to the type)`);
  }
  const name = path[0];
  const current = entries.get(name);
  let next: Child | undefined;
  if (path.length === 1) {
    next = fn(current);
  } else {
    const sub = current?.kind === "node" ? current.node : undefined;
    const updated = await update(ctx, sub ?? Node.empty(owner), path.slice(1), fn, owner, depth + 1, full);
    const emptied = updated.entries!.size === 0;
    if (updated === sub && !(emptied && owner !== undefined && sub.owner === owner)) {
      // Unchanged, or changed in place (then ours, as `root` is): `root` must re-encode that entry.
      if (owner !== undefined && root.owner === owner) root.touchEntry(name);
      return root;
    }
    // Removing below a missing directory (or below a value) changes nothing.
    if (sub === undefined && emptied) return root;
    // A directory left empty is pruned, also one emptied in place; one on the way keeps its raw
    // (non-UTF-8) name, if git gave it one.
    next = emptied ? undefined : { kind: "node", node: updated, ...(current?.rawName && { rawName: current.rawName }) };
  }
  if (next === current) return root;
  if (next !== undefined && knownSame(next, current)) return root;
  if (owner !== undefined && root.owner === owner) {
    root.touchEntry(name);
    if (next === undefined) entries.delete(name);
    else entries.set(name, next);
    return root;
  }
  // A frozen directory is shared by the copy (only the changes are copied, see LayeredEntries);
  // one that its builder may still change in place is copied whole.
  let copy: Map<string, Child>;
  if (root.owner === undefined) {
    copy = LayeredEntries.derive(entries, name, next);
  } else {
    copy = new Map(entries);
    if (next === undefined) copy.delete(name);
    else copy.set(name, next);
  }
  return root.copied(copy, name, owner);
}

/**
 * `child` (a new value) with the mode of the value it replaces when that one is executable or a
 * symlink: changing a file's contents keeps its mode, as with git. A gitlink or a directory replaced
 * by a value gives a plain file.
 */
export function keepMode(current: Child | undefined, child: ContentsChild): ContentsChild {
  if (current?.kind !== "contents" || current.mode === child.mode) return child;
  if (current.mode !== MODE_EXECUTABLE && current.mode !== MODE_SYMLINK) return child;
  return { ...child, mode: current.mode };
}

/** True when `p` and `q` are certainly the same entry, judged by ids already known (no read, no hashing). */
export function knownSame(p: Child | undefined, q: Child | undefined): boolean {
  if (p === undefined || q === undefined) return p === q;
  if (p.kind === "contents" && q.kind === "contents") return p.hash === q.hash && p.mode === q.mode;
  if (p.kind === "node" && q.kind === "node") return p.node === q.node || (p.node.hash !== undefined && p.node.hash === q.node.hash);
  return false;
}

/** Whether `p` and `q` are the same entry (same id, and same mode for values), hashing in-memory trees if needed. */
export async function sameEntry(ctx: TreeContext, p: Child | undefined, q: Child | undefined): Promise<boolean> {
  if (knownSame(p, q)) return true;
  if (p?.kind === "node" && q?.kind === "node") return (await ctx.hashNode(p.node)) === (await ctx.hashNode(q.node));
  return false;
}
