import { afterAll, describe, expect, it } from "vitest";
import { Contents } from "../../src/merge/contents.js";
import { Merge } from "../../src/merge/merge.js";
import { Repo } from "../../src/store/repo.js";
import { repoMakers } from "./backends.js";

const utf8 = (s: string) => new TextEncoder().encode(s);

for (const maker of repoMakers()) {
  describe(`testAndSet on ${maker.name}`, () => {
    afterAll(() => maker.cleanup());

    it("a directory or a data type is not absent: expecting undefined fails and leaves it", async () => {
      const repo = await maker.open();
      const main = repo.branch("main");
      await main.set("dir/a", "1");
      await main.set("dir/b", "2");
      await main.counter("hits").increment(3);
      const head = (await main.head())!.hash;
      expect(await main.testAndSet("dir", undefined, undefined)).toBe(false);
      expect(await main.testAndSet("dir", undefined, "x")).toBe(false);
      expect(await main.testAndSet("hits", undefined, "x")).toBe(false);
      expect(await main.testAndSet("dir", "1", "x")).toBe(false);
      expect((await main.head())!.hash).toBe(head);
      expect(await main.list("dir")).toEqual([{ name: "a", kind: "contents" }, { name: "b", kind: "contents" }]);
      expect(await main.counter("hits").get()).toBe(3);
      // Absent is still absent, and a value still matches itself.
      expect(await main.testAndSet("dir/c", undefined, "3")).toBe(true);
      expect(await main.testAndSet("dir/c", "3", undefined)).toBe(true);
      expect(await main.has("dir/c")).toBe(false);
      await repo.close();
    });

    it("compares values, not bytes: a blob spelled differently matches the value it decodes to", async () => {
      const repo = await maker.open();
      // Another writer (git, another program) stored the JSON with spaces and a newline.
      await repo.branch("main").set("k", '{"a": 1}\n');
      const json = await Repo.open({ backend: repo.internals.backend, contents: Contents.json });
      const main = json.branch("main");
      expect(await main.get("k")).toEqual({ a: 1 });
      expect(await main.testAndSet("k", { a: 2 }, { a: 3 })).toBe(false);
      // A read-then-compare-and-set loop must end.
      let rounds = 0;
      for (;;) {
        rounds++;
        const v = (await main.get("k")) as { a: number };
        if (await main.testAndSet("k", v, { a: v.a + 1 })) break;
        if (rounds > 3) break;
      }
      expect(rounds).toBe(1);
      expect(await main.get("k")).toEqual({ a: 2 });
      await json.close();
    });

    it("without Contents.equal, compares canonical encodings", async () => {
      const int = Contents.custom({
        name: "int",
        encode: (v: number) => utf8(String(v)),
        decode: (b: Uint8Array) => Number(new TextDecoder().decode(b)),
        merge: Merge.counter,
      });
      const repo = await maker.open();
      await repo.branch("main").set("n", "007");
      const ints = await Repo.open({ backend: repo.internals.backend, contents: int });
      const main = ints.branch("main");
      expect(await main.testAndSet("n", 8, 9)).toBe(false);
      expect(await main.testAndSet("n", 7, 8)).toBe(true);
      expect(await main.get("n")).toBe(8);
      await ints.close();
    });
  });
}
