import { describe, expect, it } from "vitest";
import type { Backend } from "../../src/backend/backend.js";
import type { RefChange } from "../../src/backend/ref-store.js";
import { hashObject } from "../../src/codec/object.js";
import type { BackendFactory } from "./factory.js";
import { bytes, collect, expectCode, waitFor, withBackend } from "./helpers.js";

/**
 * The `Backend` lifecycle: `close` (idempotent, then `CLOSED` everywhere), and what the backend
 * declares in `supports`: persistence across reopen, a second instance seeing the first one's
 * writes and watching them (`externalChanges`), compare-and-set between instances (`multiProcess`).
 * A declared capability without a `reopen` in the factory is a failure, not a skip.
 */
export function backendLifecycleConformance(factory: BackendFactory): void {
  describe(`${factory.name}: lifecycle`, () => {
    const id = (s: string) => hashObject("sha1", "blob", bytes(s));

    it("after close every operation throws CLOSED; close is idempotent", async () => {
      const b = await factory.create("sha1");
      try {
        const h = await b.objects.put("blob", bytes("x"));
        await b.close();
        await b.close();
        await expectCode(() => b.objects.get(h), "CLOSED");
        await expectCode(() => b.objects.has(h), "CLOSED");
        await expectCode(() => b.objects.put("blob", bytes("y")), "CLOSED");
        await expectCode(() => b.objects.putMany([{ type: "blob", data: bytes("z") }]), "CLOSED");
        await expectCode(() => collect(b.objects.hashes()), "CLOSED");
        await expectCode(() => b.refs.get("refs/heads/main"), "CLOSED");
        await expectCode(() => b.refs.set("refs/heads/main", h), "CLOSED");
        await expectCode(() => b.refs.testAndSet("refs/heads/main", undefined, h), "CLOSED");
        await expectCode(() => b.refs.remove("refs/heads/main"), "CLOSED");
        await expectCode(() => b.refs.list(), "CLOSED");
        await expectCode(() => b.refs.watch(() => undefined), "CLOSED");
        await expectCode(() => b.refs.getSymbolic("HEAD"), "CLOSED");
        await expectCode(() => b.refs.setSymbolic("HEAD", "refs/heads/x"), "CLOSED");
      } finally {
        await b.close();
        await factory.destroy?.(b);
      }
    });

    it("the shallow boundary: empty, replaced atomically, kept sorted without duplicates, checked", async () => {
      const b = await factory.create("sha1");
      try {
        expect(b.shallow).toBeDefined();
        const shallow = b.shallow!;
        expect(await shallow.list()).toEqual([]);
        await shallow.set([id("2"), id("1"), id("2")]);
        expect(await shallow.list()).toEqual([id("1"), id("2")].sort());
        await shallow.set([id("3")]);
        expect(await shallow.list()).toEqual([id("3")]);
        await expectCode(() => shallow.set(["not-a-hash"]), "INVALID_ARGUMENT");
        expect(await shallow.list()).toEqual([id("3")]);
        await shallow.set([]);
        expect(await shallow.list()).toEqual([]);
        await b.close();
        await expectCode(() => shallow.list(), "CLOSED");
      } finally {
        await b.close();
        await factory.destroy?.(b);
      }
    });

    it("declares persistence honestly: data survives close and reopen", async () => {
      const b = await factory.create("sha256");
      let again: Backend | undefined;
      try {
        const h = await b.objects.put("commit", bytes("tree t\n\nm\n"));
        await b.refs.set("refs/heads/main", h);
        await b.refs.setSymbolic("HEAD", "refs/heads/main");
        await b.close();
        if (!b.supports.persistent) return;
        expect(factory.reopen, "a persistent backend's factory must provide reopen").toBeDefined();
        again = await factory.reopen!(b);
        expect(again.objects.algorithm).toBe("sha256");
        expect((await again.objects.get(h))?.type).toBe("commit");
        expect(await again.refs.get("HEAD")).toBe(h);
        expect(await again.refs.list()).toEqual([{ name: "refs/heads/main", hash: h }]);
      } finally {
        await again?.close();
        await b.close();
        await factory.destroy?.(b);
      }
    });

    it("a second instance sees the first one's writes, and its watch reports them", async () => {
      await withBackend(factory, "sha1", async (a) => {
        if (!a.supports.externalChanges) return;
        expect(factory.reopen, "a backend with externalChanges needs reopen in its factory").toBeDefined();
        const b = await factory.reopen!(a);
        try {
          const seen: RefChange[] = [];
          const stop = b.refs.watch((c) => seen.push(c));
          const h = await a.objects.put("blob", bytes("from a"));
          expect((await b.objects.get(h))?.type).toBe("blob");
          await a.refs.set("refs/heads/shared", h);
          expect(await b.refs.get("refs/heads/shared")).toBe(h);
          await waitFor(() => seen.length >= 1, "the watch of the second instance");
          await a.refs.remove("refs/heads/shared");
          await waitFor(() => seen.length >= 2, "the removal");
          expect(seen).toEqual([
            { name: "refs/heads/shared", before: undefined, after: h },
            { name: "refs/heads/shared", before: h, after: undefined },
          ]);
          stop();
          await a.refs.set("refs/heads/shared", await a.objects.put("blob", bytes("later")));
          await new Promise((r) => setTimeout(r, 200));
          expect(seen).toHaveLength(2);
        } finally {
          await b.close();
        }
      });
    });

    it("compare-and-set stays atomic between instances", async () => {
      await withBackend(factory, "sha1", async (a) => {
        if (!a.supports.multiProcess) return;
        expect(factory.reopen, "a multiProcess backend needs reopen in its factory").toBeDefined();
        const others = await Promise.all([1, 2, 3].map(() => factory.reopen!(a)));
        try {
          const all = [a, ...others];
          // Each writer increments a counter ref 10 times (read, compute, compare-and-set, retry).
          const counter = "refs/heads/counter";
          const value = async (b: Backend) => {
            const h = await b.refs.get(counter);
            return h === undefined ? { h, n: 0 } : { h, n: Number(new TextDecoder().decode((await b.objects.get(h))?.data)) };
          };
          let wins = 0;
          await Promise.all(
            all.map(async (b) => {
              for (let i = 0; i < 10; i++) {
                for (let attempt = 0; ; attempt++) {
                  expect(attempt).toBeLessThan(1000);
                  const { h, n } = await value(b);
                  const next = await b.objects.put("blob", bytes(String(n + 1)));
                  if (await b.refs.testAndSet(counter, h, next)) {
                    wins++;
                    break;
                  }
                }
              }
            }),
          );
          expect(wins).toBe(40);
          expect((await value(a)).n).toBe(40);
        } finally {
          await Promise.all(others.map((o) => o.close()));
        }
      });
    });
  });
}
