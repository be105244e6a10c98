// Noticing sequential readRange calls. A tool that reads a large file piece by piece (a parser, a
// hash, a copy through a fixed buffer) would otherwise wait a full round trip each time it crosses
// into an extent it has not fetched. When a readRange starts exactly where the previous one on the
// same file ended, the extents in the next `aheadBytes` after it are fetched in the background
// (rounded up to whole objects), each extent at most once per run of sequential reads, so the reads
// that follow find them in the cache or share the GET already in flight. A random access (any other offset) starts afresh and fetches
// only the extents it touches.

import type { Extent } from "../log/ops.ts";

/** Extents with their position in the file, as the index returns them. */
export type PlacedExtent = Extent & { position: number };

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

export class SequentialReads {
  private readonly runs = new Map<number, Run>();

  constructor(private readonly aheadBytes: number) {}

  /**
   * Records a read of [offset, end) of file `file` (its extents in position order) and returns the
   * extents to fetch ahead of it: none unless the read continues the previous one.
   */
  read(file: { id: number; size: number; mtime: number }, extents: readonly PlacedExtent[], offset: number, end: number): PlacedExtent[] {
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
