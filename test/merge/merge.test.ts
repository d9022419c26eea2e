import { describe, it, expect } from "vitest";
import fc from "fast-check";
import { Merge, type MergeResult } from "../../src/merge/merge.js";
import { deepEqual } from "../../src/merge/equal.js";
import { isIrminError } from "../../src/core/errors.js";

function value<V>(r: MergeResult<V>): V {
  if (!r.ok) throw new Error(`unexpected conflict: ${r.conflict}`);
  return r.value;
}

function conflictOf<V>(r: MergeResult<V>): string {
  if (r.ok) throw new Error(`expected a conflict, got ${JSON.stringify(r.value)}`);
  return r.conflict;
}

function throwsCode(f: () => unknown, code: "INVALID_ARGUMENT"): boolean {
  try {
    f();
    return false;
  } catch (e) {
    return isIrminError(e, code);
  }
}

describe("Merge.ok / Merge.conflict", () => {
  it("build results", () => {
    expect(Merge.ok(3)).toEqual({ ok: true, value: 3 });
    expect(Merge.conflict("x")).toEqual({ ok: false, conflict: "x" });
  });
});

describe("Merge.idempotent", () => {
  it("succeeds only on equal sides", () => {
    const m = Merge.idempotent<number[]>();
    expect(value(m([0], [1, 2], [1, 2]))).toEqual([1, 2]);
    expect(conflictOf(m([0], [1], [0]))).toMatch(/idempotent/);
    const byLength = Merge.idempotent<string>((x, y) => x.length === y.length);
    expect(value(byLength(undefined, "ab", "cd"))).toBe("ab");
  });
});

describe("Merge.default", () => {
  const m = Merge.default<unknown>();
  it("takes the side that changed", () => {
    expect(value(m(1, 1, 2))).toBe(2);
    expect(value(m(1, 2, 1))).toBe(2);
    expect(value(m(1, 3, 3))).toBe(3);
    expect(value(m({ k: [1] }, { k: [1] }, { k: [2] }))).toEqual({ k: [2] });
  });
  it("conflicts when both changed differently, or added different values", () => {
    expect(conflictOf(m(1, 2, 3))).toMatch(/both sides changed/);
    expect(conflictOf(m(undefined, 2, 3))).toMatch(/added on both sides/);
    expect(value(m(undefined, 2, 2))).toBe(2);
  });
  it("treats undefined as absence when V includes it", () => {
    const o = Merge.default<number | undefined>();
    expect(value(o(undefined, undefined, 3))).toBe(3);
    expect(value(o(5, undefined, 5))).toBe(undefined);
  });
  it("uses the given equality", () => {
    const ci = Merge.default<string>((x, y) => x.toLowerCase() === y.toLowerCase());
    expect(value(ci("a", "A", "b"))).toBe("b");
  });
});

describe("Merge.counter", () => {
  it("adds both deltas to the ancestor", () => {
    expect(value(Merge.counter(10, 12, 7))).toBe(9);
    expect(value(Merge.counter(undefined, 2, 3))).toBe(5);
    // the criss-cross example of the Ezirmin post: virtual ancestor 3, sides 5 and 7 → 9
    expect(value(Merge.counter(value(Merge.counter(0, 1, 2)), 5, 7))).toBe(9);
  });
});

