// MemoryObjectStore, the in-memory store for users' own tests: it passes the same conformance
// suite as the real stores, and a user's test can mount on it through the core, close, and mount
// again to find its files (the objects outlive close(), as they would in a bucket).

import { afterAll, expect, test } from "bun:test";
import { MemoryObjectStore, S3CachedFsManagerImpl } from "../../src/core.ts";
import { removeTempDirectories, tempDirectory } from "../support/temp.ts";
import { objectStoreSuite } from "./object-store-suite.ts";

afterAll(removeTempDirectories);

const shared = new MemoryObjectStore();

objectStoreSuite("MemoryObjectStore", async () => ({
  store: shared,
  another: () => shared.locator.storeAt(""),
  wrongCredentials: { gap: "memory has no credentials: only this process reaches it" },
}));

test("a user's test mounts on a MemoryObjectStore, writes, and finds the files on a fresh mount after close", async () => {
  const store = new MemoryObjectStore();
  const manager = new S3CachedFsManagerImpl({ cacheRoot: tempDirectory("memory-store"), storeFactory: () => store });
  const fs = await manager.mount({ name: "workspace" });
  await fs.writeFile("/notes/today.txt", "in memory");
  await fs.close();
  const again = await new S3CachedFsManagerImpl({ cacheRoot: tempDirectory("memory-store"), storeFactory: () => store }).mount({ name: "workspace", mode: "readonly" });
  expect(await again.readText("/notes/today.txt")).toBe("in memory");
  await again.close();
});

test("stores at other prefixes of one MemoryObjectStore keep their objects apart", async () => {
  const store = new MemoryObjectStore({ prefix: "a" });
  const sibling = store.locator.storeAt("b");
  await store.put("k", new TextEncoder().encode("in a"));
  await expect(sibling.head("k")).rejects.toThrow("no such key");
  expect((await store.list()).objects.map((object) => object.key)).toEqual(["k"]);
  expect((await store.locator.storeAt("").list()).objects.map((object) => object.key)).toEqual(["a/k"]);
});
