// A batch: the operations and bytes of one commit record being built (a group of concurrent
// writes, or one transaction). Small data is placed inline in the record until it holds
// `inlineRecordBytes`, then in packs uploaded in the background as each fills. Until the record is
// durable, the batch serves its own bytes to readers inside it (read-your-writes).
//
// Memory: a transaction waits (`room()`) while `uploadConcurrency` packs are uploading or being
// cached, and a batch that spills into packs collects its garbage as a long write stream does
// (src/data/memory.ts). Measured (test/fs/large-transaction.test.ts, 1 GiB of 1 MiB files):
// peak RSS 200 MB on LocalObjectStore and 264 MB on Ceph RGW; with every pack left in flight,
// 512 MiB peaked at 1.3 GB.
//
// Every pack gets a key of its own, random: a batch that failed may be retried at the same seq,
// and an upload (or the record naming it) of the failed attempt may still land afterwards. A key
// made of epoch and seq would then hold the retry's bytes under the first attempt's extents.

import { concatenate } from "../base/content.ts";
import type { ObjectStore } from "../stores/object-store.ts";
import type { Extent, Op } from "../log/ops.ts";
import { laneRecordKey, newPackKey, walKey } from "../log/keys.ts";
import type { PendingBytes } from "../data/data-reader.ts";
import { extentsFor, type DataLayout } from "../data/data-writer.ts";
import { StreamingWriteMemory } from "../data/memory.ts";

interface Pack {
  key: string;
  /** The pack's bytes until it is uploaded; then they live in the store and the cache instead. */
  pieces: Uint8Array[];
  bytes: number;
  upload?: Promise<void>;
  uploaded?: boolean;
}

export class Batch implements PendingBytes {
  readonly recordKey: string;
  readonly ops: Op[] = [];
  private readonly inline: Uint8Array[] = [];
  private inlineBytes = 0;
  private readonly packs: Pack[] = [];
  private readonly uploads = new Set<Promise<void>>();
  /** Packs whose upload started and whose bytes are still held (uploading, or being cached). */
  private inFlight = 0;
  private readonly waitingForRoom: (() => void)[] = [];
  private failure: unknown;
  /** Once data spills into packs: a large batch is a long stream, whose garbage is collected as it goes. */
  private memory: StreamingWriteMemory | undefined;

  constructor(
    readonly seq: number,
    readonly epoch: number,
    readonly time: number,
    private readonly store: ObjectStore,
    private readonly layout: DataLayout,
    /**
     * Called with each pack once it is stored (the committer caches it); the pack's bytes leave
     * memory once what it returns settles.
     */
    private readonly onStored: (key: string, bytes: Uint8Array) => Promise<void> | void = () => {},
    /** Called with each pack's key as its upload begins (the committer notes when: docs/s3-layout.md GC9). */
    private readonly onUploading: (key: string) => void = () => {},
    /** The record's key: `wal/<seq>`, or a lane's `lanes/<lane>/<seq>` (src/commit/lanes.ts). */
    recordKey = walKey(seq),
  ) {
    this.recordKey = recordKey;
  }

  /**
   * A main-log batch of its writer's that opens a lane for this top-level directory (appended to
   * its operations as it is published: src/commit/committer.ts).
   */
  opensLane: string | undefined;
  /** The operations its record holds as last encoded: its own, with the lanes it closes and opens. */
  published: Op[] | undefined;
  /** Lanes this batch closes whatever its operations touch (`Committer.closeLanes`: it may have none). */
  closesLanes: readonly number[] = [];

  /** The same data and operations, to be published at `seq` instead (after another record took ours), at `time` if given. */
  rebase(seq: number, time = this.time): Batch {
    return this.copyAs(seq, time, walKey(seq));
  }

  /** The same data and operations, to be published as record `seq` of lane `lane` instead. */
  inLane(lane: number, seq: number): Batch {
    return this.copyAs(seq, this.time, laneRecordKey(lane, seq));
  }

  private copyAs(seq: number, time: number, recordKey: string): Batch {
    const batch = new Batch(seq, this.epoch, time, this.store, this.layout, this.onStored, this.onUploading, recordKey);
    batch.opensLane = this.opensLane;
    batch.closesLanes = this.closesLanes;
    batch.inline.push(...this.inline);
    batch.inlineBytes = this.inlineBytes;
    batch.packs.push(...this.packs);
    for (const upload of this.uploads) batch.uploads.add(upload);
    batch.failure = this.failure;
    return batch;
  }

  /** Places `bytes` and returns their extents; inline extents name the object "" (this record). */
  addData(bytes: Uint8Array): Extent[] {
    if (bytes.byteLength === 0) return [];
    if (this.failure !== undefined) throw this.failure;
    if (this.inlineBytes + bytes.byteLength <= this.layout.inlineRecordBytes) {
      const extents = extentsFor("", this.inlineBytes, bytes, this.layout.blockBytes);
      this.inline.push(bytes);
      this.inlineBytes += bytes.byteLength;
      return extents;
    }
    let pack = this.packs.at(-1);
    if (pack === undefined || pack.upload !== undefined || pack.bytes + bytes.byteLength > this.layout.packBytes) {
      if (pack !== undefined && pack.upload === undefined) this.startUpload(pack);
      pack = { key: newPackKey(), pieces: [], bytes: 0 };
      this.packs.push(pack);
    }
    const extents = extentsFor(pack.key, pack.bytes, bytes, this.layout.blockBytes);
    pack.pieces.push(bytes);
    pack.bytes += bytes.byteLength;
    (this.memory ??= new StreamingWriteMemory()).moved(bytes.byteLength);
    return extents;
  }

