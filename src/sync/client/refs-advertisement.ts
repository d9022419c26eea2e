/**
 * What a remote advertises: its refs (protocol v0/v1 reference discovery, or v2 `ls-refs`) and its
 * capabilities. Pure parsing over a {@link PktLineReader}.
 */
import { corrupt } from "../../core/errors.js";
import { isHash, type Hash, type HashAlgorithm } from "../../core/hash.js";
import type { PktLineReader } from "../pkt-line.js";

/** Capabilities as `name` → value (`undefined` for a bare flag such as `ofs-delta`). */
export type Capabilities = Map<string, string | undefined>;

/** The refs a remote has. */
export interface AdvertisedRefs {
  /** Full ref name (and `HEAD` when advertised) → id. */
  readonly refs: Map<string, Hash>;
  /** The branch `HEAD` points to, when the remote says. */
  readonly head: string | undefined;
  /** Annotated tag → the object it peels to. */
  readonly peeled: Map<string, Hash>;
}

/** Parses `cap cap=value ...`. */
export function parseCapabilities(text: string): Capabilities {
  const caps: Capabilities = new Map();
  for (const word of text.trim().split(" ")) {
    if (word === "") continue;
    const eq = word.indexOf("=");
    if (eq < 0) caps.set(word, undefined);
    else {
      const name = word.slice(0, eq);
      // symref may repeat; keep them all, space separated.
      const prev = caps.get(name);
      caps.set(name, prev === undefined ? word.slice(eq + 1) : `${prev} ${word.slice(eq + 1)}`);
    }
  }
  return caps;
}

/** The object format a remote uses (`object-format` capability, SHA-1 when absent). */
export function remoteAlgorithm(caps: Capabilities): HashAlgorithm {
  const f = caps.get("object-format");
  if (f === undefined || f === "sha1") return "sha1";
  if (f === "sha256") return "sha256";
  throw corrupt(`remote uses an unknown object format ${JSON.stringify(f)}`);
}

function checkedId(id: string, line: string): Hash {
  if (!isHash(id, "sha1") && !isHash(id, "sha256")) throw corrupt(`bad object id in ref advertisement: ${JSON.stringify(line)}`);
  return id;
}

/**
 * The rest of a v0/v1 reference advertisement, given its first line (already read, without the
 * version line): `<id> <ref>\0<capabilities>`, then `<id> <ref>` lines, then a shallow server's
 * `shallow <id>` lines (returned in `shallow`), up to a flush. An empty repository advertises
 * `<zero-id> capabilities^{}`. Throws `CORRUPT` when malformed.
 */
export async function parseV0Advertisement(first: string, reader: PktLineReader): Promise<{ refs: AdvertisedRefs; caps: Capabilities; shallow: Hash[] }> {
  const nul = first.indexOf("\0");
  if (nul < 0) throw corrupt(`ref advertisement without capabilities: ${JSON.stringify(first)}`);
  const caps = parseCapabilities(first.slice(nul + 1));
  const refs = new Map<string, Hash>();
  const peeled = new Map<string, Hash>();
  const add = (line: string): void => {
    const sp = line.indexOf(" ");
    if (sp < 0) throw corrupt(`malformed ref advertisement line ${JSON.stringify(line)}`);
    const id = checkedId(line.slice(0, sp), line);
    const name = line.slice(sp + 1);
    if (name === "capabilities^{}") return;
    if (name.endsWith("^{}")) peeled.set(name.slice(0, -3), id);
    else refs.set(name, id);
  };
  add(first.slice(0, nul));
  // A shallow server lists its own shallow commits after the refs.
  const shallow: Hash[] = [];
  for (let i = 0; i < 10_000_000; i++) {
    const line = await reader.readText();
    if (line === undefined) break;
    if (line.startsWith("shallow ")) shallow.push(checkedId(line.slice(8), line));
    else add(line);
  }
  let head: string | undefined;
  for (const s of (caps.get("symref") ?? "").split(" ")) if (s.startsWith("HEAD:")) head = s.slice(5);
  return { refs: { refs, head, peeled }, caps, shallow };
}

/**
 * The output of a v2 `ls-refs` command: `<id> <ref>[ symref-target:<t>][ peeled:<id>]` lines up to
 * a flush. An `unborn HEAD symref-target:<t>` line gives HEAD's branch of an empty repository.
 */
export async function parseLsRefs(reader: PktLineReader): Promise<AdvertisedRefs> {
  const refs = new Map<string, Hash>();
  const peeled = new Map<string, Hash>();
  let head: string | undefined;
  for (let i = 0; i < 10_000_000; i++) {
    const line = await reader.readText();
    if (line === undefined) break;
    const [id, name, ...attrs] = line.split(" ");
    if (name === undefined) throw corrupt(`malformed ls-refs line ${JSON.stringify(line)}`);
    for (const a of attrs) {
      if (a.startsWith("symref-target:") && name === "HEAD") head = a.slice(14);
      else if (a.startsWith("peeled:")) peeled.set(name, checkedId(a.slice(7), line));
    }
    if (id === "unborn") continue;
    refs.set(name, checkedId(id, line));
  }
  return { refs, head, peeled };
}
