// File bytes in and out: large files in chunks from every kind of input, streams with read-ahead,
// ranges that fetch only the extents they touch, openWrite's real local file, materialize's
// pinned copy, and transactions reading their own writes.
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { expectCode } from "../support/errors.ts";
import type { FsError } from "../../src/core.ts";
import { removeTempDirectories } from "../support/temp.ts";
import { testWorkspace, type Backend } from "../support/mounts.ts";

afterAll(removeTempDirectories);

const KiB = 1024;
const MiB = 1024 * KiB;

/** Deterministic bytes that differ at every offset, so any misplaced byte shows. */
function pattern(size: number, seed = 1): Uint8Array {
  const bytes = new Uint8Array(size);
  let state = seed;
  for (let index = 0; index < size; index++) {
    state = (state * 1103515245 + 12345) >>> 0;
    bytes[index] = state >>> 24;
  }
  return bytes;
}

function streamOf(bytes: Uint8Array, piece: number): ReadableStream<Uint8Array> {
  let offset = 0;
  return new ReadableStream({
    pull(controller) {
      if (offset >= bytes.byteLength) return controller.close();
      controller.enqueue(bytes.slice(offset, offset + piece));
      offset += piece;
    },
  });
}

const layout = { blockBytes: 64 * KiB, chunkBytes: 256 * KiB, largeFileBytes: 128 * KiB, inlineRecordBytes: 256 * KiB, packBytes: 512 * KiB, uploadConcurrency: 3 };

