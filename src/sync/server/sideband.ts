/**
 * Side-band multiplexing as the serving side writes it (`man 5 gitprotocol-pack`): each pkt-line
 * starts with a band byte, 1 for pack data, 2 for progress text, 3 for a fatal error. Pure.
 */
import { concatBytes, encodePktLine, MAX_PKT_PAYLOAD } from "../pkt-line.js";

/** The three bands. */
export const BAND = { data: 1, progress: 2, error: 3 } as const;

/** Largest payload per packet: `side-band-64k` allows a full pkt-line, plain `side-band` 1000 bytes. */
export function sidebandLimit(large: boolean): number {
  return large ? MAX_PKT_PAYLOAD - 1 : 1000 - 5;
}

const encoder = new TextEncoder();

/**
 * The pkt-lines carrying `payload` on `band`, split to at most `limit` bytes each (see
 * {@link sidebandLimit}). A string is UTF-8 encoded as is. Returns one concatenated buffer.
 */
export function encodeSideband(band: 1 | 2 | 3, payload: string | Uint8Array, limit: number): Uint8Array {
  const bytes = typeof payload === "string" ? encoder.encode(payload) : payload;
  const parts: Uint8Array[] = [];
  let at = 0;
  do {
    const piece = bytes.subarray(at, Math.min(bytes.length, at + limit));
    const body = new Uint8Array(piece.length + 1);
    body[0] = band;
    body.set(piece, 1);
    parts.push(encodePktLine(body));
    at += limit;
  } while (at < bytes.length);
  return concatBytes(parts);
}
