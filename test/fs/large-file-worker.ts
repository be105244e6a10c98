// Writes and reads back one large file in a process of its own, and reports its peak RSS, so the
// memory bound of streaming writes and reads is measured, not assumed (large-files.test.ts).
// argv: bytes, backend ("local" | "s3"), work directory[, s3 bucket, s3 prefix]; WINDOWS_AHEAD sets
// the read-ahead of stream() (to compare its memory and speed).

import { LocalObjectStore, S3CachedFsManagerImpl, S3ObjectStore } from "../../src/core.ts";
import { s3StoreOptions } from "../support/s3-server.ts";

const [bytesArgument, backend, work, bucket, prefix] = process.argv.slice(2);
const total = Number(bytesArgument);
const piece = 1024 * 1024;

let peak = process.memoryUsage().rss;
const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 10);

/** Deterministic bytes, generated a MiB at a time: the source itself holds almost nothing. */
function source(): ReadableStream<Uint8Array> {
  let produced = 0;
  return new ReadableStream({
    pull(controller) {
      if (produced >= total) return controller.close();
      const size = Math.min(piece, total - produced);
      const bytes = new Uint8Array(size);
      const words = new Uint32Array(bytes.buffer, 0, size >>> 2);
      let state = (produced / piece + 1) >>> 0;
      for (let index = 0; index < words.length; index++) {
        state ^= state << 13;
        state ^= state >>> 17;
        state ^= state << 5;
        words[index] = state >>> 0;
      }
      produced += size;
      controller.enqueue(bytes);
    },
  });
}

async function digest(stream: ReadableStream<Uint8Array>): Promise<{ hash: string; size: number }> {
  const hasher = new Bun.CryptoHasher("sha256");
  let size = 0;
  for await (const chunk of stream) {
    hasher.update(chunk);
    size += chunk.byteLength;
  }
  return { hash: hasher.digest("hex"), size };
}

const storeFactory = () =>
  backend === "s3" ? new S3ObjectStore(s3StoreOptions(bucket!, { prefix: prefix! })) : new LocalObjectStore({ root: `${work}/bucket`, fsync: false });
const manager = new S3CachedFsManagerImpl({ cacheRoot: `${work}/cache`, storeFactory });
const fs = await manager.mount({ name: "large", cacheBytes: 64 * 1024 * 1024 });
const expected = await digest(source());
const peaks: Record<string, number> = { source: peak };
peak = process.memoryUsage().rss;
let started = performance.now();
await fs.writeFile("/large.bin", source());
const writeSeconds = (performance.now() - started) / 1000;
peaks.write = peak;
peak = process.memoryUsage().rss;
started = performance.now();
const read = await digest(await fs.stream("/large.bin", process.env.WINDOWS_AHEAD === undefined ? {} : { windowsAhead: Number(process.env.WINDOWS_AHEAD) }));
const readSeconds = (performance.now() - started) / 1000;
peaks.read = peak;
peak = Math.max(...Object.values(peaks));
await fs.close();
clearInterval(sampler);
console.log(JSON.stringify({ expected: expected.hash, read: read.hash, size: read.size, peakRss: peak, peaks, writeSeconds, readSeconds }));
