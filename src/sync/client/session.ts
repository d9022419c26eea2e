/**
 * A conversation with one remote repository, whatever the transport: list its refs, fetch objects
 * from it, push ref updates to it. The smart protocol (git://, HTTP) and in-process remotes
 * (another backend in this process) both implement it.
 */
import type { Hash, HashAlgorithm } from "../../core/hash.js";
import type { ObjectStore } from "../../backend/object-store.js";
import type { ProgressCallback } from "../progress.js";
import type { PackLinks } from "../pack-receive.js";
import type { HaveWalker } from "./have-walker.js";
import type { AdvertisedRefs } from "./refs-advertisement.js";

/** What to fetch. */
export interface FetchRequest {
  /** Object ids to fetch (with everything they reach, down to `depth` commits). */
  readonly wants: Hash[];
  /** The commits the local side has, offered as `have`s during negotiation. */
  readonly haves: HaveWalker;
  /** Fetch at most this many commits of each line of history. */
  readonly depth?: number;
  /** The local shallow boundary (commits whose parents are absent locally). */
  readonly shallow?: Hash[];
  /** Largest pack accepted, in bytes. */
  readonly maxBytes?: number;
  readonly onProgress?: ProgressCallback;
}

/** What a fetch stored. */
export interface FetchResult {
  /** Every object stored (ids), in the order received (may be built on first access: a receive of many objects builds its hex ids only when asked). */
  readonly hashes: Hash[];
  /** Commits now present without their parents (the new shallow boundary, with `depth`). */
  readonly shallow: Hash[];
  /** Formerly shallow commits whose parents were fetched. */
  readonly unshallow: Hash[];
  /** What the received pack references outside itself, when a pack was received (for the connectivity check). */
  readonly links?: PackLinks;
}

/** One ref update to push: `old` as last seen on the remote (`undefined`: create), `new` (`undefined`: delete). */
export interface RefUpdate {
  readonly name: string;
  readonly old: Hash | undefined;
  readonly new: Hash | undefined;
}

/** The remote's answer for one ref. */
export type RefUpdateResult = { readonly name: string; readonly ok: true } | { readonly name: string; readonly ok: false; readonly reason: string };

/** An open conversation with a remote. */
export interface RemoteSession {
  /** The remote's object format. */
  readonly algorithm: HashAlgorithm;
  /** The remote's refs (`prefixes` narrows what a v2 server sends; others send everything). */
  listRefs(prefixes?: string[]): Promise<AdvertisedRefs>;
  /**
   * Fetches `request.wants` into `local`: objects are checked and stored, no ref is touched.
   * `CORRUPT` when the remote sends a bad pack.
   */
  fetch(local: ObjectStore, request: FetchRequest): Promise<FetchResult>;
  /**
   * Sends the objects `updates` need, then asks the remote to apply them (each with its own
   * compare-and-set on the remote; the remote decides). Returns one result per update.
   */
  push(local: ObjectStore, updates: RefUpdate[], options?: { onProgress?: ProgressCallback }): Promise<RefUpdateResult[]>;
  /** Ends the conversation (idempotent). */
  close(): Promise<void>;
}
