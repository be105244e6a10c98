// fsck: is the filesystem in the bucket sound? Checks, in order (docs/s3-layout.md K1-K5):
//
//   format.json and the head: readable, of this filesystem, the head's snapshot present;
//   the kept log: every record from the oldest kept state to the newest, whole, verified against
//   its hash and chained to its parent (I1-I5); a void record (I7) is no problem, only counted;
//   the kept snapshots readable and agreeing with the log's hashes and void records;
//   every object the kept history (and every fork of it) names exists, and every extent's bytes
//   match their hash (unless `verifyData` is off);
//   garbage collection can plan from what is listed (a state it cannot work from is unsound);
//   orphans: objects nothing kept names (garbage collection's to remove once past the grace
//   period; reported, they do not make the filesystem unsound).
// The report says `sound` when nothing but orphans was found. fsck only reads, unless asked to
// repair (the writer only): see checkFilesystem.

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FsError } from "../base/errors.ts";
import { catchUp } from "../commit/replay.ts";
import { hashBytes, type Extent } from "../log/ops.ts";
import { formatKey, headKey, parseOriginKey, seqOfSnapshotKey, seqOfWalKey, snapshotKey, walKey, type ObjectKind } from "../log/keys.ts";
import { followRecord, headerEpoch, pipelinedRecordFormat, type LogPosition, type RecordHeader } from "../log/record.ts";
import { decodeSnapshot, encodeSnapshot } from "../namespace/snapshot.ts";
import { OpApplier } from "../namespace/apply-ops.ts";
import { openIndex, prepareIndex } from "../mount/start.ts";
import { CollectorLease } from "./collector-lease.ts";
import { storeNow } from "./garbage-collector.ts";
import type { NamespaceView } from "../namespace/namespace.ts";
import { CorruptObjectError, NotFoundError, StoreError } from "../stores/store-errors.ts";
import { takeInventory, type InventoryEntry } from "./inventory.ts";
import { boundedEach, type MaintenanceContext } from "./maintenance-context.ts";
import { References } from "./references.ts";
import { fsckOptionsSchema, parseOptions } from "../base/options.ts";
import { readForkRegistration } from "./fork.ts";
import { retainedFrom } from "./time-travel.ts";
import { RetentionError, oldestWholeState, planRetention } from "./retention.ts";

export interface FsckOptions {
  /** Read every referenced extent and check its hash (default true); off: existence only. */
  verifyData?: boolean;
  /** Objects checked at once (default 8). */
  concurrency?: number;
  /** The writer mends the head and damaged snapshots, then checks again (default false). */
  repair?: boolean;
}

export type FsckProblemKind =
  | "format"
  | "head"
  | "missing-record"
  | "corrupt-record"
  | "broken-chain"
  | "missing-snapshot"
  | "corrupt-snapshot"
  | "fork-registration"
  | "retention"
  | "missing-object"
  | "out-of-bounds"
  | "checksum-mismatch"
  | "unreadable";

export interface FsckProblem {
  kind: FsckProblemKind;
  key: string;
  detail: string;
  /** Files of the mounted state that use the object (at most 20). */
  paths?: string[];
}

export interface Orphan {
  key: string;
  kind: ObjectKind;
  size: number;
  lastModified: string;
}

export interface FsckReport {
  /** No problems (orphans alone do not count). */
  sound: boolean;
  fsId: string;
  /** The newest seq found. */
  tip: number;
  /** The oldest seq kept whole: the checks cover every state from here to `tip`. */
  retainedFrom: number;
  /**
   * `voidRecords`: kept records found void (docs/s3-layout.md I7), among `records`; they are no
   * problem. `recordsPastEnd`: pipelined records listed past the log's end (an empty slot above
   * every seq known to exist), not among `records`: in flight, or left by a writer whose parent
   * never landed; no problem either.
   */
  checked: { records: number; voidRecords: number; recordsPastEnd: number; snapshots: number; objects: number; extents: number; bytes: number };
  problems: FsckProblem[];
  orphans: Orphan[];
  orphanBytes: number;
  /** With `repair`: what was mended before this (second) check. */
  repairs?: string[];
}

