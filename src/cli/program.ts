import { readFileSync } from "node:fs";
import { Command, CommanderError } from "commander";
import { isIrminError } from "../core/errors.js";
import { registerHistoryCommands, registerInitCommand } from "./commands-history.js";
import { registerSyncCommands } from "./commands-sync.js";
import { registerDataTypeCommands } from "./commands-types.js";
import { registerValueCommands } from "./commands-values.js";
import { registerWatchCommand } from "./commands-watch.js";
import { CommandContext, type GlobalOptions, type Register } from "./context.js";
import { Interrupted, interruptExitCode, writesSettled } from "./interrupt.js";
import { formatValue, type CliIo } from "./io.js";
import { firstInvalidUtf8 } from "./raw-arguments.js";

/** The package's version, from package.json two levels up (true from src/cli and from dist/cli alike). */
function packageVersion(): string {
  try {
    const json = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version?: unknown };
    return typeof json.version === "string" ? json.version : "unknown";
  } catch {
    return "unknown";
  }
}

/** Commander prints its errors as `error: message` (sometimes with a suggestion on the next line): make it `irmin: message`, one line. */
function oneLineError(text: string): string {
  const flat = text.replace(/^error:\s*/, "").replace(/\s*\n\s*/g, " ").trim();
  return `irmin: ${flat}\n`;
}

/**
 * The `irmin` program, writing to `io`. Each command's action sets `exit.code` when it ends
 * without throwing (commands that report an expected failure, like a merge conflict, return 1).
 */
export function createProgram(io: CliIo, exit: { code: number }): Command {
  const program = new Command("irmin")
    .description("A Git-backed key-value store with branches and merges (irmin-ts).")
    .version(packageVersion(), "-V, --version", "print the version")
    .option("--root <dir>", "the repository (default $IRMIN_ROOT, else .irmin in the current directory)")
    .option("--branch <name>", "the branch to work on", "main")
    .option("--json", "print JSON instead of text", false)
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
      outputError: (s, write) => write(oneLineError(s)),
    })
    .exitOverride()
    .showSuggestionAfterError(true)
    // Commander's own help command prints the whole help, as an error, for an unknown command: see registerHelpCommand.
    .helpCommand(false);

  const register: Register = (command, action, how = {}) =>
    command.action(async (...params: unknown[]) => {
      // commander calls (...arguments, options, command).
      const cmd = params[params.length - 1] as Command;
      const options = params[params.length - 2] as Record<string, unknown>;
      const args = params.slice(0, -2).map((a) => (a === undefined ? "" : String(a)));
      const globals = cmd.optsWithGlobals() as GlobalOptions;
      const code = await action(new CommandContext(io, globals), args, options);
      // A signal that came while the command ran interrupted it, even if it had nothing left to stop.
      const signal = io.signal;
      exit.code = signal?.aborted && how.untilInterrupted !== true ? interruptExitCode(signal.reason) : (code ?? 0);
    });

  registerInitCommand(program, register);
  registerValueCommands(program, register);
  registerDataTypeCommands(program, register);
  registerHistoryCommands(program, register);
  registerSyncCommands(program, register);
  registerWatchCommand(program, register);
  registerHelpCommand(program);
  for (const command of program.commands) {
    if (command.name() !== "help") command.addHelpText("after", GLOBAL_OPTIONS_NOTE);
  }
  return program;
}

/** What each command's help says of the options of `irmin` itself (commander lists only the command's own). */
const GLOBAL_OPTIONS_NOTE = '\nGlobal options (before or after the command): --root <dir>, --branch <name>, --json; see "irmin --help".\n';

/** `help [command]`: the help of `irmin` or of one command, on stdout; an unknown command is one line on stderr and exit 1, as `irmin bogus` is. */
function registerHelpCommand(program: Command): void {
  program
    .command("help")
    .description("display help for command")
    .argument("[command]", "a command")
    .action((name: string | undefined) => {
      if (name === undefined) return program.outputHelp();
      const command = program.commands.find((c) => c.name() === name || c.aliases().includes(name));
      if (command === undefined) program.error(`unknown command '${name}'`, { exitCode: 1, code: "commander.unknownCommand" });
      command.outputHelp();
    });
}

/**
 * Runs the CLI on `argv` (the arguments after the program name) and returns the exit code:
 * 0 on success, 1 on bad input, a missing value, a merge conflict or any other failure. Results
 * go to `io.stdout`; errors are one line `irmin: <message>` on `io.stderr`, never a stack trace
 * (set `IRMIN_DEBUG=1` to get one for an unexpected failure). Never throws and never exits the
 * process, so tests call it in-process. With `io.rawArgs`, an argument that is not valid UTF-8 is
 * refused before anything runs.
 *
 * When `io.signal` is aborted (the entry point does it on SIGINT and SIGTERM, with the signal's name
 * as the reason), the command stops where it waits (standard input, a network remote), starts no
 * ref update, and `run` returns 128 + the signal's number (130, 143) with nothing on stderr, once
 * the ref updates already under way are done. Work given up that way may still be running when
 * `run` returns: the entry point then exits the process. `watch` ends normally on the signal (0).
 */
export async function run(argv: readonly string[], io: CliIo): Promise<number> {
  const exit = { code: 0 };
  const bad = io.rawArgs?.length === argv.length ? firstInvalidUtf8(io.rawArgs) : -1;
  if (bad >= 0) {
    io.stderr.write(oneLineError(`argument ${bad + 1} is not valid UTF-8: ${formatValue(argv[bad])}`));
    return 1;
  }
  const program = createProgram(io, exit);
  try {
    await program.parseAsync([...argv], { from: "user" });
    return exit.code;
  } catch (e) {
    const signal = io.signal;
    if (e instanceof Interrupted || signal?.aborted) {
      await writesSettled();
      return interruptExitCode(e instanceof Interrupted ? e.reason : signal?.reason);
    }
    // Commander has already printed its message (usage errors) or the help text.
    if (e instanceof CommanderError) return e.exitCode;
    if (isIrminError(e)) {
      io.stderr.write(oneLineError(e.message));
      return 1;
    }
    const message = e instanceof Error ? e.message : String(e);
    io.stderr.write(oneLineError(`unexpected failure: ${message}`));
    if ((io.env ?? process.env).IRMIN_DEBUG) io.stderr.write(`${e instanceof Error ? e.stack : ""}\n`);
    return 1;
  }
}
