// Reading file bytes: carries out the read planner's plans (read-planner.ts). For each extent,
// memory (a batch still being built), then the cache, then the object store with ranged GETs of
// just the bytes needed. Neighbouring extents of one object are coalesced into one request (up to
// `maxRangeBytes`), concurrent misses on the same bytes share one request, and every extent is
// verified against its hash before it is returned.
//
// A read given an AbortSignal stops waiting when it aborts (rejecting with the signal's reason), and
// a GET is aborted once every read waiting for it has aborted: a GET some read without a signal (or
// a prefetch) waits for runs to its end, and its bytes reach the cache as usual. An aborted GET puts
// nothing in the cache.

import type { ObjectStore } from "../stores/object-store.ts";
import { CorruptObjectError } from "../stores/store-errors.ts";
import { hashBytes, type Extent } from "../log/ops.ts";
import type { SegmentCache } from "./segment-cache.ts";
import { cut, type ReadPlan, type StreamPlan } from "./read-planner.ts";
import { StreamingReadMemory } from "./memory.ts";
import { HotExtents, hotExtentBudget } from "./hot-extents.ts";

/** Bytes not yet in the object store (an open batch's inline data and packs). */
export interface PendingBytes {
  bytesFor(object: string, offset: number, length: number): Uint8Array | undefined;
  /** Whether `object` is one of the pending ones (not in the store yet). */
  holds(object: string): boolean;
}

export interface DataReaderOptions {
  /** Largest single ranged GET (default 8 MiB). */
  maxRangeBytes: number;
  /** Extents this close together in one object are fetched in one request (default 64 KiB). */
  coalesceGapBytes: number;
  /** Concurrent GETs (default 8). */
  concurrency: number;
}

interface Fetch {
  object: string;
  offset: number;
  length: number;
  bytes: Promise<Uint8Array>;
  /** Aborts the GET: done when the last read waiting for it aborts. */
  controller: AbortController;
  /** Reads with a signal still waiting for it. */
  waiters: number;
  /** A read without a signal, or a prefetch, waits for it: it is never aborted. */
  needed: boolean;
}

export class DataReader {
  private readonly inflight = new Map<string, Fetch[]>();
  private closed = false;
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  /** Verified copies of small extents the cache holds, so a warm small read stays in memory. */
  private readonly hot: HotExtents;

  constructor(
    private readonly store: ObjectStore,
    private readonly cache: SegmentCache,
    private readonly options: DataReaderOptions,
  ) {
    this.hot = new HotExtents(cache, hotExtentBudget(cache.maxBytes));
  }

