// Keeping long streams within bounded memory. JavaScriptCore collects large byte buffers lazily:
// streaming gigabytes through fresh 8 MiB buffers (fetched ranges, a caller's stream pieces) lets
// garbage pile up far beyond what is live. So long streams ask for collections as they go, each
// direction in the way that costs it least. docs/performance.md ("How the stream closed its gap",
// "Large files at scale") gives the measurements behind each rule and the ways not taken.

import { fullGC } from "bun:jsc";

const MiB = 1024 * 1024;
/** What a read stream may hold: its windows in flight or waiting for the consumer, and its garbage. */
export const readFootprintBytes = 88 * MiB;

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
 * Reads: the garbage is the windows handed to the consumer, each a fetched range given to it
 * without a copy (the HTTP client's chunks are freed as they are copied into the range:
 * S3ObjectStore's collectBody). The stream counts that garbage itself: a window it handed on is
 * garbage once the consumer asks for the next (it has read the last one's bytes; a consumer that
 * keeps them only makes collections find less). Its footprint, the windows it holds (up to
 * `windowsAhead` in flight or fetched, and the one the consumer is reading) and its garbage, stays
 * within 88 MiB: it asks for JavaScriptCore's synchronous full collection (`fullGC`) once the
 * garbage reaches 88 MiB less what it may hold (48 MiB with four 8 MiB windows ahead), unless the
 * garbage and the bytes it has still to hand on come to no more than 88 MiB, so that the rest of
 * the stream cannot take it past its footprint. The windows in flight are live, not garbage: a rule
 * on the heap's growth counted them (a GET's body is allocated whole when its response begins) and
 * collected twice in a 64 MiB stream. A collection blocks the thread the HTTP client reads on, for
 * about 25 ms in the benchmark's process however little it frees, since it marks everything live.
 *
 * A stream longer than its footprint also collects once at its start, a task later, once its first
 * GETs are on their way (the collection overlaps the wait for their first bytes): the heap it began
 * with may hold garbage of its own (a write just before, say), which would otherwise add to the
 * peak. `fullGC` frees the dead buffers for the next ones to reuse; `Bun.gc(true)` would also
 * discard compiled code and hand the pages back, so that the next buffers fault in fresh pages.
 */
export class StreamingReadMemory {
  private readonly collect: () => void;
  private readonly later: (task: () => void) => void;
  /** Garbage that sets off a collection: the footprint less what the stream may hold (at least a window). */
  readonly garbageLimit: number;
  /** Bytes of the windows the consumer has read past since the last collection. */
  private garbage = 0;
  /** The window handed on last: the consumer's until it asks for the next. */
  private handedOn = 0;
  /** Bytes not handed on yet. */
  private remaining: number;
  private ended = false;

  constructor(
    /** The stream's bytes, its window's size and how many windows it fetches ahead. */
    private readonly stream: { bytes: number; windowBytes: number; windowsAhead: number },
    runtime: { collect?: () => void; later?: (task: () => void) => void } = {},
  ) {
    this.collect = runtime.collect ?? fullGC;
    this.later = runtime.later ?? ((task) => void setTimeout(task, 0));
    this.garbageLimit = Math.max(stream.windowBytes, readFootprintBytes - (stream.windowsAhead + 1) * stream.windowBytes);
    this.remaining = stream.bytes;
  }

  /** Called once the stream's first windows have been asked for. */
  started(): void {
    if (this.stream.bytes <= readFootprintBytes) return;
    this.later(() => {
      if (!this.ended) this.collect();
    });
  }

  /** Records that a window of `bytes` is handed on (the consumer has read the ones before); `last` when no more follow. */
  moved(bytes: number, last: boolean): void {
    this.garbage += this.handedOn;
    this.handedOn = bytes;
    this.remaining -= bytes;
    if (last || this.garbage < this.garbageLimit) return;
    // Everything still to come ends up held or garbage: if that fits, no collection is needed.
    if (this.garbage + this.handedOn + this.remaining <= readFootprintBytes) return;
    this.collect();
    this.garbage = 0;
  }

  /** The stream has ended (done, failed or cancelled): a collection still to come is not needed. */
  end(): void {
    this.ended = true;
  }
}
