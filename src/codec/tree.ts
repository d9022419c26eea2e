/**
 * Git tree objects: a sorted list of `"<mode> <name>\0<raw id>"` entries.
 *
 * Names are bytes in Git. A {@link TreeEntry} shows them as JS strings; a name read from a tree
 * that is not valid UTF-8 also keeps its bytes in `rawName`, so that decode then encode gives the
 * same bytes and the same id.
 */
import { corrupt, invalidArgument } from "../core/errors.js";
import { digestLength, isHash, toHex, writeHex, type Hash, type HashAlgorithm } from "../core/hash.js";
import { isDotgitBytes } from "../core/dotgit.js";
import { entryNameProblem } from "../core/path.js";
import { decodeUtf8, encodeUtf8, isWellFormed } from "./utf8.js";

/** A tree entry mode as Git writes it: octal digits, no leading zero for the canonical ones. */
export type TreeMode = string;

/** A regular file. */
export const MODE_FILE: TreeMode = "100644";
/** An executable file. */
export const MODE_EXECUTABLE: TreeMode = "100755";
/** A symbolic link: the blob holds the link target. */
export const MODE_SYMLINK: TreeMode = "120000";
/** A subtree (Git writes no leading zero; old tools wrote `"040000"`, which decodes as is). */
export const MODE_TREE: TreeMode = "40000";
/** A gitlink (submodule): the id is a commit of another repository, not stored here. */
export const MODE_GITLINK: TreeMode = "160000";

/** One entry of a tree. */
export interface TreeEntry {
  /** The name as text (UTF-8; U+FFFD replaces invalid bytes when `rawName` is present). */
  readonly name: string;
  /** Octal mode, kept byte for byte (`"100644"`, `"40000"`, or a legacy form such as `"100664"`). */
  readonly mode: string;
  /** The id of the blob, tree or (gitlink) commit. */
  readonly hash: Hash;
  /**
   * The name's bytes, present only when they are not valid UTF-8. When present they are what
   * {@link encodeTree} writes, and `name` must be their (lossy) UTF-8 decoding.
   */
  readonly rawName?: Uint8Array;
}

const S_IFMT = 0o170000;

/**
 * The type of object an entry with `mode` points to: `"tree"` for a directory, `"commit"` for a
 * gitlink, `"blob"` for files and symlinks; `undefined` when Git would not accept `mode` (not
 * octal, too long, or a file type bit pattern that is none of these). Legacy modes such as
 * `"100664"` or `"040000"` are accepted: Git reads them, though `git fsck --strict` warns.
 */
export function treeModeType(mode: string): "blob" | "tree" | "commit" | undefined {
  switch (mode) {
    case "100644":
    case "100755":
    case "120000":
      return "blob";
    case "40000":
      return "tree";
    case "160000":
      return "commit";
  }
  if (typeof mode !== "string" || !/^[0-7]{1,7}$/.test(mode)) return undefined;
  const value = parseInt(mode, 8);
  if (value > 0o177777) return undefined;
  switch (value & S_IFMT) {
    case 0o100000:
    case 0o120000:
      return "blob";
    case 0o040000:
      return "tree";
    case 0o160000:
      return "commit";
    default:
      return undefined;
  }
}

/** True when `mode` is a subtree (`"40000"`, or the legacy `"040000"`). */
export function isTreeMode(mode: string): boolean {
  return treeModeType(mode) === "tree";
}

/** True when `mode` is a mode Git accepts in a tree (see {@link treeModeType}). */
export function isValidTreeMode(mode: string): boolean {
  return treeModeType(mode) !== undefined;
}

/** Maps a UTF-16 unit so that comparing mapped units orders strings by code point (= UTF-8 bytes). */
function codePointOrderUnit(u: number): number {
  if (u < 0xd800) return u;
  // Surrogates stand for code points above U+FFFF, so they must sort after U+E000..U+FFFF.
  return u >= 0xe000 ? u - 0x800 : u + 0x2000;
}

/**
 * Git's tree order of two entry names: byte order of their UTF-8 encodings, where a tree's name
 * compares as if it ended in `"/"`. So file `a.b` < tree `a` < file `a0`, and file `a` < tree `a`.
 * Negative, zero or positive like `Array.prototype.sort` wants. Cost O(common prefix), no allocation.
 */