/**
 * Checks the filesystem; with `repair`, the writer then mends what the log can mend, and checks
 * again. A damaged or missing snapshot is built again from an older good snapshot (or the log's
 * start) and the records after it, and written in its place: the head's list is unchanged, so
 * time travel keeps that seq, and other writers' lists stay right. A damaged snapshot that cannot
 * be rebuilt (the records below it were collected) and that no fork pins is deleted once the head
 * announces, as `retainedFrom`, a newer state the listing shows whole. A head that is damaged,
 * missing, of another filesystem, or naming a missing snapshot is rewritten by compare-and-swap
 * after a snapshot of the writer's state. Missing or damaged records and data are not repairable
 * here: they stay in the report. A shared writer repairs too: it holds the collector lease
 * meanwhile (a collection and a repair never delete snapshots at once), and deletes only what
 * lies below the `retainedFrom` its head announces, which every other writer's head update
 * adopts, so none lists a deleted snapshot again. A store error that stops the check is thrown as
 * it is (the facade's fsck reports it as an FsError).
 */
export async function checkFilesystem(context: MaintenanceContext, options: FsckOptions = {}): Promise<FsckReport> {
  parseOptions(fsckOptionsSchema, options, "fsck options", "fsck");
  const first = await inspect(context, options);
  if (!options.repair) return first.report;
  const committer = context.committer;
  if (committer === undefined) throw new FsError("EROFS", "fsck", { detail: "only the writer repairs: mount read-write (the command line's fsck --repair does)" });
  if (committer.fenced !== undefined) throw committer.fenced;
  const { problems } = first.report;
  // Damaged snapshots, and missing ones the head names or a fork pinned.
  const broken = problems.filter((entry) => entry.kind === "corrupt-snapshot" || entry.kind === "missing-snapshot").map((entry) => seqOfSnapshotKey(entry.key));
  const unlisted = [...first.namedSnapshots].filter((seq) => !first.listedSnapshots.has(seq));
  const damaged = [...new Set([...broken, ...unlisted])].filter((seq): seq is number => seq !== undefined).sort((a, b) => a - b);
  const headProblem = problems.some((entry) => entry.kind === "head" || entry.kind === "retention");
  if (damaged.length === 0 && !headProblem) return { ...first.report, repairs: [] };
  let lease: CollectorLease | undefined;
  const repairs: string[] = [];
  try {
    if (committer.shared) {
      lease = await CollectorLease.acquire(context.store, `${context.name} (writer ${committer.writerId}, fsck repair)`, await storeNow(context));
      lease.startRenewing();
    }
    const rebuilt = new Set<number>();
    for (const seq of damaged) {
      const from = await rebuildSnapshot(context, seq, first, damaged);
      if (from === undefined) continue;
      rebuilt.add(seq);
      repairs.push(`rebuilt ${snapshotKey(seq)} from ${from}`);
    }
    const lost = damaged.filter((seq) => !rebuilt.has(seq) && !first.pinned.has(seq));
    const headNamesLost = damaged.some((seq) => !rebuilt.has(seq) && first.namedSnapshots.has(seq));
    if (lost.length > 0 || headProblem || headNamesLost) {
      await committer.snapshotSettled();
      const written = await committer.snapshot();
      if (written > 0) repairs.push(`wrote ${snapshotKey(written)} from this writer's state${lost.includes(written) ? ", over the damaged one" : ""}`);
      const unrepaired = lost.filter((seq) => seq !== written);
      // The oldest state kept whole once the snapshots that could not be rebuilt are left out: what the head announces.
      const inventory = await takeInventory(context.store);
      const good = [...inventory.snapshots.keys()].filter((seq) => !unrepaired.includes(seq));
      const whole = oldestWholeState(inventory.records, good, committer.current.seq, context.format.forkedFrom?.seq ?? 0);
      const announced = Math.max(committer.retention.retainedFrom, whole ?? 0);
      // A shared writer deletes only what its head retains no longer: another writer's head update
      // adopts the higher retainedFrom and stops listing what lies below it (an exclusive writer
      // has no other writer to list a snapshot again, and forgets it outright).
      const deletable = committer.shared ? unrepaired.filter((seq) => seq < announced) : unrepaired;
      if (!committer.shared) for (const seq of deletable) committer.forgetSnapshot(seq);
      // A shared writer's head update gives way to a newer writer's head: it catches up and tries again.
      let updated = false;
      for (let attempt = 0; attempt < (committer.shared ? 5 : 1) && !updated; attempt++) {
        if (attempt > 0) await committer.refresh();
        updated = announced > committer.retention.retainedFrom ? await committer.retain(announced) : await committer.updateHead();
      }
      if (!updated) throw committer.fenced ?? new FsError("EIO", "fsck", { detail: "the head could not be rewritten (another writer's head stands); run fsck again" });
      repairs.push(`rewrote ${headKey}: snapshot ${committer.snapshotSeq}, seq ${committer.current.seq}, retained from ${committer.retention.retainedFrom}`);
      lease?.check();
      for (const seq of deletable) {
        if (!first.listedSnapshots.has(seq)) continue; // missing already: the head no longer names it
        await context.store.delete(snapshotKey(seq));
        repairs.push(`deleted the damaged ${snapshotKey(seq)}`);
      }
      for (const seq of unrepaired.filter((seq) => !deletable.includes(seq))) {
        repairs.push(`left the damaged ${snapshotKey(seq)}: no older state to rebuild it from, and the head still retains its seq (other shared writers may list it); repair again as the exclusive writer`);
      }
    }
  } finally {
    await lease?.release();
  }
  const second = await inspect(context, options);
  return { ...second.report, repairs };
}

