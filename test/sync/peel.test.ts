import { describe, expect, it } from "vitest";
import { memoryBackend } from "../../src/backends/memory/memory-backend.js";
import { encodeTag } from "../../src/codec/tag.js";
import { peelTag, peelTags } from "../../src/sync/peel.js";

const enc = new TextEncoder();

describe("peelTags", () => {
  it("follows a chain of tags to the object it names, listing the tags first to last", async () => {
    const { objects } = memoryBackend();
    const blob = await objects.put("blob", enc.encode("x"));
    const inner = await objects.put("tag", encodeTag({ object: blob, type: "blob", tag: "inner", extraHeaders: [], message: "i\n" }));
    const outer = await objects.put("tag", encodeTag({ object: inner, type: "tag", tag: "outer", extraHeaders: [], message: "o\n" }));
    expect(await peelTags(objects, "sha1", outer)).toEqual({ hash: blob, type: "blob", tags: [outer, inner] });
    expect(await peelTag(objects, "sha1", outer)).toBe(blob);
    // Not a tag: itself, no tags; absent: no type.
    expect(await peelTags(objects, "sha1", blob)).toEqual({ hash: blob, type: "blob", tags: [] });
    expect(await peelTag(objects, "sha1", blob)).toBeUndefined();
    const missing = "0".repeat(39) + "1";
    expect(await peelTags(objects, "sha1", missing)).toEqual({ hash: missing, type: undefined, tags: [] });
    // A tag naming an absent object ends there: its id, no type.
    const dangling = await objects.put("tag", encodeTag({ object: missing, type: "commit", tag: "d", extraHeaders: [], message: "d\n" }));
    expect(await peelTags(objects, "sha1", dangling)).toEqual({ hash: missing, type: undefined, tags: [dangling] });
    expect(await peelTag(objects, "sha1", dangling)).toBe(missing);
  });
});
