/**
 * What a Git server says first: the refs it has and the capabilities it supports. Protocol v0/v1
 * puts both in one ref advertisement (`man 5 gitprotocol-pack`); protocol v2 sends a capability
 * list and answers `ls-refs` on request (`man 5 gitprotocol-v2`). Pure except for reading refs.
 */
import type { Hash, HashAlgorithm } from "../../core/hash.js";
import { zeroHash } from "../../core/hash.js";
import { peelTag } from "../peel.js";
import type { ObjectStore } from "../../backend/object-store.js";
import type { RefStore } from "../../backend/ref-store.js";
import type { ShallowStore } from "../../backend/backend.js";
import { concatBytes, encodePktLine, FLUSH_PKT } from "../pkt-line.js";

/** The stores a server works on (a `Backend` is one). */
export interface ServerStores {
  readonly objects: ObjectStore;
  readonly refs: RefStore;
  /** The repository's own shallow boundary, when it can have one (a shallow clone serves too). */
  readonly shallow?: ShallowStore;
}

/** The served repository's shallow commits (empty when it is complete or cannot be shallow). */
export async function ownShallow(stores: ServerStores): Promise<Hash[]> {
  return (await stores.shallow?.list()) ?? [];
}

/** The `agent` capability value this server announces. */
export const SERVER_AGENT = "irmin-ts";

/** One advertised ref. */
export interface AdvertisedRef {
  readonly name: string;
  readonly hash: Hash;
  /** For a ref to an annotated tag: the object the tag chain ends at. */
  readonly peeled?: Hash;
}

/** The refs a server shows, and where `HEAD` points symbolically. */
export interface RefListing {
  /** `HEAD` first when it resolves, then every ref under `refs/` sorted by name. */
  readonly refs: AdvertisedRef[];
  /** The ref `HEAD` names (`refs/heads/main`), even when that branch does not exist yet. */
  readonly headTarget: string | undefined;
}

/**
 * Lists `HEAD` and the refs under `refs/` (only those starting with one of `prefixes`, when
 * given). With `peel`, refs under `refs/tags/` that point at annotated tags get their peeled
 * object (one object read per tag ref). Cost: one `list` plus those reads.
 */
export async function listRefs(stores: ServerStores, algorithm: HashAlgorithm, options: { peel?: boolean; prefixes?: readonly string[] } = {}): Promise<RefListing> {
  const wanted = (name: string) => options.prefixes === undefined || options.prefixes.length === 0 || options.prefixes.some((p) => name.startsWith(p));
  const headTarget = await stores.refs.getSymbolic("HEAD");
  const refs: AdvertisedRef[] = [];
  const head = await stores.refs.get("HEAD");
  if (head !== undefined && wanted("HEAD")) refs.push({ name: "HEAD", hash: head });
  for (const r of await stores.refs.list("refs/")) {
    if (!wanted(r.name)) continue;
    const peeled = options.peel === true && r.name.startsWith("refs/tags/") ? await peelTag(stores.objects, algorithm, r.hash) : undefined;
    refs.push(peeled === undefined ? { name: r.name, hash: r.hash } : { name: r.name, hash: r.hash, peeled });
  }
  return { refs, headTarget };
}

/** Capabilities of upload-pack in protocol v0/v1. */
export function uploadPackCapabilities(algorithm: HashAlgorithm, headTarget: string | undefined): string {
  const caps = ["multi_ack", "thin-pack", "side-band", "side-band-64k", "ofs-delta", "shallow", "deepen-since", "deepen-not", "deepen-relative", "no-progress", "include-tag", "multi_ack_detailed", "no-done"];
  if (headTarget !== undefined) caps.push(`symref=HEAD:${headTarget}`);
  caps.push(`object-format=${algorithm}`, `agent=${SERVER_AGENT}`);
  return caps.join(" ");
}

/** Capabilities of receive-pack. */
export function receivePackCapabilities(algorithm: HashAlgorithm): string {
  return ["report-status", "delete-refs", "side-band-64k", "quiet", "atomic", "ofs-delta", `object-format=${algorithm}`, `agent=${SERVER_AGENT}`].join(" ");
}

/**
 * The protocol v0/v1 ref advertisement: one pkt-line per ref (capabilities after a NUL on the
 * first), peeled tags as `<ref>^{}`, then `shallow <id>` for each of the repository's own shallow
 * commits (`options.shallow`, as git's upload-pack advertises them), then a flush. An empty
 * repository advertises `capabilities^{}` with the zero id. With `options.service` (smart HTTP),
 * the `# service=` line and its flush come first.
 */
export function encodeAdvertisement(listing: RefListing, capabilities: string, algorithm: HashAlgorithm, options: { service?: string; shallow?: readonly Hash[] } = {}): Uint8Array {
  const parts: Uint8Array[] = [];
  if (options.service !== undefined) parts.push(encodePktLine(`# service=${options.service}\n`), FLUSH_PKT);
  const lines: string[] = [];
  for (const r of listing.refs) {
    lines.push(`${r.hash} ${r.name}`);
    if (r.peeled !== undefined) lines.push(`${r.peeled} ${r.name}^{}`);
  }
  if (lines.length === 0) lines.push(`${zeroHash(algorithm)} capabilities^{}`);
  for (const h of options.shallow ?? []) lines.push(`shallow ${h}`);
  lines.forEach((l, i) => parts.push(encodePktLine(i === 0 ? `${l}\0${capabilities}\n` : `${l}\n`)));
  parts.push(FLUSH_PKT);
  return concatBytes(parts);
}

/** The protocol v2 capability advertisement (`version 2`, then one capability per line, then a flush). */
export function encodeV2Capabilities(algorithm: HashAlgorithm): Uint8Array {
  const lines = ["version 2", `agent=${SERVER_AGENT}`, "ls-refs=unborn", "fetch=shallow", "server-option", `object-format=${algorithm}`];
  return concatBytes([...lines.map((l) => encodePktLine(`${l}\n`)), FLUSH_PKT]);
}
