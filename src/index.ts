// The public API of irmin-ts. Internal code imports files directly, never this module.

export { Repo, type RepoOptions, type RepoLcaOptions } from "./store/repo.js";
export {
  Branch,
  type CommitOptions,
  type MergeResult as BranchMergeResult,
  type TransactionStrategy,
  type TransactionOptions,
  type TransactionResult,
  type HeadChange,
  type ValueChange,
} from "./store/branch.js";
export { Commit } from "./store/commit.js";
export { Transaction } from "./store/transaction.js";
export { Tree, type ListEntry, type ListOptions } from "./tree/tree.js";
export type { DiffEntry } from "./tree/diff.js";
export type { MergeConflict } from "./tree/tree-merge.js";
export type { CommitInfo } from "./history/commits.js";

export { DataTypeAccess, type ValueOptions } from "./datatypes/access.js";
export { Counter } from "./datatypes/counter.js";
export { Register } from "./datatypes/register.js";
export { MergeableSet } from "./datatypes/set.js";
export { Log, DEFAULT_PAGE_SIZE, type LogEntry, type LogPage, type LogReadOptions } from "./datatypes/log.js";
export { Queue } from "./datatypes/queue.js";
export { Text } from "./datatypes/text.js";
export type { OperationOptions, ValueCodec } from "./datatypes/slot.js";
export type { Timestamp } from "./datatypes/hlc.js";
export { TYPE_ENTRY, type DataTypeName } from "./datatypes/marker.js";

export { Remote, type HasBackend, type RemoteKind, type RemoteUrlOptions } from "./sync/remote.js";
export type { FetchOptions, PullOptions, PushOptions, CloneOptions, PushResult } from "./sync/operations.js";
export type { SyncProgress, ProgressCallback } from "./sync/progress.js";
export { gitHttpHandler, type GitHttpHandlerOptions } from "./sync/server/http-handler.js";

export { Merge, type MergeResult } from "./merge/merge.js";
export { Contents, type ContentsSpec } from "./merge/contents.js";
export { diff3Merge, diff, applyEdits, type TextEdit } from "./merge/diff3.js";

export { IrminError, isIrminError, type ErrorCode } from "./core/errors.js";
export type { Hash, HashAlgorithm } from "./core/hash.js";
export type { Path, PathInput } from "./core/path.js";

export type { ObjectType, RawObject } from "./codec/object.js";
export { hashObject } from "./codec/object.js";
export { encodeTree, decodeTree, type TreeEntry } from "./codec/tree.js";
export { encodeCommit, decodeCommit, type CommitObject } from "./codec/commit.js";
export { encodeTag, decodeTag, type TagObject } from "./codec/tag.js";
export type { Identity } from "./codec/identity.js";

export type { Backend, BackendSupports } from "./backend/backend.js";
export type { ObjectStore } from "./backend/object-store.js";
export type { RefStore, RefChange, RefEntry } from "./backend/ref-store.js";
export { ObjectCache } from "./backend/object-cache.js";
export { memoryBackend, type MemoryBackendOptions } from "./backends/memory/memory-backend.js";
export { gitBackend, GitBackend, repack, type GitBackendOptions, type GitRepackOptions, type GitRepackResult } from "./backends/git/git-backend.js";
