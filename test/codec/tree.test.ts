import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isIrminError } from "../../src/core/errors.js";
import { digestLength, hexLength, toHex, type HashAlgorithm } from "../../src/core/hash.js";
import { entryNameProblem } from "../../src/core/path.js";
import { hashObject } from "../../src/codec/object.js";
import { encodeTreeLayout, spliceTree, treeLayoutOf } from "../../src/codec/tree-layout.js";
import {
  compareTreeEntries,
  compareTreeEntryNames,
  decodeTree,
  encodeTree,
  isTreeMode,
  isValidTreeMode,
  MODE_EXECUTABLE,
  MODE_FILE,
  MODE_GITLINK,
  MODE_SYMLINK,
  MODE_TREE,
  treeModeType,
  type TreeEntry,
} from "../../src/codec/tree.js";
import { decodeUtf8 } from "../../src/codec/utf8.js";
import { hashArb } from "./arbitraries.js";
import { expectCode } from "./expect-code.js";
import { createGitRepo, type GitRepo } from "./git-fixture.js";

const utf8 = (s: string) => new TextEncoder().encode(s);
const bytes = (...parts: (string | Uint8Array | number[])[]) =>
  Buffer.concat(parts.map((p) => (typeof p === "string" ? Buffer.from(p, "latin1") : Buffer.from(p))));
const idOf = (algorithm: HashAlgorithm, byte: number) => toHex(new Uint8Array(digestLength(algorithm)).fill(byte));

/** The definition of Git's order: bytes of the name, a tree's name followed by "/". */
function gitOrderKey(e: { name: string; mode: string; rawName?: Uint8Array }): Buffer {
  return Buffer.concat([Buffer.from(e.rawName ?? utf8(e.name)), Buffer.from(isTreeMode(e.mode) ? "/" : "")]);
}

describe("tree modes", () => {
  it("classifies canonical, legacy and bad modes", () => {
    expect([MODE_FILE, MODE_EXECUTABLE, MODE_SYMLINK, MODE_TREE, MODE_GITLINK].map(treeModeType)).toEqual([
      "blob",
      "blob",
      "blob",
      "tree",
      "commit",
    ]);
    expect(treeModeType("100664")).toBe("blob");
    expect(treeModeType("040000")).toBe("tree");
    expect(isTreeMode("040000")).toBe(true);
    expect(isTreeMode(MODE_GITLINK)).toBe(false);
    for (const bad of ["", "644", "0", "100648", "1006440", "10064a", "70000", "+100644", "00000100644"]) {
      expect(isValidTreeMode(bad)).toBe(false);
    }
  });
});

