/**
 * The server's half of fetch negotiation: which of the client's "have" lines name objects this
 * store holds (the common commits), and whether the common commits already cover every want so
 * that the client may stop sending haves (`ready`, git's `ok_to_give_up`).
 */
import { corrupt } from "../../core/errors.js";
import type { Hash, HashAlgorithm } from "../../core/hash.js";
import type { ObjectStore } from "../../backend/object-store.js";
import { decodeCommit } from "../../codec/commit.js";
import { peelTag } from "../peel.js";

interface Info {
  readonly parents: readonly Hash[];
  readonly time: number;
}

/** Most haves one request may carry (git's client sends at most a few thousand). */
export const MAX_HAVES = 100_000;

/** Negotiation state of one request. */
export class Negotiation {
  /** The haves found in the store, in the order received, each once. */
  readonly common: Hash[] = [];
  private readonly commonSet = new Set<Hash>();
  private readonly infos = new Map<Hash, Info>();
  private oldest = Infinity;
  private readyCache: { at: number; value: boolean } | undefined;

  constructor(
    private readonly objects: ObjectStore,
    private readonly algorithm: HashAlgorithm,
    private readonly wants: readonly Hash[],
  ) {}

  private async info(hash: Hash): Promise<Info | undefined> {
    let i = this.infos.get(hash);
    if (i !== undefined) return i;
    const o = await this.objects.get(hash);
    if (o === undefined) return undefined;
    if (o.type !== "commit") throw corrupt(`object ${hash} is a ${o.type}, expected a commit`);
    const c = decodeCommit(o.data, this.algorithm);
    i = { parents: c.parents, time: c.committer.timestamp };
    this.infos.set(hash, i);
    return i;
  }

  /** Records a client have; true when this store holds the object (a common object). */
  async have(hash: Hash): Promise<boolean> {
    if (this.commonSet.has(hash)) return true;
    const o = await this.objects.get(hash);
    if (o === undefined) return false;
    if (this.common.length < MAX_HAVES) {
      this.commonSet.add(hash);
      this.common.push(hash);
    }
    if (o.type === "commit") this.oldest = Math.min(this.oldest, decodeCommit(o.data, this.algorithm).committer.timestamp);
    return true;
  }

  /**
   * Whether every want reaches a common commit, walking no further back than the oldest common
   * commit's time (as git does). Cached until the next new common object.
   */
  async ready(): Promise<boolean> {
    if (this.common.length === 0) return false;
    if (this.readyCache?.at === this.common.length) return this.readyCache.value;
    let value = true;
    const reaches = new Map<Hash, boolean>();
    for (const w of this.wants) {
      const start = (await peelTag(this.objects, this.algorithm, w)) ?? w;
      if (!(await this.reachesCommon(start, reaches))) {
        value = false;
        break;
      }
    }
    this.readyCache = { at: this.common.length, value };
    return value;
  }

  private async reachesCommon(start: Hash, memo: Map<Hash, boolean>): Promise<boolean> {
    const stack = [start];
    const seen = new Set<Hash>();
    while (stack.length > 0) {
      const h = stack.pop()!;
      if (this.commonSet.has(h) || memo.get(h) === true) {
        memo.set(start, true);
        return true;
      }
      if (seen.has(h) || memo.has(h)) continue;
      seen.add(h);
      const i = await this.info(h).catch(() => undefined);
      if (i === undefined || i.time < this.oldest) continue;
      stack.push(...i.parents);
    }
    for (const h of seen) memo.set(h, false);
    return false;
  }
}
