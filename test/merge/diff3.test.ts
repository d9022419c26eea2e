import { describe, it, expect, beforeAll, afterAll } from "vitest";
import fc from "fast-check";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { diff3Merge, splitLines, diff, applyEdits } from "../../src/merge/diff3.js";
import { isIrminError } from "../../src/core/errors.js";

const L = (s: string) => splitLines(s);
const merge3 = (o: string, a: string, b: string) => diff3Merge(L(o), L(a), L(b));

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "irmin-diff3-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let gitRuns = 0;
// The real git's verdict: `git merge-file -p` prints the merge, exits with the number of conflicts.
function gitMergeFile(o: string, a: string, b: string): { clean: boolean; text: string } {
  const n = gitRuns++;
  const [fa, fo, fb] = ["a", "o", "b"].map((x) => join(dir, `${x}${n}`));
  writeFileSync(fa, a);
  writeFileSync(fo, o);
  writeFileSync(fb, b);
  const r = spawnSync("git", ["merge-file", "-p", fa, fo, fb], { encoding: "utf8" });
  if (r.status === null || r.status < 0) throw new Error(`git merge-file failed: ${r.stderr}`);
  return { clean: r.status === 0, text: r.stdout };
}

/**
 * Wherever git merges cleanly, so do we, to the same text. Where git conflicts (git also refuses
 * changes to adjacent lines) we may merge: then the caller checks the result (`expected`).
 */
function expectLikeGit(o: string, a: string, b: string, expected?: string): boolean {
  const ours = merge3(o, a, b);
  const git = gitMergeFile(o, a, b);
  if (git.clean) {
    expect(ours.ok).toBe(true);
    expect(ours.lines.join("")).toBe(git.text);
  } else if (ours.ok && expected !== undefined) {
    expect(ours.lines.join("")).toBe(expected);
  }
  return ours.ok;
}

describe("splitLines", () => {
  it("keeps terminators so that joining restores the text", () => {
    expect(L("")).toEqual([]);
    expect(L("a")).toEqual(["a"]);
    expect(L("a\n")).toEqual(["a\n"]);
    expect(L("a\r\nb\n\nc")).toEqual(["a\r\n", "b\n", "\n", "c"]);
    fc.assert(fc.property(fc.string({ unit: fc.constantFrom("a", "\n", "\r", "é") }), (s) => {
      expect(L(s).join("")).toBe(s);
    }));
  });
});

