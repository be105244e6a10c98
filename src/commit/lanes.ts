// Lanes: a log of its own for one top-level directory (docs/s3-layout.md, "Lanes"). A main-log
// record opens one (`laneOpen`: its id is that record's seq), one writer (its owner) publishes the
// directory's changes there, and a main-log record closes it (`laneClose`), after a close marker
// took the lane's next slot so that nothing can land after the records it names. While a lane is
// open no main-log record touches its directory, and its records touch nothing else, so they
// commute with every main-log record between the opening and the closing: a reader may take them
// in as they land, and the state at a main-log seq holds each lane's records that name a main-log
// seq (`after`, the one their writer had applied) at or below it (docs/s3-layout.md LN7).
//
// This module keeps where each open lane stands in the index (the `lanes` meta row, written with
// the position in the same transaction), and holds the rules a reader checks as it applies a
// record of either log. Reading the lanes' records is src/commit/replay.ts's.

import { isWithin } from "../base/paths.ts";
import type { Op } from "../log/ops.ts";
import { followRecord, type DecodedRecord, type LogPosition } from "../log/record.ts";
import type { NamespaceView } from "../namespace/namespace.ts";
import { pathsOf } from "./read-set.ts";

/** Where an open lane stands. */
export interface LaneState {
  /** The top-level directory it holds, "/name". */
  path: string;
  /** The one writer that publishes records in it. */
  owner: string;
  /** Its last record followed (seq 0 and the opening record's hash before any). */
  position: LogPosition;
  /** The main-log seq its last record named (`after`; the opening record's seq before any). */
  after: number;
  /** Its close marker was read: no record follows, and the main log's closing record is due. */
  ended?: boolean;
}

/** The open lanes, by id (the seq of the main-log record that opened each). */
export type Lanes = ReadonlyMap<number, LaneState>;

const lanesMetaKey = "lanes";

/** The open lanes an index view records (none for an index written before lanes). */
export function lanesOf(view: Pick<NamespaceView, "meta">): Map<number, LaneState> {
  const text = view.meta(lanesMetaKey);
  const lanes = new Map<number, LaneState>();
  if (text === undefined || text === "") return lanes;
  for (const [id, state] of Object.entries(JSON.parse(text) as Record<string, LaneState>)) lanes.set(Number(id), state);
  return lanes;
}

/** The meta row recording `lanes` (written with the position, so both move together). */
export function lanesMeta(lanes: Lanes): Record<string, string> {
  return { [lanesMetaKey]: lanes.size === 0 ? "" : JSON.stringify(Object.fromEntries(lanes)) };
}

/** A copy of `lanes` that following records may change in place. */
export function copyLanes(lanes: Lanes): Map<number, LaneState> {
  return new Map([...lanes].map(([id, lane]) => [id, { ...lane, position: { ...lane.position } }]));
}

/** The open lane whose directory holds `path` (the directory itself included), if any. */
export function laneHolding(lanes: Lanes, path: string): [number, LaneState] | undefined {
  for (const entry of lanes) if (isWithin(path, entry[1].path)) return entry;
  return undefined;
}

/** A top-level directory: "/" and one name. */
function isTopLevel(path: string): boolean {
  return /^\/[^/]+$/.test(path);
}

/** Operations a lane record may hold that name the lane's directory itself (its times and mode). */
const onLaneDirectory: ReadonlySet<Op["op"]> = new Set(["chmod", "utimes", "lutimes"]);

/**
 * Operations whose reach no path bounds: an epoch (it fences every writer), a collection's fence
 * (every writer must have applied it before publishing), compaction's relocation (it repoints
 * extents wherever they are used), and links (a symbolic or hard link lets a path reach another
 * directory's files). None is ever in a lane, and a main-log record holds one only while no lane
 * is open: its writer closes them all first, in the same record. So while a lane is open the
 * filesystem holds no link a lane's operation could reach through (lanes open only then).
 */
const unbounded: ReadonlySet<Op["op"]> = new Set(["epoch", "collect", "relocate", "symlink", "link", "laneOpen", "laneClose", "laneEnd"]);

/** Whether `op` may be in a lane of `directory`: it changes only what lies below it (or the directory's own times and mode). */
export function fitsLane(op: Op, directory: string): boolean {
  if (unbounded.has(op.op)) return false;
  return pathsOf(op).every((path) => (path !== directory && isWithin(path, directory)) || (path === directory && onLaneDirectory.has(op.op)));
}

/** The top-level directory every operation of `ops` fits a lane of, if one does (src/commit/committer.ts opens lanes for such batches). */
export function laneDirectoryOf(ops: readonly Op[]): string | undefined {
  const first = ops.flatMap((op) => pathsOf(op))[0];
  const top = first === undefined ? undefined : /^\/[^/]+/.exec(first)?.[0];
  return top !== undefined && ops.every((op) => fitsLane(op, top)) ? top : undefined;
}

