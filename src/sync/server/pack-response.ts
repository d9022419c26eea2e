/**
 * The pack part of an upload-pack answer, shared by protocol v0/v1 and v2: enumerate what the
 * client lacks, add annotated tags on sent commits when asked (`include-tag`), and stream the pack,
 * multiplexed with progress text when the client asked for side-band.
 */
import type { Hash, HashAlgorithm } from "../../core/hash.js";
import { peelTags } from "../peel.js";
import { objectsToSend, packStream } from "../pack-send.js";
import { FLUSH_PKT } from "../pkt-line.js";
import type { DeepenRequest } from "../shallow-boundary.js";
import { listRefs, type ServerStores } from "./advertise.js";
import { BAND, encodeSideband, sidebandLimit } from "./sideband.js";

/** What the client asked for, once negotiation is over. */
export interface PackRequest {
  readonly wants: readonly Hash[];
  /** Common objects (haves this store holds). */
  readonly haves: readonly Hash[];
  /** How the client limits the history it receives (a shallow fetch). */
  readonly deepen?: DeepenRequest;
  /** The client's current shallow commits. */
  readonly shallow?: readonly Hash[];
  /** This store's own shallow commits, as read once for the request (the boundary the answer announced, if any, comes from the same read). */
  readonly ownShallow: readonly Hash[];
  /**
   * Whether the answer told the client its new shallow boundary (v2 `shallow-info`, v0 after a
   * deepen request). When not, the client's and this store's shallow commits only bound the walk:
   * sending a client-shallow commit's parents would leave it with history its shallow file hides.
   */
  readonly boundaryAnnounced: boolean;
  readonly thin: boolean;
  readonly ofsDelta: boolean;
  readonly includeTag: boolean;
  /** No side-band: the raw pack. `small`: side-band (1000-byte packets). `large`: side-band-64k. */
  readonly sideband: "none" | "small" | "large";
  readonly progress: boolean;
}

/** Annotated tags (under refs/tags/) whose peeled object is in `sent` and that are not sent yet. */
async function tagsOn(stores: ServerStores, algorithm: HashAlgorithm, sent: ReadonlySet<Hash>): Promise<Hash[]> {
  const out: Hash[] = [];
  const { refs } = await listRefs(stores, algorithm, { peel: true, prefixes: ["refs/tags/"] });
  for (const r of refs) {
    if (r.peeled === undefined || sent.has(r.hash) || !sent.has(r.peeled)) continue;
    // The chain of tags down to the peeled object, up to one already sent.
    for (const t of (await peelTags(stores.objects, algorithm, r.hash)).tags) {
      if (sent.has(t)) break;
      out.push(t);
    }
  }
  return [...new Set(out)];
}

/**
 * The pack answer: with side-band, pack bytes on band 1, progress on band 2 (when `progress`), a
 * failure on band 3 (the client prints it), then a flush; without, the raw pack (a failure cuts
 * it short, which the client detects by the missing checksum). Never throws once started.
 */
export async function* packResponse(stores: ServerStores, algorithm: HashAlgorithm, request: PackRequest): AsyncIterable<Uint8Array> {
  const limit = sidebandLimit(request.sideband === "large");
  const band = (b: 1 | 2 | 3, payload: string | Uint8Array) => encodeSideband(b, payload, limit);
  const progress = (text: string) => (request.sideband !== "none" && request.progress ? [band(BAND.progress, text)] : []);
  try {
    yield* progress("Enumerating objects (irmin-ts)\r");
    const found = await objectsToSend(stores.objects, algorithm, [...request.wants], [...request.haves], {
      deepen: request.deepen,
      shallow: request.shallow === undefined ? undefined : [...request.shallow],
      ownShallow: [...request.ownShallow],
      boundaryAnnounced: request.boundaryAnnounced,
    });
    let hashes = found.hashes;
    if (request.includeTag) {
      const extra = await tagsOn(stores, algorithm, new Set(hashes));
      if (extra.length > 0) hashes = [...extra, ...hashes];
    }
    yield* progress(`Enumerating objects: ${hashes.length}, done.\n`);
    const thinBases = request.thin ? [...new Set(found.baseHints.values())] : undefined;
    let lastReport = 0;
    const reports: string[] = [];
    const stream = packStream(stores.objects, algorithm, hashes, {
      ofsDelta: request.ofsDelta,
      thinBases,
      baseHints: found.baseHints,
      onProgress: (p) => {
        if (p.total === undefined || p.total === 0) return;
        const pct = Math.floor((100 * p.done) / p.total);
        if (pct !== lastReport || p.done === p.total) {
          lastReport = pct;
          reports.push(`Compressing objects: ${String(pct).padStart(3)}% (${p.done}/${p.total})${p.done === p.total ? ", done.\n" : "\r"}`);
        }
      },
    });
    for await (const chunk of stream) {
      for (const r of reports.splice(0)) yield* progress(r);
      if (request.sideband === "none") yield chunk;
      else yield band(BAND.data, chunk);
    }
    for (const r of reports.splice(0)) yield* progress(r);
    yield* progress(`Total ${hashes.length} (irmin-ts)\n`);
    if (request.sideband !== "none") yield FLUSH_PKT;
  } catch (e) {
    if (request.sideband !== "none") {
      yield band(BAND.error, `upload-pack: ${e instanceof Error ? e.message : String(e)}\n`);
      yield FLUSH_PKT;
    }
  }
}
