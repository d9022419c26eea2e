import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { hashObject, type ObjectType, type RawObject } from "../../src/codec/object.js";
import type { HashAlgorithm } from "../../src/core/hash.js";
import type { Backend } from "../../src/backend/backend.js";
import type { BackendFactory } from "./factory.js";
import { bytes, collect, expectCode, withAlgorithm } from "./helpers.js";

// `git hash-object -t blob --stdin < /dev/null` in each object format.
const EMPTY_BLOB: Record<HashAlgorithm, string> = {
  sha1: "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391",
  sha256: "473a0f4c3be8a93681a267e3b1e9a7dcda1185436fe141f7749120a303721813",
};
// `printf 'hello\n' | git hash-object --stdin`
const HELLO_BLOB: Record<HashAlgorithm, string> = {
  sha1: "ce013625030ba8dba906f756967f9e9ca394464a",
  sha256: "2cf8d83d9ee29543b34a87727421fdecb7e3f3a183d337639025de576db9ebb4",
};

/**
 * The `ObjectStore` contract (src/backend/object-store.ts), run for every object format the
 * backend declares in `supports.algorithms`.
 */
export function objectStoreConformance(factory: BackendFactory): void {
  describe(`${factory.name}: object store`, () => {
    for (const algorithm of ["sha1", "sha256"] as const) {
      describe(algorithm, () => {
        const run = (title: string, fn: (b: Backend) => Promise<void>) => it(title, () => withAlgorithm(factory, algorithm, fn));

        run("declares its algorithm", async (b) => {
          expect(b.objects.algorithm).toBe(algorithm);
        });

        run("put returns git's id (golden), get returns the object, has sees it", async (b) => {
          expect(await b.objects.put("blob", new Uint8Array())).toBe(EMPTY_BLOB[algorithm]);
          expect(await b.objects.put("blob", bytes("hello\n"))).toBe(HELLO_BLOB[algorithm]);
          const got = await b.objects.get(HELLO_BLOB[algorithm]);
          expect(got?.type).toBe("blob");
          expect(Array.from(got?.data ?? [])).toEqual(Array.from(bytes("hello\n")));
          expect(got?.data).toBeInstanceOf(Uint8Array);
          expect(await b.objects.has(HELLO_BLOB[algorithm])).toBe(true);
        });

        run("every object type round-trips with the id hashObject gives", async (b) => {
          const samples: RawObject[] = [
            { type: "blob", data: new Uint8Array(Array.from({ length: 256 }, (_, i) => i)) },
            { type: "tree", data: bytes("not checked by the store") },
            { type: "commit", data: bytes("tree x\n\nmsg\n") },
            { type: "tag", data: bytes("object y\n") },
          ];
          for (const o of samples) {
            const id = await b.objects.put(o.type, o.data);
            expect(id).toBe(hashObject(algorithm, o.type, o.data));
            const got = await b.objects.get(id);
            expect(got?.type).toBe(o.type);
            expect(Array.from(got?.data ?? [])).toEqual(Array.from(o.data));
          }
        });

        run("absent and malformed ids: get gives undefined, has gives false", async (b) => {
          const absent = hashObject(algorithm, "blob", bytes("never stored"));
          expect(await b.objects.get(absent)).toBeUndefined();
          expect(await b.objects.has(absent)).toBe(false);
          const other = hashObject(algorithm === "sha1" ? "sha256" : "sha1", "blob", bytes("x"));
          for (const bad of ["", "xyz", "../../config", absent.toUpperCase(), other]) {
            expect(await b.objects.get(bad)).toBeUndefined();
            expect(await b.objects.has(bad)).toBe(false);
          }
        });

        run("put is idempotent and stores a copy of the caller's bytes", async (b) => {
          const data = bytes("mutable");
          const id1 = await b.objects.put("blob", data);
          data[0] = 0x4d;
          const id2 = await b.objects.put("blob", bytes("mutable"));
          expect(id2).toBe(id1);
          expect(new TextDecoder().decode((await b.objects.get(id1))?.data)).toBe("mutable");
          expect((await collect(b.objects.hashes())).filter((h) => h === id1)).toHaveLength(1);
        });

        run("invalid input is INVALID_ARGUMENT and stores nothing", async (b) => {
          await expectCode(() => b.objects.put("bogus" as ObjectType, bytes("x")), "INVALID_ARGUMENT");
          await expectCode(() => b.objects.put("blob", "text" as unknown as Uint8Array), "INVALID_ARGUMENT");
          await expectCode(() => b.objects.put("blob", [1, 2] as unknown as Uint8Array), "INVALID_ARGUMENT");
          const good = { type: "blob" as const, data: bytes("good") };
          await expectCode(() => b.objects.putMany([good, { type: "nope" as ObjectType, data: bytes("x") }]), "INVALID_ARGUMENT");
          await expectCode(() => b.objects.putMany([good, { type: "blob", data: null as unknown as Uint8Array }]), "INVALID_ARGUMENT");
          expect(await b.objects.has(hashObject(algorithm, "blob", good.data))).toBe(false);
          expect(await collect(b.objects.hashes())).toEqual([]);
        });

        run("putMany returns ids in order (duplicates included) and stores them all", async (b) => {
          expect(await b.objects.putMany([])).toEqual([]);
          const list: RawObject[] = ["a", "b", "a", "c"].map((s) => ({ type: "blob", data: bytes(s) }));
          const ids = await b.objects.putMany(list);
          expect(ids).toEqual(list.map((o) => hashObject(algorithm, o.type, o.data)));
          for (const id of ids) expect(await b.objects.has(id)).toBe(true);
          expect(new Set(await collect(b.objects.hashes()))).toEqual(new Set(ids));
        });

        run("a large batch (hundreds of objects) is stored and listed once each", async (b) => {
          const list: RawObject[] = Array.from({ length: 700 }, (_, i) => ({ type: "blob", data: bytes(`object ${i}\n`.repeat(i % 7)) }));
          const first = await b.objects.put("blob", list[3].data);
          const ids = await b.objects.putMany(list);
          expect(ids[3]).toBe(first);
          const listed = await collect(b.objects.hashes());
          expect(listed.length).toBe(new Set(listed).size);
          expect(new Set(listed)).toEqual(new Set(ids));
          for (const i of [0, 1, 350, 699]) {
            const got = await b.objects.get(ids[i]);
            expect(Array.from(got?.data ?? [])).toEqual(Array.from(list[i].data));
          }
        });

        run("a 1 MiB blob round-trips", async (b) => {
          const big = new Uint8Array(1 << 20);
          for (let i = 0; i < big.length; i++) big[i] = (i * 2654435761) >>> 24;
          const id = await b.objects.put("blob", big);
          const got = await b.objects.get(id);
          expect(got?.data.length).toBe(big.length);
          expect(Buffer.from(got?.data ?? []).equals(Buffer.from(big))).toBe(true);
        });

        run("property: hashes() is exactly the set of ids put", async (b) => {
          const all = new Set<string>();
          await fc.assert(
            fc.asyncProperty(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 8 }), async (blobs) => {
              const ids = await b.objects.putMany(blobs.map((data) => ({ type: "blob", data })));
              for (const id of ids) all.add(id);
              const listed = await collect(b.objects.hashes());
              expect(listed.length).toBe(all.size);
              expect(new Set(listed)).toEqual(all);
            }),
            { numRuns: 25, seed: 42 },
          );
        });
      });
    }
  });
}