/** The open lanes a main-log record holding `ops` must close first: those whose directory they touch, or all for an unbounded one. */
export function lanesTouched(lanes: Lanes, ops: readonly Op[]): number[] {
  const touched = new Set<number>();
  for (const op of ops) {
    if (op.op === "laneOpen" || op.op === "laneClose" || op.op === "laneEnd") continue;
    if (unbounded.has(op.op)) return [...lanes.keys()];
    for (const path of pathsOf(op)) {
      const holding = laneHolding(lanes, path);
      if (holding !== undefined) touched.add(holding[0]);
    }
  }
  return [...touched];
}

/** The open lanes after a main-log record holding `ops` (checked as a reader checks them); `record` is the record's seq, hash and epoch. */
export function lanesAfter(lanes: Lanes, ops: readonly Op[], record: { seq: number; hash: string; fsId: string; epoch: number }): Map<number, LaneState> {
  const after = copyLanes(lanes);
  for (const op of ops) {
    const problem = followMainOp(after, op, record);
    if (problem !== undefined) throw new Error(`a record this writer built ${problem}`);
  }
  return after;
}

/**
 * What a main-log record's operation `op` does to the open lanes, checked before it is applied
 * (record `seq`, whose hash is `hash` and epoch `epoch`). Returns a problem (damage) or undefined.
 * `closed`: the lane records the record's `laneClose` brings in must have been applied already
 * (`applyLaneRecord`), so the lane's position is checked against what the operation names.
 */
export function followMainOp(lanes: Map<number, LaneState>, op: Op, record: { seq: number; hash: string; fsId: string; epoch: number }): string | undefined {
  switch (op.op) {
    case "laneOpen": {
      if (!isTopLevel(op.path)) return `opens a lane for ${op.path}, which is no top-level directory`;
      const holding = laneHolding(lanes, op.path);
      if (holding !== undefined) return `opens a lane for ${op.path}, which lane ${holding[0]} holds`;
      lanes.set(record.seq, { path: op.path, owner: op.owner, after: record.seq, position: { fsId: record.fsId, seq: 0, hash: record.hash, epoch: record.epoch } });
      return undefined;
    }
    case "laneClose": {
      const lane = lanes.get(op.lane);
      if (lane === undefined) return `closes lane ${op.lane}, which is not open`;
      if (lane.path !== op.path) return `closes lane ${op.lane} as ${op.path}, but it holds ${lane.path}`;
      if (lane.position.seq !== op.seq || lane.position.hash !== op.hash) {
        return `closes lane ${op.lane} after its record ${op.seq} (${op.hash}), but it stands at ${lane.position.seq} (${lane.position.hash})`;
      }
      lanes.delete(op.lane);
      return undefined;
    }
    case "laneEnd":
      return "holds a lane's close marker";
    default:
      if (unbounded.has(op.op) && lanes.size > 0) return `holds a ${op.op} operation while lane ${[...lanes.keys()][0]} is open`;
      for (const path of pathsOf(op)) {
        const holding = laneHolding(lanes, path);
        if (holding !== undefined) return `changes ${path}, which lane ${holding[0]} holds`;
      }
      return undefined;
  }
}

/**
 * Follows lane `id`'s record (checked as a main-log record is, docs/s3-layout.md I1-I5, I7, and
 * for the lane's own rules) and returns what to do: damage (`problem`), a void record or the close
 * marker (nothing to apply), or the operations to apply. Updates `lane` in place.
 */
export function followLaneRecord(id: number, lane: LaneState, record: DecodedRecord): { problem: string } | { apply: readonly Op[] } {
  const { header } = record;
  if (header.lane !== id) return { problem: `is lane ${String(header.lane)}'s, not lane ${id}'s` };
  if (lane.ended === true) return { problem: `follows lane ${id}'s close marker` };
  const followed = followRecord(lane.position, header, record.hash);
  if (followed.problem !== undefined) return { problem: followed.problem };
  // The main-log position its writer had applied: never behind the lane's before it (the owner's
  // view only moves on, and a closer has applied the lane's last record).
  if (header.after === undefined || header.after < lane.after) return { problem: `names main-log record ${String(header.after)}, behind ${lane.after}, which the lane's records before it named` };
  lane.after = header.after;
  if (followed.voided) {
    lane.position = followed.position;
    return { apply: [] };
  }
  if (header.ops.some((op) => op.op === "laneEnd")) {
    // The marker is not one of the lane's records: the lane stands where it did, and ends.
    if (header.ops.length !== 1) return { problem: "holds a close marker beside other operations" };
    lane.ended = true;
    return { apply: [] };
  }
  for (const op of header.ops) {
    if (unbounded.has(op.op)) return { problem: `holds a ${op.op} operation, which only the main log may` };
    if (!fitsLane(op, lane.path)) return { problem: `changes ${pathsOf(op).join(" and ")}, outside ${lane.path}, the lane's directory` };
  }
  lane.position = followed.position;
  return { apply: header.ops };
}