/**
 * Builds the state at `seq` again in a scratch index, from the newest older snapshot that is not
 * `damaged` and reads whole (or the log's start) and the records after it, and writes it as snapshot `seq` (over a
 * damaged one). Returns what it was built from, or undefined when no such starting point has every
 * record up to `seq` kept and sound.
 */
async function rebuildSnapshot(context: MaintenanceContext, seq: number, found: Inspection, damaged: readonly number[]): Promise<string | undefined> {
  const logStartsAfter = context.format.forkedFrom?.seq ?? 0;
  const starts = [...found.inventory.snapshots.keys(), logStartsAfter].filter((start) => start < seq && start >= logStartsAfter && !damaged.includes(start));
  for (const start of [...new Set(starts)].sort((a, b) => b - a)) {
    let kept = true;
    for (let record = start + 1; record <= seq && kept; record++) kept = found.inventory.records.has(record) && !found.unsoundRecords.has(record);
    if (!kept) continue;
    const directory = await mkdtemp(join(tmpdir(), "s3-bun-cached-fs-repair-"));
    const namespace = openIndex(join(directory, "index.sqlite"));
    try {
      let position = await prepareIndex(namespace, context.log, context.format.fsId, start, true, Date.parse(context.format.created) || 0, "throw");
      position = (await catchUp(context.log, namespace, new OpApplier(namespace), position, undefined, { knownSeq: seq, maxRecords: seq - position.seq })).position;
      const expected = found.recordHashes.get(seq);
      if (position.seq !== seq || (expected !== undefined && position.hash !== expected)) continue;
      await context.log.writeSnapshot(seq, encodeSnapshot(namespace.committed, position));
      return start === 0 ? "the log's start" : start === logStartsAfter ? `the fork's starting point (seq ${start})` : snapshotKey(start);
    } catch (error) {
      if (error instanceof StoreError && !(error instanceof NotFoundError) && !(error instanceof CorruptObjectError)) throw error; // the store, not this starting point
    } finally {
      namespace.close();
      await rm(directory, { recursive: true, force: true });
    }
  }
  return undefined;
}

interface Inspection {
  report: FsckReport;
  /** Snapshots forks inherited: never deleted. */
  pinned: ReadonlySet<number>;
  /** Snapshots the listing found. */
  listedSnapshots: ReadonlySet<number>;
  /** Snapshots the head names (its newest and its list for time travel). */
  namedSnapshots: ReadonlySet<number>;
  inventory: Awaited<ReturnType<typeof takeInventory>>;
  /** The hash of each kept record that was read whole. */
  recordHashes: ReadonlyMap<number, string>;
  /** Kept records found missing, damaged or unreadable. */
  unsoundRecords: ReadonlySet<number>;
}

