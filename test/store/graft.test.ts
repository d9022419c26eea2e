/** `setTree` with a tree read from another repository: its stored objects are copied, never left behind. */
import { execFileSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { isIrminError } from "../../src/core/errors.js";
import { Repo } from "../../src/store/repo.js";

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});
async function scratch(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), "irmin-graft-"));
  dirs.push(d);
  return d;
}

describe("grafting a tree of another repository", () => {
  it("copies what the other store holds (stored subtrees and blobs), writes the rest with the commit; git fsck agrees", async () => {
    const dir = await scratch();
    const ours = await Repo.open({ path: dir });
    const theirs = await Repo.memory();
    await theirs.branch("main").set("p/q", "stored in theirs");
    await theirs.branch("main").set("p/deep/er", "also stored");
    let t = await theirs.branch("main").tree();
    t = await t.set("p/r", "pending in theirs");
    await ours.branch("main").set("k", "v");
    await ours.branch("main").setTree("x", t);
    await ours.close();
    await theirs.close();
    const again = await Repo.open({ path: dir });
    const main = again.branch("main");
    expect(await main.get("x/p/q")).toBe("stored in theirs");
    expect(await main.get("x/p/deep/er")).toBe("also stored");
    expect(await main.get("x/p/r")).toBe("pending in theirs");
    expect(await main.get("k")).toBe("v");
    await again.close();
    execFileSync("git", ["--git-dir", dir, "fsck", "--strict", "--no-dangling"], { stdio: "pipe" });
  });

  it("copies nothing when the other repository shares the store (the same directory opened twice)", async () => {
    const dir = await scratch();
    const first = await Repo.open({ path: dir });
    await first.branch("main").set("a/b", "1");
    const second = await Repo.open({ path: dir });
    const before = second.internals.ctx.stats.writes;
    const tree = await (await second.branch("main").tree()).setTree("copy", await first.branch("main").tree());
    expect(second.internals.ctx.stats.writes).toBe(before);
    expect(await tree.get("copy/a/b")).toBe("1");
    await first.close();
    await second.close();
  });

  it("refuses a tree of a repository with another hash algorithm", async () => {
    const sha1 = await Repo.memory();
    const sha256 = await Repo.memory({ hash: "sha256" });
    await sha256.branch("main").set("a", "1");
    const t = await sha256.branch("main").tree();
    await expect(sha1.branch("main").setTree("x", t)).rejects.toSatisfy((e: unknown) => isIrminError(e, "INVALID_ARGUMENT"));
    await sha1.close();
    await sha256.close();
  });
});
