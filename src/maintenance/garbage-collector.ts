// Garbage collection (docs/s3-layout.md GC1-GC8), run by the writer. In order:
//
// 1. The store's clock: a tiny PUT and a HEAD give "now" as the store sees it, the clock every
//    lastModified was stamped with (a fast local clock must not shorten the grace period).
// 2. An inventory: every object under the prefix (LIST is allowed here; it is no mount, refresh
//    or commit path). A failed page fails the run.
// 3. The plan (retention.ts): the horizon state R and the base B. A run that cannot plan stops
//    here, before it publishes anything.
// 4. Everything the kept history names is read: snapshot B, the header of every record after it,
//    and the snapshot each fork of this filesystem pinned. A failed read fails the run. Then
//    compaction of packs whose live fraction is low (new objects, a `relocate` record).
// 5. Deletable: data objects (packs, chunks, old records' inline data) nothing kept names, records
//    at or below B nothing names, snapshots below B no fork pins; and only those older than the
//    grace period (a writer, maybe a zombie, may still be uploading younger ones).
// 6. The head announces `retainedFrom: B` (time travel stops offering older seqs) before
//    anything goes; fork registrations are listed again (a fork made meanwhile pins data); then
//    the deletions, and the first failed one stops the rest.
// Everything before step 6 only reads (but for compaction's records): any error there deletes
// nothing, and a dry run stops there.
//
// A shared writer (`exclusive: false`) collects too (GC9). After step 1 it takes the collector
// lease (one collection at a time; writers never wait for it), then publishes a `collect` record:
// data stored before the cutoff (the store's now minus the grace period) that no record up to
// that one names may go. Every writer applies that record before it can publish after it, and
// re-uploads data of its own that it began uploading before; so what is deleted here is named by
// no record, ever. The inventory and the references are taken after it, and only objects stored
// strictly before the cutoff are deleted (an upload that began after the store's clock was read
// may carry the same second).

import { FsError, fromStoreError } from "../base/errors.ts";
import { clockKey, forkRegistrationPrefix, snapshotKey, walKey, type ObjectKind } from "../log/keys.ts";
import { writeDocument, type DocumentKind } from "../log/document.ts";
import { decodeSnapshot } from "../namespace/snapshot.ts";
import { z } from "zod";
import { CorruptObjectError, NotFoundError } from "../stores/store-errors.ts";
import { compact, compactionCandidates, emptyCompaction, type CompactionReport } from "./compaction.ts";
import { takeInventory, type Inventory, type InventoryEntry } from "./inventory.ts";
import { boundedEach, type MaintenanceContext } from "./maintenance-context.ts";
import { References } from "./references.ts";
import { RetentionError, pastGrace, planRetention } from "./retention.ts";
import { garbageCollectionOptionsSchema, parseOptions } from "../base/options.ts";
import { readForkRegistration } from "./fork.ts";
import { CollectorLease, defaultCollectorLeaseMs } from "./collector-lease.ts";
import { sharedRecordAgeMs } from "../commit/committer.ts";

const hour = 60 * 60 * 1000;

export const defaultRetentionMs = 24 * hour;
export const defaultGraceMs = hour;

export interface GarbageCollectionOptions {
  /** Plan and report, delete nothing (default false). A read-only mount can only do this. */
  dryRun?: boolean;
  /** How far back every state stays readable (default 24 h): readers, time travel. */
  retentionMs?: number;
  /** Objects younger than this are never deleted (default 1 h): a write may still be uploading them. */
  graceMs?: number;
  /** Rewrite packs whose live fraction is low (default true). */
  compact?: boolean;
  /** The live fraction below which a pack is rewritten (default 0.5). */
  compactBelow?: number;
  /** Live bytes compaction moves in one run, at most (default 256 MiB). */
  maxCompactBytes?: number;
  /** Deletions in flight at once (default 8). */
  deleteConcurrency?: number;
  /** A shared writer's collector lease lasts this long unrenewed (default 60 s; renewed while the run lasts). */
  collectorLeaseMs?: number;
}

