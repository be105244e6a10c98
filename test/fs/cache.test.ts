// Guarantee 6 (docs/guarantees.md): the cache stays within its bound on disk, and no byte is returned unverified.
import { afterAll, describe, expect, test } from "bun:test";
import { readdirSync, writeFileSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { removeTempDirectories } from "../support/temp.ts";
import { bytesOnDisk, testWorkspace } from "../support/mounts.ts";
import { mountDirectoryName } from "../../src/mount.ts";

afterAll(removeTempDirectories);

const KiB = 1024;

function cacheDirectory(cacheRoot: string, name: string): string {
  return join(cacheRoot, mountDirectoryName(name), "cache");
}

function segmentFiles(directory: string): string[] {
  return readdirSync(directory, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name));
}

describe("the cache", () => {
  test("reading far more data than cacheBytes keeps the cache directory within its bound", async () => {
    const workspace = await testWorkspace("local", "bound");
    const writer = await workspace.mount({ layout: { inlineRecordBytes: 64 * KiB, packBytes: 512 * KiB } });
    const files = 120;
    await writer.transaction(async (tx) => {
      for (let index = 0; index < files; index++) await tx.writeFile(`/data/${index}.bin`, new Uint8Array(32 * KiB).fill(index));
    });
    await writer.close();
    const cacheBytes = 256 * KiB; // the data is 3.75 MiB
    const cacheRoot = workspace.freshCacheRoot();
    const reader = await workspace.mount({ name: "bounded", mode: "readonly", cacheBytes }, { cacheRoot });
    const directory = cacheDirectory(cacheRoot, "bounded");
    let peak = 0;
    for (let round = 0; round < 2; round++) {
      await Promise.all(
        Array.from({ length: files }, async (_, index) => {
          const bytes = await reader.readFile(`/data/${index}.bin`);
          expect(bytes[100]).toBe(index);
          peak = Math.max(peak, bytesOnDisk(directory));
        }),
      );
    }
    expect(peak).toBeGreaterThan(0);
    expect(peak).toBeLessThanOrEqual(cacheBytes);
    expect(bytesOnDisk(directory)).toBeLessThanOrEqual(cacheBytes);
    expect(reader.stats().cache.evictions).toBeGreaterThan(0);
    await reader.close();
  });

  test("the manager's total budget bounds all mounts together", async () => {
    const workspace = await testWorkspace("local", "budget");
    const writer = await workspace.mount({ layout: { inlineRecordBytes: 16 * KiB, packBytes: 256 * KiB } });
    await writer.transaction(async (tx) => {
      for (let index = 0; index < 64; index++) await tx.writeFile(`/data/${index}.bin`, new Uint8Array(16 * KiB).fill(index));
    });
    await writer.close();
    const cacheRoot = workspace.freshCacheRoot();
    const manager = workspace.manager({ cacheRoot, cacheBytes: 200 * KiB });
    const first = await manager.mount({ name: "one", mode: "readonly", cacheBytes: 1024 * KiB });
    const second = await manager.mount({ name: "two", mode: "readonly", cacheBytes: 1024 * KiB });
    for (let index = 0; index < 64; index++) {
      await first.readFile(`/data/${index}.bin`);
      await second.readFile(`/data/${63 - index}.bin`);
      expect(manager.cacheUsedBytes).toBeLessThanOrEqual(200 * KiB);
    }
    await manager.closeAll(); // waits for segments still on their way to disk
    const onDisk = bytesOnDisk(cacheDirectory(cacheRoot, "one")) + bytesOnDisk(cacheDirectory(cacheRoot, "two"));
    expect(onDisk).toBeLessThanOrEqual(200 * KiB);
    expect(onDisk).toBe(manager.cacheUsedBytes); // the count is the disk, not an estimate of it
  });

  test("a corrupted cache segment is detected and refetched, never returned", async () => {
    const workspace = await testWorkspace("local", "corrupt");
    const fs = await workspace.mount();
    const content = "the true content of the file, which must survive bit rot in the cache";
    await fs.writeFile("/precious.txt", content);
    await fs.close();
    const fresh = await workspace.mount({ mode: "readonly" });
    const directory = cacheDirectory(workspace.cacheRoot, "test");
    // Damage every cached segment on disk.
    for (const file of segmentFiles(directory)) {
      const bytes = readFileSync(file);
      for (let index = 0; index < bytes.length; index++) bytes[index] = bytes[index]! ^ 0xff;
      writeFileSync(file, bytes);
    }
    const before = fresh.stats();
    expect(await fresh.readText("/precious.txt")).toBe(content);
    const after = fresh.stats();
    expect(after.cache.corruptions - before.cache.corruptions).toBeGreaterThan(0);
    expect(after.requests.get.requests - before.requests.get.requests).toBe(1);
    // And the refetched copy is what is cached now.
    expect(await fresh.readText("/precious.txt")).toBe(content);
    expect(fresh.stats().requests.get.requests).toBe(after.requests.get.requests);
    await fresh.close();
  });

  test("bytes damaged in the object store itself are refused with EIO, never returned", async () => {
    const workspace = await testWorkspace("local", "rot");
    const fs = await workspace.mount();
    await fs.writeFile("/big.bin", new Uint8Array(5 * 1024 * KiB).fill(9)); // a chunked file
    await fs.close();
    // Flip bytes in every chunk object.
    const store = workspace.makeStore();
    const { listAll } = await import("../../src/stores/object-store.ts");
    let damaged = 0;
    for await (const object of listAll(store, { prefix: "chunks/" })) {
      const body = (await store.get(object.key)).body;
      body[10] = body[10]! ^ 0xff;
      await store.put(object.key, body);
      damaged++;
    }
    expect(damaged).toBeGreaterThan(0);
    const reader = await workspace.mount({ name: "rot-reader", mode: "readonly" }, { cacheRoot: workspace.freshCacheRoot() });
    const error = await reader.readFile("/big.bin").then(
      () => new Error("the damaged file was returned"),
      (caught: Error) => caught,
    );
    expect(error.message).toStartWith("EIO: ");
    expect((error as Error & { code?: string }).code).toBe("EIO");
    expect(error.message).toContain("checksum");
    await reader.close();
  });

  test("concurrent misses on the same bytes share one request", async () => {
    const workspace = await testWorkspace("local", "shared-miss");
    const fs = await workspace.mount();
    await fs.writeFile("/shared.txt", "read by many at once");
    await fs.close();
    const reader = await workspace.mount({ name: "sharing", mode: "readonly" }, { cacheRoot: workspace.freshCacheRoot() });
    const before = reader.stats();
    const reads = await Promise.all(Array.from({ length: 20 }, () => reader.readText("/shared.txt")));
    expect(new Set(reads)).toEqual(new Set(["read by many at once"]));
    expect(reader.stats().requests.get.requests - before.requests.get.requests).toBe(1);
    await reader.close();
  });
});
