/**
 * Text rope benchmarks (issue #4):
 *
 * 1. Edit commits at 1 KB and at 1 MB, on the memory and git backends: one `insert` commit each.
 *    The baseline is our own rate at 1 KB: the ratio is the per-edit cost's flatness (1 = flat),
 *    with the objects read and written per edit in the note.
 * 2. The automerge-paper editing trace (259,778 single-character edits, read at run time from
 *    ../shared/data/editing-traces, never copied here) applied to a text through `branch.text()`
 *    inside transactions of 1,000 edits (one commit each, memory backend), against Yjs and
 *    Automerge applying the same trace in the same run in batches of the same size. All three must
 *    end with the trace's text (the final text at scale 1, a string replay of the prefix below).
 * 3. The merge of two branches that diverged by 1,000 edits each in different parts of a 100 KB
 *    text (median of 3), against the same merge in a 1 MB text: the cost follows the edits, not the text (ratio
 *    near 1), with objects read and written in the note.
 */
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";
import * as Automerge from "@automerge/automerge";
import * as Y from "yjs";
import { subtreeAt } from "../../src/datatypes/slot.js";
import { mergeTexts } from "../../src/datatypes/text.js";
import type { Commit } from "../../src/store/commit.js";
import { Repo } from "../../src/store/repo.js";
import { Node } from "../../src/tree/node.js";
import { type BenchOptions, type BenchRow, envScale, median, prng, scaled, seconds, groupTempDirs, type TempDirs } from "../harness.js";

const GROUP = "text";
const TRACE_DIR = process.env.TEXT_TRACES_DIR ?? fileURLToPath(new URL("../../../shared/data/editing-traces/", import.meta.url));
const BATCH = 1_000;

interface Trace {
  readonly endContent: string;
  readonly patches: [number, number, string][];
}

/** `n` code units of ASCII words and lines. */
function words(rnd: () => number, n: number): string {
  const w = ["lorem", "ipsum", "dolor", "sit", "amet", "rope", "merge", "git", "tree", "blob"];
  let s = "";
  while (s.length < n) s += rnd() < 0.1 ? "\n" : w[Math.floor(rnd() * w.length)] + " ";
  return s.slice(0, n);
}

function readTrace(name: string): Trace | undefined {
  const file = `${TRACE_DIR}/${name}`;
  if (!existsSync(file)) return undefined;
  const raw = JSON.parse(gunzipSync(readFileSync(file)).toString("utf8")) as { endContent: string; txns: { patches: [number, number, string][] }[] };
  return { endContent: raw.endContent, patches: raw.txns.flatMap((t) => t.patches) };
}

function rate(count: number, s: number): number {
  return count / s;
}

/** Runs the text benchmarks and returns their rows. */
export async function runTextBench(options: BenchOptions = {}): Promise<BenchRow[]> {
  const scale = options.scale ?? envScale();
  const log = options.log ?? (() => {});
  const rows: BenchRow[] = [];
  const { tmp, done } = groupTempDirs(options);
  try {
    rows.push(...(await editRows(scale, log, tmp)));
    rows.push(...(await traceRows(scale, log)));
    rows.push(...(await mergeRows(scale, log)));
  } finally {
    await done();
  }
  return rows;
}

async function openRepo(backend: "memory" | "git", tmp: TempDirs): Promise<Repo> {
  return backend === "memory" ? Repo.memory() : Repo.open({ path: `${await tmp.make("text")}/repo.git`, backend: "git" });
}