export function compareTreeEntryNames(aName: string, aIsTree: boolean, bName: string, bIsTree: boolean): number {
  const n = Math.min(aName.length, bName.length);
  for (let i = 0; i < n; i++) {
    const a = aName.charCodeAt(i);
    const b = bName.charCodeAt(i);
    if (a !== b) return codePointOrderUnit(a) - codePointOrderUnit(b);
  }
  const a = aName.length > n ? codePointOrderUnit(aName.charCodeAt(n)) : aIsTree ? 0x2f : 0;
  const b = bName.length > n ? codePointOrderUnit(bName.charCodeAt(n)) : bIsTree ? 0x2f : 0;
  return a - b;
}

/** {@link compareTreeEntryNames} on raw name bytes. */
function compareNameBytes(a: Uint8Array, aIsTree: boolean, b: Uint8Array, bIsTree: boolean): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  const ca = a.length > n ? a[n] : aIsTree ? 0x2f : 0;
  const cb = b.length > n ? b[n] : bIsTree ? 0x2f : 0;
  return ca - cb;
}

/**
 * Git's tree order of two entries (their `rawName` bytes when present, else their names; the
 * mode says which are trees). Throws nothing; an invalid mode sorts as a file.
 */
export function compareTreeEntries(a: TreeEntry, b: TreeEntry): number {
  if (a.rawName === undefined && b.rawName === undefined) {
    return compareTreeEntryNames(a.name, isTreeMode(a.mode), b.name, isTreeMode(b.mode));
  }
  return compareNameBytes(a.rawName ?? encodeUtf8(a.name), isTreeMode(a.mode), b.rawName ?? encodeUtf8(b.name), isTreeMode(b.mode));
}

/** Why Git refuses the name bytes `b`, as {@link entryNameProblem} does for strings. */
function nameBytesProblem(b: Uint8Array): string | undefined {
  if (b.length === 0) return "empty name";
  if (b.indexOf(0x2f) >= 0) return 'name contains "/"';
  if (b.indexOf(0) >= 0) return "name contains NUL";
  if (b.length === 1 && b[0] === 0x2e) return 'name "." is reserved';
  if (b.length === 2 && b[0] === 0x2e && b[1] === 0x2e) return 'name ".." is reserved';
  if (isDotgitBytes(b)) return "name is reserved by Git (it is .git on some file systems)";
  return undefined;
}

/** A name as a set key: the string when it is exact, else its bytes (NUL-prefixed: no clash). */
function nameKey(name: string, raw: Uint8Array | undefined): string {
  if (raw === undefined) return name;
  let key = "\0";
  for (let i = 0; i < raw.length; i++) key += String.fromCharCode(raw[i]);
  return key;
}

interface Prepared {
  readonly mode: Uint8Array;
  readonly name: Uint8Array;
  readonly isTree: boolean;
  readonly hash: Hash;
  readonly key: string;
}

function prepare(e: TreeEntry, algorithm: HashAlgorithm): Prepared {
  if (e === null || typeof e !== "object") throw invalidArgument("a tree entry must be an object");
  if (typeof e.name !== "string") throw invalidArgument("a tree entry name must be a string");
  let name: Uint8Array;
  if (e.rawName !== undefined) {
    if (!(e.rawName instanceof Uint8Array)) throw invalidArgument(`tree entry ${JSON.stringify(e.name)}: rawName must be a Uint8Array`);
    const problem = nameBytesProblem(e.rawName);
    if (problem !== undefined) throw invalidArgument(`invalid tree entry name: ${problem}`);
    // A stale rawName (the caller renamed the entry but copied rawName along) would silently win.
    if (decodeUtf8(e.rawName).text !== e.name) throw invalidArgument(`tree entry ${JSON.stringify(e.name)}: rawName does not decode to name`);
    name = e.rawName;
  } else {
    const problem = entryNameProblem(e.name);
    if (problem !== undefined) throw invalidArgument(`invalid tree entry name: ${problem}`);
    if (!isWellFormed(e.name)) throw invalidArgument(`tree entry ${JSON.stringify(e.name)}: name has a lone surrogate`);
    name = encodeUtf8(e.name);
  }
  const type = treeModeType(e.mode);
  if (type === undefined) throw invalidArgument(`tree entry ${JSON.stringify(e.name)}: bad mode ${JSON.stringify(e.mode)}`);
  if (!isHash(e.hash, algorithm)) throw invalidArgument(`tree entry ${JSON.stringify(e.name)}: not a ${algorithm} id: ${JSON.stringify(e.hash)}`);
  const mode = new Uint8Array(e.mode.length);
  for (let i = 0; i < mode.length; i++) mode[i] = e.mode.charCodeAt(i);
  return { mode, name, isTree: type === "tree", hash: e.hash, key: nameKey(e.name, e.rawName) };
}