for (const backend of ["local", "s3"] as Backend[]) {
  describe(`file data (${backend})`, () => {
    test("large files from bytes, Blob, Response and ReadableStream go to chunks and read back exactly", async () => {
      const workspace = await testWorkspace(backend, "large");
      const fs = await workspace.mount({ layout });
      const data = pattern(1 * MiB + 12_345);
      const progress: number[] = [];
      await fs.writeFile("/bytes.bin", data, { onProgress: (bytes) => progress.push(bytes) });
      await fs.writeFile("/blob.bin", new Blob([data]));
      await fs.writeFile("/response.bin", new Response(streamOf(data, 10_000)));
      await fs.writeFile("/stream.bin", streamOf(data, 77_777));
      expect(progress.at(-1)).toBe(data.byteLength);
      await fs.close();
      const reader = await workspace.mount({ name: "large-reader", mode: "readonly", layout }, { cacheRoot: workspace.freshCacheRoot() });
      for (const name of ["bytes", "blob", "response", "stream"]) {
        const read = await reader.readFile(`/${name}.bin`);
        expect(read.byteLength).toBe(data.byteLength);
        expect(Buffer.compare(read, data)).toBe(0);
      }
      await reader.close();
    });

    test("readRange fetches only the extents it touches", async () => {
      const workspace = await testWorkspace(backend, "range");
      const fs = await workspace.mount({ layout });
      const data = pattern(2 * MiB, 7);
      await fs.writeFile("/big.bin", data);
      await fs.close();
      const reader = await workspace.mount({ name: "range-reader", mode: "readonly", layout }, { cacheRoot: workspace.freshCacheRoot() });
      const before = reader.stats().requests;
      const offset = 1 * MiB + 100;
      const slice = await reader.readRange("/big.bin", offset, 1000);
      expect(Buffer.compare(slice, data.subarray(offset, offset + 1000))).toBe(0);
      const after = reader.stats().requests;
      expect(after.get.requests - before.get.requests).toBe(1);
      expect(after.get.bytesIn - before.get.bytesIn).toBe(layout.blockBytes); // one 64 KiB extent, not 2 MiB
      // Across an extent boundary: two extents, still one coalesced GET.
      const across = await reader.readRange("/big.bin", 3 * layout.blockBytes - 10, 20);
      expect(Buffer.compare(across, data.subarray(3 * layout.blockBytes - 10, 3 * layout.blockBytes + 10))).toBe(0);
      await reader.close();
    });

    test("sequential readRange calls fetch whole objects ahead of the reader, each byte once; random access fetches only what it touches", async () => {
      const workspace = await testWorkspace(backend, "range-ahead");
      const fs = await workspace.mount({ layout });
      const size = 2 * MiB;
      const data = pattern(size, 11);
      await fs.writeFile("/big.bin", data);
      await fs.close();
      const blocks = size / layout.blockBytes; // 32 extents of 64 KiB, in 8 chunks of 256 KiB
      const reader = await workspace.mount({ name: "ahead-reader", mode: "readonly", layout }, { cacheRoot: workspace.freshCacheRoot() });
      const before = reader.stats().requests.get;
      const piece = 16 * KiB;
      for (let offset = 0; offset < size; offset += piece) {
        const bytes = await reader.readRange("/big.bin", offset, piece);
        expect(Buffer.compare(bytes, data.subarray(offset, offset + piece))).toBe(0);
      }
      const gets = reader.stats().requests.get;
      // One GET of the first extent, then whole chunks fetched ahead: 8 chunks, at most 10 GETs,
      // where reading extent by extent would take 32; no byte fetched twice.
      expect(gets.bytesIn - before.bytesIn).toBe(size);
      expect(gets.requests - before.requests).toBeLessThanOrEqual(10);
      expect(gets.requests - before.requests).toBeLessThan(blocks);
      await reader.close();

      // Reads that do not continue each other fetch just the extents they touch.
      const random = await workspace.mount({ name: "random-reader", mode: "readonly", layout }, { cacheRoot: workspace.freshCacheRoot() });
      const start = random.stats().requests.get;
      for (const offset of [1 * MiB + 100, 100, 1536 * KiB, 512 * KiB + 5]) {
        const bytes = await random.readRange("/big.bin", offset, 1000);
        expect(Buffer.compare(bytes, data.subarray(offset, offset + 1000))).toBe(0);
      }
      const end = random.stats().requests.get;
      expect(end.requests - start.requests).toBe(4);
      expect(end.bytesIn - start.bytesIn).toBe(4 * layout.blockBytes);
      await random.close();
    });

    test("stream() yields the whole file in order, and a byte range", async () => {
      const workspace = await testWorkspace(backend, "stream");
      const fs = await workspace.mount({ layout });
      const data = pattern(900 * KiB, 3);
      await fs.writeFile("/s.bin", data);
      const pieces: Uint8Array[] = [];
      for await (const piece of await fs.stream("/s.bin", { windowBytes: 100 * KiB })) pieces.push(piece);
      expect(pieces.length).toBeGreaterThan(1);
      expect(Buffer.compare(Buffer.concat(pieces), data)).toBe(0);
      const ranged: Uint8Array[] = [];
      for await (const piece of await fs.stream("/s.bin", { start: 1000, end: 1999 })) ranged.push(piece);
      expect(Buffer.compare(Buffer.concat(ranged), data.subarray(1000, 2000))).toBe(0);
      await expectCode(fs.stream("/missing"), "ENOENT");
      await fs.close();
    });
  });
}

