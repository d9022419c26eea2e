import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isIrminError } from "../../src/core/errors.js";
import { digestLength, toHex, type HashAlgorithm } from "../../src/core/hash.js";
import { decodeCommit, encodeCommit, type CommitObject } from "../../src/codec/commit.js";
import type { Identity } from "../../src/codec/identity.js";
import { hashObject } from "../../src/codec/object.js";
import { createGitRepo, type GitRepo } from "./git-fixture.js";
import { commitArb, mutatedBytes } from "./arbitraries.js";
import { expectCode } from "./expect-code.js";

const latin1 = (s: string) => new Uint8Array(Buffer.from(s, "latin1"));
const text = (b: Uint8Array) => Buffer.from(b).toString("utf8");
const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));

const AUTHOR: Identity = { name: "A U Thor", email: "author@example.com", timestamp: 1700000000, timezone: "+0100" };
const COMMITTER: Identity = { name: "C O Mitter", email: "committer@example.com", timestamp: 1700000100, timezone: "-0700" };

describe.each(["sha1", "sha256"] as const)("commit codec against git (%s)", (algorithm) => {
  let repo: GitRepo;
  let tree: string;
  beforeAll(() => {
    repo = createGitRepo(algorithm);
    const blob = repo.text(["hash-object", "-w", "--stdin"], { input: "content\n" });
    tree = repo.text(["mktree"], { input: `100644 blob ${blob}\tfile\n` });
  });
  afterAll(() => repo.remove());

  const commitTree = (args: string[], options: { input?: string | Uint8Array; env?: Record<string, string>; config?: string[] } = {}) =>
    repo.text([...(options.config ?? []), "commit-tree", tree, ...args], options);

  /** Decodes git's commit, checks decode → encode gives git's bytes and id, returns the decoded commit. */
  function roundTrip(id: string): CommitObject {
    const body = repo.cat("commit", id);
    const c = decodeCommit(body, algorithm);
    const again = encodeCommit(c);
    expect(same(again, body)).toBe(true);
    expect(hashObject(algorithm, "commit", again)).toBe(id);
    return c;
  }

  it("decodes a root commit made by git commit-tree, and encodes the same bytes from plain fields", () => {
    const id = commitTree([], { input: "first line\n\nbody\n" });
    const c = roundTrip(id);
    const expected: CommitObject = { tree, parents: [], author: AUTHOR, committer: COMMITTER, extraHeaders: [], message: "first line\n\nbody\n" };
    expect(c).toEqual(expected);
    expect(c.raw).toBeUndefined();
    expect(hashObject(algorithm, "commit", encodeCommit(expected))).toBe(id);
    expect(hashObject(algorithm, "commit", encodeCommit(expected, algorithm))).toBe(id);
  });

  it("keeps several parents in order", () => {
    const roots = ["one", "two", "three"].map((m) => commitTree(["-m", m]));
    const id = commitTree(["-p", roots[2], "-p", roots[0], "-p", roots[1], "-m", "octopus"]);
    const c = roundTrip(id);
    expect(c.parents).toEqual([roots[2], roots[0], roots[1]]);
    expect(hashObject(algorithm, "commit", encodeCommit({ ...c }))).toBe(id);
  });

  it("reads dates and time zones as git writes them", () => {
    const dates = ["@0 +0000", "1234567890 -0000", "2005-04-07T22:13:13 +0200", "1112911993 +1400", "@4294967296 -1230", "@1700000000 +0545"];
    for (const date of dates) {
      const id = commitTree(["-m", date], { env: { GIT_AUTHOR_DATE: date, GIT_COMMITTER_DATE: date } });
      const c = roundTrip(id);
      expect(c.raw).toBeUndefined();
      const [at, az] = repo.text(["log", "-1", "--date=raw", "--format=%ad", id]).split(" ");
      expect(c.author.timestamp).toBe(Number(at));
      expect(c.author.timezone).toBe(az);
      expect([c.committer.timestamp, c.committer.timezone]).toEqual([c.author.timestamp, c.author.timezone]);
      expect(repo.text(["log", "-1", "--format=%an|%ae|%cn|%ce", id])).toBe(
        `${c.author.name}|${c.author.email}|${c.committer.name}|${c.committer.email}`,
      );
    }
  });

  it("keeps an encoding header and a message that is not UTF-8", () => {
    const id = commitTree([], { config: ["-c", "i18n.commitEncoding=ISO-8859-1"], input: latin1("caf\xe9 cr\xe8me\n") });
    const c = roundTrip(id);
    expect(c.encoding).toBe("ISO-8859-1");
    expect(c.message).toBe("caf\uFFFD cr\uFFFDme\n");
    expect(c.raw).toBeDefined();
    // Changing the commit drops the stale bytes: the new message is written as UTF-8.
    const changed = decodeCommit(encodeCommit({ ...c, message: "café\n" }), algorithm);
    expect(changed).toEqual({ ...c, message: "café\n", raw: undefined });
    expect(changed.raw).toBeUndefined();

    const utf8Id = commitTree([], { config: ["-c", "i18n.commitEncoding=ISO-8859-1"], input: "plain\n" });
    const u = roundTrip(utf8Id);
    expect(u.encoding).toBe("ISO-8859-1");
    expect(u.raw).toBeUndefined();
    expect(hashObject(algorithm, "commit", encodeCommit({ ...u }))).toBe(utf8Id);
  });

  it("keeps mergetag and gpgsig headers (multi-line values) byte for byte", () => {
    const p1 = commitTree(["-m", "left"]);
    const p2 = commitTree(["-m", "right"]);
    const tagBody = [`object ${p2}`, "type commit", "tag v1", "tagger T Agger <t@example.com> 1700000000 +0000", "", "release v1", "-----BEGIN PGP SIGNATURE-----", "", "iQEzBAABCAAdFiEE", "=tag1", "-----END PGP SIGNATURE-----"];
    const sig = ["-----BEGIN PGP SIGNATURE-----", "", "iQIzBAABCgAdFiEEabcdefghijklmnop", "=Zz9x", "-----END PGP SIGNATURE-----"];
    const raw =
      `tree ${tree}\nparent ${p1}\nparent ${p2}\n` +
      `author A U Thor <author@example.com> 1700000000 +0100\ncommitter C O Mitter <committer@example.com> 1700000100 -0700\n` +
      `mergetag ${tagBody.join("\n ")}\n` +
      `gpgsig ${sig.join("\n ")}\n` +
      `\nMerge tag 'v1'\n`;
    const id = repo.text(["hash-object", "-t", "commit", "-w", "--stdin"], { input: raw });
    const c = roundTrip(id);
    expect(c.raw).toBeUndefined();
    expect(c.extraHeaders).toEqual([
      { key: "mergetag", value: tagBody.join("\n") },
      { key: "gpgsig", value: sig.join("\n") },
    ]);
    const built: CommitObject = { tree, parents: [p1, p2], author: AUTHOR, committer: COMMITTER, extraHeaders: c.extraHeaders, message: "Merge tag 'v1'\n" };
    expect(hashObject(algorithm, "commit", encodeCommit(built))).toBe(id);
    // git sees the same signature and merge tag.
    expect(repo.text(["cat-file", "-p", id])).toContain(" -----END PGP SIGNATURE-----");
    expect(repo.text(["log", "-1", "--format=%P", id])).toBe(`${p1} ${p2}`);
  });

  it("keeps unknown and unusual headers, identities and messages byte for byte", () => {
    const head = `tree ${tree}\n`;
    const who = "author A <a@x> 1700000000 +0100\ncommitter C <c@x> 1700000000 +0100\n";
    const cases: { body: Uint8Array; canonical: boolean; check?: (c: CommitObject) => void }[] = [
      { body: latin1(`${head}${who}x-custom some value\nx-multi a\n b\n \n c\n\nmsg\n`), canonical: true, check: (c) => expect(c.extraHeaders).toEqual([{ key: "x-custom", value: "some value" }, { key: "x-multi", value: "a\nb\n\nc" }]) },
      { body: latin1(`${head}${who}x-flag\n\nmsg\n`), canonical: true, check: (c) => expect(c.extraHeaders).toEqual([{ key: "x-flag", value: "" }]) },
      { body: latin1(`${head}${who}x-flag \n\nmsg\n`), canonical: false },
      { body: latin1(`${head}${who}gpgsig sig\nencoding ISO-8859-1\n\nmsg\n`), canonical: false, check: (c) => expect(c.encoding).toBe("ISO-8859-1") },
      { body: latin1(`${head}${who}encoding A\nencoding B\n\nmsg\n`), canonical: true, check: (c) => expect([c.encoding, c.extraHeaders]).toEqual(["A", [{ key: "encoding", value: "B" }]]) },
      { body: latin1(`${head}author  Name   <e@x>  1700000000   +0100\ncommitter C <c@x> 1 +0000\n\nm\n`), canonical: false, check: (c) => expect(c.author).toEqual({ name: " Name", email: "e@x", timestamp: 1700000000, timezone: "+0100" }) },
      { body: latin1(`${head}author Name <e@x>\ncommitter C <c@x> 1 +0000\n\nm\n`), canonical: false, check: (c) => expect(c.author).toEqual({ name: "Name", email: "e@x", timestamp: 0, timezone: "+0000" }) },
      { body: latin1(`${head}author Name <e@x> 01700000000 +0100\ncommitter C <c@x> 1 +01:00\n\nm\n`), canonical: false, check: (c) => expect(c.author.timestamp).toBe(1700000000) },
      { body: latin1(`${head}author Name <e@x> 99999999999999999999 +0100\ncommitter C <c@x> 9007199254740992 +0000\n\nm\n`), canonical: false },
      { body: latin1(`${head}author Jos\xe9 <j@x> 1 +0000\ncommitter C <c@x> 1 +0000\n\nm\n`), canonical: false, check: (c) => expect(c.author.name).toBe("Jos\uFFFD") },
      { body: latin1(`${head}author A <> 1 +0000\ncommitter  <c@x> 1 +0000\n\nm\n`), canonical: true, check: (c) => expect([c.author.email, c.committer.name]).toEqual(["", ""]) },
      { body: latin1(`${head}author A>B <a@x> 1 +0000\ncommitter C <c<d@x> 1 +0000\n\nm\n`), canonical: true },
      { body: latin1(`${head}${who}\nno newline at end`), canonical: true },
      { body: latin1(`${head}${who}\n`), canonical: true, check: (c) => expect(c.message).toBe("") },
      { body: latin1(`${head}${who}`), canonical: false, check: (c) => expect(c.message).toBe("") },
      { body: latin1(`${head}author A <a@x> 1 +0000\ncommitter C <c@x> 1 +0000`), canonical: false },
      { body: latin1(`${head}${who}\nwindows\r\nline\r\n\0nul\n`), canonical: true },
      { body: new Uint8Array(Buffer.from(`${head}${who}\n\uFEFFbom and ✓ and \u{1F600}\n`)), canonical: true, check: (c) => expect(c.message.startsWith("\uFEFF")).toBe(true) },
      { body: latin1(`${head}${who}\n\nleading empty line\n`), canonical: true, check: (c) => expect(c.message).toBe("\nleading empty line\n") },
      { body: latin1(`${head}${who}parent ${tree}\n\nlate parent\n`), canonical: true, check: (c) => expect([c.parents, c.extraHeaders[0].key]).toEqual([[], "parent"]) },
    ];
    for (const { body, canonical, check } of cases) {
      const id = repo.write("commit", body);
      const c = roundTrip(id);
      expect(c.raw === undefined, text(body)).toBe(canonical);
      check?.(c);
      // A canonical decode needs no raw bytes: the fields alone give the id back.
      if (canonical) expect(hashObject(algorithm, "commit", encodeCommit({ ...c }))).toBe(id);
    }
  });

  it("writes commits that git fsck --strict accepts, with the id git computes", () => {
    const clean = createGitRepo(algorithm);
    try {
      const emptyTree = clean.text(["mktree"], { input: "" });
      const parents: string[] = [];
      fc.assert(
        fc.property(commitArb(algorithm, { fsckClean: true }), (c) => {
          const commit = { ...c, tree: emptyTree, parents: parents.slice(-2) };
          const body = encodeCommit(commit);
          const id = clean.text(["hash-object", "-t", "commit", "-w", "--stdin"], { input: body });
          expect(id).toBe(hashObject(algorithm, "commit", body));
          expect(clean.text(["fsck", "--strict", "--no-dangling"])).toBe("");
          expect(clean.text(["log", "-1", "--date=raw", "--format=%an|%ae|%ad", id])).toBe(
            // git reads the zone as a number: "-0000" shows as "+0000".
            `${commit.author.name}|${commit.author.email}|${commit.author.timestamp} ${commit.author.timezone.replace("-0000", "+0000")}`,
          );
          parents.push(id);
        }),
        { numRuns: 6 },
      );
    } finally {
      clean.remove();
    }
  });
});

