import { IrminError } from "../../core/errors.js";
import type { Hash, HashAlgorithm } from "../../core/hash.js";
import { checkHash } from "../../core/hash.js";
import { checkRefName } from "../../core/ref-name.js";
import { hashObject, isObjectType, type ObjectType, type RawObject } from "../../codec/object.js";
import type { Backend, BackendSupports } from "../../backend/backend.js";
import type { ObjectStore } from "../../backend/object-store.js";
import type { RefChange, RefEntry, RefStore } from "../../backend/ref-store.js";
import { RefWatchers } from "../../backend/ref-watchers.js";
import { invalidArgument } from "../../core/errors.js";

/** Options of {@link memoryBackend}. */
export interface MemoryBackendOptions {
  /** Object format (default `sha1`). */
  hash?: HashAlgorithm;
}

const SUPPORTS: BackendSupports = {
  persistent: false,
  multiProcess: false,
  externalChanges: false,
  algorithms: ["sha1", "sha256"],
};

/** A backend holding everything in this process's memory; lost when the process ends. */
export function memoryBackend(options: MemoryBackendOptions = {}): Backend {
  const algorithm = options.hash ?? "sha1";
  if (algorithm !== "sha1" && algorithm !== "sha256") throw invalidArgument(`unknown hash ${String(algorithm)}`);
  let closed = false;
  const live = () => {
    if (closed) throw new IrminError("CLOSED", "the memory backend is closed");
  };
  const objects = new Map<Hash, RawObject>();
  const refs = new Map<string, Hash>();
  let head = "refs/heads/main";
  const watchers = new RefWatchers();

  const checkObject = (type: ObjectType, data: Uint8Array) => {
    if (!isObjectType(type)) throw invalidArgument(`unknown object type ${JSON.stringify(type)}`);
    if (!(data instanceof Uint8Array)) throw invalidArgument("object data must be a Uint8Array");
  };
  const store = (type: ObjectType, data: Uint8Array): Hash => {
    checkObject(type, data);
    const hash = hashObject(algorithm, type, data);
    // A copy (Buffer#slice would share memory): the caller may reuse its buffer.
    if (!objects.has(hash)) objects.set(hash, { type, data: new Uint8Array(data) });
    return hash;
  };

  const objectStore: ObjectStore = {
    algorithm,
    async get(hash) {
      live();
      return objects.get(hash);
    },
    async has(hash) {
      live();
      return objects.has(hash);
    },
    async put(type, data) {
      live();
      return store(type, data);
    },
    async putMany(list) {
      live();
      for (const o of list) checkObject(o.type, o.data);
      return list.map((o) => store(o.type, o.data));
    },
    async *hashes() {
      live();
      yield* [...objects.keys()];
    },
  };

  // Git cannot hold both refs/heads/a and refs/heads/a/b (one is a file, the other a directory):
  // refuse it here too, so that what works on memory works on git and syncs to any Git remote.
  const checkCreatable = (name: string) => {
    for (const other of refs.keys()) {
      if (name.startsWith(`${other}/`) || other.startsWith(`${name}/`)) throw invalidArgument(`cannot create ${name}: ${other} exists`);
    }
  };
  const resolve = (name: string) => (name === "HEAD" ? head : checkRefName(name));
  const update = (name: string, next: Hash | undefined) => {
    // As git's update-ref (and the git backend): a ref names an object the store has.
    if (next !== undefined && !objects.has(next)) throw new IrminError("NOT_FOUND", `cannot set ${name} to ${next}: no such object`);
    const before = refs.get(name);
    if (before === undefined && next !== undefined) checkCreatable(name);
    if (next === undefined) refs.delete(name);
    else refs.set(name, next);
    const change: RefChange = { name, before, after: next };
    watchers.emit(change);
  };

  const refStore: RefStore = {
    async get(name) {
      live();
      return refs.get(resolve(name));
    },
    async set(name, hash) {
      live();
      update(resolve(name), checkHash(hash, algorithm));
    },
    async testAndSet(name, expected, next) {
      live();
      const ref = resolve(name);
      if (expected !== undefined) checkHash(expected, algorithm);
      if (next !== undefined) checkHash(next, algorithm);
      if (refs.get(ref) !== expected) return false;
      update(ref, next);
      return true;
    },
    async remove(name) {
      live();
      const ref = resolve(name);
      if (refs.has(ref)) update(ref, undefined);
    },
    async list(prefix = "refs/") {
      live();
      const out: RefEntry[] = [];
      for (const [name, hash] of refs) if (name.startsWith(prefix)) out.push({ name, hash });
      return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    },
    watch(callback) {
      live();
      return watchers.add(callback);
    },
    async getSymbolic() {
      live();
      return head;
    },
    async setSymbolic(_name, target) {
      live();
      head = checkRefName(target);
    },
  };

  let shallow: Hash[] = [];
  return {
    name: "memory",
    supports: SUPPORTS,
    objects: objectStore,
    refs: refStore,
    shallow: {
      async list() {
        live();
        return [...shallow];
      },
      async set(hashes) {
        live();
        for (const h of hashes) checkHash(h, algorithm);
        shallow = [...new Set(hashes)].sort();
      },
    },
    async close() {
      closed = true;
      watchers.clear();
    },
  };
}
