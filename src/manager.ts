// S3CachedFsManagerImpl: mounts filesystems by name under one cache root, with a total cache
// budget shared by all of them, and closes them all together.

import { mkdirSync, mkdtempSync, rmdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { FsError, fromLocalError } from "./base/errors.ts";
import { S3CachedFs } from "./fs.ts";
import { Mount } from "./mount.ts";
import {
  defaultCacheRoot,
  defaultMountName,
  managerOptionsSchema,
  mountConfigKeys,
  mountCallOptionsSchema,
  mountConfigSchema,
  parseOptions,
  type ManagerOptions,
  type MountCallOptions,
  type MountConfig,
  type ResolvedMountConfig,
} from "./base/options.ts";
import { CacheBudget } from "./data/segment-cache.ts";
import { s3StoreFromConfig } from "./mount/store-from-config.ts";
import type { ObjectStore, StoreCapabilities } from "./stores/object-store.ts";
import { StoreError } from "./stores/store-errors.ts";

export class S3CachedFsManagerImpl {
  readonly cacheRoot: string;
  private readonly budget: CacheBudget;
  private readonly storeFactory: (config: ResolvedMountConfig) => ObjectStore | Promise<ObjectStore>;
  private readonly now: () => number;
  private readonly mounts = new Map<string, S3CachedFs>();
  private readonly opening = new Set<string>();

  /** Mounts under `options.cacheRoot`, by default `defaultCacheRoot()` (the platform's cache directory). */
  constructor(options: ManagerOptions = {}) {
    const parsed = parseOptions(managerOptionsSchema, options, "manager options");
    this.cacheRoot = resolve(parsed.cacheRoot ?? defaultCacheRoot());
    try {
      mkdirSync(this.cacheRoot, { recursive: true, mode: 0o700 }); // cached file data is private to its user
      rmdirSync(mkdtempSync(join(this.cacheRoot, ".writable-"))); // every mount writes here: find out now
    } catch (error) {
      const local = fromLocalError(error, "mount", "cacheRoot: the cache directory cannot be created or written");
      if (["ENOSPC", "EACCES", "EPERM", "EROFS", "EIO"].includes(local.code)) throw local; // the disk's own trouble keeps its code
      // A path that cannot be a directory (a file on the way, ...) is a bad option: EINVAL naming the field.
      throw new FsError("EINVAL", "mount", { detail: `cacheRoot: the cache directory cannot be created (${local.code} on the local disk)`, cause: error });
    }
    this.budget = new CacheBudget(parsed.cacheBytes ?? Number.MAX_SAFE_INTEGER);
    this.storeFactory = options.storeFactory ?? ((config) => s3StoreFromConfig(config));
    this.now = options.now ?? Date.now;
  }

  /**
   * Mounts a filesystem (creating it on first read-write mount). Aborting `options.signal` while
   * the mount opens (it may wait up to leaseWaitTimeoutMs for the writer lease) rejects with
   * ECANCELED and leaves nothing held.
   */
  async mount(config: MountConfig, options: MountCallOptions = {}): Promise<S3CachedFs> {
    const resolved = parseOptions(mountConfigSchema, config, "mount config");
    const { signal } = parseOptions(mountCallOptionsSchema, options, "mount options");
    const name = resolved.name ?? defaultName(resolved);
    if (signal?.aborted) throw new FsError("ECANCELED", "mount", { path: name, detail: "the mount was aborted before it began", cause: signal.reason });
    if (this.mounts.has(name) || this.opening.has(name)) {
      throw new FsError("EBUSY", "mount", { path: name, detail: `a filesystem is already mounted as ${JSON.stringify(name)}; unmount it or choose another name` });
    }
    this.opening.add(name);
    try {
      const rawStore = await this.openStore(name, resolved);
      let fs: S3CachedFs | undefined;
      const mount = await Mount.open(name, resolved, {
        cacheRoot: this.cacheRoot,
        budget: this.budget,
        rawStore,
        now: this.now,
        ...(signal === undefined ? {} : { signal }),
        onClosed: () => {
          if (fs !== undefined && this.mounts.get(name) === fs) this.mounts.delete(name);
        },
      });
      fs = new S3CachedFs(mount);
      this.mounts.set(name, fs);
      return fs;
    } catch (error) {
      throw fromLocalError(error, "mount", "the mount failed", name);
    } finally {
      this.opening.delete(name);
    }
  }

  /** The store the factory supplies, checked to be one. */
  private async openStore(name: string, config: ResolvedMountConfig): Promise<ObjectStore> {
    let store: unknown;
    try {
      store = await this.storeFactory(config);
    } catch (error) {
      if (error instanceof FsError || error instanceof StoreError) throw error; // mapped with the mount's name below
      throw new FsError("EIO", "mount", { path: name, detail: `the storeFactory failed: ${error instanceof Error ? error.message : String(error)}`, cause: error });
    }
    const missing = objectStoreProblem(store);
    if (missing !== undefined) throw new FsError("EINVAL", "mount", { path: name, detail: `invalid manager options: storeFactory returned ${missing}; it must return an ObjectStore (or a promise of one)` });
    return store as ObjectStore;
  }

  get(name: string): S3CachedFs | undefined {
    return this.mounts.get(name);
  }

  get names(): string[] {
    return [...this.mounts.keys()];
  }

  async unmount(name: string): Promise<void> {
    const fs = this.mounts.get(name);
    if (fs === undefined) throw new FsError("EINVAL", "umount", { path: name, detail: `nothing is mounted as ${JSON.stringify(name)}` });
    await fs.close();
  }

  async closeAll(): Promise<void> {
    const results = await Promise.allSettled([...this.mounts.values()].map((fs) => fs.close()));
    const failed = results.find((result) => result.status === "rejected");
    if (failed !== undefined) throw (failed as PromiseRejectedResult).reason;
  }

  /** `await using manager = new S3CachedFsManagerImpl(...)`: every mount closed (as `closeAll()`) when the block is left. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.closeAll();
  }

  /** Disk used by all mounts' caches. */
  get cacheUsedBytes(): number {
    return this.budget.usedBytes;
  }
}

/** What `mountS3CachedFs` takes: a mount config and, beside it, the options of the manager it creates. */
export type MountS3CachedFsOptions = MountConfig & Omit<ManagerOptions, "cacheBytes">;

/** The manager's options that are no mount config key (`cacheBytes` is both: there it is the mount's). */
const managerOnlyKeys = Object.keys(managerOptionsSchema.shape).filter((key) => !(mountConfigKeys as string[]).includes(key));

/**
 * One line to a mounted filesystem: `await mountS3CachedFs({ bucket, region, prefix })`. Any mount
 * config key (`cacheBytes` is this mount's cache), plus the manager's `cacheRoot` (default: the
 * platform's cache directory), `storeFactory` and `now`. The manager it creates is its own and
 * holds nothing but this mount, so the filesystem's `close()` (or `await using`) releases all of
 * it. For many mounts under one cache budget, use `S3CachedFsManagerImpl`.
 */
export async function mountS3CachedFs(options: MountS3CachedFsOptions, callOptions: MountCallOptions = {}): Promise<S3CachedFs> {
  if (typeof options !== "object" || options === null) throw new FsError("EINVAL", "mount", { detail: "invalid mount config: expected an object of options" });
  const config: Record<string, unknown> = { ...options };
  const managerOptions: Record<string, unknown> = {};
  for (const key of managerOnlyKeys) {
    if (key in config) managerOptions[key] = config[key];
    delete config[key];
  }
  // The config is checked first, so a typo fails before anything is created on disk.
  parseOptions(mountConfigSchema, config, "mount config");
  const manager = new S3CachedFsManagerImpl(managerOptions as ManagerOptions);
  return manager.mount(config as MountConfig, callOptions);
}

function defaultName(config: ResolvedMountConfig): string {
  const name = config.bucket === undefined ? undefined : defaultMountName(config);
  if (name === undefined) throw new FsError("EINVAL", "mount", { detail: "invalid mount config: give a name or a bucket" });
  return name;
}

const storeMethods = ["get", "getIfChanged", "head", "put", "delete", "list"] as const;

/** What is wrong with a value that should be an ObjectStore, or undefined if it looks like one. */
function objectStoreProblem(value: unknown): string | undefined {
  if (value === null || (typeof value !== "object" && typeof value !== "function")) return value === null ? "null" : typeof value === "undefined" ? "undefined" : `a ${typeof value}`;
  const store = value as Record<string, unknown>;
  const absent = storeMethods.filter((method) => typeof store[method] !== "function");
  if (absent.length > 0) return `an object without ${absent.join(", ")}`;
  if (typeof store.capabilities !== "object" || store.capabilities === null) return "an object without capabilities";
  // The log is a sequence of create-only writes and the head a compare-and-swap: both must be atomic.
  const capabilities = store.capabilities as Partial<StoreCapabilities>;
  const lacking = (["createOnly", "compareAndSwap"] as const).filter((capability) => capabilities[capability] !== true);
  if (lacking.length > 0) return `a store whose capabilities do not claim ${lacking.join(" or ")} (the commit log needs atomic conditional writes)`;
  return undefined;
}
