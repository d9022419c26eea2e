import { deflateSync, inflateSync } from "node:zlib";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { adler32, readStoredZlib, storedZlib } from "../../src/codec/zlib-stored.js";
import { deflate, inflate, inflateAt } from "../../src/platform/native.js";

const bytes = (n: number, seed = 1) => Uint8Array.from({ length: n }, (_, i) => (i * 7919 + seed) % 251);

describe("stored zlib streams", () => {
  it("adler32 matches zlib's check values", () => {
    expect(adler32(new Uint8Array(0))).toBe(1);
    expect(adler32(new TextEncoder().encode("Wikipedia"))).toBe(0x11e60398);
    // zlib's own stream trailer, over sizes around the 5,552-byte modulo interval.
    for (const n of [1, 5551, 5552, 5553, 100_000]) {
      const z = deflateSync(bytes(n, 0xff), { level: 0 });
      expect(adler32(bytes(n, 0xff))).toBe(z.readUInt32BE(z.length - 4));
    }
  });

  it("what storedZlib writes, zlib inflates; what zlib stores (level 0), readStoredZlib reads, with its length", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3000 }), fc.uint8Array({ maxLength: 5 }), (data, after) => {
        expect(Buffer.from(inflateSync(storedZlib(data))).equals(Buffer.from(data))).toBe(true);
        const z = deflateSync(data, { level: 0 });
        const r = readStoredZlib(Uint8Array.from([9, ...z, ...after]), 1, 1 << 20);
        expect(r && Buffer.from(r.output).equals(Buffer.from(data))).toBe(true);
        expect(r!.consumed).toBe(z.length);
      }),
    );
    // Several blocks (65,535 bytes each at most).
    const big = bytes(200_000);
    expect(Buffer.from(inflateSync(storedZlib(big))).equals(Buffer.from(big))).toBe(true);
    expect(readStoredZlib(storedZlib(big), 0, 1 << 20)!.output).toEqual(big);
  });

  it("leaves every other stream to zlib: compressed, truncated, damaged, or larger than asked", () => {
    const data = bytes(1000);
    expect(readStoredZlib(deflateSync(data, { level: 1 }), 0, 1 << 20)).toBeUndefined();
    const s = storedZlib(data);
    for (let cut = 0; cut < s.length; cut += 97) expect(readStoredZlib(s.subarray(0, cut), 0, 1 << 20)).toBeUndefined();
    expect(readStoredZlib(s.subarray(0, s.length - 1), 0, 1 << 20)).toBeUndefined();
    const flipped = Uint8Array.from(s);
    flipped[500] ^= 1;
    expect(readStoredZlib(flipped, 0, 1 << 20)).toBeUndefined();
    expect(readStoredZlib(s, 0, 999)).toBeUndefined();
    expect(readStoredZlib(s, 0, 1000)?.output).toEqual(data);
    // Damaged streams still fail the usual way through the native path.
    expect(() => inflate(flipped)).toThrow();
    expect(() => inflateAt(flipped, 0, 1000)).toThrow();
  });

  it("deflate stores small data and level-0 data up to 4 KiB; inflate and inflateAt read every kind back", () => {
    for (const [n, level] of [[0, 1], [5, 1], [127, 6], [128, 1], [4096, 0], [4097, 0], [50_000, 1]] as const) {
      // Compressible data: zlib, when it compresses, writes fewer bytes than a stored stream.
      const data = new TextEncoder().encode("a tree entry, ".repeat(4000)).subarray(0, n);
      const z = deflate(data, level);
      const stored = z.length === n + 11;
      // (zlib stores level-0 data itself: same length, whoever wrote it.)
      expect(stored).toBe(n < 128 || level === 0);
      expect(Buffer.from(inflateSync(z)).equals(Buffer.from(data))).toBe(true);
      expect(Buffer.from(inflate(z)).equals(Buffer.from(data))).toBe(true);
      const at = inflateAt(Uint8Array.from([1, 2, ...z, 3]), 2, n);
      expect(at.consumed).toBe(z.length);
      expect(Buffer.from(at.output).equals(Buffer.from(data))).toBe(true);
    }
  });
});
