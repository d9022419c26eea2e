/**
 * The 3-way merge of queues. Each element has a unique name that always holds the same value, so
 * a queue is a set of elements kept in key order, and the merge is a set merge: an element is in
 * the result when both sides have it, or when one side has it and the ancestor did not (it was
 * pushed since, or merged in from elsewhere). An element of the ancestor missing on one side was
 * popped there: it is gone. Since an element is never pushed twice, this is exactly "every element
 * pushed on either side and popped on neither", also through criss-cross histories.
 *
 * The merge works on the logical epoch trie (queue/layout.ts), rebuilt lazily from each side's
 * unzipped root: a node on the path to the front or back epoch is a "spine" (its group directory,
 * taken whole, plus the branch towards the end); the other nodes are the stored blocks themselves.
 * Subtrees equal on two of the three sides are decided without being read (by hash, or for spines
 * by comparing their groups' hashes), and three spines with the same branches merge group with
 * group and branch with branch. Pops change the front and pushes the back, so a merge reads the
 * three roots and the epochs that changed at either end, and rebuilds the result's ends from the
 * groups it already has: O(1) reads and writes for the usual merges (whatever the number of
 * operations on either side), O(log n) when an end moved across blocks, and no new tree for a group
 * equal to one of the inputs' (they are looked up by hash).
 */
import { corrupt } from "../../core/errors.js";
import type { Hash } from "../../core/hash.js";
import { Node, type Child, type TreeContext } from "../../tree/node.js";
import { TYPE_ENTRY, markerChild } from "../marker.js";
import { digitOf, digitPrefix, dirOf, epochPart, groupPrefix, LEVELS, part, readBlock, readShape, type Part } from "./layout.js";

/** A stored (or built) directory: a block or group of the trie, or an epoch at level 0. */
interface Real {
  readonly kind: "real";
  readonly node: Node;
  readonly count: number;
}

/**
 * A trie node on a path to an end: `group` holds the entries other than the `spines`, and every
 * digit in it is above `above` and below `below`. `role` tells how it was cut from a root
 * (`"mat"`: built by the merge from entries, no group).
 */
interface Spine {
  readonly kind: "spine";
  readonly role: "lo" | "hi" | "both" | "chain" | "mat";
  readonly group: Real | undefined;
  readonly spines: ReadonlyMap<number, Trie>;
  readonly above: number;
  readonly below: number;
  readonly count: number;
}

type Trie = Real | Spine;

function real(p: Part): Real {
  return { kind: "real", node: p.child.node, count: p.count };
}

function spine(role: Spine["role"], group: Real | undefined, spines: ReadonlyMap<number, Trie>, above: number, below: number): Spine {
  let count = group?.count ?? 0;
  for (const s of spines.values()) count += s.count;
  return { kind: "spine", role, group, spines, above, below, count };
}

class Merger {
  /** Input directories by hash: a rebuilt group equal to one of them is that one, not a new tree. */
  private readonly known = new Map<Hash, Node>();

  constructor(private readonly ctx: TreeContext) {}

  private remember(node: Node): void {
    if (node.hash !== undefined) this.known.set(node.hash, node);
  }

  /** The logical trie of a queue root (`undefined` when empty); reads the root only. */
  async zip(root: Node | undefined): Promise<Trie | undefined> {
    if (root === undefined) return undefined;
    const s = await readShape(this.ctx, root);
    if (s.front === undefined) return undefined;
    for (const p of [s.front, s.back, s.m, ...s.f, ...s.b]) if (p !== undefined) this.remember(p.child.node);
    const { lo, hi, levels } = s;
    let x: Trie = real(s.front);
    let top = 1;
    if (s.back !== undefined) {
      let y: Trie = real(s.back);
      for (let k = 1; k < levels; k++) {
        const f = s.f[k];
        const b = s.b[k];
        x = spine("lo", f && real(f), new Map([[digitOf(lo, k), x]]), digitOf(lo, k), 16);
        y = spine("hi", b && real(b), new Map([[digitOf(hi, k), y]]), -1, digitOf(hi, k));
      }
      x = spine("both", s.m && real(s.m), new Map([[digitOf(lo, levels), x], [digitOf(hi, levels), y]]), digitOf(lo, levels), digitOf(hi, levels));
      top = levels + 1;
    }
    for (let k = top; k <= LEVELS; k++) x = spine("chain", undefined, new Map([[digitOf(lo, k), x]]), -1, 16);
    return x;
  }

  /** Whether two tries hold the same elements, decided without reading (false when unsure). */
  private async same(x: Trie, y: Trie): Promise<boolean> {
    if (x === y) return true;
    if (x.kind === "real" && y.kind === "real") return x.node === y.node || (await this.ctx.hashNode(x.node)) === (await this.ctx.hashNode(y.node));
    if (x.kind !== "spine" || y.kind !== "spine" || x.role !== y.role || x.count !== y.count || x.spines.size !== y.spines.size) return false;
    if (x.group === undefined || y.group === undefined ? x.group !== y.group : !(await this.same(x.group, y.group))) return false;
    for (const [d, s] of x.spines) {
      const t = y.spines.get(d);
      if (t === undefined || !(await this.same(s, t))) return false;
    }
    return true;
  }

