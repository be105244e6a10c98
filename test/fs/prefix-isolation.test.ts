// A storeFactory whose store ignores the mount's prefix (a bucket-rooted store) must not merge
// filesystems: format.json records the prefix the filesystem was created at, and a mount whose
// configured prefix differs is refused at once (EINVAL naming both), before any lease or write.
import { afterAll, describe, expect, test } from "bun:test";
import { S3CachedFsManagerImpl, LocalObjectStore, type S3CachedFs } from "../../src/core.ts";
import { CountingStore } from "../../src/stores/counting-store.ts";
import { expectCode } from "../support/errors.ts";
import { removeTempDirectories, tempDirectory } from "../support/temp.ts";

afterAll(removeTempDirectories);

/** Settles within `ms` or fails: a safety net for "never waits", not a timing assertion. */
async function settlesWithin<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const never = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`did not settle within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, never]);
  } finally {
    clearTimeout(timer);
  }
}

/** Like the core demo: every mount gets a store at the bucket's root, whatever its prefix. */
function bucketRooted() {
  const root = tempDirectory("prefix-bucket");
  const stores = new Map<string, CountingStore[]>();
  const manager = new S3CachedFsManagerImpl({
    cacheRoot: tempDirectory("prefix-cache"),
    storeFactory: (config) => {
      const store = new CountingStore(new LocalObjectStore({ root, fsync: false }));
      stores.set(config.prefix, [...(stores.get(config.prefix) ?? []), store]);
      return store;
    },
  });
  const puts = (prefix: string) => (stores.get(prefix) ?? []).reduce((sum, store) => sum + store.snapshot().put.requests, 0);
  return { root, manager, puts };
}

describe("a store that ignores the prefix never merges filesystems", () => {
  test("two prefixes through a bucket-rooted storeFactory never see each other's files nor wait for each other's lease", async () => {
    const { manager, puts } = bucketRooted();
    const tenantA = await manager.mount({ name: "a", prefix: "tenant-a", headDelayMs: 60_000 });
    await tenantA.writeFile("/secret-of-a.txt", "a's data");

    // A reader of tenant-b would have listed tenant-a's files.
    const reader = await expectCode(settlesWithin(manager.mount({ name: "b-reader", prefix: "tenant-b", mode: "readonly" }), 10_000), "EINVAL", { syscall: "mount" });
    expect(reader.message).toContain('"tenant-a"');
    expect(reader.message).toContain('"tenant-b"');
    // A writer of tenant-b would have waited 120 s for tenant-a's lease (the default leaseWaitTimeoutMs).
    const writer = await expectCode(settlesWithin(manager.mount({ name: "b-writer", prefix: "tenant-b" }), 10_000), "EINVAL", { syscall: "mount" });
    expect(writer.message).toContain('"tenant-a"');
    expect(writer.message).toContain('"tenant-b"');
    expect(puts("tenant-b")).toBe(0); // no lease taken, nothing written

    // tenant-a is untouched and still the only writer.
    await tenantA.writeFile("/more.txt", "more");
    expect((await tenantA.readdir("/")).sort()).toEqual(["more.txt", "secret-of-a.txt"]);
    await tenantA.close();
  });

  test("the same prefix, however it is typed, still mounts", async () => {
    const { manager } = bucketRooted();
    const fs = await manager.mount({ name: "a", prefix: "tenants/a", headDelayMs: 60_000 });
    await fs.writeFile("/x.txt", "x");
    await fs.close();
    const again: S3CachedFs = await manager.mount({ name: "a", prefix: "/tenants//a/", mode: "readonly" });
    expect(await again.readText("/x.txt")).toBe("x");
    await again.close();
  });

  test("a store rooted at the filesystem, mounted with no prefix, is the same filesystem mounted by bucket and prefix", async () => {
    const root = tempDirectory("prefix-rooted");
    // Created through a storeFactory whose store is already rooted at the prefix, with no prefix named...
    const rooted = new S3CachedFsManagerImpl({ cacheRoot: tempDirectory("prefix-cache"), storeFactory: () => new LocalObjectStore({ root: `${root}/ws/main`, fsync: false }) });
    const fs = await rooted.mount({ name: "a", headDelayMs: 60_000 });
    await fs.writeFile("/x.txt", "x");
    await fs.close();
    // ...then mounted by bucket and prefix (as the command line does), and back.
    const byPrefix = new S3CachedFsManagerImpl({ cacheRoot: tempDirectory("prefix-cache"), storeFactory: (config) => new LocalObjectStore({ root: `${root}/${config.prefix}`, fsync: false }) });
    const named = await byPrefix.mount({ name: "b", prefix: "ws/main" });
    expect(await named.readText("/x.txt")).toBe("x");
    await named.writeFile("/y.txt", "y");
    await named.close();
    const again = await rooted.mount({ name: "a", mode: "readonly" });
    expect(await again.readText("/y.txt")).toBe("y");
    await again.close();
  });

  test("format.json records the prefix; one written before the field existed keeps working", async () => {
    const { root, manager } = bucketRooted();
    const fs = await manager.mount({ name: "a", prefix: "tenant-a", headDelayMs: 60_000 });
    await fs.writeFile("/x.txt", "x");
    await fs.close();
    const raw = new LocalObjectStore({ root, fsync: false });
    const format = JSON.parse(new TextDecoder().decode((await raw.get("format.json")).body)) as Record<string, unknown>;
    expect(format.prefix).toBe("tenant-a");
    // An older bucket: format.json without the field is mounted as before, whatever the prefix.
    delete format.prefix;
    await raw.put("format.json", new TextEncoder().encode(JSON.stringify(format, null, 2)));
    const older = await manager.mount({ name: "older", prefix: "anything", mode: "readonly" });
    expect(await older.readText("/x.txt")).toBe("x");
    await older.close();
  });
});
