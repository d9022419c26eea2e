/**
 * The keys of log entries and their ranks (format version 1 of the log; see log.ts).
 *
 * A key is 36 lower-case hex characters: the entry's hybrid logical timestamp (20, fixed width, so
 * that name order is time order) followed by a 64-bit random nonce (16), so two appends in the same
 * logical instant on two replicas, or of the same value, are two distinct entries that every
 * replica orders the same way. Git sorts tree entries by name bytes, which for these names is key
 * order: a log subtree lists in time order in `git ls-tree` too.
 *
 * The rank of a key decides where the chunked tree puts node boundaries. It is a pure function of
 * the key, which is what makes the tree's shape depend on the set of keys only, never on the order
 * they arrived in.
 */
import { corrupt, invalidArgument } from "../../core/errors.js";
import { toHex } from "../../core/hash.js";
import { decodeTimestamp, encodeTimestamp, type Timestamp } from "../hlc.js";

const TIME_DIGITS = 20;
const NONCE_DIGITS = 16;
/** Length of a key. */
export const KEY_LENGTH = TIME_DIGITS + NONCE_DIGITS;
const KEY = new RegExp(`^[0-9a-f]{${KEY_LENGTH}}$`);

/**
 * Bits of the key hash consumed per level: a key starts a new node at level L with probability
 * 2^-(BITS·(L+1)), so nodes hold 2^BITS = 32 entries on average, and a million entries need about
 * four levels.
 */
const BITS = 5;
/** Highest rank: no node boundary above this level, so a log is never more than MAX_RANK + 1 trees deep. */
export const MAX_RANK = 6;

/** Whether `name` is a well-formed entry key (also the name of every node: its first key). */
export function isKey(name: string): boolean {
  return name.length === KEY_LENGTH && KEY.test(name);
}

/** A key from a timestamp and 8 random bytes. */
export function makeKey(time: Timestamp, nonce: Uint8Array): string {
  if (nonce.length !== NONCE_DIGITS / 2) throw invalidArgument(`a log nonce is ${NONCE_DIGITS / 2} bytes`);
  return encodeTimestamp(time) + toHex(nonce);
}

/** `8 × count` fresh random bytes: the nonces of `count` appends. */
export function randomNonces(count: number): Uint8Array {
  const out = new Uint8Array((NONCE_DIGITS / 2) * count);
  // getRandomValues fills at most 65,536 bytes per call
  for (let i = 0; i < out.length; i += 65536) crypto.getRandomValues(out.subarray(i, Math.min(out.length, i + 65536)));
  return out;
}

/** The timestamp a key holds; CORRUPT when it is not a key. */
export function keyTime(key: string): Timestamp {
  if (!isKey(key)) throw corrupt(`not a log entry key: ${JSON.stringify(key.slice(0, 40))}`);
  return decodeTimestamp(key.slice(0, TIME_DIGITS));
}

/**
 * The rank of `key`: how many node levels it starts (0 for most keys). Derived from a 32-bit
 * FNV-1a hash of the whole key finished with murmur3's mixer, so the shape stays balanced even if a
 * writer's nonces are not random. Changing this function changes every stored tree's shape: it is
 * part of the format.
 */
export function keyRank(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  const zeros = h === 0 ? 32 : 31 - Math.clz32(h & -h);
  return Math.min(MAX_RANK, Math.floor(zeros / BITS));
}