describe.each(["sha1", "sha256"] as const)("tree codec against git (%s)", (algorithm) => {
  let repo: GitRepo;
  beforeAll(() => {
    repo = createGitRepo(algorithm);
  });
  afterAll(() => repo.remove());

  const blob = (content: string) => repo.text(["hash-object", "-w", "--stdin"], { input: content });
  const mktree = (entries: readonly TreeEntry[]) =>
    repo.text(["mktree"], {
      input: entries.map((e) => `${e.mode} ${treeModeType(e.mode)} ${e.hash}\t${e.name}\n`).join(""),
    });

  it("encodes files, executables, symlinks, subtrees and gitlinks as git mktree does, in Git order", () => {
    const file = blob("hello\n");
    const sub = mktree([{ name: "inner", mode: MODE_FILE, hash: file }]);
    const empty = mktree([]);
    const gitlink = idOf(algorithm, 0x11);
    const entries: TreeEntry[] = [
      { name: "a", mode: MODE_TREE, hash: sub },
      { name: "a.b", mode: MODE_FILE, hash: file },
      { name: "a-b", mode: MODE_FILE, hash: file },
      { name: "a0", mode: MODE_FILE, hash: file },
      { name: "a b", mode: MODE_FILE, hash: file },
      { name: "ab", mode: MODE_TREE, hash: empty },
      { name: "ab.c", mode: MODE_FILE, hash: file },
      { name: "run.sh", mode: MODE_EXECUTABLE, hash: blob("#!/bin/sh\n") },
      { name: "link", mode: MODE_SYMLINK, hash: blob("a/inner") },
      { name: "sub", mode: MODE_GITLINK, hash: gitlink },
      { name: "sub.x", mode: MODE_FILE, hash: file },
      { name: "sub-", mode: MODE_TREE, hash: sub },
      { name: "Z", mode: MODE_FILE, hash: file },
      { name: "é.txt", mode: MODE_FILE, hash: file },
      { name: "日本", mode: MODE_TREE, hash: sub },
      { name: "\u{1F600}", mode: MODE_FILE, hash: file },
      { name: "\uFFFD", mode: MODE_FILE, hash: file },
      { name: "\uE000", mode: MODE_FILE, hash: file },
      { name: "legacy", mode: "100664", hash: file },
    ];
    const id = mktree([...entries].reverse());
    const ours = encodeTree(entries, algorithm);
    const theirs = repo.cat("tree", id);
    expect(Buffer.from(ours).equals(Buffer.from(theirs))).toBe(true);
    expect(hashObject(algorithm, "tree", ours)).toBe(id);

    const decoded = decodeTree(theirs, algorithm);
    const gitNames = repo.text(["ls-tree", "--name-only", "-z", id]).split("\0").filter((n) => n !== "");
    expect(decoded.map((e) => e.name)).toEqual(gitNames);
    expect(decoded).toEqual([...entries].sort(compareTreeEntries));
    expect([...entries].sort((a, b) => compareTreeEntryNames(a.name, isTreeMode(a.mode), b.name, isTreeMode(b.mode)))).toEqual(decoded);
    // Spot checks of the "name/" rule that the list above exercises.
    const order = decoded.map((e) => e.name);
    expect(order.indexOf("a.b")).toBeLessThan(order.indexOf("a"));
    expect(order.indexOf("a")).toBeLessThan(order.indexOf("a0"));
    expect(order.indexOf("sub")).toBeLessThan(order.indexOf("sub-"));
    expect(order.indexOf("sub-")).toBeLessThan(order.indexOf("sub.x"));
    expect(encodeTree(decoded, algorithm)).toEqual(theirs);
  });

  it("keeps non-UTF-8 names byte for byte, even when their text forms collide", () => {
    const file = blob("x");
    const input = bytes(
      `100644 blob ${file}\t`, [0x66, 0xff, 0x6f], "\0",
      `100644 blob ${file}\t`, [0x66, 0xfe, 0x6f], "\0",
      `100644 blob ${file}\t`, [0xe9, 0x2e, 0x74, 0x78, 0x74], "\0", // "é.txt" in Latin-1
      `100644 blob ${file}\tplain\0`,
    );
    const id = repo.text(["mktree", "-z"], { input });
    const theirs = repo.cat("tree", id);
    const decoded = decodeTree(theirs, algorithm);
    expect(decoded.map((e) => e.name)).toEqual(["f\uFFFDo", "f\uFFFDo", "plain", "\uFFFD.txt"]);
    expect(decoded[0].rawName).toEqual(new Uint8Array([0x66, 0xfe, 0x6f]));
    expect(decoded[1].rawName).toEqual(new Uint8Array([0x66, 0xff, 0x6f]));
    expect("rawName" in decoded[2]).toBe(false);
    const ours = encodeTree([...decoded].reverse(), algorithm);
    expect(ours).toEqual(theirs);
    expect(hashObject(algorithm, "tree", ours)).toBe(id);
  });

  it("keeps legacy modes (040000, 100664) byte for byte; git reads the tree", () => {
    const file = blob("legacy");
    const sub = mktree([{ name: "f", mode: MODE_FILE, hash: file }]);
    const raw = (hex: string) => Buffer.from(hex, "hex");
    const body = bytes("100664 a\0", raw(file), "040000 d\0", raw(sub), "100755 x\0", raw(file));
    const id = repo.write("tree", body);
    const decoded = decodeTree(body, algorithm);
    expect(decoded.map((e) => e.mode)).toEqual(["100664", "040000", "100755"]);
    expect(isTreeMode(decoded[1].mode)).toBe(true);
    const ours = encodeTree(decoded, algorithm);
    expect(Buffer.from(ours).equals(body)).toBe(true);
    expect(hashObject(algorithm, "tree", ours)).toBe(id);
    expect(repo.text(["ls-tree", "--name-only", id]).split("\n")).toEqual(["a", "d", "x"]);
  });

  it("encodeTreeLayout gives encodeTree's bytes for valid entries, in any order", () => {
    fc.assert(
      fc.property(treeEntries(algorithm, false), fc.integer(), (entries, seed) => {
        const canonical = entries.map((e) => ({ name: e.name, mode: isTreeMode(e.mode) ? MODE_TREE : e.mode, hash: e.hash }));
        const shuffled = [...canonical].sort((a, b) => ((a.name.length * 31 + seed) % 7) - ((b.name.length * 31 + seed) % 7));
        expect(encodeTreeLayout(shuffled, algorithm).data).toEqual(encodeTree(canonical, algorithm));
      }),
    );
  });

  it("spliceTree gives encodeTreeLayout's layout of the changed entries (removals, replacements, kind changes, additions)", () => {
    const canonical = (list: TreeEntry[]) => list.map((e) => ({ name: e.name, mode: isTreeMode(e.mode) ? MODE_TREE : e.mode, hash: e.hash }));
    fc.assert(
      fc.property(treeEntries(algorithm, false), treeEntries(algorithm, false), fc.array(fc.boolean(), { maxLength: 25 }), (b, u, drop) => {
        const before = canonical(b);
        const updates = canonical(u);
        const base = encodeTreeLayout([...before], algorithm);
        const final = new Map(before.map((e) => [e.name, e]));
        before.forEach((e, i) => drop[i] && final.delete(e.name));
        for (const e of updates) final.set(e.name, e);
        const touched = new Set([...before.filter((_, i) => drop[i]).map((e) => e.name), ...updates.map((e) => e.name)]);
        const kinds = new Map(before.map((e) => [e.name, e.mode === MODE_TREE]));
        const changes = [...touched].map((name) => ({ name, wasTree: kinds.get(name), entry: final.get(name) }));
        const spliced = spliceTree(base, changes, algorithm);
        const whole = encodeTreeLayout([...final.values()], algorithm);
        expect(spliced).toBeDefined();
        expect(Buffer.from(spliced!.data).equals(Buffer.from(whole.data))).toBe(true);
        expect(spliced!.names).toEqual(whole.names);
        expect(spliced!.trees).toEqual(whole.trees);
        expect(spliced!.offsets).toEqual(whole.offsets);
      }),
    );
  });

  it("treeLayoutOf finds encodeTreeLayout's layout in a stored body, and refuses names that do not match it", () => {
    fc.assert(
      fc.property(treeEntries(algorithm, false), (entries) => {
        const whole = encodeTreeLayout(entries.map((e) => ({ name: e.name, mode: isTreeMode(e.mode) ? MODE_TREE : e.mode, hash: e.hash })), algorithm);
        const found = treeLayoutOf(whole.data.slice(), whole.names, whole.trees, algorithm);
        expect(found?.offsets).toEqual(whole.offsets);
        if (whole.names.length === 0) return;
        expect(treeLayoutOf(whole.data, [...whole.names.slice(1), `${whole.names[0]}x`], whole.trees, algorithm)).toBeUndefined();
        expect(treeLayoutOf(whole.data, whole.names.slice(1), whole.trees, algorithm)).toBeUndefined();
        expect(treeLayoutOf(whole.data.subarray(0, whole.data.length - 1), whole.names, whole.trees, algorithm)).toBeUndefined();
        // The same names in another order (an in-memory map's order, say): refused, whatever their lengths.
        if (whole.names.length > 1) expect(treeLayoutOf(whole.data, [...whole.names].reverse(), whole.trees, algorithm)).toBeUndefined();
      }),
    );
  });

  it("spliceTree refuses changes that do not fit the base (the caller then encodes whole)", () => {
    const id = "1".repeat(hexLength(algorithm));
    const base = encodeTreeLayout([{ name: "a", mode: MODE_FILE, hash: id }, { name: "b", mode: MODE_TREE, hash: id }], algorithm);
    expect(spliceTree(base, [{ name: "c", wasTree: false, entry: undefined }], algorithm)).toBeUndefined();
    expect(spliceTree(base, [{ name: "b", wasTree: false, entry: undefined }], algorithm)).toBeUndefined();
    expect(spliceTree(base, [{ name: "a", wasTree: undefined, entry: { name: "a", mode: MODE_FILE, hash: id } }], algorithm)).toBeUndefined();
    expect(spliceTree(base, [{ name: "b", wasTree: true, entry: undefined }], algorithm)?.names).toEqual(["a"]);
  });

  it("writes trees that git fsck --strict accepts", () => {
    // A repository of its own: the legacy-mode trees above would fail a strict fsck.
    const clean = createGitRepo(algorithm);
    try {
    const file = clean.text(["hash-object", "-w", "--stdin"], { input: "fsck" });
    const empty = clean.text(["mktree"], { input: "" });
    const canonical = [MODE_FILE, MODE_EXECUTABLE, MODE_SYMLINK, MODE_TREE, MODE_GITLINK];
    fc.assert(
      fc.property(treeEntries(algorithm, false), (entries) => {
        const real = entries.map((e, i) => {
          const mode = canonical[i % canonical.length];
          return { name: e.name, mode, hash: mode === MODE_TREE ? empty : mode === MODE_GITLINK ? e.hash : file };
        });
        const id = clean.write("tree", encodeTree(real, algorithm));
        expect(hashObject(algorithm, "tree", encodeTree(real, algorithm))).toBe(id);
        expect(clean.text(["fsck", "--strict", "--no-dangling", id])).toBe("");
      }),
      { numRuns: 8 },
    );
    } finally {
      clean.remove();
    }
  });
});

