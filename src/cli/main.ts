#!/usr/bin/env node
// The `irmin` executable: runs the CLI on the process's arguments and streams. The program itself
// is in program.ts (importable and testable without starting anything).
import { interruptExitCode, writesSettled } from "./interrupt.js";
import { run } from "./program.js";

const controller = new AbortController();
const onSignal = (signal: NodeJS.Signals) => {
  if (!controller.signal.aborted) {
    controller.abort(signal);
    return;
  }
  // A second signal while the command winds down means "now", yet not in the middle of a ref update.
  void writesSettled().then(() => process.exit(interruptExitCode(controller.signal.reason)));
};
process.on("SIGINT", onSignal);
process.on("SIGTERM", onSignal);

const code = await run(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, signal: controller.signal });
if (controller.signal.aborted) {
  // What the command gave up on (a read of standard input, a network connection) would keep the
  // process alive: exit, once no ref update is under way.
  await writesSettled();
  process.exit(code);
}
process.exitCode = code;
// Once the command is done, a signal has its default effect again.
process.off("SIGINT", onSignal);
process.off("SIGTERM", onSignal);
