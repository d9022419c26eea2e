/**
 * Object store throughput (issue "foundation"): writes and reads of many small distinct blobs on
 * the git and memory backends, against the real git measured in the same run.
 *
 * Baselines: `git hash-object -w --stdin-paths` (loose writes), `git fast-import` (pack writes),
 * `git cat-file --batch` (reads, loose and after `git gc`). Goals: the git backend at least half
 * git's speed; the memory backend faster than git.
 */
import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { hashObject, type RawObject } from "../src/codec/object.js";
import type { Backend } from "../src/backend/backend.js";
import { type GitBackend, gitBackend } from "../src/backends/git/git-backend.js";
import { memoryBackend } from "../src/backends/memory/memory-backend.js";
import { type BenchOptions, type BenchRow, envScale, git, gitInitBare, interleaved, measure, medianSeconds, prng, row, scaled, shuffled, groupTempDirs } from "./harness.js";

const GROUP = "objects";

/** `count` distinct text-like blobs of 100 to 1000 bytes (seeded: the same in every run). */
export function makeBlobs(count: number, seed = 1): Uint8Array[] {
  const rnd = prng(seed);
  const words: string[] = [];
  for (let w = 0; w < 512; w++) {
    let s = "";
    const len = 3 + Math.floor(rnd() * 6);
    for (let c = 0; c < len; c++) s += String.fromCharCode(97 + Math.floor(rnd() * 26));
    words.push(s);
  }
  const out: Uint8Array[] = [];
  const enc = new TextEncoder();
  for (let i = 0; i < count; i++) {
    const size = 100 + Math.floor(rnd() * 901);
    let s = `{"id":${i},"text":"`;
    while (s.length < size - 2) s += words[Math.floor(rnd() * words.length)] + " ";
    s = s.slice(0, size - 2) + '"}';
    out.push(enc.encode(s));
  }
  return out;
}

/** A `git fast-import` stream of one `blob` command (with a mark) per blob. */
function fastImportBlobs(blobs: readonly Uint8Array[]): Buffer {
  const parts: Buffer[] = [];
  blobs.forEach((b, i) => {
    parts.push(Buffer.from(`blob\nmark :${i + 1}\ndata ${b.length}\n`), Buffer.from(b.buffer, b.byteOffset, b.byteLength), Buffer.from("\n"));
  });
  return Buffer.concat(parts);
}

/** Reads every id of `ids` with one `git cat-file --batch` and checks the output size. */
async function catFileBatch(gitDir: string, ids: readonly string[], expectedBytes: number): Promise<void> {
  const out = await git(["--git-dir", gitDir, "cat-file", "--batch"], ids.join("\n") + "\n");
  if (out.length < expectedBytes) throw new Error(`git cat-file --batch returned ${out.length} bytes, expected at least ${expectedBytes}`);
}

/** Reads every id of `ids` with `objects.get`, one after the other. */
async function getAll(backend: Backend, ids: readonly string[]): Promise<void> {
  for (const id of ids) {
    const o = await backend.objects.get(id);
    if (o === undefined) throw new Error(`object ${id} missing`);
  }
}

/** Writes `objects` with `putMany` in batches of `batch`. */
async function putBatches(backend: Backend, objects: readonly RawObject[], batch: number): Promise<void> {
  for (let i = 0; i < objects.length; i += batch) await backend.objects.putMany(objects.slice(i, i + batch));
}

/**
 * Runs the object benchmarks and returns their rows. Sizes: `20000 × scale` blobs for the batch
 * writes and the reads; the one-at-a-time loose writes (`put`, `hash-object`) use a quarter of
 * that, since they cost a few file-system calls each and the whole suite must stay bounded.
 */
