/**
 * The data type commands: `counter`, `register`, `set-of`, `log-of`, `queue` and `text`, each
 * `irmin TYPE PATH` to print the value and `irmin TYPE PATH ACTION ARGS` to change it. The path comes
 * first (as in the API, `branch.queue(path).push(v)`), so the actions are positional arguments, not
 * commander subcommands. `set-of` and `log-of` are named after `branch.setOf`: `set` and `log` are
 * the value and history commands.
 */
import type { Command } from "commander";
import { invalidArgument, IrminError, notFound } from "../core/errors.js";
import { formatPath, type Path } from "../core/path.js";
import type { DataTypeName } from "../datatypes/marker.js";
import type { Branch } from "../store/branch.js";
import type { Commit } from "../store/commit.js";
import type { Transaction } from "../store/transaction.js";
import { commitOptions, withCommitOptions, type CommandContext, type Register } from "./context.js";
import { printDataType, printValue, valueArgument, valuePath } from "./commands-values.js";
import { dataTypesIn } from "./snapshot-types.js";
import { displayPath, shortHash, subject } from "./io.js";

/**
 * Commander hands an absent optional argument over as `undefined`, which {@link Register} turns
 * into "", the same as an explicit empty value (`irmin register k set ""`). Present ones get this
 * prefix, so the two stay apart; {@link given} takes it off.
 */
const PRESENT = "=";

function keepPresent(value: string): string {
  return PRESENT + value;
}

/** An optional argument as typed, `undefined` when absent. */
function given(arg: string | undefined): string | undefined {
  return arg === undefined || arg === "" ? undefined : arg.slice(PRESENT.length);
}

/** What an action gets: the command's context, the branch, the path and the action's own arguments (as typed). */
interface ActionEnv {
  readonly ctx: CommandContext;
  readonly branch: Branch;
  readonly path: Path;
  readonly args: readonly string[];
  readonly options: Record<string, unknown>;
}

/** One action of a data type command (`inc`, `push`, ...). */
interface ActionSpec {
  /** The arguments it takes, as the help shows them; `[N]` is optional. */
  readonly params: readonly string[];
  /** Whether it makes a commit (then `-m` and `--author` apply). */
  readonly write: boolean;
  /** Values in `args` at these indexes may be `-`: read from standard input. */
  readonly values?: readonly number[];
  /** Help text. */
  readonly help: string;
  /** Returns the exit code (default 0). */
  run(env: ActionEnv): Promise<number | void>;
}

/** One data type command. */
interface TypeCommandSpec {
  readonly name: string;
  readonly type: DataTypeName;
  readonly summary: string;
  /** Names of the optional positional arguments after the action, as the usage line shows them. */
  readonly argNames: readonly string[];
  /** What `irmin NAME PATH` prints. */
  readonly readHelp: string;
  readonly actions: Readonly<Record<string, ActionSpec>>;
  /** Extra options (of the read). */
  readonly configure?: (command: Command) => Command;
}

/** Registers the data type commands: `counter`, `register`, `set-of`, `log-of`, `queue`, `text`. */
export function registerDataTypeCommands(program: Command, register: Register): void {
  for (const spec of [COUNTER, REGISTER, SET_OF, LOG_OF, QUEUE, TEXT]) typeCommand(program, register, spec);
}

