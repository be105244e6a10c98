// S3CachedFsManagerImpl: mounts filesystems by name under one cache root, with a total cache
// budget shared by all of them, and closes them all together.

import { mkdirSync } from "node:fs";
import { resolve } from "node:path";
import { FsError } from "./errors.ts";
import type { S3CachedFs } from "./fs.ts";
import { openMount } from "./mount.ts";
import { managerOptionsSchema, mountConfigSchema, parseOptions, type ManagerOptions, type MountConfig, type ResolvedMountConfig } from "./options.ts";
import { CacheBudget } from "./data/segment-cache.ts";
import { s3StoreFromConfig } from "./store-from-config.ts";
import type { ObjectStore } from "./stores/object-store.ts";

export class S3CachedFsManagerImpl {
  readonly cacheRoot: string;
  private readonly budget: CacheBudget;
  private readonly storeFactory: (config: ResolvedMountConfig) => ObjectStore | Promise<ObjectStore>;
  private readonly now: () => number;
  private readonly mounts = new Map<string, S3CachedFs>();
  private readonly opening = new Set<string>();

  constructor(options: ManagerOptions) {
    const parsed = parseOptions(managerOptionsSchema, options, "manager options");
    this.cacheRoot = resolve(parsed.cacheRoot);
    mkdirSync(this.cacheRoot, { recursive: true });
    this.budget = new CacheBudget(parsed.cacheBytes ?? Number.MAX_SAFE_INTEGER);
    this.storeFactory = options.storeFactory ?? ((config) => s3StoreFromConfig(config));
    this.now = options.now ?? Date.now;
  }

  /** Mounts a filesystem (creating it on first read-write mount). */
  async mount(config: MountConfig): Promise<S3CachedFs> {
    const resolved = parseOptions(mountConfigSchema, config, "mount config");
    const name = resolved.name ?? defaultName(resolved);
    if (this.mounts.has(name) || this.opening.has(name)) {
      throw new FsError("EBUSY", "mount", { path: name, detail: `a filesystem is already mounted as ${JSON.stringify(name)}; unmount it or choose another name` });
    }
    this.opening.add(name);
    try {
      const rawStore = await this.storeFactory(resolved);
      const fs = await openMount(name, resolved, {
        cacheRoot: this.cacheRoot,
        budget: this.budget,
        rawStore,
        now: this.now,
        onClosed: () => {
          if (this.mounts.get(name) === fs) this.mounts.delete(name);
        },
      });
      this.mounts.set(name, fs);
      return fs;
    } finally {
      this.opening.delete(name);
    }
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

function defaultName(config: ResolvedMountConfig): string {
  if (config.bucket === undefined) throw new FsError("EINVAL", "mount", { detail: "invalid mount config: give a name or a bucket" });
  return `${config.bucket}/${config.prefix}`.replace(/\/+$/, "");
}
