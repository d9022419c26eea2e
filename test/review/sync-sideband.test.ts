import { describe, expect, it } from "vitest";
import { demuxSideband } from "../../src/sync/client/sideband-demux.js";
import { encodePktLine, FLUSH_PKT, MAX_PKT_PAYLOAD, PktLineReader } from "../../src/sync/pkt-line.js";
import type { SyncProgress } from "../../src/sync/progress.js";

function band(n: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(payload.length + 1);
  out[0] = n;
  out.set(payload, 1);
  return encodePktLine(out);
}

async function* chunks(parts: Uint8Array[]): AsyncIterable<Uint8Array> {
  for (const p of parts) yield p;
}

async function drain(reader: PktLineReader, reports: SyncProgress[]): Promise<number> {
  let n = 0;
  for await (const c of demuxSideband(reader, (p) => reports.push(p))) n += c.length;
  return n;
}

describe("review: side-band progress from a hostile or careless remote", () => {
  // Was a defect: band-2 text was kept until a line end with no bound, and re-split whole on
  // every packet (unbounded memory, quadratic time, nothing reported).
  it("a progress line with no line end is cut at a bounded length (memory stays bounded)", async () => {
    const filler = new Uint8Array(MAX_PKT_PAYLOAD - 1).fill(0x61); // "aaaa…", no \r or \n
    const parts: Uint8Array[] = [];
    for (let i = 0; i < 64; i++) parts.push(band(2, filler)); // 4 MiB of one "line"
    parts.push(band(1, new Uint8Array([1, 2, 3])), FLUSH_PKT);
    const reports: SyncProgress[] = [];
    expect(await drain(new PktLineReader(chunks(parts)), reports)).toBe(3);
    expect(reports.length).toBeGreaterThan(0);
    for (const r of reports) expect((r.message ?? "").length).toBeLessThanOrEqual(1 << 16);
  });

  // Was a defect: each packet was decoded on its own, so a character split between two packets
  // came out as two U+FFFD.
  it("a UTF-8 character split across two band-2 packets is reported intact", async () => {
    const text = new TextEncoder().encode("Décompression des objets: terminé\n");
    const cut = 2; // inside the two bytes of "é"
    const parts = [band(2, text.subarray(0, cut)), band(2, text.subarray(cut)), band(1, new Uint8Array([9])), FLUSH_PKT];
    const reports: SyncProgress[] = [];
    expect(await drain(new PktLineReader(chunks(parts)), reports)).toBe(1);
    expect(reports.map((r) => r.message)).toEqual(["Décompression des objets: terminé"]);
  });
});
