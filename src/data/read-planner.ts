// Read planning: for every read of file bytes, what to fetch now, what to fetch ahead of it in the
// background, and, for a stream, its windows. The whole read-ahead policy lives here:
//
//   whole file  its extents now; on the second cold read in one directory within a short while,
//               the rest of that directory's small files too, in a few coalesced ranges (a scan)
//   range       the extents it touches now; when it starts where the previous range of the same
//               file ended, the next two chunks' worth as well (a piecewise reader)
//   stream      windows of one chunk, a few fetched ahead of the consumer; a file larger than half
//               the cache streams past it instead of evicting everything else
//
// The planner only decides. The DataReader (data-reader.ts) carries a plan out: memory, cache,
// then coalesced ranged GETs.

import type { Extent } from "../log/ops.ts";
import type { DataLayout } from "./data-writer.ts";
import type { SegmentCache } from "./segment-cache.ts";

/** Extents with their position in the file, as the index returns them (in position order). */
export type PlacedExtent = Extent & { position: number };

/** The file being read, as the index describes it. */
export interface PlannedFile {
  id: number;
  /** Its directory. */
  parent: number;
  size: number;
  mtime: number;
}

/** What a scan's prefetch needs of the index: a directory's entries and a file's extents. */
export interface DirectoryListing {
  children(directory: number): readonly { id: number; ino: number; kind: string; size: number }[];
  /** A file's extents, by its inode (`ino`: every name of a file shares them). */
  extents(inode: number): readonly PlacedExtent[];
}

/** One read: the file bytes [from, to) it returns, and what to fetch for them. */
export interface ReadPlan {
  from: number;
  to: number;
  /** The extents holding [from, to), in file order: read now. */
  fetch: readonly PlacedExtent[];
  /** Extents to bring into the cache in the background (started before `fetch`, which may share their GETs). */
  prefetch: readonly Extent[];
  /** Whether the fetched bytes are kept in the cache. */
  cache: boolean;
}

/** A stream: its windows, in order, and how many are fetched ahead of the consumer. */
export interface StreamPlan {
  windowsAhead: number;
  /** Each window's plan, computed as the stream reaches it. */
  windows: Iterator<ReadPlan>;
}

export interface StreamOptions {
  start?: number;
  /** Inclusive, as node:fs's createReadStream. */
  end?: number;
  windowBytes?: number;
  windowsAhead?: number;
}

export class ReadPlanner {
  private readonly scans = new ScanDetector();
  private readonly sequential: SequentialReads;

  constructor(
    private readonly cache: SegmentCache,
    private readonly layout: DataLayout,
    /** Ranged GETs the mount's reads may have in flight. */
    private readonly readConcurrency: number,
  ) {
    // Two chunks ahead of a piecewise reader: two 8 MiB ranged GETs in flight by default.
    this.sequential = new SequentialReads(2 * layout.chunkBytes);
  }

  /**
   * A whole file. `listing` is absent inside a transaction: its reads see bytes of its own, and a
   * scan is noticed only on the committed view.
   */
  wholeFile(file: PlannedFile, extents: readonly PlacedExtent[], listing: DirectoryListing | undefined): ReadPlan {
    const prefetch = listing === undefined ? [] : this.scanPrefetch(file, extents, listing);
    return { from: 0, to: file.size, fetch: extents, prefetch, cache: true };
  }

  /** Bytes [offset, offset + length) of a file, cut at its end. */
  range(file: PlannedFile, extents: readonly PlacedExtent[], offset: number, length: number): ReadPlan {
    const end = Math.min(file.size, offset + length);
    if (offset >= end) return { from: offset, to: offset, fetch: [], prefetch: [], cache: true };
    return { from: offset, to: end, fetch: touching(extents, offset, end), prefetch: this.sequential.read(file, extents, offset, end), cache: true };
  }

  /** A stream of the file's bytes from `start` to `end` (inclusive), a window at a time. */
  stream(file: PlannedFile, extents: readonly PlacedExtent[], options: StreamOptions): StreamPlan {
    const start = Math.max(0, options.start ?? 0);
    const end = Math.min(file.size, options.end === undefined ? file.size : options.end + 1);
    const window = Math.max(1, options.windowBytes ?? this.layout.chunkBytes);
    const cache = file.size <= this.cache.maxBytes / 2;
    // Several windows are fetched ahead of the consumer, so a sequential read keeps that many
    // ranged GETs in flight, as a parallel download would. Three by default (at most half the read
    // concurrency): a fourth raised a long stream's peak memory for no clear gain in speed
    // (docs/performance.md, "How the stream closed its gap").
    const windowsAhead = Math.max(1, options.windowsAhead ?? Math.min(3, Math.ceil(this.readConcurrency / 2)));
    function* windows(): Generator<ReadPlan> {
      for (let from = start; from < end; from = Math.min(end, from + window)) {
        const to = Math.min(end, from + window);
        yield { from, to, fetch: touching(extents, from, to), prefetch: [], cache };
      }
    }
    return { windowsAhead, windows: windows() };
  }

  /**
   * On the second cold read in one directory within a short while, the rest of the directory's
   * small files, in large coalesced ranges that this read and the next ones then share.
   */
  private scanPrefetch(file: PlannedFile, extents: readonly PlacedExtent[], listing: DirectoryListing): Extent[] {
    const { cache, layout } = this;
    if (extents.every((extent) => cache.has(extent.object, extent.offset, extent.length))) return [];
    if (!this.scans.miss(file.parent)) return [];
    const budget = Math.min(cache.maxBytes / 4, 64 * 1024 * 1024);
    const byObject = new Map<string, Extent[]>();
    let total = 0;
    for (const sibling of listing.children(file.parent)) {
      if (sibling.kind !== "file" || sibling.size > layout.largeFileBytes) continue;
      if (total + sibling.size > budget) break;
      total += sibling.size;
      for (const extent of listing.extents(sibling.ino)) {
        if (cache.has(extent.object, extent.offset, extent.length)) continue;
        byObject.set(extent.object, [...(byObject.get(extent.object) ?? []), extent]);
      }
    }
    // Only objects holding several of the directory's files are worth a request of their own: a
    // directory whose files were written one commit each is read file by file, as it would be anyway.
    return [...byObject.values()].filter((group) => group.length > 1).flat();
  }
}

