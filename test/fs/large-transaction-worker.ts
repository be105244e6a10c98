// Writes one large transaction of 10 MiB files in a process of its own, as a caller would (each
// file's bytes a fresh buffer), and reports its peak RSS, so the memory bound of large
// transactions is measured, not assumed (large-files.test.ts). Then checks every file's bytes.
// argv: total bytes, backend ("local" | "s3"), work directory[, s3 bucket, s3 prefix].

import { LocalObjectStore, S3CachedFsManagerImpl, S3ObjectStore } from "../../src/core.ts";
import { s3StoreOptions } from "../support/s3-server.ts";

const [bytesArgument, backend, work, bucket, prefix] = process.argv.slice(2);
const total = Number(bytesArgument);
const fileBytes = Number(process.env.FILE_BYTES ?? 10 * 1024 * 1024);
const files = Math.ceil(total / fileBytes);

let peak = process.memoryUsage().rss;
const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 10);

/** File `index`'s bytes: deterministic, generated afresh on every call. */
function content(index: number): Uint8Array {
  const size = Math.min(fileBytes, total - index * fileBytes);
  const bytes = new Uint8Array(size);
  const words = new Uint32Array(bytes.buffer, 0, size >>> 2);
  let state = (index + 1) * 2654435761;
  for (let word = 0; word < words.length; word++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    words[word] = state >>> 0;
  }
  return bytes;
}

const storeFactory = () =>
  backend === "s3" ? new S3ObjectStore(s3StoreOptions(bucket!, { prefix: prefix! })) : new LocalObjectStore({ root: `${work}/bucket`, fsync: false });
const manager = new S3CachedFsManagerImpl({ cacheRoot: `${work}/cache`, storeFactory });
const fs = await manager.mount({ name: "large-transaction", cacheBytes: 64 * 1024 * 1024 });
const before = process.memoryUsage().rss;
peak = before;
const started = performance.now();
await fs.transaction(async (tx) => {
  await tx.mkdir("/files");
  for (let index = 0; index < files; index++) await tx.writeFile(`/files/${index}.bin`, content(index));
});
const writeSeconds = (performance.now() - started) / 1000;
const writePeak = peak;
clearInterval(sampler);
let mismatches = 0;
for (let index = 0; index < files; index++) {
  const expected = Bun.hash.xxHash3(content(index));
  if (Bun.hash.xxHash3(await fs.readFile(`/files/${index}.bin`)) !== expected) mismatches++;
}
await fs.close();
console.log(JSON.stringify({ files, bytes: total, before, peakRss: writePeak, writeSeconds, mismatches }));
