// The filesystem's documents in the object store, through the conditional-write primitive:
// format.json (create-only, once), wal/<seq> (create-only: the commit point), heads/main.json
// (compare-and-swap, a hint, carrying a checksum of its fields), snapshots/<seq> (written once).
// See docs/s3-layout.md.

import { randomUUID } from "node:crypto";
import { listAll, type ObjectStore } from "../stores/object-store.ts";
import { hashBytes } from "./ops.ts";
import { z } from "zod";
import { NotFoundError, PreconditionFailedError } from "../stores/store-errors.ts";
import { DamagedDocumentError, readDocument, readDocumentIfChanged, replacing, writeDocument, type DocumentKind } from "./document.ts";
import { formatKey, headKey, laneRecordKey, seqOfSnapshotKey, seqOfWalKey, snapshotKey, snapshotPrefix, walKey, walPrefix } from "./keys.ts";
import { decodeRecord, decodeRecordHeader, recordHeaderRange, recordTailBytes, trailerHash, type DecodedRecord, type RecordHeader } from "./record.ts";

export const formatVersion = 1;

export interface FormatDocument {
  format: number;
  fsId: string;
  created: string;
  /**
   * The prefix the filesystem was created at, as its creator's mount config named it (normalised:
   * "a/b", "" for the bucket's root). A mount configured with another prefix is refused: its store
   * ignores the prefix, and would otherwise show this filesystem under another name. Absent in
   * format.json written before it existed (such a filesystem is mounted at any prefix, as before).
   */
  prefix?: string;
  /**
   * A fork's ancestors: fsId -> bucket-relative prefix of each filesystem whose objects this one
   * reads as `origin/<fsId>/<key>` (docs/s3-layout.md F1). Absent for a filesystem that is no fork.
   */
  origins?: Record<string, string>;
  /** A fork's starting point: its log continues after `seq` of the filesystem `fsId` at `prefix`. */
  forkedFrom?: { fsId: string; prefix: string; seq: number; hash: string; epoch: number };
}

export interface HeadDocument {
  format: number;
  fsId: string;
  /** A hint: the newest seq known when the head was written. The log may be further ahead. */
  seq: number;
  /** The newest snapshot's seq, or 0 for none. */
  snapshot: number;
  /**
   * Snapshots that garbage collection has not removed, oldest first (time travel starts from the
   * nearest one at or below its seq). Absent in heads written before it existed.
   */
  snapshots?: number[];
  /** The oldest seq whose namespace, log and data are all still kept (time travel's lower bound; 0: all). */
  retainedFrom?: number;
  epoch: number;
  writer: string;
  nonce: string;
  updated: string;
}

/** A record's trailer (docs/s3-layout.md L2): magic, header offset and length, hash. */
const recordTrailerBytes = 32;

const encoder = new TextEncoder();

/** The head's fields, in the order its checksum covers them. */
const headFields = ["format", "fsId", "seq", "snapshot", "snapshots", "retainedFrom", "epoch", "writer", "nonce", "updated"] as const;

/**
 * xxHash3-64 of the head's fields (without `checksum`), serialised in a fixed order: whatever
 * whitespace or key order a document has, the same fields give the same checksum.
 */
export function headChecksum(head: HeadDocument): string {
  const fields: Record<string, unknown> = {};
  for (const field of headFields) if (head[field] !== undefined) fields[field] = head[field];
  return hashBytes(encoder.encode(JSON.stringify(fields)));
}

/**
 * The head is damaged: unreadable, of the wrong shape, or failing its checksum. It is only a hint:
 * mounts start from a snapshot or the log without it, fsck reports it, and a writer replaces it by
 * compare-and-swap over `etag`.
 */
export class DamagedHeadError extends DamagedDocumentError {
  constructor(etag: string, problem: string) {
    super(headKey, etag, problem);
  }
}

const count = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

/** format.json: a newer format is refused before its shape is judged (it may have another). */
const formatDocument: DocumentKind<FormatDocument> = {
  newer: (json) => {
    const format = json !== null && typeof json === "object" ? (json as { format?: unknown }).format : undefined;
    if (typeof format !== "number" || !(format > formatVersion)) return undefined;
    return `says format ${format}, which this version does not know (it reads format ${formatVersion}); upgrade s3-bun-cached-fs to read this filesystem`;
  },
  schema: z.looseObject({
    format: z.number(),
    fsId: z.string(),
    created: z.string(),
    prefix: z.string().optional(),
    origins: z.record(z.string(), z.string()).optional(),
    forkedFrom: z.looseObject({ fsId: z.string(), prefix: z.string(), seq: count, hash: z.string(), epoch: count }).optional(),
  }),
};

