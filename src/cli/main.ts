#!/usr/bin/env node
// The `irmin` executable: runs the CLI on the process's arguments and streams. The program itself
// is in program.ts (importable and testable without starting anything).
import { run } from "./program.js";

const controller = new AbortController();
let interrupted = false;
const onSignal = () => {
  // A second Ctrl-C while the repository is closing means "now".
  if (interrupted) process.exit(130);
  interrupted = true;
  controller.abort();
};
process.on("SIGINT", onSignal);
process.on("SIGTERM", onSignal);

process.exitCode = await run(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, signal: controller.signal });
// Only `watch` waits for a signal: once the command is done, Ctrl-C is the default again.
process.off("SIGINT", onSignal);
process.off("SIGTERM", onSignal);
