// Where the index stands in the log: the position (fsId, seq, hash, epoch, and whether the record
// at seq was void) it records in its meta table, written in the same transaction as the rows a
// record changes, so it moves with each commit atomically.

import type { LogPosition } from "../log/record.ts";
import type { Namespace, NamespaceView } from "./namespace.ts";

/**
 * The meta rows that record `position`. `voided` holds the seq of the position when the record
 * there was void, else "0": every position written clears it, and a value left by a version that
 * does not write it (the index moved on under another seq) cannot make a later position void.
 */
export function positionMeta(position: LogPosition): Record<string, string> {
  return { fsId: position.fsId, seq: String(position.seq), hash: position.hash, epoch: String(position.epoch), voided: position.voided === true ? String(position.seq) : "0" };
}

/** The log position a view of the index records; undefined for an index that has none yet. */
export function positionOf(view: NamespaceView): LogPosition | undefined {
  const fsId = view.meta("fsId");
  const seq = view.meta("seq");
  const hash = view.meta("hash");
  const epoch = view.meta("epoch");
  if (fsId === undefined || seq === undefined || hash === undefined || epoch === undefined) return undefined;
  // Absent (an index written before void records) or "0": the record at seq was applied.
  const voided = seq !== "0" && view.meta("voided") === seq;
  return voided ? { fsId, seq: Number(seq), hash, epoch: Number(epoch), voided } : { fsId, seq: Number(seq), hash, epoch: Number(epoch) };
}

/** The position of the pending view (the writer's batch, or the committed state outside one). */
export function positionFromMeta(namespace: Namespace): LogPosition | undefined {
  return positionOf(namespace.pending);
}

/** The position of the committed view: what readers of this index see. */
export function committedPosition(namespace: Namespace): LogPosition | undefined {
  return positionOf(namespace.committed);
}
