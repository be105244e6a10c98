// Where a mount's index starts: the local index (reused when it matches, else rebuilt), brought
// to the newest state it can reach from the head's snapshot, an older snapshot or the log's start,
// or, for time travel, to exactly one seq. Never lists the bucket unless every starting point the
// head offers fails.

import { SQLiteError } from "bun:sqlite";
import { FsError } from "../base/errors.ts";
import { LocalDiskFullError, LocalIndexCorruptError, Namespace, isDiskFullError, removeIndexFiles } from "../namespace/namespace.ts";
import type { OpApplier } from "../namespace/apply-ops.ts";
import { loadSnapshot } from "../namespace/snapshot.ts";
import { DamagedHeadError, formatVersion, type FormatDocument, type HeadDocument, type RemoteLog } from "../log/remote-log.ts";
import { clockKey, headKey, snapshotKey, walKey } from "../log/keys.ts";
import type { LogPosition, RecordHeader } from "../log/record.ts";
import { catchUp, indexNeedsRebuild } from "../commit/replay.ts";
import { positionFromMeta, positionMeta } from "../namespace/position.ts";
import { lanesMeta } from "../commit/lanes.ts";
import { recordSizes, type LogRecordSize } from "../commit/record-sizes.ts";
import type { SegmentCache } from "../data/segment-cache.ts";
import type { ObjectStore } from "../stores/object-store.ts";
import { CorruptObjectError, NotFoundError } from "../stores/store-errors.ts";
import { retainedFrom } from "../maintenance/time-travel.ts";
import { oldestWholeState } from "../maintenance/retention.ts";

/**
 * The local index in `file`, checked whole (Namespace.verify) before it is trusted, unless it is
 * byte for byte what the last clean close left (Namespace.closedCleanly). A damaged or
 * unreadable index is only a cache: it is replaced by an empty one, which the mount then fills
 * from the snapshot and the log.
 */
export function openIndex(file: string): Namespace {
  let namespace: Namespace | undefined;
  try {
    namespace = new Namespace(file);
    if (!namespace.closedCleanly) namespace.verify(); // a crash, or damage since: check it whole
    return namespace;
  } catch (error) {
    namespace?.close();
    if (isDiskFullError(error)) throw new LocalDiskFullError("mount", { cause: error });
    if (!(error instanceof LocalIndexCorruptError) && !(error instanceof SQLiteError)) throw error;
    removeIndexFiles(file);
    try {
      return new Namespace(file);
    } catch (again) {
      throw isDiskFullError(again) ? new LocalDiskFullError("mount", { cause: again }) : again;
    }
  }
}

/** Where a mount started, and, when the head could not say, what a writer's head should say instead. */
export interface MountStart {
  position: LogPosition;
  /** The newest seq known to exist (the head's, or the listing's when the head was no help). */
  knownSeq: number;
  /** The head a writer starts from when the mount did not start where the head said. */
  document: HeadDocument | undefined;
  /** The records the index holds above the snapshot it started from, with their sizes, read at this mount or before it (a writer's snapshot cadence counts them). */
  inherited: LogRecordSize[];
  /** Who wrote the records read from the log at this mount, and when (a shared writer meets the others at work by them). */
  writersRead: Pick<RecordHeader, "writer" | "time" | "ops">[];
}

/**
 * Brings the index to the newest state it can reach, from the best starting point that works:
 * the head's snapshot, else an older one the head lists, else the log's start (where it is still
 * there). When the head is damaged, names another filesystem, or none of its starting points
 * works, the snapshots and records are listed (a recovery path, never a routine one: M6) and each
 * snapshot is tried, newest first. A starting point works when it loads whole and the log after
 * it reaches every seq known to exist: a damaged snapshot, or one whose log was collected, is
 * passed over. If none works, the mount fails naming every object that stood in the way; it never
 * starts afresh over a filesystem whose log's start was collected.
 */
