// What a set of namespaces refers to: every extent (object, offset, length, hash) named by a
// snapshot or introduced by a record. Garbage collection keeps every object named here; fsck
// checks every extent named here. Only `write`, `append` and `relocate` bring new extents into a
// namespace (`copy` shares extents already there), so a snapshot's references plus those of the
// records after it cover every state in between (docs/s3-layout.md GC3).

import { walKey } from "../log/keys.ts";
import { unknownOperation, type RecordHeader } from "../log/record.ts";
import type { Extent } from "../log/ops.ts";
import type { SnapshotDocument } from "../namespace/snapshot.ts";

export class References {
  private readonly byObject = new Map<string, Map<string, Extent>>();
  private count = 0;

  add(extent: Extent): void {
    let extents = this.byObject.get(extent.object);
    if (extents === undefined) {
      extents = new Map();
      this.byObject.set(extent.object, extents);
    }
    const id = `${extent.offset}:${extent.length}:${extent.hash}`;
    if (!extents.has(id)) {
      extents.set(id, extent);
      this.count++;
    }
  }

  /** Every extent of every file in the snapshot. */
  addSnapshot(document: SnapshotDocument): void {
    for (const node of document.nodes) {
      for (const [object, offset, length, hash] of node[9] ?? []) this.add({ object, offset, length, hash });
    }
  }

  /**
   * The extents a record brings in; its inline data ("") is the record's own key. Every kind is
   * named: an operation this version does not know may bring objects in, so it stops the caller
   * (garbage collection must not delete what it cannot see is named).
   */
  addRecord(header: RecordHeader): void {
    const own = walKey(header.seq);
    for (const op of header.ops) {
      switch (op.op) {
        case "write":
        case "append":
          for (const extent of op.extents) this.add(extent.object === "" ? { ...extent, object: own } : extent);
          break;
        case "relocate":
          for (const move of op.moves) this.add({ object: move.toObject === "" ? own : move.toObject, offset: move.toOffset, length: move.length, hash: move.hash });
          break;
        case "copy": // shares extents already present
        case "mkdir":
        case "rm":
        case "rename":
        case "symlink":
        case "chmod":
        case "utimes":
        case "epoch":
          break;
        default: {
          const unknown: never = op;
          throw unknownOperation(own, (unknown as { op?: unknown }).op);
        }
      }
    }
  }

  has(object: string): boolean {
    return this.byObject.has(object);
  }

  objects(): string[] {
    return [...this.byObject.keys()];
  }

  extents(object: string): Extent[] {
    return [...(this.byObject.get(object)?.values() ?? [])];
  }

  get extentCount(): number {
    return this.count;
  }
}
