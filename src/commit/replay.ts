// Following the log: applying published records to the local index, checking each against the
// invariants first. Mount, `refresh()` and the writer's resynchronisation all use this one path.
// A void record (a pipelined record whose parent is not in the log: docs/s3-layout.md I7) is
// read, checked and passed over, never applied.

import { FsError } from "../base/errors.ts";
import type { DecodedRecord, LogPosition } from "../log/record.ts";
import { followRecord, headerEpoch } from "../log/record.ts";
import { laneRecordKey, walKey } from "../log/keys.ts";
import type { Op } from "../log/ops.ts";
import type { RemoteLog } from "../log/remote-log.ts";
import { CorruptObjectError } from "../stores/store-errors.ts";
import { LocalDiskFullError, LocalIndexCorruptError, type Namespace } from "../namespace/namespace.ts";
import { positionMeta } from "../namespace/position.ts";
import type { OpApplier } from "../namespace/apply-ops.ts";
import type { SegmentCache } from "../data/segment-cache.ts";
import { recordSizesMeta } from "./record-sizes.ts";
import { copyLanes, followLaneRecord, followMainOp, lanesMeta, lanesOf, type LaneState } from "./lanes.ts";

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
 * it says `voided`. `lanes` (updated in place) are the open lanes: the lane records the record
 * needs (its `lanes`, a closing) must have been applied (src/commit/lanes.ts). Throws CorruptObjectError if the record breaks an
 * invariant, RecordDoesNotApplyError if an operation no longer applies, LocalIndexCorruptError
 * if the index is found damaged.
 */
export function applyRecord(namespace: Namespace, applier: OpApplier, position: LogPosition, record: DecodedRecord, key: string, lanes: Map<number, LaneState> = new Map()): LogPosition {
  const corrupt = (problem: string) => new CorruptObjectError(`commit record ${key} ${problem}`, { operation: "get", key });
  const followed = followRecord(position, record.header, record.hash);
  if (followed.problem !== undefined) throw corrupt(followed.problem);
  if (record.header.lane !== undefined) throw corrupt(`is lane ${record.header.lane}'s record, not the main log's`);
  if (followed.voided) return followed.position;
  for (const [id, seq] of Object.entries(record.header.lanes ?? {})) {
    const lane = lanes.get(Number(id));
    if (lane === undefined) throw corrupt(`names lane ${id}, which is not open`);
    if (lane.position.seq < seq) throw corrupt(`needs lane ${id}'s record ${seq}, but the lane ends at ${lane.position.seq}`);
  }
  const self = { seq: record.header.seq, hash: record.hash, fsId: position.fsId, epoch: followed.position.epoch };
  for (const op of record.header.ops) {
    const problem = followMainOp(lanes, op, self);
    if (problem !== undefined) throw corrupt(problem);
    applyOp(applier, op, key);
  }
  return followed.position;
}

/** Applies lane `id`'s record, checked against where the lane stands (`lane`, updated in place). */
export function applyLaneRecord(applier: OpApplier, id: number, lane: LaneState, record: DecodedRecord): void {
  const key = laneRecordKey(id, record.header.seq);
  const followed = followLaneRecord(id, lane, record);
  if ("problem" in followed) throw new CorruptObjectError(`lane record ${key} ${followed.problem}`, { operation: "get", key });
  for (const op of followed.apply) applyOp(applier, op, key);
}

function applyOp(applier: OpApplier, op: Op, key: string): void {
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
  /** Reads of open lanes the caller started with its own probe (`probeLanes`), used instead of reading them again. */
  laneProbes?: ReadonlyMap<number, Promise<DecodedRecord[]>>;
}

/** What one `catchUp` applied. */
export interface CaughtUp {
  position: LogPosition;
  /** The main log's records applied. */
  records: DecodedRecord[];
  /** The main log's void records read (they changed nothing). */
  voided: DecodedRecord[];
  /** The lanes' records applied, with their lane's id. */
  laneRecords: { lane: number; record: DecodedRecord }[];
}

/**
 * Reads records of `read` from slot `from` on, one slot first and twice as many each time a whole
 * window is found (at most `parallelReads` at once), until an empty slot, `last`, or `stop` says a
 * record ends the log. `known`: slots known to exist, read in parallel from the start.
 */
