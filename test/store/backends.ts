import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Repo, type RepoOptions } from "../../src/store/repo.js";

/** A way to open a fresh repository, for running one scenario on every backend. */
export interface RepoMaker {
  readonly name: string;
  open<V = string>(options?: Omit<RepoOptions<V>, "path" | "backend">): Promise<Repo<V>>;
  /** Removes what the repositories opened so far left on disk. */
  cleanup(): Promise<void>;
}

function memoryMaker(): RepoMaker {
  return { name: "memory", open: (options) => Repo.memory(options), cleanup: async () => {} };
}

function gitMaker(): RepoMaker {
  const dirs: string[] = [];
  return {
    name: "git",
    async open(options) {
      const dir = await mkdtemp(join(tmpdir(), "irmin-store-"));
      dirs.push(dir);
      return Repo.open({ ...options, path: join(dir, "repo.git"), backend: "git" });
    },
    async cleanup() {
      await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
    },
  };
}

/** Every backend the store scenarios run on. */
export function repoMakers(): RepoMaker[] {
  return process.env.IRMIN_ONLY_MEMORY ? [memoryMaker()] : [memoryMaker(), gitMaker()];
}
