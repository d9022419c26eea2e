import { mkdtempSync, mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { RefChange } from "../../../src/backend/ref-store.js";
import { ExternalRefWatcher } from "../../../src/backends/git/ref-watcher.js";

const dir = mkdtempSync(join(tmpdir(), "irmin-ref-watcher-"));
mkdirSync(join(dir, "refs"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A watcher over a fake ref source whose refs the test sets, with every emitted change recorded. */
function setup(initial: Record<string, string>) {
  let refs = new Map(Object.entries(initial));
  const emitted: RefChange[] = [];
  const watcher = new ExternalRefWatcher(
    { gitDir: dir, snapshotSync: () => new Map(refs), snapshot: async () => new Map(refs), emit: (c) => emitted.push(c) },
    60_000,
  );
  return { watcher, emitted, set: (r: Record<string, string>) => (refs = new Map(Object.entries(r))) };
}

const A = "a".repeat(40);
const B = "b".repeat(40);
const C = "c".repeat(40);

describe("ExternalRefWatcher.noteLocal", () => {
  it("a local change is to be emitted once, after an external one it did not know of", () => {
    const { watcher, emitted } = setup({ "refs/heads/main": A });
    expect(watcher.noteLocal({ name: "refs/heads/main", before: B, after: C })).toBe(true);
    // B was set by someone else in between: reported first, then the local change is the caller's to emit.
    expect(emitted).toEqual([{ name: "refs/heads/main", before: A, after: B }]);
    watcher.stop();
  });

  it("a local change a rescan already reported is not emitted again, and no change back is invented", async () => {
    const { watcher, emitted, set } = setup({ "refs/heads/main": A });
    // The ref file was renamed to B, and a rescan ran before the store called noteLocal.
    set({ "refs/heads/main": B });
    await (watcher as unknown as { rescan(): Promise<void> }).rescan();
    expect(emitted).toEqual([{ name: "refs/heads/main", before: A, after: B }]);
    expect(watcher.noteLocal({ name: "refs/heads/main", before: A, after: B })).toBe(false);
    expect(emitted).toHaveLength(1);
    watcher.stop();
  });
});