async function inspect(context: MaintenanceContext, options: FsckOptions): Promise<Inspection> {
  const verifyData = options.verifyData ?? true;
  const concurrency = options.concurrency ?? 8;
  const { log, store, format } = context;
  const problems: FsckProblem[] = [];
  const checked = { records: 0, voidRecords: 0, recordsPastEnd: 0, snapshots: 0, objects: 0, extents: 0, bytes: 0 };
  const problem = (kind: FsckProblemKind, key: string, detail: string, paths?: string[]) =>
    problems.push(paths === undefined || paths.length === 0 ? { kind, key, detail } : { kind, key, detail, paths });
  const describeError = (error: unknown) => (error instanceof Error ? error.message : String(error));
  // An error reading one object is a finding about that object; a listing failure means fsck cannot run.
  const inventory = await takeInventory(store);

  const stored = await log.readFormat().catch((error: unknown) => {
    problem("format", formatKey, describeError(error));
    return undefined;
  });
  if (stored === undefined && !problems.some((entry) => entry.kind === "format")) problem("format", formatKey, `${formatKey} is missing`);
  else if (stored !== undefined && stored.fsId !== format.fsId) problem("format", formatKey, `${formatKey} now names filesystem ${stored.fsId}, not ${format.fsId}`);

  const head = await log.readHead().catch((error: unknown) => {
    problem("head", headKey, describeError(error));
    return undefined;
  });
  const forkPoint = format.forkedFrom?.seq ?? 0;
  let newestListed = 0;
  for (const seq of inventory.records.keys()) newestListed = Math.max(newestListed, seq);
  if (head !== undefined) {
    if (head.head.fsId !== format.fsId) problem("head", headKey, `the head names filesystem ${head.head.fsId}, not ${format.fsId}`);
    else {
      if (head.head.snapshot > 0 && !inventory.snapshots.has(head.head.snapshot)) {
        problem("missing-snapshot", snapshotKey(head.head.snapshot), "the head names this snapshot, but it is missing: cold mounts cannot start from it");
      }
      const unlisted = (head.head.snapshots ?? []).filter((seq) => !inventory.snapshots.has(seq));
      if (unlisted.length > 0) problem("head", headKey, `the head lists snapshots that are missing (${unlisted.join(", ")}): time travel would start from them`);
    }
  }
  // Decided after the log is followed: records listed past an empty first slot may all be
  // pipelined records whose parent has not landed (yet): then the log has not begun, and that is
  // no damage.
  const startGone = head === undefined && !problems.some((entry) => entry.kind === "head") && !inventory.records.has(forkPoint + 1) && (newestListed > 0 || inventory.snapshots.size > 0);
  const usableHead = head !== undefined && head.head.fsId === format.fsId ? head.head : undefined;

  // The kept log: from the oldest kept state to the newest record. Without a usable head, the
  // oldest state the listing shows whole stands in for what the head would announce.
  const base = usableHead !== undefined ? retainedFrom(usableHead, format) : (oldestWholeState(inventory.records, inventory.snapshots.keys(), Math.max(newestListed, context.position().seq), forkPoint) ?? forkPoint);
  let tip = Math.max(base, usableHead?.seq ?? 0, newestListed);
  const references = new References();
  // What void records name: nothing reads it, so it need not exist (garbage collection, reading
  // headers only, keeps it all the same), but it is no orphan while they are kept.
  const voidReferences = new References();
  const recordHashes = new Map<number, string>();
  /** Whether each kept record the chain was followed to was void. */
  const recordVoided = new Map<number, boolean>();
  let position: LogPosition | undefined = base === 0 ? { fsId: format.fsId, seq: 0, hash: "", epoch: 0 } : undefined;
  if (base > 0) {
    try {
      const document = decodeSnapshot(snapshotKey(base), await log.readSnapshot(base));
      position = document.position;
      references.addSnapshot(document);
      checked.snapshots++;
      if (position.fsId !== format.fsId) problem("corrupt-snapshot", snapshotKey(base), `belongs to filesystem ${position.fsId}`);
    } catch (error) {
      problem(error instanceof NotFoundError ? "missing-snapshot" : "corrupt-snapshot", snapshotKey(base), `the oldest kept state's snapshot: ${describeError(error)}`);
    }
  }
  // A record listed past an empty slot above every seq known to exist (the head's, this mount's)
  // may be a pipelined record in flight whose parent has not landed yet, or one left by a writer
  // whose parent never landed (docs/s3-layout.md I7): no reader reads past the empty slot, and
  // such a record is void unless its parent lands there. So an empty slot there is a problem
  // only if a format-1 record comes after it (its writer read the record before it).
  const known = Math.max(usableHead?.seq ?? 0, context.position().seq);
  let openHole: number | undefined;
  const pastEnd: { seq: number; header: RecordHeader }[] = [];
  for (let from = base + 1; from <= tip; from += 16) {
    const seqs = Array.from({ length: Math.min(16, tip - from + 1) }, (_, index) => from + index);
    const window = await Promise.all(
      seqs.map((seq) =>
        log.readRecord(seq).then(
          (record) => ({ seq, record, error: undefined as unknown }),
          (error: unknown) => ({ seq, record: undefined, error }),
        ),
      ),
    );
    for (const { seq, record, error } of window) {
      const key = walKey(seq);
      if (record === undefined && error === undefined && seq > known && (openHole !== undefined || pastEnd.length === 0)) {
        openHole ??= seq; // the log's end, unless a record its writer read comes after it
        position = undefined;
        continue;
      }
      if (record === undefined) {
        problem(error === undefined ? "missing-record" : error instanceof CorruptObjectError ? "corrupt-record" : "unreadable", key, error === undefined ? "the record is missing from the kept log" : describeError(error));
        position = undefined; // the chain cannot be followed past a hole
        continue;
      }
      if (openHole !== undefined) {
        if (record.header.format === pipelinedRecordFormat) {
          pastEnd.push({ seq, header: record.header });
          voidReferences.addRecord(record.header);
          continue;
        }
        problem("missing-record", walKey(openHole), "the record is missing from the kept log");
        for (const stray of pastEnd.splice(0)) references.addRecord(stray.header);
        openHole = undefined;
      }
      checked.records++;
      recordHashes.set(seq, record.hash);
      const followed = position === undefined ? undefined : followRecord(position, record.header, record.hash);
      if (followed?.voided === true) {
        checked.voidRecords++;
        recordVoided.set(seq, true);
        voidReferences.addRecord(record.header);
        position = followed.position;
        continue;
      }
      references.addRecord(record.header);
      if (followed?.problem !== undefined) problem("broken-chain", key, followed.problem);
      else if (followed === undefined && record.header.fsId !== format.fsId) problem("broken-chain", key, `belongs to filesystem ${record.header.fsId}`);
      if (followed?.position !== undefined) recordVoided.set(seq, false);
      // Past a hole or a break, the chain goes on from this record as if it had applied.
      position = followed?.position ?? { fsId: format.fsId, seq, hash: record.hash, epoch: headerEpoch(record.header) };
    }
  }

  checked.recordsPastEnd = pastEnd.length;
  if (startGone && !(openHole === forkPoint + 1 && inventory.snapshots.size === 0)) {
    problem("head", headKey, "the head is missing, and the log's start is gone: only a listing finds where the log now begins");
  }
  /** The log's end: the last record before the empty slot that ends it. */
  const logEnd = openHole !== undefined ? openHole - 1 : tip;

  // Every kept snapshot, and those forks pinned.
  const pinned = new Set<number>();
  for (const entry of inventory.forks) {
    try {
      const registration = await readForkRegistration(store, entry.key);
      pinned.add(registration.seq);
      if (!inventory.snapshots.has(registration.seq)) {
        problem("missing-snapshot", snapshotKey(registration.seq), `fork ${registration.fsId} at ${JSON.stringify(registration.prefix)} inherited this state, but its snapshot is missing`);
      }
    } catch (error) {
      problem("fork-registration", entry.key, describeError(error));
    }
  }
  const snapshotSeqs = [...inventory.snapshots.keys()].filter((seq) => (seq > base && seq <= tip) || (pinned.has(seq) && seq !== base));
  await boundedEach(snapshotSeqs, concurrency, async (seq) => {
    const key = snapshotKey(seq);
    try {
      const document = decodeSnapshot(key, await log.readSnapshot(seq));
      checked.snapshots++;
      references.addSnapshot(document);
      if (document.position.fsId !== format.fsId || document.position.seq !== seq) {
        problem("corrupt-snapshot", key, `holds position ${document.position.fsId}/${document.position.seq}`);
      } else if (recordHashes.has(seq) && recordHashes.get(seq) !== document.position.hash) {
        problem("corrupt-snapshot", key, `records hash ${document.position.hash} for seq ${seq}, but record ${seq} hashes to ${recordHashes.get(seq)}`);
      } else if (recordVoided.has(seq) && recordVoided.get(seq) !== (document.position.voided === true)) {
        // A mount from it would judge the next pipelined record otherwise than the log does.
        problem("corrupt-snapshot", key, `says record ${seq} was ${document.position.voided === true ? "void" : "applied"}, but following the log finds it ${recordVoided.get(seq) ? "void" : "applied"}`);
      }
    } catch (error) {
      problem(error instanceof NotFoundError ? "missing-snapshot" : "corrupt-snapshot", key, describeError(error));
    }
  });

  // Garbage collection can plan from this state: the same rule, on the same listing (GC2, GC7).
  if (!problems.some((entry) => entry.kind === "head" || entry.kind === "format")) {
    const damaged = new Set(problems.filter((entry) => entry.kind === "corrupt-snapshot" || entry.kind === "missing-snapshot").map((entry) => entry.key));
    const snapshots = new Map([...inventory.snapshots].filter(([seq]) => !damaged.has(snapshotKey(seq))));
    // The newest state may have no record left (a collection at the tip keeps its snapshot alone).
    const newestRecord = Math.max(logEnd, context.position().seq);
    try {
      planRetention({
        now: Date.now(),
        retentionMs: 0,
        tip: newestRecord,
        records: new Map([...inventory.records].filter(([seq]) => seq <= newestRecord)),
        snapshots,
        headSnapshot: head?.head.snapshot ?? 0,
        logStartsAfter: format.forkedFrom?.seq ?? 0,
        retainedFrom: base,
      });
    } catch (error) {
      if (!(error instanceof RetentionError)) throw error;
      problem("retention", error.reason === "log-gap" ? walKey(lowestOfRun(inventory.records, newestRecord)) : snapshotKey(head?.head.snapshot ?? 0), `garbage collection cannot run from this state: ${error.message}`);
    }
  }

  // Every referenced object exists, and every extent matches its hash.
  const view = context.namespace.committed;
  await boundedEach(references.objects(), concurrency, async (object) => {
    const extents = references.extents(object);
    checked.objects++;
    checked.extents += extents.length;
    let size: number;
    const listed = inventory.objects.get(object);
    if (listed !== undefined) size = listed.size;
    else if (parseOriginKey(object) !== undefined) {
      try {
        size = (await store.head(object)).size;
      } catch (error) {
        if (error instanceof NotFoundError) problem("missing-object", object, "an object inherited from an ancestor filesystem is missing", pathsUsing(view, object));
        else problem("unreadable", object, describeError(error), pathsUsing(view, object));
        return;
      }
    } else {
      problem("missing-object", object, "the kept history names this object, but it is missing", pathsUsing(view, object));
      return;
    }
    const outside = extents.filter((extent) => extent.offset + extent.length > size);
    if (outside.length > 0) {
      problem("out-of-bounds", object, `${outside.length} extents reach past the object's end (${size} bytes)`, pathsUsing(view, object, outside));
    }
    if (!verifyData) return;
    const inside = extents.filter((extent) => extent.offset + extent.length <= size);
    try {
      const bad = await mismatchedExtents(context, object, inside);
      checked.bytes += inside.reduce((sum, extent) => sum + extent.length, 0);
      if (bad.length > 0) problem("checksum-mismatch", object, `${bad.length} of ${inside.length} extents do not match their checksum`, pathsUsing(view, object, bad));
    } catch (error) {
      if (error instanceof StoreError) problem(error instanceof NotFoundError ? "missing-object" : "unreadable", object, describeError(error), pathsUsing(view, object));
      else throw error;
    }
  });

  // Orphans: this filesystem's objects that nothing kept names.
  const orphans: Orphan[] = [];
  for (const entry of inventory.objects.values()) {
    if (isOrphan(entry, references, voidReferences, pinned, base)) {
      orphans.push({ key: entry.key, kind: entry.kind, size: entry.size, lastModified: entry.lastModified.toISOString() });
    }
  }
  problems.sort((a, b) => a.key.localeCompare(b.key) || a.kind.localeCompare(b.kind));
  const report: FsckReport = {
    sound: problems.length === 0,
    fsId: format.fsId,
    tip,
    retainedFrom: base,
    checked,
    problems,
    orphans,
    orphanBytes: orphans.reduce((sum, orphan) => sum + orphan.size, 0),
  };
  const namedSnapshots = new Set(usableHead === undefined ? [] : [usableHead.snapshot, ...(usableHead.snapshots ?? [])].filter((seq) => seq > 0));
  const unsoundRecords = new Set(problems.filter((entry) => entry.kind === "missing-record" || entry.kind === "corrupt-record" || entry.kind === "unreadable" || entry.kind === "broken-chain").map((entry) => seqOfWalKey(entry.key)).filter((seq): seq is number => seq !== undefined));
  return { report, pinned, listedSnapshots: new Set(inventory.snapshots.keys()), namedSnapshots, inventory, recordHashes, unsoundRecords };
}