export interface Deletion {
  key: string;
  kind: ObjectKind;
  size: number;
  lastModified: string;
  reason: string;
}

export interface GarbageReport {
  dryRun: boolean;
  /** Whose clock "now" is: the store's (measured), or this machine's (dry runs, which write nothing). */
  clock: "store" | "local";
  now: string;
  retentionMs: number;
  graceMs: number;
  /** The newest seq when the run started. */
  tip: number;
  /** R: the state current at the start of the retention window. */
  horizonSeq: number;
  /** B: the oldest seq still whole (snapshot, log and data) after this run. */
  retainedFrom: number;
  listed: { objects: number; bytes: number };
  /** What was deleted (or, in a dry run, would be). */
  deletions: Deletion[];
  deletedBytes: number;
  /** Objects kept, by why: named by kept history, younger than the grace period, pinned by a fork, or not garbage collection's (format, head, lease...). */
  kept: { referenced: number; young: number; pinned: number; other: number };
  compaction: CompactionReport;
}

/** Garbage collection stopped part-way (a deletion failed): `report` says what was deleted before. */
export class GarbageCollectionError extends FsError {
  constructor(
    readonly report: GarbageReport,
    cause: unknown,
  ) {
    super("EIO", "gc", { detail: `garbage collection stopped after ${report.deletions.length} deletions: ${(cause as Error)?.message ?? String(cause)}`, cause });
  }
}

/**
 * `gc/clock`: who collected, and this machine's time then, on one line. Only its lastModified is
 * read (a HEAD); the body is for a person looking at the bucket.
 */
const clockDocument: DocumentKind<{ writer: string; local: string }> = {
  schema: z.looseObject({ writer: z.string(), local: z.string() }),
  compact: true,
};

/** Now on the store's clock: the lastModified of an object written this instant. */
export async function storeNow(context: MaintenanceContext): Promise<number> {
  await writeDocument(context.store, clockKey, clockDocument, { writer: context.name, local: new Date(context.now()).toISOString() }, { overwrite: true });
  return (await context.store.head(clockKey)).lastModified.getTime();
}