describe("Merge.option", () => {
  const m = Merge.option(Merge.counter);
  it("handles absence on either side", () => {
    expect(value(m(undefined, undefined, undefined))).toBe(undefined);
    expect(value(m(undefined, 4, undefined))).toBe(4); // added on one side
    expect(value(m(undefined, undefined, 4))).toBe(4);
    expect(value(m(3, 3, undefined))).toBe(undefined); // removed, unchanged on the other side
    expect(value(m(3, undefined, 3))).toBe(undefined);
    expect(value(m(3, 5, 6))).toBe(8); // both present: the inner merge
    expect(value(m(undefined, 5, 6))).toBe(11);
  });
  it("conflicts on a change against a removal", () => {
    expect(conflictOf(m(3, 4, undefined))).toMatch(/changed on one side and removed/);
    expect(conflictOf(m(3, undefined, 4))).toMatch(/changed on one side and removed/);
  });
  it("takes null (and other falsy values) as values, whatever the side", () => {
    const d = Merge.option(Merge.default<number | null>());
    expect(value(d(undefined, null, undefined))).toBe(null); // added on a
    expect(value(d(undefined, undefined, null))).toBe(null); // added on b
    expect(conflictOf(d(5, null, undefined))).toMatch(/changed on one side and removed/);
    expect(conflictOf(d(5, undefined, null))).toMatch(/changed on one side and removed/);
    expect(value(d(null, null, undefined))).toBe(undefined); // removed, unchanged on the other side
    expect(value(d(null, undefined, null))).toBe(undefined);
    expect(conflictOf(d(null, 0, undefined))).toMatch(/changed on one side and removed/);
    expect(value(d(undefined, 0, undefined))).toBe(0);
  });
});

describe("Merge.object / Merge.map", () => {
  const m = Merge.object(Merge.counter);
  it("merges per key, with additions and removals", () => {
    expect(value(m({ a: 1, b: 1, c: 1 }, { a: 3, b: 1, d: 1 }, { a: 2, c: 1, e: 5 }))).toEqual({ a: 4, d: 1, e: 5 });
    expect(value(m(undefined, { a: 1 }, { a: 2, b: 1 }))).toEqual({ a: 3, b: 1 });
  });
  it("names every conflicting key", () => {
    const c = conflictOf(m({ x: 1, y: 1, z: 1 }, { x: 2, z: 2 }, { x: 1, y: 2 }));
    expect(c).toMatch(/"y"/);
    expect(c).toMatch(/"z"/);
    expect(c).not.toMatch(/"x"/);
  });
  it("keeps keys holding null, whatever the side", () => {
    const o = Merge.object(Merge.default<number | null>());
    expect(value(o({}, { x: null }, { y: 1 }))).toEqual({ x: null, y: 1 });
    expect(value(o({}, { y: 1 }, { x: null }))).toEqual({ y: 1, x: null });
    expect(conflictOf(o({ x: 5 }, { x: null }, {}))).toMatch(/key "x"/);
    expect(conflictOf(o({ x: 5 }, {}, { x: null }))).toMatch(/key "x"/);
    const mm = Merge.map<string, number | null>(Merge.default<number | null>());
    expect([...value(mm(new Map(), new Map([["x", null]]), new Map([["y", 1]])))]).toEqual([["x", null], ["y", 1]]);
    expect([...value(mm(new Map(), new Map([["y", 1]]), new Map([["x", null]])))]).toEqual([["y", 1], ["x", null]]);
  });
  it("keeps a __proto__ key as data", () => {
    const a = JSON.parse('{"__proto__": 1}') as Record<string, number>;
    const r = value(m(undefined, a, {}));
    expect(Object.getPrototypeOf(r)).toBe(Object.prototype);
    expect(Object.keys(r)).toEqual(["__proto__"]);
  });
  it("does the same for Maps with non-string keys", () => {
    const mm = Merge.map<number, number>(Merge.counter);
    const r = value(mm(new Map([[1, 1], [2, 2]]), new Map([[1, 5], [2, 2]]), new Map([[1, 1], [3, 3]])));
    expect([...r]).toEqual([[1, 5], [3, 3]]);
    expect(conflictOf(mm(new Map([[7, 1]]), new Map([[7, 2]]), new Map()))).toMatch(/key 7/);
  });
});

describe("Merge.set", () => {
  const m = Merge.set<string>();
  it("is (a ∪ b) minus what either side removed", () => {
    const r = value(m(new Set(["x", "y", "z"]), new Set(["x", "y", "a"]), new Set(["y", "z", "b"])));
    expect([...r].sort()).toEqual(["a", "b", "y"]);
    expect([...value(m(undefined, new Set(["p"]), new Set(["q"])))].sort()).toEqual(["p", "q"]);
  });
});

