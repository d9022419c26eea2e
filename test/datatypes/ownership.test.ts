import { afterAll, describe, expect, it } from "vitest";
import { expectCode } from "../conformance/helpers.js";
import { repoMakers } from "../store/backends.js";

// A data type's subtree belongs to the type: nothing else writes inside it, and a merge never
// mixes it with a plain directory or with another type.

for (const maker of repoMakers()) {
  describe(`a data type owns its subtree, on ${maker.name}`, () => {
    afterAll(() => maker.cleanup());

    it("writes inside a data type are INVALID_ARGUMENT and change nothing; at its own path they replace it", async () => {
      const repo = await maker.open();
      const main = repo.branch("main");
      await main.log("l").append("one");
      await main.counter("c").increment(5);
      await main.queue("q").push("first");
      const head = (await main.head())!.hash;
      await expectCode(main.counter("l/inner").increment(), "INVALID_ARGUMENT");
      await expectCode(main.log("c/events").append("x"), "INVALID_ARGUMENT");
      await expectCode(main.set("q/note", "x"), "INVALID_ARGUMENT");
      await expectCode(main.remove("l/anything"), "INVALID_ARGUMENT");
      await expectCode(
        main.transaction(async (tx) => tx.set("c/value", "9")),
        "INVALID_ARGUMENT",
      );
      await expectCode((await main.tree()).set("l/x", "v"), "INVALID_ARGUMENT");
      expect((await main.head())!.hash).toBe(head);
      expect((await main.log("l").all()).map((e) => e.value)).toEqual(["one"]);
      expect(await main.counter("c").get()).toBe(5);
      expect(await main.queue("q").pop()).toBe("first");
      // At its own path: replaced or removed, as any directory.
      await main.set("c", "plain now");
      expect(await main.get("c")).toBe("plain now");
      await main.remove("l");
      expect(await main.has("l")).toBe(false);
    });

    it("a plain value named like the marker is not a data type: its directory stays writable", async () => {
      const repo = await maker.open();
      const main = repo.branch("main");
      await main.set("dir/.irmin-type", "hello");
      await main.set("dir/x", "1");
      await main.set("dir/.irmin-type", "changed");
      await main.remove("dir/.irmin-type");
      expect((await main.list("dir")).map((e) => e.name)).toEqual(["x"]);
    });

    it("a merge of a data type with a plain directory or another type is a conflict at its path", async () => {
      const repo = await maker.open();
      const main = repo.branch("main");
      await main.set("keep", "k");
      for (const [i, [typed, other]] of ([
        ["log", "plain"],
        ["counter", "queue"],
        ["set", "text"],
      ] as const).entries()) {
        const x = `x${i}`;
        const a = await main.fork(`a${i}`);
        const b = await main.fork(`b${i}`);
        const write = async (branch: typeof a, kind: string) => {
          if (kind === "log") await branch.log(x).append("e");
          else if (kind === "counter") await branch.counter(x).increment();
          else if (kind === "queue") await branch.queue(x).push("e");
          else if (kind === "set") await branch.setOf(x).add("e");
          else if (kind === "text") await branch.text(x).insert(0, "e");
          else await branch.set(`${x}/y`, "plain");
        };
        await write(a, typed);
        await write(b, other);
        for (const [into, from] of [
          [a, b],
          [b, a],
        ]) {
          const r = await into.fork(`m${i}${into.name}`).then((m) => m.merge(from));
          expect(r.ok).toBe(false);
          if (!r.ok) expect(r.conflicts.map((c) => c.path)).toEqual([x]);
        }
      }
    });
  });
}
