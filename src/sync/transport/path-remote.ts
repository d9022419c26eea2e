/**
 * `Remote.path(dir)`: another Git repository on disk, opened with this library's git backend in
 * this process (no `git` executable needed). Node only.
 */
import { gitBackend } from "../../backends/git/git-backend.js";
import type { RemoteSession } from "../client/session.js";
import { inProcessSession } from "./in-process.js";

/** Opens the repository at `dir` (NOT_FOUND when there is none: it is never created). */
export async function pathSession(dir: string): Promise<RemoteSession> {
  const backend = await gitBackend({ path: dir, create: false });
  return inProcessSession(backend, () => backend.close());
}
