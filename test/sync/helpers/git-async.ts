/**
 * The real `git`, run asynchronously with the isolated test environment: tests whose server runs
 * in this process (the http-backend bridge, our own handler) must not block the event loop with
 * execFileSync, or client and server deadlock.
 */
import { execFile } from "node:child_process";
import { GIT_ENV } from "../../backends/git/git-cli.js";

/** Runs git in `cwd`; resolves with stdout; rejects with stderr in the message. */
export function gitAsync(cwd: string, args: readonly string[], extraEnv: Record<string, string> = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile("git", args, { cwd, env: { ...GIT_ENV, HOME: cwd, ...extraEnv }, maxBuffer: 256 << 20, timeout: 60_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`git ${args.join(" ")} failed: ${stderr || err.message}`));
      else resolve(stdout.toString());
    });
  });
}
