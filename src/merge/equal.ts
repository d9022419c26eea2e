/**
 * Structural equality used by the merge combinators when the caller gives no `equal` function.
 *
 * Merges must be deterministic, so "the same value" has to mean the same thing on every replica:
 * identity (`===`) would make two decoded copies of one blob differ.
 */

/** True when `x` and `y` hold the same bytes. Cost O(length). */
export function bytesEqual(x: Uint8Array, y: Uint8Array): boolean {
  if (x === y) return true;
  if (x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

function isPlainObject(v: object): boolean {
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

/**
 * Deep structural equality for the values a store holds: primitives (`NaN` equals `NaN`, `+0`
 * equals `-0`, as JSON sees them), arrays, plain objects (key order ignored), `Uint8Array`s and
 * other typed arrays (element-wise), `Map`s (same keys by SameValueZero, deep-equal values),
 * `Set`s (same members by SameValueZero) and `Date`s. Any other object is equal only to itself.
 * Cost O(size of the values); cyclic values are not supported.
 */
export function deepEqual(x: unknown, y: unknown): boolean {
  if (x === y) return true;
  if (typeof x !== typeof y) return false;
  if (typeof x === "number") return Number.isNaN(x) && Number.isNaN(y as number);
  if (typeof x !== "object" || x === null || y === null) return false;
  const yo = y as object;
  if (Array.isArray(x)) {
    if (!Array.isArray(yo) || x.length !== yo.length) return false;
    for (let i = 0; i < x.length; i++) if (!deepEqual(x[i], yo[i])) return false;
    return true;
  }
  if (Array.isArray(yo)) return false;
  if (ArrayBuffer.isView(x)) {
    if (!ArrayBuffer.isView(yo) || x.constructor !== yo.constructor) return false;
    const xb = new Uint8Array(x.buffer, x.byteOffset, x.byteLength);
    const yb = new Uint8Array(yo.buffer, yo.byteOffset, yo.byteLength);
    return bytesEqual(xb, yb);
  }
  if (x instanceof Map) {
    if (!(yo instanceof Map) || x.size !== yo.size) return false;
    for (const [k, v] of x) if (!yo.has(k) || !deepEqual(v, yo.get(k))) return false;
    return true;
  }
  if (x instanceof Set) {
    if (!(yo instanceof Set) || x.size !== yo.size) return false;
    for (const k of x) if (!yo.has(k)) return false;
    return true;
  }
  if (x instanceof Date) return yo instanceof Date && Object.is(x.getTime(), yo.getTime());
  if (!isPlainObject(x) || !isPlainObject(yo)) return false;
  const xr = x as Record<string, unknown>;
  const yr = yo as Record<string, unknown>;
  const keys = Object.keys(xr);
  if (keys.length !== Object.keys(yr).length) return false;
  for (const k of keys) {
    if (!Object.prototype.hasOwnProperty.call(yr, k) || !deepEqual(xr[k], yr[k])) return false;
  }
  return true;
}
