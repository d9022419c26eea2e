import type { Hash } from "../core/hash.js";
import type { Path } from "../core/path.js";
import { findChild } from "../tree/edit.js";
import { Node, type TreeContext } from "../tree/node.js";
import { readCommit, type CommitNode } from "./commits.js";

/** Options of {@link walkHistory}. */
export interface WalkOptions {
  /** Most commits returned (default all). */
  readonly limit?: number;
  /** Only commits that changed what is at this path (a value or a directory). */
  readonly path?: Path;
}

/**
 * The commits reachable from `head`, newest first by committer time (ties: discovery order), as
 * `git log` lists them. With `path`, only the commits where the entry at `path` differs from every
 * parent's are kept (a merge that took one side's version is skipped, as Git simplifies history).
 */
export async function walkHistory(ctx: TreeContext, head: Hash, options: WalkOptions = {}): Promise<CommitNode[]> {
  const limit = options.limit ?? Infinity;
  const out: CommitNode[] = [];
  const seen = new Set<Hash>([head]);
  const frontier: CommitNode[] = [await readCommit(ctx, head)];
  while (frontier.length > 0 && out.length < limit) {
    let best = 0;
    for (let i = 1; i < frontier.length; i++) if (frontier[i].time > frontier[best].time) best = i;
    const c = frontier.splice(best, 1)[0];
    if (options.path === undefined || (await changedPath(ctx, c, options.path))) out.push(c);
    for (const p of c.parents) {
      if (seen.has(p)) continue;
      seen.add(p);
      frontier.push(await readCommit(ctx, p));
    }
  }
  return out;
}

async function entryId(ctx: TreeContext, tree: Hash, path: Path): Promise<string | undefined> {
  if (path.length === 0) return tree;
  const child = await findChild(ctx, Node.stored(tree), path);
  if (child === undefined) return undefined;
  return child.kind === "contents" ? child.mode + child.hash : await ctx.hashNode(child.node);
}

async function changedPath(ctx: TreeContext, c: CommitNode, path: Path): Promise<boolean> {
  const mine = await entryId(ctx, c.tree, path);
  if (c.parents.length === 0) return mine !== undefined;
  for (const p of c.parents) {
    if ((await entryId(ctx, (await readCommit(ctx, p)).tree, path)) === mine) return false;
  }
  return true;
}
