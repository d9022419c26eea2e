/**
 * CRC-32 (IEEE 802.3, the zlib one), which pack index v2 stores for every entry so that
 * `git repack` can copy an entry's compressed bytes without re-inflating them. Pure JS so that
 * the pack codecs also run outside Node (the sync code reuses them).
 */

const TABLE: Uint32Array = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/**
 * CRC-32 of `data`, continuing from `previous` (the CRC of the bytes before, 0 to start), so a
 * checksum can be computed over chunks: `crc32(b, crc32(a)) === crc32(a ++ b)`. Cost: one table
 * lookup per byte.
 */
export function crc32(data: Uint8Array, previous = 0): number {
  let c = ~previous >>> 0;
  for (let i = 0; i < data.length; i++) c = TABLE[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}