function typeCommand(program: Command, register: Register, spec: TypeCommandSpec): void {
  const actions = Object.keys(spec.actions);
  let command = program
    .command(spec.name)
    .summary(spec.summary)
    .description(`${spec.summary}; each change is one commit`)
    .argument("<path>", `where the ${spec.type} is, like "stats/hits"`)
    .argument("[action]", actions.join(", "), keepPresent);
  for (const name of spec.argNames) command = command.argument(`[${name}]`, "see below", keepPresent);
  command = withCommitOptions(spec.configure ? spec.configure(command) : command);
  const rows: [string, string][] = [[`${spec.name} PATH`, spec.readHelp], ...actions.map((a): [string, string] => [[spec.name, "PATH", a, ...spec.actions[a].params].join(" "), spec.actions[a].help])];
  const width = Math.max(...rows.map(([usage]) => usage.length));
  const valueNote = actions.some((a) => spec.actions[a].values !== undefined) ? '\nA value "-" is read from standard input; a value starting with "-" goes after "--".\n' : "";
  command.addHelpText("after", `\nActions:\n${rows.map(([usage, help]) => `  irmin ${usage.padEnd(width)}  ${help}`).join("\n")}\n${valueNote}`);

  register(command, async (ctx, [path, rawAction, ...rawArgs], options) => {
    const p = valuePath(path, spec.name);
    const action = given(rawAction);
    const args = rawArgs.map(given).filter((a): a is string => a !== undefined);
    if (action === undefined) {
      writeOptionsOnlyForWrites(spec.name, undefined, options);
      return ctx.withRepo(async (_repo, branch) => printDataType(ctx.out, dataTypesIn(await branch.tree()), p, spec.type, readOptions(options)));
    }
    const a = spec.actions[action];
    if (a === undefined) throw invalidArgument(`${spec.name}: unknown action ${JSON.stringify(action)} (expected ${orList(actions)})`);
    checkArgCount(spec.name, action, a.params, args);
    if (!a.write) writeOptionsOnlyForWrites(spec.name, action, options);
    if (options.maxCount !== undefined) throw invalidArgument(`${spec.name} ${action}: -n is for reading`);
    // Standard input is read before the repository is opened, like `set` does.
    for (const i of a.values ?? []) if (i < args.length) args[i] = await valueArgument(ctx.io, args[i]);
    return ctx.withRepo((_repo, branch) => a.run({ ctx, branch, path: p, args, options }));
  });
}

function orList(items: readonly string[]): string {
  return items.length === 1 ? items[0] : `${items.slice(0, -1).join(", ")} or ${items[items.length - 1]}`;
}

function checkArgCount(name: string, action: string, params: readonly string[], args: readonly string[]): void {
  const required = params.filter((x) => !x.startsWith("[")).length;
  if (args.length >= required && args.length <= params.length) return;
  const usage = params.length === 0 ? "takes no argument" : `takes ${params.join(" ")}`;
  throw invalidArgument(`${name} ${action} ${usage}, got ${args.length} argument${args.length === 1 ? "" : "s"}`);
}

function writeOptionsOnlyForWrites(name: string, action: string | undefined, options: Record<string, unknown>): void {
  if (options.message !== undefined || options.author !== undefined) {
    throw invalidArgument(`${name}${action === undefined ? "" : ` ${action}`} makes no commit: -m/--message and --author are for changes`);
  }
}

function readOptions(options: Record<string, unknown>): { limit?: number } {
  return typeof options.maxCount === "string" ? { limit: count(options.maxCount, "log-of: -n") } : {};
}

/** Most times an operation is re-run on a branch that keeps moving before TOO_MANY_RETRIES. */
const RETRIES = 200; // as many as a single write of the library makes (Branch.write)

/** Thrown out of a transaction to drop it: it changed nothing on a branch that has no commit (the transaction would commit an empty tree). */
const NOTHING_TO_COMMIT = Symbol("nothing to commit");

/**
 * Runs `fn` (one data type operation) as one commit on `env.branch`, named `<op> <path>` unless
 * `-m` says otherwise, and returns its result and the commit (`undefined`: nothing changed, no
 * commit). A transaction rather than the branch's handle, so that the commit reported is the one
 * this operation made even when other writers move the branch: on a lost race the operation is
 * re-run on the new head (test-and-set), exactly as the handles do.
 */
async function commitOne<R>(env: ActionEnv, op: string, fn: (tx: Transaction<string>) => Promise<R>): Promise<{ value: R; commit: Commit | undefined }> {
  const co = commitOptions(env.options);
  let value: R | undefined;
  try {
    const r = await env.branch.transaction(
      async (tx) => {
        value = await fn(tx);
        // A data type operation never empties the tree, so an empty tree means nothing was written on an empty branch.
        if ((await tx.list([], { limit: 1 })).length === 0) throw NOTHING_TO_COMMIT;
        return value;
      },
      { ...co, message: co.message ?? `${op} ${displayPath(env.path)}`, strategy: "test-and-set", retries: RETRIES },
    );
    if (!r.ok) throw new IrminError("TOO_MANY_RETRIES", `${op} ${displayPath(env.path)}: ${env.branch.name} kept moving, gave up after ${RETRIES + 1} attempts`);
    return { value: r.value, commit: r.commit };
  } catch (e) {
    if (e === NOTHING_TO_COMMIT) return { value: value as R, commit: undefined };
    throw e;
  }
}