  /** The entries of a trie node of level ≥ 1, by digit (reads its directory or its group's). */
  private async entries(t: Trie, level: number): Promise<Map<number, Trie>> {
    const out = new Map<number, Trie>();
    const dir = t.kind === "real" ? t : t.group;
    if (dir !== undefined) {
      for (const [d, p] of await readBlock(this.ctx, dir.node, dir.count, `queue block (level ${level})`)) {
        this.remember(p.child.node);
        out.set(d, real(p));
      }
    }
    if (t.kind === "spine") for (const [d, s] of t.spines) out.set(d, s);
    return out;
  }

  /** The 3-way merge of trie nodes of level `level` (`undefined`: empty). */
  async merge(o: Trie | undefined, a: Trie | undefined, b: Trie | undefined, level: number): Promise<Trie | undefined> {
    if (a === undefined || b === undefined) {
      // No ancestor here: what either side has was added since.
      if (o === undefined) return a ?? b;
    } else if (await this.same(a, b)) {
      return a;
    }
    if (o !== undefined) {
      if (a !== undefined && (await this.same(o, a))) return b;
      if (b !== undefined && (await this.same(o, b))) return a;
      if (a === undefined && b === undefined) return undefined;
    }
    if (level === 0) return this.mergeEpochs(o as Real | undefined, a as Real | undefined, b as Real | undefined);
    if (o?.kind === "spine" && a?.kind === "spine" && b?.kind === "spine" && o.role === a.role && a.role === b.role && sameKeys(o.spines, a.spines) && sameKeys(a.spines, b.spines)) {
      // Cut the same way on all sides: groups with groups, branches with branches.
      const g = await this.merge(o.group, a.group, b.group, level);
      const spines = new Map<number, Trie>();
      for (const [d, x] of a.spines) {
        const r = await this.merge(o.spines.get(d), x, b.spines.get(d), level - 1);
        if (r !== undefined) spines.set(d, r);
      }
      if (g === undefined && spines.size === 0) return undefined;
      return spine(a.role, g && (await this.toReal(g, level)), spines, a.above, a.below);
    }
    const eo = o === undefined ? new Map<number, Trie>() : await this.entries(o, level);
    const ea = a === undefined ? new Map<number, Trie>() : await this.entries(a, level);
    const eb = b === undefined ? new Map<number, Trie>() : await this.entries(b, level);
    const out = new Map<number, Trie>();
    for (const d of new Set([...ea.keys(), ...eb.keys()])) {
      const r = await this.merge(eo.get(d), ea.get(d), eb.get(d), level - 1);
      if (r !== undefined) out.set(d, r);
    }
    return out.size === 0 ? undefined : spine("mat", undefined, out, -1, 16);
  }

  /** The element-level merge of three epoch directories. */
  private async mergeEpochs(o: Real | undefined, a: Real | undefined, b: Real | undefined): Promise<Real | undefined> {
    const none = new Map<string, Child>();
    const eo = o === undefined ? none : await this.ctx.load(o.node);
    const ea = a === undefined ? none : await this.ctx.load(a.node);
    const eb = b === undefined ? none : await this.ctx.load(b.node);
    const out = new Map<string, Child>();
    const take = (name: string, x: Child | undefined, y: Child | undefined): void => {
      if (x?.kind === "node" || y?.kind === "node") throw corrupt(`queue element ${name} is a directory`);
      // On one side only: kept when new, gone when the ancestor had it (the other side popped it).
      if (x === undefined || y === undefined) {
        if (!eo.has(name)) out.set(name, (x ?? y)!);
        return;
      }
      // A name always holds the same element; should two stores disagree, keep a deterministic one.
      out.set(name, x.hash <= y.hash ? x : y);
    };
    for (const [name, x] of ea) take(name, x, eb.get(name));
    for (const [name, y] of eb) if (!ea.has(name)) take(name, undefined, y);
    if (out.size === 0) return undefined;
    // Reuse a side's directory when the result is that directory: no new object to write.
    if (a !== undefined && sameEntries(out, ea)) return a;
    if (b !== undefined && sameEntries(out, eb)) return b;
    return { kind: "real", node: Node.fromEntries(out), count: out.size };
  }

  /** `t` as one directory: itself when stored; else built (or an input's equal directory). */
  async toReal(t: Trie, level: number): Promise<Real> {
    if (t.kind === "real") return t;
    const parts: Part[] = [];
    for (const [d, c] of await this.entries(t, level)) {
      const r = await this.toReal(c, level - 1);
      parts.push(part(digitPrefix(d), r.node, r.count));
    }
    return { kind: "real", node: await this.dedupe(dirOf(parts, undefined)), count: t.count };
  }

