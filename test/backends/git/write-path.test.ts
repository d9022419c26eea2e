/**
 * The git backend's per-commit write path: what a ref update reads and writes (reflogs as git
 * keeps them, symbolic HEAD), and the small packs a commit becomes (readable at once, accepted
 * by git, rolled up with their CRCs checked).
 */
import { afterEach, describe, expect, it } from "vitest";
import { existsSync, mkdirSync, openSync, readdirSync, readFileSync, writeFileSync, writeSync, closeSync, chmodSync } from "node:fs";
import { join } from "node:path";
import { gitBackend, type GitBackend } from "../../../src/backends/git/git-backend.js";
import { PackDirectory } from "../../../src/backends/git/pack/pack-directory.js";
import { Durability } from "../../../src/backends/git/durability.js";
import { hashObject } from "../../../src/codec/object.js";
import { isIrminError } from "../../../src/core/errors.js";
import { git, gitText, sparesReady, tempDir } from "./git-cli.js";

const cleanups: (() => void)[] = [];
afterEach(() => {
  while (cleanups.length > 0) cleanups.pop()!();
});

function bareRepo(): string {
  const t = tempDir("irmin-write-path-");
  cleanups.push(t.remove);
  const dir = join(t.dir, "r.git");
  git(t.dir, ["init", "-q", "--bare", "-b", "main", dir]);
  return dir;
}

async function open(dir: string, fsync = false): Promise<GitBackend> {
  const b = await gitBackend({ path: dir, fsync });
  cleanups.push(() => void b.close());
  return b;
}

const enc = new TextEncoder();

async function commitOf(b: GitBackend, text: string, parent?: string): Promise<string> {
  const blob = await b.objects.put("blob", enc.encode(text));
  const tree = await b.objects.put("tree", new Uint8Array([...enc.encode("100644 f\0"), ...Buffer.from(blob, "hex")]));
  const body = `tree ${tree}\n${parent ? `parent ${parent}\n` : ""}author A <a@x> 1700000000 +0000\ncommitter A <a@x> 1700000000 +0000\n\n${text}\n`;
  return b.objects.put("commit", enc.encode(body));
}