describe("Merge.lww", () => {
  type Reg = { t: number; v: string };
  const m = Merge.lww<Reg>((r) => r.t);
  it("takes the later write, whatever the ancestor", () => {
    expect(value(m({ t: 0, v: "o" }, { t: 2, v: "a" }, { t: 1, v: "b" })).v).toBe("a");
    expect(value(m({ t: 9, v: "o" }, { t: 2, v: "a" }, { t: 3, v: "b" })).v).toBe("b");
  });
  it("breaks ties deterministically and symmetrically", () => {
    const x = { t: 1, v: "x" }, y = { t: 1, v: "y" };
    expect(value(m(undefined, x, y))).toEqual(value(m(undefined, y, x)));
    const byValue = Merge.lww<Reg>((r) => r.t, (p, q) => p.v.localeCompare(q.v));
    expect(value(byValue(undefined, x, y)).v).toBe("y");
  });
  it("accepts bigint timestamps and rejects NaN", () => {
    const big = Merge.lww<bigint>((v) => v);
    expect(value(big(undefined, 5n, 2n ** 70n))).toBe(2n ** 70n);
    expect(throwsCode(() => Merge.lww<number>(() => NaN)(undefined, 1, 2), "INVALID_ARGUMENT")).toBe(true);
  });
  it("conflicts when the tie break cannot order different values", () => {
    const m0 = Merge.lww<Reg>((r) => r.t, () => 0);
    expect(conflictOf(m0(undefined, { t: 1, v: "x" }, { t: 1, v: "y" }))).toMatch(/lww/);
  });
});

describe("Merge.seq", () => {
  it("returns the first merge that does not conflict", () => {
    const m = Merge.seq<number>(Merge.default(), Merge.counter);
    expect(value(m(1, 1, 5))).toBe(5);
    expect(value(m(1, 2, 5))).toBe(6);
    const never = Merge.seq<number>(Merge.idempotent(), Merge.default());
    expect(conflictOf(never(1, 2, 3))).toMatch(/idempotent.*default/);
  });
  it("refuses an empty sequence", () => {
    expect(throwsCode(() => Merge.seq(), "INVALID_ARGUMENT")).toBe(true);
  });
});

describe("Merge.alist", () => {
  // Irmin's generic test suite (irmin-test, test_simple_merges): per-key merges chosen by key.
  it("reproduces Irmin's compound alist merge", () => {
    const left: Merge<number | undefined> = (_o, x) => Merge.ok(x);
    const right: Merge<number | undefined> = (_o, _x, y) => Merge.ok(y);
    const skip: Merge<number | undefined> = () => Merge.ok(undefined);
    const m = Merge.alist<string, number>((k) =>
      k === "left" ? left : k === "right" ? right : k === "skip" ? skip : Merge.default());
    const old: [string, number][] = [["left", 1], ["foo", 2]];
    const x: [string, number][] = [["left", 2], ["right", 0]];
    const y: [string, number][] = [["left", 1], ["bar", 3], ["skip", 0]];
    expect(value(m(old, x, y))).toEqual([["left", 2], ["bar", 3]]);
  });
  it("merges per key with option semantics and names conflicting keys", () => {
    const m = Merge.alist<string, number>(() => Merge.option(Merge.default()));
    expect(value(m([["a", 1], ["b", 2]], [["a", 1]], [["a", 5], ["b", 2], ["c", 0]]))).toEqual([["a", 5], ["c", 0]]);
    expect(conflictOf(m([["a", 1]], [["a", 2]], [["a", 3]]))).toMatch(/key "a"/);
  });
  it("rejects duplicate keys", () => {
    const m = Merge.alist<string, number>(() => Merge.default());
    expect(throwsCode(() => m(undefined, [["a", 1], ["a", 2]], []), "INVALID_ARGUMENT")).toBe(true);
  });
});

