/** Something text can be written to: `process.stdout`, or a collector in tests. */
export interface TextSink {
  write(text: string): unknown;
}

/**
 * Everything the CLI touches outside its arguments, injected so that tests run it in-process.
 * Only `stdout` and `stderr` are required; the others default to the process's own.
 */
export interface CliIo {
  readonly stdout: TextSink;
  readonly stderr: TextSink;
  /** Read by `set PATH -` (default `process.stdin`). */
  readonly stdin?: AsyncIterable<Uint8Array | string>;
  /** Environment (default `process.env`): `IRMIN_ROOT`, `IRMIN_DEBUG`. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Directory that a relative `--root` is resolved against (default `process.cwd()`). */
  readonly cwd?: string;
  /**
   * The arguments as the bytes the process received, one per element of `argv` (the entry point
   * reads them from `/proc/self/cmdline` on Linux). When given, an argument that is not valid UTF-8
   * is refused (INVALID_ARGUMENT), as standard input is, instead of being stored with U+FFFD in
   * place of its bytes; without it there is no such check.
   */
  readonly rawArgs?: readonly Uint8Array[];
  /**
   * Interrupts the command when aborted (the entry point aborts it on SIGINT and SIGTERM, with the
   * signal's name as the reason, and when standard output fails): see `run`. Without it, `watch`
   * runs forever.
   */
  readonly signal?: AbortSignal;
}

/**
 * Prints a command's result either as text lines or, with `--json`, as one JSON document on one
 * line (streaming commands print one document per line). Commands build both forms and let this
 * choose, so that `--json` covers every command.
 */
export class Output {
  constructor(
    private readonly sink: TextSink,
    /** Whether `--json` was given. */
    readonly json: boolean,
  ) {}

  /** Prints `lines` (text mode) or `value` (JSON mode, see {@link jsonText}). */
  result(value: unknown, lines: () => readonly string[]): void {
    if (this.json) this.sink.write(jsonText(value) + "\n");
    else for (const line of lines()) this.sink.write(line + "\n");
  }

  /** Writes raw text, as is (text mode only: `get` prints the value byte for byte). */
  raw(text: string): void {
    this.sink.write(text);
  }
}

/**
 * `value` as JSON text, as `JSON.stringify(value)` writes it, except that a bigint (a counter's
 * value) is a number with its exact digits, however large: JSON numbers have no size limit, and a
 * reader that parses big integers exactly gets the value (others get the nearest double, as for
 * any large number). For the plain data the CLI prints (no `toJSON`, no cycles).
 */
export function jsonText(value: unknown): string {
  if (typeof value === "bigint") return value.toString();
  if (Array.isArray(value)) return `[${value.map((v: unknown) => (v === undefined || typeof v === "function" || typeof v === "symbol" ? "null" : jsonText(v))).join(",")}]`;
  if (value !== null && typeof value === "object" && !("toJSON" in value)) {
    const members: string[] = [];
    for (const [key, v] of Object.entries(value)) {
      if (v !== undefined && typeof v !== "function" && typeof v !== "symbol") members.push(`${JSON.stringify(key)}:${jsonText(v)}`);
    }
    return `{${members.join(",")}}`;
  }
  return JSON.stringify(value);
}

/** Git's default abbreviation length. */
export const SHORT_HASH_LENGTH = 7;

/** The abbreviated hash shown in text output. */
export function shortHash(hash: string): string {
  return hash.slice(0, SHORT_HASH_LENGTH);
}

/** A commit date (milliseconds since the epoch, whole seconds in Git) as `2024-05-01T12:00:00Z`. */
export function formatDate(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** The first line of a commit message (what `git log --oneline` shows). */
export function subject(message: string): string {
  const end = message.indexOf("\n");
  return end < 0 ? message : message.slice(0, end);
}

/**
 * A value as it appears inside a one-line text record (`path = value`): as is when that is
 * unambiguous, otherwise as a JSON string. Quoted: empty values, values with control characters
 * or line separators, with leading or trailing blanks, starting with `"` (so that a value shown as
 * is never looks quoted) or with `<` (so that it never looks like `<counter 5>` or `<binary 3 bytes>`).
 * Either way the result is one line.
 */
export function formatValue(value: string): string {
  const plain = value !== "" && value.trim() === value && !value.startsWith('"') && !value.startsWith("<") && !UNSAFE.test(value);
  return plain ? value : quoted(value);
}

/**
 * A path (`a/b`, or a name) as it appears in text output (`list`, `tree`, `diff`, `watch`, commit
 * subjects and messages): as is when that is unambiguous, otherwise as a JSON string, as
 * {@link formatValue} quotes values. Quoted: paths with control characters or line separators,
 * with a `"` anywhere, with leading or trailing blanks, or holding ` = ` or ` <` (which would read
 * as the separator of `path = value` or as a data type's `name <counter>`). Either way one line.
 */
export function displayPath(path: string | readonly string[]): string {
  const text = typeof path === "string" ? path : path.join("/");
  const plain = text.trim() === text && !text.includes('"') && !text.includes(" = ") && !text.includes(" <") && !UNSAFE.test(text);
  return plain ? text : quoted(text);
}

function quoted(text: string): string {
  // JSON.stringify leaves DEL, the C1 controls (NEL is a line break to some tools) and U+2028/9 as they are.
  return JSON.stringify(text).replace(UNSAFE_JSON, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
const UNSAFE_JSON = /[\u007f-\u009f\u2028\u2029]/g;
