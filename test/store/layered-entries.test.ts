import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { LayeredEntries } from "../../src/tree/layered-entries.js";
import type { Child } from "../../src/tree/node.js";

const leaf = (n: number): Child => ({ kind: "contents", mode: "100644", hash: n.toString(16).padStart(40, "0") });
const sorted = (m: ReadonlyMap<string, Child>) => [...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

/** Every way to read a map, checked against a plain Map holding the same entries. */
function expectSame(actual: Map<string, Child>, model: Map<string, Child>, probes: readonly string[]): void {
  expect(actual.size).toBe(model.size);
  expect(sorted(actual)).toEqual(sorted(model));
  expect([...actual.keys()].sort()).toEqual([...model.keys()].sort());
  expect([...actual.values()].length).toBe(model.size);
  const seen: string[] = [];
  actual.forEach((child, name, map) => {
    expect(map).toBe(actual);
    expect(child).toBe(model.get(name));
    seen.push(name);
  });
  expect(seen.length).toBe(model.size);
  expect(sorted(new Map(actual))).toEqual(sorted(model));
  for (const p of probes) {
    expect(actual.get(p)).toBe(model.get(p));
    expect(actual.has(p)).toBe(model.has(p));
  }
}

describe("LayeredEntries", () => {
  it("reads as the plain Map it stands for, through chains of versions and changes in place, and never changes a version it was derived from", () => {
    const names = fc.integer({ min: 0, max: 299 }).map((i) => `n${i}`);
    const op = fc.oneof(
      fc.record({ kind: fc.constant("derive" as const), name: names, value: fc.option(fc.nat(), { nil: undefined }), from: fc.nat() }),
      fc.record({ kind: fc.constant("inPlace" as const), name: names, value: fc.option(fc.nat(), { nil: undefined }) }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 250 }), fc.array(op, { maxLength: 300 }), (initial, ops) => {
        const first = new Map<string, Child>(Array.from({ length: initial }, (_, i) => [`n${i}`, leaf(i)] as const));
        // Every version derived so far, with the plain Map it must read as (and a frozen copy of it).
        const versions: { map: Map<string, Child>; model: Map<string, Child>; frozen: [string, Child][] }[] = [{ map: first, model: new Map(first), frozen: sorted(first) }];
        // The latest version is changed in place by `inPlace` (a builder's own node).
        let current = { map: new Map(first) as Map<string, Child>, model: new Map(first) };
        for (const o of ops) {
          if (o.kind === "derive") {
            const from = versions[o.from % versions.length];
            const child = o.value === undefined ? undefined : leaf(o.value);
            const map = LayeredEntries.derive(from.map, o.name, child);
            const model = new Map(from.model);
            if (child === undefined) model.delete(o.name);
            else model.set(o.name, child);
            versions.push({ map, model, frozen: sorted(model) });
            current = { map: LayeredEntries.derive(map, "unused", undefined), model: new Map(model) };
          } else {
            if (o.value === undefined) {
              expect(current.map.delete(o.name)).toBe(current.model.delete(o.name));
            } else {
              const child = leaf(o.value);
              expect(current.map.set(o.name, child)).toBe(current.map);
              current.model.set(o.name, child);
            }
          }
        }
        const probes = Array.from({ length: 300 }, (_, i) => `n${i}`);
        expectSame(current.map, current.model, probes);
        for (const v of versions) {
          expectSame(v.map, v.model, probes);
          expect(sorted(v.map)).toEqual(v.frozen);
        }
      }),
      { numRuns: 150 },
    );
  });

  it("shares a large directory instead of copying it, and merges its changes into a new base past about √n of them", () => {
    const base = new Map<string, Child>(Array.from({ length: 10_000 }, (_, i) => [`n${i}`, leaf(i)] as const));
    let map: Map<string, Child> = base;
    for (let i = 0; i < 100; i++) map = LayeredEntries.derive(map, `n${i}`, leaf(20_000 + i));
    expect(map).toBeInstanceOf(LayeredEntries);
    expect(map.size).toBe(10_000);
    expect(map.get("n5")).toEqual(leaf(20_005));
    expect(map.get("n500")).toBe(base.get("n500"));
    // The source is left alone.
    expect(base.get("n5")).toEqual(leaf(5));
    // A small directory is copied into a plain Map.
    const small = LayeredEntries.derive(new Map([["a", leaf(1)]]), "b", leaf(2));
    expect(small).not.toBeInstanceOf(LayeredEntries);
    expect(sorted(small)).toEqual([
      ["a", leaf(1)],
      ["b", leaf(2)],
    ]);
    const cleared = LayeredEntries.derive(base, "n1", undefined);
    cleared.clear();
    expect(cleared.size).toBe(0);
    expect([...cleared]).toEqual([]);
    expect(base.size).toBe(10_000);
  });
});
