import { describe, it, expect, beforeAll, afterAll } from "vitest";
import fc from "fast-check";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Contents } from "../../src/merge/contents.js";
import { Merge } from "../../src/merge/merge.js";
import { canonicalJson } from "../../src/merge/canonical-json.js";
import { isIrminError, type ErrorCode } from "../../src/core/errors.js";

function code(f: () => unknown): ErrorCode | "none" | "other" {
  try {
    f();
    return "none";
  } catch (e) {
    return isIrminError(e) ? e.code : "other";
  }
}

const utf8 = (s: string) => new TextEncoder().encode(s);

let repo: string;
beforeAll(() => {
  repo = mkdtempSync(join(tmpdir(), "irmin-contents-"));
  execFileSync("git", ["init", "-q", "--bare", repo]);
});
afterAll(() => rmSync(repo, { recursive: true, force: true }));

// Bytes git stores for `input` and gives back from `git cat-file`.
function gitRoundTrip(input: Uint8Array): Uint8Array {
  const hash = execFileSync("git", ["--git-dir", repo, "hash-object", "-w", "--stdin"], { input }).toString().trim();
  return new Uint8Array(execFileSync("git", ["--git-dir", repo, "cat-file", "blob", hash]));
}

describe("Contents.string", () => {
  const c = Contents.string;
  it("round-trips exactly through a real git blob, BOM, CRLF and astral characters included", () => {
    const s = "\uFEFFhé\r\nwörld 😀\n\u0000end";
    const blob = gitRoundTrip(c.encode(s));
    expect(blob).toEqual(utf8(s));
    expect(c.decode(blob)).toBe(s);
  });
  it("round-trips any well-formed string", () => {
    fc.assert(fc.property(fc.string({ unit: "grapheme" }), (s) => {
      expect(c.decode(c.encode(s))).toBe(s);
    }));
  });
  it("refuses lone surrogates and invalid UTF-8", () => {
    expect(code(() => c.encode("a\uD800b"))).toBe("INVALID_ARGUMENT");
    expect(code(() => c.encode("\uDC00"))).toBe("INVALID_ARGUMENT");
    expect(code(() => c.decode(new Uint8Array([0x61, 0xff])))).toBe("CORRUPT");
    expect(code(() => c.decode(new Uint8Array([0xed, 0xa0, 0x80])))).toBe("CORRUPT"); // encoded surrogate
  });
  it("merges with Merge.string", () => {
    expect(c.name).toBe("string");
    expect(c.merge).toBe(Merge.string);
  });
});

describe("Contents.json", () => {
  const c = Contents.json;
  it("encodes canonically: sorted keys, no whitespace", () => {
    const s = new TextDecoder().decode(c.encode({ b: [1, { y: null, x: -0 }], a: "é\n", "": 1e21 }));
    expect(s).toBe('{"":1e+21,"a":"é\\n","b":[1,{"x":0,"y":null}]}');
  });
  it("gives equal bytes (and git hashes) for equal values whatever the key order", () => {
    const h = (v: unknown) =>
      execFileSync("git", ["hash-object", "--stdin"], { input: c.encode(v) }).toString().trim();
    expect(h({ a: 1, b: { c: 2, d: 3 } })).toBe(h({ b: { d: 3, c: 2 }, a: 1 }));
  });
  it("round-trips JSON values", () => {
    fc.assert(fc.property(fc.jsonValue(), (v) => {
      const back = c.decode(c.encode(v));
      expect(c.equal?.(back, v)).toBe(true);
      // canonical: encoding the decoded value gives the same bytes
      expect(c.encode(back)).toEqual(c.encode(v));
    }));
  });
  it("decodes any valid JSON text, and only that", () => {
    expect(c.decode(utf8(' { "k" : [ 1 , 2 ] }\n'))).toEqual({ k: [1, 2] });
    expect(code(() => c.decode(utf8("{k:1}")))).toBe("CORRUPT");
    expect(code(() => c.decode(new Uint8Array([0x22, 0xc3, 0x22])))).toBe("CORRUPT");
  });
  it("refuses what JSON cannot carry exactly", () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    for (const bad of [undefined, NaN, Infinity, 1n, () => 1, new Date(0), new Map(), { a: undefined }, [1, undefined], cyclic]) {
      expect(code(() => c.encode(bad))).toBe("INVALID_ARGUMENT");
    }
    expect(() => canonicalJson({ a: { b: [NaN] } })).toThrow(/\/a\/b\/0/);
  });
  it("merges with Merge.json", () => {
    expect(c.merge).toBe(Merge.json);
  });
});

