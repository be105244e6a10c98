// The filesystem's documents in the object store, through the conditional-write primitive:
// format.json (create-only, once), wal/<seq> (create-only: the commit point), heads/main.json
// (compare-and-swap, a hint), snapshots/<seq> (written once). See docs/s3-layout.md.

import { randomUUID } from "node:crypto";
import type { ObjectStore } from "../stores/object-store.ts";
import { CorruptObjectError, NotFoundError, PreconditionFailedError } from "../stores/store-errors.ts";
import { decodeRecord, snapshotKey, walKey, type DecodedRecord } from "./record.ts";

export const formatVersion = 1;
export const formatKey = "format.json";
export const headKey = "heads/main.json";

export interface FormatDocument {
  format: number;
  fsId: string;
  created: string;
}

export interface HeadDocument {
  format: number;
  fsId: string;
  /** A hint: the newest seq known when the head was written. The log may be further ahead. */
  seq: number;
  /** The newest snapshot's seq, or 0 for none. */
  snapshot: number;
  epoch: number;
  writer: string;
  nonce: string;
  updated: string;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function parseJson<T>(key: string, bytes: Uint8Array): T {
  try {
    return JSON.parse(decoder.decode(bytes)) as T;
  } catch (error) {
    throw new CorruptObjectError(`${key} is not valid JSON (${(error as Error).message})`, { operation: "get", key });
  }
}

export class RemoteLog {
  constructor(readonly store: ObjectStore) {}

  async readFormat(): Promise<FormatDocument | undefined> {
    try {
      const document = parseJson<FormatDocument>(formatKey, (await this.store.get(formatKey)).body);
      if (typeof document.fsId !== "string" || typeof document.format !== "number") {
        throw new CorruptObjectError(`${formatKey} lacks format or fsId`, { operation: "get", key: formatKey });
      }
      return document;
    } catch (error) {
      if (error instanceof NotFoundError) return undefined;
      throw error;
    }
  }

  /** Creates format.json unless it exists; either way returns the one that stands. */
  async createFormat(): Promise<FormatDocument> {
    const document: FormatDocument = { format: formatVersion, fsId: randomUUID(), created: new Date().toISOString() };
    try {
      await this.store.put(formatKey, encoder.encode(JSON.stringify(document, null, 2)), { ifNoneMatch: "*", contentType: "application/json" });
      return document;
    } catch (error) {
      if (!(error instanceof PreconditionFailedError)) throw error;
      const existing = await this.readFormat();
      if (existing === undefined) throw error;
      return existing;
    }
  }

  async readHead(): Promise<{ head: HeadDocument; etag: string } | undefined> {
    try {
      const object = await this.store.get(headKey);
      return { head: parseJson<HeadDocument>(headKey, object.body), etag: object.etag };
    } catch (error) {
      if (error instanceof NotFoundError) return undefined;
      throw error;
    }
  }

  /** The head if it changed since `etag` (one conditional GET; unchanged costs no body). */
  async readHeadIfChanged(etag: string | undefined): Promise<{ head: HeadDocument; etag: string } | "unchanged" | undefined> {
    if (etag === undefined) return this.readHead();
    try {
      const object = await this.store.getIfChanged(headKey, etag);
      if (object === undefined) return "unchanged";
      return { head: parseJson<HeadDocument>(headKey, object.body), etag: object.etag };
    } catch (error) {
      if (error instanceof NotFoundError) return undefined;
      throw error;
    }
  }

  /** Compare-and-swap on the head (create-only when `etag` is undefined). Returns the new ETag. */
  async writeHead(head: HeadDocument, etag: string | undefined): Promise<string> {
    const body = encoder.encode(JSON.stringify(head, null, 2));
    const condition = etag === undefined ? { ifNoneMatch: "*" as const } : { ifMatch: etag };
    return (await this.store.put(headKey, body, { ...condition, contentType: "application/json" })).etag;
  }

  /** The record at `seq`, or undefined if that slot is empty. */
  async readRecord(seq: number): Promise<DecodedRecord | undefined> {
    const key = walKey(seq);
    try {
      return decodeRecord(key, (await this.store.get(key)).body);
    } catch (error) {
      if (error instanceof NotFoundError) return undefined;
      throw error;
    }
  }

  /** Create-only: throws PreconditionFailedError if the slot is taken. */
  async writeRecord(seq: number, bytes: Uint8Array): Promise<void> {
    await this.store.put(walKey(seq), bytes, { ifNoneMatch: "*" });
  }

  async readSnapshot(seq: number): Promise<Uint8Array> {
    return (await this.store.get(snapshotKey(seq))).body;
  }

  async writeSnapshot(seq: number, bytes: Uint8Array): Promise<void> {
    await this.store.put(snapshotKey(seq), bytes, { contentType: "application/gzip" });
  }
}