describe("diff3Merge, hand-picked cases checked against git merge-file", () => {
  const base = "1\n2\n3\n4\n5\n6\n7\n8\n";
  // [name, old, a, b, clean, the merge when git conflicts but we do not]
  const cases: [string, string, string, string, boolean, string?][] = [
    ["non-overlapping changes merge", base, "1\nTWO\n3\n4\n5\n6\n7\n8\n", "1\n2\n3\n4\n5\n6\nSEVEN\n8\n", true],
    ["the same change on both sides merges", base, "1\n2\nX\n4\n5\n6\n7\n8\n", "1\n2\nX\n4\n5\n6\n7\n8\n", true],
    ["different changes to the same line conflict", base, "1\n2\nX\n4\n5\n6\n7\n8\n", "1\n2\nY\n4\n5\n6\n7\n8\n", false],
    ["changes to adjacent lines merge (git refuses them)", base, "1\n2\nX\n4\n5\n6\n7\n8\n", "1\n2\n3\nY\n5\n6\n7\n8\n", true, "1\n2\nX\nY\n5\n6\n7\n8\n"],
    ["the first two lines changed one on each side merge", "1\n2\n3\n4\n", "1x\n2\n3\n4\n", "1\n2x\n3\n4\n", true, "1x\n2x\n3\n4\n"],
    ["a deletion next to a change merges", base, "1\n2\n4\n5\n6\n7\n8\n", "1\n2\n3\nFOUR\n5\n6\n7\n8\n", true, "1\n2\nFOUR\n5\n6\n7\n8\n"],
    ["an insertion where the other side's change starts lands before its new lines", base, "1\n2\nA\n3\n4\n5\n6\n7\n8\n", "1\n2\nX\nX2\n4\n5\n6\n7\n8\n", true, "1\n2\nA\nX\nX2\n4\n5\n6\n7\n8\n"],
    ["an insertion where the other side's change ends lands after its new lines", base, "1\n2\n3\nA\n4\n5\n6\n7\n8\n", "1\n2\nX\n4\n5\n6\n7\n8\n", true, "1\n2\nX\nA\n4\n5\n6\n7\n8\n"],
    ["an insertion next to a deletion merges", base, "1\n2\n4\n5\n6\n7\n8\n", "1\n2\n3\nA\n4\n5\n6\n7\n8\n", true, "1\n2\nA\n4\n5\n6\n7\n8\n"],
    ["an insertion inside the lines the other side changed conflicts", base, "1\n2\n3\nA\n4\n5\n6\n7\n8\n", "1\n2\nX\n5\n6\n7\n8\n", false],
    ["deleting one of two equal lines on both sides deletes one", "a\nx\nx\nb\n", "a\nx\nb\n", "a\nx\nb\nc\n", true],
    // Each side's diff picks a different "a" to delete; both mean the same change.
    ["deleting one of two equal lines on both sides deletes one, however each diff aligned it", "e\ng\nd\nc\nf\ng\nd\na\na\n", "e\ng\nd\nc\nf\nX\ng\nd\na\n", "e\ng\nd\nc\nf\ng\nd\na\n", true],
    ["different insertions at the same spot conflict", base, "1\n2\n3\nA\n4\n5\n6\n7\n8\n", "1\n2\n3\nB\n4\n5\n6\n7\n8\n", false],
    ["identical insertions at the same spot merge", base, "1\n2\n3\nA\n4\n5\n6\n7\n8\n", "1\n2\n3\nA\n4\n5\n6\n7\n8\n", true],
    ["a deletion and a distant change merge", base, "1\n3\n4\n5\n6\n7\n8\n", "1\n2\n3\n4\n5\n6\n7\nEIGHT\n", true],
    ["a deletion against a change of the same line conflicts", base, "1\n3\n4\n5\n6\n7\n8\n", "1\nTWO\n3\n4\n5\n6\n7\n8\n", false],
    ["insertions at both ends merge", base, "0\n" + base, base + "9\n", true],
    ["a change on one side only takes that side", base, base, "x\n", true],
    ["add/add of different texts with no ancestor conflicts", "", "a\n", "b\n", false],
    ["add/add of the same text merges", "", "a\nb\n", "a\nb\n", true],
    ["CRLF lines are kept as they are", "a\r\nb\r\nc\r\nd\r\ne\r\n", "A\r\nb\r\nc\r\nd\r\ne\r\n", "a\r\nb\r\nc\r\nd\r\nE\r\n", true],
    ["a line-ending change is a change", "a\nb\nc\nd\n", "a\r\nb\nc\nd\n", "a\nb\nc\nD\n", true],
    ["a line-ending change conflicts with an edit of that line", "a\nb\nc\nd\n", "a\r\nb\nc\nd\n", "A\nb\nc\nd\n", false],
    ["adding the final newline merges with a distant change", "a\nb\nc\nd", "a\nb\nc\nd\n", "A\nb\nc\nd", true],
    ["removing the final newline merges with a distant change", "a\nb\nc\nd\n", "a\nb\nc\nd", "A\nb\nc\nd\n", true],
    ["both sides appending differently after a last line without newline conflict", "a\nb", "a\nb\nc", "a\nb\nd", false],
  ];
  for (const [name, o, a, b, clean, merged] of cases) {
    it(name, () => {
      expect(merge3(o, a, b).ok).toBe(clean);
      expect(merge3(o, b, a).ok).toBe(clean);
      expectLikeGit(o, a, b, merged);
      expectLikeGit(o, b, a, merged);
      // Where git refuses, the merge is given: check it really is not git's verdict.
      if (merged !== undefined) expect(gitMergeFile(o, a, b).clean).toBe(false);
    });
  }

  it("reports the conflicting region in all three inputs", () => {
    const r = merge3("1\n2\n3\n4\n", "1\nX\nX2\n3\n4\n", "1\nY\n3\n4\n");
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.conflicts).toEqual([{ oldStart: 1, oldEnd: 2, aStart: 1, aEnd: 3, bStart: 1, bEnd: 2 }]);
    expect(r.lines.join("")).toBe("1\n<<<<<<<\nX\nX2\n|||||||\n2\n=======\nY\n>>>>>>>\n3\n4\n");
  });

  it("labels the markers and never glues a marker to a line without newline", () => {
    const r = diff3Merge(L("x"), L("a"), L("b"), { a: "ours", old: "base", b: "theirs" });
    expect(r.ok).toBe(false);
    expect(r.lines.join("")).toBe("<<<<<<< ours\na\n||||||| base\nx\n=======\nb\n>>>>>>> theirs\n");
  });
});

