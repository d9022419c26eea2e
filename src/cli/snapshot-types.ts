/**
 * Read-only data type handles over one snapshot (a tree), for the commands that print data types.
 */
import { IrminError } from "../core/errors.js";
import { formatPath, type Path } from "../core/path.js";
import { DataTypeAccess } from "../datatypes/access.js";
import { subtreeAt, type Slot, type ValueCodec } from "../datatypes/slot.js";
import type { Tree } from "../tree/tree.js";

/** Read-only data type handles over one snapshot: every read sees that tree, whatever the branch does meanwhile. */
class SnapshotTypes extends DataTypeAccess<string> {
  constructor(private readonly tree: Tree<string>) {
    super();
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
export function dataTypesIn(tree: Tree<string>): DataTypeAccess<string> {
  return new SnapshotTypes(tree);
}
