/**
 * A remote that is another backend in this process (`Remote.repo`, `Remote.path`): no protocol, no
 * pack: the objects the other side lacks are copied with get/putMany, and a push moves the
 * remote's ref with its own compare-and-set, as a server would.
 */
import { IrminError } from "../../core/errors.js";
import type { Hash, HashAlgorithm } from "../../core/hash.js";
import type { Backend } from "../../backend/backend.js";
import type { ObjectStore } from "../../backend/object-store.js";
import type { RawObject } from "../../codec/object.js";
import { objectsToSend } from "../pack-send.js";
import { reportProgress, type ProgressCallback } from "../progress.js";
import type { AdvertisedRefs } from "../client/refs-advertisement.js";
import type { FetchRequest, FetchResult, RefUpdate, RefUpdateResult, RemoteSession } from "../client/session.js";

const BATCH = 1000;

/** Copies `hashes` from `from` to `to` in batches; returns them. NOT_FOUND when one is missing. */
async function copyObjects(from: ObjectStore, to: ObjectStore, hashes: readonly Hash[], onProgress?: ProgressCallback): Promise<void> {
  for (let i = 0; i < hashes.length; i += BATCH) {
    const batch: RawObject[] = [];
    for (const h of hashes.slice(i, i + BATCH)) {
      const o = await from.get(h);
      if (o === undefined) throw new IrminError("NOT_FOUND", `object ${h} is missing from the source repository`);
      batch.push(o);
    }
    await to.putMany(batch);
    reportProgress(onProgress, { phase: "writing", done: Math.min(i + BATCH, hashes.length), total: hashes.length });
  }
}

/**
 * A session on `backend`. `release` runs on close (e.g. closing a backend opened for this
 * session). Fetch cost: O(objects the local side lacks) reads and writes.
 */
export function inProcessSession(backend: Backend, release: () => Promise<void> = async () => undefined): RemoteSession {
  const remote = backend.objects;
  const algorithm: HashAlgorithm = remote.algorithm;
  const check = (local: ObjectStore): void => {
    if (local.algorithm !== algorithm) throw new IrminError("UNSUPPORTED", `the remote uses ${algorithm}, the local repository ${local.algorithm}`);
  };
  return {
    algorithm,
    async listRefs(prefixes?: string[]): Promise<AdvertisedRefs> {
      const all = await backend.refs.list("refs/");
      const refs = new Map<string, Hash>();
      for (const r of all) if (prefixes === undefined || prefixes.some((p) => r.name.startsWith(p))) refs.set(r.name, r.hash);
      const head = await backend.refs.getSymbolic("HEAD");
      const headHash = await backend.refs.get("HEAD");
      if (headHash !== undefined) refs.set("HEAD", headHash);
      return { refs, head, peeled: new Map() };
    },

    async fetch(local: ObjectStore, request: FetchRequest): Promise<FetchResult> {
      check(local);
      const haves: Hash[] = [];
      for (const t of request.haves.tips) if (await remote.has(t)) haves.push(t);
      const plan = await objectsToSend(remote, algorithm, request.wants, haves, { depth: request.depth, shallow: request.shallow, ownShallow: (await backend.shallow?.list()) ?? [] });
      reportProgress(request.onProgress, { phase: "counting", done: plan.hashes.length, total: plan.hashes.length });
      const missing: Hash[] = [];
      for (const h of plan.hashes) if (!(await local.has(h))) missing.push(h);
      await copyObjects(remote, local, missing, request.onProgress);
      return { hashes: missing, shallow: plan.shallow, unshallow: plan.unshallow };
    },

    async push(local: ObjectStore, updates: RefUpdate[], options: { onProgress?: ProgressCallback } = {}): Promise<RefUpdateResult[]> {
      check(local);
      const results: RefUpdateResult[] = [];
      for (const u of updates) {
        if (u.new !== undefined) {
          const haves: Hash[] = [];
          for (const r of await backend.refs.list("refs/")) if (await local.has(r.hash)) haves.push(r.hash);
          const plan = await objectsToSend(local, algorithm, [u.new], haves);
          const missing: Hash[] = [];
          for (const h of plan.hashes) if (!(await remote.has(h))) missing.push(h);
          await copyObjects(local, remote, missing, options.onProgress);
        }
        const current = await backend.refs.get(u.name);
        if (current !== u.old) {
          results.push({ name: u.name, ok: false, reason: "stale info: the remote ref changed" });
          continue;
        }
        const moved = await backend.refs.testAndSet(u.name, u.old, u.new);
        results.push(moved ? { name: u.name, ok: true } : { name: u.name, ok: false, reason: "stale info: the remote ref changed" });
      }
      return results;
    },

    close: release,
  };
}
