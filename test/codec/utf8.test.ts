import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeUtf8, encodeUtf8, utf8Length } from "../../src/codec/utf8.js";

describe("utf8", () => {
  it("utf8Length is the length of the encoding, lone surrogates counted as U+FFFD", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: "grapheme" }), fc.string({ unit: "binary" })), (text) => {
        expect(utf8Length(text)).toBe(new TextEncoder().encode(text).length);
      }),
    );
    expect(["a", "é", "日本", "😀", "a\ud800b", "\udc00"].map(utf8Length)).toEqual([1, 2, 6, 4, 5, 3]);
  });

  it("decodeUtf8 gives back exactly what encodeUtf8 wrote, and says when bytes are not UTF-8", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme" }), (text) => {
        expect(decodeUtf8(encodeUtf8(text))).toEqual({ text, exact: true });
      }),
    );
    expect(decodeUtf8(new Uint8Array([0x61, 0xff])).exact).toBe(false);
  });
});
