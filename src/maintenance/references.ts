// What a set of namespaces refers to: every extent (object, offset, length, hash) named by a
// snapshot or introduced by a record. Garbage collection keeps every object named here; fsck
// checks every extent named here. Only the extents `extentsBroughtIn` names enter a namespace
// (`write`, `append` and `relocate`; `copy` shares extents already there), so a snapshot's
// references plus those of the records after it cover every state in between (docs/s3-layout.md
// GC3).

import { walKey } from "../log/keys.ts";
import type { RecordHeader } from "../log/record.ts";
import { extentsBroughtIn, type Extent } from "../log/ops.ts";
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
   * The extents a record brings in; its inline data ("") is the record's own key (`own`: a lane's
   * record's is `lanes/<lane>/<seq>`). Every kind is
   * named (extentsBroughtIn): an operation this version does not know may bring objects in, so it
   * stops the caller (garbage collection must not delete what it cannot see is named).
   */
  addRecord(header: RecordHeader, own = walKey(header.seq)): void {
    for (const op of header.ops) for (const extent of extentsBroughtIn(op, own)) this.add(extent);
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