/** The head: strict (an unknown field is damage), its checksum checked when it has one, and written with one. */
const headDocument: DocumentKind<HeadDocument> = {
  schema: z.strictObject({
    format: z.literal(formatVersion),
    fsId: z.string().min(1),
    seq: count,
    snapshot: count,
    snapshots: z.array(count).optional(),
    retainedFrom: count.optional(),
    epoch: count,
    writer: z.string(),
    nonce: z.string(),
    updated: z.string(),
    checksum: z.string().optional(),
  }),
  check: (head) => {
    const snapshots = head.snapshots ?? [];
    for (let index = 1; index < snapshots.length; index++) if (snapshots[index]! <= snapshots[index - 1]!) return "snapshots is not in ascending order";
    if (head.snapshot > head.seq) return `snapshot ${head.snapshot} is after seq ${head.seq}`;
    const { checksum } = head as HeadDocument & { checksum?: string };
    if (checksum !== undefined) {
      const expected = headChecksum(head);
      if (checksum !== expected) return `checksum ${checksum} does not match its fields (${expected})`;
    }
    return undefined;
  },
  fromJson: (json) => {
    const { checksum: _checksum, ...head } = json as HeadDocument & { checksum?: string };
    return head;
  },
  toJson: (head) => {
    const { checksum: _stale, ...fields } = head as HeadDocument & { checksum?: string };
    return { ...fields, checksum: headChecksum(fields) };
  },
  damaged: (_key, etag, problem) => new DamagedHeadError(etag, problem),
};

export class RemoteLog {
  constructor(readonly store: ObjectStore) {}

  async readFormat(): Promise<FormatDocument | undefined> {
    return (await readDocument(this.store, formatKey, formatDocument))?.document;
  }

  /** Creates format.json unless it exists; either way returns the one that stands. */
  async createFormat(document: FormatDocument = { format: formatVersion, fsId: randomUUID(), created: new Date().toISOString() }): Promise<FormatDocument> {
    // A format.json that another process created meanwhile is returned as it stands, prefix and all.
    try {
      await writeDocument(this.store, formatKey, formatDocument, document, { create: true });
      return document;
    } catch (error) {
      if (!(error instanceof PreconditionFailedError)) throw error;
      const existing = await this.readFormat();
      if (existing === undefined) throw error;
      return existing;
    }
  }

  /** The head, checked (shape and checksum); undefined if there is none. Throws DamagedHeadError if it is damaged. */
  async readHead(): Promise<{ head: HeadDocument; etag: string } | undefined> {
    const read = await readDocument(this.store, headKey, headDocument);
    return read === undefined ? undefined : { head: read.document, etag: read.etag };
  }

  /** The head, or what is wrong with it: a mount needs the damaged head's ETag to replace it. */
  async readHeadOrDamage(): Promise<{ head: HeadDocument; etag: string } | DamagedHeadError | undefined> {
    try {
      return await this.readHead();
    } catch (error) {
      if (error instanceof DamagedHeadError) return error;
      throw error;
    }
  }

  /**
   * The head if it changed since `etag` (one conditional GET; unchanged costs no body); undefined
   * if there is none, or none usable (a damaged head is no hint: the log is followed without it).
   */
  async readHeadIfChanged(etag: string | undefined): Promise<{ head: HeadDocument; etag: string } | "unchanged" | undefined> {
    try {
      if (etag === undefined) return await this.readHead();
      const read = await readDocumentIfChanged(this.store, headKey, headDocument, etag);
      return read === undefined || read === "unchanged" ? read : { head: read.document, etag: read.etag };
    } catch (error) {
      if (error instanceof DamagedHeadError) return undefined;
      throw error;
    }
  }

  /** Snapshot seqs in the store, by listing `snapshots/`: the way back when no usable head lists them. */
  async listSnapshots(): Promise<number[]> {
    const seqs: number[] = [];
    for await (const object of listAll(this.store, { prefix: snapshotPrefix })) {
      const seq = seqOfSnapshotKey(object.key);
      if (seq !== undefined) seqs.push(seq);
    }
    return seqs.sort((a, b) => a - b);
  }

