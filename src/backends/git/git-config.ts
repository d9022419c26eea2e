import { corrupt } from "../../core/errors.js";

/** One `name = value` line of a Git config file. `value` is `undefined` for a bare `name` (boolean true). */
export interface GitConfigEntry {
  /** Lower-cased section name (`core`, `extensions`, `remote`). */
  readonly section: string;
  /** Subsection as written (case-sensitive), e.g. `origin` in `[remote "origin"]`; `undefined` when absent. */
  readonly subsection: string | undefined;
  /** Lower-cased variable name. */
  readonly key: string;
  readonly value: string | undefined;
}

/**
 * A parsed Git config file (`man git-config`, "CONFIGURATION FILE"): sections, subsections,
 * quoting, escapes, comments and line continuations. Read-only; `include` directives are not
 * followed (the backend only needs repository-format settings, which git keeps in the repo's own
 * config file).
 */
export class GitConfig {
  constructor(readonly entries: readonly GitConfigEntry[]) {}

  /** The last value of `section[.subsection].key` (git's "last one wins"), or `undefined`. */
  get(section: string, key: string, subsection?: string): string | undefined {
    const all = this.getAll(section, key, subsection);
    return all.length === 0 ? undefined : (all[all.length - 1] ?? "true");
  }

  /** Every value of the variable in file order; a bare `key` line gives `undefined`. */
  getAll(section: string, key: string, subsection?: string): (string | undefined)[] {
    const s = section.toLowerCase();
    const k = key.toLowerCase();
    return this.entries.filter((e) => e.section === s && e.key === k && e.subsection === subsection).map((e) => e.value);
  }

  /** Git's boolean reading of a variable (`true/yes/on/1`, `false/no/off/0/""`); `fallback` when absent or unknown. */
  getBoolean(section: string, key: string, fallback: boolean): boolean {
    const v = this.get(section, key)?.toLowerCase();
    if (v === undefined) return fallback;
    if (["true", "yes", "on", "1"].includes(v)) return true;
    if (["false", "no", "off", "0", ""].includes(v)) return false;
    return fallback;
  }

  /** Every entry of `section` (any subsection). */
  section(section: string): GitConfigEntry[] {
    const s = section.toLowerCase();
    return this.entries.filter((e) => e.section === s);
  }
}

/** Parses the text of a Git config file; throws `CORRUPT` on a syntax error (as git refuses the file). */
export function parseGitConfig(text: string): GitConfig {
  const entries: GitConfigEntry[] = [];
  // A UTF-8 byte order mark at the start is skipped, as git does.
  let i = text.startsWith("\uFEFF") ? 1 : 0;
  let section: string | undefined;
  let subsection: string | undefined;
  const n = text.length;
  const fail = (why: string): never => {
    const line = text.slice(0, i).split("\n").length;
    throw corrupt(`bad config line ${line}: ${why}`);
  };
  const skipSpace = () => {
    while (i < n && (text[i] === " " || text[i] === "\t" || text[i] === "\r")) i++;
  };
  const skipLine = () => {
    while (i < n && text[i] !== "\n") i++;
    if (i < n) i++;
  };

  while (i < n) {
    skipSpace();
    if (i >= n) break;
    const c = text[i];
    if (c === "\n") {
      i++;
      continue;
    }
    if (c === "#" || c === ";") {
      skipLine();
      continue;
    }
    if (c === "[") {
      i++;
      let name = "";
      while (i < n && /[A-Za-z0-9.-]/.test(text[i])) name += text[i++];
      subsection = undefined;
      if (text[i] === " " || text[i] === "\t") {
        skipSpace();
        if (text[i] !== '"') fail("expected a quoted subsection");
        i++;
        let sub = "";
        while (i < n && text[i] !== '"') {
          if (text[i] === "\n") fail("newline in subsection");
          if (text[i] === "\\") i++;
          sub += text[i++];
        }
        if (text[i] !== '"') fail("unterminated subsection");
        i++;
        subsection = sub;
      } else if (name.includes(".")) {
        // Legacy `[section.subsection]` syntax: the subsection is lower-cased.
        const dot = name.indexOf(".");
        subsection = name.slice(dot + 1).toLowerCase();
        name = name.slice(0, dot);
      }
      if (text[i] !== "]" || name.length === 0) fail("bad section header");
      i++;
      section = name.toLowerCase();
      continue;
    }
    if (!/[A-Za-z]/.test(c)) fail(`unexpected character ${JSON.stringify(c)}`);
    if (section === undefined) fail("variable outside a section");
    let key = "";
    while (i < n && /[A-Za-z0-9-]/.test(text[i])) key += text[i++];
    skipSpace();
    let value: string | undefined;
    if (text[i] === "=") {
      i++;
      value = parseValue();
    } else if (i < n && text[i] !== "\n" && text[i] !== "#" && text[i] !== ";") {
      fail("expected = after a variable name");
    } else {
      skipLine();
    }
    entries.push({ section: section as string, subsection, key: key.toLowerCase(), value });
  }
  return new GitConfig(entries);

  // Reads a value up to the end of its (possibly continued) line, then moves past the newline.
  function parseValue(): string {
    skipSpace();
    let out = "";
    let pendingSpace = "";
    let quoted = false;
    while (i < n) {
      const ch = text[i++];
      if (ch === "\n") {
        if (quoted) fail("newline in a quoted value");
        return out;
      }
      if (!quoted && (ch === "#" || ch === ";")) {
        skipLine();
        return out;
      }
      if (ch === '"') {
        out += pendingSpace;
        pendingSpace = "";
        quoted = !quoted;
        continue;
      }
      if (ch === "\\") {
        const e = text[i++];
        if (e === "\n") continue;
        if (e === "\r" && text[i] === "\n") {
          i++;
          continue;
        }
        const map: Record<string, string> = { n: "\n", t: "\t", b: "\b", '"': '"', "\\": "\\" };
        if (e === undefined || !(e in map)) fail("bad escape in value");
        out += pendingSpace + map[e];
        pendingSpace = "";
        continue;
      }
      if (!quoted && (ch === " " || ch === "\t" || ch === "\r")) {
        // As git: each unquoted whitespace character becomes one space, and trailing ones are
        // dropped, so hold them until more text comes.
        pendingSpace += ch === "\r" ? "" : " ";
        continue;
      }
      out += pendingSpace + ch;
      pendingSpace = "";
    }
    if (quoted) fail("unterminated quote");
    return out;
  }
}
