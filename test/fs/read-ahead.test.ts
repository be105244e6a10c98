// Read-ahead in a directory (src/data/read-planner.ts, DirectoryReadAhead): what cold whole-file
// reads of many small neighbours fetch, asserted through the counting store every mount has. The
// window grows with the need the reader has shown: a first miss fetches only its file, a reader
// going through the directory in order pays a number of GETs growing with the logarithm of the files
// it reads, and whatever the pattern the bytes fetched stay within twice the bytes read plus one
// initial window. Counts are deterministic; no time is asserted.
import { afterAll, describe, expect, test } from "bun:test";
import type { S3CachedFs } from "../../src/core.ts";
import { removeTempDirectories } from "../support/temp.ts";
import { testWorkspace, type Backend, type TestWorkspace } from "../support/mounts.ts";
import { KiB, fileBytes, files, initialWindow, name, seeded } from "../support/directory-of-files.ts";

afterAll(removeTempDirectories);

/** A read-only mount on an empty cache. */
function coldReader(workspace: TestWorkspace, cacheBytes?: number): Promise<S3CachedFs> {
  return workspace.mount({ name: "cold-reader", mode: "readonly", ...(cacheBytes === undefined ? {} : { cacheBytes }) }, { cacheRoot: workspace.freshCacheRoot() });
}

/** GETs and bytes fetched by reading `indexes` one at a time (each checked). */
async function readAll(reader: S3CachedFs, indexes: readonly number[]): Promise<{ get: number; total: number; bytesIn: number; bytesRead: number }> {
  const before = reader.stats().requests;
  for (const index of indexes) {
    const bytes = await reader.readFile(name(index));
    expect(bytes.byteLength).toBe(fileBytes);
    expect(bytes[0]).toBe(index % 251);
    expect(bytes[fileBytes - 1]).toBe(index % 251);
  }
  const after = reader.stats().requests;
  return {
    get: after.get.requests - before.get.requests,
    total: after.total.requests - before.total.requests,
    bytesIn: after.total.bytesIn - before.total.bytesIn,
    bytesRead: indexes.length * fileBytes,
  };
}

/** A deterministic shuffle (a seeded linear congruential generator). */
function shuffled(count: number, seed: number): number[] {
  const out = Array.from({ length: count }, (_, index) => index);
  let state = seed;
  for (let index = count - 1; index > 0; index--) {
    state = (state * 1103515245 + 12345) >>> 0;
    const other = state % (index + 1);
    [out[index], out[other]] = [out[other]!, out[index]!];
  }
  return out;
}

const range = (from: number, count: number) => Array.from({ length: count }, (_, index) => from + index);

