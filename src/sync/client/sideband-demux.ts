/**
 * Reading side-band (`side-band` / `side-band-64k`, and always in protocol v2's packfile section):
 * band 1 carries the pack, band 2 progress text, band 3 a fatal error from the remote. Pure.
 */
import { corrupt, IrminError } from "../../core/errors.js";
import type { PktLineReader } from "../pkt-line.js";
import { parseRemoteProgress, reportProgress, type ProgressCallback } from "../progress.js";

const decoder = new TextDecoder();

/** Progress text kept while waiting for a line end; a longer line is reported as it is (a remote cannot make us hold more). */
const MAX_PENDING = 64 * 1024;

/**
 * The pack bytes of band 1, read from `reader` until a flush (or the end of the stream). Progress
 * lines of band 2 go to `onProgress` (split at `\r` and `\n`); band 3 throws `IO` with the
 * remote's message; an unknown band is `CORRUPT`. Lazily pulls one packet per chunk.
 */
export async function* demuxSideband(reader: PktLineReader, onProgress?: ProgressCallback): AsyncIterable<Uint8Array> {
  let pending = "";
  // One streaming decoder: a UTF-8 character split between two packets is decoded whole.
  const progress = new TextDecoder();
  for (;;) {
    const p = await reader.next();
    if (p === undefined || p.type !== "data") return;
    if (p.data.length === 0) continue;
    const band = p.data[0];
    if (band === 1) yield p.data.subarray(1);
    else if (band === 2) {
      const text = progress.decode(p.data.subarray(1), { stream: true });
      // Only the new text is searched for line ends (no rescan of what is pending).
      const parts = text.split(/[\r\n]/);
      const last = parts.pop() ?? "";
      if (parts.length > 0) {
        parts[0] = pending + parts[0];
        pending = last;
      } else pending += last;
      for (const line of parts) if (line.trim() !== "") reportProgress(onProgress, parseRemoteProgress(line));
      if (pending.length > MAX_PENDING) {
        reportProgress(onProgress, parseRemoteProgress(pending.slice(0, MAX_PENDING)));
        pending = "";
      }
    } else if (band === 3) {
      throw new IrminError("IO", `remote error: ${decoder.decode(p.data.subarray(1)).trim()}`);
    } else throw corrupt(`unknown side-band ${band}`);
  }
}