describe("local files for tools that need a path", () => {
  test("openWrite gives a real local file; close commits it, abort publishes nothing", async () => {
    const workspace = await testWorkspace("local", "open-write");
    const fs = await workspace.mount();
    const handle = await fs.openWrite("/out/report.txt");
    const writer = handle.file.writer();
    writer.write("line 1\n");
    writer.write("line 2\n");
    await writer.end();
    expect(readFileSync(handle.path, "utf8")).toBe("line 1\nline 2\n");
    const before = fs.stats();
    await handle.close();
    expect(fs.stats().requests.put.requests - before.requests.put.requests).toBe(1);
    expect(await fs.readText("/out/report.txt")).toBe("line 1\nline 2\n");
    expect(existsSync(handle.path)).toBe(false);
    await expectCode(handle.close(), "EBADF");

    const aborted = await fs.openWrite("/out/never.txt");
    await Bun.write(aborted.file, "discarded");
    await aborted.abort();
    expect(await fs.exists("/out/never.txt")).toBe(false);
    expect(existsSync(aborted.path)).toBe(false);
    await expectCode(fs.openWrite("/out"), "EISDIR");
    await fs.close();
  });

  test("openWrite's file counts against the cache while it is committed: too large is EFBIG, unless allowed, and nothing written is lost", async () => {
    const workspace = await testWorkspace("local", "open-write-oversize");
    const fs = await workspace.mount({ cacheBytes: 2 * MiB, layout });
    const data = pattern(3 * MiB, 4);
    const handle = await fs.openWrite("/big.bin");
    await Bun.write(handle.file, data);
    const before = fs.stats();
    await expectCode(handle.close(), "EFBIG");
    expect(fs.stats().requests.put.requests).toBe(before.requests.put.requests);
    expect(await fs.exists("/big.bin")).toBe(false);
    expect(Buffer.compare(readFileSync(handle.path), data)).toBe(0); // still there to abort or keep
    expect(fs.stats().cache.pinnedBytes).toBe(0);
    await handle.abort();
    expect(existsSync(handle.path)).toBe(false);

    const allowed = await fs.openWrite("/big.bin", { allowOversize: true });
    await Bun.write(allowed.file, data);
    await allowed.close();
    expect(Buffer.compare(await fs.readFile("/big.bin"), data)).toBe(0);

    const fits = await fs.openWrite("/small.bin");
    await Bun.write(fits.file, pattern(MiB, 6));
    await fits.close();
    expect(fs.stats().cache.pinnedBytes).toBe(0);
    expect((await fs.stat("/small.bin")).size).toBe(MiB);
    await fs.close();
  });

  test("materialize builds a pinned local copy, counted against the cache, until released", async () => {
    const workspace = await testWorkspace("local", "materialize");
    const fs = await workspace.mount({ cacheBytes: 4 * MiB, layout });
    const data = pattern(3 * MiB, 5);
    await fs.writeFile("/model.bin", data);
    const progress: number[] = [];
    const local = await fs.materialize("/model.bin", { onProgress: (bytes) => progress.push(bytes) });
    expect(Buffer.compare(readFileSync(local.path), data)).toBe(0);
    expect(progress.at(-1)).toBe(data.byteLength);
    expect(fs.stats().cache.pinnedBytes).toBe(data.byteLength);
    expect(fs.stats().cache.usedBytes).toBeLessThanOrEqual(4 * MiB);
    // A second pin cannot fit beside the first: refused clearly, unless allowed.
    await expectCode(fs.materialize("/model.bin"), "ENOSPC");
    const oversize = await fs.materialize("/model.bin", { allowOversize: true });
    await oversize.release();
    await local.release();
    expect(existsSync(local.path)).toBe(false);
    expect(fs.stats().cache.pinnedBytes).toBe(0);
    await fs.close();
  });

  test("a cache full of pinned copies: reads go on past it, another pin is a clear ENOSPC", async () => {
    const workspace = await testWorkspace("local", "pinned-full");
    const fs = await workspace.mount({ cacheBytes: 2 * MiB });
    await fs.writeFile("/whole-cache.bin", pattern(2 * MiB, 1));
    await fs.writeFile("/other.bin", pattern(MiB, 2));
    // Right after the writes, their segments may still be on their way to the cache's disk: the
    // pin waits for them rather than refusing a file that fits.
    const pinned = await fs.materialize("/whole-cache.bin");
    expect(fs.stats().cache.pinnedBytes).toBe(2 * MiB);
    expect(Buffer.compare(await fs.readFile("/other.bin"), pattern(MiB, 2))).toBe(0);
    let streamed = 0;
    for await (const piece of await fs.stream("/other.bin")) streamed += piece.byteLength;
    expect(streamed).toBe(MiB);
    const refused = await fs.materialize("/other.bin").then(
      () => undefined,
      (error: FsError) => error,
    );
    expect(refused?.code).toBe("ENOSPC");
    expect(refused?.message).toContain("2097152 pinned");
    expect(refused?.message).toContain("allowOversize");
    expect(fs.stats().cache.usedBytes).toBeLessThanOrEqual(2 * MiB);
    await pinned.release();
    await fs.close();
  });

  test("a materialised file is released when its handle leaves `await using`, is dropped, or its mount closes", async () => {
    const workspace = await testWorkspace("local", "materialize-lease");
    const fs = await workspace.mount({ cacheBytes: 4 * MiB, layout });
    await fs.writeFile("/model.bin", pattern(MiB, 9));

    let scoped = "";
    {
      await using local = await fs.materialize("/model.bin");
      scoped = local.path;
      expect(fs.stats().cache.pinnedBytes).toBe(MiB);
    }
    expect(existsSync(scoped)).toBe(false);
    expect(fs.stats().cache.pinnedBytes).toBe(0);

    // Dropped without release(): once the handle (and its file) can be collected, the copy goes.
    const dropped = await (async () => (await fs.materialize("/model.bin")).path)();
    expect(existsSync(dropped)).toBe(true);
    for (let attempt = 0; attempt < 200 && (existsSync(dropped) || fs.stats().cache.pinnedBytes > 0); attempt++) {
      Bun.gc(true);
      await Bun.sleep(5);
    }
    expect(existsSync(dropped)).toBe(false);
    expect(fs.stats().cache.pinnedBytes).toBe(0);

    const kept = await fs.materialize("/model.bin");
    await fs.close();
    expect(existsSync(kept.path)).toBe(false);
    await kept.release(); // harmless after the close
  });
});