export async function collectGarbage(context: MaintenanceContext, options: GarbageCollectionOptions = {}): Promise<GarbageReport> {
  parseOptions(garbageCollectionOptionsSchema, options, "garbage collection options", "gc");
  const dryRun = options.dryRun ?? false;
  const retentionMs = nonNegative(options.retentionMs ?? defaultRetentionMs, "retentionMs");
  const graceMs = nonNegative(options.graceMs ?? defaultGraceMs, "graceMs");
  const compactBelow = options.compactBelow ?? 0.5;
  if (!(compactBelow >= 0 && compactBelow <= 1)) throw new FsError("EINVAL", "gc", { detail: `compactBelow must be between 0 and 1, got ${compactBelow}` });
  const committer = context.committer;
  if (context.atSeq !== undefined) throw new FsError("EINVAL", "gc", { detail: "garbage collection runs on the live filesystem, not on a time-travel mount" });
  if (!dryRun && committer === undefined) {
    throw new FsError("EROFS", "gc", { detail: "only the writer collects garbage: mount read-write (a read-only mount can do a dry run)" });
  }
  if (committer?.fenced !== undefined) throw committer.fenced;
  const shared = committer?.shared === true;
  let lease: CollectorLease | undefined;
  try {
    // 1. The clock. A dry run writes nothing, so it reads this machine's clock instead.
    const writes = !dryRun && committer !== undefined;
    const now = writes ? await storeNow(context) : context.now();
    if (writes && shared) {
      // One collector at a time, then the fence: no record after it names data stored before the cutoff that it does not re-upload.
      lease = await CollectorLease.acquire(context.store, `${context.name} (writer ${committer!.writerId})`, now, options.collectorLeaseMs ?? defaultCollectorLeaseMs);
      lease.startRenewing();
      await committer!.submit((batch) => ({ op: "collect", before: now - graceMs, collector: committer!.writerId, time: batch.time }));
    }
    // 2. The inventory, and the newest seq it may contain.
    await committer?.snapshotSettled();
    if (committer !== undefined) await committer.updateHead();
    const before = committer?.current.seq ?? context.position().seq;
    const inventory = await takeInventory(context.store);
    let newestListed = 0;
    for (const seq of inventory.records.keys()) newestListed = Math.max(newestListed, seq);
    // Records this writer commits while the listing runs may or may not be in it (one may even be
    // listed before the committer hears its PUT succeed); one of another writer means this writer
    // has been fenced.
    if (committer !== undefined) {
      for (let seq = committer.current.seq + 1; seq <= newestListed; seq++) {
        const entry = inventory.records.get(seq);
        if (entry === undefined) continue;
        const header = await context.log.readRecordHeader(seq, entry.size);
        // Shared writers share an epoch: only a newer one is foreign to them.
        const foreign = shared ? header.epoch > committer.epoch : header.writer !== committer.writerId || header.epoch !== committer.epoch;
        if (foreign) throw committer.fence(header.epoch, "gc");
      }
    }
    const tip = Math.max(before, newestListed);
    // The log's end as the plan sees it: past this writer's position, the run of listed records
    // that follows it. A record listed past an empty slot there is a pipelined record in flight
    // (its parent not landed yet, docs/s3-layout.md I7) or void: no reader reads it, and no plan
    // deletes anything above its base, so the plan leaves it out (its references are kept below).
    let logEnd = before;
    while (inventory.records.has(logEnd + 1)) logEnd++;
    // 3. The plan. It comes before compaction: a run that cannot plan publishes nothing.
    const head = await context.log.readHead();
    const headSnapshot = head !== undefined && head.head.fsId === context.format.fsId ? head.head.snapshot : 0;
    let plan;
    try {
      plan = planRetention({
        now,
        retentionMs,
        tip: logEnd,
        records: logEnd === newestListed ? inventory.records : new Map([...inventory.records].filter(([seq]) => seq <= logEnd)),
        snapshots: inventory.snapshots,
        headSnapshot,
        logStartsAfter: context.format.forkedFrom?.seq ?? 0,
        retainedFrom: Math.max(head?.head.fsId === context.format.fsId ? (head.head.retainedFrom ?? 0) : 0, committer?.retention.retainedFrom ?? 0),
      });
    } catch (error) {
      if (error instanceof RetentionError && error.reason === "log-ahead" && committer !== undefined && !shared) throw committer.fence(undefined, "gc");
      throw error;
    }
    // 4. Everything the kept history names, then compaction (its records come after `tip`; the
    // objects it moves from stay named by the history up to `tip`).
    const pins = await forkPins(context, inventory);
    const references = await keptReferences(context, inventory, plan.base, tip, pins, plan.base, logEnd);
    const compactionOptions = { dryRun, below: compactBelow, maxBytes: options.maxCompactBytes ?? 256 * 1024 * 1024, recordsUpTo: headSnapshot };
    const compaction =
      options.compact === false
        ? emptyCompaction()
        : dryRun
          ? { objects: await compactionCandidates(context, inventory, compactionOptions), movedBytes: 0, commits: [] }
          : await compact(context, inventory, compactionOptions);
    // 5. What may go.
    const report: GarbageReport = {
      dryRun,
      clock: writes ? "store" : "local",
      now: new Date(now).toISOString(),
      retentionMs,
      graceMs,
      tip,
      horizonSeq: plan.horizonSeq,
      retainedFrom: plan.base,
      listed: { objects: inventory.objects.size, bytes: inventory.bytes },
      deletions: [],
      deletedBytes: 0,
      kept: { referenced: 0, young: 0, pinned: 0, other: 0 },
      compaction,
    };
    const planned = plannedDeletions(inventory, references, pins, plan.base, now, graceMs, report.kept, shared);
    if (dryRun) {
      report.deletions = planned;
      report.deletedBytes = planned.reduce((sum, deletion) => sum + deletion.size, 0);
      return report;
    }
    // 6. Announce, look again for new forks, delete.
    if (!(await committer!.retain(plan.base))) {
      throw committer!.fenced ?? new FsError("EIO", "gc", { detail: "the head could not be updated to announce what is retained; nothing was deleted" });
    }
    const forksNow = await takeInventory(context.store, { prefix: forkRegistrationPrefix });
    const known = new Set(inventory.forks.map((entry) => entry.key));
    const added = [...forksNow.forks].filter((entry) => !known.has(entry.key));
    if (added.length > 0) {
      throw new FsError("EBUSY", "gc", { detail: `a fork (${added[0]!.key}) was registered while garbage was being collected; nothing was deleted, run again` });
    }
    if (committer!.fenced !== undefined) throw committer!.fenced;
    lease?.check();
    try {
      await boundedEach(planned, options.deleteConcurrency ?? 8, async (deletion) => {
        await context.store.delete(deletion.key);
        report.deletions.push(deletion);
        report.deletedBytes += deletion.size;
      });
    } catch (error) {
      throw new GarbageCollectionError(report, fromStoreError(error, "gc", undefined)); // the report of what was deleted travels with the errno
    }
    return report;
  } catch (error) {
    if (error instanceof FsError) throw error;
    // Nothing was deleted yet: say so, with the errno the store's answer maps to (the boundary
    // would give the errno, but not the news that nothing was deleted).
    const code = error instanceof RetentionError ? "EIO" : ((fromStoreError(error, "gc") as Partial<FsError>).code ?? undefined);
    if (code === undefined) throw error;
    throw new FsError(code, "gc", { detail: `garbage collection stopped, nothing was deleted: ${(error as Error).message}`, cause: error });
  } finally {
    await lease?.release();
  }
}

