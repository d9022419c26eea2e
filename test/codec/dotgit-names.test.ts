import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { deflateSync } from "node:zlib";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { hashObject } from "../../src/codec/object.js";
import { encodeTree, MODE_FILE } from "../../src/codec/tree.js";
import { decodeUtf8 } from "../../src/codec/utf8.js";
import { entryNameProblem } from "../../src/core/path.js";
import { GIT_ENV } from "../backends/git/git-cli.js";
import { createGitRepo } from "./git-fixture.js";

const enc = new TextEncoder();
const BLOB = "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"; // the empty blob

/**
 * The names among `names` (UTF-8 strings or raw bytes) that `git fsck --strict` flags with
 * `hasDotgit`: one tree per name, written as a loose object with no check, then one fsck run.
 */
function fsckDotgit(names: readonly (string | Uint8Array)[]): Set<number> {
  const repo = createGitRepo("sha1");
  try {
    repo.write("blob", "");
    const byTree = new Map<string, number>();
    names.forEach((name, i) => {
      const bytes = typeof name === "string" ? enc.encode(name) : name;
      const body = Buffer.concat([Buffer.from(`${MODE_FILE} `), bytes, Buffer.from([0]), Buffer.from(BLOB, "hex")]);
      const id = hashObject("sha1", "tree", body);
      byTree.set(id, i);
      mkdirSync(join(repo.dir, "objects", id.slice(0, 2)), { recursive: true });
      writeFileSync(join(repo.dir, "objects", id.slice(0, 2), id.slice(2)), deflateSync(Buffer.concat([Buffer.from(`tree ${body.length}\0`), body])));
    });
    let out = "";
    try {
      execFileSync("git", ["--git-dir", repo.dir, "fsck", "--strict", "--no-dangling"], { env: { ...GIT_ENV, HOME: repo.dir }, stdio: "pipe" });
    } catch (e) {
      out = String((e as { stderr?: Buffer }).stderr);
    }
    const flagged = new Set<number>();
    for (const m of out.matchAll(/error in tree ([0-9a-f]{40}): (\w+)/g)) {
      // Only the check these tests are about; the names never trip another one.
      expect(m[2]).toBe("hasDotgit");
      flagged.add(byTree.get(m[1])!);
    }
    return flagged;
  } finally {
    repo.remove();
  }
}

/** What the library says of each name: refused (true) or accepted. */
function refused(name: string | Uint8Array): boolean {
  if (typeof name === "string") return entryNameProblem(name) !== undefined;
  try {
    encodeTree([{ name: decodeUtf8(name).text, rawName: name, mode: MODE_FILE, hash: BLOB }], "sha1");
    return false;
  } catch {
    return true;
  }
}

const REFUSED = [
  ".git", ".GIT", ".gIt", ".git.", ".git..", ".git ", ".gIt ", ".git. .", "git~1", "GIT~1", "git~1.", "git~1 ",
  ".git\\x", "git~1\\x", ".git. \\x", "\\.git", "x\\GIT~1", "a\\b\\.git. \\c", "\\\\git~1", ".git\u200c", ".g\u200cit", "\ufeff.git", ".\u202agit\u206f", ".git\u200d\u200e\u200f",
  ".git\uffff", ".git\ufffe", ".git\u200c\uffffzz",
  // An NTFS alternate data stream (CVE-2019-1352): a colon ends the name.
  ".git:x", ".git:", "git~1:y", ".GIT. :z", ".git::$INDEX_ALLOCATION", "a\\.git:x",
];
const ACCEPTED = [
  "git", ".gi", ".gitx", "x.git", ".git.x", ".git x", "git~2", "git~1x", "git~", ".git~1", "..git", ". git", ".g\u200bit",
  ".git\u2060", ".gİt", "\u0130", ".git\ufffd", "git", "a\\b", "\\.gitx", "x\\.git.x", "\\", ".gitmodules", ".gitattributes", "gitmod~1", "x:.git",
];

describe("names git fsck takes for .git", () => {
  it("the library refuses exactly the names fsck --strict flags (hand-picked)", () => {
    const names = [...REFUSED, ...ACCEPTED];
    const flagged = fsckDotgit(names);
    names.forEach((name, i) => expect({ name, refused: refused(name) }).toEqual({ name, refused: flagged.has(i) }));
    // The lists say what they mean.
    for (const name of REFUSED) expect(refused(name)).toBe(true);
    for (const name of ACCEPTED) expect(refused(name)).toBe(false);
  });

  it("raw (not UTF-8) names too: malformed UTF-8 ends the name, as in git", () => {
    const raw = (...parts: (string | number)[]) => Uint8Array.from(parts.flatMap((p) => (typeof p === "string" ? [...enc.encode(p)] : [p])));
    const names = [raw(".git", 0xff), raw(".GIT", 0x80, "x"), raw(".git", 0xe2, 0x80, 0x8c, 0xc0, 0x80), raw(".git", 0xed, 0xa0, 0x80), raw(".gi", 0xff), raw(".g", 0xff, "it"), raw("x", 0xff)];
    const flagged = fsckDotgit(names);
    expect(flagged).toEqual(new Set([0, 1, 2, 3]));
    names.forEach((name, i) => expect(refused(name)).toBe(flagged.has(i)));
  });

  it("random names from the characters that matter agree with fsck --strict", () => {
    const unit = fc.constantFrom(".", "g", "G", "i", "I", "t", "T", "~", "1", " ", "\\", ":", "x", "\u200c", "\u202e", "\ufeff", "\u200b", "\uffff");
    const names = fc.sample(
      fc.oneof(
        fc.string({ unit, minLength: 1, maxLength: 8 }),
        fc.tuple(fc.constantFrom(".git", "git~1", ".GiT", "GIT~1", "x\\.git", "\\git~1"), fc.string({ unit, maxLength: 4 })).map(([a, b]) => a + b),
      ),
      { numRuns: 400, seed: 20240501 },
    );
    const usable = [...new Set(names)].filter((n) => n !== "." && n !== "..");
    const flagged = fsckDotgit(usable);
    const disagree = usable.filter((name, i) => refused(name) !== flagged.has(i));
    expect(disagree).toEqual([]);
    expect(flagged.size).toBeGreaterThan(20);
  });
});