// (1) one insert commit each, at 1 KB and at 1 MB
async function editRows(scale: number, log: (l: string) => void, tmp: TempDirs): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  for (const backend of ["memory", "git"] as const) {
    // every git commit is flushed to disk: fewer of them
    const edits = scaled(backend === "git" ? 300 : 2_000, scale, 30);
    log(`text: ${edits} insert commits in a 1 KB and in a 1 MB text, interleaved in rounds (${backend})`);
    const sides = [];
    for (const size of [1_000, 1_000_000]) {
      const repo = await openRepo(backend, tmp);
      const rnd = prng(size);
      const t = repo.branch("main").text("doc");
      await t.insert(0, words(rnd, size));
      sides.push({ repo, rnd, t, length: size, seconds: 0, reads: 0, writes: 0 });
    }
    // Rounds alternate between the two texts so that both see the same machine conditions.
    const round = Math.max(1, Math.floor(edits / 10));
    for (let done = 0; done < edits; done += round) {
      for (const side of sides) {
        const { ctx } = side.repo.internals;
        const r0 = ctx.stats.reads, w0 = ctx.stats.writes;
        side.seconds += await seconds(async () => {
          for (let i = 0; i < round; i++) side.length = await side.t.insert(Math.floor(side.rnd() * (side.length + 1)), "x");
        });
        side.reads += ctx.stats.reads - r0;
        side.writes += ctx.stats.writes - w0;
      }
    }
    const count = Math.ceil(edits / round) * round;
    const result = sides.map((side) => ({ rate: rate(count, side.seconds), reads: side.reads / count, writes: side.writes / count }));
    for (const side of sides) await side.repo.close();
    const [small, large] = result;
    rows.push({
      group: GROUP,
      name: `insert commit, 1 MB text (${backend})`,
      baseline: "same, 1 KB text",
      unit: "commits",
      ours: large.rate,
      git: small.rate,
      ratio: large.rate / small.rate,
      goal: 0.5,
      note: `objects per edit: 1 KB ${small.reads.toFixed(1)} read / ${small.writes.toFixed(1)} written, 1 MB ${large.reads.toFixed(1)} read / ${large.writes.toFixed(1)} written (reads through the object cache)`,
    });
  }
  return rows;
}

// (2) the automerge-paper trace, against Yjs and Automerge
async function traceRows(scale: number, log: (l: string) => void): Promise<BenchRow[]> {
  const trace = readTrace("automerge-paper.json.gz");
  if (trace === undefined) {
    log(`text: ${TRACE_DIR}/automerge-paper.json.gz is missing: trace benchmark skipped`);
    console.log(`note: the automerge-paper editing trace is not in ${TRACE_DIR}; the trace benchmark is skipped`);
    return [];
  }
  const n = Math.min(trace.patches.length, scaled(trace.patches.length, scale));
  const patches = trace.patches.slice(0, n);
  // The expected text: the trace's final text, or for a prefix a plain string replay (ASCII: code points are code units).
  let expected = trace.endContent;
  if (n < trace.patches.length) {
    expected = "";
    for (const [pos, del, ins] of patches) expected = expected.slice(0, pos) + ins + expected.slice(pos + del);
  }
  log(`text: automerge-paper trace, ${n} edits (ours in transactions of ${BATCH}, Yjs, Automerge)`);

  let oursText = "";
  const oursSeconds = await seconds(async () => {
    const repo = await Repo.memory();
    const main = repo.branch("main");
    for (let at = 0; at < patches.length; at += BATCH) {
      await main.transaction(async (tx) => {
        const t = tx.text("doc");
        for (const [pos, del, ins] of patches.slice(at, at + BATCH)) {
          if (del > 0) await t.delete(pos, del);
          if (ins.length > 0) await t.insert(pos, ins);
        }
      });
    }
    oursText = await main.text("doc").toString();
    await repo.close();
  });

  let yText = "";
  const ySeconds = await seconds(async () => {
    const doc = new Y.Doc();
    const text = doc.getText("doc");
    for (let at = 0; at < patches.length; at += BATCH) {
      doc.transact(() => {
        for (const [pos, del, ins] of patches.slice(at, at + BATCH)) {
          if (del > 0) text.delete(pos, del);
          if (ins.length > 0) text.insert(pos, ins);
        }
      });
    }
    yText = text.toString();
    await Promise.resolve();
  });

  let amText = "";
  const amSeconds = await seconds(async () => {
    let doc = Automerge.from<{ doc: string }>({ doc: "" });
    for (let at = 0; at < patches.length; at += BATCH) {
      doc = Automerge.change(doc, (d) => {
        for (const [pos, del, ins] of patches.slice(at, at + BATCH)) Automerge.splice(d, ["doc"], pos, del, ins);
      });
    }
    amText = doc.doc;
    await Promise.resolve();
  });

  for (const [who, got] of [["ours", oursText], ["Yjs", yText], ["Automerge", amText]] as const) {
    if (got !== expected) throw new Error(`text bench: ${who} did not end with the trace's text (${got.length} vs ${expected.length} code units)`);
  }
  const note = `${n} edits, final text ${expected.length} code units, all three equal to the trace's ${n === trace.patches.length ? "endContent" : "replayed prefix"}`;
  const ours = rate(n, oursSeconds);
  return [
    { group: GROUP, name: "automerge-paper trace (tx of 1000)", baseline: "Yjs (transact of 1000)", unit: "edits", ours, git: rate(n, ySeconds), ratio: ours / rate(n, ySeconds), note },
    { group: GROUP, name: "automerge-paper trace (tx of 1000)", baseline: "Automerge 3 (change of 1000)", unit: "edits", ours, git: rate(n, amSeconds), ratio: ours / rate(n, amSeconds) },
  ];
}

