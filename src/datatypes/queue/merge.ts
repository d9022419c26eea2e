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
import { contentsChild, Node, type Child, type TreeContext } from "../../tree/node.js";
import { compareBytes } from "../leaves.js";
import { TYPE_ENTRY, markerChild } from "../marker.js";
import { decodeEpoch, encodeRecords, keyAt, keyString, valueAt, type EpochView } from "./epoch.js";
import { digitOf, digitPrefix, dirOf, dirPart, epochPart, groupPrefix, LEVELS, part, readBlock, readShape, type Part } from "./layout.js";

/** A stored (or built) entry: a block or group directory of the trie, or an epoch blob at level 0. */
interface Real {
  readonly kind: "real";
  readonly child: Child;
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
  return { kind: "real", child: p.child, count: p.count };
}

function realDir(node: Node, count: number): Real {
  return { kind: "real", child: { kind: "node", node }, count };
}

/** The directory of a block or group (CORRUPT when a blob is where a directory belongs). */
function dirNode(r: Real): Node {
  if (r.child.kind !== "node") throw corrupt("queue block is a value, expected a directory");
  return r.child.node;
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

  private remember(child: Child): void {
    if (child.kind === "node" && child.node.hash !== undefined) this.known.set(child.node.hash, child.node);
  }

  /** The logical trie of a queue root (`undefined` when empty); reads the root only. */
  async zip(root: Node | undefined): Promise<Trie | undefined> {
    if (root === undefined) return undefined;
    const s = await readShape(this.ctx, root);
    if (s.front === undefined) return undefined;
    for (const p of [s.m, ...s.f, ...s.b]) if (p !== undefined) this.remember(p.child);
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
    if (x.kind === "real" && y.kind === "real") {
      const [c, d] = [x.child, y.child];
      if (c.kind === "contents" || d.kind === "contents") return c.kind === "contents" && d.kind === "contents" && c.hash === d.hash;
      return c.node === d.node || (await this.ctx.hashNode(c.node)) === (await this.ctx.hashNode(d.node));
    }
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
      for (const [d, p] of await readBlock(this.ctx, dirNode(dir), dir.count, level, `queue block (level ${level})`)) {
        this.remember(p.child);
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

  /** The records of an epoch blob. */
  private async epoch(r: Real | undefined): Promise<EpochView | undefined> {
    if (r === undefined) return undefined;
    const blob = asEpoch(r).child as Extract<Child, { kind: "contents" }>;
    return decodeEpoch(await this.ctx.contentsBytes(blob), r.count, "(merged)");
  }

  /**
   * The record-level merge of three epoch blobs: a record on both sides is kept, on one side only
   * kept when new (the ancestor lacks it) and gone when the ancestor had it (the other side popped
   * it). Records are written sorted by key, so the blob is a function of the merged set.
   */
  private async mergeEpochs(o: Real | undefined, a: Real | undefined, b: Real | undefined): Promise<Real | undefined> {
    const [vo, va, vb] = [await this.epoch(o), await this.epoch(a), await this.epoch(b)];
    const keys = (v: EpochView | undefined): Map<string, number> => {
      const m = new Map<string, number>();
      if (v !== undefined) for (let i = 0; i < v.count; i++) m.set(keyString(v, i), i);
      return m;
    };
    const [ko, ka, kb] = [keys(vo), keys(va), keys(vb)];
    const out: { name: string; key: Uint8Array; value: Uint8Array }[] = [];
    for (const [name, i] of ka) {
      const j = kb.get(name);
      const x = valueAt(va!, i);
      if (j === undefined) {
        if (!ko.has(name)) out.push({ name, key: keyAt(va!, i), value: x });
        continue;
      }
      // A key always holds the same element; should two stores disagree, keep a deterministic one.
      const y = valueAt(vb!, j);
      out.push({ name, key: keyAt(va!, i), value: compareBytes(x, y) <= 0 ? x : y });
    }
    for (const [name, j] of kb) if (!ka.has(name) && !ko.has(name)) out.push({ name, key: keyAt(vb!, j), value: valueAt(vb!, j) });
    if (out.length === 0) return undefined;
    out.sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0));
    const blob = contentsChild(this.ctx, encodeRecords(out).bytes);
    // Reuse a side's blob when the result is that blob: no new object to write.
    for (const side of [a, b]) if (side !== undefined && side.child.kind === "contents" && side.child.hash === blob.hash) return side;
    return { kind: "real", child: blob, count: out.length };
  }

  /** `t` as one directory: itself when stored; else built (or an input's equal directory). */
  async toReal(t: Trie, level: number): Promise<Real> {
    if (t.kind === "real") return t;
    const parts: Part[] = [];
    for (const [d, c] of await this.entries(t, level)) {
      const r = await this.toReal(c, level - 1);
      parts.push(part(digitPrefix(d), r.child, r.count));
    }
    return realDir(await this.dedupe(dirOf(parts, undefined)), t.count);
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
      return t.group === undefined ? undefined : part(prefix, t.group.child, t.group.count);
    }
    const parts: Part[] = [];
    let count = 0;
    for (const [d, c] of await this.entries(t, level)) {
      if (path.includes(d)) continue;
      const r = await this.toReal(c, level - 1);
      parts.push(part(digitPrefix(d), r.child, r.count));
      count += r.count;
    }
    return parts.length === 0 ? undefined : dirPart(prefix, await this.dedupe(dirOf(parts, undefined)), count);
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
    if (level === 0) return [epochPart("lo", id, asEpoch(n).child, n.count)];
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
    out.push(epochPart("lo", lo, asEpoch(x).child, x.count), epochPart("hi", hi, asEpoch(y).child, y.count));
    return out;
  }
}

function asEpoch(t: Trie): Real {
  if (t.kind !== "real" || t.child.kind !== "contents") throw corrupt("queue epoch is not a value");
  return t;
}

function sameKeys(x: ReadonlyMap<number, unknown>, y: ReadonlyMap<number, unknown>): boolean {
  if (x.size !== y.size) return false;
  for (const k of x.keys()) if (!y.has(k)) return false;
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
