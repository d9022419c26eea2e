import { afterAll, describe, expect, it } from "vitest";
import { isIrminError, type ErrorCode } from "../../src/core/errors.js";
import { repoMakers } from "./backends.js";

const code = (c: ErrorCode) => (e: unknown) => isIrminError(e, c);

// Misuse is INVALID_ARGUMENT, whatever the state of the store; CORRUPT stays for broken data.
for (const maker of repoMakers()) {
  describe(`bad input on ${maker.name}`, () => {
    afterAll(() => maker.cleanup());

    it("a tree, blob or missing id where a commit is expected", async () => {
      const repo = await maker.open();
      const main = repo.branch("main");
      const c = await main.set("a/b", "v");
      const tree = c.treeHash;
      const blob = (await repo.internals.backend.objects.put("blob", new TextEncoder().encode("v")));
      for (const id of [tree, blob]) {
        await expect(main.merge(id)).rejects.toSatisfy(code("INVALID_ARGUMENT"));
        await expect(repo.branch("other").merge(id)).rejects.toSatisfy(code("INVALID_ARGUMENT"));
        await expect(main.reset(id)).rejects.toSatisfy(code("INVALID_ARGUMENT"));
        await expect(repo.commit(id)).rejects.toSatisfy(code("INVALID_ARGUMENT"));
        await expect(repo.lcas(id, c)).rejects.toSatisfy(code("INVALID_ARGUMENT"));
        await expect(repo.lcas(c, id)).rejects.toSatisfy(code("INVALID_ARGUMENT"));
      }
      await expect(main.merge("1".repeat(40))).rejects.toSatisfy(code("NOT_FOUND"));
      await expect(repo.commit("1".repeat(40))).rejects.toSatisfy(code("NOT_FOUND"));
      expect((await main.head())!.hash).toBe(c.hash);
      // A ref that names a tree is broken data, not a caller's mistake.
      await repo.internals.backend.refs.set("refs/heads/broken", tree);
      await expect(repo.branch("broken").head()).rejects.toSatisfy(code("CORRUPT"));
      await repo.close();
    });

    it("the branch name HEAD, as git refuses it", async () => {
      const repo = await maker.open();
      expect(() => repo.branch("HEAD")).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
      const main = repo.branch("main");
      await main.set("k", "v");
      await expect(main.fork("HEAD")).rejects.toSatisfy(code("INVALID_ARGUMENT"));
      expect(await repo.branches()).toEqual(["main"]);
      // Names that merely contain it stay valid, as in git.
      for (const name of ["HEADS", "x/HEAD", "HEAD/x", "head"]) expect(repo.branch(name).ref).toBe(`refs/heads/${name}`);
      await repo.close();
    });

    it("history options are checked even on a branch that does not exist", async () => {
      const repo = await maker.open();
      const missing = repo.branch("missing");
      for (const options of [{ limit: -5 }, { limit: 1.5 }, { limit: NaN }, { path: "a//b" }, { path: ".git" }]) {
        await expect(missing.history(options)).rejects.toSatisfy(code("INVALID_ARGUMENT"));
      }
      expect(await missing.history({ limit: 3, path: "a/b" })).toEqual([]);
      await repo.close();
    });
  });
}