/** Seqs pinned by forks of this filesystem (F2); each pinned snapshot must exist. */
async function forkPins(context: MaintenanceContext, inventory: Inventory): Promise<Set<number>> {
  const pins = new Set<number>();
  for (const entry of inventory.forks) {
    const registration = await readForkRegistration(context.store, entry.key);
    if (!inventory.snapshots.has(registration.seq)) {
      throw new CorruptObjectError(`fork ${registration.fsId} (${registration.prefix}) pins seq ${registration.seq}, whose snapshot is missing; run fsck`, {
        operation: "get",
        key: snapshotKey(registration.seq),
      });
    }
    pins.add(registration.seq);
  }
  return pins;
}

/** Every extent named by snapshot `base`, the records after it up to `tip`, and the pinned snapshots below `base`. */
/**
 * What the kept history names: the snapshot at `base` (and pinned ones below `pinnedBelow`) and
 * every record after it up to `tip`. Past `logEnd` an empty slot is the log's end, and the
 * pipelined records listed beyond it are read all the same (their parent may still land).
 */
export async function keptReferences(context: MaintenanceContext, inventory: Inventory, base: number, tip: number, pins: ReadonlySet<number>, pinnedBelow: number, logEnd = tip): Promise<References> {
  const references = new References();
  const snapshots = [...new Set([base, ...[...pins].filter((seq) => seq < pinnedBelow)])].filter((seq) => seq > 0);
  await boundedEach(snapshots, 4, async (seq) => {
    const key = snapshotKey(seq);
    let bytes: Uint8Array;
    try {
      bytes = await context.log.readSnapshot(seq);
    } catch (error) {
      if (error instanceof NotFoundError) throw new CorruptObjectError(`${key} is gone (it was listed a moment ago)`, { operation: "get", key });
      throw error;
    }
    references.addSnapshot(decodeSnapshot(key, bytes));
  });
  const seqs: number[] = [];
  for (let seq = base + 1; seq <= tip; seq++) seqs.push(seq);
  await boundedEach(seqs, 16, async (seq) => {
    const entry = inventory.records.get(seq);
    if (entry === undefined && seq > logEnd) return;
    if (entry === undefined) throw new CorruptObjectError(`${walKey(seq)} is not in the listing`, { operation: "list", key: walKey(seq) });
    references.addRecord(await context.log.readRecordHeader(seq, entry.size));
  });
  // A lane opened after the base is not in its snapshot (a snapshot is written with no lane open,
  // src/commit/lanes.ts): its records bring their extents in as the main log's do.
  const laneRecords = [...inventory.objects.values()].filter((entry) => entry.kind === "lane-record" && entry.lane! > base);
  await boundedEach(laneRecords, 16, async (entry) => {
    references.addRecord(await context.log.readLaneRecordHeader(entry.lane!, entry.seq!, entry.size), entry.key);
  });
  return references;
}