// Edits of an ancestor made of distinct lines, inserting fresh lines drawn from a pool both sides
// share (so that identical and conflicting insertions both happen). With distinct ancestor lines
// the alignment of each side is unambiguous, so git's verdict and ours must agree exactly.
const pool = ["p\n", "q\n", "r\n", "s"];
const sideEdit = (n: number) =>
  fc.array(fc.oneof(
    fc.constant<["keep"]>(["keep"]),
    fc.constant<["del"]>(["del"]),
    fc.tuple(fc.constant("ins" as const), fc.constantFrom(...pool)),
    fc.tuple(fc.constant("rep" as const), fc.constantFrom(...pool)),
  ), { minLength: n, maxLength: n });

function applySide(old: readonly string[], ops: readonly (readonly [string, string?])[]): string[] {
  const out: string[] = [];
  old.forEach((line, i) => {
    const [op, v] = ops[i];
    if (op === "keep") out.push(line);
    else if (op === "ins") out.push(v as string, line);
    else if (op === "rep") out.push(v as string);
  });
  return out;
}

const scenario = fc.integer({ min: 0, max: 10 }).chain((n) =>
  fc.tuple(fc.constant(Array.from({ length: n }, (_, i) => `line ${i}\n`)), sideEdit(n), sideEdit(n)));

type SideOps = readonly (readonly [string, string?])[];

/**
 * The merge as specified, computed another way: each side's changes as hunks read off its edit
 * list (a run of deleted or replaced lines, with what was inserted before the next kept line), two
 * hunks clashing when they cover a common ancestor line or insertion point (a changed range
 * covers the points strictly inside it), clashing hunks forming regions that merge only when both
 * sides turned them into the same lines, and an insertion at a point placed before a change that
 * starts there.
 */
function modelMerge(old: readonly string[], ea: SideOps, eb: SideOps): { ok: boolean; text: string } {
  interface H { side: number; s: number; e: number; text: string[] }
  const read = (ops: SideOps, side: number): H[] => {
    const out: H[] = [];
    let cur: H | undefined;
    ops.forEach(([op, v], i) => {
      if (op !== "keep") cur ??= { side, s: i, e: i, text: [] };
      if (op === "rep" || op === "ins") cur!.text.push(v as string);
      if (op === "del" || op === "rep") cur!.e = i + 1;
      if (op === "keep" || op === "ins") {
        if (cur !== undefined) out.push(cur);
        cur = undefined;
      }
    });
    if (cur !== undefined) out.push(cur);
    return out;
  };
  const hs = [...read(ea, 0), ...read(eb, 1)];
  // Covered slots: line k is 2k + 1, the point before line k is 2k.
  const slots = (h: H) => (h.s === h.e ? [2 * h.s] : Array.from({ length: 2 * (h.e - h.s) - 1 }, (_, k) => 2 * h.s + 1 + k));
  const group = hs.map((_, k) => k);
  const find = (k: number): number => (group[k] === k ? k : (group[k] = find(group[k])));
  hs.forEach((x, i) => hs.forEach((y, j) => {
    if (slots(x).some((t) => slots(y).includes(t))) group[find(i)] = find(j);
  }));
  const regions = new Map<number, H[]>();
  hs.forEach((h, k) => regions.set(find(k), [...(regions.get(find(k)) ?? []), h]));
  const sorted = [...regions.values()].map((r) => ({ r, s: Math.min(...r.map((h) => h.s)), e: Math.max(...r.map((h) => h.e)) }))
    .sort((x, y) => x.s - y.s || (x.s === x.e ? -1 : 0) - (y.s === y.e ? -1 : 0));
  const out: string[] = [];
  let ok = true, at = 0;
  for (const { r, s, e } of sorted) {
    out.push(...old.slice(at, s));
    at = e;
    const textOf = (side: number) => {
      const mine = r.filter((h) => h.side === side);
      const t: string[] = [];
      let k = s;
      for (const h of mine) {
        t.push(...old.slice(k, h.s), ...h.text);
        k = h.e;
      }
      return [...t, ...old.slice(k, e)];
    };
    const ta = textOf(0), tb = textOf(1);
    const both = r.some((h) => h.side === 0) && r.some((h) => h.side === 1);
    if (both && ta.join("\u0000") !== tb.join("\u0000")) ok = false;
    out.push(...(r.some((h) => h.side === 0) ? ta : tb));
  }
  out.push(...old.slice(at));
  return { ok, text: out.join("") };
}

