/**
 * Following annotated tags to what they name: the one tag peeler of the sync layer (the
 * advertisement's peeled ids, the server's negotiation and `include-tag`, the pack walk).
 */
import { corrupt } from "../core/errors.js";
import type { Hash, HashAlgorithm } from "../core/hash.js";
import type { ObjectStore } from "../backend/object-store.js";
import type { ObjectType } from "../codec/object.js";
import { decodeTag } from "../codec/tag.js";

/** Longer chains are taken for damage (object ids cannot form a loop; git's own chains are short). */
const MAX_TAG_CHAIN = 1000;

/** Where a chain of tags ends: the object and its type (undefined: absent), and the tags on the way, first to last. */
export interface Peeled {
  readonly hash: Hash;
  readonly type: ObjectType | undefined;
  readonly tags: readonly Hash[];
}

/**
 * Follows the chain of annotated tags that starts at `hash` (no tag: `hash` itself, with no tags).
 * `CORRUPT` for a tag that does not parse or a chain longer than {@link MAX_TAG_CHAIN}.
 */
export async function peelTags(objects: ObjectStore, algorithm: HashAlgorithm, hash: Hash): Promise<Peeled> {
  const tags: Hash[] = [];
  let current = hash;
  for (;;) {
    const o = await objects.get(current);
    if (o === undefined || o.type !== "tag") return { hash: current, type: o?.type, tags };
    if (tags.length === MAX_TAG_CHAIN) throw corrupt(`tag chain from ${hash} is longer than ${MAX_TAG_CHAIN}`);
    tags.push(current);
    current = decodeTag(o.data, algorithm).object;
  }
}

/** The object a tag chain starting at `hash` ends at (present or not), or undefined when `hash` is not a tag (or absent). */
export async function peelTag(objects: ObjectStore, algorithm: HashAlgorithm, hash: Hash): Promise<Hash | undefined> {
  const peeled = await peelTags(objects, algorithm, hash);
  return peeled.tags.length === 0 ? undefined : peeled.hash;
}