/**
 * The body of a tree object holding `entries`, in Git's order whatever their order here.
 * Throws `INVALID_ARGUMENT` for a name Git refuses (empty, `.`, `..`, `.git`, `/` or NUL inside),
 * a duplicate name (also a file and a tree of the same name), a bad mode or an id that is not a
 * lower-case `algorithm` id. An empty list gives the empty tree. Cost O(n log n).
 */
export function encodeTree(entries: readonly TreeEntry[], algorithm: HashAlgorithm): Uint8Array {
  if (!Array.isArray(entries)) throw invalidArgument("tree entries must be an array");
  const idLength = digestLength(algorithm);
  const prepared = entries.map((e) => prepare(e, algorithm));
  prepared.sort((a, b) => compareNameBytes(a.name, a.isTree, b.name, b.isTree));
  const seen = new Set<string>();
  let size = 0;
  for (const p of prepared) {
    if (seen.has(p.key)) throw invalidArgument(`duplicate tree entry name ${JSON.stringify(p.key.replace(/^\0/, ""))}`);
    seen.add(p.key);
    size += p.mode.length + 1 + p.name.length + 1 + idLength;
  }
  const out = new Uint8Array(size);
  let pos = 0;
  for (const p of prepared) {
    out.set(p.mode, pos);
    pos += p.mode.length;
    out[pos++] = 0x20;
    out.set(p.name, pos);
    pos += p.name.length;
    out[pos++] = 0;
    writeHex(p.hash, out, pos);
    pos += idLength;
  }
  return out;
}

/**
 * The entries of a tree object body, in stored (Git) order. Throws `CORRUPT` for a truncated
 * entry or id, a missing NUL, a bad or empty mode, a name Git refuses (empty, `.`, `..`, `.git`,
 * containing `/`), or entries out of Git's order or duplicated. Cost O(size).
 */
export function decodeTree(data: Uint8Array, algorithm: HashAlgorithm): TreeEntry[] {
  const idLength = digestLength(algorithm);
  const entries: TreeEntry[] = [];
  // Where each entry's name is: to check the order and find a file and a tree of one name.
  const starts: number[] = [];
  const ends: number[] = [];
  let prevIsTree = false;
  let pos = 0;
  while (pos < data.length) {
    let mode = commonMode(data, pos);
    let p = mode === undefined ? pos : pos + mode.length;
    if (mode === undefined) {
      mode = "";
      while (p < data.length && data[p] !== 0x20) {
        if (data[p] < 0x30 || data[p] > 0x37 || p - pos >= 7) throw corrupt(`tree entry at byte ${pos}: bad mode`);
        mode += String.fromCharCode(data[p++]);
      }
      if (p >= data.length) throw corrupt(`tree entry at byte ${pos}: truncated mode`);
    }
    const type = treeModeType(mode);
    if (type === undefined) throw corrupt(`tree entry at byte ${pos}: bad mode ${JSON.stringify(mode)}`);
    const nameStart = p + 1;
    const nul = data.indexOf(0, nameStart);
    if (nul < 0) throw corrupt(`tree entry at byte ${pos}: name has no NUL terminator`);
    const problem = nameProblemAt(data, nameStart, nul);
    if (problem !== undefined) throw corrupt(`tree entry at byte ${pos}: ${problem}`);
    if (nul + 1 + idLength > data.length) throw corrupt(`tree entry at byte ${pos}: truncated id`);
    const isTree = type === "tree";
    const k = entries.length;
    if (k > 0 && compareNamesAt(data, starts[k - 1], ends[k - 1], prevIsTree, nameStart, nul, isTree) >= 0) {
      throw corrupt(`tree entry at byte ${pos}: entries out of order or duplicated`);
    }
    // A file and a tree of the same name are not adjacent in Git order ("a" < "a.b" < "a/"):
    // the file sits before the tree, behind names that extend it with a byte below "/".
    if (isTree) {
      for (let j = k - 1; j >= 0; j--) {
        const length = ends[j] - starts[j];
        const n = nul - nameStart;
        if (length < n || !sameBytes(data, starts[j], nameStart, n)) break;
        if (length === n) throw corrupt(`tree entry at byte ${pos}: duplicate name`);
        if (data[starts[j] + n] >= 0x2f) break;
      }
    }
    const { text, exact } = decodeNameAt(data, nameStart, nul);
    const hash = toHex(data, nul + 1, idLength);
    entries.push(exact ? { name: text, mode, hash } : { name: text, mode, hash, rawName: data.slice(nameStart, nul) });
    starts.push(nameStart);
    ends.push(nul);
    prevIsTree = isTree;
    pos = nul + 1 + idLength;
  }
  return entries;
}