for (const backend of ["local", "s3"] as Backend[]) {
  describe(`read-ahead in a directory (${backend})`, () => {
    test("a first cold read fetches just its file; the second, in the same GET, its file and one initial window after it", async () => {
      const workspace = await seeded(backend, "ra-first");
      const reader = await coldReader(workspace);
      expect(await readAll(reader, [100])).toMatchObject({ get: 1, total: 1, bytesIn: fileBytes });
      // The window: as many files as fit in max(need, the initial window) = 64 KiB, six of 10 KiB.
      const window = Math.floor(initialWindow / fileBytes);
      expect(await readAll(reader, [200])).toMatchObject({ get: 1, total: 1, bytesIn: (1 + window) * fileBytes });
      // They are read without a request (the last of them would fetch the next window: not read here).
      expect(await readAll(reader, range(201, window - 1))).toMatchObject({ total: 0 });
      await reader.close();
    });

    test("a reader going through the directory in order pays GETs growing with the logarithm of the files read, and fetches at most twice what it reads", async () => {
      const workspace = await seeded(backend, "ra-sequential");
      // The first file alone; the second with the initial window; then each window, fetched when the
      // reader reaches the last file of the one before, as large as everything read so far.
      const expected: [start: number, count: number, gets: number][] = [
        [0, 2, 2],
        [0, 7, 2],
        [0, 8, 3],
        [0, 50, 5],
        [123, 50, 5],
        [0, 100, 6],
        [0, 400, 8],
      ];
      for (const [start, count, gets] of expected) {
        const reader = await coldReader(workspace);
        const cost = await readAll(reader, range(start, count));
        expect({ start, count, get: cost.get, total: cost.total }).toEqual({ start, count, get: gets, total: gets });
        expect(cost.bytesIn).toBeLessThanOrEqual(2 * cost.bytesRead + initialWindow);
        await reader.close();
      }
    });

    test("a reader jumping about leaves windows unread, and they shrink the next: bytes fetched stay within twice the bytes read plus one initial window", async () => {
      const workspace = await seeded(backend, "ra-scattered");
      for (const count of [20, 50, 100, files]) {
        const reader = await coldReader(workspace);
        const cost = await readAll(reader, shuffled(files, 7).slice(0, count));
        expect(cost.bytesIn).toBeLessThanOrEqual(2 * cost.bytesRead + initialWindow);
        expect(cost.get).toBeLessThanOrEqual(count); // never more than one GET per read
        expect(cost.total).toBe(cost.get);
        console.log(`${count} random reads of ${files} files: ${cost.get} GETs, ${(cost.bytesIn / cost.bytesRead).toFixed(2)} bytes fetched per byte read`);
        await reader.close();
      }
    });

    test("a window is at most a quarter of the cache: a directory eight times the cache's size read in order is fetched once, byte for byte, in windows of that size", async () => {
      const workspace = await seeded(backend, "ra-cache");
      const cacheBytes = 512 * KiB;
      const reader = await coldReader(workspace, cacheBytes);
      const cost = await readAll(reader, range(0, files));
      // Nothing fetched ahead was evicted before it was read (it would have been fetched again).
      expect(cost.bytesIn).toBe(files * fileBytes);
      // Windows of at most 128 KiB (twelve files): the ramp to it, then one GET per twelve files.
      const perWindow = Math.floor(cacheBytes / 4 / fileBytes);
      expect(cost.get).toBeLessThanOrEqual(Math.ceil(files / perWindow) + 4);
      expect(cost.get).toBeGreaterThanOrEqual(Math.ceil(files / perWindow));
      const stats = reader.stats().cache;
      expect(stats.usedBytes).toBeLessThanOrEqual(cacheBytes);
      expect(stats.evictions).toBeGreaterThan(0); // the directory did not fit: the bound was what held it
      await reader.close();
    });

    test("a reader going by name through files stored in another order finds the files before the one read in its window too", async () => {
      const workspace = await testWorkspace(backend, "ra-name-order");
      const writer = await workspace.mount();
      // Stored f1, f2, ..., f200; by name f1, f10, f100, f101, ..., f2, f20, ...
      await writer.transaction(async (tx) => {
        for (let index = 1; index <= 200; index++) await tx.writeFile(`/src/f${index}.ts`, `export const line${index} = ${index};\n`);
      });
      await writer.close();
      const reader = await coldReader(workspace);
      const names = (await reader.readdir("/src")).map(String);
      const before = reader.stats().requests;
      let bytesRead = 0;
      for (const entry of names) bytesRead += (await reader.readFile(`/src/${entry}`)).byteLength;
      const after = reader.stats().requests;
      // f1 alone; then f10 with the files after it (f11..f200) and before it (f2..f9) in one GET.
      expect(after.get.requests - before.get.requests).toBe(2);
      expect(after.total.bytesIn - before.total.bytesIn).toBe(bytesRead);
      await reader.close();
    });

    test("a directory written one commit per file is read file by file: a window never costs a GET per neighbour", async () => {
      const workspace = await testWorkspace(backend, "ra-one-per-commit");
      const writer = await workspace.mount();
      for (let index = 0; index < 30; index++) await writer.writeFile(name(index), new Uint8Array(fileBytes).fill(index % 251));
      await writer.close();
      const reader = await coldReader(workspace);
      expect(await readAll(reader, range(0, 30))).toMatchObject({ get: 30, total: 30, bytesIn: 30 * fileBytes });
      await reader.close();
    });
  });
}
