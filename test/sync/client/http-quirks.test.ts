import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { join } from "node:path";
import { gitText, tempDir } from "../../backends/git/git-cli.js";
import { startHttpBackend, type HttpBackend } from "../helpers/http-backend.js";
import { gitAsync } from "../helpers/git-async.js";
import { Remote } from "../../../src/sync/remote.js";
import { cloneRepo } from "../../../src/sync/operations.js";
import { makeServerRepo } from "./fixtures.js";

/** Smart HTTP servers (the real git http-backend) whose answers differ in ways git tolerates. */
describe("the HTTP client against servers git accepts", () => {
  const tmp = tempDir("irmin-http-quirks-");
  let http: HttpBackend;
  beforeAll(async () => {
    http = await startHttpBackend(tmp.dir, { contentTypeSuffix: "; charset=utf-8" });
  });
  afterAll(async () => {
    await http?.stop();
    tmp.remove();
  });

  for (const protocol of [0, 2] as const) {
    it(`v${protocol}: a Content-Type with parameters (…; charset=utf-8) is accepted, as git does`, async () => {
      const server = makeServerRepo(tmp.dir, `ctype-v${protocol}.git`);
      // git itself clones from it.
      await gitAsync(tmp.dir, ["-c", `protocol.version=${protocol}`, "clone", "-q", "--bare", http.url(`ctype-v${protocol}.git`), join(tmp.dir, `git-clone-v${protocol}.git`)]);
      const path = join(tmp.dir, `ours-v${protocol}.git`);
      const repo = await cloneRepo(Remote.url(http.url(`ctype-v${protocol}.git`), { protocol }), { path });
      try {
        expect((await repo.branch("main").head())?.hash).toBe(server.head());
        expect(gitText(path, ["--git-dir", path, "rev-parse", "main"])).toBe(server.head());
      } finally {
        await repo.close();
      }
    });
  }
});
