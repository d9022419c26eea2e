/**
 * Side-band multiplexing as the serving side writes it (`man 5 gitprotocol-pack`): each pkt-line
 * starts with a band byte, 1 for pack data, 2 for progress text, 3 for a fatal error. Pure.
 */
import { MAX_PKT_PAYLOAD } from "../pkt-line.js";

/** The three bands. */
export const BAND = { data: 1, progress: 2, error: 3 } as const;

/** Largest payload per packet: `side-band-64k` allows a full pkt-line, plain `side-band` 1000 bytes. */
export function sidebandLimit(large: boolean): number {
  return large ? MAX_PKT_PAYLOAD - 1 : 1000 - 5;
}

const encoder = new TextEncoder();
const HEX = "0123456789abcdef";

/**
 * The pkt-lines carrying `payload` on `band`, split to at most `limit` bytes each (see
 * {@link sidebandLimit}). A string is UTF-8 encoded as is. Returns one concatenated buffer.
 */
export function encodeSideband(band: 1 | 2 | 3, payload: string | Uint8Array, limit: number): Uint8Array {
  const bytes = typeof payload === "string" ? encoder.encode(payload) : payload;
  const packets = Math.max(1, Math.ceil(bytes.length / limit));
  // One allocation for all the packets: this runs once per 64 KiB of every pack served.
  const out = new Uint8Array(bytes.length + 5 * packets);
  let at = 0;
  let o = 0;
  do {
    const n = Math.min(limit, bytes.length - at);
    const len = n + 5;
    for (let i = 0; i < 4; i++) out[o + i] = HEX.charCodeAt((len >> (12 - 4 * i)) & 15);
    out[o + 4] = band;
    out.set(bytes.subarray(at, at + n), o + 5);
    o += len;
    at += limit;
  } while (at < bytes.length);
  return out;
}
