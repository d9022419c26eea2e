// Values and paths as they come in: standard input and command-line arguments.
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { git, runCli, tempDir, type CliResult, type RunOptions } from "./harness.js";

const tmp = tempDir("irmin-cli-input-");
afterAll(() => tmp.cleanup());
let count = 0;

type Irmin = (args: string[], options?: RunOptions) => Promise<CliResult>;

async function fresh(): Promise<{ root: string; irmin: Irmin }> {
  const root = join(tmp.dir, `r${count++}`);
  const irmin: Irmin = (args, options) => runCli(["--root", root, ...args], options);
  expect((await irmin(["init"])).code).toBe(0);
  return { root, irmin };
}

async function ok(p: Promise<CliResult>): Promise<string> {
  const r = await p;
  if (r.code !== 0) throw new Error(`exit ${r.code}: ${r.stderr}`);
  expect(r.stderr).toBe("");
  return r.stdout;
}

const blobBytes = (root: string, rev: string) => execFileSync("git", ["--git-dir", root, "cat-file", "blob", rev]);

describe("standard input", () => {
  it("a leading byte order mark is part of the value", async () => {
    const { root, irmin } = await fresh();
    await ok(irmin(["set", "bom", "-"], { stdin: "\ufeffhi" }));
    expect(await ok(irmin(["get", "bom"]))).toBe("\ufeffhi\n");
    expect([...blobBytes(root, "main:bom")]).toEqual([0xef, 0xbb, 0xbf, 0x68, 0x69]);
    await ok(irmin(["register", "r", "set", "-"], { stdin: "\ufeff" }));
    expect(await ok(irmin(["register", "r"]))).toBe("\ufeff\n");
    expect(git(["--git-dir", root, "rev-list", "--count", "main"]).trim()).toBe("2");
  });
});
