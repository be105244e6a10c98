// The local cache of object bytes: segments (a byte range of one immutable object) stored as files
// under the mount's cache directory, evicted least-recently-used to stay within `maxBytes`, and
// within the manager's total budget shared by all mounts. Pinned bytes (materialised files) count
// against the bound and are never evicted while pinned.
//
// The cache stores bytes, not trust: callers verify every extent against its hash before
// returning it (data-reader.ts), and drop a segment that fails. Objects never change once
// written (every key is written once), so a segment never goes stale; it can only be evicted.
//
// Files are named <xx>/<object, base64url>.<offset>.<length>, so the cache rebuilds its map from
// the directory alone on startup: nothing else is persisted, and deleting it loses nothing.

import { mkdirSync, readdirSync, rmSync, statSync } from "node:fs";
import { open, rename, rm, unlink } from "node:fs/promises";
import { join } from "node:path";
import { randomUUID } from "node:crypto";

interface Segment {
  object: string;
  offset: number;
  length: number;
  file: string;
  lastUsed: number;
}

/** The manager-wide bound on all mounts' caches. */
export class CacheBudget {
  private readonly caches = new Set<SegmentCache>();
  private clock = 0;

  constructor(readonly totalBytes: number) {}

  tick(): number {
    return ++this.clock;
  }

  /**
   * Counts `cache` from now on. A closed mount's cache stays counted (its files stay on disk for
   * the next mount, and stay evictable) until a new cache on the same directory replaces it.
   */
  register(cache: SegmentCache): void {
    for (const existing of this.caches) if (existing.directory === cache.directory) this.caches.delete(existing);
    this.caches.add(cache);
  }

  get usedBytes(): number {
    let used = 0;
    for (const cache of this.caches) used += cache.usedBytes;
    return used;
  }

  /** Evicts the least recently used segments of any mount until `bytes` more fit. */
  makeRoom(bytes: number): boolean {
    while (this.usedBytes + bytes > this.totalBytes) {
      let victim: SegmentCache | undefined;
      let oldest = Infinity;
      for (const cache of this.caches) {
        const age = cache.oldestUse();
        if (age < oldest) {
          oldest = age;
          victim = cache;
        }
      }
      if (victim === undefined || !victim.evictOldest()) return false;
    }
    return true;
  }
}

export interface CacheCounters {
  hits: number;
  misses: number;
  evictions: number;
  corruptions: number;
}

export class SegmentCache {
  private readonly segments = new Map<string, Segment>();
  private readonly byObject = new Map<string, Segment[]>();
  private used = 0;
  private pinned = 0;
  /** Bytes of segments being written: counted before they reach the disk, so the bound holds on disk too. */
  private reserved = 0;
  private closed = false;
  /** Segment files being written. */
  private readonly inFlight = new Set<Promise<string | undefined>>();
  /** Segments on their way to disk, served from memory meanwhile (a write is readable at once). */
  private readonly writing = new Map<string, { offset: number; bytes: Uint8Array }[]>();
  readonly counters: CacheCounters = { hits: 0, misses: 0, evictions: 0, corruptions: 0 };
  /** Bucket directories this cache has made (or found) since it opened. */
  private readonly directories = new Set<string>();

  constructor(
    readonly directory: string,
    readonly maxBytes: number,
    private readonly budget: CacheBudget,
  ) {
    mkdirSync(directory, { recursive: true });
    this.load(); // also removes half-written segments of a previous run
    budget.register(this);
    this.trim(0);
  }

  /** Bytes on disk in segments, being written, or pinned. */
  get usedBytes(): number {
    return this.used + this.reserved + this.pinned;
  }

  get pinnedBytes(): number {
    return this.pinned;
  }

  get segmentCount(): number {
    return this.segments.size;
  }

  /** The cached segment holding [offset, offset + length) of `object`, if any. */
  find(object: string, offset: number, length: number): Segment | undefined {
    const list = this.byObject.get(object);
    if (list === undefined) return undefined;
    for (const segment of list) {
      if (segment.offset <= offset && segment.offset + segment.length >= offset + length) return segment;
    }
    return undefined;
  }

  /** Whether the bytes are here (on disk, or on their way there). */
  has(object: string, offset: number, length: number): boolean {
    if (this.find(object, offset, length) !== undefined) return true;
    return (this.writing.get(object) ?? []).some((entry) => entry.offset <= offset && entry.offset + entry.bytes.byteLength >= offset + length);
  }