const NAME_UNITS = ["a", "b", ".", "-", "0", " ", "~", "é", "日", "\u{1F600}", "\uFFFD", "\uE000", "\u007f", "\t"];
const MODES = [MODE_FILE, MODE_EXECUTABLE, MODE_SYMLINK, MODE_TREE, MODE_GITLINK, "100664", "040000"];

/** Unique valid names (text, or raw bytes when `raw`), canonical and legacy modes, random ids. */
function treeEntries(algorithm: HashAlgorithm, raw: boolean): fc.Arbitrary<TreeEntry[]> {
  const name: fc.Arbitrary<{ name: string; rawName?: Uint8Array; key: string }> = raw
    ? fc
        .uint8Array({ minLength: 1, maxLength: 6 })
        .map((b) => b.map((x) => (x === 0 || x === 0x2f ? 0x80 : x)))
        .filter((b) => entryNameProblem(Buffer.from(b).toString("latin1")) === undefined)
        .map((b) => {
          const { text, exact } = decodeUtf8(b);
          return exact ? { name: text, key: Buffer.from(b).toString("hex") } : { name: text, rawName: b, key: Buffer.from(b).toString("hex") };
        })
    : fc
        .string({ unit: fc.constantFrom(...NAME_UNITS), minLength: 1, maxLength: 6 })
        .filter((s) => entryNameProblem(s) === undefined)
        .map((s) => ({ name: s, key: s }));
  return fc
    .uniqueArray(fc.record({ n: name, mode: fc.constantFrom(...MODES), hash: hashArb(algorithm) }), {
      selector: (r) => r.n.key,
      maxLength: 25,
    })
    .map((rs) =>
      rs.map(({ n, mode, hash }) => (n.rawName === undefined ? { name: n.name, mode, hash } : { name: n.name, mode, hash, rawName: n.rawName })),
    );
}

