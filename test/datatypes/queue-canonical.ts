/**
 * Test helpers for the queue's layout: an independent reference of the canonical root (rebuilt from
 * the set of epoch directories alone), and a way to start a queue at any epoch (so that a few
 * hundred pushes cross block boundaries of high levels).
 */
import { expect } from "vitest";
import { decodeEpoch } from "../../src/datatypes/queue/epoch.js";
import { Node, type Child, type ContentsChild, type TreeContext } from "../../src/tree/node.js";
import type { Branch } from "../../src/store/branch.js";
import { Tree } from "../../src/tree/tree.js";

/** An epoch: its blob and the count its entry name says. */
interface Dir {
  blob: ContentsChild;
  count: number;
}

const ROOT = /^(?:(lo|hi)\.([0-9a-f]{8})|([fmb])([1-8]))\.([1-9][0-9]*)$/;
const ENTRY = /^([0-9a-f])\.([1-9][0-9]*)$/;

const block = (epoch: number, k: number): number => Math.floor(epoch / 16 ** k);
const meet = (x: number, y: number): number => {
  let k = 1;
  while (block(x, k) !== block(y, k)) k++;
  return k;
};

/** Every epoch blob of the queue rooted at `root`, by epoch number, walking its groups. */
async function epochsOf(ctx: TreeContext, root: Node): Promise<Map<number, Dir>> {
  const out = new Map<number, Dir>();
  const entries = await ctx.load(root);
  let lo = -1;
  let hi = -1;
  const groups: [string, number, Node][] = [];
  for (const [name, child] of entries) {
    if (name === ".irmin-type") continue;
    const m = ROOT.exec(name);
    expect(m, name).not.toBeNull();
    if (m![1] !== undefined) {
      expect(child.kind, name).toBe("contents");
      const epoch = parseInt(m![2], 16);
      out.set(epoch, { blob: child as ContentsChild, count: Number(m![5]) });
      if (m![1] === "lo") lo = epoch;
      else hi = epoch;
    } else {
      expect(child.kind, name).toBe("node");
      groups.push([m![3], Number(m![4]), (child as { node: Node }).node]);
    }
  }
  const walk = async (node: Node, level: number, id: number): Promise<void> => {
    for (const [name, child] of await ctx.load(node)) {
      const m = ENTRY.exec(name)!;
      expect(m, name).not.toBeNull();
      const sub = id * 16 + parseInt(m[1], 16);
      expect(child.kind, name).toBe(level === 1 ? "contents" : "node");
      if (level === 1) out.set(sub, { blob: child as ContentsChild, count: Number(m[2]) });
      else await walk((child as { node: Node }).node, level - 1, sub);
    }
  };
  for (const [kind, level, node] of groups) await walk(node, level, block(kind === "b" ? hi : lo, level));
  return out;
}

/** The root a queue holding exactly `epochs` must have (marker `marker`), built from scratch. */
async function canonicalRoot(ctx: TreeContext, marker: Child, epochs: Map<number, Dir>): Promise<Node> {
  const root = new Map<string, Child>([[".irmin-type", marker]]);
  const ids = [...epochs.keys()].sort((a, b) => a - b);
  const dir = (map: Map<string, Child>): Child => ({ kind: "node", node: Node.fromEntries(map) });
  // The complete block `id` of level `level`, from the epochs it holds.
  const build = (level: number, id: number): [Child, number] | undefined => {
    if (level === 0) {
      const d = epochs.get(id);
      return d && [d.blob, d.count];
    }
    const map = new Map<string, Child>();
    let total = 0;
    for (let d = 0; d < 16; d++) {
      const first = (id * 16 + d) * 16 ** (level - 1);
      const last = first + 16 ** (level - 1) - 1;
      if (!ids.some((e) => e >= first && e <= last)) continue;
      const [c, n] = build(level - 1, id * 16 + d)!;
      map.set(`${d.toString(16)}.${n}`, c);
      total += n;
    }
    return map.size === 0 ? undefined : [dir(map), total];
  };
  // The children of block `id` of level `level` whose digits are in (low, high), as one group.
  const group = (name: string, level: number, id: number, low: number, high: number): void => {
    const map = new Map<string, Child>();
    let total = 0;
    for (let d = low + 1; d < high; d++) {
      const b = build(level - 1, id * 16 + d);
      if (b === undefined) continue;
      map.set(`${d.toString(16)}.${b[1]}`, b[0]);
      total += b[1];
    }
    if (map.size > 0) root.set(`${name}.${total}`, dir(map));
  };
  if (ids.length > 0) {
    const lo = ids[0];
    const hi = ids[ids.length - 1];
    const hex = (e: number): string => e.toString(16).padStart(8, "0");
    root.set(`lo.${hex(lo)}.${epochs.get(lo)!.count}`, epochs.get(lo)!.blob);
    if (hi !== lo) {
      root.set(`hi.${hex(hi)}.${epochs.get(hi)!.count}`, epochs.get(hi)!.blob);
      const levels = meet(lo, hi);
      const digit = (e: number, k: number): number => block(e, k - 1) % 16;
      for (let k = 1; k < levels; k++) {
        group(`f${k}`, k, block(lo, k), digit(lo, k), 16);
        group(`b${k}`, k, block(hi, k), -1, digit(hi, k));
      }
      group(`m${levels}`, levels, block(lo, levels), digit(lo, levels), digit(hi, levels));
    }
  }
  return Node.fromEntries(root);
}

/**
 * Checks that the queue at `path` of `branch` has exactly the canonical shape for its elements (same
 * tree hash as the reference built from scratch), counts that match its epoch directories, and
 * returns its number of elements.
 */
export async function expectCanonical(branch: Branch<string>, ctx: TreeContext, path = "q"): Promise<number> {
  let root = (await branch.tree()).node;
  for (const segment of path.split("/")) {
    const child = (await ctx.load(root)).get(segment);
    if (child === undefined) return 0;
    expect(child.kind).toBe("node");
    root = (child as { node: Node }).node;
  }
  const epochs = await epochsOf(ctx, root);
  let total = 0;
  for (const [epoch, d] of epochs) {
    // decodes and checks the records (key order, count)
    expect(decodeEpoch(await ctx.contentsBytes(d.blob), d.count, `epoch ${epoch}`).count).toBe(d.count);
    total += d.count;
  }
  const marker = (await ctx.load(root)).get(".irmin-type")!;
  const reference = await canonicalRoot(ctx, marker, epochs);
  expect(await ctx.hashNode(reference), "the queue's root is not the canonical one").toBe(await ctx.hashNode(root));
  return total;
}

/** Makes the queue at `path` hold one element, `value`, in epoch `epoch` (by renaming its epoch entry). */
export async function startAt(branch: Branch<string>, epoch: number, value: string, path = "q"): Promise<void> {
  await branch.queue(path).push(value);
  const { ctx, contents } = branch.internals;
  const root = ((await ctx.load((await branch.tree()).node)).get(path) as { node: Node }).node;
  const entries = new Map(await ctx.load(root));
  const [front] = [...entries.keys()].filter((name) => name.startsWith("lo."));
  const blob = entries.get(front)!;
  entries.delete(front);
  entries.set(`lo.${epoch.toString(16).padStart(8, "0")}.1`, blob);
  await branch.transaction(async (tx) => {
    await tx.setTree(path, new Tree(ctx, contents, Node.fromEntries(entries)));
  });
}