describe.each(["sha1", "sha256"] as const)("commit codec properties (%s)", (algorithm) => {
  it("decode(encode(c)) equals c, and re-encoding is stable", () => {
    fc.assert(
      fc.property(commitArb(algorithm, { fsckClean: false }), (c) => {
        const body = encodeCommit(c);
        const d = decodeCommit(body, algorithm);
        expect(d).toEqual(c);
        expect(d.raw).toBeUndefined();
        expect(same(encodeCommit(d), body)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it("fuzz: mutated commits decode or throw CORRUPT; what decodes re-encodes to the same bytes", () => {
    fc.assert(
      fc.property(mutatedBytes(commitArb(algorithm, { fsckClean: false }).map((c) => encodeCommit(c))), (data) => {
        let c: CommitObject;
        try {
          c = decodeCommit(data, algorithm);
        } catch (e) {
          if (isIrminError(e, "CORRUPT")) return;
          throw e;
        }
        expect(same(encodeCommit(c), data)).toBe(true);
        expect(same(encodeCommit(c, algorithm), data)).toBe(true);
      }),
      { numRuns: 4000 },
    );
  });

  it("fuzz: random bytes only ever throw CORRUPT", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (data) => {
        try {
          const c = decodeCommit(data, algorithm);
          expect(same(encodeCommit(c), data)).toBe(true);
        } catch (e) {
          if (!isIrminError(e, "CORRUPT")) throw e;
        }
      }),
      { numRuns: 1000 },
    );
  });
});

describe.each(["sha1", "sha256"] as const)("commit codec bad input (%s)", (algorithm: HashAlgorithm) => {
  const id = toHex(new Uint8Array(digestLength(algorithm)).fill(0xcd));
  const other = toHex(new Uint8Array(digestLength(algorithm === "sha1" ? "sha256" : "sha1")).fill(0xcd));
  const who = "author A <a@x> 1 +0000\ncommitter C <c@x> 1 +0000\n";

  it("decoding malformed commits throws CORRUPT", () => {
    const cases = [
      "",
      "\nmessage\n",
      `tree ${id}\n`,
      `tree ${id}\nauthor A <a@x> 1 +0000\n\nm\n`,
      `tree ${id}\ncommitter C <c@x> 1 +0000\nauthor A <a@x> 1 +0000\n\nm\n`,
      `${who}tree ${id}\n\nm\n`,
      `parent ${id}\ntree ${id}\n${who}\nm\n`,
      `tree ${id.toUpperCase()}\n${who}\nm\n`,
      `tree ${id.slice(1)}\n${who}\nm\n`,
      `tree ${other}\n${who}\nm\n`,
      `tree ${id}\nparent xyz\n${who}\nm\n`,
      `tree ${id}\nparent ${id}x\n${who}\nm\n`,
      `tree ${id}\nauthor A a@x 1 +0000\ncommitter C <c@x> 1 +0000\n\nm\n`,
      `tree ${id}\nauthor A <a@x 1 +0000\ncommitter C <c@x> 1 +0000\n\nm\n`,
      `tree ${id}\n${who}x-key a\0b\n\nm\n`,
      ` tree ${id}\n${who}\nm\n`,
      `tree  ${id}\n${who}\nm\n`,
      `tree ${id}\n \n${who}\nm\n`,
    ];
    for (const c of cases) expectCode(() => decodeCommit(latin1(c), algorithm), "CORRUPT");
  });

  it("encoding invalid commits throws INVALID_ARGUMENT", () => {
    const ok: CommitObject = { tree: id, parents: [id], author: AUTHOR, committer: COMMITTER, extraHeaders: [], message: "m\n" };
    expect(decodeCommit(encodeCommit(ok), algorithm)).toEqual(ok);
    const bad: unknown[] = [
      null,
      { ...ok, tree: id.toUpperCase() },
      { ...ok, tree: "" },
      { ...ok, parents: ["nope"] },
      { ...ok, parents: [other] },
      { ...ok, parents: "x" },
      { ...ok, author: { ...AUTHOR, name: "a<b" } },
      { ...ok, author: { ...AUTHOR, name: "a\nb" } },
      { ...ok, author: { ...AUTHOR, name: "trailing " } },
      { ...ok, author: { ...AUTHOR, email: "a>b" } },
      { ...ok, author: { ...AUTHOR, timestamp: -1 } },
      { ...ok, author: { ...AUTHOR, timestamp: 1.5 } },
      { ...ok, author: { ...AUTHOR, timestamp: Number.NaN } },
      { ...ok, committer: { ...COMMITTER, timezone: "+1" } },
      { ...ok, committer: { ...COMMITTER, timezone: "0100" } },
      { ...ok, committer: null },
      { ...ok, encoding: "a\0b" },
      { ...ok, extraHeaders: [{ key: "has space", value: "v" }] },
      { ...ok, extraHeaders: [{ key: "", value: "v" }] },
      { ...ok, extraHeaders: [{ key: "k\n", value: "v" }] },
      { ...ok, extraHeaders: [{ key: "k", value: "a\0" }] },
      { ...ok, extraHeaders: [{ key: "encoding", value: "UTF-8" }] },
      { ...ok, extraHeaders: [null] },
      { ...ok, extraHeaders: undefined },
      { ...ok, message: 7 },
      { ...ok, message: "lone \uDC00 surrogate" },
      { ...ok, raw: "bytes" },
    ];
    for (const c of bad) expectCode(() => encodeCommit(c as CommitObject), "INVALID_ARGUMENT");
    expectCode(() => encodeCommit(ok, algorithm === "sha1" ? "sha256" : "sha1"), "INVALID_ARGUMENT");
  });

  it("ignores raw bytes that no longer match the fields", () => {
    const ok: CommitObject = { tree: id, parents: [], author: AUTHOR, committer: COMMITTER, extraHeaders: [], message: "m\n" };
    const canonical = encodeCommit(ok);
    const stale = { ...ok, raw: latin1("not a commit") };
    expect(same(encodeCommit(stale), canonical)).toBe(true);
    const other = encodeCommit({ ...ok, message: "other\n" });
    expect(same(encodeCommit({ ...ok, raw: other }), canonical)).toBe(true);
  });
});
