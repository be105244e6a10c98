// Keeping long streams within bounded memory. JavaScriptCore collects large byte buffers lazily:
// streaming gigabytes through fresh 8 MiB buffers (fetched ranges, a caller's stream pieces)
// let garbage pile up to 330 MB of RSS for a 2 GiB write or read here, although little of it was
// live. Long streams therefore ask for a synchronous collection every `intervalBytes` they move.
// Measured (test/fs/large-file-worker.ts, 2 GiB on LocalObjectStore): peak RSS 193 MB instead of
// 260-330 MB, for 10-15% of throughput on local disk, and far less where the network is slower.

const intervalBytes = 64 * 1024 * 1024;

export class StreamingMemory {
  private sinceCollection = 0;

  /** Records `bytes` moved; collects garbage when enough has passed through. */
  moved(bytes: number): void {
    this.sinceCollection += bytes;
    if (this.sinceCollection < intervalBytes) return;
    this.sinceCollection = 0;
    Bun.gc(true);
  }
}
