// The sizes of the log records the local index has applied above the newest snapshot, kept in
// the index's meta table beside its position and written in the same transaction. A writer that
// mounts on an index already ahead of the newest snapshot (its own from before a remount, or a
// reader's) never reads those records again, yet its snapshot cadence counts their bytes from
// here: the warm mount costs no request for it.

import type { NamespaceView } from "../namespace/namespace.ts";

/** A record of the log and its size in bytes. */
export interface LogRecordSize {
  seq: number;
  bytes: number;
}

/** The meta key: `<first seq>:<bytes>,<bytes>,...`, one size per record from the first seq to the index's position. */
const sizesKey = "recordSizes";

/**
 * At most this many sizes are kept (the newest). The count cadence calls for a snapshot after
 * 1,000 records by default, so the writer's list stays far shorter; the bound is for readers whose
 * head names no recent snapshot.
 */
const keptSizes = 10_000;

/** The sizes `view` holds for the records up to its position `seq`, oldest first (none if it holds none that end there). */
export function recordSizes(view: NamespaceView, seq: number): LogRecordSize[] {
  const value = view.meta(sizesKey);
  const separator = value?.indexOf(":") ?? -1;
  if (value === undefined || separator < 0) return [];
  const first = Number(value.slice(0, separator));
  const sizes = separator === value.length - 1 ? [] : value.slice(separator + 1).split(",").map(Number);
  // Written by another version, or not up to date with the position: sizes that may be wrong count for nothing.
  if (!Number.isSafeInteger(first) || first + sizes.length - 1 !== seq || !sizes.every((bytes) => Number.isSafeInteger(bytes) && bytes >= 0)) return [];
  return sizes.map((bytes, index) => ({ seq: first + index, bytes }));
}

/**
 * The meta row that records the sizes of the records up to `added`'s last one: those `view` holds
 * for the records up to `seq` (its position before them), then `added` (the records after `seq`,
 * in order). Sizes of records at or below `snapshot`, the newest snapshot known, are dropped: a
 * cold mount no longer replays those records.
 */
export function recordSizesMeta(view: NamespaceView, seq: number, added: readonly LogRecordSize[], snapshot: number): Record<string, string> {
  const value = view.meta(sizesKey);
  // A writer commits one record after another onto the row it wrote itself: then the row grows by
  // its new sizes alone, without parsing and joining the hundreds before them each time.
  const known = value === undefined ? undefined : written.get(view);
  if (known !== undefined && known.value === value && known.first + known.count - 1 === seq && known.first > snapshot && known.count + added.length <= keptSizes && follows(added, seq)) {
    const more = added.map((record) => record.bytes).join(",");
    const grown = more === "" ? value : `${value}${known.count === 0 ? "" : ","}${more}`;
    written.set(view, { value: grown, first: known.first, count: known.count + added.length });
    return { [sizesKey]: grown };
  }
  const sizes = [...recordSizes(view, seq), ...added].filter((record) => record.seq > snapshot).slice(-keptSizes);
  const first = sizes[0]?.seq ?? (added.at(-1)?.seq ?? seq) + 1;
  const row = `${first}:${sizes.map((record) => record.bytes).join(",")}`;
  // Only a list of consecutive records can grow by appending (recordSizes reads nothing else back).
  if (sizes.every((record, index) => record.seq === first + index)) written.set(view, { value: row, first, count: sizes.length });
  else written.delete(view);
  return { [sizesKey]: row };
}

/** The row last built for each view: its value, the seq of its first size and how many it holds. */
const written = new WeakMap<NamespaceView, { value: string; first: number; count: number }>();

/** Whether `added` are the records right after `seq`, in order. */
function follows(added: readonly LogRecordSize[], seq: number): boolean {
  return added.every((record, index) => record.seq === seq + 1 + index && Number.isSafeInteger(record.bytes) && record.bytes >= 0);
}
