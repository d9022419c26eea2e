/**
 * Checking a received tree and listing what it references, in one pass over its bytes with no
 * allocation per entry: a pack of a long history holds many versions of large directories, and
 * `decodeTree` (which builds a name string and an id string per entry) would cost more than the
 * rest of the receive. The checks are decodeTree's, entry for entry. Pure.
 */
import { corrupt } from "../core/errors.js";

/** What an entry points to. */
export const ENTRY_BLOB = 0;
export const ENTRY_TREE = 1;
export const ENTRY_GITLINK = 2;

let starts = new Int32Array(256);

/** Git's tree order of two names given as byte ranges (a tree's name compares as if it ended in "/"). */
function compareNames(data: Uint8Array, a0: number, a1: number, aTree: boolean, b0: number, b1: number, bTree: boolean): number {
  const la = a1 - a0;
  const lb = b1 - b0;
  const n = la < lb ? la : lb;
  for (let i = 0; i < n; i++) {
    const d = data[a0 + i] - data[b0 + i];
    if (d !== 0) return d;
  }
  const ca = la > n ? data[a0 + n] : aTree ? 0x2f : 0;
  const cb = lb > n ? data[b0 + n] : bTree ? 0x2f : 0;
  return ca - cb;
}

/** Why Git refuses the name `data[s, e)` (see codec/tree.ts nameBytesProblem), or undefined. */
function nameProblem(data: Uint8Array, s: number, e: number): string | undefined {
  const len = e - s;
  if (len === 0) return "empty name";
  for (let i = s; i < e; i++) if (data[i] === 0x2f) return 'name contains "/"';
  if (data[s] === 0x2e) {
    if (len === 1) return 'name "." is reserved';
    if (len === 2 && data[s + 1] === 0x2e) return 'name ".." is reserved';
    if (len === 4 && (data[s + 1] | 0x20) === 0x67 && (data[s + 2] | 0x20) === 0x69 && (data[s + 3] | 0x20) === 0x74) return "name .git is reserved by Git";
  }
  return undefined;
}

/**
 * Checks the tree body `data` as `decodeTree` does (modes, names Git refuses, Git order, no name
 * twice, truncation) and calls `link(data, idPos, kind)` for every entry, `idPos` being where its
 * raw id starts. Throws `CORRUPT` (naming `what`) on the first problem. Cost O(size), nothing
 * allocated per entry.
 */
export function scanTree(data: Uint8Array, idLength: number, what: string, link: (data: Uint8Array, idPos: number, kind: number) => void): void {
  let n = 0;
  let pos = 0;
  const end = data.length;
  let st = starts;
  while (pos < end) {
    // The mode: 1 to 7 octal digits (treeModeType's rule, computed on the value).
    let p = pos;
    let mode = 0;
    // The two modes nearly every entry has, "100644 " and "40000 ", without the digit loop.
    if (data[pos] === 0x31 && data[pos + 1] === 0x30 && data[pos + 2] === 0x30 && data[pos + 3] === 0x36 && data[pos + 4] === 0x34 && data[pos + 5] === 0x34 && data[pos + 6] === 0x20) {
      mode = 0o100644;
      p = pos + 6;
    } else if (data[pos] === 0x34 && data[pos + 1] === 0x30 && data[pos + 2] === 0x30 && data[pos + 3] === 0x30 && data[pos + 4] === 0x30 && data[pos + 5] === 0x20) {
      mode = 0o40000;
      p = pos + 5;
    }
    while (p < end && data[p] !== 0x20) {
      const c = data[p];
      if (c < 0x30 || c > 0x37 || p - pos >= 7) throw corrupt(`${what}: tree entry at byte ${pos}: bad mode`);
      mode = mode * 8 + (c - 0x30);
      p++;
    }
    if (p >= end) throw corrupt(`${what}: tree entry at byte ${pos}: truncated mode`);
    const fmt = mode & 0o170000;
    const kind = p === pos || mode > 0o177777 ? -1 : fmt === 0o100000 || fmt === 0o120000 ? ENTRY_BLOB : fmt === 0o040000 ? ENTRY_TREE : fmt === 0o160000 ? ENTRY_GITLINK : -1;
    if (kind < 0) throw corrupt(`${what}: tree entry at byte ${pos}: bad mode`);
    const nameStart = p + 1;
    let nul = nameStart;
    while (nul < end && data[nul] !== 0) nul++;
    if (nul >= end) throw corrupt(`${what}: tree entry at byte ${pos}: name has no NUL terminator`);
    const problem = nameProblem(data, nameStart, nul);
    if (problem !== undefined) throw corrupt(`${what}: tree entry at byte ${pos}: ${problem}`);
    if (nul + 1 + idLength > end) throw corrupt(`${what}: tree entry at byte ${pos}: truncated id`);
    const isTree = kind === ENTRY_TREE;
    if (n > 0) {
      const ps = st[3 * (n - 1)];
      const pe = st[3 * (n - 1) + 1];
      const pTree = st[3 * (n - 1) + 2] === 1;
      if (compareNames(data, ps, pe, pTree, nameStart, nul, isTree) >= 0) throw corrupt(`${what}: tree entry at byte ${pos}: entries out of order or duplicated`);
      // A file and a tree of the same name are not adjacent in Git order ("a" < "a.b" < "a/"):
      // look back over the names that extend this one with a byte below "/".
      if (isTree) {
        const len = nul - nameStart;
        for (let j = n - 1; j >= 0; j--) {
          const s = st[3 * j];
          const e = st[3 * j + 1];
          if (e - s < len) break;
          let prefix = true;
          for (let k = 0; k < len; k++) {
            if (data[s + k] !== data[nameStart + k]) {
              prefix = false;
              break;
            }
          }
          if (!prefix) break;
          if (e - s === len) throw corrupt(`${what}: tree entry at byte ${pos}: duplicate name`);
          if (data[s + len] >= 0x2f) break;
        }
      }
    }
    if (3 * n + 3 > st.length) {
      const grown = new Int32Array(st.length * 2);
      grown.set(st);
      starts = st = grown;
    }
    st[3 * n] = nameStart;
    st[3 * n + 1] = nul;
    st[3 * n + 2] = isTree ? 1 : 0;
    n++;
    link(data, nul + 1, kind);
    pos = nul + 1 + idLength;
  }
}