describe.each(["sha1", "sha256"] as const)("tree codec properties (%s)", (algorithm) => {
  it.each([false, true])("decode(encode(entries)) is the entries in Git order (raw names: %s)", (raw) => {
    fc.assert(
      fc.property(treeEntries(algorithm, raw), (entries) => {
        const body = encodeTree(entries, algorithm);
        const decoded = decodeTree(body, algorithm);
        const expected = [...entries].sort((a, b) => Buffer.compare(gitOrderKey(a), gitOrderKey(b)));
        expect(decoded).toEqual(expected);
        expect(encodeTree(decoded, algorithm)).toEqual(body);
        expect(encodeTree([...entries].reverse(), algorithm)).toEqual(body);
      }),
      { numRuns: 300 },
    );
  });

  it("fuzz: random bytes decode or throw CORRUPT; what decodes re-encodes to the same bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (data) => {
        let entries: TreeEntry[];
        try {
          entries = decodeTree(data, algorithm);
        } catch (e) {
          if (isIrminError(e, "CORRUPT")) return;
          throw e;
        }
        expect(encodeTree(entries, algorithm)).toEqual(data);
      }),
      { numRuns: 2000 },
    );
  });

  it("fuzz: mutated valid trees decode or throw CORRUPT; what decodes re-encodes to the same bytes", () => {
    const mutation = fc.record({
      at: fc.nat(),
      byte: fc.constantFrom(0, 0x20, 0x2f, 0x2e, 0x30, 0x34, 0x37, 0x38, 0x61, 0xff),
      kind: fc.constantFrom("set", "delete", "insert", "truncate"),
    });
    fc.assert(
      fc.property(treeEntries(algorithm, true), fc.array(mutation, { minLength: 1, maxLength: 3 }), (entries, mutations) => {
        let data = Buffer.from(encodeTree(entries, algorithm));
        for (const m of mutations) {
          const at = data.length === 0 ? 0 : m.at % data.length;
          if (m.kind === "set" && data.length > 0) data[at] = m.byte;
          else if (m.kind === "delete") data = Buffer.concat([data.subarray(0, at), data.subarray(at + 1)]);
          else if (m.kind === "insert") data = Buffer.concat([data.subarray(0, at), Buffer.from([m.byte]), data.subarray(at)]);
          else data = data.subarray(0, at);
        }
        let decoded: TreeEntry[];
        try {
          decoded = decodeTree(data, algorithm);
        } catch (e) {
          if (isIrminError(e, "CORRUPT")) return;
          throw e;
        }
        expect(Buffer.from(encodeTree(decoded, algorithm)).equals(data)).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });
});

describe("compareTreeEntryNames", () => {
  it("agrees with byte order of UTF-8 names where trees end in /", () => {
    const name = fc.string({ unit: "grapheme", maxLength: 5 }).filter((s) => !s.includes("/") && !s.includes("\0"));
    fc.assert(
      fc.property(name, fc.boolean(), name, fc.boolean(), (a, at, b, bt) => {
        const ours = Math.sign(compareTreeEntryNames(a, at, b, bt));
        const ref = Math.sign(Buffer.compare(Buffer.from(a + (at ? "/" : ""), "utf8"), Buffer.from(b + (bt ? "/" : ""), "utf8")));
        expect(ours).toBe(ref);
      }),
      { numRuns: 2000 },
    );
  });

  it("orders the classic cases", () => {
    expect(compareTreeEntryNames("a.b", false, "a", true)).toBeLessThan(0);
    expect(compareTreeEntryNames("a", true, "a0", false)).toBeLessThan(0);
    expect(compareTreeEntryNames("a", false, "a.b", false)).toBeLessThan(0);
    expect(compareTreeEntryNames("a", false, "a", true)).toBeLessThan(0);
    expect(compareTreeEntryNames("a", true, "a", true)).toBe(0);
    expect(compareTreeEntryNames("\uFFFF", false, "\u{10000}", false)).toBeLessThan(0);
  });
});

describe.each(["sha1", "sha256"] as const)("tree codec bad input (%s)", (algorithm) => {
  const id = idOf(algorithm, 0xab);
  const rawId = Buffer.from(id, "hex");
  const entry = (mode: string, name: string | number[]) => bytes(`${mode} `, typeof name === "string" ? name : name, "\0", rawId);

  it("decoding malformed trees throws CORRUPT", () => {
    const valid = bytes(entry("100644", "a"), entry("40000", "b"));
    expect(decodeTree(valid, algorithm)).toHaveLength(2);
    const cases: Buffer[] = [
      valid.subarray(0, valid.length - 1), // truncated id
      bytes("100644 a"), // missing NUL
      bytes("100644 a\0", rawId.subarray(0, 5)),
      bytes("100644"), // missing space
      entry("", "a"),
      entry("10064x", "a"),
      entry("644", "a"),
      entry("1006444", "a"),
      entry("100644100644", "a"),
      entry("100644", ""),
      entry("100644", "."),
      entry("100644", ".."),
      entry("100644", ".git"),
      entry("40000", ".GiT"),
      entry("100644", "a/b"),
      bytes(entry("100644", "b"), entry("100644", "a")), // unsorted
      bytes(entry("100644", "a"), entry("100644", "a")), // duplicate
      bytes(entry("40000", "a"), entry("100644", "a.b")), // tree "a" sorts as "a/", after "a.b"
      bytes(entry("100644", "a"), entry("100644", "a.b"), entry("40000", "a")), // file and tree both named "a"
      bytes(entry("100644", "a"), entry("100644", "a-"), entry("40000", "a-b"), entry("100644", "a.b"), entry("40000", "a")), // the same, further apart
      bytes(entry("100644", [0xff]), entry("100644", [0xff, 0x2e]), entry("40000", [0xff])), // the same, raw names
      bytes(entry("100644", [0xff]), entry("100644", [0xfe])), // unsorted raw bytes
    ];
    for (const c of cases) expectCode(() => decodeTree(c, algorithm), "CORRUPT");
    expectCode(() => decodeTree(entry("100644", "a"), algorithm === "sha1" ? "sha256" : "sha1"), "CORRUPT");
    // No file "a" before the tree "a": names extending "a" are no duplicate.
    const apart = decodeTree(bytes(entry("100644", "a-"), entry("40000", "a-b"), entry("100644", "a.b"), entry("40000", "a"), entry("100644", "a0")), algorithm);
    expect(apart.map((e) => e.name)).toEqual(["a-", "a-b", "a.b", "a", "a0"]);
  });

  it("encoding invalid entries throws INVALID_ARGUMENT", () => {
    const ok: TreeEntry = { name: "a", mode: MODE_FILE, hash: id };
    const cases: unknown[][] = [
      [{ ...ok, name: "" }],
      [{ ...ok, name: "." }],
      [{ ...ok, name: ".." }],
      [{ ...ok, name: ".git" }],
      [{ ...ok, name: ".GIT" }],
      [{ ...ok, name: "a/b" }],
      [{ ...ok, name: "a\0b" }],
      [{ ...ok, name: "bad\uD800" }],
      [{ ...ok, mode: "644" }],
      [{ ...ok, mode: "" }],
      [{ ...ok, mode: "10064x" }],
      [{ ...ok, mode: 100644 }],
      [{ ...ok, hash: id.toUpperCase() }],
      [{ ...ok, hash: id.slice(2) }],
      [{ ...ok, hash: "0".repeat(hexLength(algorithm === "sha1" ? "sha256" : "sha1")) }],
      [{ ...ok, name: 7 }],
      [null],
      [ok, { ...ok }],
      [ok, { ...ok, mode: MODE_TREE }],
      [{ ...ok, name: "x", rawName: new Uint8Array([0x61]) }], // stale rawName
      [{ ...ok, name: "a/\uFFFD", rawName: new Uint8Array([0x61, 0x2f, 0xff]) }],
      [{ ...ok, name: "", rawName: new Uint8Array([]) }],
      [{ ...ok, rawName: "a" }],
    ];
    for (const c of cases) expectCode(() => encodeTree(c as TreeEntry[], algorithm), "INVALID_ARGUMENT");
    expectCode(() => encodeTree("nope" as unknown as TreeEntry[], algorithm), "INVALID_ARGUMENT");
    expect(encodeTree([], algorithm)).toEqual(new Uint8Array(0));
  });
});
