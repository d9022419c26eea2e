#!/usr/bin/env node
// The `irmin` executable: runs the CLI on the process's arguments and streams. The program itself
// is in program.ts (importable and testable without starting anything).
import { interruptExitCode, writesSettled } from "./interrupt.js";
import { run } from "./program.js";
import { rawArguments } from "./raw-arguments.js";

const controller = new AbortController();
/** The exit code forced by a failed write of the output (see onOutputError). */
let outputFailed: number | undefined;

/** Ends the process with `code` once no ref update is under way. */
const exitSoon = (code: number) => void writesSettled().then(() => process.exit(code));

const onSignal = (signal: NodeJS.Signals) => {
  if (!controller.signal.aborted) {
    controller.abort(signal);
    return;
  }
  // A second signal while the command winds down means "now", yet not in the middle of a ref update.
  exitSoon(outputFailed ?? interruptExitCode(controller.signal.reason));
};
process.on("SIGINT", onSignal);
process.on("SIGTERM", onSignal);

/**
 * A write to standard output failed: the command stops as on a signal (nothing more is worth
 * computing). A reader that went away (`irmin log | head -1`: EPIPE) ends it quietly with 141, as
 * git does (128 + SIGPIPE); any other failure (a full disk) is one line on stderr and exit 1.
 */
const onOutputError = (e: NodeJS.ErrnoException) => {
  // After the first failure the stream is destroyed, and every later write fails again.
  if (outputFailed !== undefined) return;
  if (e.code === "EPIPE") outputFailed = interruptExitCode("SIGPIPE");
  else {
    outputFailed = 1;
    process.stderr.write(`irmin: cannot write the output: ${e.message}\n`);
  }
  // The failure may come after the command is done (writes fail asynchronously).
  process.exitCode = outputFailed;
  if (!controller.signal.aborted) controller.abort("SIGPIPE");
};
process.stdout.on("error", onOutputError);
// Nothing can be said about a failing stderr: ignoring it is all that is left (instead of a crash).
process.stderr.on("error", () => undefined);

const argv = process.argv.slice(2);
const code = await run(argv, { stdout: process.stdout, stderr: process.stderr, signal: controller.signal, rawArgs: rawArguments(argv) });
if (controller.signal.aborted) {
  // What the command gave up on (a read of standard input, a network connection) would keep the
  // process alive: exit, once no ref update is under way.
  await writesSettled();
  process.exit(outputFailed ?? code);
}
process.exitCode = outputFailed ?? code;
// Once the command is done, a signal has its default effect again.
process.off("SIGINT", onSignal);
process.off("SIGTERM", onSignal);