  /**
   * For a read served from a copy in memory (hot-extents.ts): whether the bytes are still here,
   * and if so the hit is counted and the segment marked used, as a read from disk would.
   */
  recordHit(object: string, offset: number, length: number): boolean {
    const segment = this.find(object, offset, length);
    if (segment !== undefined) this.touch(segment);
    else if (!(this.writing.get(object) ?? []).some((entry) => entry.offset <= offset && entry.offset + entry.bytes.byteLength >= offset + length)) return false;
    this.counters.hits++;
    return true;
  }

  /** The bytes, or undefined on a miss (or if the segment's file has gone). */
  async read(object: string, offset: number, length: number): Promise<Uint8Array | undefined> {
    for (const entry of this.writing.get(object) ?? []) {
      if (entry.offset <= offset && entry.offset + entry.bytes.byteLength >= offset + length) {
        this.counters.hits++;
        return entry.bytes.slice(offset - entry.offset, offset - entry.offset + length);
      }
    }
    const segment = this.find(object, offset, length);
    if (segment === undefined) {
      this.counters.misses++;
      return undefined;
    }
    try {
      const handle = await open(segment.file, "r");
      try {
        const bytes = new Uint8Array(length);
        let done = 0;
        while (done < length) {
          const { bytesRead } = await handle.read(bytes, done, length - done, offset - segment.offset + done);
          if (bytesRead === 0) break;
          done += bytesRead;
        }
        if (done !== length) throw new Error("segment file is shorter than recorded");
        this.touch(segment);
        this.counters.hits++;
        return bytes;
      } finally {
        await handle.close();
      }
    } catch {
      if (this.forget(segment)) await unlink(segment.file).catch(() => {});
      this.counters.misses++;
      return undefined;
    }
  }

  /** Adds a segment (a no-op if it is already covered or cannot fit). */
  async insert(object: string, offset: number, bytes: Uint8Array): Promise<void> {
    const length = bytes.byteLength;
    if (this.closed || length === 0 || this.find(object, offset, length) !== undefined) return;
    if (!this.trim(length)) return;
    this.reserved += length;
    const entry = { offset, bytes };
    this.writing.set(object, [...(this.writing.get(object) ?? []), entry]);
    let file: string | undefined;
    let written: Promise<string | undefined> | undefined;
    try {
      written = this.writeSegment(object, offset, bytes);
      this.inFlight.add(written);
      file = await written;
    } finally {
      if (written !== undefined) this.inFlight.delete(written);
      // In one synchronous step: the bytes move from "being written" to "on disk" (or go).
      this.reserved -= length;
      if (file !== undefined && !this.segments.has(file)) this.remember({ object, offset, length, file, lastUsed: this.budget.tick() });
      const remaining = (this.writing.get(object) ?? []).filter((candidate) => candidate !== entry);
      if (remaining.length === 0) this.writing.delete(object);
      else this.writing.set(object, remaining);
    }
  }

  /** Writes a segment's file (staged, then renamed into place); undefined if the disk refused. */
  private async writeSegment(object: string, offset: number, bytes: Uint8Array): Promise<string | undefined> {
    const length = bytes.byteLength;
    const file = this.fileFor(object, offset, length);
    // Staged beside its final name, so the rename never moves bytes between directories.
    const staged = join(file, "..", `.${randomUUID()}.staging`);
    const directory = join(file, "..");
    try {
      // Each bucket directory is made once: a commit's insert then costs no mkdir call.
      if (!this.directories.has(directory)) {
        mkdirSync(directory, { recursive: true });
        this.directories.add(directory);
      }
      const handle = await open(staged, "w");
      try {
        let done = 0;
        while (done < length) done += (await handle.write(bytes, done, length - done)).bytesWritten;
      } finally {
        await handle.close();
      }
      await rename(staged, file);
      return file;
    } catch {
      this.directories.delete(directory); // made again by the next insert, should it have gone
      await rm(staged, { force: true });
      return undefined; // a cache that cannot write is a smaller cache, not an error
    }
  }

  /** Drops a segment whose bytes failed verification. */
  async discard(object: string, offset: number, length: number): Promise<void> {
    const segment = this.find(object, offset, length);
    if (segment === undefined) return;
    this.counters.corruptions++;
    if (this.forget(segment)) await unlink(segment.file).catch(() => {});
  }