describe("Merge.json", () => {
  it("merges objects recursively, leaves by default", () => {
    const old = { name: "n", tags: ["a"], cfg: { x: 1, y: 1, gone: true } };
    const a = { name: "n", tags: ["a", "b"], cfg: { x: 2, y: 1, gone: true } };
    const b = { name: "N", tags: ["a"], cfg: { x: 1, y: 1, z: 0 } };
    expect(value(Merge.json(old, a, b))).toEqual({ name: "N", tags: ["a", "b"], cfg: { x: 2, y: 1, z: 0 } });
  });
  it("merges objects added on both sides key by key", () => {
    expect(value(Merge.json(undefined, { a: 1 }, { b: 2 }))).toEqual({ a: 1, b: 2 });
    expect(value(Merge.json(5, { a: 1 }, { b: 2 }))).toEqual({ a: 1, b: 2 });
  });
  it("names the conflicting paths", () => {
    const c = conflictOf(Merge.json({ p: { q: 1, r: 1 } }, { p: { q: 2, r: 2 } }, { p: { q: 3 } }));
    expect(c).toMatch(/\/p\/q: both sides changed/);
    expect(c).toMatch(/\/p\/r: changed on one side and removed/);
    expect(conflictOf(Merge.json([1], [1, 2], [1, 3]))).toMatch(/json: \/:/);
  });
});

describe("Merge.string / Merge.bytes", () => {
  it("merges text line by line and reports conflicting lines", () => {
    expect(value(Merge.string("a\nb\nc\nd\n", "A\nb\nc\nd\n", "a\nb\nc\nD\n"))).toBe("A\nb\nc\nD\n");
    expect(conflictOf(Merge.string("a\nb\nc\n", "a\nX\nc\n", "a\nY\nc\n"))).toMatch(/lines 2-2 of the ancestor/);
    expect(conflictOf(Merge.string(undefined, "x", "y"))).toMatch(/insertion before line 1/);
  });
  it("merges bytes by byte equality", () => {
    const u = (...xs: number[]) => new Uint8Array(xs);
    expect(value(Merge.bytes(u(1), u(1), u(2)))).toEqual(u(2));
    expect(value(Merge.bytes(u(1), u(3), u(3)))).toEqual(u(3));
    expect(conflictOf(Merge.bytes(u(1), u(2), u(3)))).toMatch(/default/);
  });
});

// ---------------------------------------------------------------- properties

const key = fc.constantFrom("a", "b", "c", "d");
const json: fc.Arbitrary<unknown> = fc.letrec<{ v: unknown }>((tie) => ({
  v: fc.oneof(
    { depthSize: "small" },
    fc.constantFrom(0, 1, 2, "x", "y", true, null),
    fc.array(fc.constantFrom(0, 1), { maxLength: 2 }),
    fc.dictionary(key, tie("v"), { maxKeys: 4 }),
  ),
})).v;
const counterMap = fc.dictionary(key, fc.integer({ min: -5, max: 5 }), { maxKeys: 4 });
const stringSet = fc.uniqueArray(fc.constantFrom("p", "q", "r", "s", "t"), { maxLength: 5 }).map((xs) => new Set(xs) as ReadonlySet<string>);
const text = fc.array(fc.constantFrom("a\n", "b\n", "c\n", "d\n", "e"), { maxLength: 8 }).map((ls) => ls.join(""));
const mapArb = counterMap.map((o) => new Map(Object.entries(o)));
// null is a value, present on a side like any other (never taken for an absent key).
const nullable = fc.constantFrom(null, 0, 1, "");
const nullableMap = fc.dictionary(key, nullable, { maxKeys: 4 });
const alistArb = counterMap.map((o) => Object.entries(o));

interface Law<V> {
  name: string;
  m: Merge<V>;
  arb: fc.Arbitrary<V>;
  eq: (x: V, y: V) => boolean;
  idempotentSides: boolean; // merge(old, x, x) = x (false for counters: both sides counted)
}

