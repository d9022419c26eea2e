/**
 * A mergeable counter (the Ezirmin post): merging applies both sides' changes to the common
 * ancestor, old + (a − old) + (b − old). Values are integers, exact at any size (kept as decimal
 * text, computed with bigint); `get` gives a number, `getBigInt` the exact value.
 *
 * Beside its value the subtree holds the id of the state: a fresh random id per operation, and for
 * a merge an id derived from both sides' ids (so merging a into b and b into a give the same tree).
 * Without it, two replicas that each added 1 would hold equal trees, the tree merge would take them
 * for one state, and one increment would be lost.
 */
import { corrupt, invalidArgument } from "../core/errors.js";
import { Node, type TreeContext } from "../tree/node.js";
import { hashObject } from "../codec/object.js";
import { leafText, textLeaf, uniqueId } from "./leaves.js";
import { typedNode } from "./marker.js";
import type { OperationOptions, TypedSlot } from "./slot.js";

const VALUE = "value";
const ID = "id";

/** A counter at a path of a branch or a transaction. Each operation is O(1) objects. */
export class Counter {
  /** @internal */
  constructor(private readonly slot: TypedSlot) {}

  /**
   * The current value (0 when the counter does not exist yet), as a number: exact up to
   * `Number.MAX_SAFE_INTEGER` in size; beyond, the nearest number (merges can take a counter
   * there). {@link getBigInt} gives the exact value at any size.
   */
  async get(): Promise<number> {
    return Number(await this.getBigInt());
  }

  /** The exact current value at any size (0n when the counter does not exist yet). */
  async getBigInt(): Promise<bigint> {
    return readCounter(this.slot.ctx, await this.slot.read());
  }

  /**
   * Adds `by` (default 1, a safe integer) in one commit (`increment <path>`); returns the new value
   * as {@link get} gives it (exact in size up to `Number.MAX_SAFE_INTEGER`).
   */
  async increment(by = 1, options?: OperationOptions): Promise<number> {
    return this.add("increment", checkStep(by), options);
  }

  /** Subtracts `by` (default 1, a safe integer) in one commit (`decrement <path>`); returns the new value as {@link increment} does. */
  async decrement(by = 1, options?: OperationOptions): Promise<number> {
    return this.add("decrement", -checkStep(by), options);
  }

  private add(op: string, by: number, options: OperationOptions | undefined): Promise<number> {
    const { ctx } = this.slot;
    return this.slot.update(
      op,
      async (node) => {
        const value = (await readCounter(ctx, node)) + BigInt(by);
        return { node: by === 0 && node !== undefined ? undefined : counterNode(ctx, value, uniqueId(), node), result: Number(value) };
      },
      options,
    );
  }
}

function checkStep(by: number): number {
  if (!Number.isSafeInteger(by)) throw invalidArgument(`a counter changes by a safe integer, got ${String(by)}`);
  return by;
}

/** The value of the counter subtree `node` (0 when absent). */
export async function readCounter(ctx: TreeContext, node: Node | undefined): Promise<bigint> {
  if (node === undefined) return 0n;
  const text = await leafText(ctx, node, VALUE);
  if (text === undefined) return 0n;
  if (!/^-?(0|[1-9][0-9]*)$/.test(text)) throw corrupt(`a counter holds ${JSON.stringify(text.slice(0, 40))}, not an integer`);
  return BigInt(text);
}

function counterNode(ctx: TreeContext, value: bigint, id: string, previous: Node | undefined): Node {
  return typedNode(
    ctx,
    "counter",
    new Map([
      [VALUE, textLeaf(ctx, value.toString())],
      [ID, textLeaf(ctx, id)],
    ]),
    previous,
  );
}

/** The 3-way merge of counters: old + (a − old) + (b − old). O(1) reads. */
export async function mergeCounters(ctx: TreeContext, old: Node | undefined, a: Node, b: Node): Promise<Node> {
  const [o, x, y, ia, ib] = await Promise.all([readCounter(ctx, old), readCounter(ctx, a), readCounter(ctx, b), ctx.hashNode(a), ctx.hashNode(b)]);
  const id = hashObject(ctx.algorithm, "blob", new TextEncoder().encode(ia < ib ? ia + ib : ib + ia));
  return counterNode(ctx, x + y - o, id, a);
}
