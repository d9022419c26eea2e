/**
 * Three-way merge functions and their combinators, after Irmin's `Merge` module.
 *
 * A merge never throws on a disagreement: it returns a conflict naming what could not be
 * reconciled. It throws `INVALID_ARGUMENT` only on misuse (a malformed input or combinator).
 * Every merge here is pure, synchronous and deterministic; the ones documented as symmetric give
 * the same value for `(old, a, b)` and `(old, b, a)` (conflict texts may name the sides differently).
 */
import { invalidArgument } from "../core/errors.js";
import { canonicalJson, isPlainObject } from "./canonical-json.js";
import { diff3Merge, splitLines, type Diff3Conflict } from "./diff3.js";
import { bytesEqual, deepEqual } from "./equal.js";

/** Outcome of a merge: the merged value, or a message naming what conflicts. */
export type MergeResult<V> = { ok: true; value: V } | { ok: false; conflict: string };

/**
 * A 3-way merge: `old` is the common ancestor's value (`undefined` when it had none), `a` and `b`
 * the two versions to reconcile.
 */
export type Merge<V> = (old: V | undefined, a: V, b: V) => MergeResult<V>;

type Equal<V> = (x: V, y: V) => boolean;

function ok<V>(value: V): MergeResult<V> {
  return { ok: true, value };
}

function conflict<V>(message: string): MergeResult<V> {
  return { ok: false, conflict: message };
}

// Equality of possibly-absent values: absent only equals absent, so `undefined` is never passed to
// a caller's `equal`.
function same<V>(equal: Equal<V>, x: V | undefined, y: V | undefined): boolean {
  if (x === undefined || y === undefined) return x === y;
  return equal(x, y);
}

function idempotent<V>(equal: Equal<V> = deepEqual): Merge<V> {
  return (_old, a, b) => (equal(a, b) ? ok(a) : conflict("idempotent: the two sides hold different values"));
}

function takeChanged<V>(equal: Equal<V> = deepEqual): Merge<V> {
  return (old, a, b) => {
    if (same(equal, a, b)) return ok(a);
    if (same(equal, a, old)) return ok(b);
    if (same(equal, b, old)) return ok(a);
    return conflict(old === undefined
      ? "default: added on both sides with different values"
      : "default: both sides changed the value differently");
  };
}

const counter: Merge<number> = (old, a, b) => ok(a + b - (old ?? 0));

function option<V>(m: Merge<V>, equal: Equal<V> = deepEqual): Merge<V | undefined> {
  return (old, a, b) => {
    if (a !== undefined && b !== undefined) return m(old, a, b);
    if (a === undefined && b === undefined) return ok(undefined);
    // Only `undefined` is absent: `null`, 0 or "" on one side is a value, not a removal.
    const kept = (a !== undefined ? a : b) as V;
    if (old === undefined) return ok(kept);
    if (equal(kept, old)) return ok(undefined);
    return conflict("option: changed on one side and removed on the other");
  };
}

// Merges one key of a keyed collection with option semantics; `undefined` means absent.
function mergeEntry<V>(m: Merge<V>, equal: Equal<V>, old: V | undefined, a: V | undefined, b: V | undefined): MergeResult<V | undefined> {
  return option(m, equal)(old, a, b);
}

function describeKey(k: unknown): string {
  if (typeof k === "string") return JSON.stringify(k);
  if (typeof k === "number" || typeof k === "boolean" || typeof k === "bigint" || k == null) return String(k);
  return typeof k;
}

function object<V>(m: Merge<V>, equal: Equal<V> = deepEqual): Merge<Record<string, V>> {
  return (old, a, b) => {
    const has = Object.prototype.hasOwnProperty;
    const out: [string, V][] = [];
    const problems: string[] = [];
    const visit = (k: string): void => {
      const ov = old !== undefined && has.call(old, k) ? old[k] : undefined;
      const av = has.call(a, k) ? a[k] : undefined;
      const bv = has.call(b, k) ? b[k] : undefined;
      const r = mergeEntry(m, equal, ov, av, bv);
      if (!r.ok) problems.push(`key ${describeKey(k)}: ${r.conflict}`);
      else if (r.value !== undefined) out.push([k, r.value]);
    };
    for (const k of Object.keys(a)) visit(k);
    for (const k of Object.keys(b)) if (!has.call(a, k)) visit(k);
    if (problems.length > 0) return conflict(`object: ${problems.join("; ")}`);
    // fromEntries defines own properties, so a "__proto__" key stays data.
    return ok(Object.fromEntries(out) as Record<string, V>);
  };
}

function map<K, V>(m: Merge<V>, equal: Equal<V> = deepEqual): Merge<Map<K, V>> {
  return (old, a, b) => {
    const out = new Map<K, V>();
    const problems: string[] = [];
    const visit = (k: K): void => {
      const r = mergeEntry(m, equal, old?.get(k), a.get(k), b.get(k));
      if (!r.ok) problems.push(`key ${describeKey(k)}: ${r.conflict}`);
      else if (r.value !== undefined) out.set(k, r.value);
    };
    for (const k of a.keys()) visit(k);
    for (const k of b.keys()) if (!a.has(k)) visit(k);
    return problems.length > 0 ? conflict(`map: ${problems.join("; ")}`) : ok(out);
  };
}

