import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isIrminError } from "../../src/core/errors.js";
import { digestLength, toHex, type HashAlgorithm } from "../../src/core/hash.js";
import type { Identity } from "../../src/codec/identity.js";
import { hashObject } from "../../src/codec/object.js";
import { decodeTag, encodeTag, type TagObject } from "../../src/codec/tag.js";
import { mutatedBytes, tagArb } from "./arbitraries.js";
import { expectCode } from "./expect-code.js";
import { createGitRepo, type GitRepo } from "./git-fixture.js";

const latin1 = (s: string) => new Uint8Array(Buffer.from(s, "latin1"));
const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));
const TAGGER: Identity = { name: "C O Mitter", email: "committer@example.com", timestamp: 1700000100, timezone: "-0700" };
const SIGNATURE = "-----BEGIN PGP SIGNATURE-----\n\niQEzBAABCAAdFiEEabcdef\n=AbCd\n-----END PGP SIGNATURE-----\n";

describe.each(["sha1", "sha256"] as const)("tag codec against git (%s)", (algorithm) => {
  let repo: GitRepo;
  let commit: string;
  let blob: string;
  beforeAll(() => {
    repo = createGitRepo(algorithm);
    blob = repo.text(["hash-object", "-w", "--stdin"], { input: "content\n" });
    const tree = repo.text(["mktree"], { input: `100644 blob ${blob}\tfile\n` });
    commit = repo.text(["commit-tree", tree, "-m", "root"]);
  });
  afterAll(() => repo.remove());

  function roundTrip(id: string): TagObject {
    const body = repo.cat("tag", id);
    const t = decodeTag(body, algorithm);
    const again = encodeTag(t);
    expect(same(again, body)).toBe(true);
    expect(hashObject(algorithm, "tag", again)).toBe(id);
    return t;
  }

  it("decodes tags made by git tag -a, and encodes the same bytes from plain fields", () => {
    repo.run(["tag", "-a", "v1.0", "-m", "Release 1.0\n\nNotes.", commit]);
    const id = repo.text(["rev-parse", "refs/tags/v1.0"]);
    const t = roundTrip(id);
    const expected: TagObject = { object: commit, type: "commit", tag: "v1.0", tagger: TAGGER, extraHeaders: [], message: "Release 1.0\n\nNotes.\n" };
    expect(t).toEqual(expected);
    expect(hashObject(algorithm, "tag", encodeTag(expected))).toBe(id);

    repo.run(["tag", "-a", "blob-tag", "-m", "a blob", blob]);
    const b = roundTrip(repo.text(["rev-parse", "refs/tags/blob-tag"]));
    expect([b.type, b.object]).toEqual(["blob", blob]);
  });

  it("encodes tags that git mktag accepts (strict fsck), signature inside the message", () => {
    const t: TagObject = { object: commit, type: "commit", tag: "v2", tagger: TAGGER, extraHeaders: [], message: "signed release\n" + SIGNATURE };
    const body = encodeTag(t);
    const id = repo.text(["mktag"], { input: body });
    expect(id).toBe(hashObject(algorithm, "tag", body));
    expect(roundTrip(id)).toEqual(t);
    // A tag of a tag.
    const outer: TagObject = { object: id, type: "tag", tag: "outer", tagger: TAGGER, extraHeaders: [], message: "" };
    const outerId = repo.text(["mktag"], { input: encodeTag(outer, algorithm) });
    expect(roundTrip(outerId)).toEqual(outer);
    expect(repo.text(["cat-file", "-t", outerId])).toBe("tag");
  });

  it("keeps old and unusual tags byte for byte", () => {
    const head = `object ${commit}\ntype commit\ntag v0\n`;
    const cases: { body: Uint8Array; canonical: boolean; check?: (t: TagObject) => void }[] = [
      { body: latin1(`${head}\nno tagger, as in 2005\n`), canonical: true, check: (t) => expect(t.tagger).toBeUndefined() },
      { body: latin1(`${head}tagger T <t@x> 1 +0000\nx-extra 1\nx-multi a\n b\n\nmsg\n`), canonical: true, check: (t) => expect(t.extraHeaders).toEqual([{ key: "x-extra", value: "1" }, { key: "x-multi", value: "a\nb" }]) },
      { body: latin1(`${head}x-first 1\ntagger T <t@x> 1 +0000\n\nmsg\n`), canonical: true, check: (t) => expect([t.tagger, t.extraHeaders.map((h) => h.key)]).toEqual([undefined, ["x-first", "tagger"]]) },
      { body: latin1(`${head}tagger T  <t@x> 1 +0000\n\nmsg\n`), canonical: false, check: (t) => expect(t.tagger?.name).toBe("T") },
      { body: latin1(`${head}tagger T\xe9 <t@x> 1 +0000\n\nmsg\n`), canonical: false },
      { body: latin1(`${head}tagger T <t@x> 1 +0000\n\nLatin-1 \xe9\n`), canonical: false, check: (t) => expect(t.message).toBe("Latin-1 \uFFFD\n") },
      { body: latin1(`${head}tagger T <t@x> 1 +0000\n`), canonical: false, check: (t) => expect(t.message).toBe("") },
      { body: latin1(`object ${commit}\ntype commit\ntag\n\nempty name\n`), canonical: true, check: (t) => expect(t.tag).toBe("") },
    ];
    for (const { body, canonical, check } of cases) {
      const id = repo.write("tag", body);
      const t = roundTrip(id);
      expect(t.raw === undefined).toBe(canonical);
      check?.(t);
      if (canonical) expect(hashObject(algorithm, "tag", encodeTag({ ...t }))).toBe(id);
    }
  });
});

