import { fstatSync } from "node:fs";
import type { Command } from "commander";
import { invalidArgument, isIrminError, notFound } from "../core/errors.js";
import { formatPath, parsePath, type Path } from "../core/path.js";
import { typeOf, type DataTypeName } from "../datatypes/marker.js";
import type { Node } from "../tree/node.js";
import type { Tree } from "../tree/tree.js";
import { commitOptions, defaultMessage, withCommitOptions, type Register } from "./context.js";
import { untilAborted } from "./interrupt.js";
import { displayPath, formatValue, shortHash, subject, type CliIo, type Output } from "./io.js";
import { childAt, itemsAt, showLeaf, shown } from "./items.js";
import { dataTypesIn, type SnapshotTypes } from "./snapshot-types.js";

/** A path that must not be the root; INVALID_ARGUMENT naming `op` otherwise. */
export function valuePath(input: string, op: string): Path {
  const p = parsePath(input);
  if (p.length === 0) throw invalidArgument(`${op} needs a path`);
  return p;
}

/** One entry of `list`: a value, a directory, or a data type (not a directory, though stored as one). */
type ListRow = { readonly name: string; readonly kind: "contents" | "node" } | { readonly name: string; readonly kind: "datatype"; readonly type: DataTypeName };

/** The entries of the directory `node`, in name order. Cost: one read of `node` and one of each subdirectory (to recognise data types). */
async function listing(tree: Tree<string>, node: Node): Promise<ListRow[]> {
  const entries = await tree.ctx.load(node);
  const names = node.names().filter((name) => shown(entries.get(name)) !== undefined);
  return Promise.all(
    names.map(async (name): Promise<ListRow> => {
      const child = entries.get(name)!;
      const type = child.kind === "node" ? await typeOf(tree.ctx, child.node) : undefined;
      return type === undefined ? { name, kind: child.kind } : { name, kind: "datatype", type };
    }),
  );
}

/** What is at `path` in `tree`: a value, a directory, or nothing. */
async function kindAt(tree: Tree<string>, path: Path): Promise<"contents" | "node" | undefined> {
  if (path.length === 0) return "node";
  if (await tree.has(path)) return "contents";
  return (await tree.subtree(path)) === undefined ? undefined : "node";
}

/** Reads all of `stdin` as UTF-8; `Interrupted` (interrupt.ts) as soon as `signal` is aborted. */
function readAll(stdin: AsyncIterable<Uint8Array | string>, signal: AbortSignal | undefined): Promise<string> {
  return untilAborted(signal, readText(stdin));
}

async function readText(stdin: AsyncIterable<Uint8Array | string>): Promise<string> {
  // ignoreBOM: a leading U+FEFF is part of the value (the decoder drops it by default).
  const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
  let text = "";
  try {
    for await (const chunk of stdin) text += typeof chunk === "string" ? chunk : decoder.decode(chunk, { stream: true });
    return text + decoder.decode();
  } catch (e) {
    if (e instanceof TypeError) throw invalidArgument("standard input is not valid UTF-8");
    throw e;
  }
}

/** The injected standard input, else the process's; INVALID_ARGUMENT when that is a directory (`< /tmp`), which Node would read as empty. */
function stdinOf(io: CliIo): AsyncIterable<Uint8Array | string> {
  if (io.stdin !== undefined) return io.stdin;
  let directory = false;
  try {
    directory = fstatSync(0).isDirectory();
  } catch {
    // No descriptor 0 to look at (closed, or another platform): Node's own stream decides.
  }
  if (directory) throw invalidArgument("standard input is a directory");
  return process.stdin;
}

/**
 * A value given on the command line: `-` reads all of standard input (UTF-8, INVALID_ARGUMENT
 * otherwise; `Interrupted` (interrupt.ts) when `io.signal` is aborted meanwhile), anything else is the value.
 */
export async function valueArgument(io: CliIo, value: string): Promise<string> {
  return value === "-" ? readAll(stdinOf(io), io.signal) : value;
}

/** Prints a value as `get` does: byte for byte, plus a newline when it lacks one (so a shell shows it on its own line); `json` with `--json`. */
export function printValue(out: Output, json: unknown, value: string): void {
  if (out.json) out.result(json, () => []);
  else out.raw(value.endsWith("\n") ? value : value + "\n");
}

