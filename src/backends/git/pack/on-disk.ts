/**
 * Whether a pack this process has open is still on disk.
 *
 * A pack stays readable through its open descriptor after another process deletes it (a `git
 * gc`, `git repack -a -d`, a roll-up). Reads may go on from it: the bytes are the object's. But
 * what a writer decides from it must hold on disk: an object it does not write again because a
 * pack "has" it, and an object a ref is about to name.
 */
import { existsSync, utimesSync } from "node:fs";
import { join } from "node:path";
import { errnoCode, ioError } from "../io-error.js";

/**
 * Whether `pack-<name>.pack` and its index are in `packDir`. With `freshen`, the pack's
 * modification time is set to now, as git does for a packed object it does not write again: a
 * concurrent `git gc` keeps recent unreachable objects. A pack whose time cannot be set (another
 * user's) counts as absent, as in git: the caller writes the object again, which is harmless.
 */
export function packOnDisk(packDir: string, name: string, freshen: boolean): boolean {
  const base = join(packDir, `pack-${name}`);
  try {
    if (freshen) {
      const now = new Date();
      utimesSync(`${base}.pack`, now, now);
    } else if (!existsSync(`${base}.pack`)) {
      return false;
    }
  } catch (e) {
    const code = errnoCode(e);
    if (code === "ENOENT" || code === "ENOTDIR" || code === "EPERM" || code === "EACCES" || code === "EROFS") return false;
    throw ioError(e, `checking pack-${name}`);
  }
  return existsSync(`${base}.idx`);
}
