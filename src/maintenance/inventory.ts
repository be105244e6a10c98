// An inventory of one filesystem's objects: every key under its prefix, listed page by page and
// sorted into the kinds docs/s3-layout.md defines. Maintenance (garbage collection, fsck) starts
// from it; mounts, refreshes and commits never list (M6). A listing that fails part-way fails
// whole: a partial inventory must never be mistaken for the truth.

import { listAll, type ObjectInfo, type ObjectStore } from "../stores/object-store.ts";
import { seqOfSnapshotKey, seqOfWalKey } from "../log/record.ts";
import { formatKey, headKey } from "../log/remote-log.ts";
import { leaseKey } from "../commit/lease.ts";

export type ObjectKind = "format" | "head" | "lease" | "record" | "snapshot" | "pack" | "chunk" | "fork" | "maintenance" | "unknown";

export interface InventoryEntry extends ObjectInfo {
  kind: ObjectKind;
  /** For records and snapshots: the seq the key names. */
  seq?: number;
}

export interface Inventory {
  objects: Map<string, InventoryEntry>;
  records: Map<number, InventoryEntry>;
  snapshots: Map<number, InventoryEntry>;
  forks: InventoryEntry[];
  /** Bytes of everything listed. */
  bytes: number;
}

/** Fork registrations: `forks/<fsId>.json` in the parent's prefix (F2). */
export const forkRegistrationPrefix = "forks/";
/** Maintenance's own small objects (the garbage collector's clock). */
export const maintenancePrefix = "gc/";
/** Written by each garbage collection (GC1); its presence also tells a mount that collection has run. */
export const clockKey = `${maintenancePrefix}clock`;

export function classifyKey(key: string): { kind: ObjectKind; seq?: number } {
  if (key === formatKey) return { kind: "format" };
  if (key === headKey) return { kind: "head" };
  if (key === leaseKey) return { kind: "lease" };
  const record = seqOfWalKey(key);
  if (record !== undefined) return { kind: "record", seq: record };
  const snapshot = seqOfSnapshotKey(key);
  if (snapshot !== undefined) return { kind: "snapshot", seq: snapshot };
  if (key.startsWith("packs/")) return { kind: "pack" };
  if (key.startsWith("chunks/")) return { kind: "chunk" };
  if (key.startsWith(forkRegistrationPrefix) && key.endsWith(".json")) return { kind: "fork" };
  if (key.startsWith(maintenancePrefix)) return { kind: "maintenance" };
  return { kind: "unknown" };
}

/** Lists every object of the filesystem. Throws whatever the listing throws; never returns a partial one. */
export async function takeInventory(store: ObjectStore, options: { prefix?: string } = {}): Promise<Inventory> {
  const inventory: Inventory = { objects: new Map(), records: new Map(), snapshots: new Map(), forks: [], bytes: 0 };
  for await (const object of listAll(store, options.prefix === undefined ? {} : { prefix: options.prefix })) {
    const { kind, seq } = classifyKey(object.key);
    const entry: InventoryEntry = seq === undefined ? { ...object, kind } : { ...object, kind, seq };
    inventory.objects.set(object.key, entry);
    inventory.bytes += object.size;
    if (kind === "record") inventory.records.set(seq!, entry);
    else if (kind === "snapshot") inventory.snapshots.set(seq!, entry);
    else if (kind === "fork") inventory.forks.push(entry);
  }
  return inventory;
}
