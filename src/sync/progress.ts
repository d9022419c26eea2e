/**
 * Progress of a sync operation, reported through an optional callback so that the CLI can draw a
 * bar and a library user can log. Pure.
 */

/**
 * One progress report. `phase` says what is being done: `counting`/`compressing` objects to send,
 * `receiving` pack bytes or objects, `resolving` deltas, `writing` objects to the store, or
 * `remote` for a message the other side printed (its `message` is the text). `done` counts units
 * of the phase (objects, or bytes for receiving when `total` is unknown); `total` when known.
 */
export interface SyncProgress {
  phase: "counting" | "compressing" | "receiving" | "resolving" | "writing" | "remote";
  done: number;
  total?: number;
  message?: string;
}

/** A progress callback. */
export type ProgressCallback = (p: SyncProgress) => void;

/**
 * Calls `callback` with `p`, swallowing what it throws: a broken progress display must never
 * abort a fetch half-way. No-op when `callback` is undefined.
 */
export function reportProgress(callback: ProgressCallback | undefined, p: SyncProgress): void {
  if (callback === undefined) return;
  try {
    callback(p);
  } catch {
    // Progress is advisory.
  }
}

/**
 * Parses the text the remote prints on side-band channel 2 (`Counting objects:  45% (9/20)`) into a
 * progress report; lines that carry no count become `remote` messages.
 */
export function parseRemoteProgress(line: string): SyncProgress {
  const m = /^([A-Za-z ]+):\s+(?:(\d+)% \((\d+)\/(\d+)\)|(\d+))/.exec(line);
  const message = line.trim();
  if (m === null) return { phase: "remote", done: 0, message };
  const label = m[1].toLowerCase();
  const phase: SyncProgress["phase"] = label.includes("compress") ? "compressing" : label.includes("count") || label.includes("enumerat") ? "counting" : "remote";
  if (m[3] !== undefined) return { phase, done: Number(m[3]), total: Number(m[4]), message };
  return { phase, done: Number(m[5]), message };
}