/** The mode at `pos` when it is a common one followed by a space (its shared string), else undefined. */
function commonMode(data: Uint8Array, pos: number): string | undefined {
  for (const mode of COMMON_MODES) {
    let i = 0;
    while (i < mode.bytes.length && data[pos + i] === mode.bytes[i]) i++;
    if (i === mode.bytes.length) return mode.text;
  }
  return undefined;
}

/** The modes of nearly every entry, most frequent first, with the space after them. */
const COMMON_MODES = [MODE_FILE, MODE_TREE, MODE_EXECUTABLE, MODE_SYMLINK, MODE_GITLINK].map((text) => ({
  text,
  bytes: Uint8Array.from(`${text} `, (c) => c.charCodeAt(0)),
}));

/**
 * Why a tree being read cannot hold the name `data[start, end)` (which holds no NUL): empty, `/`,
 * `.`, `..` and `.git` in any letter case. The other names {@link nameBytesProblem} refuses for
 * writing (`git~1`, `.git.`, ...) are read, as git's own commands read them.
 */
function nameProblemAt(data: Uint8Array, start: number, end: number): string | undefined {
  const n = end - start;
  if (n === 0) return "empty name";
  for (let i = start; i < end; i++) if (data[i] === 0x2f) return 'name contains "/"';
  if (data[start] !== 0x2e || n > 4) return undefined;
  return nameBytesProblem(data.subarray(start, end));
}

/** {@link compareNameBytes} of two names in `data`. */
function compareNamesAt(data: Uint8Array, aStart: number, aEnd: number, aIsTree: boolean, bStart: number, bEnd: number, bIsTree: boolean): number {
  const n = Math.min(aEnd - aStart, bEnd - bStart);
  for (let i = 0; i < n; i++) if (data[aStart + i] !== data[bStart + i]) return data[aStart + i] - data[bStart + i];
  const ca = aEnd - aStart > n ? data[aStart + n] : aIsTree ? 0x2f : 0;
  const cb = bEnd - bStart > n ? data[bStart + n] : bIsTree ? 0x2f : 0;
  return ca - cb;
}

function sameBytes(data: Uint8Array, a: number, b: number, n: number): boolean {
  for (let i = 0; i < n; i++) if (data[a + i] !== data[b + i]) return false;
  return true;
}

/** The name at `data[start, end)` as {@link decodeUtf8} gives it (short ASCII names through one shared decoder). */
function decodeNameAt(data: Uint8Array, start: number, end: number): { text: string; exact: boolean } {
  let ascii = end - start <= 64;
  for (let i = start; ascii && i < end; i++) ascii = data[i] < 0x80;
  if (!ascii) return decodeUtf8(data.subarray(start, end));
  return { text: latin1.decode(data.subarray(start, end)), exact: true };
}

const latin1 = new TextDecoder("latin1");