export async function runObjectsBench(options: BenchOptions = {}): Promise<BenchRow[]> {
  const scale = options.scale ?? envScale();
  const runs = options.runs ?? 3;
  const log = options.log ?? (() => {});
  const n = scaled(20_000, scale, 20);
  const nLoose = scaled(5_000, scale, 10);
  const { tmp, done } = groupTempDirs(options);
  const rows: BenchRow[] = [];
  try {
    const blobs = makeBlobs(n);
    const objects: RawObject[] = blobs.map((data) => ({ type: "blob", data }));
    const ids = blobs.map((b) => hashObject("sha1", "blob", b));
    const looseObjects = objects.slice(0, nLoose);
    const totalBytes = blobs.reduce((s, b) => s + b.length, 0);

    // Files for `git hash-object --stdin-paths`, written outside the timed region.
    const filesDir = await tmp.make("files");
    const paths: string[] = [];
    for (let i = 0; i < nLoose; i++) {
      const p = join(filesDir, `${i}.txt`);
      await writeFile(p, blobs[i]);
      paths.push(p);
    }
    const pathsInput = paths.join("\n") + "\n";
    const stream = fastImportBlobs(blobs);

    const freshGitRepo = async () => {
      const d = await tmp.make("git");
      await gitInitBare(d);
      return d;
    };
    const freshDir = () => tmp.make("ours");
    const drop = (d: string) => tmp.remove(d);

    // --- writes -------------------------------------------------------------------------------
    // Baselines and ours interleaved, each run on a fresh repository.
    log(`objects: writing ${nLoose} loose blobs (git hash-object, put) and ${n} in packs (fast-import, putMany)`);
    const gitRun = (args: (d: string) => string[], input: Buffer | string) =>
      measure({ setup: freshGitRepo, fn: (d: string) => git(args(d), input), teardown: drop });
    const oursRun = (fsync: boolean, write: (b: Backend) => Promise<void>) =>
      measure({
        setup: async () => gitBackend({ path: await freshDir(), fsync }),
        fn: write,
        teardown: async (b: GitBackend) => {
          await b.close();
          await drop(b.gitDir);
        },
      });
    const putEach = (list: readonly RawObject[]) => async (b: Backend) => {
      for (const o of list) await b.objects.put(o.type, o.data);
    };
    const [tHashObject, tPut, tPutNoSync, tPutMany100] = await interleaved(runs, [
      gitRun((d) => ["--git-dir", d, "hash-object", "-w", "--stdin-paths"], pathsInput),
      oursRun(true, putEach(looseObjects)),
      oursRun(false, putEach(looseObjects)),
      oursRun(true, (b) => putBatches(b, looseObjects, 100)),
    ]);
    const [tFastImport, tPutMany1000] = await interleaved(runs, [
      gitRun((d) => ["--git-dir", d, "fast-import", "--quiet"], stream),
      oursRun(true, (b) => putBatches(b, objects, 1000)),
    ]);
    const [memPut, memPutMany] = await interleaved(runs, [
      measure({ setup: async () => memoryBackend(), fn: putEach(objects) }),
      measure({ setup: async () => memoryBackend(), fn: (b: Backend) => putBatches(b, objects, 1000) }),
    ]);

    const w = (name: string, baseline: string, count: number, ours: number, gitCount: number, gitTime: number, goal?: number, note?: string) =>
      rows.push(row({ group: GROUP, name, baseline, unit: "objects", goal, note }, count, ours, gitCount, gitTime));
    w("git put, sequential (loose, default fsync)", "hash-object -w --stdin-paths", nLoose, tPut, nLoose, tHashObject, 0.5, "loose objects are flushed in one barrier before a ref update, not one by one (git does not flush them at all by default)");
    w("git put, sequential (loose, fsync off)", "hash-object -w --stdin-paths", nLoose, tPutNoSync, nLoose, tHashObject);
    w("git putMany x100 (one small pack each)", "hash-object -w --stdin-paths", nLoose, tPutMany100, nLoose, tHashObject, 0.5);
    w("git putMany x1000 (one pack per batch)", "fast-import (blob + mark)", n, tPutMany1000, n, tFastImport, 0.5);
    w("memory put, sequential", "fast-import (blob + mark)", n, memPut, n, tFastImport, 1);
    w("memory putMany x1000", "fast-import (blob + mark)", n, memPutMany, n, tFastImport, 1);

    // --- reads --------------------------------------------------------------------------------
    // One repository written by git (loose), read by both; then packed by `git gc`, read again.
    log(`objects: reading ${n} blobs in random order (loose, then after git gc)`);
    const repo = await tmp.make("read");
    await gitInitBare(repo);
    await git(["--git-dir", repo, "fast-import", "--quiet"], stream);
    // fast-import wrote a pack; unpack it so that the first reads are of loose objects.
    const packDir = join(repo, "objects", "pack");
    for (const f of await readdir(packDir)) {
      if (!f.endsWith(".pack")) continue;
      const pack = await readFile(join(packDir, f));
      for (const g of await readdir(packDir)) await rm(join(packDir, g));
      await git(["--git-dir", repo, "unpack-objects", "-q"], pack);
    }
    // Make every blob reachable (one tree, one commit) so that `git gc` packs them all.
    const mktree = ids.map((id, i) => `100644 blob ${id}\t${i}`).join("\n") + "\n";
    const tree = (await git(["--git-dir", repo, "mktree"], mktree)).toString().trim();
    const commit = (await git(["--git-dir", repo, "commit-tree", tree, "-m", "all blobs"])).toString().trim();
    await git(["--git-dir", repo, "update-ref", "refs/heads/main", commit]);
    const order = shuffled(ids, 2);

    const readRows = async (label: string, gitNote: string) => {
      const [tCat, tGet] = await interleaved(runs, [
        measure({ fn: () => catFileBatch(repo, order, totalBytes) }),
        measure({ setup: () => gitBackend({ path: repo }), fn: (b: Backend) => getAll(b, order), teardown: (b: Backend) => b.close() }),
      ]);
      rows.push(row({ group: GROUP, name: `git get, random order (${label})`, baseline: `cat-file --batch (${gitNote})`, unit: "objects", goal: 0.5, note: label === "loose" ? "a fresh backend per run (no in-process cache); OS page cache warm for both" : undefined }, n, tGet, n, tCat));
      return tCat;
    };
    const tCatLoose = await readRows("loose", "loose");
    const mem = memoryBackend();
    await mem.objects.putMany(objects);
    const tMemGet = await medianSeconds(runs, async () => undefined, () => getAll(mem, order));
    rows.push(row({ group: GROUP, name: "memory get, random order", baseline: "cat-file --batch (loose)", unit: "objects", goal: 1 }, n, tMemGet, n, tCatLoose));
    await mem.close();
    await git(["--git-dir", repo, "gc", "--quiet"]);
    await mkdir(packDir, { recursive: true });
    await readRows("after git gc", "packed");
    return rows;
  } finally {
    await done();
  }
}