/** The seq below the run of records that ends at `tip` (0: the run starts at the log's start). */
function lowestOfRun(records: ReadonlyMap<number, unknown>, tip: number): number {
  let lowest = tip;
  while (lowest > 0 && records.has(lowest)) lowest--;
  return lowest;
}

function isOrphan(entry: InventoryEntry, references: References, voidReferences: References, pinned: ReadonlySet<number>, base: number): boolean {
  const named = references.has(entry.key) || voidReferences.has(entry.key);
  switch (entry.kind) {
    case "pack":
    case "chunk":
      return !named;
    case "record":
      return entry.seq! <= base && !named;
    case "snapshot":
      return entry.seq! < base && !pinned.has(entry.seq!);
    case "unknown":
      return true;
    default:
      return false;
  }
}

/** The extents of `object` whose bytes do not hash to their hash, read in coalesced ranges. */
async function mismatchedExtents(context: MaintenanceContext, object: string, extents: Extent[]): Promise<Extent[]> {
  const sorted = extents.slice().sort((a, b) => a.offset - b.offset);
  const bad: Extent[] = [];
  const maxRange = 8 * 1024 * 1024;
  let index = 0;
  while (index < sorted.length) {
    const start = sorted[index]!.offset;
    let end = start + sorted[index]!.length;
    let last = index;
    while (last + 1 < sorted.length && sorted[last + 1]!.offset <= end + 1024 * 1024 && Math.max(end, sorted[last + 1]!.offset + sorted[last + 1]!.length) - start <= maxRange) {
      last++;
      end = Math.max(end, sorted[last]!.offset + sorted[last]!.length);
    }
    const body = (await context.store.get(object, { range: { offset: start, length: end - start } })).body;
    for (let member = index; member <= last; member++) {
      const extent = sorted[member]!;
      const bytes = body.subarray(extent.offset - start, extent.offset - start + extent.length);
      if (bytes.byteLength !== extent.length || hashBytes(bytes) !== extent.hash) bad.push(extent);
    }
    index = last + 1;
  }
  return bad;
}

/** Files of the mounted state whose extents lie in `object` (those among `extents`, if given). */
function pathsUsing(view: NamespaceView, object: string, extents?: readonly Extent[]): string[] {
  return view.filesUsing(object, extents === undefined ? undefined : new Set(extents.map((extent) => extent.offset)));
}