export async function startIndex(options: {
  namespace: Namespace;
  applier: OpApplier;
  log: RemoteLog;
  store: ObjectStore;
  cache: SegmentCache;
  format: FormatDocument;
  created: number;
  head: HeadDocument | undefined;
  damagedHead: DamagedHeadError | undefined;
  rebuild: boolean;
  readonly: boolean;
}): Promise<MountStart> {
  const { namespace, applier, log, cache, format, head } = options;
  const fsId = format.fsId;
  const forkPoint = format.forkedFrom?.seq ?? 0;
  const problems: { key: string; detail: string }[] = options.damagedHead === undefined ? [] : [{ key: headKey, detail: options.damagedHead.problem }];
  const failed = new Set<number>();
  const tried = new Set<number>();
  let known = head?.seq ?? 0;
  let reuseLocal = !options.rebuild;
  let listing: { records: Set<number>; snapshots: number[] } | undefined;
  let writersRead: Pick<RecordHeader, "writer" | "time" | "ops">[] = [];

  const attempt = async (seq: number): Promise<LogPosition | undefined> => {
    tried.add(seq);
    const local = positionFromMeta(namespace);
    const fromLocal = reuseLocal && local !== undefined && local.fsId === fsId && local.seq >= seq;
    let position: LogPosition;
    if (fromLocal) position = local!;
    else {
      try {
        position = await prepareIndex(namespace, log, fsId, seq, true, options.created, "throw");
      } catch (error) {
        if (!(error instanceof NotFoundError || error instanceof CorruptObjectError)) throw error;
        failed.add(seq);
        problems.push({ key: snapshotKey(seq), detail: error instanceof NotFoundError ? "it is missing" : error.message });
        return undefined;
      }
    }
    const limit = options.readonly ? Math.max(0, known - position.seq) + 256 : undefined;
    const caught = await catchUp(log, namespace, applier, position, cache, { knownSeq: known, maxRecords: limit, snapshot: seq });
    position = caught.position;
    writersRead = [...caught.records, ...caught.laneRecords.map(({ record }) => record)].map(({ header }) => header);
    const reached = Math.max(known, newest(failed));
    if (position.seq < reached) {
      if (fromLocal) reuseLocal = false;
      problems.push({
        key: walKey(position.seq + 1),
        detail: `it is missing, so ${seq === 0 ? "the log's start" : fromLocal ? `the local index (at seq ${local!.seq})` : snapshotKey(seq)} cannot reach seq ${reached}`,
      });
      return undefined;
    }
    if (position.seq === 0 && seq === 0 && listing === undefined && (await collectedBefore(options.store))) {
      // No first record, yet garbage collection has run here: the log's start was collected and
      // nothing said where it now begins. Never start afresh over it: look for its snapshots.
      problems.push({ key: walKey(1), detail: `it is missing, but garbage was collected here (${clockKey} exists): the log's start was collected` });
      return undefined;
    }
    return position;
  };

  const done = (position: LogPosition, seq: number): MountStart => {
    // Every record above the snapshot the index holds, whether read now or before this mount.
    const inherited = recordSizes(namespace.pending, position.seq);
    if (listing === undefined && failed.size === 0) return { position, knownSeq: known, document: undefined, inherited, writersRead };
    // The head did not say where to start: what a writer's head should say instead.
    const snapshot = tried.has(seq) && !failed.has(seq) ? seq : 0;
    const good = (listing?.snapshots ?? head?.snapshots ?? []).filter((listed) => !failed.has(listed) && listed <= position.seq);
    const retainedFrom =
      head !== undefined && listing === undefined
        ? (head.retainedFrom ?? 0)
        : listing === undefined
          ? snapshot
          : (oldestWholeState(listing.records, good, Math.max(position.seq, newest(listing.records)), forkPoint) ?? snapshot);
    const snapshots = [...new Set([...good.filter((listed) => listed >= retainedFrom), ...(snapshot > 0 ? [snapshot] : [])])].sort((a, b) => a - b);
    const document: HeadDocument = {
      format: formatVersion,
      fsId,
      seq: position.seq,
      snapshot: newest(snapshots),
      snapshots,
      retainedFrom: Math.min(retainedFrom, snapshot === 0 ? retainedFrom : snapshot),
      epoch: Math.max(position.epoch, head?.epoch ?? 0),
      writer: head?.writer ?? "",
      nonce: head?.nonce ?? "",
      updated: head?.updated ?? "",
    };
    return { position, knownSeq: known, document, inherited, writersRead };
  };

  // The head's starting points: its snapshot, the older ones it lists, then the log's start.
  if (options.damagedHead === undefined) {
    const retained = retainedFrom(head, format);
    const listed = head === undefined ? [] : [head.snapshot, ...(head.snapshots ?? [])].filter((seq) => seq > 0 && seq >= retained);
    const points = [...new Set(listed)].sort((a, b) => b - a);
    if (retained === 0 && forkPoint === 0) points.push(0);
    for (const seq of points) {
      const position = await attempt(seq);
      if (position !== undefined) return done(position, seq);
    }
  }
  // None: list what the store holds, and try every snapshot, newest first, then the log's start.
  listing = { records: await log.listRecords(), snapshots: await log.listSnapshots() };
  // Every listed record and snapshot is a state that existed: starting points must reach it.
  known = Math.max(known, newest(listing.records), newest(listing.snapshots));
  for (const seq of [...listing.snapshots.filter((listed) => listed >= forkPoint && listed > 0).reverse(), ...(forkPoint === 0 ? [0] : [])]) {
    if (failed.has(seq)) continue;
    const position = await attempt(seq);
    if (position !== undefined) return done(position, seq);
  }
  const [first] = problems.filter((problem) => problem.key !== headKey).concat(problems);
  throw new CorruptObjectError(
    `no state to start from: ${problems.map((problem) => `${problem.key}: ${problem.detail}`).join("; ")}${known > 0 ? ` (the filesystem reached seq ${known})` : ""}; run fsck, and restore the damaged object if you can`,
    { operation: "get", key: first?.key },
  );
}

