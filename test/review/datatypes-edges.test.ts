import { describe, expect, it } from "vitest";
import { decodeTimestamp, encodeTimestamp, nextTimestamp } from "../../src/datatypes/hlc.js";
import { repoMakers } from "../store/backends.js";

const maker = repoMakers()[0];

async function mergeOk(into: { merge(x: never): Promise<{ ok: boolean }> }, from: unknown): Promise<void> {
  const r = await into.merge(from as never);
  expect(r.ok).toBe(true);
}

describe("review: hybrid logical clock at its limits", () => {
  it("a timestamp issued after the largest encodable one is refused, never written in a form that cannot be read back", () => {
    // A stored time can be the largest 12+8 hex digits (a peer's clock far off, or a corrupt value
    // pulled from a remote); the next one used to get wall + 1 = 13 hex digits, which every later
    // read rejects as CORRUPT: the data type became unreadable by its own write.
    const seen = decodeTimestamp("ffffffffffffffffffff");
    let next;
    try {
      next = nextTimestamp(seen, 0);
    } catch (e) {
      expect((e as { code?: string }).code).toBe("CORRUPT");
    }
    if (next !== undefined) expect(decodeTimestamp(encodeTimestamp(next))).toEqual(next);
    // The process's clock is not poisoned: the next ordinary timestamp still encodes.
    const later = nextTimestamp(undefined, 1_700_000_000_000);
    expect(decodeTimestamp(encodeTimestamp(later))).toEqual(later);
  });
});

describe("review: merges where the ancestor lacks the data type", () => {
  it("every type created independently on two branches, then merged both ways and criss-cross, converges with its semantics", async () => {
    const repo = await maker.open();
    try {
      const main = repo.branch("main");
      await main.set("other", "x");
      const a = await main.fork("a");
      const b = await main.fork("b");
      await a.counter("t/c").increment(2);
      await b.counter("t/c").increment(3);
      await a.queue("t/q").push("a1");
      await a.queue("t/q").push("a2");
      await b.queue("t/q").push("b1");
      await a.log("t/l").append("la");
      await b.log("t/l").append("lb");
      await a.setOf("t/s").add("sa");
      await b.setOf("t/s").add("sb");
      await a.text("t/x").insert(0, "hello");
      await b.text("t/x").insert(0, "world");
      await a.register("t/r").set("ra");
      await b.register("t/r").set("rb");
      // criss-cross: each merges the other's current head
      const [ha, hb] = [(await a.head())!, (await b.head())!];
      await mergeOk(a, hb.hash);
      await mergeOk(b, ha.hash);
      for (const br of [a, b]) {
        expect(await br.counter("t/c").get()).toBe(5);
        expect((await br.queue("t/q").toArray()).sort()).toEqual(["a1", "a2", "b1"]);
        expect(await br.log("t/l").length()).toBe(2);
        expect((await br.setOf("t/s").values()).sort()).toEqual(["sa", "sb"]);
      }
      expect(await a.text("t/x").toString()).toBe(await b.text("t/x").toString());
      expect(await a.register("t/r").get()).toBe(await b.register("t/r").get());
      // more operations, then a merge with two merge bases
      await a.counter("t/c").increment(10);
      await b.counter("t/c").decrement(1);
      expect(await a.queue("t/q").pop()).toBe(await b.queue("t/q").pop());
      await b.queue("t/q").push("b2");
      await mergeOk(a, b);
      await mergeOk(b, a);
      for (const br of [a, b]) {
        expect(await br.counter("t/c").get()).toBe(14);
        expect(await br.queue("t/q").length()).toBe(3);
      }
      expect(await a.queue("t/q").toArray()).toEqual(await b.queue("t/q").toArray());
      expect((await a.head())!.tree).toBe((await b.head())!.tree);
    } finally {
      await repo.close();
      await maker.cleanup();
    }
  });
});
