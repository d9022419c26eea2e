import { randomBytes } from "node:crypto";

/** Drawn once per process: a name made here differs from other processes' (pids are reused). */
const token = randomBytes(4).toString("hex");
let counter = 0;

/**
 * A name part for a temporary file, distinct from every other one this process makes and, with
 * high probability, from other processes': a random token drawn once, then a counter (a random
 * draw per name cost a native call per file, 2% of a commit's CPU in the store bench).
 */
export function uniqueSuffix(): string {
  return `${token}${(counter++).toString(16)}`;
}