async function readRun(
  read: (seq: number) => Promise<DecodedRecord | undefined>,
  from: number,
  options: { last?: number | undefined; known?: number | undefined; first?: number; max?: number; stop?: (record: DecodedRecord) => boolean },
): Promise<DecodedRecord[]> {
  const { last = Number.POSITIVE_INFINITY, known = 0, max = Number.POSITIVE_INFINITY, stop } = options;
  if (last < from) return [];
  const records: DecodedRecord[] = [];
  let speculative = Math.max(1, options.first ?? 1);
  while (records.length < max && from + records.length <= last) {
    const next = from + records.length;
    const count = Math.min(parallelReads, Math.max(speculative, known - next + 1), max - records.length, last - next + 1);
    const window = await Promise.all(Array.from({ length: count }, (_, index) => read(next + index)));
    for (const record of window) {
      if (record === undefined) return records;
      records.push(record);
      if (stop?.(record) === true) return records;
    }
    if (next + count - 1 > known) speculative *= 2;
  }
  return records;
}

const isCloseMarker = (record: DecodedRecord) => record.header.ops.some((op) => op.op === "laneEnd");

/** Lane `id`'s records from `from` to its end (its close marker included), or to `last`. */
function readLane(log: RemoteLog, id: number, from: number, last?: number): Promise<DecodedRecord[]> {
  return readRun((seq) => log.readLaneRecord(id, seq), from, { last, known: last, stop: isCloseMarker });
}

/**
 * Starts reading every open lane of the index from where it stands to its end (a caller that
 * probes the main log itself starts these beside it, and hands them to `catchUp`).
 */
export function probeLanes(log: RemoteLog, namespace: Namespace): Map<number, Promise<DecodedRecord[]>> {
  const probes = new Map<number, Promise<DecodedRecord[]>>();
  for (const [id, lane] of lanesOf(namespace.pending)) {
    if (lane.ended === true) continue;
    const reading = readLane(log, id, lane.position.seq + 1);
    reading.catch(() => {}); // its failure is thrown where it is awaited, unless another came first
    probes.set(id, reading);
  }
  return probes;
}

