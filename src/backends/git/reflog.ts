import { closeSync, constants, existsSync, mkdirSync, openSync, writeSync } from "node:fs";
import { rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import { type Hash, type HashAlgorithm, zeroHash } from "../../core/hash.js";
import type { GitConfig } from "./git-config.js";
import { errnoCode } from "./io-error.js";

/** Opens an existing log for appending, as git's `open(O_WRONLY|O_APPEND)` (no `O_CREAT`). */
const APPEND_EXISTING = constants.O_WRONLY | constants.O_APPEND;

/**
 * Git's reflogs (`logs/<ref>`), kept the way git keeps them so that `git reflog` shows this
 * library's updates: a line is appended when the log file already exists, or when
 * `core.logAllRefUpdates` asks for it (git's default: on in repositories with a work tree, off in
 * bare ones; `always` logs every ref). Writing a reflog is best effort: a failure never fails the
 * ref update it describes (git treats a missing reflog as empty).
 *
 * Cost per update, as git's `files_log_ref_write`: in a bare repository (nothing to create), one
 * existence check of each log that may exist (the ref's, and `HEAD`'s), then an `open` of those
 * that do; `HEAD` is read only when its log is written.
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

  /**
   * Logs the update of `ref` (`<old> <new> <ident> <time> <tz>\t<message>`) where it should be
   * logged, and in `HEAD`'s log too when `headTarget()` (called only when `HEAD`'s log is written)
   * says `HEAD` points at `ref`, as git does. Never throws.
   */
  append(ref: string, before: Hash | undefined, after: Hash | undefined, message: string, headTarget?: () => string | undefined): void {
    let line: string | undefined;
    const text = () => (line ??= this.line(before, after, message));
    try {
      this.write(ref, text);
      if (ref !== "HEAD" && headTarget !== undefined) {
        if (this.creates("HEAD")) {
          if (headTarget() === ref) this.write("HEAD", text);
          return;
        }
        // Only an existing log is written: try it first, so HEAD is read only when it exists.
        const fd = this.open("HEAD");
        if (fd !== undefined) {
          try {
            if (headTarget() === ref) writeSync(fd, text());
          } finally {
            closeSync(fd);
          }
        }
      }
    } catch {
      // Best effort, see the class comment.
    }
  }

  /** Deletes the log of a deleted ref, as git does. */
  async remove(ref: string): Promise<void> {
    await rm(join(this.gitDir, "logs", ref), { force: true }).catch(() => undefined);
  }

  private write(ref: string, text: () => string): void {
    const fd = this.open(ref);
    if (fd === undefined) return;
    try {
      writeSync(fd, text());
    } finally {
      closeSync(fd);
    }
  }

  /** The log of `ref` opened for appending, created when the mode asks for it; undefined when it is not kept. */
  private open(ref: string): number | undefined {
    const file = join(this.gitDir, "logs", ref);
    if (this.creates(ref)) {
      // Synchronous: one small append, cheaper than thread-pool round trips.
      mkdirSync(dirname(file), { recursive: true });
      return openSync(file, "a");
    }
    // Most repositories keep no log: checked first without an exception (a failed `openSync`
    // builds an Error with its stack, 2.5% of a commit's CPU in the store bench for two logs).
    if (!existsSync(file)) return undefined;
    try {
      return openSync(file, APPEND_EXISTING);
    } catch (e) {
      const code = errnoCode(e);
      if (code === "ENOENT" || code === "ENOTDIR" || code === "EISDIR") return undefined;
      throw e;
    }
  }

  /** Whether the mode keeps a log for `ref` even when none exists yet. */
  private creates(ref: string): boolean {
    return this.mode === "always" || (this.mode === "branches" && (ref === "HEAD" || /^refs\/(heads|remotes|notes)\//.test(ref)));
  }

  private line(before: Hash | undefined, after: Hash | undefined, message: string): string {
    const zero = zeroHash(this.algorithm);
    const now = new Date();
    const offset = -now.getTimezoneOffset();
    const abs = Math.abs(offset);
    const tz = `${offset < 0 ? "-" : "+"}${String(Math.floor(abs / 60)).padStart(2, "0")}${String(abs % 60).padStart(2, "0")}`;
    return `${before ?? zero} ${after ?? zero} ${this.identity} ${Math.floor(now.getTime() / 1000)} ${tz}\t${message.replace(/\n/g, " ")}\n`;
  }
}
