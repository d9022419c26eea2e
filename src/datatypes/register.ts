/**
 * A last-writer-wins register: each write is stamped by a hybrid logical clock; a merge keeps the
 * later write, and equal stamps are broken by the bytes of the values, so every replica picks the
 * same one.
 */
import { contentsChild, type Node, type TreeContext } from "../tree/node.js";
import { decodeTimestamp, encodeTimestamp, nextTimestamp, compareTimestamps, type Timestamp } from "./hlc.js";
import { compareBytes, leafBytes, leafText, textLeaf } from "./leaves.js";
import { typedNode } from "./marker.js";
import type { OperationOptions, TypedSlot, ValueCodec } from "./slot.js";

const VALUE = "value";
const TIME = "time";

/** A register at a path of a branch or a transaction. Each operation is O(1) objects. */
export class Register<T> {
  /** @internal */
  constructor(
    private readonly slot: TypedSlot,
    private readonly contents: ValueCodec<T>,
  ) {}

  /** The value last written (by the merge rule), or `undefined` when never written. */
  async get(): Promise<T | undefined> {
    const node = await this.slot.read();
    const bytes = node === undefined ? undefined : await leafBytes(this.slot.ctx, node, VALUE);
    return bytes === undefined ? undefined : this.contents.decode(bytes);
  }

  /** When the current value was written, or `undefined` when never written. */
  async time(): Promise<Timestamp | undefined> {
    const node = await this.slot.read();
    return node === undefined ? undefined : readTime(this.slot.ctx, node);
  }

  /** Writes `value` in one commit (`set <path>`), stamped later than the value it replaces. */
  async set(value: T, options?: OperationOptions): Promise<void> {
    const bytes = this.contents.encode(value);
    const { ctx } = this.slot;
    await this.slot.update(
      "set",
      async (node) => {
        const seen = node === undefined ? undefined : await readTime(ctx, node);
        return { node: registerNode(ctx, bytes, nextTimestamp(seen), node), result: undefined };
      },
      options,
    );
  }
}

async function readTime(ctx: TreeContext, node: Node): Promise<Timestamp | undefined> {
  const text = await leafText(ctx, node, TIME);
  return text === undefined ? undefined : decodeTimestamp(text);
}

function registerNode(ctx: TreeContext, bytes: Uint8Array, time: Timestamp, previous: Node | undefined): Node {
  return typedNode(
    ctx,
    "register",
    new Map([
      [VALUE, contentsChild(ctx, bytes)],
      [TIME, textLeaf(ctx, encodeTimestamp(time))],
    ]),
    previous,
  );
}

/** The merge of registers: the later write wins; equal times are broken by the value bytes. O(1) reads. */
export async function mergeRegisters(ctx: TreeContext, _old: Node | undefined, a: Node, b: Node): Promise<Node> {
  const [ta, tb] = await Promise.all([readTime(ctx, a), readTime(ctx, b)]);
  if (ta === undefined || tb === undefined) return ta === undefined ? b : a;
  const byTime = compareTimestamps(ta, tb);
  if (byTime !== 0) return byTime > 0 ? a : b;
  const [va, vb] = await Promise.all([leafBytes(ctx, a, VALUE), leafBytes(ctx, b, VALUE)]);
  return compareBytes(va ?? new Uint8Array(), vb ?? new Uint8Array()) >= 0 ? a : b;
}
