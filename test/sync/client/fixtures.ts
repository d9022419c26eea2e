/** Git repositories made by the real git for the sync client tests. */
import { cpSync, existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { git, gitText } from "../../backends/git/git-cli.js";

/**
 * A bare repository `<root>/<name>` with `commits` commits on `main` (a file edited a little each
 * time, so `git gc --aggressive` makes deep delta chains) and a `side` branch, HEAD on main.
 * Returns the work tree too, to add commits later.
 */
export function makeServerRepo(root: string, name: string, commits = 12): { bare: string; work: string; head: () => string; commit: (msg: string) => string } {
  const work = join(root, `${name}-work`);
  const bare = join(root, name);
  // Building the history is the slow part: build it once per size and copy it.
  const template = join(root, `.template-${commits}`);
  if (!existsSync(template)) buildRepo(template, join(template, "repo.git"), join(template, "work"), commits);
  cpSync(join(template, "repo.git"), bare, { recursive: true });
  cpSync(join(template, "work"), work, { recursive: true });
  git(work, ["remote", "set-url", "origin", bare]);
  const commit = committer(work, commits);
  return {
    bare,
    work,
    head: () => gitText(bare, ["--git-dir", bare, "rev-parse", "main"]),
    commit: (msg: string) => {
      // Start from whatever the bare repository has now (tests push to it too).
      git(work, ["fetch", "-q", "origin", "main"]);
      git(work, ["reset", "-q", "--hard", "FETCH_HEAD"]);
      const h = commit(msg);
      git(work, ["push", "-q", "origin", "main"]);
      return h;
    },
  };
}

/** Makes commits in `work`: each edits a line of notes.txt (deltas between versions) and one of four small files. */
function committer(work: string, start: number): (msg: string) => string {
  const lines = Array.from({ length: 120 }, (_, i) => `line ${i}: some text that stays the same between versions`);
  let n = start;
  return (msg) => {
    lines[(n * 13) % lines.length] = `edited by ${msg}`;
    lines.push(`added by ${msg}`);
    n++;
    writeFileSync(join(work, "notes.txt"), lines.join("\n"));
    writeFileSync(join(work, `f${n % 4}.txt`), `${msg}\n`);
    git(work, ["add", "-A"]);
    git(work, ["commit", "-q", "-m", msg]);
    return gitText(work, ["rev-parse", "HEAD"]);
  };
}

function buildRepo(root: string, bare: string, work: string, commits: number): void {
  mkdirSync(root, { recursive: true });
  git(root, ["init", "-q", "-b", "main", work]);
  const commit = committer(work, 0);
  for (let i = 0; i < commits; i++) commit(`c${i}`);
  git(work, ["branch", "side", "HEAD~3"]);
  git(root, ["clone", "-q", "--bare", work, bare]);
  git(bare, ["--git-dir", bare, "gc", "-q", "--aggressive"]);
  git(work, ["remote", "add", "origin", bare]);
}

/** `git fsck --strict` of a bare repository (throws with git's output on any problem). */
export function fsck(gitDir: string): void {
  git(gitDir, ["--git-dir", gitDir, "fsck", "--strict", "--no-dangling"]);
}
