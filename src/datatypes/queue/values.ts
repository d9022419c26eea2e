/**
 * Queue values on their way to and from records. With the repository's string codec
 * (`Contents.string`, UTF-8), an ASCII string's bytes are its character codes: such a value is
 * staged as the string itself and written straight into its epoch's buffer, and a short ASCII
 * record is read back with no decoder call. Encoding a short string with `TextEncoder` allocates a
 * buffer per value and dominated a transaction's pushes; every other value (and codec) goes through
 * the codec, so the bytes and the errors are exactly the codec's.
 */
import { invalidArgument } from "../../core/errors.js";
import { Contents } from "../../merge/contents.js";
import type { ValueCodec } from "../slot.js";

/** A value as a queue stages it: its encoded bytes, or an ASCII string of the string codec (its bytes are its character codes). */
export type StagedValue = Uint8Array | string;

/** Records up to this long are decoded by the fast path (longer ones by the codec, which is as fast there). */
const SHORT = 32;

function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
}

/** The largest value a record holds (its length is written in at most 5 LEB128 bytes). */
export const MAX_VALUE = 0xffffffff;

/** `value` ready to stage: encoded by `codec` (which validates it), or kept as an ASCII string; INVALID_ARGUMENT past {@link MAX_VALUE} bytes. */
export function stageValue<T>(codec: ValueCodec<T>, value: T): StagedValue {
  const staged = (codec as unknown) === Contents.string && typeof value === "string" && isAscii(value) ? value : codec.encode(value);
  if (staged.length > MAX_VALUE) throw invalidArgument(`a queue value holds at most 4 GiB, got ${staged.length} bytes`);
  return staged;
}

/** The value of staged `value` for `codec` (a staged string is its own value for the string codec; for another, its bytes decoded). */
export function decodeStaged<T>(codec: ValueCodec<T>, value: StagedValue): T {
  if (typeof value !== "string") return codec.decode(value);
  if ((codec as unknown) === Contents.string) return value as T;
  const bytes = new Uint8Array(value.length);
  for (let i = 0; i < value.length; i++) bytes[i] = value.charCodeAt(i);
  return codec.decode(bytes);
}

const fc = String.fromCharCode;

/** The string of ASCII bytes `b[s..e)`: eight characters per call, no intermediate string per byte. */
function asciiString(b: Uint8Array, s: number, e: number): string {
  let out = "";
  for (; e - s >= 8; s += 8) out += fc(b[s], b[s + 1], b[s + 2], b[s + 3], b[s + 4], b[s + 5], b[s + 6], b[s + 7]);
  switch (e - s) {
    case 0:
      return out;
    case 1:
      return out + fc(b[s]);
    case 2:
      return out + fc(b[s], b[s + 1]);
    case 3:
      return out + fc(b[s], b[s + 1], b[s + 2]);
    case 4:
      return out + fc(b[s], b[s + 1], b[s + 2], b[s + 3]);
    case 5:
      return out + fc(b[s], b[s + 1], b[s + 2], b[s + 3], b[s + 4]);
    case 6:
      return out + fc(b[s], b[s + 1], b[s + 2], b[s + 3], b[s + 4], b[s + 5]);
    default:
      return out + fc(b[s], b[s + 1], b[s + 2], b[s + 3], b[s + 4], b[s + 5], b[s + 6]);
  }
}

/** The value whose bytes are `bytes[start..end)`. */
export function decodeRange<T>(codec: ValueCodec<T>, bytes: Uint8Array, start: number, end: number): T {
  if ((codec as unknown) === Contents.string && end - start <= SHORT) {
    let i = start;
    while (i < end && bytes[i] < 0x80) i++;
    if (i === end) return asciiString(bytes, start, end) as T;
  }
  return codec.decode(bytes.subarray(start, end));
}