function set<V>(): Merge<ReadonlySet<V>> {
  return (old, a, b) => {
    const out = new Set<V>();
    // Kept from a: what a added, and what all three share (b did not remove it).
    for (const x of a) if (old === undefined || !old.has(x) || b.has(x)) out.add(x);
    // Added by b.
    for (const x of b) if (!a.has(x) && (old === undefined || !old.has(x))) out.add(x);
    return ok(out);
  };
}

function checkTimestamp(t: number | bigint): number | bigint {
  if (typeof t === "bigint") return t;
  if (typeof t === "number" && !Number.isNaN(t)) return t;
  throw invalidArgument(`lww: timestamp must be a number or a bigint, got ${String(t)}`);
}

// A total order for the values stores hold, so that equal timestamps still pick a winner
// deterministically: bytes lexicographically, anything else by its canonical JSON text.
function defaultTieBreak(x: unknown, y: unknown): number {
  if (x instanceof Uint8Array && y instanceof Uint8Array) {
    const n = Math.min(x.length, y.length);
    for (let i = 0; i < n; i++) if (x[i] !== y[i]) return x[i] - y[i];
    return x.length - y.length;
  }
  let sx: string, sy: string;
  try {
    sx = canonicalJson(x);
    sy = canonicalJson(y);
  } catch {
    return 0;
  }
  return sx < sy ? -1 : sx > sy ? 1 : 0;
}

function lww<V>(timestamp: (v: V) => number | bigint, tieBreak: (x: V, y: V) => number = defaultTieBreak): Merge<V> {
  return (_old, a, b) => {
    const ta = checkTimestamp(timestamp(a));
    const tb = checkTimestamp(timestamp(b));
    if (ta > tb) return ok(a);
    if (tb > ta) return ok(b);
    if (deepEqual(a, b)) return ok(a);
    const c = tieBreak(a, b);
    if (c > 0) return ok(a);
    if (c < 0) return ok(b);
    return conflict("lww: both sides have the same timestamp and the tie break cannot order them");
  };
}

function seq<V>(...merges: Merge<V>[]): Merge<V> {
  if (merges.length === 0) throw invalidArgument("Merge.seq needs at least one merge");
  return (old, a, b) => {
    const messages: string[] = [];
    for (const m of merges) {
      const r = m(old, a, b);
      if (r.ok) return r;
      messages.push(r.conflict);
    }
    return conflict(`seq: every merge conflicts (${messages.join(" | ")})`);
  };
}

function indexAlist<K, V>(list: readonly (readonly [K, V])[], side: string): Map<K, V> {
  const index = new Map<K, V>();
  for (const [k, v] of list) {
    if (index.has(k)) throw invalidArgument(`Merge.alist: duplicate key ${describeKey(k)} in ${side}`);
    index.set(k, v);
  }
  return index;
}

function alist<K, V>(mergeFor: (key: K) => Merge<V | undefined>): Merge<[K, V][]> {
  return (old, a, b) => {
    const oi = indexAlist(old ?? [], "the ancestor");
    const ai = indexAlist(a, "a");
    const bi = indexAlist(b, "b");
    const out: [K, V][] = [];
    const problems: string[] = [];
    const visit = (k: K): void => {
      const r = mergeFor(k)(oi.get(k), ai.get(k), bi.get(k));
      if (!r.ok) problems.push(`key ${describeKey(k)}: ${r.conflict}`);
      else if (r.value !== undefined) out.push([k, r.value]);
    };
    for (const k of ai.keys()) visit(k);
    for (const k of bi.keys()) if (!ai.has(k)) visit(k);
    return problems.length > 0 ? conflict(`alist: ${problems.join("; ")}`) : ok(out);
  };
}

function mergeJson(old: unknown, a: unknown, b: unknown, path: string): MergeResult<unknown> {
  if (deepEqual(a, b)) return ok(a);
  if (old !== undefined && deepEqual(a, old)) return ok(b);
  if (old !== undefined && deepEqual(b, old)) return ok(a);
  const where = path === "" ? "/" : path;
  if (!isPlainObject(a) || !isPlainObject(b)) {
    return conflict(`json: ${where}: both sides changed the value differently`);
  }
  // An absent or non-object ancestor has no keys: every key is then an addition.
  const o = isPlainObject(old) ? old : {};
  const has = Object.prototype.hasOwnProperty;
  const out: [string, unknown][] = [];
  const problems: string[] = [];
  const visit = (k: string): void => {
    const sub = `${path}/${k}`;
    const ov = has.call(o, k) ? o[k] : undefined;
    const inA = has.call(a, k), inB = has.call(b, k);
    if (inA && inB) {
      const r = mergeJson(ov, a[k], b[k], sub);
      if (r.ok) out.push([k, r.value]);
      else problems.push(r.conflict);
      return;
    }
    const kept = inA ? a[k] : b[k];
    if (ov === undefined) out.push([k, kept]);
    else if (!deepEqual(kept, ov)) problems.push(`json: ${sub}: changed on one side and removed on the other`);
  };
  for (const k of Object.keys(a)) visit(k);
  for (const k of Object.keys(b)) if (!has.call(a, k)) visit(k);
  return problems.length > 0 ? conflict(problems.join("; ")) : ok(Object.fromEntries(out));
}

