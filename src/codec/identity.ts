/**
 * Git identities: the `Name <email> 1700000000 +0100` value of `author`, `committer` and `tagger`.
 */
import { invalidArgument } from "../core/errors.js";

/** Who made a commit or tag, and when. */
export interface Identity {
  /** Display name; never contains `<`, a newline or NUL, never ends with whitespace. */
  name: string;
  /** Email address, without the angle brackets; never contains `>`, a newline or NUL. */
  email: string;
  /** Seconds since the Unix epoch (a non-negative integer: Git has no dates before 1970). */
  timestamp: number;
  /** UTC offset as Git writes it: a sign and four digits, e.g. `"+0100"`, `"-0530"`. */
  timezone: string;
}

const TIMEZONE = /^[+-][0-9]{4}$/;
const TRAILING_SPACE = /[ \t\r\n]+$/;
const DATE = /^[ ]*([0-9]+)(?:[ ]+([+-][0-9]{4}))?/;

/**
 * Parses the value of an identity header (the text after `"author "`). Lenient as Git's reader
 * is: the name is what precedes the first `<` (trailing whitespace dropped), the email runs to the
 * first `>`, the date follows the last `>`; a missing or unreadable date gives timestamp 0, a
 * missing or unreadable timezone gives `"+0000"`. So `formatIdentity(parseIdentity(line))` equals
 * `line` only for well-formed lines; the commit and tag decoders keep the raw bytes for the others.
 * Throws `INVALID_ARGUMENT` when there is no `<email>` part.
 */
export function parseIdentity(line: string): Identity {
  if (typeof line !== "string") throw invalidArgument("an identity must be a string");
  const lt = line.indexOf("<");
  const gt = lt < 0 ? -1 : line.indexOf(">", lt + 1);
  if (gt < 0) throw invalidArgument(`identity has no <email>: ${JSON.stringify(line)}`);
  const name = line.slice(0, lt).replace(TRAILING_SPACE, "");
  const email = line.slice(lt + 1, gt);
  const date = DATE.exec(line.slice(line.lastIndexOf(">") + 1));
  const timestamp = date === null ? 0 : Number(date[1]);
  const timezone = date?.[2] ?? "+0000";
  return { name, email, timestamp, timezone };
}

/** Why `id` cannot be written as an identity line, or `undefined`. */
function identityProblem(id: Identity): string | undefined {
  if (id === null || typeof id !== "object") return "an identity must be an object";
  const { name, email, timestamp, timezone } = id;
  if (typeof name !== "string" || /[<\n\0]/.test(name)) return "name must be a string without <, newline or NUL";
  if (TRAILING_SPACE.test(name)) return "name must not end with whitespace";
  if (typeof email !== "string" || /[>\n\0]/.test(email)) return "email must be a string without >, newline or NUL";
  if (!Number.isSafeInteger(timestamp) || timestamp < 0) return "timestamp must be a non-negative integer number of seconds";
  if (typeof timezone !== "string" || !TIMEZONE.test(timezone)) return 'timezone must look like "+0100"';
  return undefined;
}

/**
 * The identity line Git writes, `"Name <email> timestamp timezone"`. Throws `INVALID_ARGUMENT`
 * when a field could not be read back the same by {@link parseIdentity} (see {@link Identity}).
 */
export function formatIdentity(id: Identity): string {
  const problem = identityProblem(id);
  if (problem !== undefined) throw invalidArgument(`invalid identity: ${problem}`);
  return unsafeFormatIdentity(id);
}

/** {@link formatIdentity} without validation, for decoders comparing against stored bytes. */
export function unsafeFormatIdentity(id: Identity): string {
  return `${id.name} <${id.email}> ${id.timestamp} ${id.timezone}`;
}

/** True when both identities have the same four fields (false when either is not an object). */
export function sameIdentity(a: Identity, b: Identity): boolean {
  if (a === null || typeof a !== "object" || b === null || typeof b !== "object") return false;
  return a.name === b.name && a.email === b.email && a.timestamp === b.timestamp && a.timezone === b.timezone;
}