/** Prints the outcome of a write: `main 1a2b3c4 push home/todo` (like `set`), or why nothing was committed; JSON `{ branch, path, commit, changed, ...extra }`. */
async function report(env: ActionEnv, commit: Commit | undefined, unchanged: string, extra: Record<string, unknown> = {}): Promise<void> {
  const { branch } = env;
  const head = commit ?? (await branch.head());
  const at = head === undefined ? branch.name : `${branch.name} ${shortHash(head.hash)}`;
  env.ctx.out.result({ branch: branch.name, path: formatPath(env.path), commit: commit?.hash ?? null, changed: commit !== undefined, ...extra }, () => [
    commit === undefined ? `${at} unchanged: ${unchanged}` : `${at} ${subject(commit.info.message)}`,
  ]);
}

/** A counter step: an integer, default 1. */
function step(arg: string | undefined): number {
  if (arg === undefined) return 1;
  if (!/^-?(0|[1-9][0-9]*)$/.test(arg)) throw invalidArgument(`counter: N must be an integer, got ${JSON.stringify(arg)}`);
  const n = Number(arg);
  // The counter itself is exact at any size; one step is a safe integer (the library's contract).
  if (!Number.isSafeInteger(n)) throw invalidArgument(`counter: N must be at most ${Number.MAX_SAFE_INTEGER} (2^53 - 1) in absolute value, got ${arg}`);
  return n;
}

/** A non-negative integer argument (a text position or length, a number of entries); INVALID_ARGUMENT naming `what` otherwise. */
function count(arg: string, what: string): number {
  const n = /^(0|[1-9][0-9]*)$/.test(arg) ? Number(arg) : NaN;
  if (!Number.isSafeInteger(n)) throw invalidArgument(`${what} must be a non-negative integer, got ${JSON.stringify(arg)}`);
  return n;
}

function counterAction(op: "increment" | "decrement", help: string): ActionSpec {
  return {
    params: ["[N]"],
    write: true,
    help,
    async run(env) {
      const by = step(env.args[0]);
      // The handle returns a number (wrong beyond 2^53): the exact value is read back from the transaction's tree.
      const { value, commit } = await commitOne(env, op, async (tx) => {
        await tx.counter(env.path)[op](by);
        return dataTypesIn(await tx.tree()).counterValue(env.path);
      });
      env.ctx.out.result({ branch: env.branch.name, path: formatPath(env.path), value, commit: commit?.hash ?? null, changed: commit !== undefined }, () => [value.toString()]);
    },
  };
}

const COUNTER: TypeCommandSpec = {
  name: "counter",
  type: "counter",
  summary: "print or change the counter at PATH",
  argNames: ["n"],
  readHelp: "print the value (0 when there is no counter yet); exact at any size, also with --json (a number with all its digits)",
  actions: {
    inc: counterAction("increment", "add N (default 1, at most 2^53 - 1); prints the new value"),
    dec: counterAction("decrement", "subtract N (default 1, at most 2^53 - 1); prints the new value"),
  },
};

const REGISTER: TypeCommandSpec = {
  name: "register",
  type: "register",
  summary: "print or set the register (last writer wins) at PATH",
  argNames: ["value"],
  readHelp: "print the value (exit 1 when never set)",
  actions: {
    set: {
      params: ["VALUE"],
      write: true,
      values: [0],
      help: "set the value",
      async run(env) {
        const { commit } = await commitOne(env, "set", (tx) => tx.register(env.path).set(env.args[0]));
        await report(env, commit, `${displayPath(env.path)} already has that value`);
      },
    },
  },
};

