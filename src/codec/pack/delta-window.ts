/**
 * Choosing delta bases while writing a pack, git-style: each object is tried against the last few
 * objects of the same type already written (a sliding window), and stored as a delta when that
 * saves at least half its size. Works on a stream; feed similar objects close together (git sorts
 * by type, path and size) for good results.
 */
import type { ObjectType } from "../object.js";
import { createDelta } from "./delta.js";

/** Options of {@link DeltaWindow}. */
export interface DeltaWindowOptions {
  /** How many previous objects of the same type are tried as bases (default 10). */
  window?: number;
  /** Longest delta chain created (default 50, as git). */
  maxDepth?: number;
  /** Objects smaller than this are never deltified (default 50 bytes). */
  minSize?: number;
  /** Objects larger than this are neither deltified nor kept as bases (default 16 MiB). */
  maxSize?: number;
  /**
   * Try only this many bases, those closest in size to the object, the most recent first among
   * equals (default: every base in the window). Bounds the cost to `tries` delta computations
   * per object where objects of unrelated sizes share the window (the directories of one
   * commit, say).
   */
  tries?: number;
}

/** A delta proposed by {@link DeltaWindow.choose}. */
export interface DeltaChoice {
  /** Pack offset of the base entry. */
  readonly baseOffset: number;
  readonly delta: Uint8Array;
  /** Chain depth the new entry will have (its base's depth plus one). */
  readonly depth: number;
}

interface Candidate {
  readonly data: Uint8Array;
  readonly offset: number;
  readonly depth: number;
}

/**
 * The sliding window of recent objects, per type. Memory: at most `window` objects per type.
 * Cost: up to `window` delta computations per object.
 */
export class DeltaWindow {
  private readonly recent = new Map<ObjectType, Candidate[]>();
  private readonly window: number;
  private readonly maxDepth: number;
  private readonly minSize: number;
  private readonly maxSize: number;
  private readonly tries: number;

  constructor(options: DeltaWindowOptions = {}) {
    this.window = options.window ?? 10;
    this.maxDepth = options.maxDepth ?? 50;
    this.minSize = options.minSize ?? 50;
    this.maxSize = options.maxSize ?? 16 * 1024 * 1024;
    this.tries = options.tries ?? Infinity;
  }

  /**
   * The smallest worthwhile delta for `data` against the window, or undefined. The search stops
   * at a delta under 1/32 of the object.
   */
  choose(type: ObjectType, data: Uint8Array): DeltaChoice | undefined {
    if (data.length < this.minSize || data.length > this.maxSize) return undefined;
    let best: DeltaChoice | undefined;
    // A delta must at least halve the object (minus what its header costs).
    let limit = Math.floor(data.length / 2) - 20;
    let candidates = this.recent.get(type) ?? [];
    if (candidates.length > this.tries) {
      // Among bases of equal distance the most recent first: successive versions of one
      // directory often have the same size, and the last one placed usually differs least (its
      // delta is then found from the common ends alone, with no index of the base).
      const distance = (c: Candidate) => Math.abs(c.data.length - data.length);
      candidates = candidates
        .map((c, i) => ({ c, d: distance(c), i }))
        .sort((a, b) => a.d - b.d || b.i - a.i)
        .slice(0, this.tries)
        .map((x) => x.c);
    }
    for (const c of candidates) {
      if (c.depth >= this.maxDepth) continue;
      // A base far smaller than the target cannot give a small delta.
      if (c.data.length * 2 < data.length - limit) continue;
      const delta = createDelta(c.data, data);
      if (delta.length < limit) {
        limit = delta.length;
        best = { baseOffset: c.offset, delta, depth: c.depth + 1 };
        // Under 1/32 of the object: another base could save little more than nothing.
        if (delta.length * 32 < data.length) break;
      }
    }
    return best;
  }

  /** Records an entry just written at `offset` (depth 0 for a full object) as a future base. */
  add(type: ObjectType, data: Uint8Array, offset: number, depth: number): void {
    if (data.length > this.maxSize) return;
    let list = this.recent.get(type);
    if (list === undefined) this.recent.set(type, (list = []));
    list.push({ data, offset, depth });
    if (list.length > this.window) list.shift();
  }
}