describe("Contents.bytes", () => {
  it("stores bytes as they are and merges by byte equality", () => {
    const c = Contents.bytes;
    const b = new Uint8Array([0, 255, 10]);
    expect(gitRoundTrip(c.encode(b))).toEqual(b);
    // Copies both ways: neither side's later changes reach the other.
    const decoded = c.decode(b);
    expect(decoded).toEqual(b);
    expect(decoded).not.toBe(b);
    const encoded = c.encode(b);
    b[0] = 9;
    decoded[1] = 9;
    expect([...encoded]).toEqual([0, 255, 10]);
    expect([...b]).toEqual([9, 255, 10]);
    expect(c.equal?.(new Uint8Array([1]), new Uint8Array([1]))).toBe(true);
    expect(code(() => c.encode("x" as unknown as Uint8Array))).toBe("INVALID_ARGUMENT");
  });
});

describe("Contents.custom", () => {
  const spec = {
    name: "int",
    encode: (v: number) => utf8(String(v)),
    decode: (b: Uint8Array) => {
      const s = new TextDecoder().decode(b);
      if (!/^-?\d+$/.test(s)) throw new Error("not an integer");
      return Number(s);
    },
    merge: Merge.counter,
  };
  it("wraps a valid spec", () => {
    const c = Contents.custom(spec);
    expect(c.name).toBe("int");
    expect(c.decode(c.encode(42))).toBe(42);
    expect(c.merge(1, 2, 3)).toEqual({ ok: true, value: 4 });
    expect(c.equal).toBeUndefined();
    expect(Contents.custom({ ...spec, equal: (a: number, b: number) => a === b }).equal?.(1, 1)).toBe(true);
  });
  it("copies the bytes both ways, so a codec may share its buffers", () => {
    const raw = Contents.custom({ name: "raw", encode: (v: { data: Uint8Array }) => v.data, decode: (b: Uint8Array) => ({ data: b }), merge: Merge.idempotent<{ data: Uint8Array }>() });
    const value = { data: new Uint8Array([1, 2]) };
    const encoded = raw.encode(value);
    value.data[0] = 9;
    expect([...encoded]).toEqual([1, 2]);
    const stored = new Uint8Array([3, 4]);
    raw.decode(stored).data[0] = 9;
    expect([...stored]).toEqual([3, 4]);
  });
  it("turns decode failures into CORRUPT and a non-bytes encoding into INVALID_ARGUMENT", () => {
    const c = Contents.custom(spec);
    expect(code(() => c.decode(utf8("x")))).toBe("CORRUPT");
    const bad = Contents.custom({ ...spec, encode: () => "nope" as unknown as Uint8Array });
    expect(code(() => bad.encode(1))).toBe("INVALID_ARGUMENT");
  });
  it("validates the spec", () => {
    const cases: unknown[] = [
      null,
      { ...spec, name: "" },
      { ...spec, name: 3 },
      { ...spec, encode: undefined },
      { ...spec, decode: "f" },
      { ...spec, merge: {} },
      { ...spec, equal: 1 },
    ];
    for (const s of cases) expect(code(() => Contents.custom(s as typeof spec))).toBe("INVALID_ARGUMENT");
  });
});
