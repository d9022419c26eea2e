/**
 * File names that say which process made the file, so that another process can tell later
 * whether that one still runs: the spare files of the journal directory (see `spare-files.ts`),
 * and so the ref locks made from them, which keep that name while they are held (see
 * `stale-locks.ts`).
 *
 * A tagged name is `<pid>.<start>.<ns>.<host>.<boot>-<unique>.tmp`: the process id, its start
 * time and pid namespace (each empty where unknown), 8 hex digits of a hash of the host name, and
 * the same of the boot id (a boot time, `t<seconds>`, is kept as it is: it is compared with a
 * tolerance). The owner is judged as a journal's owner (`judgeOwner`).
 */
import { createHash } from "node:crypto";
import { currentOwner, fromEarlierBoot, judgeOwner, type JournalOwner } from "./journal-format.js";

const TAGGED = /^(\d+)\.(\d*)\.(\d*)\.([0-9a-f]{8})\.([0-9a-f]{8}|t\d+)-[0-9a-f]+\.tmp$/;

const short = (text: string) => createHash("sha1").update(text).digest("hex").slice(0, 8);

/** The owner as a tag keeps it (host and boot id hashed). */
function abbreviate(owner: JournalOwner): JournalOwner {
  const boot = /^t\d+$/.test(owner.boot) ? owner.boot : short(owner.boot);
  return { host: short(owner.host), boot, pid: owner.pid, start: owner.start, ...(owner.ns !== undefined && { ns: owner.ns }) };
}

let own: { tag: string; owner: JournalOwner } | undefined;

function self(): { tag: string; owner: JournalOwner } {
  if (own === undefined) {
    const o = abbreviate(currentOwner());
    own = { tag: `${o.pid}.${o.start}.${o.ns ?? ""}.${o.host}.${o.boot}`, owner: o };
  }
  return own;
}

/** This process's tag: what its tagged names start with, before `-<unique>.tmp`. */
export function ownTag(): string {
  return self().tag;
}

/** The process that made the file `name`, or undefined when `name` is not a tagged name. */
export function taggedOwner(name: string): JournalOwner | undefined {
  const m = TAGGED.exec(name);
  if (m === null) return undefined;
  return { pid: Number(m[1]), start: m[2], ...(m[3] !== "" && { ns: m[3] }), host: m[4], boot: m[5] };
}

/**
 * Whether the process that made the tagged file at `path` (tagged `owner`) still runs, as
 * `judgeOwner` tells for a journal: `live` (also when it runs in another pid namespace, which this
 * process cannot see), `foreign` (another host), `dead` (gone, the machine did not restart) or
 * `rebooted` (made before a restart). Another boot id counts only for a file last linked or renamed
 * before this boot: a process of a sandbox with its own boot id (or none) may be running.
 */
export function judgeTagged(owner: JournalOwner, path: string): "live" | "foreign" | "dead" | "rebooted" {
  const verdict = judgeOwner(owner, self().owner);
  return verdict === "rebooted" && !fromEarlierBoot(path) ? "live" : verdict;
}