/** The lane positions a main-log record says its writer had applied (`lanes` in its header). */
function laneDependencies(record: DecodedRecord): [number, number][] {
  return Object.entries(record.header.lanes ?? {}).map(([id, seq]) => [Number(id), seq]);
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
 * The open lanes are read to their ends beside the main log (src/commit/lanes.ts). A lane's
 * record is applied once the main log stands at or past the seq it names (`after`), and before
 * any main-log record that names a lane position at or past it, or closes the lane after it: so
 * the state at a main-log seq holds, of each lane, the records written on the main log up to it.
 * Returns the new position and the records applied (`records`: what callers check for fencing,
 * conflicts and `collect` fences), and apart from them the void records read (`voided`), which
 * changed nothing but are log bytes all the same, and the lanes' records applied.
 */
export async function catchUp(
  log: RemoteLog,
  namespace: Namespace,
  applier: OpApplier,
  position: LogPosition,
  cache: SegmentCache | undefined,
  options: CatchUpOptions = {},
): Promise<CaughtUp> {
  const { first, read = [], endSeen = false, knownSeq = 0, maxRecords = Number.POSITIVE_INFINITY, snapshot = 0 } = options;
  const startLanes = lanesOf(namespace.pending);
  // The open lanes are read beside the main log: most refreshes find them all in one round trip.
  const probed = new Map(options.laneProbes ?? probeLanes(log, namespace));
  for (const id of [...probed.keys()]) if (!startLanes.has(id)) probed.delete(id);
  const records: DecodedRecord[] = [];
  if (first !== undefined) records.push(first);
  records.push(...read.slice(0, maxRecords - records.length));
  // Past the hint, probe one slot (an idle refresh costs one GET), then twice as many each time
  // a whole window is found: a reader behind an active writer soon reads in parallel. Records
  // read already were a window found whole: the next one is as wide.
  // The log's end was seen already: nothing more to read but what the head says landed since. A
  // record after that empty slot was published after it was seen, so after this refresh began.
  const last = endSeen ? Math.max(position.seq + records.length, knownSeq) : Number.POSITIVE_INFINITY;
  if (records.length < maxRecords && position.seq + records.length < last) {
    records.push(
      ...(await readRun((seq) => log.readRecord(seq), position.seq + records.length + 1, { last, known: knownSeq, first: read.length, max: maxRecords - records.length })),
    );
  }
  const lanesRead = new Map<number, DecodedRecord[]>();
  for (const [id, reading] of probed) lanesRead.set(id, await reading);
  // What the records need of the lanes (a closing, a position their writer had applied) that the
  // probe did not read, because it landed since: read now, and missing, damage. Lanes the records
  // open are read too.
  let scan = position;
  const opened = new Map<number, LaneState>();
  const needed = new Map<number, { upTo: number; by: string }>();
  for (const record of records) {
    const followed = followRecord(scan, record.header, record.hash);
    if (followed.problem !== undefined) break; // applying it reports the damage
    scan = followed.position;
    if (followed.voided) continue;
    const by = walKey(record.header.seq);
    const need = (id: number, upTo: number) => {
      if (upTo > (needed.get(id)?.upTo ?? 0)) needed.set(id, { upTo, by });
    };
    for (const [id, upTo] of laneDependencies(record)) need(id, upTo);
    for (const op of record.header.ops) {
      if (op.op === "laneOpen") opened.set(record.header.seq, { path: op.path, owner: op.owner, after: record.header.seq, position: { ...scan, seq: 0, hash: record.hash } });
      if (op.op === "laneClose") need(op.lane, op.seq);
    }
  }
  const more: Promise<void>[] = [];
  for (const [id] of opened) more.push(readLane(log, id, 1).then((found) => void lanesRead.set(id, found)));
  await Promise.all(more.splice(0));
  for (const [id, { upTo, by }] of needed) {
    const have = lanesRead.get(id) ?? [];
    const base = startLanes.get(id)?.position.seq ?? 0;
    const from = base + have.length + 1;
    const last = have.at(-1);
    if (from > upTo || (last !== undefined && isCloseMarker(last))) continue;
    more.push(
      readLane(log, id, from, upTo).then((rest) => {
        if (from + rest.length <= upTo) {
          const key = laneRecordKey(id, from + rest.length);
          throw new CorruptObjectError(`commit record ${by} needs lane ${id}'s record ${upTo}, but ${key} is missing`, { operation: "get", key });
        }
        lanesRead.set(id, [...have, ...rest]);
      }),
    );
  }
  await Promise.all(more);
  const laneCount = [...lanesRead.values()].reduce((sum, one) => sum + one.length, 0);
  if (records.length === 0 && laneCount === 0) return { position, records, voided: [], laneRecords: [] };
  namespace.beginBatch();
  let current = position;
  let voided: DecodedRecord[] = [];
  let lanes = copyLanes(startLanes);
  let laneRecords: { lane: number; record: DecodedRecord }[] = [];
  const apply = () => {
    current = position;
    voided = [];
    lanes = copyLanes(startLanes);
    laneRecords = [];
    const taken = new Map<number, number>(); // lane id -> how many of its records read were applied
    // Applies lane `id`'s records read, up to its record `upTo`: each once the main log stands at
    // its `after` (`mainSeq`); `strict` (a main-log record needs them): else damage, not a stop.
    const advance = (id: number, lane: LaneState, upTo: number, mainSeq: number, strict: string | undefined) => {
      const found = lanesRead.get(id) ?? [];
      let index = taken.get(id) ?? 0;
      for (; index < found.length && found[index]!.header.seq <= upTo; index++) {
        const record = found[index]!;
        if (!((record.header.after ?? 0) <= mainSeq)) {
          if (strict === undefined) break;
          const key = laneRecordKey(id, record.header.seq);
          throw new CorruptObjectError(`lane record ${key} names main-log record ${String(record.header.after)}, but ${strict} needs it`, { operation: "get", key });
        }
        applyLaneRecord(applier, id, lane, record);
        laneRecords.push({ lane: id, record });
      }
      taken.set(id, index);
    };
    for (const record of records) {
      const followed = followRecord(current, record.header, record.hash);
      if (followed.problem === undefined && !followed.voided) {
        const key = walKey(record.header.seq);
        const needs = [...laneDependencies(record), ...record.header.ops.flatMap((op) => (op.op === "laneClose" ? [[op.lane, op.seq] as [number, number]] : []))];
        for (const [id, upTo] of needs) {
          const lane = lanes.get(id);
          if (lane === undefined) continue; // applying the record reports the damage
          advance(id, lane, upTo, record.header.seq - 1, key);
          if (lane.position.seq < upTo) throw new CorruptObjectError(`commit record ${key} needs lane ${id}'s record ${upTo}, but the lane ends at ${lane.position.seq}`, { operation: "get", key });
        }
      }
      current = applyRecord(namespace, applier, current, record, walKey(record.header.seq), lanes);
      if (current.voided === true) voided.push(record);
    }
    for (const [id, lane] of lanes) advance(id, lane, Number.POSITIVE_INFINITY, current.seq, undefined);
  };
  try {
    apply();
    const sizes = recordSizesMeta(namespace.pending, position.seq, records.map((record) => ({ seq: record.header.seq, bytes: record.bytes.byteLength })), snapshot);
    namespace.commitBatch({ ...positionMeta(current), ...lanesMeta(lanes), ...sizes }, apply); // on a full disk, done again in the index's reserve
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
    const keep = (key: string, record: DecodedRecord) => {
      if (record.dataBytes > 0) void cache.insert(key, 0, record.bytes.subarray(0, record.dataBytes)).catch(() => {});
    };
    for (const record of applied) keep(walKey(record.header.seq), record);
    for (const { lane, record } of laneRecords) keep(laneRecordKey(lane, record.header.seq), record);
  }
  return { position: current, records: applied, voided, laneRecords };
}
