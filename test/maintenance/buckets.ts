// A "bucket" for maintenance tests: several filesystems side by side under their own prefixes, on
// LocalObjectStore (a directory per prefix) or on the S3 server (one bucket), every store located
// (src/stores/located-store.ts) so forks can reach their parents.

import { join } from "node:path";
import { S3CachedFsManagerImpl, LocalObjectStore, S3ObjectStore, type MountConfig, type ObjectStore, type S3CachedFs } from "../../src/core.ts";
import { LocatedStore } from "../../src/stores/located-store.ts";
import { freshBucket, s3StoreOptions } from "../support/s3-server.ts";
import { tempDirectory } from "../support/temp.ts";

export type Backend = "local" | "s3";

export interface TestBucket {
  describe: string;
  /** A raw store at `prefix`. */
  store(prefix: string): LocatedStore;
  /** A manager whose mounts open `config.prefix` in this bucket (`wrap` may add faults). */
  manager(options?: { cacheRoot?: string; wrap?: (store: ObjectStore) => ObjectStore; now?: () => number }): S3CachedFsManagerImpl;
  /** Mounts `prefix` with test settings (the head moves only on close, unless asked). */
  mount(prefix: string, config?: Partial<MountConfig>, options?: { cacheRoot?: string; wrap?: (store: ObjectStore) => ObjectStore }): Promise<S3CachedFs>;
  freshCacheRoot(): string;
}

let mounts = 0;

export async function testBucket(backend: Backend, label: string): Promise<TestBucket> {
  let open: (prefix: string) => ObjectStore;
  let description: string;
  if (backend === "local") {
    const directory = tempDirectory(`bucket-${label}`);
    open = (prefix) => new LocalObjectStore({ root: join(directory, prefix), fsync: false });
    description = `local:${directory}`;
  } else {
    const bucket = await freshBucket(label);
    open = (prefix) => new S3ObjectStore(s3StoreOptions(bucket, { prefix }));
    description = `s3://${bucket}`;
  }
  const store = (prefix: string) => new LocatedStore(open(prefix), prefix, open);
  const bucket: TestBucket = {
    describe: description,
    store,
    freshCacheRoot: () => tempDirectory(`cache-${label}`),
    manager: (options = {}) =>
      new S3CachedFsManagerImpl({
        cacheRoot: options.cacheRoot ?? tempDirectory(`cache-${label}`),
        storeFactory: (config) => (options.wrap ?? ((inner) => inner))(store(config.prefix)),
        ...(options.now === undefined ? {} : { now: options.now }),
      }),
    mount: (prefix, config = {}, options = {}) =>
      bucket.manager(options).mount({ name: `${prefix}-${++mounts}`, prefix, headDelayMs: 60_000, leaseTtlMs: 5_000, ...config }),
  };
  return bucket;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Keys under `prefix` in the store, sorted. */
export async function keys(store: ObjectStore, prefix = ""): Promise<string[]> {
  const found: string[] = [];
  let token: string | undefined;
  do {
    const page = await store.list({ prefix, ...(token === undefined ? {} : { continuationToken: token }) });
    found.push(...page.objects.map((object) => object.key));
    token = page.nextToken;
  } while (token !== undefined);
  return found.sort();
}

/** Every file's path and text content, for comparing two views of a tree. */
export async function contents(fs: S3CachedFs): Promise<Record<string, string>> {
  const result: Record<string, string> = {};
  for (const entry of await fs.walk("/")) {
    if (entry.stats.isFile()) result[`/${entry.path}`] = await fs.readText(`/${entry.path}`);
  }
  return result;
}

/** `size` bytes of a pattern that differs for every `seed`, so that each version of a file is new content. */
export function bytes(size: number, seed: number): Uint8Array {
  const out = new Uint8Array(size);
  for (let index = 0; index < size; index++) out[index] = (index * 13 + seed * 7) & 0xff;
  return out;
}

/** `size` characters of text that begins with `seed` and differs for every `seed`. */
export function text(size: number, seed: number): string {
  let out = `${seed}:`;
  while (out.length < size) out += String.fromCharCode(97 + ((out.length * 5 + seed) % 26));
  return out.slice(0, size);
}
