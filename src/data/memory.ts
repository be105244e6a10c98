// Keeping long streams within bounded memory. JavaScriptCore collects large byte buffers lazily:
// streaming gigabytes through fresh 8 MiB buffers (fetched ranges, a caller's stream pieces)
// let garbage pile up to 330 MB of RSS for a 2 GiB write or read here, although little of it was
// live. So a long stream watches the process's resident set as it goes, and when it has grown by
// `growthBytes` since the stream began (or since the last collection), asks for a synchronous
// collection. A stream that does not inflate memory never pays for one.
// Measured (test/fs/large-file-worker.ts, 2 GiB written then read back, a shared and busy
// machine): peak RSS 183-236 MiB on Ceph RGW and 155-193 MiB on LocalObjectStore, against
// 260-330 MB with no collections asked for; the collections cost about 15% of read speed here.
// They are the whole of the gap between stream() and raw parallel GETs: each fetched 8 MiB range
// leaves about 16 MiB of garbage (the HTTP client's chunks, then the body), so a 64 MiB stream
// asks for about four collections of 23-50 ms; without them it matched raw S3 but a 2 GiB read
// peaked at 354-357 MB (docs/performance.md, "Where the stream's gap goes").

const checkEveryBytes = 8 * 1024 * 1024;
const growthBytes = 32 * 1024 * 1024;

export class StreamingMemory {
  private sinceCheck = 0;
  private baseline = process.memoryUsage.rss();

  /** Records `bytes` moved; collects garbage when the stream has inflated memory. */
  moved(bytes: number): void {
    this.sinceCheck += bytes;
    if (this.sinceCheck < checkEveryBytes) return;
    this.sinceCheck = 0;
    if (process.memoryUsage.rss() - this.baseline < growthBytes) return;
    Bun.gc(true);
    this.baseline = process.memoryUsage.rss();
  }
}
