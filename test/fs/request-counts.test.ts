// What operations cost in remote requests, asserted exactly through the counting store every mount
// has (`stats().requests`). Counts are deterministic where timings are not.
import { afterAll, describe, expect, test } from "bun:test";
import type { S3CachedFs } from "../../src/core.ts";
import { removeTempDirectories } from "../support/temp.ts";
import { testWorkspace, type Backend } from "../support/mounts.ts";

afterAll(removeTempDirectories);

const KiB = 1024;
const MiB = 1024 * KiB;

function delta(fs: S3CachedFs, before: ReturnType<S3CachedFs["stats"]>) {
  const after = fs.stats().requests;
  return {
    total: after.total.requests - before.requests.total.requests,
    get: after.get.requests - before.requests.get.requests,
    put: after.put.requests - before.requests.put.requests,
    list: after.list.requests - before.requests.list.requests,
    bytesIn: after.total.bytesIn - before.requests.total.bytesIn,
  };
}

for (const backend of ["local", "s3"] as Backend[]) {
  describe(`request counts (${backend})`, () => {
    test("one small writeFile is exactly one PUT before it resolves", async () => {
      const workspace = await testWorkspace(backend, "counts");
      const fs = await workspace.mount();
      for (const size of [0, 10, 10 * KiB, 200 * KiB]) {
        const before = fs.stats();
        await fs.writeFile(`/file-${size}`, new Uint8Array(size).fill(7));
        expect(delta(fs, before)).toMatchObject({ total: 1, put: 1 });
      }
      await fs.close();
    });

    test("concurrent writes are grouped: fewer records than writes, each write durable when it resolves", async () => {
      const workspace = await testWorkspace(backend, "group");
      const fs = await workspace.mount();
      const before = fs.stats();
      await Promise.all(Array.from({ length: 50 }, (_, index) => fs.writeFile(`/concurrent/${index}.txt`, `file ${index}`)));
      const cost = delta(fs, before);
      expect(cost.put).toBeLessThan(50);
      expect(cost.put).toBe(fs.stats().commits!.commits - before.commits!.commits);
      expect((await fs.readdir("/concurrent")).length).toBe(50);
      await fs.close();
    });

    test("metadata calls and warm reads make no requests", async () => {
      const workspace = await testWorkspace(backend, "warm");
      const fs = await workspace.mount();
      await fs.transaction(async (tx) => {
        for (let index = 0; index < 200; index++) await tx.writeFile(`/tree/d${index % 10}/f${index}.txt`, `content ${index}`);
      });
      await fs.readFile("/tree/d3/f3.txt"); // warm: written by this mount
      const before = fs.stats();
      for (let index = 0; index < 200; index++) {
        await fs.stat(`/tree/d${index % 10}/f${index}.txt`);
        expect(await fs.exists(`/tree/d${index % 10}/f${index}.txt`)).toBe(true);
        expect(await fs.exists(`/tree/d${index % 10}/missing-${index}`)).toBe(false);
      }
      for (let directory = 0; directory < 10; directory++) await fs.readdir(`/tree/d${directory}`, { withFileTypes: true });
      await fs.walk("/");
      for (let index = 0; index < 200; index++) expect(await fs.readText(`/tree/d${index % 10}/f${index}.txt`)).toBe(`content ${index}`);
      expect(delta(fs, before).total).toBe(0);
      await fs.close();
    });

    test("a 10,000-file transaction is one record plus at most ceil(bytes / pack size) packs", async () => {
      const workspace = await testWorkspace(backend, "big-tx");
      const fs = await workspace.mount({ headDelayMs: 600_000, layout: { packBytes: 4 * MiB } });
      const before = fs.stats();
      let bytes = 0;
      await fs.transaction(async (tx) => {
        await tx.mkdir("/shards", { recursive: true });
        for (let index = 0; index < 10_000; index++) {
          const content = JSON.stringify({ index, padding: "p".repeat(index % 1000) });
          bytes += content.length;
          await tx.writeFile(`/shards/${index}.json`, content);
        }
      });
      const cost = delta(fs, before);
      const packs = cost.put - 1;
      expect(packs).toBeGreaterThan(0); // this many bytes do not fit inline (4 MiB)
      expect(packs).toBeLessThanOrEqual(Math.ceil(bytes / (4 * MiB)));
      expect(cost.get).toBe(0);
      expect(fs.stats().commits!.commits - before.commits!.commits).toBe(1);
      expect((await fs.readdir("/shards")).length).toBe(10_000);
      await fs.close();
    }, 300_000);

    test("a cold read of a 10 KiB file inside a 16 MiB pack is one GET of at most 20 KiB", async () => {
      const workspace = await testWorkspace(backend, "cold-read");
      const writer = await workspace.mount({ layout: { inlineRecordBytes: 64 * KiB, packBytes: 16 * MiB } });
      await writer.transaction(async (tx) => {
        for (let index = 0; index < 1_600; index++) await tx.writeFile(`/packed/${index}.bin`, new Uint8Array(10 * KiB).fill(index % 251));
      });
      await writer.close();
      const reader = await workspace.mount({ name: "cold-reader", mode: "readonly" }, { cacheRoot: workspace.freshCacheRoot() });
      const before = reader.stats();
      const bytes = await reader.readFile("/packed/1200.bin");
      expect(bytes.byteLength).toBe(10 * KiB);
      expect(bytes[0]).toBe(1200 % 251);
      const cost = delta(reader, before);
      expect(cost.total).toBe(1);
      expect(cost.get).toBe(1);
      expect(cost.bytesIn).toBeLessThanOrEqual(20 * KiB);
      await reader.close();
    }, 300_000);

    test("mounting, refreshing and committing never list the bucket", async () => {
      const workspace = await testWorkspace(backend, "no-list");
      const fs = await workspace.mount();
      await fs.writeFile("/a", "a");
      await fs.transaction(async (tx) => void (await tx.writeFile("/b", "b")));
      const reader = await workspace.mount({ name: "lister", mode: "readonly" }, { cacheRoot: workspace.freshCacheRoot() });
      await fs.writeFile("/c", "c");
      await reader.refresh();
      expect(await reader.readText("/c")).toBe("c");
      expect(fs.stats().requests.list.requests).toBe(0);
      expect(reader.stats().requests.list.requests).toBe(0);
      await fs.close();
      await reader.close();
    });

    test("an idle refresh costs at most two requests", async () => {
      const workspace = await testWorkspace(backend, "idle");
      const fs = await workspace.mount({ headDelayMs: 0 });
      await fs.writeFile("/a", "a");
      const reader = await workspace.mount({ name: "idle-reader", mode: "readonly" }, { cacheRoot: workspace.freshCacheRoot() });
      await reader.refresh();
      const before = reader.stats();
      await reader.refresh();
      expect(delta(reader, before).total).toBeLessThanOrEqual(2);
      await fs.close();
      await reader.close();
    });
  });
}

