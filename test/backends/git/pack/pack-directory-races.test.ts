import { afterEach, describe, expect, it, vi } from "vitest";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { PackDirectory } from "../../../../src/backends/git/pack/pack-directory.js";
import { Durability } from "../../../../src/backends/git/durability.js";
import { Journal } from "../../../../src/backends/git/journal.js";
import { hashObject } from "../../../../src/codec/object.js";
import { removeDir, tempDir } from "./git-fixtures.js";

// A listing of objects/pack can be read before a pack this process writes is renamed into place
// and returned after it: the gate holds the listing back until the test releases it.
const gate = vi.hoisted(() => ({ hold: undefined as { taken: () => void; release: Promise<void> } | undefined }));
vi.mock("node:fs/promises", async (importOriginal) => {
  const real = await importOriginal<typeof import("node:fs/promises")>();
  return {
    ...real,
    readdir: async (...args: Parameters<typeof real.readdir>) => {
      const listing = await real.readdir(...args);
      const hold = gate.hold;
      if (hold !== undefined) {
        gate.hold = undefined;
        hold.taken();
        await hold.release;
      }
      return listing;
    },
  };
});

const dirs: string[] = [];
afterEach(() => {
  while (dirs.length > 0) removeDir(dirs.pop()!);
});

function blobs(tag: string, n: number) {
  return Array.from({ length: n }, (_, i) => {
    const data = new TextEncoder().encode(`${tag} ${i}\n`);
    return { hash: hashObject("sha1", "blob", data), type: "blob" as const, data };
  });
}

/** Holds the next listing once it is read; resolves `taken` then, and returns it on `release()`. */
function holdNextListing(): { taken: Promise<void>; release: () => void } {
  let taken!: () => void;
  let release!: () => void;
  const takenP = new Promise<void>((r) => (taken = r));
  gate.hold = { taken, release: new Promise<void>((r) => (release = r)) };
  return { taken: takenP, release };
}

describe("PackDirectory rescans racing this process's own writes", () => {
  for (const journal of [true, false]) {
    it(`keeps a pack written while a listing that predates it was read (${journal ? "journal" : "direct"})`, async () => {
      const d = tempDir();
      dirs.push(d);
      const packDir = join(d, "pack");
      mkdirSync(packDir);
      const durability = new Durability(true, journal ? new Journal(join(d, "journal")) : undefined);
      const pd = new PackDirectory(packDir, "sha1", { durability, maxPacks: 1000 });
      try {
        const first = blobs("first", 3);
        await pd.writeSmallPack(first);
        const held = holdNextListing();
        const scan = pd.rescan();
        await held.taken;
        const second = blobs("second", 3);
        const name = await pd.writeSmallPack(second);
        held.release();
        await scan;
        // Before the fix, the stale listing made the scan drop the new pack as vanished.
        expect(pd.packNames()).toContain(name);
        for (const o of [...first, ...second]) expect(await pd.hasKnown(o.hash)).toBe(true);
      } finally {
        await pd.close();
        await durability.close();
      }
    });
  }

  it("keeps a roll-up's pack written while a listing that predates it was read, and hides its sources", async () => {
    const d = tempDir();
    dirs.push(d);
    const packDir = join(d, "pack");
    mkdirSync(packDir);
    const durability = new Durability(true, new Journal(join(d, "journal")));
    const pd = new PackDirectory(packDir, "sha1", { durability, maxPacks: 1000 });
    try {
      const all = [];
      for (let i = 0; i < 4; i++) {
        const b = blobs(`pack ${i}`, 3);
        all.push(...b);
        await pd.writeSmallPack(b);
      }
      const held = holdNextListing();
      const scan = pd.rescan();
      await held.taken;
      expect(await pd.consolidate()).toBeGreaterThan(1);
      const rolledUp = pd.packNames();
      held.release();
      await scan;
      expect(pd.packNames()).toEqual(rolledUp);
      // Found in the packs open now, without another rescan.
      for (const o of all) expect(await pd.hasKnown(o.hash), o.hash).toBe(true);
    } finally {
      await pd.close();
      await durability.close();
    }
  });
});