/** The largest seq among `seqs`, 0 for none. */
function newest(seqs: Iterable<number>): number {
  let found = 0;
  for (const seq of seqs) if (seq > found) found = seq;
  return found;
}

/**
 * Makes the index ready to follow the log: kept as it is if it belongs to this filesystem and is
 * not behind `snapshot` (the newest the head names); otherwise emptied and loaded from that
 * snapshot, or left empty at seq 0 if there is none. A missing snapshot means replaying the log
 * from its start (the head is only a hint), or, for time travel, that the seq is gone.
 * Returns the position the index stands at.
 */
export async function prepareIndex(
  namespace: Namespace,
  log: RemoteLog,
  fsId: string,
  snapshot: number,
  rebuild: boolean,
  created: number,
  missing: "replay" | "fail" | "throw",
): Promise<LogPosition> {
  const local = positionFromMeta(namespace);
  if (!rebuild && local !== undefined && local.fsId === fsId && local.seq >= snapshot) return local;
  namespace.beginBatch();
  try {
    let position: LogPosition = { fsId, seq: 0, hash: "", epoch: 0 };
    const bytes = snapshot > 0 ? await log.readSnapshot(snapshot).catch((error: unknown) => {
      if (!(error instanceof NotFoundError) || missing === "throw") throw error;
      if (missing === "fail") throw new FsError("ENOENT", "mount", { detail: `${snapshotKey(snapshot)} is gone: that part of the history is no longer retained` });
      return undefined; // the head is only a hint: replay the log from its start instead
    }) : undefined;
    if (bytes !== undefined) position = loadSnapshot(namespace, snapshotKey(snapshot), bytes);
    else namespace.clear(created); // the root was born with the filesystem (format.json), on every mount alike
    if (position.fsId !== fsId) throw new CorruptObjectError(`snapshot ${snapshot} belongs to filesystem ${position.fsId}, not ${fsId}`, { operation: "get", key: snapshotKey(snapshot) });
    namespace.commitBatch({ ...positionMeta(position), ...lanesMeta(new Map()) }); // a snapshot is a state with no lane open
    return position;
  } catch (error) {
    namespace.rollbackBatch();
    throw error;
  }
}

/**
 * The index at exactly `atSeq`: reused if it stands between the base snapshot and `atSeq`, else
 * loaded from the base snapshot; then the log is replayed up to `atSeq` and no further.
 */
export async function openAtSeq(
  namespace: Namespace,
  applier: OpApplier,
  log: RemoteLog,
  cache: SegmentCache,
  fsId: string,
  created: number,
  base: number,
  atSeq: number,
): Promise<LogPosition> {
  const local = positionFromMeta(namespace);
  const reusable = local !== undefined && local.fsId === fsId && local.seq >= base && local.seq <= atSeq;
  let position = await prepareIndex(namespace, log, fsId, base, !reusable, created, "fail");
  try {
    position = (await catchUp(log, namespace, applier, position, cache, { knownSeq: atSeq, maxRecords: atSeq - position.seq })).position;
  } catch (error) {
    if (!indexNeedsRebuild(error) || !reusable) throw error;
    namespace.recreate();
    position = await prepareIndex(namespace, log, fsId, base, true, created, "fail");
    position = (await catchUp(log, namespace, applier, position, cache, { knownSeq: atSeq, maxRecords: atSeq - position.seq })).position;
  }
  if (position.seq !== atSeq) {
    throw new FsError("ENOENT", "mount", { detail: `seq ${atSeq} is not in the log: record ${position.seq + 1} does not exist (the log ends at ${position.seq}, or that part of it is no longer retained)` });
  }
  return position;
}

/** Whether garbage collection ever ran on this filesystem (its clock object exists). */
async function collectedBefore(store: ObjectStore): Promise<boolean> {
  try {
    await store.head(clockKey);
    return true;
  } catch (error) {
    if (error instanceof NotFoundError) return false;
    throw error;
  }
}
