// Mounting filesystems for tests: on LocalObjectStore (a temp directory) or on the real S3 server,
// with the raw store reachable so a test can count requests, inject faults or mount again afresh.

import { readdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { S3CachedFsManagerImpl, LocalObjectStore, S3ObjectStore, type MountConfig, type ObjectStore, type S3CachedFs } from "../../src/core.ts";
import { tempDirectory } from "./temp.ts";
import { freshBucket, s3StoreOptions } from "./s3-server.ts";

export type Backend = "local" | "s3";

export interface TestWorkspace {
  /** Where the objects live: a LocalObjectStore directory, or a bucket and prefix on the S3 server. */
  describe: string;
  /** A new raw store on the same objects. */
  makeStore(): ObjectStore;
  /** A manager whose mounts use `wrap(makeStore())` (wrap adds fault injection, for example) and `now` as their clock. */
  manager(options?: { cacheRoot?: string; cacheBytes?: number; wrap?: (store: ObjectStore) => ObjectStore; now?: () => number }): S3CachedFsManagerImpl;
  /** Mounts with settings for tests (the head moves only on close, so request counts are exact); `config` overrides. */
  mount(config?: Partial<MountConfig>, options?: { cacheRoot?: string; wrap?: (store: ObjectStore) => ObjectStore; now?: () => number }): Promise<S3CachedFs>;
  /** A fresh cache root (so a mount starts cold). */
  freshCacheRoot(): string;
  cacheRoot: string;
}

let counter = 0;
/** One bucket per label and test process; each workspace gets its own prefix in it. */
const buckets = new Map<string, Promise<string>>();

export async function testWorkspace(backend: Backend, label: string): Promise<TestWorkspace> {
  const id = `${label}-${++counter}`;
  let makeStore: () => ObjectStore;
  let description: string;
  if (backend === "local") {
    const root = tempDirectory(`objects-${label}`);
    makeStore = () => new LocalObjectStore({ root, fsync: false });
    description = `local:${root}`;
  } else {
    if (!buckets.has(label)) buckets.set(label, freshBucket(label));
    const bucket = await buckets.get(label)!;
    const prefix = `ws/${id}`;
    makeStore = () => new S3ObjectStore(s3StoreOptions(bucket, { prefix }));
    description = `s3://${bucket}/${prefix}`;
  }
  const cacheRoot = tempDirectory(`cache-${label}`);
  const workspace: TestWorkspace = {
    describe: description,
    cacheRoot,
    makeStore,
    freshCacheRoot: () => tempDirectory(`cache-${label}`),
    manager: (options = {}) =>
      new S3CachedFsManagerImpl({
        cacheRoot: options.cacheRoot ?? cacheRoot,
        ...(options.cacheBytes === undefined ? {} : { cacheBytes: options.cacheBytes }),
        ...(options.now === undefined ? {} : { now: options.now }),
        storeFactory: () => (options.wrap ?? ((store) => store))(makeStore()),
      }),
    mount: (config = {}, options = {}) => workspace.manager(options).mount({ name: "test", headDelayMs: 60_000, ...config }),
  };
  return workspace;
}

/** Deletes a mount's whole cache root: index, cache and staging. */
export function wipeCache(cacheRoot: string): void {
  rmSync(cacheRoot, { recursive: true, force: true });
}

export function bytesOnDisk(directory: string): number {
  let total = 0;
  const walk = (path: string) => {
    for (const entry of readdirSync(path, { withFileTypes: true })) {
      const child = join(path, entry.name);
      if (entry.isDirectory()) walk(child);
      else if (entry.isFile()) total += statSync(child, { throwIfNoEntry: false })?.size ?? 0; // a staged file may vanish meanwhile
    }
  };
  walk(directory);
  return total;
}
