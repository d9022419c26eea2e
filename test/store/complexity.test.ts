import { describe, expect, it } from "vitest";
import { countObjects as count } from "./count.js";
import { Repo } from "../../src/store/repo.js";

async function build(keys: number): Promise<Repo> {
  const repo = await Repo.memory();
  await repo.branch("main").transaction(async (tx) => {
    for (let i = 0; i < keys; i++) await tx.set(`k/${i % 100}/${i}`, `v${i}`);
  });
  return repo;
}

describe("work grows with the change, not with the store", () => {
  it("a read walks one path; a write touches one path", async () => {
    for (const keys of [1_000, 20_000]) {
      const repo = await build(keys);
      const main = repo.branch("main");
      const read = await count(repo, () => main.get("k/7/507"));
      // commit + root + k + k/7 + blob
      expect(read.reads).toBe(5);
      const write = await count(repo, () => main.set("k/7/507", "new"));
      // the commit, the root, k and k/7 are read; a blob, three trees and a commit are written
      expect(write).toEqual({ reads: 4, writes: 5 });
    }
  });

  it("in a transaction, reads between writes do not make the next write copy the directories it changes", async () => {
    const repo = await build(1_000);
    await repo.branch("main").transaction(async (tx) => {
      await tx.set("k/7/a", "first");
      // The first write copied the path's nodes for the transaction; later ones change them in place.
      const root = tx.node;
      for (let i = 0; i < 20; i++) {
        const v = await tx.get("k/7/a");
        expect(await tx.has("k/7/507")).toBe(true);
        expect((await tx.list("k/7")).length).toBe(11);
        await tx.set("k/7/a", `${v}!`);
        expect(tx.node).toBe(root);
      }
      expect(await tx.get("k/7/a")).toBe(`first${"!".repeat(20)}`);
      // A snapshot is frozen: writes after it copy, and it keeps what it saw.
      const snapshot = await tx.tree();
      await tx.set("k/7/a", "later");
      expect(tx.node).not.toBe(root);
      expect(await snapshot.get("k/7/a")).toBe(`first${"!".repeat(20)}`);
    });
    await repo.close();
  });

  it("a merge of two small changes reads the same few objects whatever the size of the tree", async () => {
    const reads: number[] = [];
    for (const keys of [1_000, 20_000]) {
      const repo = await build(keys);
      const main = repo.branch("main");
      const wip = await main.fork("wip");
      await main.set("k/1/101", "a");
      await main.set("k/2/102", "a");
      await wip.set("k/3/103", "b");
      await wip.set("k/1/201", "b");
      const r = await count(repo, async () => expect((await main.merge(wip)).ok).toBe(true));
      reads.push(r.reads);
      expect(await main.get("k/1/201")).toBe("b");
      expect(await main.get("k/2/102")).toBe("a");
    }
    expect(reads[1]).toBe(reads[0]);
    expect(reads[0]).toBeLessThan(25);
  });
});
