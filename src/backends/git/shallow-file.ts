/**
 * The shallow boundary of a Git repository on disk, `<gitdir>/shallow` (one commit id per line),
 * as git keeps it: commits present without their parents after a `--depth` fetch. With it, `git
 * log` and `git fsck` on a shallow clone stop at the boundary instead of reporting missing
 * objects. Node only.
 */
import { readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { IrminError } from "../../core/errors.js";
import type { Hash } from "../../core/hash.js";

/** The ids listed in `<gitDir>/shallow` (empty when there is no such file). */
export async function readShallowFile(gitDir: string): Promise<Hash[]> {
  try {
    return (await readFile(join(gitDir, "shallow"), "utf8")).split("\n").filter((l) => l !== "");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw new IrminError("IO", `cannot read ${gitDir}/shallow: ${(e as Error).message}`, { cause: e });
  }
}

/** Replaces `<gitDir>/shallow` with `ids` (sorted), atomically (temporary file, then rename); removes it when empty. */
export async function writeShallowFile(gitDir: string, ids: Iterable<Hash>): Promise<void> {
  const sorted = [...new Set(ids)].sort();
  const file = join(gitDir, "shallow");
  try {
    if (sorted.length === 0) {
      await rm(file, { force: true });
      return;
    }
    const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
    await writeFile(tmp, sorted.map((h) => `${h}\n`).join(""));
    await rename(tmp, file);
  } catch (e) {
    throw new IrminError("IO", `cannot write ${gitDir}/shallow: ${(e as Error).message}`, { cause: e });
  }
}