const SET_OF: TypeCommandSpec = {
  name: "set-of",
  type: "set",
  summary: "print or change the set at PATH",
  argNames: ["value"],
  readHelp: "print the elements, one per line",
  actions: {
    add: {
      params: ["VALUE"],
      write: true,
      values: [0],
      help: "add VALUE (no commit when it is there)",
      async run(env) {
        const { commit } = await commitOne(env, "add", (tx) => tx.setOf(env.path).add(env.args[0]));
        await report(env, commit, `${displayPath(env.path)} already has that element`);
      },
    },
    delete: {
      params: ["VALUE"],
      write: true,
      values: [0],
      help: "delete VALUE (no commit when it is absent)",
      async run(env) {
        const { commit } = await commitOne(env, "delete", (tx) => tx.setOf(env.path).delete(env.args[0]));
        await report(env, commit, `${displayPath(env.path)} does not have that element`);
      },
    },
    has: {
      params: ["VALUE"],
      write: false,
      values: [0],
      help: "print yes or no; exit 1 when VALUE is absent",
      async run(env) {
        const value = env.args[0];
        const present = await dataTypesIn(await env.branch.tree()).setOf(env.path).has(value);
        env.ctx.out.result({ path: formatPath(env.path), value, present }, () => [present ? "yes" : "no"]);
        return present ? 0 : 1;
      },
    },
  },
};

const LOG_OF: TypeCommandSpec = {
  name: "log-of",
  type: "log",
  summary: "print or append to the log (of values, not commits) at PATH",
  argNames: ["value"],
  readHelp: "print the entries, newest first: ISO time, tab, value (-n N: the N newest)",
  configure: (command) => command.option("-n, --max-count <n>", "print the N newest entries"),
  actions: {
    append: {
      params: ["VALUE"],
      write: true,
      values: [0],
      help: "append VALUE",
      async run(env) {
        const { value, commit } = await commitOne(env, "append", (tx) => tx.log(env.path).append(env.args[0]));
        await report(env, commit, "", { time: new Date(value.time).toISOString() });
      },
    },
  },
};

const QUEUE: TypeCommandSpec = {
  name: "queue",
  type: "queue",
  summary: "print or change the queue at PATH",
  argNames: ["value"],
  readHelp: "print the elements, front first, one per line",
  actions: {
    push: {
      params: ["VALUE"],
      write: true,
      values: [0],
      help: "add VALUE at the back",
      async run(env) {
        const { commit } = await commitOne(env, "push", (tx) => tx.queue(env.path).push(env.args[0]));
        await report(env, commit, "");
      },
    },
    pop: {
      params: [],
      write: true,
      help: "remove the front element and print it (exit 1 when empty)",
      async run(env) {
        const { value, commit } = await commitOne(env, "pop", (tx) => tx.queue(env.path).pop());
        if (value === undefined) throw emptyQueue(env);
        printValue(env.ctx.out, { branch: env.branch.name, path: formatPath(env.path), value, commit: commit?.hash ?? null }, value);
      },
    },
    peek: {
      params: [],
      write: false,
      help: "print the front element (exit 1 when empty)",
      async run(env) {
        const value = await dataTypesIn(await env.branch.tree()).queue(env.path).peek();
        if (value === undefined) throw emptyQueue(env);
        printValue(env.ctx.out, { path: formatPath(env.path), value }, value);
      },
    },
  },
};

function emptyQueue(env: ActionEnv): IrminError {
  return notFound(`the queue at ${displayPath(env.path)} on ${env.branch.name} is empty`);
}

function textEdit(op: "insert" | "delete" | "set", params: string[], values: number[], help: string, edit: (env: ActionEnv, tx: Transaction<string>) => Promise<number>): ActionSpec {
  return {
    params,
    write: true,
    values,
    help,
    async run(env) {
      const { value, commit } = await commitOne(env, op, (tx) => edit(env, tx));
      await report(env, commit, `the text at ${displayPath(env.path)} is the same`, { length: value });
    },
  };
}

const TEXT: TypeCommandSpec = {
  name: "text",
  type: "text",
  summary: "print or edit the text at PATH",
  argNames: ["arg1", "arg2"],
  readHelp: "print the text",
  actions: {
    insert: textEdit("insert", ["POS", "STRING"], [1], "insert STRING before position POS (UTF-16 code units, from 0)", (env, tx) => {
      const pos = count(env.args[0], "text: POS");
      return tx.text(env.path).insert(pos, env.args[1]);
    }),
    delete: textEdit("delete", ["POS", "LENGTH"], [], "delete LENGTH code units from POS", (env, tx) => {
      const pos = count(env.args[0], "text: POS");
      return tx.text(env.path).delete(pos, count(env.args[1], "text: LENGTH"));
    }),
    set: textEdit("set", ["STRING"], [0], "replace the whole text with STRING", (env, tx) => tx.text(env.path).set(env.args[0])),
  },
};