/** Registers `get`, `set`, `remove`, `list` and `tree`: reading and writing values on the branch. */
export function registerValueCommands(program: Command, register: Register): void {
  register(program.command("get").summary("print the value at PATH").description("print the value at PATH (or the value of the data type there)").argument("<path>", 'a path like "home/todo"'), (ctx, [path]) =>
    ctx.withRepo(async (_repo, branch) => {
      const p = valuePath(path, "get");
      const tree = await branch.tree();
      let value: string | undefined;
      try {
        value = await tree.get(p);
      } catch (e) {
        // A blob that is not UTF-8 (written by another tool): shown as tree shows it, not an error.
        const child = isIrminError(e, "CORRUPT") ? await childAt(tree, p) : undefined;
        if (child?.kind !== "contents") throw e;
        const leaf = await showLeaf(tree, child);
        return ctx.out.result({ path: formatPath(p), value: leaf.json }, () => [leaf.text]);
      }
      if (value === undefined) {
        const sub = await tree.subtree(p);
        const type = sub === undefined ? undefined : await typeOf(tree.ctx, sub.node);
        if (type !== undefined) return printDataType(ctx.out, dataTypesIn(tree), p, type);
        if (sub !== undefined) throw invalidArgument(`${displayPath(p)} is a directory (use "list" or "tree")`);
        throw notFound(`no value at ${displayPath(p)} on ${branch.name}`);
      }
      printValue(ctx.out, { path: formatPath(p), value }, value);
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
      const text = await valueArgument(ctx.io, value);
      return ctx.withRepo(async (_repo, branch) => {
        const before = await branch.head();
        const commit = await branch.set(p, text, defaultMessage(commitOptions(options), "set", p));
        const changed = commit.hash !== before?.hash;
        ctx.out.result({ branch: branch.name, path: formatPath(p), commit: commit.hash, changed }, () => [
          changed ? `${branch.name} ${shortHash(commit.hash)} ${subject(commit.info.message)}` : `${branch.name} ${shortHash(commit.hash)} unchanged: ${displayPath(p)} already has that value`,
        ]);
      });
    },
  );

  register(
    withCommitOptions(program.command("remove").summary("remove the value or directory at PATH").alias("rm").description("remove the value or directory at PATH (one commit)").argument("<path>", "the path to remove")),
    (ctx, [path], options) =>
      ctx.withRepo(async (_repo, branch) => {
        const p = valuePath(path, "remove");
        if ((await kindAt(await branch.tree(), p)) === undefined) throw notFound(`nothing at ${displayPath(p)} on ${branch.name}`);
        const commit = await branch.remove(p, defaultMessage(commitOptions(options), "remove", p));
        ctx.out.result({ branch: branch.name, path: formatPath(p), commit: commit?.hash ?? null }, () => [
          commit === undefined ? `${branch.name} is now empty` : `${branch.name} ${shortHash(commit.hash)} ${subject(commit.info.message)}`,
        ]);
      }),
  );

  register(
    program
      .command("list")
      .summary("list a directory (directories end with /)")
      .alias("ls")
      .description(
        "list the directory at PATH (default the root), one name per line: directories end with /, a data type is `name <counter>` " +
          "(PATH itself, when it is one); a name with a control character, a quote, leading or trailing blanks, ` = ` or ` <` is printed as a JSON string",
      )
      .argument("[path]", "a directory"),
    (ctx, [path]) =>
      ctx.withRepo(async (_repo, branch) => {
        const p = parsePath(path);
        const tree = await branch.tree();
        const child = await childAt(tree, p);
        if (child === undefined) throw notFound(`nothing at ${displayPath(p)} on ${branch.name}`);
        if (child.kind === "contents") throw invalidArgument(`${displayPath(p)} is a value, not a directory (use "get")`);
        const type = p.length === 0 ? undefined : await typeOf(tree.ctx, child.node);
        const rows = type === undefined ? await listing(tree, child.node) : [{ name: p[p.length - 1], kind: "datatype" as const, type }];
        ctx.out.result(rows, () => rows.map((r) => `${displayPath(r.name)}${r.kind === "node" ? "/" : r.kind === "datatype" ? ` <${r.type}>` : ""}`));
      }),
  );

  register(
    program
      .command("tree")
      .summary("print every value under PATH")
      .description(
        "print every value under PATH (default the root), one `path = value` per line; a data type is one line, `path = <counter 5>`, " +
          "a value that is not UTF-8 `path = <binary 3 bytes>`; a path or a value that could be misread (a line break, a quote, ` = `, ...) is printed as a JSON string",
      )
      .argument("[path]", "a directory or a value"),
    (ctx, [path]) =>
      ctx.withRepo(async (_repo, branch) => {
        const p = parsePath(path);
        const items = await itemsAt(await branch.tree(), p);
        if (items === undefined) throw notFound(`nothing at ${displayPath(p)} on ${branch.name}`);
        ctx.out.result(Object.fromEntries(items.map((i) => [formatPath(i.path), i.json])), () => items.map((i) => `${displayPath(i.path)} = ${i.text}`));
      }),
  );
}

/** Options of {@link printDataType}. */
export interface PrintDataTypeOptions {
  /** A log's newest entries to print (default all). */
  limit?: number;
}

/**
 * Prints the value of the `type` at `path` as `get` and the data type commands show it. Text: a
 * counter's number; a register's or a text's value as is (like `get`); a set's elements (in the
 * set's order), a queue's (front first) one per line; a log's entries newest first, `ISO time<TAB>value`
 * (values quoted as `tree` quotes them when needed). JSON: `{ path, type, value }`, a log's value
 * being `[{ time, value }]`. An absent counter is 0, an absent set, queue or log empty, an absent
 * text ""; an absent or never written register is NOT_FOUND; another type there is INVALID_ARGUMENT.
 * Cost: the type's own read (O(n) for a whole set, queue, log or text; O(k + log n) for a log's k newest).
 */
export async function printDataType(out: Output, types: SnapshotTypes, path: Path, type: DataTypeName, options: PrintDataTypeOptions = {}): Promise<void> {
  const where = formatPath(path);
  const json = (value: unknown) => ({ path: where, type, value });
  switch (type) {
    case "counter": {
      const value = await types.counterValue(path);
      return out.result(json(value), () => [value.toString()]);
    }
    case "register": {
      const value = await types.register(path).get();
      if (value === undefined) throw notFound(`the register at ${where} has no value`);
      return printValue(out, json(value), value);
    }
    case "text": {
      const value = await types.text(path).toString();
      return printValue(out, json(value), value);
    }
    case "set": {
      const values = await types.setOf(path).values();
      return out.result(json(values), () => values.map(formatValue));
    }
    case "queue": {
      const values = await types.queue(path).toArray();
      return out.result(json(values), () => values.map(formatValue));
    }
    case "log": {
      const log = types.log(path);
      const { limit } = options;
      const entries = limit === undefined ? await log.all() : limit === 0 ? [] : (await log.read({ limit })).entries;
      const rows = entries.map((e) => ({ time: new Date(e.time).toISOString(), value: e.value }));
      return out.result(json(rows), () => rows.map((r) => `${r.time}\t${formatValue(r.value)}`));
    }
  }
}
