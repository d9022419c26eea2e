/**
 * Runs async callbacks one after the other, in the order they were queued: the callbacks of one
 * watch never overlap, even when one awaits. A failing callback is reported and does not stop the
 * queue.
 */
export class SerialQueue {
  private tail: Promise<void> = Promise.resolve();

  /** Queues `task`; returns when it has run. */
  run(task: () => unknown): Promise<void> {
    const next = this.tail.then(async () => {
      try {
        await task();
      } catch (e) {
        console.error("irmin-ts: a watch callback failed", e);
      }
    });
    this.tail = next;
    return next;
  }

  /** Resolves once everything queued so far has run. */
  idle(): Promise<void> {
    return this.tail;
  }
}
