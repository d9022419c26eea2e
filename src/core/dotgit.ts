/**
 * Names Git treats as `.git`: `git fsck --strict` refuses a tree holding one (`hasDotgit`), because
 * a checkout on a case-insensitive HFS+ or NTFS file system would write into the repository's own
 * `.git`. These follow Git's `is_hfs_dotgit` (utf8.c), `is_ntfs_dotgit` (path.c) and `fsck_tree`
 * (fsck.c), which also applies the NTFS check after every backslash.
 */

/** End of a name, or a sequence Git's UTF-8 reader calls malformed (it then stops reading). */
const END = -1;

/** Code points HFS+ ignores in a name, so `.g\u200Cit` is `.git` there. */
function hfsIgnored(c: number): boolean {
  return (c >= 0x200c && c <= 0x200f) || (c >= 0x202a && c <= 0x202e) || (c >= 0x206a && c <= 0x206f) || c === 0xfeff;
}

/** ASCII lower case only: Git compares with `tolower` after refusing anything past 127. */
function lowerAscii(c: number): number {
  return c >= 0x41 && c <= 0x5a ? c + 0x20 : c;
}

const DOT_GIT = [0x2e, 0x67, 0x69, 0x74];

/**
 * HFS+: `.git` once the ignored code points are dropped, in any ASCII letter case. As in Git, a
 * code point its UTF-8 reader refuses (a surrogate, U+FFFE, U+FFFF, malformed bytes) ends the name.
 */
function hfsDotgit(next: () => number): boolean {
  let matched = 0;
  for (;;) {
    const c = next();
    if (c === END) return matched === DOT_GIT.length;
    if (hfsIgnored(c)) continue;
    if (matched === DOT_GIT.length || lowerAscii(c) !== DOT_GIT[matched]) return false;
    matched++;
  }
}

/**
 * NTFS: `.git` or its short name `git~1` (any letter case), then only dots and spaces up to the
 * end, a backslash or a colon (an alternate data stream: `.git::$INDEX_ALLOCATION` is `.git`);
 * fsck checks this at the start and after every backslash.
 */
function ntfsDotgit(at: (i: number) => number, length: number): boolean {
  for (let start = 0; start <= length; start++) {
    if ((start === 0 || at(start - 1) === 0x5c) && ntfsDotgitAt(at, start, length)) return true;
  }
  return false;
}

function ntfsDotgitAt(at: (i: number) => number, start: number, length: number): boolean {
  const lower = (k: number) => lowerAscii(at(start + k));
  let i: number;
  if (at(start) === 0x2e && lower(1) === 0x67 && lower(2) === 0x69 && lower(3) === 0x74) i = start + 4;
  else if (lower(0) === 0x67 && lower(1) === 0x69 && lower(2) === 0x74 && at(start + 3) === 0x7e && at(start + 4) === 0x31) i = start + 5;
  else return false;
  for (; i < length; i++) {
    const c = at(i);
    if (c === 0x5c || c === 0x3a) return true;
    if (c !== 0x2e && c !== 0x20) return false;
  }
  return true;
}

function stringCodePoints(name: string): () => number {
  let i = 0;
  return () => {
    if (i >= name.length) return END;
    const c = name.codePointAt(i)!;
    i += c > 0xffff ? 2 : 1;
    return (c >= 0xd800 && c <= 0xdfff) || c === 0xfffe || c === 0xffff ? END : c;
  };
}

/** Git's `pick_one_utf8_char`: the code points of `b`, {@link END} at the end or at the first malformed sequence. */
function byteCodePoints(b: Uint8Array): () => number {
  let i = 0;
  const cont = (k: number) => i + k < b.length && (b[i + k] & 0xc0) === 0x80;
  return () => {
    if (i >= b.length) return END;
    const s0 = b[i];
    let c: number;
    if (s0 < 0x80) {
      c = s0;
      i += 1;
    } else if ((s0 & 0xe0) === 0xc0) {
      if (!cont(1) || (s0 & 0xfe) === 0xc0) return END;
      c = ((s0 & 0x1f) << 6) | (b[i + 1] & 0x3f);
      i += 2;
    } else if ((s0 & 0xf0) === 0xe0) {
      if (!cont(1) || !cont(2)) return END;
      c = ((s0 & 0x0f) << 12) | ((b[i + 1] & 0x3f) << 6) | (b[i + 2] & 0x3f);
      if (c < 0x800 || (c >= 0xd800 && c <= 0xdfff) || c === 0xfffe || c === 0xffff) return END;
      i += 3;
    } else if ((s0 & 0xf8) === 0xf0) {
      if (!cont(1) || !cont(2) || !cont(3)) return END;
      c = ((s0 & 0x07) << 18) | ((b[i + 1] & 0x3f) << 12) | ((b[i + 2] & 0x3f) << 6) | (b[i + 3] & 0x3f);
      if (c < 0x10000 || c > 0x10ffff) return END;
      i += 4;
    } else return END;
    return c;
  };
}

/** Whether `git fsck` takes the tree entry name `name` for `.git` (see the module comment). */
export function isDotgitName(name: string): boolean {
  const c0 = name.charCodeAt(0);
  // Fast path: every such name starts with ".", "g", "G" or a code point HFS+ ignores, or has a backslash.
  if (c0 !== 0x2e && c0 !== 0x67 && c0 !== 0x47 && !hfsIgnored(c0) && !name.includes("\\")) return false;
  return ntfsDotgit((i) => (i < name.length ? name.charCodeAt(i) : END), name.length) || hfsDotgit(stringCodePoints(name));
}

/** {@link isDotgitName} for a name given as its bytes (which need not be valid UTF-8). */
export function isDotgitBytes(b: Uint8Array): boolean {
  return ntfsDotgit((i) => (i < b.length ? b[i] : END), b.length) || hfsDotgit(byteCodePoints(b));
}
