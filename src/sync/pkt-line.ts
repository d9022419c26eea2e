/**
 * Git's pkt-line framing (`man 5 gitprotocol-common`): every message is four hex digits giving the
 * length (the digits included) followed by the payload; `0000` is a flush, and protocol v2 adds
 * `0001` (delimiter) and `0002` (response end). Pure: the reader consumes any async stream of
 * byte chunks, so it serves sockets, HTTP bodies and child processes alike.
 */
import { concatBytes } from "../core/bytes.js";
import { corrupt, invalidArgument } from "../core/errors.js";

/** Concatenates byte arrays (re-exported for the protocol code). */
export { concatBytes };

/** The largest payload one pkt-line may carry (65520 minus the 4 length digits). */
export const MAX_PKT_PAYLOAD = 65516;

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const HEX = "0123456789abcdef";

function lengthPrefix(n: number, out: Uint8Array): void {
  for (let i = 0; i < 4; i++) out[i] = HEX.charCodeAt((n >> (12 - 4 * i)) & 15);
}

/**
 * One pkt-line carrying `payload` (a string is UTF-8 encoded as is: callers add the `"\n"` Git
 * expects after text lines). Throws `INVALID_ARGUMENT` for a payload over 65516 bytes. Cost: one copy.
 */
export function encodePktLine(payload: string | Uint8Array): Uint8Array {
  const bytes = typeof payload === "string" ? encoder.encode(payload) : payload;
  if (bytes.length > MAX_PKT_PAYLOAD) throw invalidArgument(`pkt-line payload of ${bytes.length} bytes exceeds ${MAX_PKT_PAYLOAD}`);
  const out = new Uint8Array(bytes.length + 4);
  lengthPrefix(bytes.length + 4, out);
  out.set(bytes, 4);
  return out;
}

/** The flush packet, `0000`: end of a message section. */
export const FLUSH_PKT: Uint8Array = encoder.encode("0000");
/** The protocol v2 delimiter packet, `0001`: separates a command's capabilities from its arguments. */
export const DELIM_PKT: Uint8Array = encoder.encode("0001");
/** The protocol v2 response-end packet, `0002` (stateless transports). */
export const RESPONSE_END_PKT: Uint8Array = encoder.encode("0002");

/** One decoded packet. */
export type Pkt = { type: "data"; data: Uint8Array } | { type: "flush" } | { type: "delim" } | { type: "response-end" };

function hexDigit(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}

/**
 * Reads pkt-lines from a stream of chunks, buffering only the bytes of the packet being read (a
 * packet is at most 64 KiB). After the last packet of a section, {@link rest} hands over the raw
 * bytes that follow (a pack, in protocol v0 without side-band).
 */
export class PktLineReader {
  private readonly iterator: AsyncIterator<Uint8Array>;
  private buffer: Uint8Array = new Uint8Array(0);
  private pos = 0;
  private done = false;
  private pushedBack: Pkt | undefined;

  constructor(source: AsyncIterable<Uint8Array>) {
    this.iterator = source[Symbol.asyncIterator]();
  }

  /** Ensures `n` unread bytes are buffered; false when the stream ends first. */
  private async fill(n: number): Promise<boolean> {
    while (this.buffer.length - this.pos < n) {
      if (this.done) return false;
      const r = await this.iterator.next();
      if (r.done === true) {
        this.done = true;
        return false;
      }
      const chunk = r.value;
      if (chunk.length === 0) continue;
      const left = this.buffer.subarray(this.pos);
      this.buffer = left.length === 0 ? chunk : concatBytes([left, chunk]);
      this.pos = 0;
    }
    return true;
  }

  /**
   * The next packet, or `undefined` at the end of the stream. Throws `CORRUPT` on a malformed
   * length, the reserved lengths 0003 and below 4, or a packet cut off by the end of the stream.
   */
  async next(): Promise<Pkt | undefined> {
    if (this.pushedBack !== undefined) {
      const p = this.pushedBack;
      this.pushedBack = undefined;
      return p;
    }
    if (!(await this.fill(4))) {
      if (this.buffer.length - this.pos === 0) return undefined;
      throw corrupt("pkt-line truncated in its length");
    }
    let len = 0;
    for (let i = 0; i < 4; i++) {
      const d = hexDigit(this.buffer[this.pos + i]);
      if (d < 0) throw corrupt(`malformed pkt-line length ${JSON.stringify(decoder.decode(this.buffer.subarray(this.pos, this.pos + 4)))}`);
      len = len * 16 + d;
    }
    if (len === 0) return this.special({ type: "flush" });
    if (len === 1) return this.special({ type: "delim" });
    if (len === 2) return this.special({ type: "response-end" });
    if (len < 4) throw corrupt(`malformed pkt-line length ${len}`);
    if (!(await this.fill(len))) throw corrupt("pkt-line truncated");
    // A view, not a copy: the buffer is never written to once filled (each fill makes a new one).
    const data = this.buffer.subarray(this.pos + 4, this.pos + len);
    this.pos += len;
    return { type: "data", data };
  }

  /** Puts `p` (the packet just read) back: the next {@link next} returns it again. One packet at most. */
  unread(p: Pkt | undefined): void {
    if (p === undefined) return;
    if (this.pushedBack !== undefined) throw invalidArgument("only one packet can be put back");
    this.pushedBack = p;
  }

  private special(p: Pkt): Pkt {
    this.pos += 4;
    return p;
  }

  /**
   * The next data packet as text without its trailing `"\n"`, or `undefined` on a flush, a
   * delimiter, a response end or the end of the stream.
   */
  async readText(): Promise<string | undefined> {
    const p = await this.next();
    if (p === undefined || p.type !== "data") return undefined;
    return pktText(p.data);
  }

  /** The raw bytes after what was read: the buffered remainder, then the rest of the source. */
  async *rest(): AsyncIterable<Uint8Array> {
    if (this.pushedBack !== undefined) {
      const p = this.pushedBack;
      this.pushedBack = undefined;
      yield p.type === "data" ? encodePktLine(p.data) : p.type === "flush" ? FLUSH_PKT : p.type === "delim" ? DELIM_PKT : RESPONSE_END_PKT;
    }
    if (this.pos < this.buffer.length) {
      const left = this.buffer.subarray(this.pos);
      this.buffer = new Uint8Array(0);
      this.pos = 0;
      yield left;
    }
    while (!this.done) {
      const r = await this.iterator.next();
      if (r.done === true) {
        this.done = true;
        break;
      }
      yield r.value;
    }
  }
}

/** A data packet's payload as text, without one trailing `"\n"`. */
export function pktText(data: Uint8Array): string {
  const end = data.length > 0 && data[data.length - 1] === 0x0a ? data.length - 1 : data.length;
  return decoder.decode(data.subarray(0, end));
}
