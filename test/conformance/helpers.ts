import { expect } from "vitest";
import type { Backend } from "../../src/backend/backend.js";
import { isIrminError, type ErrorCode } from "../../src/core/errors.js";
import type { HashAlgorithm } from "../../src/core/hash.js";
import type { BackendFactory } from "./factory.js";

/** Runs `fn` on a fresh backend and always closes and destroys it. */
export async function withBackend<T>(factory: BackendFactory, algorithm: HashAlgorithm, fn: (b: Backend) => Promise<T>): Promise<T> {
  const backend = await factory.create(algorithm);
  try {
    return await fn(backend);
  } finally {
    await backend.close();
    await factory.destroy?.(backend);
  }
}

/**
 * Runs `fn` on a fresh backend with `algorithm` when the backend supports it. When the factory
 * refuses the algorithm, checks that the backend indeed does not declare it (so a refusal is
 * never silently taken for a pass).
 */
export async function withAlgorithm(factory: BackendFactory, algorithm: HashAlgorithm, fn: (b: Backend) => Promise<void>): Promise<void> {
  let backend: Backend;
  try {
    backend = await factory.create(algorithm);
  } catch (e) {
    await withBackend(factory, "sha1", async (probe) => {
      expect(probe.supports.algorithms, `create(${algorithm}) failed: ${String(e)}`).not.toContain(algorithm);
    });
    return;
  }
  try {
    expect(backend.supports.algorithms).toContain(algorithm);
    await fn(backend);
  } finally {
    await backend.close();
    await factory.destroy?.(backend);
  }
}

/** Expects `promise` (or the function's result) to fail with an `IrminError` of `code`. */
export async function expectCode(action: Promise<unknown> | (() => unknown), code: ErrorCode): Promise<void> {
  let error: unknown;
  try {
    await (typeof action === "function" ? action() : action);
  } catch (e) {
    error = e;
  }
  expect(error, `expected an IrminError ${code}`).toBeDefined();
  if (!isIrminError(error, code)) throw new Error(`expected IrminError ${code}, got ${String(error)}`, { cause: error });
}

/** Polls `check` until it returns true; fails after `timeoutMs` (default 10 s). */
export async function waitFor(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const start = Date.now();
  while (!(await check())) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Lets a backend that watches the file system catch up (so that a duplicate event would show). */
export async function settle(backend: Backend): Promise<void> {
  if (backend.supports.externalChanges) await sleep(150);
}

const encoder = new TextEncoder();
/** UTF-8 bytes of `s`. */
export const bytes = (s: string): Uint8Array => encoder.encode(s);

/** Collects an async iterable. */
export async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}
