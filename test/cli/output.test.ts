// Standard output that fails: a reader gone (`irmin log | head -1`), a full disk (`> /dev/full`).
import { closeSync, openSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runCli, spawnCli, tempDir, until } from "./harness.js";

const tmp = tempDir("irmin-cli-output-");
afterAll(() => tmp.cleanup());

describe("a failing standard output", () => {
  it("a closed pipe ends log, tree and watch quietly with 141; another write error is one line and exit 1", async () => {
    const root = join(tmp.dir, "r");
    expect((await runCli(["--root", root, "init"])).code).toBe(0);
    for (let i = 0; i < 5; i++) expect((await runCli(["--root", root, "set", `k${i}`, "v"])).code).toBe(0);

    const [log, tree] = await Promise.all([spawnCli(["--root", root, "log"], { stdout: "closed" }).done, spawnCli(["--root", root, "tree"], { stdout: "closed" }).done]);
    expect(log).toEqual({ code: 141, stdout: "", stderr: "" });
    expect(tree).toEqual({ code: 141, stdout: "", stderr: "" });

    let err = "";
    const watch = spawnCli(["--root", root, "watch"], { stdout: "closed", onStderr: (s) => (err += s) });
    await until(() => err.includes("watching"), "the watch to start");
    expect((await runCli(["--root", root, "set", "k0", "changed"])).code).toBe(0);
    const watched = await watch.done;
    expect(watched.code).toBe(141);
    expect(watched.stderr).toMatch(/^watching main in .* \(Ctrl-C to stop\)\n$/);

    const full = openSync("/dev/full", "w");
    try {
      const r = await spawnCli(["--root", root, "log"], { stdout: full }).done;
      expect(r.code).toBe(1);
      expect(r.stderr).toBe("irmin: cannot write the output: ENOSPC: no space left on device, write\n");
    } finally {
      closeSync(full);
    }
  });
});
