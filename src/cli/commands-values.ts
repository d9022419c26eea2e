import type { Command } from "commander";
import { invalidArgument, IrminError, notFound } from "../core/errors.js";
import { formatPath, parsePath, type Path } from "../core/path.js";
import type { Branch } from "../store/branch.js";
import type { Tree } from "../tree/tree.js";
import { commitOptions, withCommitOptions, type Register } from "./context.js";
import { formatValue, shortHash, subject, type CliIo } from "./io.js";

/** A path that must not be the root. */
function valuePath(input: string, op: string): Path {
  const p = parsePath(input);
  if (p.length === 0) throw invalidArgument(`${op} needs a path`);
  return p;
}

/** What is at `path` in `tree`: a value, a directory, or nothing. */
async function kindAt(tree: Tree<string>, path: Path): Promise<"contents" | "node" | undefined> {
  if (path.length === 0) return "node";
  if (await tree.has(path)) return "contents";
  return (await tree.subtree(path)) === undefined ? undefined : "node";
}

/** Reads all of `stdin` as UTF-8. */
async function readAll(stdin: AsyncIterable<Uint8Array | string>): Promise<string> {
  const decoder = new TextDecoder("utf-8", { fatal: true });
  let text = "";
  try {
    for await (const chunk of stdin) text += typeof chunk === "string" ? chunk : decoder.decode(chunk, { stream: true });
    return text + decoder.decode();
  } catch (e) {
    if (e instanceof TypeError) throw invalidArgument("standard input is not valid UTF-8");
    throw e;
  }
}

function stdinOf(io: CliIo): AsyncIterable<Uint8Array | string> {
  return io.stdin ?? process.stdin;
}

/** Registers `get`, `set`, `remove`, `list` and `tree`: reading and writing values on the branch. */
export function registerValueCommands(program: Command, register: Register): void {
  register(program.command("get").summary("print the value at PATH").description("print the value at PATH").argument("<path>", 'a path like "home/todo"'), (ctx, [path]) =>
    ctx.withRepo(async (_repo, branch) => {
      const p = valuePath(path, "get");
      const tree = await branch.tree();
      const value = await tree.get(p);
      if (value === undefined) {
        if ((await kindAt(tree, p)) === "node") throw invalidArgument(`${formatPath(p)} is a directory (use "list" or "tree")`);
        throw notFound(`no value at ${formatPath(p)} on ${branch.name}`);
      }
      if (ctx.out.json) ctx.out.result({ path: formatPath(p), value }, () => []);
      // Printed as stored; a newline is added only when the value lacks one, so a shell shows it on its own line.
      else ctx.out.raw(value.endsWith("\n") ? value : value + "\n");
    }),
  );

  register(
    withCommitOptions(
      program
        .command("set")
        .summary('set PATH to VALUE ("-": standard input)')
        .description("set PATH to VALUE (one commit)")
        .argument("<path>", 'a path like "home/todo"')
        .argument("<value>", 'the value, or "-" to read it from standard input'),
    ),
    async (ctx, [path, value], options) => {
      const p = valuePath(path, "set");
      const text = value === "-" ? await readAll(stdinOf(ctx.io)) : value;
      return ctx.withRepo(async (_repo, branch) => {
        const before = await branch.head();
        const commit = await branch.set(p, text, commitOptions(options));
        const changed = commit.hash !== before?.hash;
        ctx.out.result({ branch: branch.name, path: formatPath(p), commit: commit.hash, changed }, () => [
          changed ? `${branch.name} ${shortHash(commit.hash)} ${subject(commit.info.message)}` : `${branch.name} ${shortHash(commit.hash)} unchanged: ${formatPath(p)} already has that value`,
        ]);
      });
    },
  );

  register(
    withCommitOptions(program.command("remove").summary("remove the value or directory at PATH").alias("rm").description("remove the value or directory at PATH (one commit)").argument("<path>", "the path to remove")),
    (ctx, [path], options) =>
      ctx.withRepo(async (_repo, branch) => {
        const p = valuePath(path, "remove");
        if ((await kindAt(await branch.tree(), p)) === undefined) throw notFound(`nothing at ${formatPath(p)} on ${branch.name}`);
        const commit = await branch.remove(p, commitOptions(options));
        ctx.out.result({ branch: branch.name, path: formatPath(p), commit: commit?.hash ?? null }, () => [
          commit === undefined ? `${branch.name} is now empty` : `${branch.name} ${shortHash(commit.hash)} ${subject(commit.info.message)}`,
        ]);
      }),
  );

  register(
    program.command("list").summary("list a directory (directories end with /)").alias("ls").description("list the directory at PATH (default the root); directories end with /").argument("[path]", "a directory"),
    (ctx, [path]) =>
      ctx.withRepo(async (_repo, branch) => {
        const p = parsePath(path);
        const tree = await branch.tree();
        const kind = await kindAt(tree, p);
        if (kind === undefined) throw notFound(`nothing at ${formatPath(p)} on ${branch.name}`);
        if (kind === "contents") throw invalidArgument(`${formatPath(p)} is a value, not a directory (use "get")`);
        const entries = await tree.list(p);
        ctx.out.result(entries, () => entries.map((e) => (e.kind === "node" ? `${e.name}/` : e.name)));
      }),
  );

  register(
    program.command("tree").summary("print every value under PATH").description("print every value under PATH (default the root), one `path = value` per line").argument("[path]", "a directory or a value"),
    (ctx, [path]) =>
      ctx.withRepo(async (_repo, branch) => {
        const p = parsePath(path);
        const values = await valuesUnder(branch, p);
        ctx.out.result(Object.fromEntries(values), () => values.map(([k, v]) => `${k} = ${formatValue(v)}`));
      }),
  );
}

/** Every value at or under `path`, depth first in name order; NOT_FOUND when nothing is there. Loads that whole subtree. */
async function valuesUnder(branch: Branch, path: Path): Promise<[string, string][]> {
  const tree = await branch.tree();
  const value = await tree.get(path);
  if (value !== undefined) return [[formatPath(path), value]];
  const sub = await tree.subtree(path);
  if (sub === undefined || (path.length > 0 && (await sub.isEmpty()))) {
    throw new IrminError("NOT_FOUND", `nothing at ${formatPath(path)} on ${branch.name}`);
  }
  const out: [string, string][] = [];
  for await (const e of sub.entries()) out.push([formatPath([...path, ...e.path]), e.value]);
  return out;
}