describe("ref updates", () => {
  it("in a bare repository create no reflog, but append to the logs git keeps (the ref's, and HEAD's when HEAD points at it)", async () => {
    const dir = bareRepo();
    const b = await open(dir);
    const c1 = await commitOf(b, "one");
    await b.refs.set("refs/heads/main", c1);
    expect(existsSync(join(dir, "logs"))).toBe(false);
    // git keeps a log for main and for HEAD from now on.
    const c2 = await commitOf(b, "two", c1);
    git(dir, ["--git-dir", dir, "update-ref", "--create-reflog", "refs/heads/main", c2]);
    mkdirSync(join(dir, "logs"), { recursive: true });
    writeFileSync(join(dir, "logs", "HEAD"), "");
    const c3 = await commitOf(b, "three", c2);
    expect(await b.refs.testAndSet("refs/heads/main", c2, c3)).toBe(true);
    expect(gitText(dir, ["--git-dir", dir, "reflog", "show", "--format=%H", "refs/heads/main"]).split("\n")).toEqual([c3, c2]);
    expect(gitText(dir, ["--git-dir", dir, "reflog", "show", "--format=%H", "HEAD"]).split("\n")).toEqual([c3]);
    // A ref HEAD does not point at is logged in its own log only, and only when that exists.
    await b.refs.set("refs/heads/other", c1);
    expect(existsSync(join(dir, "logs", "refs", "heads", "other"))).toBe(false);
    expect(gitText(dir, ["--git-dir", dir, "reflog", "show", "--format=%H", "HEAD"]).split("\n")).toEqual([c3]);
  });

  it("through the symbolic HEAD move the branch it points to, leave HEAD symbolic and no lock behind", async () => {
    const dir = bareRepo();
    const b = await open(dir);
    const c1 = await commitOf(b, "one");
    await b.refs.set("HEAD", c1);
    expect(gitText(dir, ["--git-dir", dir, "rev-parse", "refs/heads/main"])).toBe(c1);
    expect(gitText(dir, ["--git-dir", dir, "symbolic-ref", "HEAD"])).toBe("refs/heads/main");
    const c2 = await commitOf(b, "two", c1);
    expect(await b.refs.testAndSet("HEAD", c2, c1)).toBe(false);
    expect(await b.refs.testAndSet("HEAD", c1, c2)).toBe(true);
    expect(await b.refs.get("refs/heads/main")).toBe(c2);
    const locks = () => [...readdirSync(dir), ...readdirSync(join(dir, "refs", "heads"))].filter((f) => f.endsWith(".lock"));
    // The old ref file's second name is removed in the background: bounded wait.
    for (let i = 0; i < 100 && locks().length > 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(locks()).toEqual([]);
  });

  it("leave no second name of the old ref file behind, and one left by a crash is invisible to git and to list()", async () => {
    const dir = bareRepo();
    const b = await open(dir);
    let c = await commitOf(b, "0");
    await b.refs.set("refs/heads/main", c);
    for (let i = 1; i <= 20; i++) {
      const next = await commitOf(b, String(i), c);
      expect(await b.refs.testAndSet("refs/heads/main", c, next)).toBe(true);
      c = next;
    }
    const heads = join(dir, "refs", "heads");
    // The old files are removed in the background: bounded wait.
    for (let i = 0; i < 100 && readdirSync(heads).length > 1; i++) await new Promise((r) => setTimeout(r, 10));
    expect(readdirSync(heads)).toEqual(["main"]);
    // What a crash between the rename and the removal leaves.
    writeFileSync(join(heads, "main..retired-1-0.lock"), `${c}\n`);
    expect(gitText(dir, ["--git-dir", dir, "for-each-ref", "--format=%(refname)"])).toBe("refs/heads/main");
    git(dir, ["--git-dir", dir, "fsck", "--strict", "--no-dangling"]);
    expect((await b.refs.list()).map((r) => r.name)).toEqual(["refs/heads/main"]);
    expect(gitText(dir, ["--git-dir", dir, "rev-parse", "main"])).toBe(c);
  });

  it("compare against the packed value when the loose ref is absent, and a broken loose ref is CORRUPT", async () => {
    const dir = bareRepo();
    const b = await open(dir);
    const c1 = await commitOf(b, "one");
    const c2 = await commitOf(b, "two", c1);
    await b.refs.set("refs/heads/main", c1);
    git(dir, ["--git-dir", dir, "pack-refs", "--all"]);
    expect(existsSync(join(dir, "refs", "heads", "main"))).toBe(false);
    expect(await b.refs.testAndSet("refs/heads/main", c2, c1)).toBe(false);
    expect(await b.refs.testAndSet("refs/heads/main", c1, c2)).toBe(true);
    expect(gitText(dir, ["--git-dir", dir, "rev-parse", "main"])).toBe(c2);
    writeFileSync(join(dir, "refs", "heads", "main"), "garbage\n");
    await expect(b.refs.set("refs/heads/main", c1)).rejects.toSatisfy((e: unknown) => isIrminError(e, "CORRUPT"));
    expect(existsSync(join(dir, "refs", "heads", "main.lock"))).toBe(false);
  });
});

describe("small packs", () => {
  it("a batch becomes one pack, readable at once through its descriptor and accepted by git (fsck, verify-pack)", async () => {
    const dir = bareRepo();
    for (const fsync of [false, true]) {
      const b = await open(dir, fsync);
      // A large tree (mostly ids: stored uncompressed in small packs), names in git's order.
      const big = Array.from({ length: 300 }, (_, i) => i)
        .sort((x, y) => (`f${x}` < `f${y}` ? -1 : 1))
        .map((i) => [...enc.encode(`100644 f${i}\0`), ...Buffer.from(hashObject("sha1", "blob", enc.encode(`${fsync} ${i}`)), "hex")]);
      const objects = [
        ...Array.from({ length: 300 }, (_, i) => ({ type: "blob" as const, data: enc.encode(`${fsync} ${i}`) })),
        { type: "tree" as const, data: new Uint8Array(big.flat()) },
      ];
      // Pack files (spare temporary files made ahead for the next pack aside).
      const packFiles = () => readdirSync(join(dir, "objects", "pack")).filter((n) => n.startsWith("pack-")).length;
      const before = packFiles();
      const ids = await b.objects.putMany(objects);
      expect(packFiles()).toBe(before + 2);
      for (let i = 0; i < ids.length; i++) expect(Buffer.from((await b.objects.get(ids[i]))!.data).equals(Buffer.from(objects[i].data))).toBe(true);
      await b.close();
    }
    git(dir, ["--git-dir", dir, "fsck", "--strict", "--no-dangling"]);
    for (const f of readdirSync(join(dir, "objects", "pack")).filter((n) => n.endsWith(".idx"))) {
      git(dir, ["--git-dir", dir, "verify-pack", join(dir, "objects", "pack", f)]);
    }
  });

  it("store trees and commits uncompressed and compress blobs; git reads them (verify-pack)", async () => {
    const dir = bareRepo();
    const b = await open(dir, true);
    const blob = enc.encode("compressible ".repeat(100));
    const tree = new Uint8Array([...enc.encode("100644 a\0"), ...Buffer.from(hashObject("sha1", "blob", blob), "hex")]);
    const treeId = hashObject("sha1", "tree", tree);
    const commit = enc.encode(`tree ${treeId}\nauthor A <a@b> 1700000000 +0000\ncommitter A <a@b> 1700000000 +0000\n\n${"message ".repeat(30)}\n`);
    const [blobId, , commitId] = await b.objects.putMany([
      { type: "blob", data: blob },
      { type: "tree", data: tree },
      { type: "commit", data: commit },
    ]);
    await b.close();
    const idx = readdirSync(join(dir, "objects", "pack")).filter((n) => n.endsWith(".idx"));
    expect(idx).toHaveLength(1);
    // "<id> <type> <size> <size in pack> <offset>" per object.
    const rows = gitText(dir, ["--git-dir", dir, "verify-pack", "-v", join(dir, "objects", "pack", idx[0])])
      .split("\n")
      .map((l) => l.split(/\s+/))
      .filter((f) => f[0].length === 40);
    const inPack = (id: string) => {
      const row = rows.find((f) => f[0] === id)!;
      return { size: Number(row[2]), packed: Number(row[3]) };
    };
    // A stored zlib stream: 2 header bytes, 5 per block, 4 of checksum, after the entry's header.
    for (const id of [treeId, commitId]) expect(inPack(id).packed).toBeGreaterThan(inPack(id).size + 11);
    expect(inPack(blobId).packed).toBeLessThan(inPack(blobId).size / 4);
    git(dir, ["--git-dir", dir, "fsck", "--strict", "--no-dangling"]);
  });

  it("the files of the next small pack are made ahead; git does not mind them, and close removes them", async () => {
    const dir = bareRepo();
    const b = await open(dir, true);
    const spares = () => readdirSync(join(dir, "objects", "pack")).filter((n) => n.startsWith("tmp_")).sort();
    const ids: string[] = [];
    for (let round = 0; round < 3; round++) {
      ids.push(...(await b.objects.putMany([0, 1, 2].map((i) => ({ type: "blob" as const, data: enc.encode(`spare ${round} ${i}`) })))));
      // One spare pack file and one spare index file, made while nothing waited for them.
      await sparesReady(b);
      expect(spares().map((n) => n.replace(/_[0-9a-f]+$/, ""))).toEqual(["tmp_idx", "tmp_pack"]);
    }
    const taken = spares();
    ids.push(...(await b.objects.putMany([0, 1, 2].map((i) => ({ type: "blob" as const, data: enc.encode(`spare last ${i}`) })))));
    // The pack was written through them (they are gone, replaced by new spares).
    expect(spares().filter((n) => taken.includes(n))).toEqual([]);
    git(dir, ["--git-dir", dir, "fsck", "--strict", "--no-dangling"]);
    for (const h of ids) expect(gitText(dir, ["--git-dir", dir, "cat-file", "-t", h])).toBe("blob");
    await b.close();
    expect(spares()).toEqual([]);
  });

  it("a roll-up copies entries only when they match their CRC-32, and keeps the source packs otherwise", async () => {
    const dir = bareRepo();
    const packDir = join(dir, "objects", "pack");
    const writer = new PackDirectory(packDir, "sha1", { durability: new Durability(false), maxPacks: Infinity });
    const batch = (k: number) =>
      Array.from({ length: 4 }, (_, i) => {
        const data = enc.encode(`object ${k}.${i} `.repeat(20));
        return { hash: hashObject("sha1", "blob", data), type: "blob" as const, data };
      });
    const names = [await writer.writeSmallPack(batch(1)), await writer.writeSmallPack(batch(2)), await writer.writeSmallPack(batch(3))];
    await writer.close();
    // Packs read from disk (the writer kept its own in memory, where the disk's bit flips do not reach).
    const pd = new PackDirectory(packDir, "sha1", { durability: new Durability(false), maxPacks: Infinity });
    cleanups.push(() => void pd.close());
    // Flip one byte inside the compressed data of the first entry of the smallest pack.
    const victim = join(packDir, `pack-${names[0]}.pack`);
    chmodSync(victim, 0o644);
    const bytes = readFileSync(victim);
    const fd = openSync(victim, "r+");
    writeSync(fd, new Uint8Array([bytes[20] ^ 0xff]), 0, 1, 20);
    closeSync(fd);
    await expect(pd.consolidate()).rejects.toSatisfy((e: unknown) => isIrminError(e, "CORRUPT"));
    const left = readdirSync(packDir).filter((f) => f.endsWith(".idx"));
    expect(left.sort()).toEqual(names.map((n) => `pack-${n}.idx`).sort());
    // Intact packs roll up, and git reads the result; the sources' other files (a reverse index
    // git may have written) go with them.
    writeFileSync(victim, bytes);
    writeFileSync(join(packDir, `pack-${names[1]}.rev`), "");
    expect(await pd.consolidate()).toBe(3);
    expect(readdirSync(packDir).filter((f) => f.endsWith(".idx"))).toHaveLength(1);
    expect(readdirSync(packDir).filter((f) => names.some((n) => f.includes(n)))).toEqual([]);
    for (const k of [1, 2, 3]) for (const o of batch(k)) expect(gitText(dir, ["--git-dir", dir, "cat-file", "-p", o.hash])).toBe(new TextDecoder().decode(o.data).trim());
  });

  it("a roll-up stores successive versions of a directory as deltas (as git's repack): far smaller, chains bounded, git reads it", async () => {
    const dir = bareRepo();
    const packDir = join(dir, "objects", "pack");
    const pd = new PackDirectory(packDir, "sha1", { durability: new Durability(false), maxPacks: Infinity });
    cleanups.push(() => void pd.close());
    const leaf = enc.encode("leaf\n");
    const leafId = Buffer.from(hashObject("sha1", "blob", leaf), "hex");
    // Version v of a directory: 800 + v entries, each commit adding one (as `k/` in the store bench).
    const version = (v: number) => {
      const data = new Uint8Array(
        Array.from({ length: 800 + v }, (_, i) => [...enc.encode(`100644 f${String(i).padStart(5, "0")}\0`), ...leafId]).flat(),
      );
      return { hash: hashObject("sha1", "tree", data), type: "tree" as const, data };
    };
    const packBytes = () => readdirSync(packDir).reduce((n, f) => n + (f.endsWith(".pack") ? readFileSync(join(packDir, f)).length : 0), 0);
    const written: ReturnType<typeof version>[] = [];
    for (const round of [0, 1]) {
      for (let v = round * 70; v < (round + 1) * 70; v++) {
        written.push(version(v));
        await pd.writeSmallPack([written[v], ...(v === 0 ? [{ hash: hashObject("sha1", "blob", leaf), type: "blob" as const, data: leaf }] : [])]);
      }
      const whole = written.slice(round * 70).reduce((n, o) => n + o.data.length, 0);
      const before = packBytes();
      expect(await pd.consolidate()).toBeGreaterThan(1);
      // The first roll-up: 70 versions of ~25 KB in ~2 whole copies plus deltas.
      if (round === 0) expect(packBytes()).toBeLessThan(before / 10);
      expect(packBytes()).toBeLessThan(whole / 5 + (round === 1 ? before : 0));
    }
    expect(readdirSync(packDir).filter((f) => f.endsWith(".idx"))).toHaveLength(1);
    for (const o of written) expect(Buffer.from((await pd.get(o.hash))!.data).equals(Buffer.from(o.data))).toBe(true);
    git(dir, ["--git-dir", dir, "fsck", "--strict", "--no-dangling"]);
    const idx = readdirSync(packDir).find((f) => f.endsWith(".idx"))!;
    const verify = gitText(dir, ["--git-dir", dir, "verify-pack", "-v", join(packDir, idx)]);
    const chains = [...verify.matchAll(/^chain length = (\d+): (\d+) objects?$/gm)].map((m) => Number(m[1]));
    expect(chains.length).toBeGreaterThan(0);
    expect(Math.max(...chains)).toBeLessThanOrEqual(50);
    expect([...verify.matchAll(/^non delta: (\d+) objects?$/gm)].map((m) => Number(m[1]))[0]).toBeLessThan(10);
  });
});
