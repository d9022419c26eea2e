/** A binary max-heap by a numeric key: push and pop O(log n). Used to walk history newest first. */
export class MaxHeap<T> {
  private readonly heap: T[] = [];

  /** `key(item)`: the larger, the sooner it is popped. */
  constructor(private readonly key: (item: T) => number) {}

  get length(): number {
    return this.heap.length;
  }

  /** Every item, in no particular order. */
  items(): readonly T[] {
    return this.heap;
  }

  push(item: T): void {
    const h = this.heap;
    const k = this.key(item);
    let i = h.push(item) - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (this.key(h[p]) >= k) break;
      h[i] = h[p];
      i = p;
    }
    h[i] = item;
  }

  /** The item with the largest key (`undefined` when empty). */
  pop(): T | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (h.length === 0 || last === undefined) return top;
    const k = this.key(last);
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      let m = l;
      if (l + 1 < h.length && this.key(h[l + 1]) > this.key(h[l])) m = l + 1;
      if (m >= h.length || this.key(h[m]) <= k) break;
      h[i] = h[m];
      i = m;
    }
    h[i] = last;
    return top;
  }
}
