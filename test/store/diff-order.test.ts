/**
 * `Tree.diff` is sorted by path, segment by segment in name order, a path before the paths below
 * it, and the diff back is the same list with the kinds mirrored: also where a value becomes a
 * directory or a directory a value.
 */
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import type { DiffEntry } from "../../src/tree/diff.js";
import type { Tree } from "../../src/tree/tree.js";
import { repoMakers } from "./backends.js";

/** Segment by segment in code-unit order; a path before the longer paths it is a prefix of. */
function comparePaths(p: string[], q: string[]): number {
  for (let i = 0; i < Math.min(p.length, q.length); i++) if (p[i] !== q[i]) return p[i] < q[i] ? -1 : 1;
  return p.length - q.length;
}

const show = (d: DiffEntry<string>) => `${d.kind} ${d.path.join("/")}`;
const mirror = (d: DiffEntry<string>): DiffEntry<string> => {
  const kind = d.kind === "added" ? "removed" : d.kind === "removed" ? "added" : "updated";
  return { path: d.path, kind, ...(d.after !== undefined && { before: d.after }), ...(d.before !== undefined && { after: d.before }) };
};

// Names around the orders that differ: "a" as a directory sorts as "a/" in Git, between "a.b" and "a0".
const path = fc.array(fc.constantFrom("a", "a.b", "a0", "b"), { minLength: 1, maxLength: 3 });
const edits = fc.array(fc.record({ path, value: fc.option(fc.constantFrom("1", "2"), { nil: undefined }) }), { maxLength: 12 });

async function apply(tree: Tree<string>, list: { path: string[]; value: string | undefined }[]): Promise<Tree<string>> {
  for (const e of list) tree = e.value === undefined ? await tree.remove(e.path) : await tree.set(e.path, e.value);
  return tree;
}

for (const maker of repoMakers()) {
  describe(`Tree.diff order (${maker.name})`, () => {
    afterAll(() => maker.cleanup());

    it("a value that becomes a directory, and back: the path first, then the paths below it, in both directions", async () => {
      const repo = await maker.open();
      const main = repo.branch("main");
      await main.set("d/x", "1");
      await main.set("d/y", "2");
      await main.set("f", "3");
      const t1 = await main.tree();
      const t2 = await (await t1.set("d", "file now")).set("f/sub", "dir now");
      expect((await t1.diff(t2)).map(show)).toEqual(["added d", "removed d/x", "removed d/y", "removed f", "added f/sub"]);
      expect((await t2.diff(t1)).map(show)).toEqual(["removed d", "added d/x", "added d/y", "added f", "removed f/sub"]);
      await repo.close();
    });

    it("any two trees: sorted by path, and the diff back mirrors it entry for entry", async () => {
      const repo = await maker.open();
      const main = repo.branch("main");
      await fc.assert(
        fc.asyncProperty(edits, edits, async (first, second) => {
          const t1 = await apply(await main.tree(), first);
          await main.setTree("", t1);
          const stored = await main.tree();
          const t2 = await apply(stored, second);
          const forward = await stored.diff(t2);
          for (let i = 1; i < forward.length; i++) expect(comparePaths(forward[i - 1].path, forward[i].path)).toBeLessThan(0);
          expect(await t2.diff(stored)).toEqual(forward.map(mirror));
          // Every change is real: what diff says is what the trees hold.
          for (const d of forward) {
            expect(await stored.get(d.path)).toBe(d.before);
            expect(await t2.get(d.path)).toBe(d.after);
          }
        }),
        { seed: 20240611, numRuns: maker.name === "git" ? 30 : 150 },
      );
      await repo.close();
    });
  });
}