const json: Merge<unknown> = (old, a, b) => mergeJson(old, a, b, "");

function describeLines(start: number, end: number): string {
  return end > start ? `lines ${start + 1}-${end}` : `an insertion before line ${start + 1}`;
}

function describeConflict(c: Diff3Conflict): string {
  return `${describeLines(c.oldStart, c.oldEnd)} of the ancestor (a: ${describeLines(c.aStart, c.aEnd)}, b: ${describeLines(c.bStart, c.bEnd)})`;
}

const string: Merge<string> = (old, a, b) => {
  if (a === b || old === b) return ok(a);
  if (old === a) return ok(b);
  const r = diff3Merge(splitLines(old ?? ""), splitLines(a), splitLines(b));
  if (r.ok) return ok(r.lines.join(""));
  return conflict(`string: both sides changed the same lines differently: ${r.conflicts.map(describeConflict).join("; ")}`);
};

/**
 * The merge functions and combinators. Values compare with {@link deepEqual} unless an `equal`
 * is given. All are pure, synchronous and deterministic.
 */
export const Merge = {
  /** A successful result holding `value`. */
  ok,
  /** A conflict result; `message` should name what conflicts. */
  conflict,
  /** Succeeds only when both sides are equal (ignores the ancestor). Symmetric. O(equal). */
  idempotent,
  /**
   * Takes the side that changed: equal sides give `a`; a side equal to the ancestor yields the
   * other; otherwise a conflict (also when both added different values with no ancestor). Symmetric.
   */
  default: takeChanged,
  /** Counter deltas add up: `old + (a − old) + (b − old)`, `old` absent counting as 0. Symmetric. */
  counter,
  /**
   * Lifts `m` to possibly-absent values (only `undefined` is absent; `null` is a value like any
   * other): both absent → absent; both present → `m`;
   * present on one side only → added (absent in the ancestor), removed (unchanged on the other
   * side), or a conflict (changed on one side, removed on the other). Symmetric when `m` is.
   */
  option,
  /**
   * Per-key merge of plain objects with {@link Merge.option} semantics for added and removed keys
   * (a key is absent when it is not an own property or holds `undefined`; a `null` is kept);
   * keys absent from both sides are dropped. Result keys: `a`'s order, then `b`'s new keys. The
   * conflict names every conflicting key. Symmetric (as values) when `m` is. O(keys).
   */
  object,
  /** As {@link Merge.object}, for `Map`s (keys compared by SameValueZero). */
  map,
  /**
   * Set merge that never conflicts: `(a ∪ b)` minus what either side removed since `old`
   * (no ancestor = empty). Members compare by SameValueZero. Symmetric. O(|a| + |b|).
   */
  set,
  /**
   * Last writer wins: the greater `timestamp` wins; on equal timestamps, equal values merge, else
   * `tieBreak(a, b)` decides (> 0: a, < 0: b, 0: conflict). The default tie break orders bytes
   * lexicographically and other values by canonical JSON. Symmetric when `tieBreak` is
   * antisymmetric. Throws `INVALID_ARGUMENT` on a NaN or non-numeric timestamp.
   */
  lww,
  /** The first of `merges` that does not conflict; throws `INVALID_ARGUMENT` when given none. */
  seq,
  /**
   * Merges association lists `[key, value][]` key by key: `mergeFor(key)` receives the ancestor's,
   * `a`'s and `b`'s value for that key (`undefined` when absent) and returns the merged value
   * (`undefined` removes the key). Keys present only in the ancestor were removed on both sides
   * and are dropped without calling `mergeFor`. Result order: `a`'s keys, then `b`'s new keys.
   * Throws `INVALID_ARGUMENT` on a duplicate key. O(length).
   */
  alist,
  /**
   * Recursive merge of JSON values: plain objects merge per key (added/removed keys as in
   * {@link Merge.option}), everything else (arrays included) by {@link Merge.default} with
   * structural equality. Conflicts name the JSON paths. Symmetric.
   */
  json,
  /**
   * Line-based 3-way merge (diff3, see `diff3Merge`): conflicts only where both sides changed the
   * same lines differently, inserted different lines at the same place, or one inserted inside
   * lines the other changed. Changes to adjacent lines merge (git would refuse them); an insertion
   * at the start of the other side's change goes before its new lines, at the end after them.
   * Keeps line endings and the final newline. No ancestor = empty text. Symmetric. O((N + M) · D).
   */
  string,
  /** {@link Merge.default} with byte equality. */
  bytes: takeChanged<Uint8Array>(bytesEqual),
};
