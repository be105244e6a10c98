// Warm small reads and misses at memory speed (docs/performance.md, "Local speed"): verified copies
// of small extents in memory (src/data/hot-extents.ts), the index's lookups remembered between its
// changes (src/namespace/namespace.ts), and probe(), which answers a miss without an error. Each
// is a shortcut that must never answer differently from the long way: these tests change the
// filesystem under every shortcut and check that the next answer is the new one.
import { afterAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { FileStats } from "../../src/core.ts";
import { CacheBudget, SegmentCache } from "../../src/data/segment-cache.ts";
import { HotExtents } from "../../src/data/hot-extents.ts";
import { hashBytes } from "../../src/log/ops.ts";
import { expectCode } from "../support/errors.ts";
import { testWorkspace } from "../support/mounts.ts";
import { removeTempDirectories, tempDirectory } from "../support/temp.ts";

afterAll(removeTempDirectories);

const KiB = 1024;

describe("hot extents", () => {
  test("a warm read hands out a copy: changing the returned bytes changes no later read", async () => {
    const workspace = await testWorkspace("local", "hot-copy");
    const fs = await workspace.mount();
    await fs.writeFile("/a.txt", "the original bytes");
    const first = await fs.readFile("/a.txt");
    first.fill(0x21);
    const second = await fs.readFile("/a.txt");
    expect(second.toString()).toBe("the original bytes");
    second.fill(0x22);
    expect(await fs.readText("/a.txt")).toBe("the original bytes");
    const range = await fs.readRange("/a.txt", 4, 8);
    range.fill(0x23);
    expect(await fs.readText("/a.txt")).toBe("the original bytes");
    await fs.close();
  });

  test("warm reads cost no request and count as cache hits; a copy goes with its segment: evicted bytes are fetched again", async () => {
    const workspace = await testWorkspace("local", "hot-evict");
    const writer = await workspace.mount({ layout: { inlineRecordBytes: 64 * KiB, packBytes: 512 * KiB } });
    await writer.transaction(async (tx) => {
      for (let index = 0; index < 8; index++) await tx.writeFile(`/data/${index}.bin`, new Uint8Array(16 * KiB).fill(index));
    });
    await writer.close();
    // Room for two of the eight files: reading them all in turn evicts each before it comes round again.
    const reader = await workspace.mount({ name: "small-cache", mode: "readonly", cacheBytes: 40 * KiB }, { cacheRoot: workspace.freshCacheRoot() });
    await reader.readFile("/data/0.bin");
    const warm = reader.stats();
    for (let round = 0; round < 5; round++) expect((await reader.readFile("/data/0.bin"))[100]).toBe(0);
    expect(reader.stats().requests.get.requests).toBe(warm.requests.get.requests);
    expect(reader.stats().cache.hits - warm.cache.hits).toBe(5);
    for (let index = 1; index < 8; index++) await reader.readFile(`/data/${index}.bin`);
    const before = reader.stats().requests.get.requests;
    expect((await reader.readFile("/data/0.bin"))[100]).toBe(0); // evicted from disk: its copy in memory went too
    expect(reader.stats().requests.get.requests - before).toBe(1);
    expect(reader.stats().cache.usedBytes).toBeLessThanOrEqual(40 * KiB);
    await reader.close();
  });

  test("the copies stay within their bound, least recently used out first, and large extents are never kept", () => {
    const directory = tempDirectory("hot-bound");
    const cache = new SegmentCache(join(directory, "cache"), 1024 * KiB, new CacheBudget(1024 * KiB));
    const hot = new HotExtents(cache, 10 * KiB, 8 * KiB);
    const extent = (index: number, bytes: Uint8Array) => ({ object: `object-${index}`, offset: 0, length: bytes.byteLength, hash: hashBytes(bytes) });
    const pieces = Array.from({ length: 6 }, (_, index) => new Uint8Array(3 * KiB).fill(index));
    for (const [index, bytes] of pieces.entries()) {
      void cache.insert(`object-${index}`, 0, bytes); // the segment cache holds them (on their way to disk)
      hot.remember(extent(index, bytes), bytes);
      expect(hot.usedBytes).toBeLessThanOrEqual(10 * KiB);
    }
    // Three of 3 KiB fit in 10 KiB: the last three.
    expect(hot.get(extent(0, pieces[0]!))).toBeUndefined();
    expect(hot.get(extent(5, pieces[5]!))?.[0]).toBe(5);
    // An extent is answered only with bytes of its own hash and length: those its verification accepts.
    expect(hot.get({ ...extent(5, pieces[5]!), hash: hashBytes(new Uint8Array(3 * KiB).fill(9)) })).toBeUndefined();
    expect(hot.get({ ...extent(5, pieces[5]!), length: 2 * KiB })).toBeUndefined();
    // ...and only while the segment cache holds the extent's own bytes: an object it never held finds nothing.
    expect(hot.get({ ...extent(5, pieces[5]!), object: "never-cached" })).toBeUndefined();
    const large = new Uint8Array(9 * KiB);
    void cache.insert("large", 0, large);
    hot.remember(extent(9, large), large);
    expect(hot.get({ ...extent(9, large), object: "large" })).toBeUndefined();
    expect(hot.usedBytes).toBeLessThanOrEqual(10 * KiB);
  });
});

describe("remembered lookups", () => {
  test("every change is seen by the next read: rewrite, append, rename, rm, mkdir, symlink, chmod", async () => {
    const workspace = await testWorkspace("local", "lookups-change");
    const fs = await workspace.mount();
    await fs.writeFile("/d/a.txt", "one");
    expect(await fs.readText("/d/a.txt")).toBe("one");
    expect(await fs.exists("/d/b.txt")).toBe(false);
    await fs.writeFile("/d/a.txt", "two, longer");
    expect(await fs.readText("/d/a.txt")).toBe("two, longer");
    await fs.appendFile("/d/a.txt", " and more");
    expect(await fs.readText("/d/a.txt")).toBe("two, longer and more");
    expect((await fs.stat("/d/a.txt")).size).toBe(20);
    await fs.rename("/d/a.txt", "/d/b.txt");
    expect(await fs.exists("/d/a.txt")).toBe(false);
    expect(await fs.readText("/d/b.txt")).toBe("two, longer and more");
    await expectCode(fs.readFile("/d/a.txt"), "ENOENT");
    await fs.symlink("/d/b.txt", "/link");
    expect(await fs.readText("/link")).toBe("two, longer and more");
    await fs.rm("/d/b.txt");
    await expectCode(fs.readFile("/link"), "ENOENT");
    await expectCode(fs.readFile("/d/b.txt"), "ENOENT");
    await fs.writeFile("/d/b.txt", "back");
    expect(await fs.readText("/link")).toBe("back");
    await fs.chmod("/d/b.txt", 0o600);
    expect((await fs.stat("/d/b.txt")).mode & 0o777).toBe(0o600);
    await fs.rm("/d", { recursive: true });
    expect(await fs.exists("/d")).toBe(false);
    await fs.mkdir("/d");
    expect((await fs.stat("/d")).isDirectory()).toBe(true);
    await fs.close();
  });

  test("a transaction reads its own writes; the mount sees them only once committed, and never those of a body that threw", async () => {
    const workspace = await testWorkspace("local", "lookups-transaction");
    const fs = await workspace.mount();
    await fs.writeFile("/a.txt", "committed");
    expect(await fs.readText("/a.txt")).toBe("committed");
    await fs.transaction(async (tx) => {
      expect(await tx.readText("/a.txt")).toBe("committed");
      await tx.writeFile("/a.txt", "pending");
      expect(await tx.readText("/a.txt")).toBe("pending");
      expect(await fs.readText("/a.txt")).toBe("committed");
      await tx.rm("/a.txt");
      expect(await tx.exists("/a.txt")).toBe(false);
      await tx.writeFile("/a.txt", "pending again");
      expect(await tx.readText("/a.txt")).toBe("pending again");
      // Read last, after the batch's last change: what the mount remembers now must go at the commit.
      expect(await fs.readText("/a.txt")).toBe("committed");
      expect(fs.probe("/a.txt")).toBeInstanceOf(FileStats);
    });
    expect(await fs.readText("/a.txt")).toBe("pending again");
    await expect(
      fs.transaction(async (tx) => {
        await tx.writeFile("/a.txt", "thrown away");
        await tx.writeFile("/new.txt", "thrown away");
        expect(await tx.readText("/a.txt")).toBe("thrown away");
        throw new Error("the body fails");
      }),
    ).rejects.toThrow("the body fails");
    expect(await fs.readText("/a.txt")).toBe("pending again");
    expect(await fs.exists("/new.txt")).toBe(false);
    await fs.transaction(async (tx) => {
      expect(await tx.readText("/a.txt")).toBe("pending again"); // the pending view forgot the rolled-back batch too
      expect(await tx.exists("/new.txt")).toBe(false);
    });
    await fs.close();
  });

  test("a reader's refresh is seen by its next lookup", async () => {
    const workspace = await testWorkspace("local", "lookups-refresh");
    const writer = await workspace.mount({ headDelayMs: 0 });
    await writer.writeFile("/a.txt", "first");
    const reader = await workspace.mount({ name: "reader", mode: "readonly" }, { cacheRoot: workspace.freshCacheRoot() });
    expect(await reader.readText("/a.txt")).toBe("first");
    expect(await reader.exists("/b.txt")).toBe(false);
    await writer.writeFile("/a.txt", "second");
    await writer.writeFile("/b.txt", "new");
    await writer.rm("/a.txt");
    await writer.writeFile("/a.txt", "third");
    await writer.close(); // the head is up to date
    expect((await reader.refresh()).changed).toBe(true);
    expect(await reader.readText("/a.txt")).toBe("third");
    expect(await reader.readText("/b.txt")).toBe("new");
    await reader.close();
  });
});

describe("probe", () => {
  test("answers stats for an entry, and for a missing one why and whether a link led there, without an error", async () => {
    const workspace = await testWorkspace("local", "probe");
    const fs = await workspace.mount();
    await fs.writeFile("/d/a.txt", "bytes");
    await fs.symlink("/d/a.txt", "/good");
    await fs.symlink("/d/nowhere", "/dangling");
    await fs.symlink("/d", "/dir-link");

    const found = fs.probe("/d/a.txt");
    expect(found).toBeInstanceOf(FileStats);
    expect((found as FileStats).size).toBe(5);
    expect(fs.probe("/good")).toBeInstanceOf(FileStats);
    expect((fs.probe("/good") as FileStats).isFile()).toBe(true);
    expect((fs.probe("/good", { followLinks: false }) as FileStats).isSymbolicLink()).toBe(true);
    expect((fs.probe("/d/") as FileStats).isDirectory()).toBe(true);

    expect(fs.probe("/d/missing")).toEqual({ missing: "ENOENT", throughLink: false });
    expect(fs.probe("/missing/a")).toEqual({ missing: "ENOENT", throughLink: false });
    expect(fs.probe("/d/a.txt/under")).toEqual({ missing: "ENOTDIR", throughLink: false });
    expect(fs.probe("/dangling")).toEqual({ missing: "ENOENT", throughLink: true });
    expect((fs.probe("/dangling", { followLinks: false }) as FileStats).isSymbolicLink()).toBe(true);
    expect(fs.probe("/dir-link/missing")).toEqual({ missing: "ENOENT", throughLink: true });
    expect(fs.probe("/d/a.txt/")).toEqual({ missing: "ENOTDIR", throughLink: true });
    // The same answers as the calls that throw.
    await expectCode(fs.stat("/d/missing"), "ENOENT");
    await expectCode(fs.stat("/d/a.txt/under"), "ENOTDIR");

    // Bad input is refused as stat refuses it, and nothing changes.
    expect(() => fs.probe("/../above")).toThrow("EINVAL: path climbs above the root");
    expect(() => fs.probe(42 as never)).toThrow("EINVAL");
    expect(() => fs.probe("/d/a.txt", null as never)).toThrow("options must be an object");
    await fs.symlink("/loop-b", "/loop-a");
    await fs.symlink("/loop-a", "/loop-b");
    expect(() => fs.probe("/loop-a")).toThrow("ELOOP");
    await fs.close();
    expect(() => fs.probe("/d/a.txt")).toThrow("EBADF");
  });

  test("a transaction's probe sees its own writes", async () => {
    const workspace = await testWorkspace("local", "probe-transaction");
    const fs = await workspace.mount();
    await fs.transaction(async (tx) => {
      expect(tx.probe("/a.txt")).toEqual({ missing: "ENOENT", throughLink: false });
      await tx.writeFile("/a.txt", "mine");
      expect((tx.probe("/a.txt") as FileStats).size).toBe(4);
      expect(fs.probe("/a.txt")).toEqual({ missing: "ENOENT", throughLink: false });
    });
    expect((fs.probe("/a.txt") as FileStats).size).toBe(4);
    await fs.close();
  });
});
