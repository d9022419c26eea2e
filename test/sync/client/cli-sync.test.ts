import { describe, it, expect, afterAll } from "vitest";
import { join } from "node:path";
import { Command, CommanderError } from "commander";
import { gitText, tempDir } from "../../backends/git/git-cli.js";
import { registerSyncCommands } from "../../../src/cli/commands-sync.js";
import { registerInitCommand, registerHistoryCommands } from "../../../src/cli/commands-history.js";
import { registerValueCommands } from "../../../src/cli/commands-values.js";
import { CommandContext, type GlobalOptions, type Register } from "../../../src/cli/context.js";
import { isIrminError } from "../../../src/core/errors.js";
import { fsck, makeServerRepo } from "./fixtures.js";

const tmp = tempDir("irmin-cli-sync-");
afterAll(() => tmp.remove());

/** Runs the commands this file tests (program.ts registers them once the lead wires them in). */
async function irmin(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const io = { stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s) }, env: {}, cwd: tmp.dir };
  const exit = { code: 0 };
  const program = new Command("irmin").option("--root <dir>").option("--branch <name>", "", "main").option("--json", "", false).exitOverride().configureOutput({ writeOut: (s) => (stdout += s), writeErr: (s) => (stderr += s) });
  const register: Register = (command, action) =>
    command.action(async (...params: unknown[]) => {
      const cmd = params[params.length - 1] as Command;
      const options = params[params.length - 2] as Record<string, unknown>;
      const args = params.slice(0, -2).map((a) => (a === undefined ? "" : String(a)));
      exit.code = (await action(new CommandContext(io, cmd.optsWithGlobals() as GlobalOptions), args, options)) ?? 0;
    });
  registerInitCommand(program, register);
  registerValueCommands(program, register);
  registerHistoryCommands(program, register);
  registerSyncCommands(program, register);
  try {
    await program.parseAsync(argv, { from: "user" });
  } catch (e) {
    if (e instanceof CommanderError) return { code: e.exitCode, stdout, stderr };
    if (isIrminError(e)) return { code: 1, stdout, stderr: stderr + `irmin: ${e.message}\n` };
    throw e;
  }
  return { code: exit.code, stdout, stderr };
}

describe("irmin clone / fetch / pull / push", () => {
  it("clones, fetches, pulls and pushes a repository on disk; a rejected push exits 1", async () => {
    const server = makeServerRepo(tmp.dir, "origin.git", 5);
    const clone = await irmin(["clone", server.bare]);
    expect(clone).toMatchObject({ code: 0, stderr: "" });
    const root = join(tmp.dir, "origin");
    expect(clone.stdout).toContain(`into ${root} (2 branches)`);
    fsck(root);

    const next = server.commit("remote change");
    const fetched = await irmin(["--root", root, "--json", "fetch", server.bare]);
    expect(JSON.parse(fetched.stdout)).toEqual({ branch: "main", commit: next, tracking: "refs/remotes/origin/main" });
    expect(gitText(root, ["--git-dir", root, "rev-parse", "refs/remotes/origin/main"])).toBe(next);

    expect((await irmin(["--root", root, "pull", server.bare])).code).toBe(0);
    expect(gitText(root, ["--git-dir", root, "rev-parse", "main"])).toBe(next);
    expect((await irmin(["--root", root, "set", "k", "v"])).code).toBe(0);
    const pushed = await irmin(["--root", root, "push", server.bare]);
    expect(pushed).toMatchObject({ code: 0, stdout: "pushed main to origin/main\n" });
    expect(gitText(server.bare, ["--git-dir", server.bare, "show", "main:k"])).toBe("v");

    server.commit("concurrent");
    expect((await irmin(["--root", root, "set", "k", "w"])).code).toBe(0);
    const rejected = await irmin(["--root", root, "push", server.bare]);
    expect(rejected.code).toBe(1);
    expect(rejected.stderr).toMatch(/rejected: non-fast-forward/);
    expect((await irmin(["--root", root, "pull", server.bare, "--remote-branch", "side", "--strategy", "set", "--branch", "side2"])).code).toBe(0);
    expect(gitText(root, ["--git-dir", root, "rev-parse", "side2"])).toBe(gitText(server.bare, ["--git-dir", server.bare, "rev-parse", "side"]));
    expect((await irmin(["--root", root, "push", "--force", server.bare])).code).toBe(0);
    expect(gitText(server.bare, ["--git-dir", server.bare, "show", "main:k"])).toBe("w");
    fsck(server.bare);

    expect((await irmin(["--root", root, "fetch", server.bare, "nope"])).code).toBe(1);
    expect((await irmin(["--root", root, "pull", server.bare, "--strategy", "bogus"])).code).not.toBe(0);
    expect((await irmin(["clone", join(tmp.dir, "does-not-exist"), join(tmp.dir, "x")])).code).toBe(1);
  });
});
