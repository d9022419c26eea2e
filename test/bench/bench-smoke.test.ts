import { describe, expect, it } from "vitest";
import type { BenchRow } from "../../bench/harness.js";
import { describeFileSystem, formatTable } from "../../bench/harness.js";
import { tmpdir } from "node:os";
import { runObjectsBench } from "../../bench/objects.js";
import { runStoreBench } from "../../bench/store.js";
import { runLogBench } from "../../bench/datatypes/log.js";
import { runQueueBench } from "../../bench/datatypes/queue.js";
import { runTextBench } from "../../bench/datatypes/text.js";
import { runSyncBench } from "../../bench/sync.js";

// Keeps the benchmark entry points from rotting: they run end to end at a tiny scale and return
// finite ratios. No timing is asserted (that would be a wall-clock test).
const check = (rows: BenchRow[], group: string, count: number) => {
  expect(rows.length).toBeGreaterThanOrEqual(count);
  for (const r of rows) {
    expect(r.group).toBe(group);
    expect(Number.isFinite(r.ratio) && r.ratio > 0).toBe(true);
    expect(Number.isFinite(r.ours) && Number.isFinite(r.git)).toBe(true);
  }
  expect(formatTable(rows).split("\n").length).toBeGreaterThan(count);
};

describe("benchmarks (smoke, tiny scale)", () => {
  it("objects: every row has a finite ratio", async () => {
    check(await runObjectsBench({ scale: 0.002, runs: 1 }), "objects", 9);
  });

  it("store: every row has a finite ratio, and the merge matches git merge-tree", async () => {
    const rows = await runStoreBench({ scale: 0.002, runs: 1 });
    check(rows, "store", 4);
    expect(rows.find((r) => r.name.includes("merge"))?.note).toContain("same tree as git");
    // The file system the commits ran on is named (its journal matters to file creation).
    expect(rows[0].note).toMatch(/File system: \S.*?\. Disk now:/);
  });

  it("describeFileSystem names the file system of a path, and whether an ext4 one has a journal", () => {
    expect(describeFileSystem("/proc")).toBe(process.platform === "linux" ? "proc" : "unknown");
    expect(describeFileSystem("/no/such/path")).toBe("unknown");
    if (process.platform === "linux") expect(describeFileSystem(tmpdir())).not.toBe("unknown");
  });

  it.each([
    ["log", runLogBench],
    ["queue", runQueueBench],
    ["text", runTextBench],
    ["sync", runSyncBench],
  ] as const)("%s: every row has a finite ratio", async (group, run) => {
    check(await run({ scale: 0.002, runs: 1 }), group, 3);
  });
});
