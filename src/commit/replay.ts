// Following the log: applying published records to the local index, checking each against the
// invariants first. Mount, `refresh()` and the writer's resynchronisation all use this one path.
// A void record (a pipelined record whose parent is not in the log: docs/s3-layout.md I7) is
// read, checked and passed over, never applied.

import { FsError } from "../base/errors.ts";
import type { DecodedRecord, LogPosition } from "../log/record.ts";
import { followRecord, headerEpoch } from "../log/record.ts";
import { walKey } from "../log/keys.ts";
import type { RemoteLog } from "../log/remote-log.ts";
import { CorruptObjectError } from "../stores/store-errors.ts";
import { LocalDiskFullError, LocalIndexCorruptError, type Namespace } from "../namespace/namespace.ts";
import { positionMeta } from "../namespace/position.ts";
import type { OpApplier } from "../namespace/apply-ops.ts";
import type { SegmentCache } from "../data/segment-cache.ts";
import { recordSizesMeta } from "./record-sizes.ts";

/** Whether `error` means the local index must be rebuilt from the log (it is damaged, or disagrees with the log). */
export function indexNeedsRebuild(error: unknown): boolean {
  return error instanceof LocalIndexCorruptError || error instanceof RecordDoesNotApplyError;
}

/** The epoch a record establishes: its own, or a higher one announced by an epoch operation. */
export function recordEpoch(record: DecodedRecord): number {
  return headerEpoch(record.header);
}

/**
 * A published operation does not apply to the local index. The index, not the log, is suspect
 * first: the mount rebuilds the index and replays again, and only if the operation fails on a
 * freshly built index is the record at fault.
 */
export class RecordDoesNotApplyError extends CorruptObjectError {}

/**
 * Applies `record` inside the open namespace batch, after checking it follows `position`.
 * Returns the new position; a void record (followRecord) is not applied, and the position after
 * it says `voided`. Throws CorruptObjectError if the record breaks an invariant,
 * RecordDoesNotApplyError if an operation no longer applies, LocalIndexCorruptError if the index
 * is found damaged.
 */
export function applyRecord(namespace: Namespace, applier: OpApplier, position: LogPosition, record: DecodedRecord, key: string): LogPosition {
  const followed = followRecord(position, record.header, record.hash);
  if (followed.problem !== undefined) throw new CorruptObjectError(`commit record ${key} ${followed.problem}`, { operation: "get", key });
  if (followed.voided) return followed.position;
  for (const op of record.header.ops) {
    try {
      applier.apply(op, key, { replay: true });
    } catch (error) {
      if (error instanceof FsError && !(error instanceof LocalIndexCorruptError) && !(error instanceof LocalDiskFullError)) {
        throw new RecordDoesNotApplyError(`commit record ${key} does not apply to the local index (${error.message})`, {
          operation: "get",
          key,
          cause: error,
        });
      }
      throw error;
    }
  }
  return followed.position;
}

/** Records fetched at once when the head says the log is further ahead. */
const parallelReads = 16;

/** How far one `catchUp` goes, and what it starts from. */
export interface CatchUpOptions {
  /** A record already read: the one after `position`. */
  first?: DecodedRecord | undefined;
  /** Records already read, in order: the ones after `position` (after `first`, if given). Never read again. */
  read?: readonly DecodedRecord[];
  /**
   * The slot after the records already read was found empty by the same refresh: it is read again
   * only if `knownSeq` says it has been filled since (the head, read at once, saw it land), and
   * nothing after `knownSeq` is probed.
   */
  endSeen?: boolean;
  /** The newest seq known to exist (the head's hint). */
  knownSeq?: number;
  /** At most this many records in one call. */
  maxRecords?: number | undefined;
  /** The newest snapshot known: the index keeps the sizes of the records above it (./record-sizes.ts). */
  snapshot?: number;
}

