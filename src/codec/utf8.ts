/**
 * UTF-8 for Git text. Git stores names, messages and headers as bytes; the library shows them as
 * JS strings and must know when that string does not give the same bytes back.
 */

// ignoreBOM: a leading U+FEFF is data in a Git object, not a byte-order mark to drop.
const strictDecoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const lossyDecoder = new TextDecoder("utf-8", { ignoreBOM: true });
const encoder = new TextEncoder();

/** The result of {@link decodeUtf8}. */
export interface DecodedText {
  /** The text; invalid sequences are replaced by U+FFFD when `exact` is false. */
  readonly text: string;
  /** True when the bytes were valid UTF-8, so `encodeUtf8(text)` gives them back unchanged. */
  readonly exact: boolean;
}

/** Decodes `bytes` as UTF-8, never throwing. Cost O(n); ASCII has a fast path. */
export function decodeUtf8(bytes: Uint8Array): DecodedText {
  if (bytes.length <= 64) {
    let ascii = true;
    for (let i = 0; i < bytes.length; i++) {
      if (bytes[i] >= 0x80) {
        ascii = false;
        break;
      }
    }
    // Short names dominate trees; String.fromCharCode avoids the decoder's call overhead.
    if (ascii) return { text: String.fromCharCode(...bytes), exact: true };
  }
  try {
    return { text: strictDecoder.decode(bytes), exact: true };
  } catch {
    return { text: lossyDecoder.decode(bytes), exact: false };
  }
}

/** The UTF-8 bytes of `text` (lone surrogates become U+FFFD: check {@link isWellFormed} first). */
export function encodeUtf8(text: string): Uint8Array {
  if (text.length <= 64) {
    const out = new Uint8Array(text.length);
    let i = 0;
    for (; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c >= 0x80) break;
      out[i] = c;
    }
    // Short ASCII names dominate trees; the encoder's call overhead outweighs this loop.
    if (i === text.length) return out;
  }
  return encoder.encode(text);
}

/** True when `text` has no lone surrogate, so its UTF-8 encoding is lossless. */
export function isWellFormed(text: string): boolean {
  // With the u flag a surrogate pair is one code point, so \p{Cs} only matches lone halves.
  return !/\p{Cs}/u.test(text);
}

/** The length of `text`'s UTF-8 encoding (well-formed text; a lone surrogate counts 3, as U+FFFD). No allocation. */
export function utf8Length(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c < 0xdc00 && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}
