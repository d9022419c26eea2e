/**
 * A harness for convergence properties: several replicas (branches of one repository) apply
 * operations and merge with each other in a random order and shape, criss-cross merges included.
 */
import fc from "fast-check";
import type { Branch } from "../../src/store/branch.js";
import type { Repo } from "../../src/store/repo.js";

/** One step of a random history: an operation on a replica, or a merge between two replicas. */
export type Step<Op> =
  | { kind: "op"; replica: number; op: Op }
  | { kind: "merge"; from: number; into: number }
  /** Both replicas merge each other's current head at once (the criss-cross shape). */
  | { kind: "cross"; a: number; b: number };

/** Random histories over `replicas` replicas with operations from `op`. */
export function steps<Op>(replicas: number, op: fc.Arbitrary<Op>, maxLength = 30): fc.Arbitrary<Step<Op>[]> {
  const replica = fc.integer({ min: 0, max: replicas - 1 });
  const pair = fc.tuple(replica, replica).filter(([a, b]) => a !== b);
  return fc.array(
    fc.oneof(
      { weight: 5, arbitrary: fc.record({ kind: fc.constant("op" as const), replica, op }) },
      { weight: 2, arbitrary: pair.map(([from, into]) => ({ kind: "merge" as const, from, into })) },
      { weight: 1, arbitrary: pair.map(([a, b]) => ({ kind: "cross" as const, a, b })) },
    ),
    { maxLength },
  );
}

/**
 * Runs `history` on `replicas` branches of `repo` (all forked from an empty `main`), then merges
 * every replica into replica 0 and replica 0 back into every other, so all end at one state.
 * Every merge must succeed: data types never conflict.
 */
export async function runReplicas<V, Op>(
  repo: Repo<V>,
  replicas: number,
  history: readonly Step<Op>[],
  apply: (branch: Branch<V>, op: Op, replica: number) => Promise<void>,
): Promise<Branch<V>[]> {
  const branches = Array.from({ length: replicas }, (_, i) => repo.branch(`r${i}`));
  const merge = async (into: Branch<V>, from: Branch<V> | string) => {
    const r = await into.merge(from as Branch<V>);
    if (!r.ok) throw new Error(`merge conflicted: ${JSON.stringify(r.conflicts)}`);
  };
  for (const step of history) {
    if (step.kind === "op") await apply(branches[step.replica], step.op, step.replica);
    else if (step.kind === "merge") await merge(branches[step.into], branches[step.from]);
    else {
      const [ha, hb] = [await branches[step.a].head(), await branches[step.b].head()];
      if (hb !== undefined) await merge(branches[step.a], hb.hash);
      if (ha !== undefined) await merge(branches[step.b], ha.hash);
    }
  }
  for (let i = 1; i < replicas; i++) await merge(branches[0], branches[i]);
  for (let i = 1; i < replicas; i++) await merge(branches[i], branches[0]);
  return branches;
}
