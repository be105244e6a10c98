// Hot extents: verified copies of small, recently read extents, kept in memory so that a warm read
// of a small file costs no trip to the local disk and no second checksum.
//
// A copy is kept only once it has been verified against its extent's hash, and is found again by
// an extent with the same hash and length: those are the bytes that extent's own verification
// would accept (objects never change once written, so a copy can never be stale), and every byte
// handed out has been verified exactly once. It
// mirrors the segment cache and never extends it: a copy is used only while the segment cache
// still holds those bytes (recordHit, which counts the hit and marks the segment used, as a read
// from disk would), so what is fetched, what is evicted and the cache's bound on disk are as they
// were without it. Its own bound is separate: `maxBytes` of memory per mount, least recently used
// first out, and only extents up to `maxExtentBytes` (a large file's chunks stream past it).

import type { Extent } from "../log/ops.ts";
import type { SegmentCache } from "./segment-cache.ts";

const KiB = 1024;
const MiB = 1024 * KiB;

/** Extents larger than this are never kept: small files are the ones read over and over. */
export const hotExtentMaxBytes = 128 * KiB;

/** The memory a mount's hot extents may hold: an eighth of its cache, at most 16 MiB. */
export function hotExtentBudget(cacheBytes: number): number {
  return Math.min(16 * MiB, Math.floor(cacheBytes / 8));
}

export class HotExtents {
  /** Verified bytes by their hash, in use order (the first is the least recently used). */
  private readonly copies = new Map<string, Uint8Array>();
  private used = 0;

  constructor(
    private readonly cache: SegmentCache,
    readonly maxBytes: number,
    readonly maxExtentBytes: number = hotExtentMaxBytes,
  ) {}

  get usedBytes(): number {
    return this.used;
  }

  /**
   * A fresh copy of the extent's verified bytes (the caller may keep or change it), or undefined
   * if there is none or the segment cache no longer holds the bytes (then the copy goes too).
   */
  get(extent: Extent): Uint8Array | undefined {
    if (this.copies.size === 0) return undefined;
    const key = extent.hash;
    const bytes = this.copies.get(key);
    if (bytes === undefined || bytes.byteLength !== extent.length) return undefined;
    if (!this.cache.recordHit(extent.object, extent.offset, extent.length)) {
      this.drop(key, bytes); // gone from the cache (another extent with these bytes fills it again)
      return undefined;
    }
    this.copies.delete(key); // to the end: most recently used
    this.copies.set(key, bytes);
    return bytes.slice();
  }

  /** Keeps a copy of `bytes`, which the caller has just verified against `extent.hash`. */
  remember(extent: Extent, bytes: Uint8Array): void {
    const length = bytes.byteLength;
    if (length !== extent.length || length > this.maxExtentBytes || length > this.maxBytes) return;
    const key = extent.hash;
    if (this.copies.get(key)?.byteLength === length) return;
    const previous = this.copies.get(key);
    if (previous !== undefined) this.drop(key, previous);
    while (this.used + length > this.maxBytes) {
      const oldest = this.copies.entries().next().value;
      if (oldest === undefined) break;
      this.drop(oldest[0], oldest[1]);
    }
    this.copies.set(key, bytes.slice()); // its own copy: the caller's array may be handed on and changed
    this.used += length;
  }

  private drop(key: string, bytes: Uint8Array): void {
    if (this.copies.delete(key)) this.used -= bytes.byteLength;
  }
}