describe.each(["sha1", "sha256"] as const)("tag codec properties (%s)", (algorithm) => {
  it("decode(encode(t)) equals t, and re-encoding is stable", () => {
    fc.assert(
      fc.property(tagArb(algorithm), (t) => {
        const body = encodeTag(t);
        const d = decodeTag(body, algorithm);
        expect(d).toEqual(t);
        expect(d.raw).toBeUndefined();
        expect(same(encodeTag(d, algorithm), body)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it("fuzz: mutated tags decode or throw CORRUPT; what decodes re-encodes to the same bytes", () => {
    fc.assert(
      fc.property(mutatedBytes(tagArb(algorithm).map((t) => encodeTag(t))), (data) => {
        let t: TagObject;
        try {
          t = decodeTag(data, algorithm);
        } catch (e) {
          if (isIrminError(e, "CORRUPT")) return;
          throw e;
        }
        expect(same(encodeTag(t), data)).toBe(true);
      }),
      { numRuns: 3000 },
    );
  });

  it("fuzz: random bytes only ever throw CORRUPT", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (data) => {
        try {
          decodeTag(data, algorithm);
        } catch (e) {
          if (!isIrminError(e, "CORRUPT")) throw e;
        }
      }),
      { numRuns: 1000 },
    );
  });
});

describe.each(["sha1", "sha256"] as const)("tag codec bad input (%s)", (algorithm: HashAlgorithm) => {
  const id = toHex(new Uint8Array(digestLength(algorithm)).fill(0xef));
  const other = toHex(new Uint8Array(digestLength(algorithm === "sha1" ? "sha256" : "sha1")).fill(0xef));

  it("decoding malformed tags throws CORRUPT", () => {
    const cases = [
      "",
      "\nmsg\n",
      `object ${id}\n\nmsg\n`,
      `object ${id}\ntype commit\n\nmsg\n`,
      `type commit\nobject ${id}\ntag v\n\nmsg\n`,
      `object ${id.toUpperCase()}\ntype commit\ntag v\n\nmsg\n`,
      `object ${other}\ntype commit\ntag v\n\nmsg\n`,
      `object ${id}\ntype branch\ntag v\n\nmsg\n`,
      `object ${id}\ntype commit\ntag v\ntagger no email 1 +0000\n\nmsg\n`,
      `object ${id}\ntype commit\ntag v\0w\n\nmsg\n`,
    ];
    for (const c of cases) expectCode(() => decodeTag(latin1(c), algorithm), "CORRUPT");
  });

  it("encoding invalid tags throws INVALID_ARGUMENT", () => {
    const ok: TagObject = { object: id, type: "commit", tag: "v1", tagger: TAGGER, extraHeaders: [], message: "m\n" };
    expect(decodeTag(encodeTag(ok), algorithm)).toEqual(ok);
    const bad: unknown[] = [
      null,
      { ...ok, object: "x" },
      { ...ok, type: "branch" },
      { ...ok, tag: 1 },
      { ...ok, tag: "a\0" },
      { ...ok, tagger: { ...TAGGER, email: "x>y" } },
      { ...ok, tagger: undefined, extraHeaders: [{ key: "tagger", value: "T <t@x> 1 +0000" }] },
      { ...ok, extraHeaders: [{ key: "a b", value: "" }] },
      { ...ok, extraHeaders: {} },
      { ...ok, message: undefined },
      { ...ok, message: "\uD800" },
      { ...ok, raw: [1, 2] },
    ];
    for (const t of bad) expectCode(() => encodeTag(t as TagObject), "INVALID_ARGUMENT");
    expectCode(() => encodeTag(ok, algorithm === "sha1" ? "sha256" : "sha1"), "INVALID_ARGUMENT");
  });
});
