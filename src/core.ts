// s3-bun-cached-fs/core: the filesystem and the object stores it runs on.
export { S3CachedFsManagerImpl, mountS3CachedFs, type MountS3CachedFsOptions } from "./manager.ts";
export {
  S3CachedFs,
  Transaction,
  FileStats,
  DirectoryEntry,
  type FsStats,
  type MaterializedFile,
  type WriteHandle,
  type WriteOptions,
  type TransactionOptions,
  type TransactionIsolation,
  type WriteData,
  type MissingEntry,
  type TextEncoding,
  type GarbageCollectionOptions,
  type GarbageReport,
  type FsckOptions,
  type FsckReport,
  type HistoryEntry,
  type HistoryOptions,
  type ForkOptions,
  type ForkResult,
} from "./fs.ts";
export { GarbageCollectionError } from "./maintenance/garbage-collector.ts";
export { LocatedStore, type StoreLocator } from "./stores/located-store.ts";
export { FsError, FencedError, type FsErrorCode } from "./base/errors.ts";
export type { MountConfig, ManagerOptions, ResolvedMountConfig } from "./base/options.ts";
export { defaultCacheRoot, defaultMountName, mountConfigKeys } from "./base/options.ts";
export { releaseHeldLeases, type LeaseWaitInfo } from "./commit/lease.ts";
export {
  normalizePath,
  resolveWithin,
  resolveLinkTarget,
  splitPath,
  joinPath,
  parentOf,
  baseName,
  isWithin,
  maxSymlinkHops,
  maxNameBytes,
  maxPathBytes,
} from "./base/paths.ts";
export * from "./stores/index.ts";
export { seededRandom } from "./stores/random.ts";