  /** `node`, or the input directory with its hash. */
  async dedupe(node: Node): Promise<Node> {
    return this.known.get(await this.ctx.hashNode(node)) ?? node;
  }

  /** The smallest (`low`) or largest digit of a non-empty node. */
  private async edge(t: Trie, level: number, low: boolean): Promise<number> {
    if (t.kind === "spine") {
      const keys = [...t.spines.keys()];
      if (keys.length > 0) {
        const best = low ? Math.min(...keys) : Math.max(...keys);
        // The group's digits are all on the far side of its bounds: no need to read it.
        if (t.group === undefined || (low ? t.above >= best : t.below <= best)) return best;
      }
    }
    const keys = [...(await this.entries(t, level)).keys()];
    return low ? Math.min(...keys) : Math.max(...keys);
  }

  private async child(t: Trie, level: number, d: number): Promise<Trie> {
    const s = t.kind === "spine" ? t.spines.get(d) : undefined;
    return s ?? (await this.entries(t, level)).get(d)!;
  }

  /** The entries of `t` other than the digits in `path`, as one group directory (`undefined`: none). */
  private async rest(t: Trie, level: number, path: number[], prefix: string): Promise<Part | undefined> {
    if (t.kind === "spine" && [...t.spines.keys()].every((d) => path.includes(d))) {
      return t.group === undefined ? undefined : part(prefix, t.group.node, t.group.count);
    }
    const parts: Part[] = [];
    let count = 0;
    for (const [d, c] of await this.entries(t, level)) {
      if (path.includes(d)) continue;
      const r = await this.toReal(c, level - 1);
      parts.push(part(digitPrefix(d), r.node, r.count));
      count += r.count;
    }
    return parts.length === 0 ? undefined : part(prefix, await this.dedupe(dirOf(parts, undefined)), count);
  }

  /** The canonical root entries of the queue holding the elements of `t` (the whole trie). */
  async unzip(t: Trie | undefined): Promise<Part[]> {
    if (t === undefined) return [];
    let n: Trie = t;
    let id = 0;
    let level = LEVELS;
    let low = 0;
    let high = 0;
    // Down the part shared by both ends.
    for (; level >= 1; level--) {
      low = await this.edge(n, level, true);
      high = await this.edge(n, level, false);
      if (low !== high) break;
      n = await this.child(n, level, low);
      id = id * 16 + low;
    }
    if (level === 0) return [epochPart("lo", id, asEpoch(n).node, n.count)];
    const out: Part[] = [];
    const m = await this.rest(n, level, [low, high], groupPrefix("m", level));
    if (m !== undefined) out.push(m);
    let x = await this.child(n, level, low);
    let y = await this.child(n, level, high);
    let lo = id * 16 + low;
    let hi = id * 16 + high;
    for (let k = level - 1; k >= 1; k--) {
      const dx = await this.edge(x, k, true);
      const dy = await this.edge(y, k, false);
      const f = await this.rest(x, k, [dx], groupPrefix("f", k));
      const b = await this.rest(y, k, [dy], groupPrefix("b", k));
      if (f !== undefined) out.push(f);
      if (b !== undefined) out.push(b);
      x = await this.child(x, k, dx);
      y = await this.child(y, k, dy);
      lo = lo * 16 + dx;
      hi = hi * 16 + dy;
    }
    out.push(epochPart("lo", lo, asEpoch(x).node, x.count), epochPart("hi", hi, asEpoch(y).node, y.count));
    return out;
  }
}

function asEpoch(t: Trie): Real {
  if (t.kind !== "real") throw corrupt("queue epoch is not a directory");
  return t;
}

function sameKeys(x: ReadonlyMap<number, unknown>, y: ReadonlyMap<number, unknown>): boolean {
  if (x.size !== y.size) return false;
  for (const k of x.keys()) if (!y.has(k)) return false;
  return true;
}

function sameEntries(x: ReadonlyMap<string, Child>, y: ReadonlyMap<string, Child>): boolean {
  if (x.size !== y.size) return false;
  for (const [name, c] of x) if (y.get(name) !== c) return false;
  return true;
}

/** The 3-way merge of two queue subtrees (`old` undefined: the union). Never conflicts; the result does not depend on the order of `a` and `b`. */
export async function mergeQueues(ctx: TreeContext, old: Node | undefined, a: Node, b: Node): Promise<Node> {
  const merger = new Merger(ctx);
  const [o, x, y] = [await merger.zip(old), await merger.zip(a), await merger.zip(b)];
  const parts = await merger.unzip(await merger.merge(o, x, y, LEVELS));
  const entries = new Map<string, Child>([[TYPE_ENTRY, (await ctx.load(a)).get(TYPE_ENTRY) ?? markerChild(ctx, "queue")]]);
  for (const p of parts) entries.set(p.name, p.child);
  const root = Node.fromEntries(entries);
  const hash = await ctx.hashNode(root);
  // The result may be one side as it is: no new tree.
  if (hash === (await ctx.hashNode(a))) return a;
  if (hash === (await ctx.hashNode(b))) return b;
  return root;
}
