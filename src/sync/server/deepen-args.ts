/**
 * The `deepen` family of fetch arguments (`man 5 gitprotocol-v2`, and the `deepen-since`,
 * `deepen-not`, `deepen-relative` capabilities of protocol v0/v1): read line by line, then
 * checked and resolved against the served refs into a {@link DeepenRequest}.
 */
import { isIrminError } from "../../core/errors.js";
import type { Hash } from "../../core/hash.js";
import type { DeepenRequest } from "../shallow-boundary.js";
import type { ServerStores } from "./advertise.js";
import { MAX_WANTS, parseDepth, ProtocolError } from "./request-args.js";

/** The deepen arguments of one fetch request as read (`deepen-not` names not resolved yet). */
export class DeepenArgs {
  /** `deepen <n>`: commits along each line of history (INFINITE_DEPTH: the whole history). */
  depth: number | undefined;
  /** `deepen-relative`: `depth` counts from the client's current shallow boundary. */
  relative = false;
  /** `deepen-since <time>`: commits at or after this time (seconds since the epoch). */
  since: number | undefined;
  /** `deepen-not <ref>` names: history reachable from them is excluded. */
  readonly not: string[] = [];

  /** Reads `line` when it is a deepen argument (true); false for any other line. ProtocolError when malformed. */
  read(line: string): boolean {
    if (line.startsWith("deepen ")) this.depth = parseDepth(line.slice(7));
    else if (line === "deepen-relative") this.relative = true;
    else if (line.startsWith("deepen-since ")) {
      const arg = line.slice(13);
      if (!/^[0-9]{1,15}$/.test(arg)) throw new ProtocolError(`invalid deepen-since: ${arg.slice(0, 80)}`);
      this.since = Number(arg);
    } else if (line.startsWith("deepen-not ")) {
      if (this.not.length >= MAX_WANTS) throw new ProtocolError("too many deepen-not lines");
      this.not.push(line.slice(11));
    } else return false;
    return true;
  }

  /**
   * The request, undefined when it is not a shallow one. A `deepen-not` name is resolved as git
   * does (`<name>`, `refs/<name>`, `refs/tags/<name>`, `refs/heads/<name>`, `refs/remotes/<name>`,
   * `refs/remotes/<name>/HEAD`) and must match exactly one ref. ProtocolError otherwise, and for
   * `deepen` combined with `deepen-since` or `deepen-not`.
   */
  async resolve(stores: ServerStores): Promise<DeepenRequest | undefined> {
    if (this.depth !== undefined && (this.since !== undefined || this.not.length > 0)) throw new ProtocolError("deepen and deepen-since (or deepen-not) cannot be used together");
    if (this.depth !== undefined) return { depth: this.depth, relative: this.relative };
    if (this.since === undefined && this.not.length === 0) return undefined;
    const not: Hash[] = [];
    for (const name of this.not) {
      const found: Hash[] = [];
      for (const full of [name, `refs/${name}`, `refs/tags/${name}`, `refs/heads/${name}`, `refs/remotes/${name}`, `refs/remotes/${name}/HEAD`]) {
        let hash: Hash | undefined;
        try {
          hash = await stores.refs.get(full);
        } catch (e) {
          // Not a valid ref name: no match. Anything else (IO) is the server's failure.
          if (!isIrminError(e, "INVALID_ARGUMENT")) throw e;
          hash = undefined;
        }
        if (hash !== undefined) found.push(hash);
      }
      if (found.length !== 1) throw new ProtocolError(`${found.length === 0 ? "unknown" : "ambiguous"} deepen-not: ${name.slice(0, 80)}`);
      not.push(found[0]);
    }
    return { since: this.since, not };
  }
}