const setEq = (x: ReadonlySet<string>, y: ReadonlySet<string>) => x.size === y.size && [...x].every((e) => y.has(e));
// Each law keeps its own V; the table erases it once, here.
const erase = <V>(l: Law<V>): Law<unknown> => l as unknown as Law<unknown>;
const laws: Law<unknown>[] = [
  erase({ name: "counter", m: Merge.counter, arb: fc.integer({ min: -100, max: 100 }), eq: Object.is, idempotentSides: false }),
  erase({ name: "default", m: Merge.default(), arb: json, eq: deepEqual, idempotentSides: true }),
  erase({ name: "set", m: Merge.set<string>(), arb: stringSet, eq: setEq, idempotentSides: true }),
  erase({ name: "json", m: Merge.json, arb: json, eq: deepEqual, idempotentSides: true }),
  erase({ name: "string", m: Merge.string, arb: text, eq: Object.is, idempotentSides: true }),
  erase({ name: "object(counter)", m: Merge.object(Merge.counter), arb: counterMap, eq: deepEqual, idempotentSides: false }),
  erase({ name: "map(default)", m: Merge.map(Merge.default()), arb: mapArb, eq: deepEqual, idempotentSides: true }),
  erase({ name: "option(default) with null", m: Merge.option(Merge.default()), arb: fc.option(nullable, { nil: undefined }), eq: deepEqual, idempotentSides: true }),
  erase({ name: "object(default) with null", m: Merge.object(Merge.default()), arb: nullableMap, eq: deepEqual, idempotentSides: true }),
  erase({ name: "map(default) with null", m: Merge.map(Merge.default()), arb: nullableMap.map((o) => new Map(Object.entries(o))), eq: deepEqual, idempotentSides: true }),
  erase({
    name: "alist(option(default))", m: Merge.alist<string, number>(() => Merge.option(Merge.default())), arb: alistArb,
    eq: (x, y) => deepEqual(new Map(x), new Map(y)), idempotentSides: true,
  }),
];

describe("merge laws", () => {
  for (const law of laws) {
    it(`${law.name}: an unchanged side yields the other side`, () => {
      fc.assert(fc.property(fc.option(law.arb, { nil: undefined }), law.arb, (old, x) => {
        if (old === undefined) return; // "unchanged" needs an ancestor
        expect(law.eq(value(law.m(old, x, old)), x)).toBe(true);
        expect(law.eq(value(law.m(old, old, x)), x)).toBe(true);
        if (law.idempotentSides) expect(law.eq(value(law.m(old, x, x)), x)).toBe(true);
      }), { numRuns: 200 });
    });

    it(`${law.name}: is symmetric in the two sides`, () => {
      fc.assert(fc.property(fc.option(law.arb, { nil: undefined }), law.arb, law.arb, (old, a, b) => {
        const ab = law.m(old, a, b), ba = law.m(old, b, a);
        expect(ab.ok).toBe(ba.ok);
        if (ab.ok && ba.ok) expect(law.eq(ab.value, ba.value)).toBe(true);
      }), { numRuns: 300 });
    });
  }

  it("json: both sides' independent key edits both survive", () => {
    fc.assert(fc.property(counterMap, key, key, fc.integer(), fc.integer(), (old, ka, kb, va, vb) => {
      fc.pre(ka !== kb);
      const a = { ...old, [ka]: va }, b = { ...old, [kb]: vb };
      const r = value(Merge.json(old, a, b)) as Record<string, number>;
      expect(r[ka]).toBe(va);
      expect(r[kb]).toBe(vb);
    }));
  });

  it("set and counter merges never conflict", () => {
    fc.assert(fc.property(fc.option(stringSet, { nil: undefined }), stringSet, stringSet, (o, a, b) => {
      expect(Merge.set<string>()(o, a, b).ok).toBe(true);
    }));
  });
});
