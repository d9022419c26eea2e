import { describe, expect, it } from "vitest";
import fc from "fast-check";
import type { Backend } from "../../src/backend/backend.js";
import type { RefChange } from "../../src/backend/ref-store.js";
import { hashObject } from "../../src/codec/object.js";
import type { HashAlgorithm } from "../../src/core/hash.js";
import type { BackendFactory } from "./factory.js";
import { bytes, expectCode, settle, withAlgorithm } from "./helpers.js";

const BAD_NAMES = ["main", "", "refs/heads/a..b", "refs/heads/x.lock", "refs/heads/", "refs/heads/a b", "refs//x", "refs/heads/.hidden", "refs/heads/a~1", "/refs/heads/x"];

/**
 * The `RefStore` contract (src/backend/ref-store.ts): reads, writes, compare-and-set, listing,
 * the symbolic `HEAD`, watches, and races between writers of one instance.
 */
export function refStoreConformance(factory: BackendFactory): void {
  describe(`${factory.name}: ref store`, () => {
    for (const algorithm of ["sha1", "sha256"] as const) {
      describe(algorithm, () => {
        // A ref names an object the store has (git's update-ref refuses others): the ids the
        // tests set refs to are blobs stored first.
        const names = [..."0123456789x", ...Array.from({ length: 40 }, (_, i) => `${Math.floor(i / 8)}:${i % 8}`)];
        const run = (title: string, fn: (b: Backend, ids: (s: string) => string) => Promise<void>) =>
          it(title, () =>
            withAlgorithm(factory, algorithm, async (b) => {
              await b.objects.putMany(names.map((s) => ({ type: "blob" as const, data: bytes(s) })));
              await fn(b, (s) => hashObject(algorithm, "blob", bytes(s)));
            }),
          );

        run("a ref is not set to an object the store does not have: NOT_FOUND, nothing changes", async (b, id) => {
          const absent = hashObject(algorithm, "blob", bytes("never stored"));
          await expectCode(b.refs.set("refs/heads/main", absent), "NOT_FOUND");
          await expectCode(b.refs.testAndSet("refs/heads/main", undefined, absent), "NOT_FOUND");
          expect(await b.refs.get("refs/heads/main")).toBeUndefined();
          await b.refs.set("refs/heads/main", id("1"));
          await expectCode(b.refs.testAndSet("refs/heads/main", id("1"), absent), "NOT_FOUND");
          expect(await b.refs.get("refs/heads/main")).toBe(id("1"));
        });

        run("absent refs read as undefined; set then get", async (b, id) => {
          expect(await b.refs.get("refs/heads/main")).toBeUndefined();
          await b.refs.set("refs/heads/main", id("1"));
          expect(await b.refs.get("refs/heads/main")).toBe(id("1"));
          await b.refs.set("refs/heads/main", id("2"));
          expect(await b.refs.get("refs/heads/main")).toBe(id("2"));
        });

        run("testAndSet: create, mismatch, update, delete", async (b, id) => {
          const r = "refs/heads/cas";
          expect(await b.refs.testAndSet(r, id("x"), id("1"))).toBe(false);
          expect(await b.refs.get(r)).toBeUndefined();
          expect(await b.refs.testAndSet(r, undefined, id("1"))).toBe(true);
          expect(await b.refs.testAndSet(r, undefined, id("2"))).toBe(false);
          expect(await b.refs.testAndSet(r, id("9"), id("2"))).toBe(false);
          expect(await b.refs.get(r)).toBe(id("1"));
          expect(await b.refs.testAndSet(r, id("1"), id("2"))).toBe(true);
          expect(await b.refs.get(r)).toBe(id("2"));
          expect(await b.refs.testAndSet(r, id("1"), undefined)).toBe(false);
          expect(await b.refs.testAndSet(r, id("2"), undefined)).toBe(true);
          expect(await b.refs.get(r)).toBeUndefined();
          expect(await b.refs.testAndSet(r, undefined, undefined)).toBe(true);
          expect(await b.refs.list()).toEqual([]);
        });

        run("a ref cannot be created where another ref is its directory or below it (git's rule)", async (b, id) => {
          await b.refs.set("refs/heads/a", id("1"));
          await expectCode(b.refs.set("refs/heads/a/b", id("2")), "INVALID_ARGUMENT");
          await expectCode(b.refs.testAndSet("refs/heads/a/b", undefined, id("2")), "INVALID_ARGUMENT");
          await b.refs.set("refs/heads/x/y", id("3"));
          await expectCode(b.refs.set("refs/heads/x", id("4")), "INVALID_ARGUMENT");
          await b.refs.set("refs/heads/a", id("5")); // updating an existing ref is fine
          await b.refs.remove("refs/heads/a");
          await b.refs.set("refs/heads/a/b", id("2"));
          expect((await b.refs.list("refs/heads/")).map((e) => e.name)).toEqual(["refs/heads/a/b", "refs/heads/x/y"]);
        });

        run("remove deletes, and is a no-op on an absent ref", async (b, id) => {
          await b.refs.remove("refs/heads/none");
          await b.refs.set("refs/tags/v1", id("1"));
          await b.refs.remove("refs/tags/v1");
          expect(await b.refs.get("refs/tags/v1")).toBeUndefined();
          expect(await b.refs.list()).toEqual([]);
        });

        run("list is sorted, filtered by prefix, and excludes HEAD", async (b, id) => {
          const names = ["refs/tags/v1", "refs/heads/main", "refs/heads/feature/x", "refs/heads/fe", "refs/remotes/origin/main", "refs/heads/z"];
          for (const [i, n] of names.entries()) await b.refs.set(n, id(String(i)));
          const all = await b.refs.list();
          expect(all.map((e) => e.name)).toEqual([...names].sort());
          expect(all.find((e) => e.name === "refs/tags/v1")?.hash).toBe(id("0"));
          expect((await b.refs.list("refs/heads/")).map((e) => e.name)).toEqual(["refs/heads/fe", "refs/heads/feature/x", "refs/heads/main", "refs/heads/z"]);
          expect((await b.refs.list("refs/heads/fe")).map((e) => e.name)).toEqual(["refs/heads/fe", "refs/heads/feature/x"]);
          expect((await b.refs.list("refs/tags/")).map((e) => e.name)).toEqual(["refs/tags/v1"]);
          expect(await b.refs.list("refs/notes/")).toEqual([]);
        });

        run("HEAD is symbolic to refs/heads/main and follows its target", async (b, id) => {
          expect(await b.refs.getSymbolic("HEAD")).toBe("refs/heads/main");
          expect(await b.refs.get("HEAD")).toBeUndefined();
          await b.refs.set("refs/heads/main", id("1"));
          expect(await b.refs.get("HEAD")).toBe(id("1"));
          await b.refs.set("HEAD", id("2"));
          expect(await b.refs.get("refs/heads/main")).toBe(id("2"));
          expect(await b.refs.testAndSet("HEAD", id("2"), id("3"))).toBe(true);
          expect(await b.refs.get("refs/heads/main")).toBe(id("3"));
          await b.refs.setSymbolic("HEAD", "refs/heads/dev");
          expect(await b.refs.getSymbolic("HEAD")).toBe("refs/heads/dev");
          expect(await b.refs.get("HEAD")).toBeUndefined();
          await b.refs.set("refs/heads/dev", id("4"));
          expect(await b.refs.get("HEAD")).toBe(id("4"));
          expect((await b.refs.list()).map((e) => e.name)).toEqual(["refs/heads/dev", "refs/heads/main"]);
          await expectCode(() => b.refs.setSymbolic("HEAD", "refs/heads/a..b"), "INVALID_ARGUMENT");
        });

        run("bad ref names and bad ids are INVALID_ARGUMENT", async (b, id) => {
          const other: HashAlgorithm = algorithm === "sha1" ? "sha256" : "sha1";
          for (const name of BAD_NAMES) {
            await expectCode(() => b.refs.get(name), "INVALID_ARGUMENT");
            await expectCode(() => b.refs.set(name, id("1")), "INVALID_ARGUMENT");
            await expectCode(() => b.refs.testAndSet(name, undefined, id("1")), "INVALID_ARGUMENT");
            await expectCode(() => b.refs.remove(name), "INVALID_ARGUMENT");
          }
          for (const bad of ["", "xyz", id("1").toUpperCase(), hashObject(other, "blob", bytes("1")), 42]) {
            await expectCode(() => b.refs.set("refs/heads/main", bad as string), "INVALID_ARGUMENT");
            await expectCode(() => b.refs.testAndSet("refs/heads/main", bad as string, id("1")), "INVALID_ARGUMENT");
            await expectCode(() => b.refs.testAndSet("refs/heads/main", undefined, bad as string), "INVALID_ARGUMENT");
          }
          expect(await b.refs.list()).toEqual([]);
        });

        run("watch reports each change once, with before and after, and stops after unwatch", async (b, id) => {
          const seen: RefChange[] = [];
          const stop = b.refs.watch((c) => seen.push(c));
          const r = "refs/heads/w";
          await b.refs.set(r, id("1"));
          await b.refs.set(r, id("1")); // no change, no event
          expect(await b.refs.testAndSet(r, id("9"), id("2"))).toBe(false); // failed, no event
          expect(await b.refs.testAndSet(r, id("1"), id("2"))).toBe(true);
          await b.refs.set("HEAD", id("3")); // reported under the branch HEAD points to
          await b.refs.remove(r);
          await b.refs.remove(r);
          await settle(b);
          expect(seen).toEqual([
            { name: r, before: undefined, after: id("1") },
            { name: r, before: id("1"), after: id("2") },
            { name: "refs/heads/main", before: undefined, after: id("3") },
            { name: r, before: id("2"), after: undefined },
          ]);
          stop();
          await b.refs.set(r, id("4"));
          await settle(b);
          expect(seen).toHaveLength(4);
        });

        run("two watchers each see a change; stopping one keeps the other", async (b, id) => {
          const one: RefChange[] = [];
          const two: RefChange[] = [];
          const stopOne = b.refs.watch((c) => one.push(c));
          const stopTwo = b.refs.watch((c) => two.push(c));
          await b.refs.set("refs/heads/a", id("1"));
          stopOne();
          await b.refs.set("refs/heads/a", id("2"));
          await settle(b);
          expect(one.map((c) => c.after)).toEqual([id("1")]);
          expect(two.map((c) => c.after)).toEqual([id("1"), id("2")]);
          stopTwo();
          stopTwo();
        });

        run("racing testAndSet: exactly one writer wins each round", async (b, id) => {
          const r = "refs/heads/race";
          let current: string | undefined;
          for (let round = 0; round < 5; round++) {
            const results = await Promise.all(Array.from({ length: 8 }, (_, w) => b.refs.testAndSet(r, current, id(`${round}:${w}`))));
            expect(results.filter(Boolean)).toHaveLength(1);
            const winner = results.indexOf(true);
            current = id(`${round}:${winner}`);
            expect(await b.refs.get(r)).toBe(current);
          }
        });

        run("property: a sequence of operations agrees with a map model", async (b, id) => {
          const op = fc.oneof(
            fc.record({ kind: fc.constant("set" as const), ref: fc.integer({ min: 0, max: 3 }), value: fc.integer({ min: 0, max: 3 }) }),
            fc.record({ kind: fc.constant("remove" as const), ref: fc.integer({ min: 0, max: 3 }) }),
            fc.record({
              kind: fc.constant("cas" as const),
              ref: fc.integer({ min: 0, max: 3 }),
              expected: fc.option(fc.integer({ min: 0, max: 3 }), { nil: undefined }),
              value: fc.option(fc.integer({ min: 0, max: 3 }), { nil: undefined }),
            }),
          );
          const names = ["refs/heads/a", "refs/heads/b/c", "refs/tags/t", "refs/heads/d"];
          await fc.assert(
            fc.asyncProperty(fc.array(op, { maxLength: 12 }), async (ops) => {
              for (const r of await b.refs.list()) await b.refs.remove(r.name);
              const model = new Map<string, string>();
              for (const o of ops) {
                const name = names[o.ref];
                if (o.kind === "set") {
                  await b.refs.set(name, id(String(o.value)));
                  model.set(name, id(String(o.value)));
                } else if (o.kind === "remove") {
                  await b.refs.remove(name);
                  model.delete(name);
                } else {
                  const expected = o.expected === undefined ? undefined : id(String(o.expected));
                  const next = o.value === undefined ? undefined : id(String(o.value));
                  const ok = await b.refs.testAndSet(name, expected, next);
                  expect(ok).toBe(model.get(name) === expected);
                  if (ok) {
                    if (next === undefined) model.delete(name);
                    else model.set(name, next);
                  }
                }
              }
              const listed = await b.refs.list();
              expect(listed).toEqual([...model].sort(([x], [y]) => (x < y ? -1 : 1)).map(([name, hash]) => ({ name, hash })));
            }),
            { numRuns: 20, seed: 7 },
          );
        });
      });
    }
  });
}
