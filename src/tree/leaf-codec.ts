/** The result of a 3-way merge of leaves (the same shape as the merge layer's `MergeResult`). */
export type LeafMergeResult<V> = { ok: true; value: V } | { ok: false; conflict: string };

/**
 * What the tree layer needs to turn blobs into values: the structural subset of the merge layer's
 * `Contents<V>` (declared here so that the tree depends only on the layers above it).
 */
export interface LeafCodec<V> {
  encode(value: V): Uint8Array;
  decode(bytes: Uint8Array): V;
  readonly merge: (old: V | undefined, a: V, b: V) => LeafMergeResult<V>;
}