/**
 * Reads and applies every record after `position` until an empty slot, in one namespace batch, so
 * the committed view moves from one whole record boundary to a later one in a single step.
 * `knownSeq` (the head's hint) lets a reader that is far behind fetch the records it knows exist
 * in parallel instead of one round trip each; past it, probing widens while records keep coming. `maxRecords`
 * bounds one call, so a reader chasing a busy writer still returns (and the next call goes on).
 * A caller that probed the log itself passes what it found (`first`, `read`) and whether it found
 * the empty slot after it (`endSeen`): then nothing is read twice, and a refresh that saw the end
 * applies at once, with no round trip more.
 * Returns the new position and the records applied (`records`: what callers check for fencing,
 * conflicts and `collect` fences), and apart from them the void records read (`voided`), which
 * changed nothing but are log bytes all the same.
 */
export async function catchUp(
  log: RemoteLog,
  namespace: Namespace,
  applier: OpApplier,
  position: LogPosition,
  cache: SegmentCache | undefined,
  options: CatchUpOptions = {},
): Promise<{ position: LogPosition; records: DecodedRecord[]; voided: DecodedRecord[] }> {
  const { first, read = [], endSeen = false, knownSeq = 0, maxRecords = Number.POSITIVE_INFINITY, snapshot = 0 } = options;
  const records: DecodedRecord[] = [];
  if (first !== undefined) records.push(first);
  records.push(...read.slice(0, maxRecords - records.length));
  // Past the hint, probe one slot (an idle refresh costs one GET), then twice as many each time
  // a whole window is found: a reader behind an active writer soon reads in parallel. Records
  // read already were a window found whole: the next one is as wide.
  let speculative = Math.max(1, read.length);
  // The log's end was seen already: nothing more to read but what the head says landed since. A
  // record after that empty slot was published after it was seen, so after this refresh began.
  const last = endSeen ? Math.max(position.seq + records.length, knownSeq) : Number.POSITIVE_INFINITY;
  while (records.length < maxRecords && position.seq + records.length < last) {
    const from = position.seq + records.length + 1;
    const count = Math.min(parallelReads, Math.max(speculative, knownSeq - from + 1), maxRecords - records.length, last - from + 1);
    const window = await Promise.all(Array.from({ length: count }, (_, index) => log.readRecord(from + index)));
    let complete = true;
    for (const record of window) {
      if (record === undefined) {
        complete = false;
        break;
      }
      records.push(record);
    }
    if (!complete) break;
    if (from + count - 1 > knownSeq) speculative *= 2;
  }
  if (records.length === 0) return { position, records, voided: [] };
  namespace.beginBatch();
  let current = position;
  let voided: DecodedRecord[] = [];
  const apply = () => {
    current = position;
    voided = [];
    for (const record of records) {
      current = applyRecord(namespace, applier, current, record, walKey(record.header.seq));
      if (current.voided === true) voided.push(record);
    }
  };
  try {
    apply();
    const sizes = recordSizesMeta(namespace.pending, position.seq, records.map((record) => ({ seq: record.header.seq, bytes: record.bytes.byteLength })), snapshot);
    namespace.commitBatch({ ...positionMeta(current), ...sizes }, apply); // on a full disk, done again in the index's reserve
  } catch (error) {
    namespace.rollbackBatch();
    throw error;
  }
  const skipped = new Set(voided);
  const applied = skipped.size === 0 ? records : records.filter((record) => !skipped.has(record));
  if (cache !== undefined) {
    // The inline data came with the records: keep it, so reading those files costs nothing more.
    // Not waited for: the cache serves a segment from memory from the moment it is inserted until
    // it is on disk (and closing the cache waits for it), so a read after this returns finds it
    // all the same, and a reader's refresh does not wait for the disk. A segment that cannot be
    // written makes the cache smaller, nothing else.
    for (const record of applied) {
      if (record.dataBytes > 0) void cache.insert(walKey(record.header.seq), 0, record.bytes.subarray(0, record.dataBytes)).catch(() => {});
    }
  }
  return { position: current, records: applied, voided };
}