describe("diff3Merge against git merge-file and the specification on random edits", () => {
  it("merges wherever git does, to git's text; elsewhere, as specified", () => {
    const seen = { clean: 0, conflict: 0, cleanWhereGitConflicts: 0 };
    fc.assert(
      fc.property(scenario, ([old, ea, eb]) => {
        // A pool line without newline is only valid last: only the last line may lack one.
        const fixOps = (ops: SideOps): SideOps => ops.map(([op, v], i) => (v !== undefined && (i < ops.length - 1 || op === "ins") && !v.endsWith("\n") ? [op, v + "\n"] : [op, v]));
        const fa = fixOps(ea), fb = fixOps(eb);
        const o = old.join(""), a = applySide(old, fa).join(""), b = applySide(old, fb).join("");
        const model = modelMerge(old, fa, fb);
        const ours = merge3(o, a, b);
        expect(ours.ok).toBe(model.ok);
        if (ours.ok) expect(ours.lines.join("")).toBe(model.text);
        const git = gitMergeFile(o, a, b);
        if (git.clean) expect(ours.ok && ours.lines.join("")).toBe(git.text);
        seen[ours.ok ? "clean" : "conflict"]++;
        if (ours.ok && !git.clean) seen.cleanWhereGitConflicts++;
      }),
      { numRuns: 200 },
    );
    // the generator must exercise every outcome, or the comparison proves little
    expect(seen.clean).toBeGreaterThan(20);
    expect(seen.conflict).toBeGreaterThan(20);
    expect(seen.cleanWhereGitConflicts).toBeGreaterThan(10);
  });
});

describe("diff3Merge against git merge-file on texts with repeated lines", () => {
  // Diffs of such texts can align equal lines in several ways; where git merges, we must agree.
  it("merges wherever git does, to git's text", () => {
    const text = fc.array(fc.constantFrom("a\n", "b\n", "c\n", "d\n"), { minLength: 2, maxLength: 9 });
    const edit = fc.array(fc.tuple(fc.nat(), fc.constantFrom("del", "rep", "ins"), fc.constantFrom("X\n", "Y\n", "a\n")), { minLength: 1, maxLength: 2 });
    const apply = (lines: string[], ops: [number, string, string][]) => {
      const out = [...lines];
      for (const [at, op, v] of ops) {
        const i = at % (out.length + 1);
        if (op === "ins") out.splice(i, 0, v);
        else if (i < out.length) out.splice(i, 1, ...(op === "rep" ? [v] : []));
      }
      return out.join("");
    };
    let gitClean = 0;
    fc.assert(
      fc.property(text, edit, edit, (old, ea, eb) => {
        const o = old.join(""), a = apply(old, ea), b = apply(old, eb);
        const git = gitMergeFile(o, a, b);
        if (!git.clean) return;
        gitClean++;
        const ours = merge3(o, a, b);
        expect(ours.ok && ours.lines.join("")).toBe(git.text);
      }),
      { numRuns: 200, seed: 42 },
    );
    expect(gitClean).toBeGreaterThan(60);
  });
});

