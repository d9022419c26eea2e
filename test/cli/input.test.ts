// Values and paths as they come in: standard input and command-line arguments.
import { execFileSync, spawnSync } from "node:child_process";
import { afterAll, describe, expect, it } from "vitest";
import { firstInvalidUtf8, rawArguments } from "../../src/cli/raw-arguments.js";
import { run } from "../../src/cli/program.js";
import { git, PROJECT, tempDir, ok, repoFactory } from "./harness.js";

const tmp = tempDir("irmin-cli-input-");
afterAll(() => tmp.cleanup());


const fresh = repoFactory(tmp.dir);


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

describe("command-line arguments that are not UTF-8", () => {
  it("are refused, as standard input is, when the raw arguments are known", async () => {
    const { root } = await fresh();
    const enc = (s: string) => new TextEncoder().encode(s);
    let stderr = "";
    const io = { stdout: { write: () => undefined }, stderr: { write: (s: string) => (stderr += s) }, env: {} };
    const argv = ["--root", root, "set", "bin", "\ufffd\ufffd"];
    const code = await run(argv, { ...io, rawArgs: [enc("--root"), enc(root), enc("set"), enc("bin"), new Uint8Array([0xff, 0xfe])] });
    expect(code).toBe(1);
    expect(stderr).toBe("irmin: argument 5 is not valid UTF-8: \ufffd\ufffd\n");
    expect(git(["--git-dir", root, "for-each-ref"])).toBe("");
    // Valid bytes (U+FFFD typed as such included) are taken as they are.
    expect(await run(argv, { ...io, rawArgs: argv.map(enc) })).toBe(0);
  });

  it("rawArguments reads /proc/self/cmdline, and gives up when it does not match", () => {
    const cmdline = (...parts: (string | number[])[]) => () => {
      const chunks = parts.map((p) => (typeof p === "string" ? [...new TextEncoder().encode(p)] : p));
      return new Uint8Array(chunks.flatMap((c) => [...c, 0]));
    };
    const raw = rawArguments(["set", "", "p\ufffd"], cmdline("node", "main.js", "set", "", [0x70, 0xff]));
    expect(raw?.map((r) => [...r])).toEqual([[0x73, 0x65, 0x74], [], [0x70, 0xff]]);
    expect(firstInvalidUtf8(raw!)).toBe(2);
    expect(rawArguments(["a", "b"], cmdline("node", "main.js", "a", "other"))).toBeUndefined();
    expect(rawArguments(["a", "b", "c"], cmdline("b", "c"))).toBeUndefined();
    expect(
      rawArguments(["a"], () => {
        throw new Error("ENOENT");
      }),
    ).toBeUndefined();
  });

  it.runIf(process.platform === "linux")("as a process: a value or a path with invalid bytes is refused, nothing is stored", async () => {
    const { root, irmin } = await fresh();
    // Only a shell can pass bytes that are not UTF-8 (Node's spawn encodes its arguments).
    const cli = `"${process.execPath}" --import tsx src/cli/main.ts --root "${root}"`;
    for (const args of [`set bin $'\\xff\\xfe'`, `set $'p\\xff' v`, `queue q push $'\\xc3'`]) {
      const r = spawnSync("bash", ["-c", `${cli} ${args}`], { cwd: PROJECT, encoding: "utf8" });
      expect(r.status, args).toBe(1);
      expect(r.stderr, args).toMatch(/^irmin: argument \d is not valid UTF-8: .*\n$/);
    }
    expect(git(["--git-dir", root, "for-each-ref"])).toBe("");
    expect(await ok(irmin(["list"]))).toBe("");
  });
});
