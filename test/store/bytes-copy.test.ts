import { afterAll, describe, expect, it } from "vitest";
import { Contents } from "../../src/merge/contents.js";
import { Merge } from "../../src/merge/merge.js";
import { repoMakers } from "./backends.js";

// Byte values never share memory with the store: a caller changing an array it gave or got must
// not change what is stored, nor leave a commit naming a blob that was never written.
for (const maker of repoMakers()) {
  describe(`byte values are copied at the API boundary on ${maker.name}`, () => {
    afterAll(() => maker.cleanup());

    it("changing a value get returned changes neither the next get nor the tree", async () => {
      const repo = await maker.open({ contents: Contents.bytes });
      const main = repo.branch("main");
      await main.set("k", new Uint8Array([1, 2, 3]));
      (await main.get("k"))![0] = 99;
      expect([...(await main.get("k"))!]).toEqual([1, 2, 3]);
      const tree = await (await main.head())!.tree();
      (await tree.get("k"))![1] = 99;
      expect([...(await tree.get("k"))!]).toEqual([1, 2, 3]);
      expect([...(await main.get("k"))!]).toEqual([1, 2, 3]);
      await repo.close();
    });

    it("changing an array after set, tx.set or Tree.set changes nothing stored", async () => {
      const repo = await maker.open({ contents: Contents.bytes });
      const main = repo.branch("main");
      const a = new Uint8Array([1, 1]);
      await main.set("a", a);
      a[0] = 0;
      const w = new Uint8Array([7, 7, 7]);
      const r = await main.transaction(async (tx) => {
        await tx.set("w", w);
        w[0] = 0; // before the transaction commits
        expect([...(await tx.get("w"))!]).toEqual([7, 7, 7]);
      });
      expect(r.ok).toBe(true);
      expect([...(await main.get("a"))!]).toEqual([1, 1]);
      expect([...(await main.get("w"))!]).toEqual([7, 7, 7]);
      const t = new Uint8Array([5]);
      const tree = await (await main.tree()).set("t", t);
      t[0] = 6;
      expect([...(await tree.get("t"))!]).toEqual([5]);
      await main.setTree("sub", tree);
      expect([...(await main.get("sub/t"))!]).toEqual([5]);
      await repo.close();
    });

    it("a custom codec that shares its buffers is copied too", async () => {
      const raw = Contents.custom({
        name: "raw",
        encode: (v: { data: Uint8Array }) => v.data,
        decode: (b: Uint8Array) => ({ data: b }),
        merge: Merge.idempotent<{ data: Uint8Array }>(),
      });
      const repo = await maker.open({ contents: raw });
      const main = repo.branch("main");
      const value = { data: new Uint8Array([1, 2]) };
      await main.transaction(async (tx) => {
        await tx.set("k", value);
        value.data[0] = 9;
      });
      const got = (await main.get("k"))!;
      expect([...got.data]).toEqual([1, 2]);
      got.data[1] = 9;
      expect([...(await main.get("k"))!.data]).toEqual([1, 2]);
      await repo.close();
    });
  });
}