  /** Reserves `bytes` of pinned space (a materialised file). False if it cannot fit. */
  pin(bytes: number): boolean {
    if (this.pinned + bytes > this.maxBytes) return false;
    this.pinned += bytes;
    if (this.trim(0)) return true;
    this.pinned -= bytes;
    return false;
  }

  /**
   * As `pin`, but when only segments still on their way to disk stand in the way (they cannot be
   * evicted before they land: a file written just before, say), waits for them and tries again.
   */
  async pinSettled(bytes: number): Promise<boolean> {
    if (this.pin(bytes)) return true;
    if (this.pinned + bytes > this.maxBytes || this.inFlight.size === 0) return false;
    await Promise.allSettled(this.inFlight);
    return this.pin(bytes);
  }

  unpin(bytes: number): void {
    this.pinned = Math.max(0, this.pinned - bytes);
  }

  oldestUse(): number {
    let oldest = Infinity;
    for (const segment of this.segments.values()) {
      oldest = segment.lastUsed;
      break; // the map is kept in use order: the first entry is the oldest
    }
    return oldest;
  }

  evictOldest(): boolean {
    for (const segment of this.segments.values()) {
      this.forget(segment);
      this.counters.evictions++;
      try {
        rmSync(segment.file, { force: true });
      } catch {
        // already gone
      }
      return true;
    }
    return false;
  }

  /** Takes no more segments and waits for those on their way to disk. */
  async close(): Promise<void> {
    this.closed = true;
    this.pinned = 0; // materialised files go with the mount's staging directory
    await Promise.allSettled(this.inFlight);
  }

  /** Evicts until `incoming` more bytes fit in this cache and in the shared budget. */
  private trim(incoming: number): boolean {
    if (incoming > this.maxBytes - this.pinned) return false;
    while (this.usedBytes + incoming > this.maxBytes) if (!this.evictOldest()) return false;
    return this.budget.makeRoom(incoming);
  }

  /** Marks `segment` as just used, if it is still the current entry for its file. */
  private touch(segment: Segment): void {
    if (this.segments.get(segment.file) !== segment) return;
    segment.lastUsed = this.budget.tick();
    this.segments.delete(segment.file);
    this.segments.set(segment.file, segment);
  }

  private remember(segment: Segment): void {
    this.segments.set(segment.file, segment);
    const list = this.byObject.get(segment.object) ?? [];
    list.push(segment);
    this.byObject.set(segment.object, list);
    this.used += segment.length;
  }

  /**
   * Drops `segment` from the map. True if it was the current entry for its file: only then is
   * its file (and its bytes in the count) this cache's to remove. A stale object (its file evicted
   * and written again since, by another insert) must not take the newer entry with it.
   */
  private forget(segment: Segment): boolean {
    const list = this.byObject.get(segment.object);
    if (list !== undefined) {
      const remaining = list.filter((entry) => entry !== segment);
      if (remaining.length === 0) this.byObject.delete(segment.object);
      else this.byObject.set(segment.object, remaining);
    }
    if (this.segments.get(segment.file) !== segment) return false;
    this.segments.delete(segment.file);
    this.used -= segment.length;
    return true;
  }

  private fileFor(object: string, offset: number, length: number): string {
    const bucket = (Bun.hash.xxHash32(object) & 0xff).toString(16).padStart(2, "0");
    return join(this.directory, bucket, `${Buffer.from(object).toString("base64url")}.${offset}.${length}`);
  }

  /** Rebuilds the map from the files on disk, oldest modification first. */
  private load(): void {
    const found: (Segment & { mtime: number })[] = [];
    for (const bucket of readdirSync(this.directory)) {
      if (!/^[0-9a-f]{2}$/.test(bucket)) continue;
      for (const name of readdirSync(join(this.directory, bucket))) {
        const match = /^([A-Za-z0-9_-]*)\.(\d+)\.(\d+)$/.exec(name);
        const file = join(this.directory, bucket, name);
        if (match === null) {
          rmSync(file, { force: true });
          continue;
        }
        const stat = statSync(file, { throwIfNoEntry: false });
        const length = Number(match[3]);
        if (stat === undefined || stat.size !== length) {
          rmSync(file, { force: true });
          continue;
        }
        found.push({ object: Buffer.from(match[1]!, "base64url").toString(), offset: Number(match[2]), length, file, lastUsed: 0, mtime: stat.mtimeMs });
      }
    }
    found.sort((a, b) => a.mtime - b.mtime);
    for (const { mtime: _mtime, ...segment } of found) this.remember({ ...segment, lastUsed: this.budget.tick() });
  }
}