describe("diff3Merge laws", () => {
  const lines = fc.array(fc.constantFrom("a\n", "b\n", "c\n", "d\n", "e"), { maxLength: 12 });
  it("merge(old, x, old) = x, merge(old, old, x) = x, merge(old, x, x) = x", () => {
    fc.assert(fc.property(lines, lines, (old, x) => {
      for (const r of [diff3Merge(old, x, old), diff3Merge(old, old, x), diff3Merge(old, x, x)]) {
        expect(r.ok).toBe(true);
        expect(r.lines).toEqual(x);
      }
    }), { numRuns: 300 });
  });

  it("is symmetric in the two sides", () => {
    fc.assert(fc.property(lines, lines, lines, (old, a, b) => {
      const ab = diff3Merge(old, a, b), ba = diff3Merge(old, b, a);
      expect(ab.ok).toBe(ba.ok);
      if (ab.ok) expect(ab.lines).toEqual(ba.lines);
      else if (!ba.ok) {
        expect(ab.conflicts.map((c) => [c.oldStart, c.oldEnd, c.aStart, c.aEnd, c.bStart, c.bEnd]))
          .toEqual(ba.conflicts.map((c) => [c.oldStart, c.oldEnd, c.bStart, c.bEnd, c.aStart, c.aEnd]));
      }
    }), { numRuns: 300 });
  });
});

describe("character diff", () => {
  it("produces edits relative to the original text", () => {
    expect(diff("", "")).toEqual([]);
    expect(diff("abc", "abc")).toEqual([]);
    expect(diff("abc", "")).toEqual([{ pos: 0, deleteCount: 3, insertText: "" }]);
    expect(diff("", "xy")).toEqual([{ pos: 0, deleteCount: 0, insertText: "xy" }]);
    expect(diff("abcd", "abxd")).toEqual([{ pos: 2, deleteCount: 1, insertText: "x" }]);
    expect(diff("hello world", "hello, world!")).toEqual([
      { pos: 5, deleteCount: 0, insertText: "," },
      { pos: 11, deleteCount: 0, insertText: "!" },
    ]);
  });

  it("never splits a surrogate pair and counts UTF-16 units", () => {
    // U+1F600 and U+1F601 share their high surrogate
    expect(diff("a😀b", "a😁b")).toEqual([{ pos: 1, deleteCount: 2, insertText: "😁" }]);
  });

  it("applying diff(a, b) to a gives b; edits are sorted and separated", () => {
    const text = fc.string({ unit: fc.constantFrom("a", "b", "c", "\n", "é", "😀", "😁"), maxLength: 30 });
    fc.assert(fc.property(text, text, (a, b) => {
      const edits = diff(a, b);
      expect(applyEdits(a, edits)).toBe(b);
      for (let i = 1; i < edits.length; i++) {
        expect(edits[i].pos).toBeGreaterThan(edits[i - 1].pos + edits[i - 1].deleteCount);
      }
      for (const e of edits) expect(e.deleteCount > 0 || e.insertText.length > 0).toBe(true);
    }), { numRuns: 500 });
  });

  it("applyEdits rejects edits outside the text or out of order", () => {
    const bad = (f: () => unknown) => {
      try {
        f();
        return false;
      } catch (e) {
        return isIrminError(e, "INVALID_ARGUMENT");
      }
    };
    expect(bad(() => applyEdits("abc", [{ pos: 2, deleteCount: 2, insertText: "" }]))).toBe(true);
    expect(bad(() => applyEdits("abc", [{ pos: 2, deleteCount: 0, insertText: "" }, { pos: 1, deleteCount: 0, insertText: "" }]))).toBe(true);
    expect(bad(() => applyEdits("abc", [{ pos: -1, deleteCount: 0, insertText: "" }]))).toBe(true);
    expect(applyEdits("abc", [{ pos: 1, deleteCount: 1, insertText: "XY" }, { pos: 3, deleteCount: 0, insertText: "!" }])).toBe("aXYc!");
  });
});
