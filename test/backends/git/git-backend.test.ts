import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Backend } from "../../../src/backend/backend.js";
import { gitBackend } from "../../../src/backends/git/git-backend.js";
import { backendConformance } from "../../conformance/index.js";

const dirs = new WeakMap<Backend, string>();

backendConformance({
  name: "git",
  async create(hash) {
    const dir = await mkdtemp(join(tmpdir(), "irmin-git-conformance-"));
    // fsync off: the suites test semantics, not durability, and must stay fast.
    const backend = await gitBackend({ path: join(dir, "repo.git"), hash, fsync: false, pollIntervalMs: 500 });
    dirs.set(backend, dir);
    return backend;
  },
  async reopen(backend) {
    const dir = dirs.get(backend)!;
    const again = await gitBackend({ path: join(dir, "repo.git"), create: false, fsync: false, pollIntervalMs: 500 });
    dirs.set(again, dir);
    return again;
  },
  async destroy(backend) {
    const dir = dirs.get(backend);
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  },
});
