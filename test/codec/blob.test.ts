import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { frameObject, hashObject, unframeObject } from "../../src/codec/object.js";
import { createGitRepo, type GitRepo } from "./git-fixture.js";

// A blob's body is its content: the codec is the object framing, checked here against git.
describe.each(["sha1", "sha256"] as const)("blobs against git (%s)", (algorithm) => {
  let repo: GitRepo;
  beforeAll(() => {
    repo = createGitRepo(algorithm);
  });
  afterAll(() => repo.remove());

  it("hashObject gives git hash-object's id and git stores the same bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), (content) => {
        const id = repo.text(["hash-object", "-w", "--stdin"], { input: content });
        expect(hashObject(algorithm, "blob", content)).toBe(id);
        expect(repo.cat("blob", id)).toEqual(content);
        expect(unframeObject(frameObject("blob", content))).toEqual({ type: "blob", data: content });
      }),
      { numRuns: 10 },
    );
  });
});
