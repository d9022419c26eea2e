/**
 * The data type handles of a branch and of a transaction (`branch.counter(path)`, `tx.queue(path)`,
 * ...): both extend this class and say only where their slot is.
 */
import { parsePath, type Path, type PathInput } from "../core/path.js";
import { Counter } from "./counter.js";
import { Log } from "./log.js";
import type { DataTypeName } from "./marker.js";
import { Queue } from "./queue.js";
import { Register } from "./register.js";
import { MergeableSet } from "./set.js";
import { checkTypePath, TypedSlot, type Slot, type ValueCodec } from "./slot.js";
import { Text } from "./text.js";

/** Options of the handles that hold values: the codec of their values (default: the repository's contents). */
export interface ValueOptions<T> {
  /** How the values are encoded, compared and decoded (a `Contents`, for example `Contents.json`). */
  contents: ValueCodec<T>;
}

/** Gives access to the mergeable data types stored at paths of a branch or a transaction. */
export abstract class DataTypeAccess<V> {
  /** @internal The slot at `path` (non-empty). */
  protected abstract slotAt(path: Path): Slot;
  /** @internal The codec of the repository's values. */
  protected abstract valueCodec(): ValueCodec<V>;

  /** The counter at `path` (a handle: no I/O until used). */
  counter(path: PathInput): Counter {
    return new Counter(this.typed(path, "counter"));
  }

  /** The last-writer-wins register at `path`, holding values of the repository's contents (or `options.contents`). */
  register(path: PathInput): Register<V>;
  register<T>(path: PathInput, options: ValueOptions<T>): Register<T>;
  register<T>(path: PathInput, options?: ValueOptions<T>): Register<T | V> {
    return new Register<T | V>(this.typed(path, "register"), options?.contents ?? this.valueCodec());
  }

  /** The mergeable set at `path`, holding values of the repository's contents (or `options.contents`). */
  setOf(path: PathInput): MergeableSet<V>;
  setOf<T>(path: PathInput, options: ValueOptions<T>): MergeableSet<T>;
  setOf<T>(path: PathInput, options?: ValueOptions<T>): MergeableSet<T | V> {
    return new MergeableSet<T | V>(this.typed(path, "set"), options?.contents ?? this.valueCodec());
  }

  /** The mergeable log at `path`, holding values of the repository's contents (or `options.contents`). */
  log(path: PathInput): Log<V>;
  log<T>(path: PathInput, options: ValueOptions<T>): Log<T>;
  log<T>(path: PathInput, options?: ValueOptions<T>): Log<T | V> {
    return new Log<T | V>(this.typed(path, "log"), options?.contents ?? this.valueCodec());
  }

  /** The mergeable queue at `path`, holding values of the repository's contents (or `options.contents`). */
  queue(path: PathInput): Queue<V>;
  queue<T>(path: PathInput, options: ValueOptions<T>): Queue<T>;
  queue<T>(path: PathInput, options?: ValueOptions<T>): Queue<T | V> {
    return new Queue<T | V>(this.typed(path, "queue"), options?.contents ?? this.valueCodec());
  }

  /** The mergeable text (a rope) at `path` (a handle: no I/O until used). */
  text(path: PathInput): Text {
    return new Text(this.typed(path, "text"));
  }

  /** @internal */
  protected typed(path: PathInput, type: DataTypeName): TypedSlot {
    return new TypedSlot(this.slotAt(checkTypePath(parsePath(path), type)), type);
  }
}