  /** A point to return to if the next operation turns out invalid. */
  mark(): { inline: number; inlineBytes: number; packs: number; packBytes: number; ops: number } {
    const pack = this.packs.at(-1);
    return { inline: this.inline.length, inlineBytes: this.inlineBytes, packs: this.packs.length, packBytes: pack?.bytes ?? 0, ops: this.ops.length };
  }

  /** Drops data added since `mark` where it has not left memory yet (an upload already started keeps it). */
  rewind(mark: ReturnType<Batch["mark"]>): void {
    this.ops.length = mark.ops;
    this.inline.length = mark.inline;
    this.inlineBytes = mark.inlineBytes;
    while (this.packs.length > mark.packs && this.packs.at(-1)?.upload === undefined) this.packs.pop();
    const pack = this.packs.at(-1);
    if (pack !== undefined && pack.upload === undefined && this.packs.length === mark.packs) {
      let bytes = 0;
      const kept: Uint8Array[] = [];
      for (const piece of pack.pieces) {
        if (bytes + piece.byteLength > mark.packBytes) break;
        kept.push(piece);
        bytes += piece.byteLength;
      }
      pack.pieces = kept;
      pack.bytes = bytes;
    }
  }

  get empty(): boolean {
    return this.ops.length === 0;
  }

  get inlineData(): Uint8Array[] {
    return this.inline;
  }

  holds(object: string): boolean {
    return object === this.recordKey || object === "" || this.packs.some((pack) => pack.key === object && !pack.uploaded);
  }

  bytesFor(object: string, offset: number, length: number): Uint8Array | undefined {
    if (object === this.recordKey || object === "") return slice(this.inline, offset, length);
    const pack = this.packs.find((candidate) => candidate.key === object);
    if (pack !== undefined && !pack.uploaded) return slice(pack.pieces, offset, length);
    return undefined; // stored already: the reader finds it in the cache or the store
  }

  /**
   * Resolves once fewer than `uploadConcurrency` packs are in flight. A transaction waits for it
   * after each write, so a body that writes faster than packs upload holds a bounded number of
   * packs in memory, not the whole transaction.
   */
  async room(): Promise<void> {
    while (this.inFlight >= this.layout.uploadConcurrency && this.failure === undefined) {
      await new Promise<void>((resolve) => this.waitingForRoom.push(resolve));
    }
  }

  /** Uploads the last pack and waits for all: after this, every object the record names exists. */
  async finish(): Promise<void> {
    for (const pack of this.packs) if (pack.upload === undefined && pack.bytes > 0) this.startUpload(pack);
    await Promise.all(this.uploads);
    if (this.failure !== undefined) throw this.failure;
  }

  /** Waits for uploads in flight (after an abandoned batch), ignoring their outcome. */
  async settle(): Promise<void> {
    await Promise.allSettled(this.uploads);
  }

  /** The objects this batch wrote, with their bytes, for the cache after the commit. */
  written(recordBytes: Uint8Array): { object: string; offset: number; bytes: Uint8Array }[] {
    const segments = [
      { object: this.recordKey, offset: 0, bytes: recordBytes.subarray(0, this.inlineBytes) },
      ...this.packs.filter((pack) => !pack.uploaded).map((pack) => ({ object: pack.key, offset: 0, bytes: concatenate(pack.pieces, pack.bytes) })),
    ];
    return segments.filter((segment) => segment.bytes.byteLength > 0);
  }

  private startUpload(pack: Pack): void {
    const bytes = concatenate(pack.pieces, pack.bytes);
    pack.pieces = [bytes]; // one copy in memory while it uploads, not the pieces as well
    this.inFlight++;
    this.onUploading(pack.key);
    const upload = this.store
      .put(pack.key, bytes, { contentType: "application/octet-stream" })
      .then(async () => {
        const cached = this.onStored(pack.key, bytes);
        pack.uploaded = true;
        pack.pieces = [];
        await cached;
      })
      .catch((error: unknown) => {
        this.failure ??= error;
      })
      .finally(() => {
        this.inFlight--;
        for (const wake of this.waitingForRoom.splice(0)) wake();
      });
    pack.upload = upload;
    this.uploads.add(upload);
  }
}

/** Bytes [offset, offset + length) of the concatenation of `pieces`, or undefined past the end. */
function slice(pieces: Uint8Array[], offset: number, length: number): Uint8Array | undefined {
  const out = new Uint8Array(length);
  let position = 0;
  let copied = 0;
  for (const piece of pieces) {
    const end = position + piece.byteLength;
    if (end > offset && position < offset + length) {
      const from = Math.max(offset, position) - position;
      const to = Math.min(offset + length, end) - position;
      out.set(piece.subarray(from, to), position + from - offset);
      copied += to - from;
    }
    position = end;
    if (position >= offset + length) break;
  }
  return copied === length ? out : undefined;
}
