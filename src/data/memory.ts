// Keeping long streams within bounded memory. JavaScriptCore collects large byte buffers lazily:
// streaming gigabytes through fresh 8 MiB buffers (fetched ranges, a caller's stream pieces) lets
// garbage pile up far beyond what is live. So long streams ask for collections as they go, each
// direction in the way that costs it least. docs/performance.md ("How the stream closed its gap",
// "Large files at scale") gives the measurements behind each rule and the ways not taken.

import { fullGC, heapSize } from "bun:jsc";

const MiB = 1024 * 1024;
/** Heap growth that sets off a read's first collection, and each one after it (see below). */
const firstReadGarbageBytes = 40 * MiB;
const readGarbageBytes = 80 * MiB;

/**
 * Writes: the garbage is the caller's pieces and what the HTTP client keeps while it uploads, much
 * of it outside the JavaScript heap, so a heap rule does not bound it. The stream watches the
 * process's resident set, and when it has grown by 32 MiB since the stream began (or since the last
 * collection), asks for `Bun.gc(true)`, which also hands freed pages back to the system. A stream
 * that does not inflate memory never pays for one.
 */
export class StreamingWriteMemory {
  private sinceCheck = 0;
  private baseline = process.memoryUsage.rss();

  /** Records `bytes` moved; collects garbage when the stream has inflated memory. */
  moved(bytes: number): void {
    this.sinceCheck += bytes;
    if (this.sinceCheck < 8 * MiB) return;
    this.sinceCheck = 0;
    if (process.memoryUsage.rss() - this.baseline < 32 * MiB) return;
    Bun.gc(true);
    this.baseline = process.memoryUsage.rss();
  }
}

/**
 * Reads: the garbage is the fetched ranges handed to the consumer, in the JavaScript heap (the HTTP
 * client's chunks are freed as they are copied: S3ObjectStore's collectBody). The stream watches
 * the heap's size (`heapSize`: live objects plus the buffers not yet collected) and asks for
 * JavaScriptCore's synchronous full collection (`fullGC`) once it has grown by 40 MiB since the
 * stream began, then whenever it has grown by 80 MiB since the last collection. The first comes
 * sooner because the heap the stream began with may hold garbage of its own (a write just before,
 * say), which would otherwise add to the peak. `fullGC` frees the dead buffers for the next ones
 * to reuse; `Bun.gc(true)` would also discard compiled code and hand the pages back, so that the
 * next buffers fault in fresh pages, and a resident-set trigger would count the in-flight ranges
 * refilling those pages as growth and collect far too often. The end of a stream asks for nothing:
 * nothing follows that a collection would make room for.
 */
export class StreamingReadMemory {
  private readonly heapSize: () => number;
  private readonly collect: () => void;
  private baseline: number;
  private collected = false;

  constructor(heap: { heapSize?: () => number; collect?: () => void } = {}) {
    this.heapSize = heap.heapSize ?? heapSize;
    this.collect = heap.collect ?? fullGC;
    this.baseline = this.heapSize();
  }

  /** Records that a window was handed on; `last` when no more follow. */
  moved(last: boolean): void {
    if (last) return;
    const size = this.heapSize();
    if (size < this.baseline) this.baseline = size; // collected on its own
    if (size - this.baseline < (this.collected ? readGarbageBytes : firstReadGarbageBytes)) return;
    this.collect();
    this.collected = true;
    this.baseline = this.heapSize();
  }
}