describe("transactions", () => {
  test("read their own writes, including bytes not yet uploaded, and publish once", async () => {
    const workspace = await testWorkspace("local", "tx-reads");
    const fs = await workspace.mount({ layout: { ...layout, inlineRecordBytes: 1 * KiB, packBytes: 4 * KiB } });
    await fs.writeFile("/existing.txt", "before");
    const before = fs.stats();
    await fs.transaction(async (tx) => {
      for (let index = 0; index < 20; index++) await tx.writeFile(`/batch/${index}.txt`, `file ${index} `.repeat(50));
      expect(await tx.readText("/batch/19.txt")).toBe("file 19 ".repeat(50));
      await tx.appendFile("/existing.txt", " and after");
      expect(await tx.readText("/existing.txt")).toBe("before and after");
      await tx.rename("/batch/0.txt", "/moved.txt");
      expect(await tx.exists("/batch/0.txt")).toBe(false);
      expect(await tx.readText("/moved.txt")).toBe("file 0 ".repeat(50));
      // Outside the transaction nothing is visible yet.
      expect(await fs.exists("/moved.txt")).toBe(false);
    });
    expect(fs.stats().commits!.commits - before.commits!.commits).toBe(1);
    expect(await fs.readText("/moved.txt")).toBe("file 0 ".repeat(50));
    await fs.close();
  });

  test("writes another task issues during a transaction wait for it and commit after it", async () => {
    const workspace = await testWorkspace("local", "tx-order");
    const fs = await workspace.mount();
    // Another task, started outside the body (a write of the mount from the body itself is EDEADLK).
    const go = Promise.withResolvers<void>();
    const outside = go.promise.then(() => fs.writeFile("/order.txt", "from outside, later"));
    await fs.transaction(async (tx) => {
      await tx.writeFile("/order.txt", "from the transaction");
      go.resolve(); // the other task writes now, while the transaction is open
      await Bun.sleep(20);
      expect(await tx.readText("/order.txt")).toBe("from the transaction");
    });
    await outside;
    expect(await fs.readText("/order.txt")).toBe("from outside, later");
    await fs.close();
  });

  test("a transaction object cannot be used after it ends", async () => {
    const workspace = await testWorkspace("local", "tx-end");
    const fs = await workspace.mount();
    let leaked: { writeFile(path: string, data: string): Promise<void> } | undefined;
    await fs.transaction(async (tx) => {
      leaked = tx;
    });
    await expectCode(leaked!.writeFile("/late", "x"), "EBADF");
    await fs.close();
  });
});
