// A store's location (ObjectStore.locator): the S3 store knows its prefix and opens its bucket's
// other prefixes, every decorator passes its inner store's location on, and a mount asks the store
// for it, so forks work through any decorated S3 store, not only the manager's own.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
  CountingStore,
  FaultInjectingStore,
  LatencyStore,
  LocalObjectStore,
  LocatedStore,
  RetryingStore,
  S3CachedFsManagerImpl,
  type ObjectStore,
} from "../../src/core.ts";
import { OriginStore } from "../../src/stores/origin-store.ts";
import { freshBucket, s3Store } from "../support/s3-server.ts";
import { removeTempDirectories, tempDirectory } from "../support/temp.ts";

afterAll(removeTempDirectories);

const text = (value: string) => new TextEncoder().encode(value);
const read = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

let bucket: string;
beforeAll(async () => {
  bucket = await freshBucket("locator");
});

describe("store locations", () => {
  test("an S3 store's keys and its location follow one prefix rule: empty and '.' segments are dropped", async () => {
    const store = s3Store(bucket, { prefix: "odd//ws/./c/" });
    expect(store.locator.prefix).toBe("odd/ws/c");
    expect(store.description).toBe(`s3://${bucket}/odd/ws/c/`);
    await store.put("k", text("in c"));
    // The object is where the location says, so a fork's ancestor lookup (by location) finds it.
    expect(read((await store.locator.storeAt(store.locator.prefix).get("k")).body)).toBe("in c");
    expect(read((await s3Store(bucket, { prefix: "odd/ws/c" }).get("k")).body)).toBe("in c");
    await store.close();
  });

  test("an S3 store names its prefix as a location and opens the bucket's other prefixes with its own settings", async () => {
    const store = s3Store(bucket, { prefix: "/ws/a/" });
    expect(store.locator.prefix).toBe("ws/a");
    const sibling = store.locator.storeAt("ws/b");
    expect(sibling.description).toBe(`s3://${bucket}/ws/b/`);
    await sibling.put("k", text("in b"));
    expect(read((await s3Store(bucket, { prefix: "ws/b" }).get("k")).body)).toBe("in b");
    await expect(store.head("k")).rejects.toThrow();
    expect(sibling.locator?.prefix).toBe("ws/b");
    await sibling.close?.();
    await store.close();
  });

  test("every decorator passes its inner store's location on; a local directory has none; a LocatedStore is its own", () => {
    const s3 = s3Store(bucket, { prefix: "ws/a" });
    const wrapped = new RetryingStore(new CountingStore(new FaultInjectingStore(new LatencyStore(new OriginStore(s3), { roundTripMs: 0 }))));
    expect(wrapped.locator).toBe(s3.locator);
    expect(wrapped.locator?.prefix).toBe("ws/a");
    const root = tempDirectory("locator");
    const local = new LocalObjectStore({ root, fsync: false });
    expect((local as ObjectStore).locator).toBeUndefined();
    expect(new CountingStore(local).locator).toBeUndefined();
    const located = new LocatedStore(local, "ws/a", (prefix) => new LocalObjectStore({ root: `${root}/${prefix}`, fsync: false }));
    expect(new CountingStore(located).locator).toBe(located);
    expect(new LocatedStore(s3, "elsewhere", () => s3).locator.prefix).toBe("elsewhere");
  });

  test("a storeFactory's S3 store inside a decorator forks, and the fork mounts and reads its inheritance", async () => {
    const counted: CountingStore[] = [];
    const manager = new S3CachedFsManagerImpl({
      cacheRoot: tempDirectory("locator-fork"),
      storeFactory: (config) => {
        const store = new CountingStore(s3Store(bucket, { prefix: config.prefix }));
        counted.push(store);
        return store;
      },
    });
    const original = await manager.mount({ name: "original", prefix: "forks/main", headDelayMs: 60_000 });
    await original.writeFile("/a.txt", "from the original");
    const result = await original.fork({ prefix: "forks/copy" });
    expect(result.parent.prefix).toBe("forks/main");
    const fork = await manager.mount({ name: "fork", prefix: "forks/copy", headDelayMs: 60_000 });
    expect(await fork.readText("/a.txt")).toBe("from the original");
    await fork.writeFile("/a.txt", "from the fork");
    expect(await original.readText("/a.txt")).toBe("from the original");
    expect(counted).toHaveLength(2);
    await manager.closeAll();
  }, 120_000);
});
