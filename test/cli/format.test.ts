import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { displayPath, formatDate, formatValue, jsonText, subject } from "../../src/cli/io.js";

/** How a reader of `path = value` lines gets the value back. */
function parseValue(shown: string): string {
  return shown.startsWith('"') ? (JSON.parse(shown) as string) : shown;
}

describe("text formatting of the CLI", () => {
  it("formatValue is one line and reads back to the value, for any string", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: "binary" }), fc.string({ unit: "grapheme" }), fc.constantFrom("", " ", '"quoted"', "a\nb", "\t", "x ", "\u2028", "\u0085", "\u007f")), (value) => {
        const shown = formatValue(value);
        // eslint-disable-next-line no-control-regex
        expect(shown).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/);
        expect(parseValue(shown)).toBe(value);
      }),
      { numRuns: 1000 },
    );
  });

  it("displayPath is one line, reads back to the path, and is quoted when it could be misread", () => {
    const names = fc.oneof(fc.string({ minLength: 1 }), fc.string({ unit: "binary", minLength: 1 }), fc.constantFrom("a\nb", "x = y", 'q"', " lead", "c <x", "\u2028", "é"));
    fc.assert(
      fc.property(fc.array(names, { minLength: 1, maxLength: 3 }), (path) => {
        const shown = displayPath(path);
        // eslint-disable-next-line no-control-regex
        expect(shown).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/);
        expect(parseValue(shown)).toBe(path.join("/"));
        if (!shown.startsWith('"')) expect(shown).not.toMatch(/ = | <|"/);
      }),
      { numRuns: 1000 },
    );
    expect(displayPath(["home", "todo"])).toBe("home/todo");
    expect(displayPath("a = b")).toBe('"a = b"');
    expect(displayPath("a=b")).toBe("a=b");
  });

  it("plain values are shown as they are", () => {
    for (const v of ["buy milk", "42", "a = b", "é ü 日本", "-5"]) expect(formatValue(v)).toBe(v);
    expect(formatValue("")).toBe('""');
    expect(formatValue(" padded")).toBe('" padded"');
    // A value never looks like a data type's or a binary blob's summary.
    expect(formatValue("<counter 5>")).toBe('"<counter 5>"');
    expect(formatValue("a <b>")).toBe("a <b>");
  });

  it("jsonText is JSON.stringify, with bigints as exact number tokens", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        expect(jsonText(value)).toBe(JSON.stringify(value));
      }),
    );
    expect(jsonText({ a: undefined, b: [undefined, 1n], c: -(2n ** 80n) })).toBe('{"b":[null,1],"c":-1208925819614629174706176}');
    expect(jsonText({ toJSON: () => "x" })).toBe('"x"');
  });

  it("dates in UTC to the second; subjects are first lines", () => {
    expect(formatDate(0)).toBe("1970-01-01T00:00:00Z");
    expect(formatDate(1_700_000_000_000)).toBe("2023-11-14T22:13:20Z");
    expect(subject("set a\n")).toBe("set a");
    expect(subject("title\n\nbody")).toBe("title");
    expect(subject("no newline")).toBe("no newline");
  });
});
