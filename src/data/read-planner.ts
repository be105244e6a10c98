// Read planning: for every read of file bytes, what to fetch now, what to fetch ahead of it in the
// background, and, for a stream, its windows. The whole read-ahead policy lives here:
//
//   whole file  its extents now; from the second cold read in a directory on, the small files
//               after it in that directory too, a window that grows with what the reader has shown
//               it needs (its bytes read there) and shrinks by what it fetched ahead and left unread,
//               halved when the cache evicted what it fetched ahead before the reader got there
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
  /** The bytes the stream hands on, all windows together, and the size of each window but the last. */
  bytes: number;
  windowBytes: number;
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
  private readonly sequential: SequentialReads;
  private readonly directories: DirectoryReadAhead;

  constructor(
    private readonly cache: SegmentCache,
    private readonly layout: DataLayout,
    /** Ranged GETs the mount's reads may have in flight. */
    private readonly readConcurrency: number,
    /** The reader's coalescing gap: bytes it already fetches unasked to save a request (the first window's floor). */
    initialWindowBytes = 64 * 1024,
    /**
     * Whether a GET of these bytes is in flight (DataReader.fetching): a file fetched ahead that is
     * neither cached nor on its way was evicted before it was read. Without it, none is taken to be.
     */
    fetching: (object: string, offset: number, length: number) => boolean = () => true,
  ) {
    // Two chunks ahead of a piecewise reader: two 8 MiB ranged GETs in flight by default.
    this.sequential = new SequentialReads(2 * layout.chunkBytes);
    this.directories = new DirectoryReadAhead(cache, layout, initialWindowBytes, fetching);
  }

  /**
   * A whole file. `listing` is absent inside a transaction: its reads see bytes of its own, and a
   * scan is noticed only on the committed view.
   */
  wholeFile(file: PlannedFile, extents: readonly PlacedExtent[], listing: DirectoryListing | undefined): ReadPlan {
    const prefetch = listing === undefined ? [] : this.directories.read(file, extents, listing);
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
    // ranged GETs in flight, as a parallel download would. Four by default (at most half the read
    // concurrency), as many as the benchmark's raw parallel download: with three the stream ran at
    // 86-90% of it. The stream's memory stays within its footprint whatever the number: the more it
    // holds, the less garbage it leaves between collections (memory.ts; docs/performance.md, "How
    // the stream closed its gap").
    const windowsAhead = Math.max(1, options.windowsAhead ?? Math.min(4, Math.ceil(this.readConcurrency / 2)));
    function* windows(): Generator<ReadPlan> {
      for (let from = start; from < end; from = Math.min(end, from + window)) {
        const to = Math.min(end, from + window);
        yield { from, to, fetch: touching(extents, from, to), prefetch: [], cache };
      }
    }
    return { windowsAhead, bytes: Math.max(0, end - start), windowBytes: window, windows: windows() };
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

// ---- read-ahead in a directory -----------------------------------------------------------------
// An agent's `grep -r` or a loop over a directory reads many small neighbours, usually written
// together into the same records and packs; one ranged GET per file would pay a round trip each.
// But fetching the whole directory at the second miss (what this did before) made a reader of a
// few scattered files fetch many times the bytes it read. So the files fetched ahead grow with the
// need the reader has shown, as TCP's window grows with what gets acknowledged:
//
//   - a directory's first cold read fetches just its file;
//   - each later cold read fetches, in the same ranged GET, the directory's small files after it
//     in the order their bytes are stored (the order they were written in: one contiguous range
//     when they were written together, as a tree usually is, in name order), a window of
//     max(need, initialWindowBytes) - unread bytes, where `need` is the bytes of the directory's
//     files the reader has read from the store or from the windows, and `unread` the bytes of files
//     fetched ahead that it has not read (yet, or ever); what the files after it leave of the
//     window goes to the files just before it (a reader going by name through files stored in
//     another order, or many reads issued at once, find them there);
//   - reading the last file of the latest window fetches the next window after it, in the
//     background: a reader going through the directory in order finds each window read when it
//     reaches its end, so `need` has doubled and the window doubles (a few GETs per thousand files,
//     their number growing with the logarithm of the files read);
//   - a reader that jumps about leaves windows unread, and the unread bytes shrink every later
//     window: whatever the pattern, the bytes fetched from the directory stay within twice the
//     bytes read there, plus one initial window (`initialWindowBytes`, the reader's coalescing gap).
//
// A window ends at the first file already cached or fetched ahead (past it, one coalesced range
// would fetch those bytes again). A window is at most a quarter of the cache (and 64 MiB), so what
// is fetched ahead is not evicted before a reader going in order gets to it. Only objects holding several of the window's files (the cold
// file's own object counts it) are fetched: a directory whose files were written one commit each
// is read file by file, as it would be anyway, rather than a GET per neighbour. Files larger than
// `largeFileBytes` are never fetched ahead (their reads have read-ahead of their own).
//
// A cache much smaller than what a random reader reads evicts its windows before the reader comes
// back to them: each such file is then fetched twice, and its first fetch only pushed out bytes
// the reader would have read again. So a file fetched ahead and found evicted unread is a loss, as
// a dropped packet is to TCP: its bytes stay counted as unread, and the reader's windows are capped
// at half the latest one (no windows once that is less than a file). The cap grows back by each
// file read from a window, and by each file read cold next to the one read cold before it (a
// reader that starts going in order). A cache that holds the windows until they are read never
// sees a loss: its reader's windows are as above.

/** What the read-ahead knows of one directory's reader. */
interface Neighbourhood {
  /** Bytes of the directory's files read from the store or from a window: the need shown. */
  need: number;
  /** Files fetched ahead and not read yet, by id, with their size. */
  ahead: Map<number, number>;
  /**
   * Bytes fetched ahead and not read: the windows' waste so far (files never read, or evicted
   * before they were), or what is still to be read.
   */
  unread: number;
  /** The last file of the latest window: reading it fetches the next window. */
  last: number | undefined;
  /**
   * The largest window for this reader, as TCP's congestion window: at a loss (a file fetched ahead
   * found evicted before it was read: the cache cannot keep this reader's windows until it gets to
   * them) half the latest window; then grown by each file read from a window, and by each file read
   * cold next to the one read cold before it (a reader that starts going in order gets its windows
   * back). Infinity until a loss.
   */
  ceiling: number;
  /** Bytes of the latest window fetched. */
  latest: number;
  /** Where, in the order the directory's bytes are stored, the latest file read cold (or ending a window) is. */
  previous?: number;
  /** The directory's small files in the order their bytes are stored, once a window needed it. */
  order?: PackOrder;
}

interface PackOrder {
  files: readonly { id: number; ino: number }[];
  /** Each file's place in `files`, by id. */
  positions: ReadonlyMap<number, number>;
}

/** Directories whose reader is remembered at once (the least recently read is forgotten first). */
const trackedDirectories = 256;

class DirectoryReadAhead {
  private readonly directories = new Map<number, Neighbourhood>();

  constructor(
    private readonly cache: SegmentCache,
    private readonly layout: DataLayout,
    private readonly initialWindowBytes: number,
    private readonly fetching: (object: string, offset: number, length: number) => boolean,
  ) {}

  /** The largest window: a quarter of the cache, at most 64 MiB. */
  get maxWindowBytes(): number {
    return Math.min(Math.floor(this.cache.maxBytes / 4), 64 * 1024 * 1024);
  }

  /**
   * Records a whole-file read of `file` (its extents in position order) and returns the extents to
   * fetch ahead of it (the file's own among them when they share the window's GET).
   */
  read(file: PlannedFile, extents: readonly PlacedExtent[], listing: DirectoryListing): Extent[] {
    if (file.size === 0 || file.size > this.layout.largeFileBytes) return [];
    const { cache } = this;
    const known = this.directories.get(file.parent);
    const fetchedAhead = known?.ahead.get(file.id);
    const cached = extents.every((extent) => cache.has(extent.object, extent.offset, extent.length));
    if (fetchedAhead !== undefined) {
      known!.ahead.delete(file.id);
      if (!cached && !extents.every((extent) => this.fetching(extent.object, extent.offset, extent.length))) {
        // Neither cached nor on its way: evicted before the reader got to it (a cache too small
        // for the windows this reader leaves unread for long). Those bytes were fetched for
        // nothing and are fetched again now, as a cold read's: they stay counted as unread, and
        // the next windows shrink by them.
        if (known!.last === file.id) known!.last = undefined;
        // A loss, as TCP's window takes one: the windows this reader gets are halved.
        known!.ceiling = Math.floor(Math.min(known!.ceiling, known!.latest) / 2);
      } else {
        // A file a window brought in: the need it shows is what grows the next window.
        this.remember(file.parent, known!);
        known!.unread -= fetchedAhead;
        known!.need += file.size;
        if (Number.isFinite(known!.ceiling)) known!.ceiling += file.size;
        if (known!.last !== file.id) return [];
        known!.last = undefined;
        return this.window(file, known!, listing, undefined);
      }
    }
    if (cached) return [];
    if (known === undefined) {
      // The first cold read in the directory: just its file.
      this.remember(file.parent, { need: file.size, ahead: new Map(), unread: 0, last: undefined, ceiling: Infinity, latest: 0 });
      return [];
    }
    this.remember(file.parent, known);
    known.need += file.size;
    return this.window(file, known, listing, extents);
  }

  private remember(directory: number, state: Neighbourhood): void {
    this.directories.delete(directory);
    this.directories.set(directory, state);
    if (this.directories.size > trackedDirectories) this.directories.delete(this.directories.keys().next().value!);
  }

  /**
   * The window around `file`, in the order the directory's bytes are stored: the run of small files
   * after it, then the run before it, that are neither cached nor fetched ahead already, within the
   * budget. `own` is the cold file's extents, fetched in the same GETs, or undefined when the file
   * was read from a window.
   */
  private window(file: PlannedFile, state: Neighbourhood, listing: DirectoryListing, own: readonly PlacedExtent[] | undefined): Extent[] {
    const { cache, layout } = this;
    const order = this.packOrder(file, state, listing);
    const start = order.positions.get(file.id);
    if (start === undefined) return [];
    // After a loss, a reader going in order (each cold read next to the one before) shows that
    // windows would serve it: the ceiling grows back by each such file.
    if (Number.isFinite(state.ceiling) && state.previous !== undefined && Math.abs(start - state.previous) === 1) state.ceiling += file.size;
    state.previous = start;
    const budget = Math.min(Math.max(state.need, this.initialWindowBytes) - state.unread, this.maxWindowBytes, state.ceiling);
    if (budget <= 0) return [];
    const chosen: { id: number; size: number; extents: readonly PlacedExtent[]; after: boolean }[] = [];
    let total = 0;
    // The files after it first (a reader going on in order reads them next), then, with what the
    // budget leaves, those just before it (a reader going by name through files stored in another
    // order, or several reads at once, finds them there).
    for (const step of [1, -1]) {
      for (let index = start + step; index >= 0 && index < order.files.length; index += step) {
        const sibling = order.files[index]!;
        // Its extents as the index has them now (the order is only remembered: the file may have
        // been rewritten or removed since).
        const siblingExtents = listing.extents(sibling.ino);
        const size = siblingExtents.reduce((sum, extent) => sum + extent.length, 0);
        if (size === 0 || size > layout.largeFileBytes) continue;
        if (total + size > budget || state.ahead.has(sibling.id)) break;
        // The window ends at the first file already here: past it, one coalesced range would fetch
        // that file's bytes again, and the reader has been there (the window would be its waste).
        if (siblingExtents.some((extent) => cache.has(extent.object, extent.offset, extent.length))) break;
        chosen.push({ id: sibling.id, size, extents: siblingExtents, after: step === 1 });
        total += size;
      }
    }
    // Only objects holding several of the window's files (the cold file's own counting) are worth
    // a request: a file alone in its object would cost a GET of its own that the reader may never need.
    const filesPerObject = new Map<string, number>();
    const count = (objects: Iterable<string>) => {
      for (const object of new Set(objects)) filesPerObject.set(object, (filesPerObject.get(object) ?? 0) + 1);
    };
    if (own !== undefined) count(own.map((extent) => extent.object));
    for (const entry of chosen) count(entry.extents.map((extent) => extent.object));
    const worth = (entry: { extents: readonly PlacedExtent[] }) => entry.extents.every((extent) => (filesPerObject.get(extent.object) ?? 0) > 1);
    const fetched = chosen.filter(worth);
    if (fetched.length === 0) return [];
    for (const entry of fetched) {
      state.ahead.set(entry.id, entry.size);
      state.unread += entry.size;
    }
    // The ramp goes on from the window's last file after the one read (none: no ramp from this window).
    state.last = fetched.filter((entry) => entry.after).at(-1)?.id;
    state.latest = fetched.reduce((sum, entry) => sum + entry.size, 0);
    const prefetch: Extent[] = own === undefined ? [] : own.filter((extent) => !cache.has(extent.object, extent.offset, extent.length));
    for (const entry of fetched) for (const extent of entry.extents) if (!cache.has(extent.object, extent.offset, extent.length)) prefetch.push(extent);
    return prefetch;
  }

  /**
   * The directory's small files in the order their bytes are stored (by object, then offset: the
   * order they were written in), remembered until a file read is not in it (one written since).
   */
  private packOrder(file: PlannedFile, state: Neighbourhood, listing: DirectoryListing): PackOrder {
    if (state.order?.positions.has(file.id) === true) return state.order;
    const placed: { id: number; ino: number; object: string; offset: number }[] = [];
    for (const sibling of listing.children(file.parent)) {
      if (sibling.kind !== "file" || sibling.size === 0 || sibling.size > this.layout.largeFileBytes) continue;
      const first = listing.extents(sibling.ino)[0];
      if (first !== undefined) placed.push({ id: sibling.id, ino: sibling.ino, object: first.object, offset: first.offset });
    }
    // Stable: files sharing their first bytes (hard links, the same content) stay in name order.
    placed.sort((a, b) => (a.object < b.object ? -1 : a.object > b.object ? 1 : a.offset - b.offset));
    const files = placed.map(({ id, ino }) => ({ id, ino }));
    state.order = { files, positions: new Map(files.map((entry, index) => [entry.id, index])) };
    return state.order;
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