  /**
   * Carries out one read's plan: its prefetch starts in the background first (so the read shares
   * its GETs), then the plan's own extents are read. Returns the bytes of [from, to), in file
   * order, as views of the fetched pieces: at once, without a promise, when all of them are in
   * memory (a warm small file), so that such a read waits on nothing.
   */
  readPlanned(plan: ReadPlan, pending?: PendingBytes, signal?: AbortSignal): Uint8Array[] | Promise<Uint8Array[]> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (plan.prefetch.length > 0) void this.prefetch(plan.prefetch, pending);
    const inMemory = this.fromMemory(plan.fetch, pending);
    if (!inMemory.includes(undefined)) return cut(plan, inMemory as Uint8Array[]);
    return this.read(plan.fetch, pending, { cache: plan.cache, ...(signal === undefined ? {} : { signal }) }, inMemory).then((pieces) => cut(plan, pieces));
  }

  /**
   * A stream's plan carried out: `windowsAhead` windows in flight ahead of the consumer, each
   * handed on as fetched, without copying. A failure is passed through `failure` (the facade's
   * errno) and ends the stream. Aborting `signal` errors the stream (through `failure`, with the
   * signal's reason) and aborts the GETs of its windows, as cancelling the stream does.
   */
  stream(plan: StreamPlan, pending: PendingBytes | undefined, failure: (error: unknown) => Error, signal?: AbortSignal): ReadableStream<Uint8Array> {
    const memory = new StreamingReadMemory(plan);
    const ahead: Promise<Uint8Array[]>[] = [];
    let done = false;
    // The stream's own signal: aborted by the caller's, or by the consumer cancelling the stream.
    const ending = new AbortController();
    let target: ReadableStreamDefaultController<Uint8Array> | undefined;
    const stop = () => {
      ahead.length = 0;
      done = true;
      memory.end();
      signal?.removeEventListener("abort", onAbort);
    };
    const onAbort = () => {
      stop();
      ending.abort(signal!.reason);
      target?.error(failure(signal!.reason));
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    const fill = () => {
      while (!done && ahead.length < plan.windowsAhead) {
        const window = plan.windows.next();
        if (window.done === true) {
          done = true;
          return;
        }
        const fetching = Promise.resolve(this.readPlanned(window.value, pending, ending.signal));
        fetching.catch(() => {}); // surfaced when its turn comes
        ahead.push(fetching);
      }
    };
    fill();
    memory.started();
    return new ReadableStream<Uint8Array>({
      start: (controller) => {
        target = controller;
      },
      pull: async (controller) => {
        const current = ahead.shift();
        if (current === undefined) {
          stop();
          controller.close();
          return;
        }
        try {
          const pieces = await current;
          fill();
          memory.moved(
            pieces.reduce((sum, piece) => sum + piece.byteLength, 0),
            ahead.length === 0,
          );
          for (const piece of pieces) controller.enqueue(piece);
          if (ahead.length === 0) {
            stop();
            controller.close();
          }
        } catch (error) {
          if (ending.signal.aborted) return; // aborted: the stream is already errored with the abort
          stop();
          controller.error(failure(error));
        }
      },
      cancel: (reason) => {
        stop();
        ending.abort(reason);
      },
    });
  }

  /**
   * Each extent's bytes that are in memory (a batch's own, or a hot copy), without waiting on
   * anything: a warm read of a small file finds them all and never touches the disk.
   */
  private fromMemory(extents: readonly Extent[], pending: PendingBytes | undefined): (Uint8Array | undefined)[] {
    return extents.map((extent) => pending?.bytesFor(extent.object, extent.offset, extent.length) ?? this.hot.get(extent));
  }

  /**
   * The verified bytes of each extent, in order. With `cache: false` what is fetched is not kept
   * (a sequential scan of a file larger than the cache would only evict everything else).
   */
  async read(
    extents: readonly Extent[],
    pending?: PendingBytes,
    options: { cache?: boolean; signal?: AbortSignal } = {},
    inMemory: readonly (Uint8Array | undefined)[] = this.fromMemory(extents, pending),
  ): Promise<Uint8Array[]> {
    options.signal?.throwIfAborted();
    const results = [...inMemory];
    const misses: number[] = [];
    await Promise.all(
      extents.map(async (extent, index) => {
        if (results[index] !== undefined) return;
        const cached = await this.verifiedFromCache(extent);
        if (cached !== undefined) results[index] = cached;
        else misses.push(index);
      }),
    );
    // A fetch ahead of this read (read-ahead, a scan's prefetch) may have landed while the other
    // extents were read from disk: take its bytes rather than fetch them again.
    const unfetched: number[] = [];
    for (const index of misses.sort((a, b) => a - b)) {
      const extent = extents[index]!;
      const landed = this.cache.has(extent.object, extent.offset, extent.length) ? await this.verifiedFromCache(extent) : undefined;
      if (landed !== undefined) results[index] = landed;
      else unfetched.push(index);
    }
    if (unfetched.length > 0) {
      const fetched = await this.fetchAll(unfetched.map((index) => extents[index]!), options.cache ?? true, options.signal);
      unfetched.forEach((index, position) => (results[index] = fetched[position]));
    }
    return results as Uint8Array[];
  }

  /** The extent's bytes from the cache if they are there and sound; a damaged copy is discarded. */
  private async verifiedFromCache(extent: Extent): Promise<Uint8Array | undefined> {
    const cached = await this.cache.read(extent.object, extent.offset, extent.length);
    if (cached === undefined) return undefined;
    if (hashBytes(cached) === extent.hash) {
      this.hot.remember(extent, cached);
      return cached;
    }
    await this.cache.discard(extent.object, extent.offset, extent.length);
    return undefined;
  }

  /** Whether a GET covering these bytes is in flight (and not being abandoned). */
  fetching(object: string, offset: number, length: number): boolean {
    return (this.inflight.get(object) ?? []).some((fetch) => !fetch.controller.signal.aborted && fetch.offset <= offset && fetch.offset + fetch.length >= offset + length);
  }

  /** Warms the cache with these extents (prefetch); errors are ignored. */
  async prefetch(extents: readonly Extent[], pending?: PendingBytes): Promise<void> {
    if (this.closed) return;
    const missing = extents.filter((extent) => pending?.holds(extent.object) !== true && !this.cache.has(extent.object, extent.offset, extent.length));
    await this.fetchAll(missing, true).catch(() => {});
  }

  /** Stops starting background work (prefetches) and waits for every fetch in flight. */
  async close(): Promise<void> {
    this.closed = true;
    while (this.inflight.size > 0) await Promise.allSettled([...this.inflight.values()].flat().map((fetch) => fetch.bytes));
  }

  private async fetchAll(extents: readonly Extent[], cache: boolean, signal?: AbortSignal): Promise<Uint8Array[]> {
    const results: Uint8Array[] = new Array(extents.length);
    const groups = this.plan(extents);
    await Promise.all(
      groups.map(async (group) => {
        const bytes = await this.fetchRange(group.object, group.offset, group.length, cache, signal);
        for (const index of group.members) {
          const extent = extents[index]!;
          const slice = bytes.subarray(extent.offset - group.offset, extent.offset - group.offset + extent.length);
          if (hashBytes(slice) !== extent.hash) results[index] = await this.refetch(extent, signal);
          else {
            results[index] = slice;
            if (cache) this.hot.remember(extent, slice);
          }
        }
      }),
    );
    return results;
  }

  /** Once more, alone, in case the first copy was damaged in transit; then it is corrupt. */
  private async refetch(extent: Extent, signal?: AbortSignal): Promise<Uint8Array> {
    await this.cache.discard(extent.object, extent.offset, extent.length);
    const object = await this.store.get(extent.object, { range: { offset: extent.offset, length: extent.length }, ...(signal === undefined ? {} : { signal }) });
    if (hashBytes(object.body) !== extent.hash) {
      throw new CorruptObjectError(
        `bytes ${extent.offset}..${extent.offset + extent.length} of ${extent.object} do not match their checksum ${extent.hash}`,
        { operation: "get", key: extent.object },
      );
    }
    return object.body;
  }

  /** Groups extents by object into coalesced ranges. */
  private plan(extents: readonly Extent[]): { object: string; offset: number; length: number; members: number[] }[] {
    const byObject = new Map<string, number[]>();
    extents.forEach((extent, index) => {
      const list = byObject.get(extent.object) ?? [];
      list.push(index);
      byObject.set(extent.object, list);
    });
    const groups: { object: string; offset: number; length: number; members: number[] }[] = [];
    for (const [object, indexes] of byObject) {
      indexes.sort((a, b) => extents[a]!.offset - extents[b]!.offset);
      let current: (typeof groups)[number] | undefined;
      for (const index of indexes) {
        const extent = extents[index]!;
        const end = extent.offset + extent.length;
        if (
          current !== undefined &&
          extent.offset <= current.offset + current.length + this.options.coalesceGapBytes &&
          Math.max(end, current.offset + current.length) - current.offset <= this.options.maxRangeBytes
        ) {
          current.length = Math.max(end, current.offset + current.length) - current.offset;
          current.members.push(index);
          continue;
        }
        current = { object, offset: extent.offset, length: extent.length, members: [index] };
        groups.push(current);
      }
    }
    return groups;
  }

  /**
   * One ranged GET, shared with any concurrent request for bytes it covers (one not aborted: a
   * GET whose readers all aborted is going away).
   */
  private fetchRange(object: string, offset: number, length: number, cache: boolean, signal?: AbortSignal): Promise<Uint8Array> {
    const running = this.inflight
      .get(object)
      ?.find((fetch) => !fetch.controller.signal.aborted && fetch.offset <= offset && fetch.offset + fetch.length >= offset + length);
    const fetch = running ?? this.startFetch(object, offset, length, cache);
    const slice = (bytes: Uint8Array) => bytes.subarray(offset - fetch.offset, offset - fetch.offset + length);
    if (signal === undefined) {
      fetch.needed = true;
      return fetch.bytes.then(slice);
    }
    return this.waitFor(fetch, signal).then(slice);
  }

  /** The fetch's bytes, or the signal's reason as soon as it aborts; the last waiter to abort aborts the GET. */
  private waitFor(fetch: Fetch, signal: AbortSignal): Promise<Uint8Array> {
    signal.throwIfAborted();
    fetch.waiters += 1;
    return new Promise<Uint8Array>((resolve, reject) => {
      let settled = false;
      const settle = () => {
        if (settled) return false;
        settled = true;
        fetch.waiters -= 1;
        signal.removeEventListener("abort", onAbort);
        return true;
      };
      const onAbort = () => {
        if (!settle()) return;
        if (fetch.waiters === 0 && !fetch.needed) fetch.controller.abort(signal.reason);
        reject(signal.reason);
      };
      signal.addEventListener("abort", onAbort, { once: true });
      fetch.bytes.then(
        (bytes) => settle() && resolve(bytes),
        (error: unknown) => settle() && reject(error),
      );
    });
  }

  private startFetch(object: string, offset: number, length: number, cache: boolean): Fetch {
    const controller = new AbortController();
    const fetch: Fetch = {
      object,
      offset,
      length,
      controller,
      waiters: 0,
      needed: false,
      bytes: this.limited(async () => {
        controller.signal.throwIfAborted(); // every reader gave up while it waited for a slot
        const response = await this.store.get(object, { range: { offset, length }, signal: controller.signal });
        if (response.body.byteLength !== length) {
          throw new CorruptObjectError(`${object} is shorter than the filesystem expects (wanted ${offset}+${length})`, { operation: "get", key: object });
        }
        // Not awaited: the cache serves these bytes from memory until they are on disk, and counts
        // them against its bound from now on; the reader need not wait for the disk.
        if (cache) void this.cache.insert(object, offset, response.body);
        return response.body;
      }),
    };
    const list = this.inflight.get(object) ?? [];
    list.push(fetch);
    this.inflight.set(object, list);
    const done = () => {
      const remaining = (this.inflight.get(object) ?? []).filter((entry) => entry !== fetch);
      if (remaining.length === 0) this.inflight.delete(object);
      else this.inflight.set(object, remaining);
    };
    fetch.bytes.then(done, done);
    return fetch;
  }

  private async limited<T>(task: () => Promise<T>): Promise<T> {
    while (this.active >= this.options.concurrency) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.active++;
    try {
      return await task();
    } finally {
      this.active--;
      this.waiting.shift()?.();
    }
  }
}
