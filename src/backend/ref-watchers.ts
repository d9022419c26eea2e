import type { RefChange } from "./ref-store.js";

/**
 * The set of watch callbacks of one ref store. A failing callback is reported on the console
 * rather than breaking the writer that triggered it or the other watchers.
 */
export class RefWatchers {
  private readonly callbacks = new Set<(change: RefChange) => void>();

  /** Adds a callback; returns the function that removes it. */
  add(callback: (change: RefChange) => void): () => void {
    const entry = (c: RefChange) => callback(c);
    this.callbacks.add(entry);
    return () => {
      this.callbacks.delete(entry);
    };
  }

  /** Number of active callbacks. */
  get size(): number {
    return this.callbacks.size;
  }

  /** Calls every callback with `change` (no-op when before and after are equal). */
  emit(change: RefChange): void {
    if (change.before === change.after) return;
    for (const cb of [...this.callbacks]) {
      try {
        cb(change);
      } catch (e) {
        console.error("irmin-ts: a ref watch callback threw", e);
      }
    }
  }

  /** Removes every callback. */
  clear(): void {
    this.callbacks.clear();
  }
}
