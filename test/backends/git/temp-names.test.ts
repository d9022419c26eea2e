import { describe, expect, it } from "vitest";
import { uniqueSuffix } from "../../../src/backends/git/temp-names.js";

describe("uniqueSuffix", () => {
  it("never repeats within a process, and keeps to lowercase hex (git's tmp_pack_* names)", () => {
    const seen = new Set(Array.from({ length: 10_000 }, () => uniqueSuffix()));
    expect(seen.size).toBe(10_000);
    for (const s of seen) expect(s).toMatch(/^[0-9a-f]{9,}$/);
  });
});
