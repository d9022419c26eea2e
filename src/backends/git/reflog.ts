import { appendFileSync, mkdirSync, statSync } from "node:fs";
import { rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import { type Hash, type HashAlgorithm, zeroHash } from "../../core/hash.js";
import type { GitConfig } from "./git-config.js";
import { errnoCode } from "./io-error.js";

/**
 * Git's reflogs (`logs/<ref>`), kept the way git keeps them so that `git reflog` shows this
 * library's updates: a line is appended when the log file already exists, or when
 * `core.logAllRefUpdates` asks for it (git's default: on in repositories with a work tree, off in
 * bare ones; `always` logs every ref). Writing a reflog is best effort: a failure never fails the
 * ref update it describes (git treats a missing reflog as empty).
 */
export class Reflogs {
  private readonly mode: "always" | "branches" | "existing";
  private readonly identity: string;

  constructor(
    readonly gitDir: string,
    readonly algorithm: HashAlgorithm,
    config: GitConfig,
  ) {
    const bare = config.getBoolean("core", "bare", false);
    const setting = config.get("core", "logallrefupdates")?.toLowerCase();
    this.mode = setting === "always" ? "always" : config.getBoolean("core", "logallrefupdates", !bare) ? "branches" : "existing";
    const name = (config.get("user", "name") ?? "irmin-ts").replace(/[<>\n]/g, "");
    const email = (config.get("user", "email") ?? "irmin-ts@localhost").replace(/[<>\n]/g, "");
    this.identity = `${name} <${email}>`;
  }

  /** Appends `<old> <new> <ident> <time> <tz>\t<message>` to the log of `ref` when it should be logged. */
  async append(ref: string, before: Hash | undefined, after: Hash | undefined, message: string): Promise<void> {
    const file = join(this.gitDir, "logs", ref);
    try {
      if (!this.shouldLog(ref, file)) return;
      const zero = zeroHash(this.algorithm);
      const now = new Date();
      const offset = -now.getTimezoneOffset();
      const abs = Math.abs(offset);
      const tz = `${offset < 0 ? "-" : "+"}${String(Math.floor(abs / 60)).padStart(2, "0")}${String(abs % 60).padStart(2, "0")}`;
      const line = `${before ?? zero} ${after ?? zero} ${this.identity} ${Math.floor(now.getTime() / 1000)} ${tz}\t${message.replace(/\n/g, " ")}\n`;
      // Synchronous: one small append, cheaper than thread-pool round trips.
      mkdirSync(dirname(file), { recursive: true });
      appendFileSync(file, line);
    } catch {
      // Best effort, see the class comment.
    }
  }

  /** Deletes the log of a deleted ref, as git does. */
  async remove(ref: string): Promise<void> {
    await rm(join(this.gitDir, "logs", ref), { force: true }).catch(() => undefined);
  }

  private shouldLog(ref: string, file: string): boolean {
    if (this.mode === "always") return true;
    if (this.mode === "branches" && (ref === "HEAD" || /^refs\/(heads|remotes|notes)\//.test(ref))) return true;
    try {
      return statSync(file).isFile();
    } catch (e) {
      if (errnoCode(e) === "ENOENT" || errnoCode(e) === "ENOTDIR") return false;
      throw e;
    }
  }
}
