// Keeping long streams within bounded memory. JavaScriptCore collects large byte buffers lazily:
// streaming gigabytes through fresh 8 MiB buffers (fetched ranges, a caller's stream pieces) let
// garbage pile up: with no collections asked for, a 2 GiB read from Ceph RGW peaked at 264-281 MiB
// of RSS, although little of it was live. So long streams ask for collections as they go, each
// direction in the way measured to cost it least.

import { fullGC, heapSize } from "bun:jsc";

const MiB = 1024 * 1024;
/** Heap growth that sets off a read's first collection, and each one after it (see below). */
const firstReadGarbageBytes = 40 * MiB;
const readGarbageBytes = 80 * MiB;

/**
 * Writes: the garbage is the caller's pieces and what the HTTP client keeps while it uploads,
 * not all of it in the JavaScript heap: the readers' rule below let a 2 GiB write to Ceph RGW
 * peak at 244-278 MiB. The stream watches the process's resident set, and when
 * it has grown by 32 MiB since the stream began (or since the last collection), asks for
 * `Bun.gc(true)`, which also hands freed pages back to the system. A stream that does not inflate
 * memory never pays for one. Measured (test/fs/large-file-worker.ts, 2 GiB written to Ceph RGW):
 * peak RSS 186-193 MiB.
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
 * refilling those pages as growth: that way collected every 12 MiB or so. The end of a stream asks
 * for nothing: nothing follows that a collection would make room for.
 *
 * Measured on Ceph RGW, a 2 GiB stream alone in a process of 70 MiB: `Bun.gc(true)` on 32 MiB of
 * resident-set growth ran 119-177 collections of ~20 ms, 217-267 MiB/s, peak 161-172 MiB; no
 * collections at all, 370-384 MiB/s, peak 264-281 MiB. With these rules, after a 2 GiB write in
 * the same process (test/fs/large-file-worker.ts): peak 189-215 MiB at 251-340 MiB/s on RGW over
 * four runs, and 180-203 MiB on LocalObjectStore over five. In the benchmark's process, whose
 * larger heap makes a collection cost 21-37 ms, a 64 MiB stream asked for none or one with the
 * 80 MiB rule alone (logged in a run); the earlier first collection adds at most one.
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
