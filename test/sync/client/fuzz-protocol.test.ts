import { describe, it, expect } from "vitest";
import fc from "fast-check";
import { Repo } from "../../../src/store/repo.js";
import { smartSession } from "../../../src/sync/client/smart-session.js";
import { HaveWalker } from "../../../src/sync/client/have-walker.js";
import { concatBytes, encodePktLine, FLUSH_PKT, PktLineReader } from "../../../src/sync/pkt-line.js";
import { PackWriter } from "../../../src/codec/pack/pack-writer.js";
import type { SmartTransport, RequestBody } from "../../../src/sync/transport/transport.js";
import { isIrminError } from "../../../src/core/errors.js";
import { memoryBackend } from "../../../src/backends/memory/memory-backend.js";

async function* chunks(bytes: Uint8Array, size: number): AsyncIterable<Uint8Array> {
  for (let o = 0; o < bytes.length; o += size) yield bytes.subarray(o, o + size);
}

function sideband(bytes: Uint8Array): Uint8Array {
  const parts: Uint8Array[] = [encodePktLine("\x02Counting objects: 100% (3/3), done.\n")];
  for (let o = 0; o < bytes.length; o += 500) parts.push(encodePktLine(concatBytes([Uint8Array.of(1), bytes.subarray(o, o + 500)])));
  return concatBytes(parts);
}

/** A transport replaying fixed server messages: the advertisement, then the answers in order. */
function replay(advertisement: Uint8Array, answers: Uint8Array[], chunk: number): SmartTransport {
  return {
    location: "fuzz",
    async connect() {
      let i = 0;
      return {
        stateless: true,
        advertisement: new PktLineReader(chunks(advertisement, chunk)),
        async request(body: RequestBody) {
          if (!(body instanceof Uint8Array)) for await (const _ of body) void _;
          return new PktLineReader(chunks(answers[Math.min(i++, answers.length - 1)], chunk));
        },
        close() {},
      };
    },
  };
}

function mutate(bytes: Uint8Array, edits: { at: number; value: number }[], cut: number | null): Uint8Array {
  const out = bytes.slice();
  for (const e of edits) if (out.length > 0) out[e.at % out.length] = e.value;
  return cut === null ? out : out.subarray(0, cut % (out.length + 1));
}

describe("seeded fuzzing of what a server sends: only IrminErrors escape", async () => {
  const source = await Repo.memory();
  await source.branch("main").set("a/b", "one");
  const head = (await source.branch("main").set("c", "two"))!.hash;
  const objects: { type: "blob" | "tree" | "commit" | "tag"; data: Uint8Array }[] = [];
  for await (const h of source.internals.backend.objects.hashes()) objects.push((await source.internals.backend.objects.get(h))!);
  const parts: Uint8Array[] = [];
  const w = new PackWriter((c) => void parts.push(c), objects.length, "sha1");
  for (const o of objects) await w.writeObject(o.type, o.data);
  await w.finish();
  const pack = concatBytes(parts);

  const v0Adv = concatBytes([encodePktLine(`${head} HEAD\0multi_ack_detailed side-band-64k ofs-delta thin-pack shallow symref=HEAD:refs/heads/main\n`), encodePktLine(`${head} refs/heads/main\n`), FLUSH_PKT]);
  const v0Answer = concatBytes([encodePktLine("NAK\n"), sideband(pack), FLUSH_PKT]);
  const v2Adv = concatBytes([encodePktLine("version 2\n"), encodePktLine("ls-refs=unborn\n"), encodePktLine("fetch=shallow\n"), FLUSH_PKT]);
  const v2Refs = concatBytes([encodePktLine(`${head} HEAD symref-target:refs/heads/main\n`), encodePktLine(`${head} refs/heads/main\n`), FLUSH_PKT]);
  const v2Answer = concatBytes([encodePktLine("packfile\n"), sideband(pack), FLUSH_PKT]);

  async function attempt(adv: Uint8Array, answers: Uint8Array[], chunk: number): Promise<void> {
    const session = smartSession(replay(adv, answers, chunk));
    const local = memoryBackend().objects;
    try {
      const refs = await session.listRefs(["refs/heads/main"]);
      const want = refs.refs.get("refs/heads/main");
      if (want === undefined) return;
      await session.fetch(local, { wants: [want], haves: new HaveWalker(local, "sha1", []) });
    } catch (e) {
      expect(isIrminError(e), String((e as Error)?.stack)).toBe(true);
    } finally {
      await session.close();
    }
  }

  it("the unmutated exchanges fetch the objects (v0 and v2)", async () => {
    for (const [adv, answers] of [[v0Adv, [v0Answer]], [v2Adv, [v2Refs, v2Answer]]] as const) {
      const session = smartSession(replay(adv, [...answers], 7));
      const local = memoryBackend().objects;
      expect((await session.listRefs()).refs.get("refs/heads/main")).toBe(head);
      await session.fetch(local, { wants: [head], haves: new HaveWalker(local, "sha1", []) });
      expect(await local.has(head)).toBe(true);
    }
  });

  const edits = fc.array(fc.record({ at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }), { maxLength: 3 });
  const which = fc.integer({ min: 0, max: 4 });

  it("mutated v0 and v2 exchanges", async () => {
    await fc.assert(
      fc.asyncProperty(which, edits, fc.option(fc.nat()), fc.integer({ min: 1, max: 300 }), async (target, es, cut, chunk) => {
        const msgs = [v0Adv, v0Answer, v2Adv, v2Refs, v2Answer];
        msgs[target] = mutate(msgs[target], es, cut);
        if (target <= 1) await attempt(msgs[0], [msgs[1]], chunk);
        else await attempt(msgs[2], [msgs[3], msgs[4]], chunk);
      }),
      { seed: 7, numRuns: 400 },
    );
  });

  it("random pkt-line streams as answers", async () => {
    const pkt = fc.oneof(fc.string({ maxLength: 60 }).map((s) => encodePktLine(s)), fc.constant(FLUSH_PKT), fc.uint8Array({ maxLength: 8 }));
    await fc.assert(
      fc.asyncProperty(fc.array(pkt, { maxLength: 12 }), fc.boolean(), async (ps, v2) => {
        const junk = concatBytes(ps);
        if (v2) await attempt(v2Adv, [junk, junk], 5);
        else await attempt(junk, [junk], 5);
      }),
      { seed: 11, numRuns: 300 },
    );
  });
});
