/**
 * The queue's stored format, version 2 (queue/epoch.ts): an epoch is one blob of records (key of
 * 18 bytes, LEB128 value length, value) in strictly increasing key order, closed at 64 elements or
 * 16 KiB. Checked against the bytes git stores, against hand-made corrupt blobs (CORRUPT, never a
 * crash or a wrong value), and a queue of the older format 1 is UNSUPPORTED everywhere.
 */
import { execFileSync } from "node:child_process";
import { afterAll, describe, expect, it } from "vitest";
import { Contents } from "../../src/merge/contents.js";
import type { Repo } from "../../src/store/repo.js";
import { repoMakers } from "../store/backends.js";
import { expectCanonical } from "./queue-canonical.js";
import { inside } from "./inside.js";

const gitDirOf = <V>(repo: Repo<V>): string => (repo.internals.backend as unknown as { gitDir: string }).gitDir;

/** An epoch blob from `[key, value]` records, written as given (no sorting, no checks). */
function records(list: [number[], number[]][], length?: (value: number[]) => number[]): Uint8Array {
  const out: number[] = [];
  for (const [key, value] of list) out.push(...key, ...(length ? length(value) : [value.length]), ...value);
  return Uint8Array.from(out);
}

const key = (logical: number): number[] => [0, 0, 1, 2, 3, 4, 0, 0, 0, logical, 9, 9, 9, 9, 9, 9, 9, 9];
const text = (s: string): number[] => [...new TextEncoder().encode(s)];


