import { afterAll, describe, expect, it } from "vitest";
import { Contents } from "../../src/merge/contents.js";
import { contentsChild, type ContentsChild } from "../../src/tree/node.js";
import { Tree } from "../../src/tree/tree.js";
import { buildLogNode } from "../../src/datatypes/log.js";
import { makeKey, randomNonces } from "../../src/datatypes/log/keys.js";
import type { Repo } from "../../src/store/repo.js";
import { repoMakers } from "../store/backends.js";

const values = (log: { all(): Promise<{ value: string }[]> }) => log.all().then((es) => es.map((e) => e.value));

for (const maker of repoMakers()) {
  describe(`log on ${maker.name}`, () => {
    afterAll(() => maker.cleanup());

    it("the Ezirmin post's example: main reads m4 m3 m2 w0 m1 m0", async () => {
      const repo = await maker.open();
      const main = repo.branch("main");
      await main.log("l").append("m0");
      await main.log("l").append("m1");
      const wip = await main.fork("wip");
      await wip.log("l").append("w0");
      await main.log("l").append("m2");
      expect((await main.merge(wip)).ok).toBe(true);
      await wip.log("l").append("w1");
      await wip.log("l").append("w2");
      await main.log("l").append("m3");
      await main.log("l").append("m4");
      expect(await values(main.log("l"))).toEqual(["m4", "m3", "m2", "w0", "m1", "m0"]);
      expect(await values(wip.log("l"))).toEqual(["w2", "w1", "w0", "m1", "m0"]);
      // and once merged both ways, both read the same, every entry once
      expect((await main.merge(wip)).ok).toBe(true);
      expect((await wip.merge(main)).ok).toBe(true);
      const both = ["m4", "m3", "w2", "w1", "m2", "w0", "m1", "m0"];
      expect(await values(main.log("l"))).toEqual(both);
      expect(await values(wip.log("l"))).toEqual(both);
      expect(await main.log("l").length()).toBe(8);
      expect((await main.tree()).hash()).toEqual((await wip.tree()).hash());
      await repo.close();
    });

    it("append is one commit named after it, returns its time; pages continue at the cursor; bad input is refused", async () => {
      const repo = await maker.open();
      const main = repo.branch("main");
      const log = main.log("app/events");
      expect(await log.all()).toEqual([]);
      expect(await log.length()).toBe(0);
      expect(await log.read()).toEqual({ entries: [] });
      const before = Date.now();
      const { time } = await log.append("started");
      expect(time).toBeGreaterThanOrEqual(before);
      await log.append("stopped", { message: "custom" });
      expect((await main.history()).map((c) => c.info.message.trimEnd())).toEqual(["custom", "append app/events"]);
      const page = await log.read({ limit: 1 });
      expect(page.entries.map((e) => e.value)).toEqual(["stopped"]);
      expect(page.cursor).toBeTypeOf("string");
      const next = await log.read({ limit: 1, cursor: page.cursor });
      expect(next).toEqual({ entries: [{ value: "started", time }] });
      expect("cursor" in next).toBe(false);
      await expect(log.read({ limit: 0 })).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
      await expect(log.read({ limit: 1.5 })).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
      await expect(log.read({ cursor: "nope" })).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
      await expect(log.read(null as never)).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
      await expect(log.appendAll("x" as never)).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
      expect(() => main.log("")).toThrow(/needs a path/);
      await main.counter("c").increment();
      await expect(main.log("c").append("x")).rejects.toThrow(/c is a counter, not a log/);
      await main.set("plain", "v");
      await expect(main.log("plain").read()).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
      await repo.close();
    });

    it("a cursor walk over pages returns exactly all(), in a transaction too", async () => {
      const repo = await maker.open();
      const main = repo.branch("main");
      const r = await main.transaction(async (tx) => {
        const log = tx.log("l", { contents: Contents.json });
        for (let i = 0; i < 150; i++) await log.append({ i });
        await log.appendAll([{ i: 150 }, { i: 151 }]);
        return log.length();
      });
      expect(r.ok && r.value).toBe(152);
      expect(await main.history()).toHaveLength(1);
      const log = main.log("l", { contents: Contents.json });
      const all = await log.all();
      expect(all.map((e) => (e.value as { i: number }).i)).toEqual(Array.from({ length: 152 }, (_, i) => 151 - i));
      for (const limit of [1, 7, 32, 151, 152, 500]) {
        const seen: unknown[] = [];
        let cursor: string | undefined;
        let pages = 0;
        do {
          const page = await log.read({ limit, cursor });
          expect(page.entries.length).toBeLessThanOrEqual(limit);
          seen.push(...page.entries);
          cursor = page.cursor;
          pages++;
        } while (cursor !== undefined && pages < 1000);
        expect(seen).toEqual(all);
        expect(pages).toBe(Math.max(1, Math.ceil(152 / limit)));
      }
      await repo.close();
    });

    it("an entry appended after a merge sorts after what the merge brought, whatever the wall clock says", async () => {
      const repo = await maker.open();
      const main = repo.branch("main");
      await main.log("l").append("first");
      const wip = await main.fork("wip");
      // an entry from a replica whose clock is an hour ahead (written as that replica would have)
      const ahead = Date.now() + 3_600_000;
      await graftLog(repo, wip, "l", [...(await entriesOf(repo, wip, "l")), { time: ahead, value: "from the future" }]);
      await main.merge(wip);
      const { time } = await main.log("l").append("after the merge");
      expect(time).toBeGreaterThanOrEqual(ahead);
      expect(await values(main.log("l"))).toEqual(["after the merge", "from the future", "first"]);
      await repo.close();
    });
  });
}

/** The entries of the log at `path` of `branch`, as (time, value) pairs oldest first (reads every entry). */
async function entriesOf(_repo: Repo, branch: ReturnType<Repo["branch"]>, path: string): Promise<{ time: number; value: string }[]> {
  return (await branch.log(path).all()).reverse();
}

/** Replaces the log at `path` by one holding `entries` (built directly, with the given wall times), in one commit. */
async function graftLog(repo: Repo, branch: ReturnType<Repo["branch"]>, path: string, entries: { time: number; value: string }[]): Promise<void> {
  const { ctx, contents } = repo.internals;
  const nonces = randomNonces(entries.length);
  const items = entries
    .map((e, i) => ({ key: makeKey({ wall: e.time, logical: 0 }, nonces.subarray(8 * i, 8 * i + 8)), child: contentsChild(ctx, contents.encode(e.value)) as ContentsChild }))
    .sort((x, y) => (x.key < y.key ? -1 : 1));
  const node = await buildLogNode(ctx, items);
  await branch.transaction(async (tx) => tx.setTree(path, new Tree(ctx, contents, node!)));
}
