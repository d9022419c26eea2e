/** fast-check generators of valid commits and tags, and of byte-level corruptions. */
import fc from "fast-check";
import { digestLength, toHex, type HashAlgorithm } from "../../src/core/hash.js";
import type { CommitObject } from "../../src/codec/commit.js";
import type { HeaderField } from "../../src/codec/headers.js";
import type { Identity } from "../../src/codec/identity.js";
import type { ObjectType } from "../../src/codec/object.js";
import type { TagObject } from "../../src/codec/tag.js";

export function hashArb(algorithm: HashAlgorithm): fc.Arbitrary<string> {
  const n = digestLength(algorithm);
  return fc.uint8Array({ minLength: n, maxLength: n }).map((b) => toHex(b));
}

const str = (units: string[], minLength = 0, maxLength = 12) => fc.string({ unit: fc.constantFrom(...units), minLength, maxLength });

/** Identities; `fsckClean` keeps to what `git fsck --strict` and `git log` show plainly. */
export function identityArb(fsckClean: boolean): fc.Arbitrary<Identity> {
  const name = fsckClean
    ? fc.tuple(str(["A", "b", "é", "-"], 1), str(["a", " ", "Z", "."])).map(([a, b]) => (a + b).trimEnd() || "x")
    : str(["a", "Z", " ", ">", "é", "\u{1F600}", "\t", "\r", "\uFEFF", "\uFFFD", "("]).filter((s) => !/[ \t\r\n]$/.test(s));
  const email = fsckClean ? str(["a", "@", ".", "z"], 1) : str(["a", "@", ".", "<", " ", "é", "\u{1F600}", "\t"]);
  const timezone = fc
    .tuple(fc.constantFrom("+", "-"), fc.integer({ min: 0, max: 9999 }))
    .map(([s, n]) => s + String(n).padStart(4, "0"));
  const timestamp = fsckClean ? fc.integer({ min: 0, max: 2 ** 35 }) : fc.oneof(fc.integer({ min: 0, max: 2 ** 35 }), fc.maxSafeNat());
  return fc.record({ name, email, timestamp, timezone });
}

const VALUE_UNITS = ["a", "Z", " ", "\n", "-", "=", "é", "\u{1F600}", "\r", "\t"];

function headersArb(reserved: string[]): fc.Arbitrary<HeaderField[]> {
  const key = fc.oneof(fc.constantFrom("gpgsig", "mergetag", "gpgsig-sha256", "x-custom"), str(["a", "-", "z", "0", "é", "\t"], 1, 8));
  return fc.array(
    fc.record({ key: key.filter((k) => !reserved.includes(k)), value: str(VALUE_UNITS, 0, 30) }),
    { maxLength: 4 },
  );
}

const MESSAGE_UNITS = ["a", "b", " ", "\n", "\r", "\0", "é", "\u{1F600}", "\uFEFF", "-", "\t"];

/** Valid commits (any parents count, optional encoding, extra headers with multi-line values). */
export function commitArb(algorithm: HashAlgorithm, { fsckClean }: { fsckClean: boolean }): fc.Arbitrary<CommitObject> {
  return fc
    .record({
      tree: hashArb(algorithm),
      parents: fc.array(hashArb(algorithm), { maxLength: 4 }),
      author: identityArb(fsckClean),
      committer: identityArb(fsckClean),
      // git log re-encodes names and messages from a declared legacy encoding: keep fsck runs to UTF-8.
      encoding: fc.option(fsckClean ? fc.constant("UTF-8") : fc.constantFrom("ISO-8859-1", "UTF-8", "", "x\ny"), { nil: undefined }),
      extraHeaders: headersArb(["encoding"]),
      message: str(fsckClean ? MESSAGE_UNITS.filter((u) => u !== "\0") : MESSAGE_UNITS, 0, 40),
    })
    .map(({ encoding, ...c }) => (encoding === undefined ? c : { ...c, encoding }));
}

/** Valid tags (optional tagger; extra headers never start with a tagger when there is none). */
export function tagArb(algorithm: HashAlgorithm): fc.Arbitrary<TagObject> {
  return fc
    .record({
      object: hashArb(algorithm),
      type: fc.constantFrom<ObjectType>("blob", "tree", "commit", "tag"),
      tag: str(["v", "1", ".", "-", "é", " ", "\n"], 0, 10),
      tagger: fc.option(identityArb(false), { nil: undefined }),
      extraHeaders: headersArb(["tagger"]),
      message: str(MESSAGE_UNITS, 0, 40),
    })
    .map(({ tagger, ...t }) => (tagger === undefined ? t : { ...t, tagger }));
}

/** Bytes from `source` with one to three byte-level edits (set, delete, insert, truncate). */
export function mutatedBytes(source: fc.Arbitrary<Uint8Array>): fc.Arbitrary<Uint8Array> {
  const edit = fc.record({
    at: fc.nat(),
    byte: fc.constantFrom(0, 0x0a, 0x20, 0x3c, 0x3e, 0x2b, 0x30, 0x61, 0xc3, 0xff),
    kind: fc.constantFrom("set", "delete", "insert", "truncate"),
  });
  return fc.tuple(source, fc.array(edit, { minLength: 1, maxLength: 3 })).map(([bytes, edits]) => {
    let data = Buffer.from(bytes);
    for (const m of edits) {
      const at = data.length === 0 ? 0 : m.at % data.length;
      if (m.kind === "set" && data.length > 0) data[at] = m.byte;
      else if (m.kind === "delete") data = Buffer.concat([data.subarray(0, at), data.subarray(at + 1)]);
      else if (m.kind === "insert") data = Buffer.concat([data.subarray(0, at), Buffer.from([m.byte]), data.subarray(at)]);
      else data = data.subarray(0, at);
    }
    return new Uint8Array(data);
  });
}
