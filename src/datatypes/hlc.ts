/**
 * Hybrid logical clock timestamps (Kulkarni et al.): a wall-clock time in milliseconds plus a
 * logical counter. A timestamp issued after seeing others is greater than all of them, whatever the
 * wall clocks of the machines say, and stays close to real time when the clocks agree.
 */
import { corrupt, invalidArgument } from "../core/errors.js";

/** A point in hybrid logical time. Order: `wall`, then `logical`. */
export interface Timestamp {
  /** Milliseconds since the epoch (the largest wall time seen). */
  readonly wall: number;
  /** Tie breaker among timestamps with the same `wall`. */
  readonly logical: number;
}

const WALL_DIGITS = 12; // hex: enough until the year 10889
const LOGICAL_DIGITS = 8;
const MAX_LOGICAL = 0xffffffff;
const MAX_WALL = 16 ** WALL_DIGITS - 1;

// The last timestamp this process issued: two operations in one millisecond still get increasing
// timestamps, even on different data types.
let lastIssued: Timestamp = { wall: 0, logical: 0 };

/** Negative, zero or positive as `a` is before, equal to or after `b`. */
export function compareTimestamps(a: Timestamp, b: Timestamp): number {
  return a.wall !== b.wall ? a.wall - b.wall : a.logical - b.logical;
}

/** The later of two timestamps. */
export function maxTimestamp(a: Timestamp, b: Timestamp): Timestamp {
  return compareTimestamps(a, b) >= 0 ? a : b;
}

/**
 * A new timestamp greater than `seen` (what the data type already holds), than every timestamp this
 * process issued, and at least the wall clock `now`.
 */
export function nextTimestamp(seen: Timestamp | undefined, now: number = Date.now()): Timestamp {
  let base = lastIssued;
  if (seen !== undefined && compareTimestamps(seen, base) > 0) base = seen;
  const wall = Math.floor(now);
  const next = wall > base.wall ? { wall, logical: 0 } : base.logical < MAX_LOGICAL ? { wall: base.wall, logical: base.logical + 1 } : { wall: base.wall + 1, logical: 0 };
  // Past the largest encodable time (a corrupt or absurd stored time): refuse, and do not let it
  // become the process's last timestamp, which every later operation of any data type would inherit.
  if (next.wall > MAX_WALL) throw corrupt(`no timestamp after ${encodeTimestamp(base)} fits ${WALL_DIGITS} hex digits`);
  lastIssued = next;
  return next;
}

/** Fixed-width lower-case hex, so that text order is time order (usable in tree entry names). */
export function encodeTimestamp(t: Timestamp): string {
  return t.wall.toString(16).padStart(WALL_DIGITS, "0") + t.logical.toString(16).padStart(LOGICAL_DIGITS, "0");
}

const pattern = new RegExp(`^[0-9a-f]{${WALL_DIGITS}}[0-9a-f]{${LOGICAL_DIGITS}}$`);

/** The timestamp of {@link encodeTimestamp}'s text; CORRUPT when it is not one. */
export function decodeTimestamp(text: string): Timestamp {
  if (!pattern.test(text)) throw corrupt(`not a timestamp: ${JSON.stringify(text.slice(0, 40))}`);
  return { wall: parseInt(text.slice(0, WALL_DIGITS), 16), logical: parseInt(text.slice(WALL_DIGITS), 16) };
}

/** INVALID_ARGUMENT unless `now` is a usable wall-clock time. */
export function checkWallClock(now: number): number {
  if (!Number.isFinite(now) || now < 0 || now >= 16 ** WALL_DIGITS) throw invalidArgument(`not a wall-clock time: ${now}`);
  return now;
}