  /** Record seqs in the store, by listing `wal/`: with listSnapshots, how much of the log is left when no usable head says. */
  async listRecords(): Promise<Set<number>> {
    const seqs = new Set<number>();
    for await (const object of listAll(this.store, { prefix: walPrefix })) {
      const seq = seqOfWalKey(object.key);
      if (seq !== undefined) seqs.add(seq);
    }
    return seqs;
  }

  /** Compare-and-swap on the head (create-only when `etag` is undefined). Returns the new ETag. */
  async writeHead(head: HeadDocument, etag: string | undefined): Promise<string> {
    return writeDocument(this.store, headKey, headDocument, head, replacing(etag));
  }

  /** The record at `seq`, or undefined if that slot is empty. */
  async readRecord(seq: number): Promise<DecodedRecord | undefined> {
    return this.readRecordAt(walKey(seq));
  }

  /** Record `seq` of lane `lane` (`lanes/<lane>/<seq>`), or undefined if the slot is empty. */
  async readLaneRecord(lane: number, seq: number): Promise<DecodedRecord | undefined> {
    return this.readRecordAt(laneRecordKey(lane, seq));
  }

  private async readRecordAt(key: string): Promise<DecodedRecord | undefined> {
    try {
      return decodeRecord(key, (await this.store.get(key)).body);
    } catch (error) {
      if (error instanceof NotFoundError) return undefined;
      throw error;
    }
  }

  /**
   * The header of record `seq`, whose object is `size` bytes (from a listing): a large record's
   * inline data is not downloaded. Small records are read whole and checked against their hash.
   */
  async readRecordHeader(seq: number, size: number): Promise<RecordHeader> {
    return (await this.readRecordHeaderAndHash(seq, size)).header;
  }

  /**
   * The header of record `seq` and the record's hash as its trailer states it (not verified
   * against the inline data, which is not read): enough to follow the chain (I3, I7) by headers.
   */
  async readRecordHeaderAndHash(seq: number, size: number): Promise<{ header: RecordHeader; hash: string }> {
    return this.headerAndHashAt(walKey(seq), size);
  }

  /** The header of lane `lane`'s record `seq`, whose object is `size` bytes, as `readRecordHeader`. */
  async readLaneRecordHeader(lane: number, seq: number, size: number): Promise<RecordHeader> {
    return (await this.headerAndHashAt(laneRecordKey(lane, seq), size)).header;
  }

  private async headerAndHashAt(key: string, size: number): Promise<{ header: RecordHeader; hash: string }> {
    if (size <= recordTailBytes) {
      const record = decodeRecord(key, (await this.store.get(key)).body);
      return { header: record.header, hash: record.hash };
    }
    const tail = (await this.store.get(key, { range: { offset: size - recordTailBytes, length: recordTailBytes } })).body;
    const range = recordHeaderRange(key, size, tail);
    const tailStart = size - tail.byteLength;
    const bytes =
      range.offset >= tailStart
        ? tail.subarray(range.offset - tailStart, range.offset - tailStart + range.length)
        : (await this.store.get(key, { range })).body;
    return { header: decodeRecordHeader(key, bytes), hash: trailerHash(tail) };
  }

  /** Bytes of inline data in record `seq`, whose object is `size` bytes: one ranged GET of its trailer. */
  async readRecordDataBytes(seq: number, size: number): Promise<number> {
    const key = walKey(seq);
    const tail = (await this.store.get(key, { range: { offset: Math.max(0, size - recordTrailerBytes), length: Math.min(size, recordTrailerBytes) } })).body;
    return recordHeaderRange(key, size, tail).offset;
  }

  /** Create-only: throws PreconditionFailedError if the slot is taken. */
  async writeRecord(seq: number, bytes: Uint8Array): Promise<void> {
    await this.store.put(walKey(seq), bytes, { ifNoneMatch: "*" });
  }

  /** Create-only, as `writeRecord`, in lane `lane`. */
  async writeLaneRecord(lane: number, seq: number, bytes: Uint8Array): Promise<void> {
    await this.store.put(laneRecordKey(lane, seq), bytes, { ifNoneMatch: "*" });
  }

  async readSnapshot(seq: number): Promise<Uint8Array> {
    return (await this.store.get(snapshotKey(seq))).body;
  }

  /** Snapshots are written once; `createOnly` keeps one that already stands (a fork pinning its parent's). */
  async writeSnapshot(seq: number, bytes: Uint8Array, options: { createOnly?: boolean } = {}): Promise<void> {
    await this.store.put(snapshotKey(seq), bytes, { contentType: "application/gzip", ...(options.createOnly ? { ifNoneMatch: "*" as const } : {}) });
  }
}
