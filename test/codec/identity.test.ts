import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { formatIdentity, parseIdentity, type Identity } from "../../src/codec/identity.js";
import { identityArb } from "./arbitraries.js";
import { expectCode } from "./expect-code.js";

describe("identity", () => {
  it("formats and parses Git's identity line", () => {
    const id: Identity = { name: "A U Thor", email: "a@example.com", timestamp: 1700000000, timezone: "+0100" };
    expect(formatIdentity(id)).toBe("A U Thor <a@example.com> 1700000000 +0100");
    expect(parseIdentity("A U Thor <a@example.com> 1700000000 +0100")).toEqual(id);
  });

  it("parses leniently, as git does", () => {
    expect(parseIdentity("Name   <e> 5 -0230")).toEqual({ name: "Name", email: "e", timestamp: 5, timezone: "-0230" });
    expect(parseIdentity("<e>")).toEqual({ name: "", email: "e", timestamp: 0, timezone: "+0000" });
    expect(parseIdentity("N <e> junk")).toEqual({ name: "N", email: "e", timestamp: 0, timezone: "+0000" });
    expect(parseIdentity("N <e> 12 +1:00")).toEqual({ name: "N", email: "e", timestamp: 12, timezone: "+0000" });
    expect(parseIdentity("N <a<b> 1 +0000").email).toBe("a<b");
    expectCode(() => parseIdentity("no email 1 +0000"), "INVALID_ARGUMENT");
    expectCode(() => parseIdentity("N <unterminated 1 +0000"), "INVALID_ARGUMENT");
    expectCode(() => parseIdentity(7 as unknown as string), "INVALID_ARGUMENT");
  });

  it("parseIdentity(formatIdentity(id)) equals id", () => {
    fc.assert(
      fc.property(identityArb(false), (id) => {
        expect(parseIdentity(formatIdentity(id))).toEqual(id);
      }),
      { numRuns: 500 },
    );
  });

  it("refuses identities that would not read back the same", () => {
    const ok: Identity = { name: "N", email: "e", timestamp: 0, timezone: "+0000" };
    for (const bad of [
      { ...ok, name: "a<b" },
      { ...ok, name: "a\n" },
      { ...ok, name: "a " },
      { ...ok, name: "\0" },
      { ...ok, email: "a>b" },
      { ...ok, email: "a\nb" },
      { ...ok, timestamp: -5 },
      { ...ok, timestamp: 2 ** 53 },
      { ...ok, timestamp: "1" },
      { ...ok, timezone: "+01:00" },
      { ...ok, timezone: "Z" },
      { ...ok, name: undefined },
    ]) {
      expectCode(() => formatIdentity(bad as Identity), "INVALID_ARGUMENT");
    }
  });
});
