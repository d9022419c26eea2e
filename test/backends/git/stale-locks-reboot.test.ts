/**
 * A ref lock left before a restart: removed without a recovery first (the open replayed that
 * boot's journals). A restart cannot be made here: the file's time is taken for one made before
 * it when its tag names the boot `00000000`.
 */
import { describe, expect, it, vi } from "vitest";
import { existsSync, linkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gitBackend } from "../../../src/backends/git/git-backend.js";
import { ownTag } from "../../../src/backends/git/owner-tag.js";
import { Repo } from "../../../src/store/repo.js";
import { scratchDirs } from "./journal-helpers.js";

vi.mock("../../../src/backends/git/journal-format.js", async (original) => {
  const actual = await original<typeof import("../../../src/backends/git/journal-format.js")>();
  return { ...actual, fromEarlierBoot: (path: string) => path.includes(".00000000-") || actual.fromEarlierBoot(path) };
});

const { scratch, cleanups } = scratchDirs();

describe("a ref lock left before a restart", () => {
  it("is removed, whatever process has its pid now", async () => {
    const dir = join(scratch(), "repo.git");
    const repo = await Repo.open({ backend: await gitBackend({ path: dir, lockTimeoutMs: 200 }) });
    cleanups.push(() => repo.close());
    const main = repo.branch("main");
    await main.set("a", "1");
    const [, start, ns, host] = ownTag().split(".");
    // This very process's pid: running, but in another boot's tag.
    const lock = join(dir, "refs", "heads", "main.lock");
    writeFileSync(lock, "");
    linkSync(lock, join(dir, "irmin-journal", `${[process.pid, start, ns, host, "00000000"].join(".")}-0123abcd.tmp`));
    await main.set("a", "2");
    expect(await main.get("a")).toBe("2");
    expect(existsSync(lock)).toBe(false);
  });
});
