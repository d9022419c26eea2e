/**
 * How a command stops on SIGINT or SIGTERM. The entry point aborts the run's signal, with the
 * signal's name as the reason; from then on:
 *
 * - the waits that may last (standard input, a network remote) end at once ({@link untilAborted});
 * - no ref update starts any more ({@link guardWrites}), so an interrupted command commits
 *   nothing, unless its ref update was already under way: that one finishes first, since a
 *   process that exits in the middle of it leaves a lock file behind that blocks other writers;
 * - the command ends with 128 + the signal's number ({@link interruptExitCode}).
 */
import { constants } from "node:os";
import type { Backend } from "../backend/backend.js";
import type { RefStore } from "../backend/ref-store.js";

/** Thrown where a command stops because its signal was aborted. */
export class Interrupted extends Error {
  constructor(
    /** The abort reason: the signal's name when the entry point aborted it. */
    readonly reason: unknown,
  ) {
    super("interrupted");
    this.name = "Interrupted";
  }
}

/**
 * The exit code of a command stopped by `reason` (an abort reason): 128 + the signal's number
 * (130 for `"SIGINT"`, 143 for `"SIGTERM"`), 130 for any reason that names no signal.
 */
export function interruptExitCode(reason: unknown): number {
  const signals = constants.signals as Readonly<Record<string, number | undefined>>;
  const n = typeof reason === "string" ? signals[reason] : undefined;
  return 128 + (n ?? signals.SIGINT ?? 2);
}

/**
 * `work`, or an {@link Interrupted} rejection as soon as `signal` is aborted (at once when it
 * already is). The work itself is not stopped, only no longer waited for: use it for waits with no
 * side effect on the repository, or whose side effects go through {@link guardWrites}.
 */
export function untilAborted<T>(signal: AbortSignal | undefined, work: Promise<T>): Promise<T> {
  if (signal === undefined) return work;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new Interrupted(signal.reason));
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
    // Settling twice is harmless: whichever comes first wins, and a late failure is not unhandled.
    work.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (e: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(e);
      },
    );
  });
}

/** The guarded writes under way, in every repository of the process. */
const inFlight = new Set<Promise<unknown>>();

/** Resolves once no write started through {@link guardWrites} is under way (at once when none is). */
export async function writesSettled(): Promise<void> {
  while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
}

/**
 * `backend` with its ref and shallow-list updates guarded: once `signal` is aborted, an update
 * that has not started throws {@link Interrupted}, and the ones under way are tracked until they
 * end ({@link writesSettled}). Closing waits for them. Reads and object writes (crash-safe, with no
 * lock) pass straight through. The same backend when there is no signal.
 */
export function guardWrites(backend: Backend, signal: AbortSignal | undefined): Backend {
  if (signal === undefined) return backend;
  const guard =
    <A extends unknown[], R>(write: (...args: A) => Promise<R>) =>
    (...args: A): Promise<R> => {
      if (signal.aborted) return Promise.reject(new Interrupted(signal.reason));
      const p = write(...args);
      inFlight.add(p);
      const forget = () => inFlight.delete(p);
      p.then(forget, forget);
      return p;
    };
  const refs = backend.refs;
  const guardedRefs: RefStore = {
    get: (name) => refs.get(name),
    set: guard((name: string, hash: string) => refs.set(name, hash)),
    testAndSet: guard((name: string, expected: string | undefined, next: string | undefined) => refs.testAndSet(name, expected, next)),
    remove: guard((name: string) => refs.remove(name)),
    list: (prefix) => refs.list(prefix),
    watch: (callback) => refs.watch(callback),
    getSymbolic: (name) => refs.getSymbolic(name),
    setSymbolic: guard((name: "HEAD", target: string) => refs.setSymbolic(name, target)),
  };
  const shallow = backend.shallow;
  return {
    name: backend.name,
    supports: backend.supports,
    objects: backend.objects,
    refs: guardedRefs,
    ...(shallow !== undefined && { shallow: { list: () => shallow.list(), set: guard((hashes: readonly string[]) => shallow.set(hashes)) } }),
    close: async () => {
      await writesSettled();
      await backend.close();
    },
  };
}