// (3) merge of two branches that diverged by 1,000 edits each, in a 100 KB and a 1 MB text
async function mergeRows(scale: number, log: (l: string) => void): Promise<BenchRow[]> {
  const edits = scaled(1_000, scale, 20);
  const runs: { seconds: number; reads: number; writes: number }[] = [];
  for (const size of [100_000, 1_000_000]) {
    log(`text: merge of ${edits} + ${edits} edits in a ${size / 1000} KB text`);
    const repo = await Repo.memory();
    const main = repo.branch("main");
    const rnd = prng(7);
    await main.text("doc").insert(0, words(rnd, size));
    const wip = await main.fork("wip");
    const base = (await main.head())!;
    // main edits the first 10 %, wip the last 10 % of the 100 KB text's span at the same offsets from the ends
    let la = size, lb = size;
    for (let i = 0; i < edits; i++) {
      la = await main.text("doc").insert(Math.floor(rnd() * 10_000), `a${i}`);
      lb = await wip.text("doc").insert(lb - Math.floor(rnd() * 10_000), `b${i}`);
    }
    const { ctx } = repo.internals;
    // The text merge alone, cold cache: the objects it reads and writes.
    const subtree = async (c: Commit) => (await subtreeAt(ctx, Node.stored(await (await c.tree()).hash()), ["doc"]))!;
    const [old, a, b] = await Promise.all([subtree(base), subtree((await main.head())!), subtree((await wip.head())!)]);
    ctx.cache.clear();
    const r0 = ctx.stats.reads;
    const mergedNode = await mergeTexts(ctx, old, a, b);
    const reads = ctx.stats.reads - r0;
    const w0 = ctx.stats.writes;
    await ctx.writeNode(mergedNode);
    const writes = ctx.stats.writes - w0;
    // The branch merge, timed (it also walks the 2 × edits commits to find the merge base).
    const times: number[] = [];
    for (let r = 0; r < 3; r++) {
      const into = await main.fork(`into${r}`);
      ctx.cache.clear();
      let ok = false;
      times.push(
        await seconds(async () => {
          ok = (await into.merge(wip)).ok;
        }),
      );
      if (!ok) throw new Error("text bench: the merge failed");
      const merged = await into.text("doc").length();
      if (merged !== la + lb - size) throw new Error(`text bench: merged length ${merged}, expected ${la + lb - size}`);
    }
    runs.push({ seconds: median(times), reads, writes });
    await repo.close();
  }
  const [small, large] = runs;
  return [
    {
      group: GROUP,
      name: `merge ${edits}+${edits} edits, 1 MB text`,
      baseline: "same edits, 100 KB text",
      unit: "merges",
      ours: 1 / large.seconds,
      git: 1 / small.seconds,
      ratio: small.seconds / large.seconds,
      goal: 0.5,
      note: `branch merges (finding the merge base walks the ${2 * edits} new commits); the text merge alone, cold cache, reads / writes: 100 KB ${small.reads} / ${small.writes} objects, 1 MB ${large.reads} / ${large.writes}`,
    },
  ];
}
