// A cache smaller than what is read (src/data/read-planner.ts, src/data/segment-cache.ts): whatever
// the cache's size, a read costs at most one GET; a file larger than the cache is fetched once per
// read and never evicts its way in; and read-ahead windows that the cache evicts before the reader
// gets to them are losses: they stay counted as waste and cap the reader's windows at half the
// latest, so a reader jumping about a directory ten times the cache fetches no more bytes than it
// reads, while a reader that then goes on in order gets its windows back. Counts are
// deterministic; no time is asserted.
import { afterAll, describe, expect, test } from "bun:test";
import type { S3CachedFs } from "../../src/core.ts";
import { removeTempDirectories } from "../support/temp.ts";
import { testWorkspace, type Backend, type TestWorkspace } from "../support/mounts.ts";
import { KiB, fileBytes, files, initialWindow, name, seeded } from "../support/directory-of-files.ts";

afterAll(removeTempDirectories);

/** A read-only mount on an empty cache of `cacheBytes`. */
function coldReader(workspace: TestWorkspace, cacheBytes: number): Promise<S3CachedFs> {
  return workspace.mount({ name: "cold-reader", mode: "readonly", cacheBytes }, { cacheRoot: workspace.freshCacheRoot() });
}

/** GETs and bytes fetched by reading `paths` one at a time (each checked against `expected`). */
async function readAll(reader: S3CachedFs, paths: readonly string[], expected: (path: string) => { size: number; fill: number }) {
  const before = reader.stats().requests;
  let bytesRead = 0;
  for (const path of paths) {
    const bytes = await reader.readFile(path);
    const { size, fill } = expected(path);
    expect(bytes.byteLength).toBe(size);
    expect(bytes[0]).toBe(fill);
    expect(bytes[size - 1]).toBe(fill);
    bytesRead += size;
  }
  const after = reader.stats().requests;
  return { get: after.get.requests - before.get.requests, total: after.total.requests - before.total.requests, bytesIn: after.total.bytesIn - before.total.bytesIn, bytesRead };
}

const inDir = (path: string) => {
  const index = Number(/file(\d+)\.bin$/.exec(path)![1]);
  return { size: fileBytes, fill: index % 251 };
};

/** A deterministic sequence of `count` indexes below `below`, repeats allowed (a seeded linear congruential generator). */
function randomIndexes(count: number, below: number, seed: number): number[] {
  let state = seed;
  return Array.from({ length: count }, () => {
    state = (state * 1103515245 + 12345) >>> 0;
    return (state >>> 8) % below;
  });
}

for (const backend of ["local", "s3"] as Backend[]) {
  describe(`a cache smaller than what is read (${backend})`, () => {
    test("files larger than the cache: each read is one GET of exactly its bytes, again on every read, and the cache stays within its bound", async () => {
      const workspace = await testWorkspace(backend, "small-large-files");
      const writer = await workspace.mount();
      const size = 100 * KiB;
      await writer.transaction(async (tx) => {
        for (let index = 0; index < 8; index++) await tx.writeFile(`/big/f${index}.bin`, new Uint8Array(size).fill(index + 1));
      });
      await writer.close();
      const cacheBytes = 64 * KiB;
      const reader = await coldReader(workspace, cacheBytes);
      const paths = [0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 7, 7].map((index) => `/big/f${index}.bin`);
      const cost = await readAll(reader, paths, (path) => ({ size, fill: Number(/f(\d)\.bin$/.exec(path)![1]) + 1 }));
      // Nothing is fetched ahead (no neighbour fits a quarter of the cache) and nothing can be kept.
      expect(cost).toEqual({ get: paths.length, total: paths.length, bytesIn: paths.length * size, bytesRead: paths.length * size });
      expect(reader.stats().cache.usedBytes).toBeLessThanOrEqual(cacheBytes);
      await reader.close();
    });

    test("random reads of a directory ten times the cache: windows the cache evicts before they are read stop the windows, so never more than one GET per read and no more bytes fetched than read", async () => {
      const workspace = await seeded(backend, "small-random");
      const cacheBytes = (files * fileBytes) / 10;
      const reader = await coldReader(workspace, cacheBytes);
      const paths = randomIndexes(600, files, 11).map(name);
      const cost = await readAll(reader, paths, inDir);
      console.log(`random reads, cache a tenth of the directory: ${paths.length} reads, ${cost.get} GETs, ${(cost.bytesIn / cost.bytesRead).toFixed(2)} bytes fetched per byte read, ${reader.stats().cache.evictions} evictions`);
      expect(reader.stats().cache.evictions).toBeGreaterThan(0);
      expect(cost.get).toBeLessThanOrEqual(paths.length);
      expect(cost.total).toBe(cost.get);
      // Before, windows kept growing as if their evicted files had been read, every file fetched
      // ahead pushing out one the reader came back to: 1.23 bytes fetched per byte read.
      expect(cost.bytesIn).toBeLessThanOrEqual(cost.bytesRead);
      expect(reader.stats().cache.usedBytes).toBeLessThanOrEqual(cacheBytes);
      await reader.close();
    });

    test("after its windows were lost, a reader that goes on in order gets them back: a run of files in order costs a fraction of a GET per file", async () => {
      const workspace = await seeded(backend, "small-recovery");
      const cacheBytes = (files * fileBytes) / 10;
      const reader = await coldReader(workspace, cacheBytes);
      // Random reads of the first 300 files, until windows are lost; then the last 100 in order.
      await readAll(reader, randomIndexes(400, 300, 11).map(name), inDir);
      const ordered = Array.from({ length: 100 }, (_, index) => name(300 + index));
      const cost = await readAll(reader, ordered, inDir);
      console.log(`in order after losses: ${ordered.length} reads, ${cost.get} GETs, ${(cost.bytesIn / cost.bytesRead).toFixed(2)} bytes fetched per byte read`);
      expect(cost.get).toBeLessThanOrEqual(ordered.length / 4);
      expect(cost.bytesIn).toBeLessThanOrEqual(2 * cost.bytesRead + initialWindow);
      await reader.close();
    });
  });
}