describe("cold scans", () => {
  test("reading a cold directory file by file costs a few coalesced GETs, not one per file", async () => {
    const workspace = await testWorkspace("local", "scan");
    const writer = await workspace.mount();
    await writer.transaction(async (tx) => {
      for (let index = 0; index < 100; index++) await tx.writeFile(`/project/src/file-${index}.ts`, `export const value${index} = ${index};\n`.repeat(200));
    });
    await writer.close();
    const reader = await workspace.mount({ name: "scanner", mode: "readonly" }, { cacheRoot: workspace.freshCacheRoot() });
    const before = reader.stats();
    for (let index = 0; index < 100; index++) expect(await reader.readText(`/project/src/file-${index}.ts`)).toStartWith(`export const value${index} = ${index};`);
    const cost = delta(reader, before);
    expect(cost.get).toBeLessThanOrEqual(5);
    console.log(`cold scan of 100 files: ${cost.get} GETs, ${cost.bytesIn} bytes`);
    await reader.close();
  });
});

describe("cold scans of scattered files", () => {
  test("a directory written one commit per file is not prefetched record by record", async () => {
    const workspace = await testWorkspace("local", "scattered");
    const writer = await workspace.mount();
    for (let index = 0; index < 100; index++) await writer.writeFile(`/logs/entry-${index}.txt`, `entry ${index}\n`.repeat(100));
    await writer.close();
    const reader = await workspace.mount({ name: "scattered-reader", mode: "readonly" }, { cacheRoot: workspace.freshCacheRoot() });
    const before = reader.stats();
    for (let index = 0; index < 10; index++) expect(await reader.readText(`/logs/entry-${index}.txt`)).toStartWith(`entry ${index}\n`);
    expect(delta(reader, before).get).toBe(10);
    await reader.close();
  });
});
