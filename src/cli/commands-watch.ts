import type { Command } from "commander";
import { parsePath, type Path } from "../core/path.js";
import type { Hash } from "../core/hash.js";
import type { Repo } from "../store/repo.js";
import type { Branch } from "../store/branch.js";
import type { Tree } from "../tree/tree.js";
import type { Register } from "./context.js";
import { changeJson, changeLine, diffItems } from "./items.js";
import { displayPath, shortHash } from "./io.js";

/** Registers `watch`: one line per changed value until interrupted. */
export function registerWatchCommand(program: Command, register: Register): void {
  register(
    program
      .command("watch")
      .summary("print changes under PATH until Ctrl-C")
      .description(
        "print each change under PATH (default all) as it happens, until interrupted (Ctrl-C), one line per value or data type (as `diff` shows them): " +
          "the new head's short hash, then + added, - removed or ~ updated. Changes made by this or other processes, or by git, " +
          "are seen; changes closer together than the watch notices them are reported as one.",
      )
      .argument("[path]", "a directory or a value"),
    (ctx, [path]) =>
      ctx.withRepo(async (repo, branch) => {
        const prefix = parsePath(path);
        const signal = ctx.io.signal;
        if (signal?.aborted) return;
        // The ref store's watch, not Branch.watch: Branch.watch queues its work out of reach, and the
        // repository may only be closed once every change already noticed has been printed.
        let tail: Promise<void> = Promise.resolve();
        const stop = repo.internals.backend.refs.watch((change) => {
          if (change.name !== branch.ref) return;
          tail = tail.then(() =>
            printChange(repo, branch, prefix, change.before, change.after).then(
              (lines) => {
                for (const [json, text] of lines) ctx.out.result(json, () => [text]);
              },
              (e: unknown) => {
                ctx.io.stderr.write(`irmin: watch: ${e instanceof Error ? e.message : String(e)}\n`);
              },
            ),
          );
        });
        ctx.io.stderr.write(`watching ${branch.name}${prefix.length > 0 ? ` at ${displayPath(prefix)}` : ""} in ${ctx.root} (Ctrl-C to stop)\n`);
        // The ref watchers do not keep the process alive (by design, for library users): this timer does.
        const keepAlive = setInterval(() => undefined, 1 << 30);
        await new Promise<void>((resolve) => {
          if (signal === undefined) return; // runs until the process is killed
          if (signal.aborted) resolve();
          else signal.addEventListener("abort", () => resolve(), { once: true });
        });
        clearInterval(keepAlive);
        stop();
        await tail;
      }),
    { untilInterrupted: true },
  );
}

/** The lines (JSON and text) for one head change: every value under `prefix` that differs. */
async function printChange(repo: Repo, branch: Branch, prefix: Path, before: Hash | undefined, after: Hash | undefined): Promise<[unknown, string][]> {
  const load = async (hash: Hash | undefined): Promise<Tree<string> | undefined> => (hash === undefined ? undefined : (await repo.commit(hash)).tree());
  const [b, a] = await Promise.all([load(before), load(after)]);
  // A created or deleted branch is compared with the empty tree (removing the root of any tree gives it).
  const empty = await (b ?? a)!.remove([]);
  const changes = await diffItems(b ?? empty, a ?? empty);
  const label = after === undefined ? `${branch.name} deleted` : shortHash(after);
  // Under the prefix, or an item that holds it: a data type (one item for the whole type), or a value where its directory was.
  const watched = (path: Path) => prefix.every((segment, i) => i >= path.length || path[i] === segment);
  return changes.filter((c) => watched(c.path)).map((c) => [{ branch: branch.name, commit: after ?? null, ...changeJson(c) }, `${label} ${changeLine(c)}`]);
}
