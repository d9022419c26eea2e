/**
 * Read-only data type handles over one snapshot (a tree), for the commands that print data types.
 */
import { IrminError } from "../core/errors.js";
import { formatPath, type Path } from "../core/path.js";
import { DataTypeAccess } from "../datatypes/access.js";
import { readCounter } from "../datatypes/counter.js";
import { expectType } from "../datatypes/marker.js";
import { checkTypePath, subtreeAt, type Slot, type ValueCodec } from "../datatypes/slot.js";
import type { Tree } from "../tree/tree.js";

/** Read-only data type handles over one snapshot: every read sees that tree, whatever the branch does meanwhile. */
export class SnapshotTypes extends DataTypeAccess<string> {
  constructor(private readonly tree: Tree<string>) {
    super();
  }

  /**
   * The exact value of the counter at `path` (0 when absent), where `counter(path).get()` gives a
   * number, wrong beyond 2^53. INVALID_ARGUMENT when something else is there. O(1) reads.
   */
  async counterValue(path: Path): Promise<bigint> {
    const { ctx, node } = this.tree;
    const p = checkTypePath(path, "counter");
    return readCounter(ctx, await expectType(ctx, await subtreeAt(ctx, node, p), "counter", formatPath(p)));
  }

  protected slotAt(path: Path): Slot {
    const { ctx, node } = this.tree;
    return {
      ctx,
      path,
      owner: undefined,
      read: () => subtreeAt(ctx, node, path),
      update: () => Promise.reject(new IrminError("UNSUPPORTED", `${formatPath(path)}: a snapshot is read-only`)),
    };
  }

  protected valueCodec(): ValueCodec<string> {
    return this.tree.codec;
  }
}

/** The data types in `tree`, read-only (`branch.counter(path)` and so on, but reading this snapshot; writes are UNSUPPORTED). No I/O until used. */
export function dataTypesIn(tree: Tree<string>): SnapshotTypes {
  return new SnapshotTypes(tree);
}