/** The bytes of [from, to) of the file, cut from the pieces of `plan.fetch` (views, not copies). */
export function cut(plan: ReadPlan, pieces: readonly Uint8Array[]): Uint8Array[] {
  return plan.fetch.map((extent, index) => {
    const a = Math.max(plan.from, extent.position);
    const b = Math.min(plan.to, extent.position + extent.length);
    return pieces[index]!.subarray(a - extent.position, b - extent.position);
  });
}

/** The bytes of [from, to) of the file in one new array, each piece at its place. */
export function gather(plan: ReadPlan, pieces: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(plan.to - plan.from);
  plan.fetch.forEach((extent, index) => out.set(pieces[index]!, Math.max(plan.from, extent.position) - plan.from));
  return out;
}

function touching(extents: readonly PlacedExtent[], from: number, to: number): PlacedExtent[] {
  return extents.filter((extent) => extent.position < to && extent.position + extent.length > from);
}

// ---- noticing a cold scan ----------------------------------------------------------------------
// An agent's `grep -r` or a loop over a directory reads hundreds of small neighbours, usually
// written together into the same records and packs; one ranged GET per file would pay a round trip
// each (docs/performance.md: 50 cold reads of one directory at 20 ms cost 1.22 s that way, against
// 79.3 ms with this prefetch). When a second cache miss lands in the same directory soon after the
// first, the rest of that directory's small files are fetched in a few large coalesced ranges, in
// the background. A single cold read stays exactly one GET of just its bytes.

const scanWindowMs = 2_000;
const scanCooldownMs = 30_000;

interface Seen {
  firstMiss: number;
  misses: number;
  prefetchedAt: number;
}

class ScanDetector {
  private readonly directories = new Map<number, Seen>();

  constructor(private readonly now: () => number = () => performance.now()) {}

  /** Records a miss in `directory`; true when it is time to prefetch the directory. */
  miss(directory: number): boolean {
    const now = this.now();
    let seen = this.directories.get(directory);
    if (seen === undefined || now - seen.firstMiss > scanWindowMs) {
      seen = { firstMiss: now, misses: 0, prefetchedAt: seen?.prefetchedAt ?? Number.NEGATIVE_INFINITY };
      this.directories.set(directory, seen);
    }
    seen.misses++;
    if (seen.misses < 2 || now - seen.prefetchedAt < scanCooldownMs) return false;
    seen.prefetchedAt = now;
    if (this.directories.size > 10_000) this.directories.clear(); // a bound, not a cache: forgetting is harmless
    return true;
  }
}

// ---- noticing sequential ranges ----------------------------------------------------------------
// A tool that reads a large file piece by piece (a parser, a hash, a copy through a fixed buffer)
// would otherwise wait a full round trip each time it crosses into an extent it has not fetched.
// When a range starts exactly where the previous one on the same file ended, the extents in the
// next `aheadBytes` after it are fetched in the background (rounded up to whole objects), each
// extent at most once per run of sequential reads, so the reads that follow find them in the cache
// or share the GET already in flight. A random access (any other offset) starts afresh and fetches
// only the extents it touches.

interface Run {
  /** The file's version: a rewritten file starts a new run. */
  version: string;
  /** Where the last read ended. */
  end: number;
  /** Everything before this file position has been asked for already. */
  requestedUntil: number;
}

/** Files whose run is remembered at once (the least recently read is forgotten first). */
const trackedFiles = 64;

class SequentialReads {
  private readonly runs = new Map<number, Run>();

  constructor(private readonly aheadBytes: number) {}

  /**
   * Records a read of [offset, end) of `file` (its extents in position order) and returns the
   * extents to fetch ahead of it: none unless the read continues the previous one.
   */
  read(file: PlannedFile, extents: readonly PlacedExtent[], offset: number, end: number): PlacedExtent[] {
    const version = `${file.size}:${file.mtime}:${extents[0]?.object ?? ""}`;
    const previous = this.runs.get(file.id);
    this.runs.delete(file.id);
    const continues = previous !== undefined && previous.version === version && previous.end === offset;
    const run: Run = { version, end, requestedUntil: continues ? Math.max(previous.requestedUntil, end) : end };
    this.runs.set(file.id, run);
    if (this.runs.size > trackedFiles) this.runs.delete(this.runs.keys().next().value!);
    // Topped up only when less than half the window is left ahead, so each top-up is at least half
    // a window of whole objects: a few large GETs rather than one per extent as the reader moves.
    if (!continues || run.requestedUntil - end >= this.aheadBytes / 2) return [];
    const until = Math.min(file.size, end + this.aheadBytes);
    const ahead: PlacedExtent[] = [];
    for (const extent of extents) {
      if (extent.position < run.requestedUntil) continue;
      const last = ahead[ahead.length - 1];
      // Up to the window's end, then to the end of the last object begun (one GET covers it).
      if (extent.position >= until && (last === undefined || extent.object !== last.object)) break;
      ahead.push(extent);
    }
    const last = ahead[ahead.length - 1];
    if (last !== undefined) run.requestedUntil = last.position + last.length;
    return ahead;
  }
}