function plannedDeletions(
  inventory: Inventory,
  references: References,
  pins: ReadonlySet<number>,
  base: number,
  now: number,
  graceMs: number,
  kept: GarbageReport["kept"],
  /** Several writers: only objects stored strictly before the cutoff the `collect` record announced. */
  strict: boolean,
): Deletion[] {
  const deletions: Deletion[] = [];
  const consider = (entry: InventoryEntry, reason: string) => {
    if (strict ? entry.lastModified.getTime() >= now - graceMs : !pastGrace(entry.lastModified, now, graceMs)) {
      kept.young++;
      return;
    }
    deletions.push({ key: entry.key, kind: entry.kind, size: entry.size, lastModified: entry.lastModified.toISOString(), reason });
  };
  for (const entry of inventory.objects.values()) {
    switch (entry.kind) {
      case "pack":
      case "chunk":
        if (references.has(entry.key)) kept.referenced++;
        else consider(entry, "no kept snapshot or record names it");
        break;
      case "record":
        if (entry.seq! > base || references.has(entry.key)) kept.referenced++;
        else if (strict && entry.lastModified.getTime() >= now - Math.max(graceMs, sharedRecordAgeMs)) kept.young++; // a lagging shared writer may still aim at the slot after it
        else consider(entry, `covered by snapshot ${base}, and no kept state uses its inline data`);
        break;
      case "lane-record":
        // A snapshot is written with no lane open (docs/s3-layout.md LN8), so a lane opened at or
        // before the base was closed by then: every state kept holds all its records.
        if (entry.lane! > base || references.has(entry.key)) kept.referenced++;
        else if (strict && entry.lastModified.getTime() >= now - Math.max(graceMs, sharedRecordAgeMs)) kept.young++;
        else consider(entry, `its lane was opened and closed by snapshot ${base}, and no kept state uses its inline data`);
        break;
      case "snapshot":
        if (pins.has(entry.seq!)) kept.pinned++;
        else if (entry.seq! >= base) kept.referenced++;
        else consider(entry, `older than snapshot ${base}, the oldest kept`);
        break;
      default:
        kept.other++;
    }
  }
  // Data first, then records, then snapshots: an interrupted run leaves the oldest history last.
  const order: Partial<Record<ObjectKind, number>> = { pack: 0, chunk: 0, "lane-record": 1, record: 1, snapshot: 2 };
  return deletions.sort((a, b) => (order[a.kind] ?? 3) - (order[b.kind] ?? 3) || a.key.localeCompare(b.key));
}

function nonNegative(value: number, name: string): number {
  if (!Number.isFinite(value) || value < 0) throw new FsError("EINVAL", "gc", { detail: `${name} must be a number of milliseconds >= 0, got ${value}` });
  return value;
}
