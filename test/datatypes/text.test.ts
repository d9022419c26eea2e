import { execFileSync } from "node:child_process";
import { afterAll, describe, expect, it } from "vitest";
import { checkRope, prng, randomText } from "./text-helpers.js";
import { repoMakers } from "../store/backends.js";
import type { Repo } from "../../src/store/repo.js";
import type { Node } from "../../src/tree/node.js";
import { subtreeAt } from "../../src/datatypes/slot.js";
import { parsePath } from "../../src/core/path.js";
import { Node as TreeNode } from "../../src/tree/node.js";
import { GIT_ENV } from "../backends/git/git-cli.js";

function git(args: string[]): string {
  return execFileSync("git", args, { env: GIT_ENV, stdio: ["ignore", "pipe", "pipe"], maxBuffer: 1 << 26 }).toString();
}

/** The stored text subtree at `path` of `branch`'s head. */
async function textSubtree(repo: Repo, branch: string, path: string): Promise<Node> {
  const head = await repo.branch(branch).head();
  const node = await subtreeAt(repo.internals.ctx, TreeNode.stored(await (await head!.tree()).hash()), parsePath(path));
  return node!;
}

for (const maker of repoMakers()) {
  describe(`text on ${maker.name}`, () => {
    afterAll(() => maker.cleanup());

    it("the post's example: set(1, 'x') and insert(1, 'y') on \"abc\" merge to \"ayxc\" both ways", async () => {
      const repo = await maker.open();
      const main = repo.branch("main");
      await main.text("doc").insert(0, "abc");
      const wip = await main.fork("wip");
      await main.text("doc").set(1, "x");
      await wip.text("doc").insert(1, "y");
      expect(await main.text("doc").toString()).toBe("axc");
      expect(await wip.text("doc").toString()).toBe("aybc");
      expect((await main.merge(wip)).ok).toBe(true);
      expect((await wip.merge((await main.head())!.parents[0])).ok).toBe(true);
      expect(await main.text("doc").toString()).toBe("ayxc");
      expect(await wip.text("doc").toString()).toBe("ayxc");
      // both merges made the same tree
      expect((await main.head())!.tree).toBeDefined();
      expect(await (await (await main.head())!.tree()).hash()).toBe(await (await (await wip.head())!.tree()).hash());
      await repo.close();
    });

    it("each edit is one commit named after it; no-op edits make none; a transaction makes one", async () => {
      const repo = await maker.open();
      const main = repo.branch("main");
      const t = main.text("notes/doc");
      expect(await t.length()).toBe(0);
      expect(await t.toString()).toBe("");
      expect(await t.insert(0, "hello world")).toBe(11);
      expect(await t.delete(5, 6)).toBe(5);
      expect(await t.set(0, "J")).toBe(5);
      expect(await t.insert(5, "")).toBe(5);
      expect(await t.delete(2, 0)).toBe(5);
      expect(await t.set(0, "J")).toBe(5); // same character: no change
      expect(await t.toString()).toBe("Jello");
      const log = await main.history();
      expect(log.map((c) => c.info.message.trimEnd())).toEqual(["set notes/doc", "delete notes/doc", "insert notes/doc"]);
      await main.transaction(async (tx) => {
        const d = tx.text("notes/doc");
        await d.insert(5, ", world");
        await d.set(0, "H");
        await d.delete(1, 0);
        expect(await d.toString()).toBe("Hello, world");
      });
      expect(await t.toString()).toBe("Hello, world");
      expect(await main.history()).toHaveLength(4);
      await repo.close();
    });

    it("get, slice, length, set past the end and set of the whole text", async () => {
      const repo = await maker.open();
      const t = repo.branch("main").text("doc");
      await t.insert(0, "a😀b");
      expect(await t.length()).toBe(4);
      expect(await t.get(0)).toBe("a");
      expect(await t.get(1)).toBe("😀");
      expect(await t.get(3)).toBe("b");
      expect(await t.slice(1)).toBe("😀b");
      expect(await t.slice(0, 1)).toBe("a");
      expect(await t.slice(4)).toBe("");
      expect(await t.set(3, "cdef")).toBe(7);
      expect(await t.toString()).toBe("a😀cdef");
      expect(await t.set("a😀c-def!")).toBe(9);
      expect(await t.toString()).toBe("a😀c-def!");
      expect((await repo.branch("main").history())[0].info.message.trimEnd()).toBe("set doc");
      expect(await t.set("")).toBe(0);
      expect(await t.toString()).toBe("");
      expect(await t.length()).toBe(0);
      await repo.close();
    });

    it("refuses positions out of range, split surrogate pairs, lone surrogates and other types", async () => {
      const repo = await maker.open();
      const main = repo.branch("main");
      const t = main.text("doc");
      await t.insert(0, "a😀b");
      const bad = [
        () => t.insert(5, "x"),
        () => t.insert(-1, "x"),
        () => t.insert(1.5, "x"),
        () => t.insert(2, "x"), // inside the pair
        () => t.delete(2, 1),
        () => t.delete(0, 2), // ends inside the pair
        () => t.delete(3, 2),
        () => t.set(2, "x"),
        () => t.set(0, "xx"), // ends inside the pair
        () => t.insert(0, "\ud800"),
        () => t.set("x\udc00"),
        () => t.get(4),
        () => t.get(2),
        () => t.get(-1),
        () => t.slice(2, 1),
        () => t.slice(0, 5),
        () => t.insert(0, 42 as unknown as string),
      ];
      for (const f of bad) await expect(f()).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
      expect(await t.toString()).toBe("a😀b");
      expect(await main.history()).toHaveLength(1);
      await main.counter("c").increment();
      await expect(main.text("c").insert(0, "x")).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
      await main.set("plain", "v");
      await expect(main.text("plain").toString()).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
      await expect(main.counter("doc").get()).rejects.toThrow(/doc is a text, not a counter/);
      expect(() => main.text("")).toThrow(/needs a path/);
      await repo.close();
    });

    it("random edits agree with a string model, on a multi-level rope", async () => {
      const repo = await maker.open();
      const main = repo.branch("main");
      const rnd = prng(7);
      let model = randomText(rnd, 300_000, true);
      await main.text("doc").insert(0, model);
      await main.transaction(async (tx) => {
        const t = tx.text("doc");
        for (let i = 0; i < 200; i++) {
          let pos = Math.floor(rnd() * (model.length + 1));
          if (pos > 0 && pos < model.length && model.charCodeAt(pos) >= 0xdc00 && model.charCodeAt(pos) <= 0xdfff) pos--;
          if (rnd() < 0.6) {
            const s = randomText(rnd, 1 + Math.floor(rnd() * 30), true);
            await t.insert(pos, s);
            model = model.slice(0, pos) + s + model.slice(pos);
          } else {
            let end = Math.min(model.length, pos + Math.floor(rnd() * 40));
            if (end < model.length && model.charCodeAt(end) >= 0xdc00 && model.charCodeAt(end) <= 0xdfff) end++;
            await t.delete(pos, end - pos);
            model = model.slice(0, pos) + model.slice(end);
          }
        }
        expect(await t.length()).toBe(model.length);
      });
      const t = main.text("doc");
      expect(await t.length()).toBe(model.length);
      for (let i = 0; i < 20; i++) {
        const s = Math.floor(rnd() * model.length);
        const e = Math.min(model.length, s + Math.floor(rnd() * 5000));
        expect(await t.slice(s, e)).toBe(model.slice(s, e));
      }
      const shape = await checkRope(repo.internals.ctx, await textSubtree(repo, "main", "doc"));
      expect(shape.text).toBe(model);
      expect(shape.height).toBeGreaterThanOrEqual(1);
      await repo.close();
    });

    it("an edit reads and writes about as many objects at 1 MB as at 1 KB", async () => {
      const cost = async (size: number) => {
        const repo = await maker.open();
        const t = repo.branch("main").text("doc");
        await t.insert(0, randomText(prng(size), size));
        const { ctx } = repo.internals;
        const out = [];
        for (const pos of [0, Math.floor(size / 2), size]) {
          ctx.cache.clear();
          const r0 = ctx.stats.reads, w0 = ctx.stats.writes;
          await t.insert(pos, "edit");
          out.push({ reads: ctx.stats.reads - r0, writes: ctx.stats.writes - w0 });
        }
        const height = (await checkRope(ctx, await textSubtree(repo, "main", "doc"))).height;
        await repo.close();
        return { out, height };
      };
      const small = await cost(1_000);
      const large = await cost(1_000_000);
      expect(small.height).toBe(0);
      expect(large.height).toBeGreaterThanOrEqual(2);
      for (let i = 0; i < 3; i++) {
        // one more tree read and written per level, one or two more leaves at most
        expect(large.out[i].writes).toBeLessThanOrEqual(small.out[i].writes + large.height + 2);
        expect(large.out[i].reads).toBeLessThanOrEqual(small.out[i].reads + 2 * large.height + 3);
        expect(large.out[i].reads).toBeLessThan(20);
      }
    });

    if (maker.name === "git") {
      it("a 1 MB text edited and merged passes git fsck --strict and reads back through git", async () => {
        const repo = await maker.open();
        const main = repo.branch("main");
        const rnd = prng(11);
        const text = randomText(rnd, 1_000_000, true);
        await main.text("docs/big").insert(0, text);
        const wip = await main.fork("wip");
        await main.text("docs/big").insert(10, "main edit");
        await wip.text("docs/big").delete(900_000, 5);
        expect((await main.merge(wip)).ok).toBe(true);
        const expected = text.slice(0, 10) + "main edit" + text.slice(10, 900_000) + text.slice(900_005);
        expect(await main.text("docs/big").toString()).toBe(expected);
        const gitDir = (repo.internals.backend as unknown as { gitDir: string }).gitDir;
        expect(gitDir).toBeTypeOf("string");
        git(["--git-dir", gitDir, "fsck", "--strict", "--no-progress"]);
        // The leaves, in tree order, are the text: git sees the whole value.
        const listing = git(["--git-dir", gitDir, "ls-tree", "-r", "main", "docs/big"]);
        const blobs = listing.split("\n").filter((l) => l.includes(" blob ") && !l.endsWith(".irmin-type"));
        let fromGit = "";
        const ids = blobs.map((l) => l.split(/\s+/)[2]).join("\n") + "\n";
        const batch = execFileSync("git", ["--git-dir", gitDir, "cat-file", "--batch"], { input: ids, env: GIT_ENV, maxBuffer: 1 << 26 });
        // --batch output: "<id> blob <size>\n<bytes>\n" per object
        for (let at = 0; at < batch.length; ) {
          const nl = batch.indexOf(10, at);
          const size = Number(batch.subarray(at, nl).toString().split(" ")[2]);
          fromGit += batch.subarray(nl + 1, nl + 1 + size).toString("utf8");
          at = nl + 1 + size + 1;
        }
        expect(fromGit).toBe(expected);
        await repo.close();
      });
    }
  });
}
