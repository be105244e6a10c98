// An inventory of one filesystem's objects: every key under its prefix, listed page by page and
// sorted into the kinds docs/s3-layout.md defines. Maintenance (garbage collection, fsck) starts
// from it; mounts, refreshes and commits never list (M6). A listing that fails part-way fails
// whole: a partial inventory must never be mistaken for the truth.

import { listAll, type ObjectInfo, type ObjectStore } from "../stores/object-store.ts";
import { classifyKey, type ObjectKind } from "../log/keys.ts";

export interface InventoryEntry extends ObjectInfo {
  kind: ObjectKind;
  /** For records, lanes' records and snapshots: the seq the key names. */
  seq?: number;
  /** For lanes' records: the lane's id. */
  lane?: number;
}

export interface Inventory {
  objects: Map<string, InventoryEntry>;
  records: Map<number, InventoryEntry>;
  snapshots: Map<number, InventoryEntry>;
  forks: InventoryEntry[];
  /** Bytes of everything listed. */
  bytes: number;
}

/** Lists every object of the filesystem. Throws whatever the listing throws; never returns a partial one. */
export async function takeInventory(store: ObjectStore, options: { prefix?: string } = {}): Promise<Inventory> {
  const inventory: Inventory = { objects: new Map(), records: new Map(), snapshots: new Map(), forks: [], bytes: 0 };
  for await (const object of listAll(store, options.prefix === undefined ? {} : { prefix: options.prefix })) {
    const { kind, seq, lane } = classifyKey(object.key);
    const entry: InventoryEntry = { ...object, kind, ...(seq === undefined ? {} : { seq }), ...(lane === undefined ? {} : { lane }) };
    inventory.objects.set(object.key, entry);
    inventory.bytes += object.size;
    if (kind === "record") inventory.records.set(seq!, entry);
    else if (kind === "snapshot") inventory.snapshots.set(seq!, entry);
    else if (kind === "fork") inventory.forks.push(entry);
  }
  return inventory;
}
