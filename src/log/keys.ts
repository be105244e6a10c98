// Every key of a filesystem's objects, relative to its prefix (docs/s3-layout.md, "Keys"): how
// each is built and how a listed key is told apart. No other module spells a key; the bucket
// format is this table.

import { randomUUID } from "node:crypto";

/** Once, create-only: the filesystem's identity and format version. */
export const formatKey = "format.json";
/** A hint, compare-and-swap: the newest seq and snapshot known. */
export const headKey = "heads/main.json";
/** The writer lease, create-only or compare-and-swap (W1-W5). */
export const leaseKey = "writer/lease.json";

export const walPrefix = "wal/";
/** Lanes: logs of their own for one top-level directory each (docs/s3-layout.md, "Lanes"). */
export const lanePrefix = "lanes/";
export const snapshotPrefix = "snapshots/";
export const packPrefix = "packs/";
export const chunkPrefix = "chunks/";
/** Fork registrations: `forks/<fsId>.json` in the parent's prefix (F2). */
export const forkRegistrationPrefix = "forks/";
/** Maintenance's own small objects (the garbage collector's clock). */
export const maintenancePrefix = "gc/";
/** Written by each garbage collection (GC1); its presence also tells a mount that collection has run. */
export const clockKey = `${maintenancePrefix}clock`;
/** With several writers, the collector lease: one garbage collection at a time (GC9). */
export const collectorLeaseKey = `${maintenancePrefix}collector.json`;

/**
 * A fork's name for an object it inherited, `origin/<fsId>/<key>` (F1): never a key in this
 * filesystem's prefix, but read from `<key>` in the ancestor's. The store decorator that routes
 * those reads defines it, in the layer below; it is part of this table all the same.
 */
export { originKey, originKeyPrefix, parseOriginKey } from "../stores/origin-store.ts";

/** Seqs are zero-padded to 20 digits, so a listing returns them in order. */
const seqDigits = 20;
const walKeyPattern = new RegExp(`^${walPrefix}(\\d{${seqDigits}})$`);
const laneKeyPattern = new RegExp(`^${lanePrefix}(\\d{${seqDigits}})/(\\d{${seqDigits}})$`);
const snapshotKeyPattern = new RegExp(`^${snapshotPrefix}(\\d{${seqDigits}})$`);
const forkRegistrationSuffix = ".json";

/** The commit record of `seq`: `wal/<seq>`. */
export function walKey(seq: number): string {
  return `${walPrefix}${String(seq).padStart(seqDigits, "0")}`;
}

/** The record of `seq` in the lane opened by main record `lane`: `lanes/<lane>/<seq>`. */
export function laneRecordKey(lane: number, seq: number): string {
  return `${lanePrefix}${String(lane).padStart(seqDigits, "0")}/${String(seq).padStart(seqDigits, "0")}`;
}

/** The lane and seq a `lanes/<lane>/<seq>` key names, or undefined for any other key. */
export function laneOfKey(key: string): { lane: number; seq: number } | undefined {
  const match = laneKeyPattern.exec(key);
  return match === null ? undefined : { lane: Number(match[1]), seq: Number(match[2]) };
}

/** The snapshot of the namespace at `seq`: `snapshots/<seq>`. */
export function snapshotKey(seq: number): string {
  return `${snapshotPrefix}${String(seq).padStart(seqDigits, "0")}`;
}

/** A new pack's key: random, a key of its own (L1a). */
export function newPackKey(): string {
  return `${packPrefix}${randomUUID()}`;
}

/** A new chunk's key: random, a key of its own (L1a). */
export function newChunkKey(): string {
  return `${chunkPrefix}${randomUUID()}`;
}

/** Where the fork `fsId` registers itself in its parent's prefix. */
export function forkRegistrationKey(fsId: string): string {
  return `${forkRegistrationPrefix}${fsId}${forkRegistrationSuffix}`;
}

/** The seq a `wal/<seq>` key names, or undefined for any other key. */
export function seqOfWalKey(key: string): number | undefined {
  const match = walKeyPattern.exec(key);
  return match === null ? undefined : Number(match[1]);
}

/** The seq a `snapshots/<seq>` key names, or undefined for any other key. */
export function seqOfSnapshotKey(key: string): number | undefined {
  const match = snapshotKeyPattern.exec(key);
  return match === null ? undefined : Number(match[1]);
}

export type ObjectKind = "format" | "head" | "lease" | "record" | "lane-record" | "snapshot" | "pack" | "chunk" | "fork" | "maintenance" | "unknown";

/** What a listed key is; records and snapshots also say their seq. */
export function classifyKey(key: string): { kind: ObjectKind; seq?: number; lane?: number } {
  if (key === formatKey) return { kind: "format" };
  if (key === headKey) return { kind: "head" };
  if (key === leaseKey) return { kind: "lease" };
  const record = seqOfWalKey(key);
  if (record !== undefined) return { kind: "record", seq: record };
  const snapshot = seqOfSnapshotKey(key);
  if (snapshot !== undefined) return { kind: "snapshot", seq: snapshot };
  const laneRecord = laneOfKey(key);
  if (laneRecord !== undefined) return { kind: "lane-record", seq: laneRecord.seq, lane: laneRecord.lane };
  if (key.startsWith(packPrefix)) return { kind: "pack" };
  if (key.startsWith(chunkPrefix)) return { kind: "chunk" };
  if (key.startsWith(forkRegistrationPrefix) && key.endsWith(forkRegistrationSuffix)) return { kind: "fork" };
  if (key.startsWith(maintenancePrefix)) return { kind: "maintenance" };
  return { kind: "unknown" };
}