for (const maker of repoMakers()) {
  describe(`queue format on ${maker.name}`, () => {
    afterAll(() => maker.cleanup());

    it("an epoch is one blob of records sorted by key; it closes at EPOCH_SIZE (128) elements or 16 KiB", async () => {
      const repo = await maker.open();
      const main = repo.branch("main");
      await main.transaction(async (tx) => {
        for (const v of ["a", "bb", "é"]) await tx.queue("q").push(v);
      });
      await main.queue("q").push("x".repeat(200));
      const names = (await main.list("q")).map((e) => `${e.name}:${e.kind}`);
      expect(names).toEqual([".irmin-type:contents", "lo.00000000.4:contents"]);
      // the blob, parsed independently of the queue's code (as git stores it on the git backend)
      const blob = maker.name === "git" ? new Uint8Array(execFileSync("git", ["--git-dir", gitDirOf(repo), "cat-file", "blob", "main:q/lo.00000000.4"])) : undefined;
      if (blob !== undefined) {
        const values: string[] = [];
        const keys: string[] = [];
        let at = 0;
        while (at < blob.length) {
          keys.push(Buffer.from(blob.subarray(at, at + 18)).toString("hex"));
          at += 18;
          let len = 0;
          for (let shift = 0; ; shift += 7) {
            const b = blob[at++];
            len |= (b & 0x7f) << shift;
            if (b < 0x80) break;
          }
          values.push(new TextDecoder().decode(blob.subarray(at, at + len)));
          at += len;
        }
        expect(values).toEqual(["a", "bb", "é", "x".repeat(200)]);
        expect([...keys].sort()).toEqual(keys);
        // the key starts with the push time: wall milliseconds, close to now
        const wall = parseInt(keys[0].slice(0, 12), 16);
        expect(Math.abs(wall - Date.now())).toBeLessThan(10 * 60_000);
        execFileSync("git", ["--git-dir", gitDirOf(repo), "fsck", "--strict", "--no-progress"], { stdio: "pipe" });
      }
      // large values: an epoch closes once it holds 16 KiB (so it holds at most 16 KiB and one value)
      const big = main.queue("big");
      await main.transaction(async (tx) => {
        for (let i = 0; i < 7; i++) await tx.queue("big").push(`${i}`.repeat(6000));
        await tx.queue("big").push("y".repeat(40_000));
        await tx.queue("big").push("z");
      });
      await big.push("w".repeat(7000));
      expect((await main.list("big")).map((e) => e.name)).toEqual([".irmin-type", "hi.00000003.2", "lo.00000000.3", "m1.5"]);
      expect((await main.list("big/m1.5")).map((e) => e.name)).toEqual(["1.3", "2.2"]);
      expect((await big.toArray()).map((v) => v.length)).toEqual([6000, 6000, 6000, 6000, 6000, 6000, 6000, 40_000, 1, 7000]);
      expect(await expectCanonical(main, repo.internals.ctx, "big")).toBe(10);
      await repo.close();
    });

    it("corrupt epoch blobs are CORRUPT: keys out of order or repeated, bad lengths, a count that lies", async () => {
      const repo = await maker.open({ contents: Contents.bytes });
      const main = repo.branch("main");
      const q = main.queue("q");
      await q.push(Uint8Array.of(1));
      const cases: [string, Uint8Array][] = [
        ["lo.00000000.2", records([[key(2), text("a")], [key(1), text("b")]])],
        ["lo.00000000.2", records([[key(1), text("a")], [key(1), text("b")]])],
        ["lo.00000000.1", records([[key(1), text("a")]], () => [0x80, 0x80, 0x80, 0x80, 0x80, 0x01])],
        ["lo.00000000.1", records([[key(1), text("a")]], () => [0x85])],
        ["lo.00000000.1", records([[key(1), text("a")]], () => [5])],
        ["lo.00000000.1", records([[key(1), text("a")], [key(2), text("b")]])],
        ["lo.00000000.3", records([[key(1), text("a")], [key(2), text("b")]])],
        ["lo.00000000.999999", records([[key(1), text("a")]])],
        ["lo.00000000.1", Uint8Array.of(1, 2, 3)],
      ];
      const [front] = (await main.list("q")).filter((e) => e.name.startsWith("lo."));
      await inside(main, "q", (t) => t.remove(front.name));
      for (const [name, bytes] of cases) {
        await inside(main, "q", (t) => t.set(name, bytes));
        await expect(q.peek(), name).rejects.toMatchObject({ code: "CORRUPT" });
        await expect(q.pop(), name).rejects.toMatchObject({ code: "CORRUPT" });
        await expect(q.toArray(), name).rejects.toMatchObject({ code: "CORRUPT" });
        await expect(q.push(Uint8Array.of(2)), name).rejects.toMatchObject({ code: "CORRUPT" });
        await expect(main.transaction(async (tx) => tx.queue("q").pop()), name).rejects.toMatchObject({ code: "CORRUPT" });
        await inside(main, "q", (t) => t.remove(name));
      }
      // a well-formed hand-made epoch reads fine
      await inside(main, "q", (t) => t.set("lo.00000000.2", records([[key(1), text("a")], [key(2), text("b")]])));
      expect((await q.toArray()).map((v) => new TextDecoder().decode(v))).toEqual(["a", "b"]);
      await repo.close();
    });

    it("a queue of the older format 1 is UNSUPPORTED: read, written, in a transaction, merged", async () => {
      const repo = await maker.open();
      const main = repo.branch("main");
      // format 1: marker version 1, one blob per element in an epoch directory
      await main.set("q/.irmin-type", "irmin-ts queue 1\n");
      await inside(main, "q", (t) => t.set("lo.00000000.1/0000000000000000000000000000000000000a", "x"));
      const q = main.queue("q");
      for (const attempt of [() => q.length(), () => q.peek(), () => q.pop(), () => q.push("y"), () => q.toArray()]) {
        await expect(attempt()).rejects.toMatchObject({ code: "UNSUPPORTED", message: expect.stringMatching(/q is a queue stored in format version 1/) as unknown });
      }
      await expect(main.transaction(async (tx) => tx.queue("q").push("y"))).rejects.toMatchObject({ code: "UNSUPPORTED" });
      // still a queue to the other types
      await expect(main.counter("q").get()).rejects.toMatchObject({ code: "INVALID_ARGUMENT", message: expect.stringMatching(/q is a queue, not a counter/) as unknown });
      const wip = await main.fork("wip");
      await inside(main, "q", (t) => t.set("lo.00000000.1/0000000000000000000000000000000000000b", "m"));
      await inside(wip, "q", (t) => t.set("lo.00000000.1/0000000000000000000000000000000000000c", "w"));
      await expect(main.merge(wip)).rejects.toMatchObject({ code: "UNSUPPORTED" });
      await repo.close();
    });
  });
}
