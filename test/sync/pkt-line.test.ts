import { describe, it, expect } from "vitest";
import fc from "fast-check";
import { DELIM_PKT, encodePktLine, FLUSH_PKT, PktLineReader, RESPONSE_END_PKT, concatBytes, type Pkt } from "../../src/sync/pkt-line.js";
import { isIrminError } from "../../src/core/errors.js";
import { parseRemoteProgress } from "../../src/sync/progress.js";

const text = (s: string): Uint8Array => new TextEncoder().encode(s);

async function* chunks(bytes: Uint8Array, sizes: number[]): AsyncIterable<Uint8Array> {
  let o = 0;
  let i = 0;
  while (o < bytes.length) {
    const n = Math.max(1, sizes.length === 0 ? bytes.length : sizes[i++ % sizes.length]);
    yield bytes.subarray(o, o + n);
    o += n;
  }
}

async function readAll(r: PktLineReader): Promise<Pkt[]> {
  const out: Pkt[] = [];
  for (let i = 0; i < 100000; i++) {
    const p = await r.next();
    if (p === undefined) return out;
    out.push(p);
  }
  throw new Error("unbounded");
}

describe("pkt-line", () => {
  it("encodes the examples of gitprotocol-common", () => {
    expect(new TextDecoder().decode(encodePktLine("a\n"))).toBe("0006a\n");
    expect(new TextDecoder().decode(encodePktLine("a"))).toBe("0005a");
    expect(new TextDecoder().decode(encodePktLine("foobar\n"))).toBe("000bfoobar\n");
    expect(new TextDecoder().decode(encodePktLine(""))).toBe("0004");
    expect(new TextDecoder().decode(FLUSH_PKT)).toBe("0000");
  });

  it("refuses payloads over 65516 bytes", () => {
    expect(encodePktLine(new Uint8Array(65516)).length).toBe(65520);
    expect(() => encodePktLine(new Uint8Array(65517))).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
  });

  it("round-trips any packets split into any chunks", async () => {
    const pkt = fc.oneof(
      fc.uint8Array({ maxLength: 300 }).map((d): Pkt => ({ type: "data", data: d })),
      fc.constant<Pkt>({ type: "flush" }),
      fc.constant<Pkt>({ type: "delim" }),
      fc.constant<Pkt>({ type: "response-end" }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(pkt, { maxLength: 20 }), fc.array(fc.integer({ min: 1, max: 50 }), { maxLength: 5 }), fc.uint8Array({ maxLength: 40 }), async (pkts, sizes, tail) => {
        const enc = pkts.map((p) => (p.type === "data" ? encodePktLine(p.data) : p.type === "flush" ? FLUSH_PKT : p.type === "delim" ? DELIM_PKT : RESPONSE_END_PKT));
        const r = new PktLineReader(chunks(concatBytes([...enc, FLUSH_PKT, tail]), sizes));
        const got: Pkt[] = [];
        for (let i = 0; i <= pkts.length; i++) got.push((await r.next())!);
        expect(got).toEqual([...pkts, { type: "flush" }]);
        const rest: Uint8Array[] = [];
        for await (const c of r.rest()) rest.push(c);
        expect(concatBytes(rest)).toEqual(tail);
      }),
      { seed: 5, numRuns: 200 },
    );
  });

  it("readText strips one newline and stops at a flush", async () => {
    const r = new PktLineReader(chunks(concatBytes([encodePktLine("hello\n"), encodePktLine("x"), FLUSH_PKT]), [3]));
    expect(await r.readText()).toBe("hello");
    expect(await r.readText()).toBe("x");
    expect(await r.readText()).toBeUndefined();
    expect(await r.readText()).toBeUndefined();
  });

  it("rejects malformed lengths and truncation with CORRUPT", async () => {
    for (const bad of ["zzzz", "0003", "000", "0009abc", "00"]) {
      const r = new PktLineReader(chunks(text(bad), []));
      await expect(r.next()).rejects.toMatchObject({ code: "CORRUPT" });
    }
  });

  it("fuzzed input yields packets or CORRUPT, never another error", async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 200 }), fc.array(fc.integer({ min: 1, max: 9 }), { maxLength: 3 }), async (bytes, sizes) => {
        try {
          await readAll(new PktLineReader(chunks(bytes, sizes)));
        } catch (e) {
          expect(isIrminError(e, "CORRUPT")).toBe(true);
        }
      }),
      { seed: 42, numRuns: 500 },
    );
  });

  it("parses remote progress lines", () => {
    expect(parseRemoteProgress("Counting objects:  45% (9/20)")).toMatchObject({ phase: "counting", done: 9, total: 20 });
    expect(parseRemoteProgress("Compressing objects: 100% (3/3), done.")).toMatchObject({ phase: "compressing", done: 3, total: 3 });
    expect(parseRemoteProgress("Enumerating objects: 12, done.")).toMatchObject({ phase: "counting", done: 12 });
    expect(parseRemoteProgress("hello")).toMatchObject({ phase: "remote", message: "hello" });
  });
});
