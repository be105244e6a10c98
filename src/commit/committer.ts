// The committer: the only code that publishes. One writer mount has one committer.
//
// 1. Validate: each operation is applied to the pending view of the index inside a savepoint; an
//    invalid one fails its own caller and leaves no trace. Concurrent writes queue up and go out
//    together in one record (group commit); a transaction is a batch of its own.
// 2. Upload packs (chunks were uploaded before their operation was queued).
// 3. PUT wal/<seq> create-only: the commit point. On success the batch becomes the committed view
//    and every caller in it resolves. If the slot is taken, read it: our own record (an answer
//    lost in transit) is success; a newer epoch means this writer is fenced, for good; an older
//    writer's last record is applied and the batch re-validated for the next slot. If the outcome
//    is unknown, the batch fails and the next one first re-reads the log.
//    A shared writer (`exclusive: false`) meets other writers' records of its own epoch there as
//    a matter of course: it applies them, re-validates each queued operation on the new state (one
//    whose precondition they broke fails alone, with the error it would have got after them) and
//    PUTs at the next slot at once (its 412 is the probe), after a jittered pause from the second
//    loss in a row on, at most `maxSlotAttempts` times. Its
//    transactions check what their body read (./read-set.ts) and run again on the new state; a
//    blind one's operations are only re-validated there, as queued ones are, but stand or fall together.
// 4. Off the critical path: the head (a hint for cold mounts) and snapshots, kept by the
//    HeadKeeper (./head-keeper.ts), which hears of every record this writer commits or inherits.
// 5. Garbage collection's fence (a `collect` record, docs/s3-layout.md GC9): the committer notes
//    the position it had when each upload of its data began; a batch about to be published that
//    names data whose upload began before the newest `collect` record it has applied re-uploads
//    those bytes under new keys first (the collector may have deleted the old ones).

import { AsyncLocalStorage } from "node:async_hooks";
import { randomUUID } from "node:crypto";
import { FencedError, FsError } from "../base/errors.ts";
import { defaultMaxRecordsInFlight } from "../base/options.ts";
import { extentsBroughtIn, type Extent, type Op } from "../log/ops.ts";
import { chunkPrefix, newChunkKey, newPackKey, packPrefix, walKey } from "../log/keys.ts";
import { encodeRecord, headerEpoch, pipelinedRecordFormat, recordFormat, type DecodedRecord, type LogPosition, type RecordHeader } from "../log/record.ts";
import type { HeadDocument, RemoteLog } from "../log/remote-log.ts";
import { isDiskFullError, type Namespace, type SealedChanges } from "../namespace/namespace.ts";
import type { OpApplier } from "../namespace/apply-ops.ts";
import type { ObjectStore } from "../stores/object-store.ts";
import { NotFoundError, PreconditionFailedError, UnsupportedFormatError } from "../stores/store-errors.ts";
import type { SegmentCache } from "../data/segment-cache.ts";
import type { DataLayout } from "../data/data-writer.ts";
import { Batch } from "./batch.ts";
import { HeadKeeper, type HeadKeeperOptions } from "./head-keeper.ts";
import { recordSizesMeta, type LogRecordSize } from "./record-sizes.ts";
import { catchUp, recordEpoch } from "./replay.ts";
import { ReadSet, pathsOf } from "./read-set.ts";
import { fitsLane, laneDirectoryOf, laneHolding, lanesAfter, lanesMeta, lanesOf, lanesTouched, type Lanes, type LaneState } from "./lanes.ts";
import { positionMeta } from "../namespace/position.ts";

/** Builds an operation, placing its data in the batch. Runs inside the batch's savepoint. */
export type PreparedOp = (batch: Batch) => Op;

/** The writer's identity, clock and snapshot cadence (see HeadKeeperOptions), and how it lays out data. */
export interface CommitterOptions extends HeadKeeperOptions {
  layout: DataLayout;
  /**
   * One of several writers (the mount's `exclusive: false`): no lease; records of other writers of
   * its epoch are caught up on, not a reason to stop; only a newer epoch fences it.
   */
  shared?: boolean;
  /** Records in flight at most (the mount's `maxRecordsInFlight`; default `maxRecordsInFlight`). */
  maxRecordsInFlight?: number;
  /** Whether this writer may open lanes (the mount's `lanes`; default true). */
  lanes?: boolean;
}

/**
 * How a shared writer's transaction meets other writers' commits that land before its own:
 * "serializable" checks what its body read and runs the body again if any of it changed;
 * "blind" runs the body once and only re-validates its operations on the new state (one that no
 * longer applies fails the whole commit). An exclusive writer has no other writers: both are the same.
 */
export type TransactionIsolation = "serializable" | "blind";

/**
 * A shared writer whose view of the log's end is older than this (since it last found the next
 * slot empty, or published) reads the head after a record of its lands, to make sure the slot it
 * won was not one garbage collection emptied (docs/s3-layout.md GC9: with several writers records
 * are collected only once `sharedRecordAgeMs`, twice this, has passed since they were stored).
 */
export const staleViewMs = 5 * 60_000;
/** With several writers, garbage collection deletes no record stored less than this long ago (GC9). */
export const sharedRecordAgeMs = 2 * staleViewMs;

/** Slots a shared writer's batch tries, each lost to another writer, before it fails with EAGAIN. */
export const maxSlotAttempts = 64;
/** Runs of a shared writer's transaction body, each undone by another writer's commit, before EAGAIN. */
export const maxTransactionRuns = 10;

/** A shared transaction's body saw something another writer's commit changed: it runs again. */
class TransactionConflict extends Error {
  constructor(readonly path: string) {
    super(`another writer changed '${path}'`);
  }
}

/**
 * Slots a shared writer that lost one tries at once, one after another: it applies the winner's
 * record and PUTs at the next slot without probing it, since the next slot is usually free, and
 * if it is not, the create-only PUT's 412 says so as a GET would have (one round trip fewer per
 * lost slot). Past that many losses in a row, each loss reads ahead to the log's end first: the
 * writer is far behind (a view that lagged many records) or chasing a log that grows by more
 * than one record per PUT and GET, and reading ahead finds the end in a few parallel rounds. (Read
 * ahead only every fourth loss, eight writer processes had a write lose 64 slots in a row.)
 */
export const slotsTriedAtOnce = 3;

/**
 * Records a writer keeps in flight at once (docs/s3-layout.md C8): a batch is PUT while the
 * records before it still wait for their answer, naming the hash of the newest of them as its
 * parent (record format 2). A busy writer's write then waits for one PUT, not for the commit in
 * flight before it as well. Past this many, new writes wait and go out together in the next record.
 * The default of the mount's `maxRecordsInFlight`.
 */
export const maxRecordsInFlight = defaultMaxRecordsInFlight;
/**
 * Operations in flight at most, over all records in flight: the local index takes each landed
 * record in by undoing the later ones (SQLite commits a transaction whole) and does their row
 * writes again when the next batch opens, so the later records' size is work done again.
 */
export const maxOperationsInFlight = 2_000;
/**
 * Records committed one at a time after a record in flight lost its slot to another writer:
 * the records after it are void (they name a parent that never made the log) and were PUT for
 * nothing, so a writer meeting other writers stops putting records in flight for a while.
 */
export const pipelineCooldownRecords = 16;

/**
 * Other writers are at work while one of their records taken in was written less than this long
 * ago: a shared writer then catches up while idle (catchUpPauseMs).
 */
export const othersActiveMs = 10_000;
/**
 * A shared writer that starts new work after a pause (a write when no batch was under way, a
 * transaction's first run, later than the turn of the event loop in which it last saw the log's
 * end) and has met other writers lately (one of their records taken in was written less than this
 * long ago) reads the slots from its record's on while the record's PUT is on its way: when the
 * PUT finds the slot taken, the records it missed are already read, up to the log's end, and its
 * next PUT goes to the right slot at once, instead of one lost slot and one GET per record it
 * missed (a writer that writes every few hundred milliseconds beside three others lagged three
 * records at nearly every write, and paid two round trips for each). A write that wins its slot
 * pays those GETs for nothing: they go out beside its PUT and add no round trip. Far longer than
 * `othersActiveMs`: an agent that thinks for a minute between writes, beside others that do the
 * same, has no catch-up while idle to keep it current, and lags the most.
 */
export const othersMetMs = 600_000;
/** Slots read at most beside such a PUT (the records the writer missed the last time, plus the end). */
export const maxLookAheadSlots = 8;

/**
 * A shared writer with no `refreshIntervalMs` of its own catches up while idle by itself, but only
 * while other writers are at work (it has taken in records of theirs written in the last
 * `othersActiveMs`), and as often as they write: the pause is `catchUpShare` of the mean time
 * between those records (taken over at least `minCatchUpSpanMs`), between `minCatchUpMs` and
 * `maxCatchUpMs`. A write after a pause then finds another writer's record in its slot with a
 * chance of about their rate times half the pause, a tenth (plus what lands during its own PUT's
 * round trip), instead of nearly always; each catch-up that finds nothing is one GET. A writer
 * alone, or whose companions have fallen silent, makes no request while idle.
 */
export const catchUpShare = 0.2;
export const minCatchUpSpanMs = 1_000;
export const minCatchUpMs = 50;
export const maxCatchUpMs = 1_000;

/**
 * The pause before a shared writer's next catch-up while idle, given the other writers' records of
 * the last `othersActiveMs` and the time from the oldest of them to now; undefined: none.
 */
export function catchUpPauseMs(othersRecords: number, spanMs: number): number | undefined {
  if (othersRecords <= 0) return undefined;
  const perRecordMs = Math.min(othersActiveMs, Math.max(minCatchUpSpanMs, spanMs)) / othersRecords;
  return Math.min(maxCatchUpMs, Math.max(minCatchUpMs, catchUpShare * perRecordMs));
}

/**
 * Another writer's record in the slot a record of ours tried, and, when the writer read the slots
 * from there while its PUT was on its way (`lookAheadSlots`), the records found after it, in
 * order up to the first empty slot, and whether that empty slot was found (the log's end, then).
 */
interface TakenSlot {
  record: DecodedRecord;
  ahead?: readonly DecodedRecord[];
  endSeen?: boolean;
}

/** What became of a record put in flight: it landed, another writer's record took its slot, or nobody knows. */
type FlightOutcome = { kind: "landed" } | ({ kind: "taken" } & TakenSlot) | { kind: "failed"; error: unknown };

/** A record in flight: its batch is sealed in the local index until the answer comes. */
interface Flight {
  batch: Batch;
  /** The queued callers, one per operation of the batch, in order. */
  entries: Queued[];
  bytes: Uint8Array;
  /** Where the log stands once this record landed. */
  position: LogPosition;
  started: number;
  settled: boolean;
  /** Its batch's writes, while a commit below it has undone them in the local index (resealFlights). */
  changes: SealedChanges | undefined;
  outcome: Promise<FlightOutcome>;
}

/** A jittered pause before the next try, growing with the attempt (up to about 50 ms). */
function backoff(attempt: number): Promise<void> {
  const ceiling = Math.min(50, 2 ** Math.min(attempt, 6));
  return new Promise((resolve) => setTimeout(resolve, Math.random() * ceiling));
}

export interface CommitStats {
  commits: number;
  operations: number;
  failedCommits: number;
  /** Sum of commit latencies (queueing excluded), for the mean. */
  commitMilliseconds: number;
  lastCommitMilliseconds: number;
  snapshots: number;
  headUpdates: number;
  /** Times a shared writer's record found its log slot taken by another writer's (each costs the PUT again). */
  lostSlots: number;
  /** Times a shared writer's transaction body ran again because another writer changed what it read. */
  transactionReruns: number;
  /** The most records this writer had in flight at once (C8): above 1, writes were pipelined. */
  mostRecordsInFlight: number;
  /** Records this writer published in a lane of its own (src/commit/lanes.ts), counted in `commits` too. */
  laneCommits: number;
  /** Lanes this writer opened, and lanes it closed (its own or others'). */
  lanesOpened: number;
  lanesClosed: number;
}

interface Queued {
  prepare: PreparedOp;
  resolve: () => void;
  reject: (error: unknown) => void;
  /** A shared writer's operation refused on its view is tried once more after catching up. */
  rechecked?: boolean;
}

/**
 * What the callers of a published record hear when the index could not take it in: on a full
 * disk, ENOSPC saying the change is published all the same; anything else as it is.
 */
function notIndexed(recordKey: string, error: unknown): unknown {
  if (!isDiskFullError(error)) return error;
  return new FsError("ENOSPC", "write", {
    detail: `the change was published (${recordKey}) but the local disk has no space for the index to take it in; the mount applies it from the log once there is space`,
    cause: error,
  });
}

/** Refusals that depend on the namespace's state: a shared writer's view may be older than the log. */
export const stateCodes: ReadonlySet<string> = new Set(["ENOENT", "EEXIST", "ENOTDIR", "EISDIR", "ENOTEMPTY", "EINVAL", "ENAMETOOLONG", "ELOOP"]);

class Mutex {
  private tail: Promise<void> = Promise.resolve();
  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.tail.then(task);
    this.tail = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }
}

export class Committer {
  private position: LogPosition;
  private readonly queue: Queued[] = [];
  /** Records put in flight and not yet taken in, oldest first (maxRecordsInFlight). */
  private readonly flights: Flight[] = [];
  /**
   * How many of the records in flight, oldest first, have their batch sealed in the local index.
   * Taking a landed record in undoes the batches after it (SQLite commits a transaction whole);
   * those are done again only when the next batch opens on top of them (resealFlights), and then
   * from their journal, statement for statement, not by validating their operations again.
   */
  private flightsInIndex = 0;
  /** A landing is queued on the mutex. */
  private landingQueued = false;
  /** Records still to commit one at a time since a record in flight lost its slot. */
  private pipelineCooldown = 0;
  /** The loop committing queued writes, while it runs. */
  private draining: Promise<void> | undefined;
  private readonly mutex = new Mutex();
  private fencedBy: FencedError | undefined;
  private needsResync = false;
  /** The head and the snapshot cadence. */
  private readonly head: HeadKeeper;
  /** Cache writes of what this writer published, awaited on close. */
  private readonly background = new Set<Promise<unknown>>();
  private closed = false;
  private lastTime = 0;
  /** The newest seq holding a `collect` record that this committer has applied or published. */
  private lastCollectSeq = 0;
  /**
   * The seq this committer's view stood at when the upload of each of its data objects (chunks,
   * packs) began: an upload that began before a `collect` record was applied may be older than the
   * collector's cutoff. An entry goes once a record names the object.
   */
  private readonly uploadsBegan = new Map<string, number>();
  /**
   * When this committer last knew its position to be the log's end (it found the next slot empty,
   * or published): on the monotonic clock and the mount's wall clock, either of which may say the
   * view has grown old (staleViewMs).
   */
  private viewConfirmed = { monotonic: performance.now(), wall: 0 };
  /** The newest time (a record header's) of another writer's record taken in. */
  private othersSeenAt = Number.NEGATIVE_INFINITY;
  /** Work began after a pause and the log's end has not been seen since (lookAheadSlots). */
  private viewMayLag = false;
  /** The log's end was seen (or written) in this turn of the event loop: work starting now does not lag. */
  private viewFresh = false;
  private confirmations = 0;
  /** Records the last look-ahead found this writer had missed: how far behind the next one likely is. */
  private lastMissed = 1;
  /** A shared writer's catch-up while idle (`poll`), and the one under way. */
  private pollTimer: ReturnType<typeof setInterval> | undefined;
  private polling: Promise<unknown> | undefined;
  /** Catching up while others are at work (`catchUpWhileOthersWrite`): on, and the pause under way. */
  private catchingUp = false;
  private catchUpTimer: ReturnType<typeof setTimeout> | undefined;
  /** When the other writers' records taken in lately were written (capped at this writer's now), oldest first. */
  private othersTimes: number[] = [];
  /** Set by closeLanesSoon. */
  private lanesInTheWay = false;
  /** close() has begun: no lane opens any more. */
  private closing = false;
  /** When this writer last took in another writer's record, and each top-level directory those touched (its clock). */
  private othersTakenInAt = Number.NEGATIVE_INFINITY;
  private readonly othersDirectories = new Map<string, number>();
  /**
   * Open while a transaction body of this committer runs, in the body's own async context: a
   * write through the mount (not the transaction) from there would wait for the body that waits
   * for it. Closed when the body returns, so work the body left behind is not mistaken for it.
   */
  private readonly bodies = new AsyncLocalStorage<{ open: boolean }>();
  readonly stats: CommitStats = {
    commits: 0,
    operations: 0,
    failedCommits: 0,
    commitMilliseconds: 0,
    lastCommitMilliseconds: 0,
    snapshots: 0,
    headUpdates: 0,
    lostSlots: 0,
    transactionReruns: 0,
    mostRecordsInFlight: 0,
    laneCommits: 0,
    lanesOpened: 0,
    lanesClosed: 0,
  };

  constructor(
    private readonly namespace: Namespace,
    private readonly applier: OpApplier,
    private readonly log: RemoteLog,
    private readonly store: ObjectStore,
    private readonly cache: SegmentCache,
    private readonly options: CommitterOptions,
    start: {
      position: LogPosition;
      head: { etag: string | undefined; document: HeadDocument | undefined } | undefined;
      /** The records above the newest snapshot the index holds at `position`, with their sizes (earlier writers' too). */
      inherited: readonly LogRecordSize[];
    },
  ) {
    this.position = start.position;
    this.viewConfirmed.wall = options.now();
    this.head = new HeadKeeper(log, () => namespace.committed, this, options, this.stats, start.head);
    this.head.inherited(start.inherited);
  }

  /** The newest snapshot the head names (0: none). */
  get snapshotSeq(): number {
    return this.head.snapshotSeq;
  }

  /** What the head tells time travel: the snapshots kept and the oldest seq kept. */
  get retention(): { snapshots: number[]; retainedFrom: number } {
    return this.head.retention;
  }

  get current(): LogPosition {
    return this.position;
  }

  /** Where the log will stand once every record in flight has landed: the next record's parent. */
  private get tip(): LogPosition {
    return this.flights.at(-1)?.position ?? this.position;
  }

  get epoch(): number {
    return this.options.epoch;
  }

  get writerId(): string {
    return this.options.writerId;
  }

  /** One of several writers (the mount's `exclusive: false`). */
  get shared(): boolean {
    return this.options.shared === true;
  }

  get fenced(): FencedError | undefined {
    return this.fencedBy;
  }

  /** Fences this writer from outside (its lease was taken). */
  fence(newerEpoch: number | undefined, syscall = "write", detail?: string): FencedError {
    this.fencedBy ??= new FencedError(syscall, { epoch: this.options.epoch, newerEpoch, ...(detail === undefined ? {} : { detail }) });
    return this.fencedBy;
  }

  /**
   * Throws EDEADLK when called from inside a transaction body of this committer: a commit, a
   * nested transaction or close() started there could only run after the body returns, and the
   * body would wait for it for ever.
   */
  checkOutsideTransaction(syscall: string, path?: string): void {
    if (this.bodies.getStore()?.open !== true) return;
    throw new FsError("EDEADLK", syscall, {
      path,
      detail: `${syscall} was called on the filesystem from inside one of its own transaction bodies, where it could only wait for the body to finish; use the transaction's object (tx) inside the body, or call it after the transaction`,
    });
  }

  /** A data object of this writer is about to be uploaded: notes the position it started from. */
  uploading(key: string): void {
    this.uploadsBegan.set(key, this.position.seq);
  }

  /** Queues one operation for the next group commit; resolves once it is durable. */
  submit(prepare: PreparedOp): Promise<void> {
    try {
      this.checkOutsideTransaction("write");
    } catch (error) {
      return Promise.reject(error);
    }
    if (this.fencedBy !== undefined) return Promise.reject(this.fencedBy);
    if (this.closed) return Promise.reject(new FsError("EBADF", "write", { detail: "the filesystem is closed" }));
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ prepare, resolve, reject });
      if (this.draining === undefined) {
        this.viewMayLag = !this.viewFresh; // work after a pause: others may have written meanwhile
        this.draining = this.drain();
      }
    });
  }

  /**
   * Runs `body` as one batch of its own: every operation it applies is validated at once (errors
   * reach `body`), and all are published together when it returns, or none if it throws.
   * `fromLogEnd: false`: a blind transaction whose caller read the log's end itself since its work
   * began (a shell command that caught up as it started) starts from this writer's view instead
   * (the mount's `catchUp: false`).
   */
  transaction<T>(
    body: (batch: Batch, apply: (prepare: PreparedOp) => void, reads: ReadSet | undefined) => Promise<T>,
    isolation: TransactionIsolation = "serializable",
    fromLogEnd = true,
  ): Promise<T> {
    try {
      this.checkOutsideTransaction("transaction");
    } catch (error) {
      return Promise.reject(error);
    }
    if (this.fencedBy !== undefined) return Promise.reject(this.fencedBy);
    if (!this.shared) return this.mutex.run(() => this.runTransaction(body, undefined, false));
    // A blind transaction of a shared writer: its body runs once, from the log's end, and nothing
    // it read is checked; the records that slip in before its slot only re-validate its operations
    // (publishOpenBatch), and the first that no longer applies fails the whole commit with its error.
    if (isolation === "blind") {
      const mayLag = !this.viewFresh;
      return this.mutex.run(() => {
        this.viewMayLag ||= mayLag;
        return this.runTransaction(body, undefined, fromLogEnd);
      });
    }
    return this.sharedTransaction(body);
  }

  /**
   * A shared writer's transaction: serializable. Each run records what the body read; if another
   * writer's commit below the transaction's slot (or, for a run that publishes nothing, up to the
   * log's end) touched any of it, the run is undone and the body runs again on the new state (the
   * mutex is let go between runs, so queued writes go on), at most `maxTransactionRuns` times;
   * then EAGAIN names a path that kept changing.
   */
  private async sharedTransaction<T>(body: (batch: Batch, apply: (prepare: PreparedOp) => void, reads: ReadSet | undefined) => Promise<T>): Promise<T> {
    const mayLag = !this.viewFresh;
    for (let run = 1; ; run++) {
      try {
        return await this.mutex.run(() => {
          if (run === 1) this.viewMayLag ||= mayLag; // a run again follows a catch-up to the log's end
          return this.runTransaction(body, new ReadSet(), false);
        });
      } catch (error) {
        if (!(error instanceof TransactionConflict)) throw error;
        if (run >= maxTransactionRuns) {
          throw new FsError("EAGAIN", "transaction", {
            path: error.path,
            detail: `transaction conflict: other writers' commits changed '${error.path}', which the transaction read or wrote, each of the ${run} times its body ran; nothing was published (run it again later)`,
          });
        }
        this.stats.transactionReruns++;
        await backoff(run);
      }
    }
  }

  private async runTransaction<T>(
    body: (batch: Batch, apply: (prepare: PreparedOp) => void, reads: ReadSet | undefined) => Promise<T>,
    reads: ReadSet | undefined,
    fromLogEnd: boolean,
  ): Promise<T> {
    // A serializable body of a shared writer runs on the view this writer has, without a request
    // first: when it publishes, records that slipped in below its slot are checked against what
    // it saw (a conflict runs it again), and when it fails or only read, the log's end is read
    // once to tell an answer of a lagging view from a real one (./read-set.ts). A blind body,
    // which records nothing to check afterwards, starts from the log's end instead (one GET).
    if (fromLogEnd) this.needsResync = true;
    await this.landAll(); // a transaction is a batch of its own, on the log's state with every record in flight taken in
    await this.beforeBatch();
    const batch = this.newBatch();
    this.namespace.beginBatch();
    let result: T;
    const scope = { open: true };
    try {
      result = await this.bodies.run(scope, () => body(batch, (prepare) => this.applyOne(batch, prepare), reads));
    } catch (error) {
      const ownOps = [...batch.ops];
      this.namespace.rollbackBatch();
      await batch.settle();
      // A caught-up view that changes nothing the body saw confirms its error; one that does runs it again.
      if (reads !== undefined) await this.recheckReads(reads, ownOps).catch((recheck: unknown) => {
        if (recheck instanceof TransactionConflict) throw recheck;
        this.needsResync = true; // the body's own error is the answer; the log is read before the next batch
      });
      throw error;
    } finally {
      scope.open = false;
    }
    if (batch.empty) {
      this.namespace.rollbackBatch();
      if (reads !== undefined && reads.size > 0) await this.recheckReads(reads, []);
      return result;
    }
    await this.publish(batch, undefined, reads);
    return result;
  }

  /**
   * A shared transaction that publishes nothing (it read only, or its body threw) reads the log to
   * its end: if another writer's record there touched what the body saw, it runs again
   * (TransactionConflict), since its reads or its error came from a view that lagged.
   */
  private async recheckReads(reads: ReadSet, ownOps: readonly Op[]): Promise<void> {
    if (this.fencedBy !== undefined || (reads.size === 0 && ownOps.length === 0)) return; // it saw nothing
    const slipped = await this.resync();
    if (slipped.length === 0) return;
    const path = reads.conflict(slipped, ownOps, this.namespace.committed.counts().symlinks > 0);
    if (path !== undefined) throw new TransactionConflict(path);
  }

  /**
   * A shared writer catches up with the other writers' commits (an exclusive writer has none to
   * see); returns the seq reached and whether anything changed.
   */
  /**
   * A shared writer catches up every `intervalMs` while it is idle (no batch under way, none in
   * flight), so a write after a pause finds the other writers' records already taken in and its
   * first PUT goes to the log's end: one round trip instead of a lost slot and a second. Each
   * catch-up that finds nothing costs one GET (the next slot). An exclusive writer has no one to
   * catch up with.
   */
  poll(intervalMs: number): void {
    if (!this.shared || this.pollTimer !== undefined) return;
    this.pollTimer = setInterval(() => void this.refreshWhileIdle(), intervalMs);
    this.pollTimer.unref?.();
  }

  /**
   * One catch-up while idle (`poll`, `catchUpWhileOthersWrite`), unless the writer is closed,
   * fenced or busy (a batch under way or in flight sees the log anyway, and one catch-up at a
   * time): undefined then. A failure is left to the next write, which reads the log anyway.
   */
  private refreshWhileIdle(): Promise<void> | undefined {
    if (this.closed || this.fencedBy !== undefined || this.draining !== undefined || this.flights.length > 0 || this.polling !== undefined) return undefined;
    const polling = this.refresh()
      .then(
        () => {},
        () => {},
      )
      .finally(() => (this.polling = undefined));
    this.polling = polling;
    return polling;
  }

  /**
   * Catches up while idle as often as the other writers write, while they do (`catchUpPauseMs`):
   * what a shared writer does unless given `refreshIntervalMs`.
   */
  catchUpWhileOthersWrite(): void {
    if (!this.shared) return;
    this.catchingUp = true;
    this.armCatchUp();
  }

  /** The pause before the next catch-up (`catchUpPauseMs`), forgetting the other writers' records older than `othersActiveMs`. */
  private catchUpPause(): number | undefined {
    const now = this.options.now();
    const stale = this.othersTimes.findIndex((time) => time >= now - othersActiveMs);
    this.othersTimes.splice(0, stale === -1 ? this.othersTimes.length : stale);
    return catchUpPauseMs(this.othersTimes.length, now - (this.othersTimes[0] ?? now));
  }

  private armCatchUp(): void {
    if (!this.catchingUp || this.catchUpTimer !== undefined || this.closed) return;
    const pause = this.catchUpPause();
    if (pause === undefined) return; // armed again when another writer's record is taken in
    this.catchUpTimer = setTimeout(() => {
      this.catchUpTimer = undefined;
      if (this.closed || this.fencedBy !== undefined) return;
      // A writer with a lane of its own publishes where no one else does: nothing to keep up with.
      if (this.ownsLane()) return this.armCatchUp();
      const refreshing = this.refreshWhileIdle();
      if (refreshing === undefined) this.armCatchUp(); // busy: the pause starts again
      else void refreshing.then(() => this.armCatchUp());
    }, pause);
    this.catchUpTimer.unref?.();
  }

  async refresh(): Promise<{ seq: number; changed: boolean }> {
    if (!this.shared) return { seq: this.position.seq, changed: false };
    return this.mutex.run(async () => {
      await this.landAll();
      const before = this.position.seq;
      this.needsResync = true;
      await this.beforeBatch();
      return { seq: this.position.seq, changed: this.position.seq !== before };
    });
  }

  /**
   * Waits for queued commits, then brings the head up to date and writes a final snapshot if the
   * filesystem changed since the last one (this writer's own epoch record alone is no change).
   */
  async close(options: { snapshot: boolean }): Promise<void> {
    if (this.pollTimer !== undefined) clearInterval(this.pollTimer);
    this.pollTimer = undefined;
    this.catchingUp = false;
    if (this.catchUpTimer !== undefined) clearTimeout(this.catchUpTimer);
    this.catchUpTimer = undefined;
    await this.polling;
    await this.mutex.run(async () => {});
    this.closing = true; // no lane opens now
    await this.settleAll();
    // A lane of this writer's would be left for others to close, and for readers to poll meanwhile.
    // (An index found damaged has no say here: the next mount rebuilds it, and others close the lane.)
    if (this.fencedBy === undefined && this.ownsLane()) {
      await this.closeLanes("own").catch(() => {});
      await this.settleAll(); // writes that came meanwhile
    }
    this.closed = true;
    await Promise.allSettled(this.background);
    await this.head.close(options);
  }

  /** Waits for every queued write and every record in flight to be settled. */
  private async settleAll(): Promise<void> {
    // Awaiting the loop itself, not the mutex: between batches the loop waits a turn of the event
    // loop, and a wait that resolves in microtasks alone would never let that turn come.
    while (this.draining !== undefined || this.flights.length > 0) {
      await this.draining?.catch(() => {}); // each writer has its error
      await this.mutex.run(() => this.landAll());
    }
  }

  private async drain(): Promise<void> {
    try {
      let first = true;
      while (this.queue.length > 0) {
        // Before a batch that queued behind another, one turn of the event loop: writers the last
        // batch acknowledged submit their next writes in it and join this batch, instead of
        // waiting a whole commit behind it (fewer PUTs and a lower write latency for busy
        // writers; docs/performance.md, "Writers joining the next batch", has the figures).
        if (!first) await new Promise((resolve) => setImmediate(resolve));
        first = false;
        await this.mutex.run(async () => {
          // Records whose answer came are taken in first, oldest first; writes that cannot join
          // the pipeline (it is full, or the log must be read again first) wait for those in
          // flight, and whatever queued meanwhile goes out with them in one record.
          await this.landSettled();
          while (this.flights.length > 0 && (this.needsResync || !this.canPipeline(this.queue.length))) await this.landOldest();
          const entries = this.queue.splice(0);
          if (entries.length > 0) await this.commitQueued(entries);
        });
      }
    } finally {
      this.draining = undefined;
    }
  }

  private async commitQueued(entries: Queued[]): Promise<void> {
    try {
      await this.beforeBatch();
    } catch (error) {
      for (const entry of entries) entry.reject(error);
      return;
    }
    if (!(await this.resealFlights())) {
      // The index lost the records in flight (their callers heard of it): read the log first.
      try {
        await this.beforeBatch();
      } catch (error) {
        for (const entry of entries) entry.reject(error);
        return;
      }
    }
    // Beside an open lane a batch is published on its own (a lane's, or the main log's with the
    // lanes it touches closed first): the records in flight land before it.
    if (this.flights.length > 0 && lanesOf(this.namespace.pending).size > 0) await this.landAll();
    const batch = this.newBatch();
    try {
      this.namespace.beginBatch(true); // sealable: it goes in flight
    } catch (error) {
      for (const entry of entries) entry.reject(error); // a full disk, say: every caller hears of it
      return;
    }
    const accepted: Queued[] = [];
    const recheck: Queued[] = [];
    for (const entry of entries) {
      try {
        this.applyOne(batch, entry.prepare);
        accepted.push(entry);
      } catch (error) {
        // A shared writer's view lags the other writers' commits: an operation it refuses goes
        // to the next batch, which starts from the log's end, and is refused only if it fails there.
        if (this.shared && entry.rechecked !== true && error instanceof FsError && stateCodes.has(error.code)) {
          entry.rechecked = true;
          recheck.push(entry);
        } else entry.reject(error);
      }
    }
    if (recheck.length > 0) {
      this.needsResync = true;
      this.queue.unshift(...recheck);
    }
    if (accepted.length === 0) {
      this.namespace.rollbackBatch();
      return;
    }
    const lanes = lanesOf(this.namespace.pending);
    if (lanes.size > 0 && this.flights.length === 0) {
      const own = this.ownLane(lanes);
      if (this.lanesInTheWay) {
        // A snapshot is due: this record closes every lane (HeadKeeper.snapshotDue).
        this.lanesInTheWay = false;
        batch.closesLanes = [...lanes.keys()];
        await this.publishQueued(batch, accepted);
      } else if (own !== undefined && batch.ops.every((op) => fitsLane(op, own[1].path))) await this.publishInLane(batch, accepted, own[0], own[1]);
      else {
        batch.opensLane = this.laneWanted(batch);
        await this.publishQueued(batch, accepted);
      }
      return;
    }
    const wanted = this.flights.length === 0 ? this.laneWanted(batch) : undefined;
    if (wanted !== undefined) {
      // Its record opens a lane for the directory, and the writes after it go there.
      batch.opensLane = wanted;
      await this.publishQueued(batch, accepted);
      return;
    }
    await this.launch(batch, accepted);
  }

  /** Publishes queued writes in the main log, one record, not pipelined; settles their callers. */
  private async publishQueued(batch: Batch, entries: Queued[]): Promise<void> {
    try {
      await this.publish(batch, entries);
      for (const entry of entries) entry.resolve();
    } catch (error) {
      for (const entry of entries) entry.reject(error);
    }
  }

  /** A snapshot is due and waits for no lane to be open: the next write closes them all. */
  closeLanesSoon(): void {
    this.lanesInTheWay = true;
  }

  /** Whether this writer owns an open lane (an index found damaged: as if not). */
  private ownsLane(): boolean {
    try {
      return this.ownLane(lanesOf(this.namespace.pending)) !== undefined;
    } catch {
      return false;
    }
  }

  /** The open lane this writer owns and may still publish in, if any. */
  private ownLane(lanes: Lanes): [number, LaneState] | undefined {
    for (const entry of lanes) if (entry[1].owner === this.options.writerId && entry[1].ended !== true) return entry;
    return undefined;
  }

  /**
   * Publishes queued writes that all fit this writer's own lane as the lane's next record: no
   * other writer publishes there, so the PUT meets no one's record but a close marker. Its
   * `after` names the main-log seq this writer has applied, so no reader shows it before what
   * this writer saw (docs/s3-layout.md LN2, LN7). A close marker in the slot ends the lane: the writes
   * then go to the main log, which closes the lane first (publishOpenBatch).
   */
  private async publishInLane(initial: Batch, entries: Queued[], id: number, first: LaneState): Promise<void> {
    const started = performance.now();
    let lane = first;
    let ops = initial.ops.splice(0);
    this.namespace.rollbackBatch();
    for (let attempt = 1; ; attempt++) {
      const seq = lane.position.seq + 1;
      const batch = initial.inLane(id, seq);
      const epoch = Math.max(this.options.epoch, lane.position.epoch);
      let bytes: Uint8Array;
      let hash: string;
      const nonce = randomUUID();
      try {
        this.namespace.beginBatch();
        // On the state they were validated on; after a catch-up, each still applies or fails alone.
        const survivors: Queued[] = [];
        ops.forEach((op, index) => {
          try {
            this.applyOne(batch, () => op);
            survivors.push(entries[index]!);
          } catch (error) {
            entries[index]!.reject(error);
          }
        });
        entries.splice(0, entries.length, ...survivors);
        if (batch.empty) {
          this.namespace.rollbackBatch();
          return;
        }
        await batch.finish();
        this.namespace.assertBatchIntact();
        ({ bytes, hash } = encodeRecord(batch.inlineData, {
          format: recordFormat,
          fsId: lane.position.fsId,
          seq,
          parent: lane.position.seq,
          parentHash: lane.position.hash,
          epoch,
          writer: this.options.writerId,
          nonce,
          time: batch.time,
          ops: batch.ops,
          lane: id,
          after: this.position.seq,
        }));
        await this.log.writeLaneRecord(id, seq, bytes).catch(async (error: unknown) => {
          // Our own record may stand there: an attempt whose answer was lost landed after all.
          if (!(error instanceof PreconditionFailedError) || (await this.log.readLaneRecord(id, seq).catch(() => undefined))?.header.nonce !== nonce) throw error;
        });
      } catch (error) {
        this.namespace.rollbackBatch();
        this.needsResync = true;
        if (!(error instanceof PreconditionFailedError) || attempt >= maxSlotAttempts) {
          this.stats.failedCommits++;
          for (const entry of entries) entry.reject(error);
          return;
        }
        // The slot is taken: by a close marker (the lane has ended), or by an earlier record of
        // ours whose failure its caller heard of (it landed late). Read on and see.
        ops = batch.ops.splice(0);
        let slipped: DecodedRecord[];
        try {
          slipped = await this.resync();
        } catch (failure) {
          this.stats.failedCommits++;
          for (const entry of entries) entry.reject(failure);
          return;
        }
        const now = this.ownLane(lanesOf(this.namespace.pending));
        if (now !== undefined && now[0] === id) {
          lane = now[1];
          continue;
        }
        // Ended: the writes go to the main log instead, validated again after what was read, and
        // that record closes the lane (publishOpenBatch).
        batch.ops.push(...ops);
        let main: Batch;
        try {
          main = this.revalidate(batch, entries, slipped, false);
        } catch (failure) {
          this.stats.failedCommits++;
          for (const entry of entries) entry.reject(failure);
          return;
        }
        if (main.empty) {
          this.namespace.rollbackBatch();
          return;
        }
        await this.publishQueued(main, entries);
        return;
      }
      const lanes = lanesOf(this.namespace.pending);
      lanes.set(id, { ...lane, after: this.position.seq, position: { fsId: lane.position.fsId, seq, hash, epoch } });
      try {
        this.namespace.commitBatch(lanesMeta(lanes), () => {
          for (const op of batch.ops) this.applier.apply(op, batch.recordKey);
        });
      } catch (error) {
        this.needsResync = true;
        this.stats.failedCommits++;
        for (const entry of entries) entry.reject(notIndexed(batch.recordKey, error));
        return;
      }
      const elapsed = performance.now() - started;
      this.stats.commits++;
      this.stats.laneCommits++;
      this.stats.operations += entries.length;
      this.stats.commitMilliseconds += elapsed;
      this.stats.lastCommitMilliseconds = elapsed;
      this.track(Promise.all(batch.written(bytes).map((segment) => this.cache.insert(segment.object, segment.offset, segment.bytes))));
      this.confirmView();
      for (const entry of entries) entry.resolve();
      return;
    }
  }

  /**
   * Ends lanes `ids` so that a main-log record may close them: a close marker in each one's next
   * slot (create-only; one that finds the slot taken reads what took it, the owner's record or
   * another closer's marker, and tries after it). Returns the records read meanwhile, main-log and
   * lanes' alike (they slipped in below the record that will close the lanes).
   */
  private async endLanes(ids: readonly number[]): Promise<DecodedRecord[]> {
    const slipped: DecodedRecord[] = [];
    for (const id of ids) {
      for (let attempt = 1; ; attempt++) {
        const lane = lanesOf(this.namespace.pending).get(id);
        if (lane === undefined || lane.ended === true) break;
        if (attempt > maxSlotAttempts) {
          throw new FsError("EAGAIN", "write", { detail: `lane ${id} (${lane.path}) could not be closed: its next slot was taken ${maxSlotAttempts} times in a row; nothing was published` });
        }
        const time = this.options.now();
        const { bytes } = encodeRecord([], {
          format: recordFormat,
          fsId: lane.position.fsId,
          seq: lane.position.seq + 1,
          parent: lane.position.seq,
          parentHash: lane.position.hash,
          epoch: Math.max(this.options.epoch, lane.position.epoch),
          writer: this.options.writerId,
          nonce: randomUUID(),
          time,
          ops: [{ op: "laneEnd", writer: this.options.writerId, time }],
          lane: id,
          after: Math.max(this.position.seq, lane.after),
        });
        await this.log.writeLaneRecord(id, lane.position.seq + 1, bytes).catch((error: unknown) => {
          if (!(error instanceof PreconditionFailedError)) throw error;
        });
        // The marker, ours or another closer's, or the owner's record that took the slot: read on.
        this.needsResync = true;
        slipped.push(...(await this.resync()));
      }
    }
    return slipped;
  }

  /**
   * Closes lanes: this writer's own (`own`, as it closes) or every open one (before a snapshot,
   * which is a state with no lane open). One main-log record, after their close markers.
   */
  async closeLanes(which: "own" | "all"): Promise<void> {
    if (!this.shared) return;
    await this.mutex.run(async () => {
      await this.landAll();
      await this.beforeBatch();
      const lanes = lanesOf(this.namespace.pending);
      const ids = [...lanes].filter(([, lane]) => which === "all" || lane.owner === this.options.writerId).map(([id]) => id);
      if (ids.length === 0) return;
      const batch = this.newBatch();
      batch.closesLanes = ids;
      this.namespace.beginBatch();
      await this.publish(batch, undefined);
    });
  }

  /** Whether a batch of `operations` more may go out while the records in flight wait for their answers. */
  private canPipeline(operations: number): boolean {
    if (this.flights.length >= (this.options.maxRecordsInFlight ?? maxRecordsInFlight) || this.pipelineCooldown > 0) return false;
    if (lanesOf(this.namespace.pending).size > 0) return false; // beside a lane, one record at a time (publishOpenBatch)
    let inFlight = operations;
    for (const flight of this.flights) inFlight += flight.batch.ops.length;
    return inFlight <= maxOperationsInFlight;
  }

  /**
   * Puts the open batch of queued writes in flight as the record after the tip (docs/s3-layout.md
   * C8): its PUT starts now, and its callers resolve when it lands and every record before it has
   * (landOldest). A record whose parent is itself still in flight is format 2: should that parent
   * not make the log, readers take this one for void, never for part of the log (I7).
   */
  private async launch(initial: Batch, entries: Queued[]): Promise<void> {
    let batch = initial;
    let started = 0;
    let bytes: Uint8Array;
    let hash: string;
    const parent = this.tip;
    const nonce = randomUUID();
    try {
      started = performance.now(); // a clock that throws (a sandbox blocking it) fails this batch alone
      this.namespace.assertBatchIntact(); // a batch SQLite lost (a full disk) is never published
      await batch.finish();
      if (this.lastCollectSeq > 0 && (await this.reuploadFenced(batch, false))) {
        // Its operations now name the new copies: validated again, on the same state.
        this.namespace.rollbackBatch();
        batch = this.revalidate(batch, entries, undefined, false);
        if (batch.empty) {
          this.namespace.rollbackBatch();
          return;
        }
      }
      this.namespace.assertBatchIntact();
      this.checkNoLanes();
      ({ bytes, hash } = encodeRecord(batch.inlineData, {
        format: this.flights.length > 0 ? pipelinedRecordFormat : recordFormat,
        fsId: parent.fsId,
        seq: batch.seq,
        parent: parent.seq,
        parentHash: parent.hash,
        epoch: this.options.epoch,
        writer: this.options.writerId,
        nonce,
        time: batch.time,
        ops: batch.ops,
      }));
      this.namespace.sealBatch();
    } catch (error) {
      this.namespace.rollbackBatch();
      this.stats.failedCommits++;
      for (const entry of entries) entry.reject(error);
      if (this.namespace.sealed < this.flightsInIndex) await this.flightsWithoutIndex(error);
      return;
    }
    const epoch = headerEpoch({ epoch: this.options.epoch, ops: batch.ops });
    const outcome = this.send(batch.seq, bytes, nonce, this.lookAheadSlots()).then((answer) => {
      flight.settled = true;
      this.queueLanding();
      return answer;
    });
    const flight: Flight = { batch, entries, bytes, position: { fsId: parent.fsId, seq: batch.seq, hash, epoch }, started, settled: false, changes: undefined, outcome };
    this.flights.push(flight);
    this.flightsInIndex++;
    this.stats.mostRecordsInFlight = Math.max(this.stats.mostRecordsInFlight, this.flights.length);
  }

  /**
   * How many slots to read beside the PUT of a record at the tip (`othersMetMs`): none for an
   * exclusive writer, one that has seen the log's end since its work began, or one that has not
   * met another writer at work lately.
   */
  private lookAheadSlots(): number {
    if (!this.shared || !this.viewMayLag || this.flights.length > 0) return 0;
    if (this.options.now() - this.othersSeenAt > othersMetMs) return 0;
    return Math.min(maxLookAheadSlots, this.lastMissed + 1);
  }

  /** PUTs a record create-only and learns what became of it; never rejects. `lookAhead`: slots read from `seq` on meanwhile. */
  private async send(seq: number, bytes: Uint8Array, nonce: string, lookAhead = 0): Promise<FlightOutcome> {
    // A read that fails only loses the look-ahead: the slot is read again below.
    const reading = lookAhead === 0 ? undefined : Promise.all(Array.from({ length: lookAhead }, (_, index) => this.log.readRecord(seq + index))).catch(() => undefined);
    try {
      await this.log.writeRecord(seq, bytes);
      if (lookAhead > 0) this.lastMissed = Math.max(1, this.lastMissed - 1); // it lagged less than feared
      return { kind: "landed" };
    } catch (error) {
      if (!(error instanceof PreconditionFailedError)) return { kind: "failed", error };
    }
    const found = await reading;
    const first = found?.[0];
    if (found !== undefined && first !== undefined && first.header.nonce !== nonce) {
      // The slot was read after the winner's record landed: so were the ones after it, in order.
      const end = found.indexOf(undefined);
      const ahead = (end === -1 ? found.slice(1) : found.slice(1, end)) as DecodedRecord[];
      return { kind: "taken", record: first, ahead, endSeen: end !== -1 };
    }
    let unreadable: unknown;
    const taken = await this.log.readRecord(seq).catch((error: unknown) => void (unreadable = error));
    // A newer version's record stands in our slot: say so, rather than "unknown outcome".
    if (unreadable instanceof UnsupportedFormatError) return { kind: "failed", error: unreadable };
    if (taken === undefined) {
      // Told the slot is taken, yet it reads empty (a spurious 412, or it cannot be read): unknown.
      return { kind: "failed", error: new FsError("EIO", "write", { detail: `the commit slot ${walKey(seq)} answered "taken" but could not be read back; nothing was acknowledged` }) };
    }
    return taken.header.nonce === nonce ? { kind: "landed" } : { kind: "taken", record: taken };
  }

  /** Takes in the records whose answer has come, on the mutex (as soon as it is free). */
  private queueLanding(): void {
    if (this.landingQueued) return;
    this.landingQueued = true;
    void this.mutex.run(async () => {
      this.landingQueued = false;
      await this.landSettled();
    });
  }

  /** Takes in the records in flight whose answer has come, oldest first. Holds the mutex. */
  private async landSettled(): Promise<void> {
    while (this.flights[0]?.settled === true) {
      await this.landOldest();
      // The callers just resolved run before the next record is taken in: one that reads the
      // mount's position after its write (stats().seq) finds its own record's seq, as it would
      // without records in flight, and one that writes again joins the next batch.
      if (this.flights[0]?.settled === true) await new Promise((resolve) => setImmediate(resolve));
    }
  }

  /** Takes in every record in flight, waiting for their answers. Holds the mutex. */
  private async landAll(): Promise<void> {
    while (this.flights.length > 0) await this.landOldest();
  }

  /**
   * Waits for the oldest record in flight and takes it in: landed, its batch becomes the
   * committed view and its callers resolve; otherwise every record after it is void or unknown
   * too (recoverFlights). Holds the mutex; never throws (each caller hears of its own error).
   */
  private async landOldest(): Promise<void> {
    const flight = this.flights[0];
    if (flight === undefined) return;
    const outcome = await flight.outcome;
    if (this.namespace.sealed < this.flightsInIndex) return this.flightsWithoutIndex(new FsError("EIO", "write", { detail: "the local index lost the batches of the records in flight" }));
    if (outcome.kind !== "landed") return this.recoverFlights(outcome);
    this.flights.shift();
    const { batch, bytes } = flight;
    try {
      await this.checkSlotNotCollected(batch.seq);
    } catch (error) {
      this.flights.unshift(flight);
      return this.flightsWithoutIndex(error);
    }
    this.noteCollect(batch.seq, batch.ops);
    for (const op of batch.ops) for (const extent of extentsBroughtIn(op, batch.recordKey)) this.uploadsBegan.delete(extent.object);
    try {
      // On a full disk the index's reserve makes room to do the batch again (it was validated,
      // and the rollback restored the state it was done on).
      const sizes = recordSizesMeta(this.namespace.pending, this.position.seq, [{ seq: batch.seq, bytes: bytes.byteLength }], this.head.snapshotSeq);
      const meta = { ...positionMeta(flight.position), ...sizes };
      if (this.flightsInIndex > 0) {
        // The batches after it are undone (SQLite commits a transaction whole): they are done
        // again, statement for statement, only when the next batch opens on top of them
        // (resealFlights), so records landing one after another cost no work for the others.
        const undone = this.namespace.commitOldestSealed(meta);
        this.flightsInIndex = 0;
        undone.forEach((changes, index) => {
          const later = this.flights[index];
          if (later !== undefined) later.changes = changes;
        });
      } else {
        this.namespace.commitChanges([flight.changes!], meta);
      }
    } catch (error) {
      // The record is durable but the index could not take it in: the index stays where it was,
      // and the next batch applies the record (and any after it that landed) from the log.
      this.flights.unshift(flight);
      return this.flightsWithoutIndex(notIndexed(batch.recordKey, error));
    }
    this.position = flight.position;
    this.confirmView();
    if (this.pipelineCooldown > 0) this.pipelineCooldown--;
    this.settleLanded(flight);
  }

  /**
   * Applies again, sealing each, the batches of the records in flight that taking a landed
   * record in undid, before a new batch opens on top of them. False if the index lost them (a
   * full disk, say): then every record in flight failed its callers, and the log is read next.
   */
  private async resealFlights(): Promise<boolean> {
    if (this.namespace.sealed < this.flightsInIndex) {
      await this.flightsWithoutIndex(new FsError("EIO", "write", { detail: "the local index lost the batches of the records in flight" }));
      return false;
    }
    while (this.flightsInIndex < this.flights.length) {
      const flight = this.flights[this.flightsInIndex]!;
      try {
        // Statement for statement as it was first done, on the same rows: not validated again.
        this.namespace.reseal(flight.changes!);
      } catch (error) {
        await this.flightsWithoutIndex(error);
        return false;
      }
      flight.changes = undefined;
      this.flightsInIndex++;
    }
    return true;
  }

  /** A record taken in: counted, cached, told to the head, and its callers resolved. */
  private settleLanded(flight: Flight): void {
    const elapsed = performance.now() - flight.started;
    this.stats.commits++;
    this.stats.operations += flight.entries.length;
    this.stats.commitMilliseconds += elapsed;
    this.stats.lastCommitMilliseconds = elapsed;
    // Keep what we just wrote: reading it back must not cost a request.
    this.track(Promise.all(flight.batch.written(flight.bytes).map((segment) => this.cache.insert(segment.object, segment.offset, segment.bytes))));
    this.head.recorded(flight.batch.seq, flight.bytes.byteLength, flight.batch.ops.every((op) => op.op === "epoch"));
    for (const entry of flight.entries) entry.resolve();
  }

  /**
   * The oldest record in flight did not land. Unknown outcome: it and every record after it
   * (which may have landed, and is part of the log exactly if it did) fail with EIO, and the next
   * batch reads the log first (C6). Taken by another writer's record: every record of ours after
   * it is void wherever it landed (I7), so each batch is validated again on the log as it now
   * stands and published in turn, its operations standing or falling alone, as queued writes do
   * after any lost slot (C5).
   */
  private async recoverFlights(first: Exclude<FlightOutcome, { kind: "landed" }>): Promise<void> {
    const flights = this.flights.splice(0);
    this.flightsInIndex = 0;
    await Promise.all(flights.map((flight) => flight.outcome));
    this.namespace.rollbackAll();
    if (first.kind === "failed") {
      this.needsResync = true;
      this.stats.failedCommits += flights.length;
      const oldest = flights[0]?.batch.seq ?? 0;
      flights.forEach((flight, index) => {
        const error =
          index === 0
            ? first.error
            : new FsError("EIO", "write", {
                detail: `the commit record ${walKey(flight.batch.seq)} followed ${walKey(oldest)}, whose outcome is unknown: it is part of the log exactly if that one landed; nothing was acknowledged`,
                cause: first.error,
              });
        for (const entry of flight.entries) entry.reject(error);
      });
      return;
    }
    if (flights.length > 1) this.pipelineCooldown = pipelineCooldownRecords;
    // The oldest goes on as any batch that lost its slot: the winner's record is applied, and the
    // batch validated again for the next slot.
    const [oldest, ...later] = flights;
    if (oldest !== undefined) await this.publishFlight(oldest, first);
    for (const flight of later) await this.publishFlight(flight);
  }

  /**
   * Publishes the batch of a record in flight that did not make the log, through the ordinary
   * path: after `lostTo` (the record that took its slot), or, for one that followed it, after
   * reading the log to its end (its own slot holds its void record, or another writer's).
   */
  private async publishFlight(flight: Flight, lostTo?: TakenSlot): Promise<void> {
    let batch = flight.batch;
    if (lostTo === undefined) {
      try {
        const slipped = await this.resync();
        batch = this.revalidate(flight.batch, flight.entries, this.shared ? slipped : undefined, false);
      } catch (error) {
        this.needsResync = true;
        this.stats.failedCommits++;
        for (const entry of flight.entries) entry.reject(error);
        return;
      }
      if (batch.empty) {
        this.namespace.rollbackBatch();
        return;
      }
    }
    try {
      await this.publish(batch, flight.entries, undefined, lostTo);
      for (const entry of flight.entries) entry.resolve();
    } catch (error) {
      for (const entry of flight.entries) entry.reject(error);
    }
  }

  /**
   * The local index lost the batches of the records in flight (SQLite failed: a full disk, say),
   * or could not take one in. Each record is durable or not whatever the index says, so each
   * caller hears of the failure, and the next batch reads the log first and applies what landed.
   */
  private async flightsWithoutIndex(error: unknown): Promise<void> {
    const flights = this.flights.splice(0);
    this.flightsInIndex = 0;
    this.namespace.rollbackAll();
    this.needsResync = true;
    for (const flight of flights) {
      await flight.outcome;
      this.stats.failedCommits++;
      for (const entry of flight.entries) entry.reject(error);
    }
  }

  private applyOne(batch: Batch, prepare: PreparedOp): void {
    const mark = batch.mark();
    try {
      this.namespace.step(() => {
        const op = prepare(batch);
        this.applier.apply(op, batch.recordKey);
        batch.ops.push(op);
      });
    } catch (error) {
      batch.rewind(mark);
      throw error;
    }
  }

  /**
   * Each batch's time is later than the last one's, even within one millisecond, so a file
   * changed by two commits never shows the same mtime twice (Mastra's expectedMtime relies on it).
   */
  private newBatch(): Batch {
    this.lastTime = Math.max(this.options.now(), this.lastTime + 1);
    return new Batch(
      this.tip.seq + 1,
      this.options.epoch,
      this.lastTime,
      this.store,
      this.options.layout,
      (key, bytes) => {
        const inserted = this.cache.insert(key, 0, bytes);
        this.track(inserted);
        return inserted.then(
          () => {},
          () => {},
        );
      },
      (key) => this.uploading(key),
    );
  }

  /** Before validating a new batch: stop if fenced, and re-read the log after an unknown outcome. */
  private async beforeBatch(): Promise<void> {
    if (this.fencedBy !== undefined) throw this.fencedBy;
    if (!this.needsResync) return;
    await this.resync();
  }

  /** Reads the log to its end and applies what others published; returns those records. */
  private async resync(): Promise<DecodedRecord[]> {
    if (this.fencedBy !== undefined) throw this.fencedBy;
    const { position, records, voided, laneRecords } = await catchUp(this.log, this.namespace, this.applier, this.position, this.cache, { snapshot: this.head.snapshotSeq });
    this.checkForeign(records);
    this.inherit(records, voided);
    this.meetInLanes(laneRecords);
    this.position = position;
    this.confirmView();
    this.needsResync = false;
    return [...records, ...laneRecords.map(({ record }) => record)];
  }

  /** Other writers' records in lanes are others at work too (the catch-up's pace follows them). */
  private meetInLanes(laneRecords: readonly { record: DecodedRecord }[]): void {
    const others = laneRecords.map(({ record }) => record.header).filter((header) => header.writer !== this.options.writerId);
    if (others.length > 0) this.meetOthers(others);
  }

  /** Notes the top-level directories other writers' records touched, on this writer's clock (laneWanted). */
  private noteOthersDirectories(headers: readonly { writer: string; ops?: readonly Op[] }[]): void {
    const now = this.options.now();
    for (const header of headers) {
      if (header.writer === this.options.writerId) continue;
      this.othersTakenInAt = now;
      for (const op of header.ops ?? []) {
        for (const path of pathsOf(op)) {
          const top = /^\/[^/]+/.exec(path)?.[0];
          if (top !== undefined) this.othersDirectories.set(top, now);
        }
      }
    }
    if (this.othersDirectories.size > 4_096) {
      for (const [directory, at] of this.othersDirectories) if (now - at > othersActiveMs) this.othersDirectories.delete(directory);
    }
  }

  /**
   * A pipelined record never goes out beside an open lane: one that touched a lane's directory
   * must close the lane first (publishOpenBatch), and commitQueued routes every batch there then.
   */
  private checkNoLanes(): void {
    if (lanesOf(this.namespace.pending).size > 0) throw new Error("a batch was to be pipelined beside an open lane");
  }

  /** The log's end was just seen (catching up stops at an empty slot) or written. */
  private confirmView(): void {
    this.viewMayLag = false;
    // Fresh for the rest of this turn: a caller its landing resolved, writing again at once (an
    // awaited write after another), does not read ahead for a lag it cannot have.
    this.viewFresh = true;
    const confirmation = ++this.confirmations;
    setImmediate(() => {
      if (this.confirmations === confirmation) this.viewFresh = false;
    });
    this.viewConfirmed = { monotonic: performance.now(), wall: this.options.now() };
  }

  /**
   * A shared writer whose view was old when its record landed: was the slot it won one garbage
   * collection emptied (the head announced a `retainedFrom` above it before anything was
   * deleted)? Then no reader will ever read the record: the writer stops for good (EFENCED, the
   * batch unacknowledged), and must be mounted again.
   */
  private async checkSlotNotCollected(seq: number): Promise<void> {
    if (!this.shared) return;
    const age = Math.max(performance.now() - this.viewConfirmed.monotonic, this.options.now() - this.viewConfirmed.wall);
    if (age < staleViewMs) return;
    let head: Awaited<ReturnType<RemoteLog["readHead"]>>;
    try {
      head = await this.log.readHead();
    } catch (error) {
      this.needsResync = true; // the record stands; whether anyone reads it is unknown, as after any unknown outcome
      this.stats.failedCommits++;
      throw error;
    }
    const retainedFrom = head !== undefined && head.head.fsId === this.position.fsId ? (head.head.retainedFrom ?? 0) : 0;
    if (retainedFrom < seq) return;
    this.needsResync = true;
    this.stats.failedCommits++;
    throw this.fence(undefined, "write", `this writer's view of the log (seq ${this.position.seq}) is older than what garbage collection kept (from seq ${retainedFrom}): its record ${walKey(seq)} took a slot that had been collected, and no reader will read it; nothing was acknowledged, mount again`);
  }

  /**
   * Records of earlier writers this writer applied: they count towards the snapshot cadence, and
   * so do the void records read with them (log bytes a cold mount reads all the same).
   */
  private inherit(records: readonly DecodedRecord[], voided: readonly DecodedRecord[] = []): void {
    for (const record of records) this.noteCollect(record.header.seq, record.header.ops);
    this.meetOthers(records.map(({ header }) => header));
    const all = voided.length === 0 ? records : [...records, ...voided].sort((a, b) => a.header.seq - b.header.seq);
    this.head.inherited(all.map((record) => ({ seq: record.header.seq, bytes: record.bytes.byteLength })));
  }

  /**
   * Notes the other writers' records among `records` (taken in now, or read as the mount started, by their headers):
   * when they wrote last (lookAheadSlots) and how often (catchUpPause).
   */
  meetOthers(records: readonly (Pick<RecordHeader, "writer" | "time"> & { ops?: readonly Op[] })[]): void {
    this.noteOthersDirectories(records);
    let others = false;
    for (const { writer, time } of records) {
      if (writer === this.options.writerId) continue;
      this.othersSeenAt = Math.max(this.othersSeenAt, time);
      if (this.catchingUp) {
        this.othersTimes.push(Math.min(time, this.options.now()));
        others = true;
      }
    }
    if (others) {
      if (this.othersTimes.length > 4_096) this.othersTimes.splice(0, this.othersTimes.length - 4_096);
      this.armCatchUp();
    }
  }

  /**
   * Any record of a newer epoch fences this writer; so does, for an exclusive writer, one of
   * another writer of its epoch (a shared writer shares its epoch with the other shared writers).
   */
  private checkForeign(records: DecodedRecord[]): void {
    for (const record of records) {
      const epoch = recordEpoch(record);
      const sameEpochOther = record.header.epoch === this.options.epoch && record.header.writer !== this.options.writerId;
      if (epoch > this.options.epoch || (sameEpochOther && !this.shared)) {
        throw this.fence(epoch);
      }
    }
  }

  /**
   * Publishes the open batch as the record at its seq. `entries` are the queued callers whose ops
   * the batch holds (undefined for a transaction): on re-validation after an older writer's
   * record, a queued op that no longer applies fails alone; a transaction fails whole.
   */
  private async publish(initial: Batch, entries: Queued[] | undefined, reads?: ReadSet, lostTo?: TakenSlot): Promise<void> {
    try {
      await this.publishOpenBatch(initial, entries, reads, lostTo);
    } catch (error) {
      // Whatever failed (the record's encoding, the clock, the store), no batch stays open: the
      // next write must find the index free, not "a batch is already open".
      this.namespace.rollbackBatch();
      throw error;
    }
  }

  /**
   * `lostTo`: the batch's record already lost its slot to this record (it was in flight,
   * recoverFlights): the batch is not open in the index, and publishing starts by applying the
   * winner's record, as after any lost slot.
   */
  private async publishOpenBatch(initial: Batch, entries: Queued[] | undefined, reads: ReadSet | undefined, lostTo?: TakenSlot): Promise<void> {
    let batch = initial;
    let attempts = 0;
    const started = performance.now();
    try {
      if (lostTo === undefined) this.namespace.assertBatchIntact(); // a batch SQLite lost (a full disk) is never published
      await batch.finish();
    } catch (error) {
      this.stats.failedCommits++;
      throw error;
    }
    for (let lost = lostTo; ; lost = undefined) {
      let taken: TakenSlot | undefined = lost;
      let bytes: Uint8Array = new Uint8Array(0);
      let hash = "";
      if (lost === undefined) {
        try {
          this.namespace.assertBatchIntact();
        } catch (error) {
          this.stats.failedCommits++;
          throw error;
        }
        if (this.lastCollectSeq > 0 && (await this.reuploadFenced(batch, reads !== undefined))) {
          // Its operations now name the new copies: validated again, on the same state.
          this.namespace.rollbackBatch();
          batch = this.revalidate(batch, entries, undefined, reads !== undefined);
          if (batch.empty) {
            this.namespace.rollbackBatch();
            return;
          }
          continue;
        }
        // Lanes the record touches are closed in it, each ended first (its close marker): the
        // records read meanwhile slipped in below it, as another writer's record in our slot does.
        const lanes = lanesOf(this.namespace.pending);
        const touched = this.lanesToClose(batch, lanes, reads);
        const toEnd = touched.filter((id) => lanes.get(id)!.ended !== true);
        if (toEnd.length > 0) {
          this.namespace.rollbackBatch();
          let slipped: DecodedRecord[];
          try {
            slipped = await this.endLanes(toEnd);
          } catch (error) {
            this.needsResync = true;
            this.stats.failedCommits++;
            throw error;
          }
          const again = await this.afterSlipped(batch, entries, reads, slipped, slipped);
          if (again === undefined) return;
          batch = again;
          continue;
        }
        const closes: Op[] = touched.map((id) => {
          const lane = lanes.get(id)!;
          return { op: "laneClose", lane: id, path: lane.path, seq: lane.position.seq, hash: lane.position.hash, time: batch.time };
        });
        const opening = batch.opensLane !== undefined && this.mayOpenLane(batch.opensLane, lanes) ? [{ op: "laneOpen" as const, path: batch.opensLane, owner: this.options.writerId, time: batch.time }] : [];
        const staying = [...lanes].filter(([id]) => !touched.includes(id));
        batch.published = [...closes, ...batch.ops, ...opening];
        if (batch.published.length === 0) {
          this.namespace.rollbackBatch();
          return;
        }
        const nonce = randomUUID();
        ({ bytes, hash } = encodeRecord(batch.inlineData, {
          format: recordFormat,
          fsId: this.position.fsId,
          seq: batch.seq,
          parent: this.position.seq,
          parentHash: this.position.hash,
          epoch: this.options.epoch,
          writer: this.options.writerId,
          nonce,
          time: batch.time,
          ops: batch.published,
          ...(staying.length === 0 ? {} : { lanes: Object.fromEntries(staying.map(([id, lane]) => [String(id), lane.position.seq])) }),
        }));
        const outcome = await this.send(batch.seq, bytes, nonce, this.lookAheadSlots());
        if (outcome.kind === "failed") {
          this.needsResync = true;
          this.stats.failedCommits++;
          throw outcome.error;
        }
        if (outcome.kind === "taken") taken = outcome;
      }
      if (taken === undefined) {
        await this.checkSlotNotCollected(batch.seq);
        this.committed(batch, bytes, hash, started, entries?.length ?? batch.ops.length);
        // The winner goes straight on to its next batch. Making it wait about a round trip
        // after a win within a few slots of another writer's record (so those that lost the slot,
        // a GET behind, have their turn) was measured with eight writer processes: the most
        // slots one write lost fell (61 and 35 to 27 and 28) but records per second fell by a
        // third and slots lost per record more than doubled, as the losers then raced each other.
        return;
      }
      // Another writer's record stands in our slot.
      this.namespace.rollbackBatch();
      attempts++;
      this.stats.lostSlots++;
      if (this.shared && attempts >= maxSlotAttempts) {
        this.needsResync = true;
        this.stats.failedCommits++;
        throw new FsError("EAGAIN", "write", {
          detail: `the commit lost its log slot to other writers ${attempts} times in a row (last ${walKey(batch.seq)}); nothing was published`,
        });
      }
      // No pause before the first retry: reading the winner's record has already spread the
      // writers that collided by a round trip. From the second loss in a row, a jittered pause of
      // its own, so writers that keep colliding do not collide again at once.
      if (this.shared && attempts > 1) await backoff(attempts - 1);
      let position: LogPosition;
      let slipped: DecodedRecord[];
      try {
        // The winner's record alone (the next slot is probed by the PUT itself), or, past
        // `slotsTriedAtOnce` losses in a row, everything after it up to the log's end. What was
        // read beside the PUT (`lookAheadSlots`) is taken in whole, and read on from if it found
        // no empty slot: this writer lagged, and the log's end is further on.
        const readAhead = !this.shared || attempts > slotsTriedAtOnce || taken.ahead !== undefined;
        const caught = await catchUp(this.log, this.namespace, this.applier, this.position, this.cache, {
          first: taken.record,
          read: taken.ahead ?? [],
          endSeen: taken.endSeen === true,
          maxRecords: readAhead ? undefined : 1,
          snapshot: this.head.snapshotSeq,
        });
        if (taken.ahead !== undefined) this.lastMissed = Math.min(maxLookAheadSlots - 1, caught.records.length);
        this.checkForeign(caught.records);
        const metBefore = this.options.now() - this.othersSeenAt <= othersMetMs;
        this.inherit(caught.records, caught.voided);
        this.meetInLanes(caught.laneRecords);
        position = caught.position;
        slipped = [...caught.records, ...caught.laneRecords.map(({ record }) => record)];
        this.confirmView();
        // A writer that meets others by losing this slot (it had met no one lately) may lag them
        // by more than the winner's record: its next PUT reads beside it, as one does after a
        // pause (lookAheadSlots), instead of losing a slot for each record it missed.
        if (!readAhead && !metBefore && this.options.now() - this.othersSeenAt <= othersMetMs) this.viewMayLag = true;
      } catch (error) {
        this.needsResync = true;
        this.stats.failedCommits++;
        throw error;
      }
      this.position = position;
      const again = await this.afterSlipped(batch, entries, reads, slipped, this.shared ? slipped : undefined);
      if (again === undefined) return;
      batch = again;
      // Queued writes that lost the slot may ask for a lane of their own now that this writer met
      // others at work: the next ones then meet no other writer (laneWanted, src/commit/lanes.ts).
      if (entries !== undefined && batch.opensLane === undefined) batch.opensLane = this.laneWanted(batch);
    }
  }

  /**
   * After records slipped in below a batch (another writer's in our slot, or those read while
   * ending lanes): a transaction that saw what they touched runs again (TransactionConflict),
   * else the batch's operations are validated again on the new state (`revalidate`, which takes
   * `later` for the times). Returns the batch to publish, or undefined when nothing is left to
   * (no batch is open then).
   */
  private async afterSlipped(batch: Batch, entries: Queued[] | undefined, reads: ReadSet | undefined, slipped: readonly DecodedRecord[], later: readonly DecodedRecord[] | undefined): Promise<Batch | undefined> {
    if (reads !== undefined) {
      // Symbolic and hard links let one path reach what another names: then every foreign operation counts.
      const aliases = this.namespace.committed.counts().symlinks > 0 || this.namespace.committed.hasHardLinks();
      const path = reads.conflict(slipped, batch.ops, aliases);
      if (path !== undefined) {
        await batch.settle();
        this.needsResync = true; // the body runs again from the log's end, not from what was read alone
        throw new TransactionConflict(path);
      }
    }
    let again: Batch;
    try {
      again = this.revalidate(batch, entries, later, reads !== undefined);
    } catch (error) {
      if (error instanceof TransactionConflict) this.needsResync = true;
      throw error;
    }
    if (this.nothingToPublish(again)) {
      this.namespace.rollbackBatch();
      return undefined;
    }
    return again;
  }

  /** Whether a batch has nothing left to publish: no operation, and no lane still open to close. */
  private nothingToPublish(batch: Batch): boolean {
    if (!batch.empty) return false;
    const lanes = lanesOf(this.namespace.pending);
    return !batch.closesLanes.some((id) => lanes.has(id));
  }

  /**
   * The open lanes a main-log record of `batch` must close: those its operations touch (all, for
   * an operation no path bounds), those a serializable transaction read in (its reads are then
   * checked against the lane's records up to the close), and those `closesLanes` names.
   */
  private lanesToClose(batch: Batch, lanes: Lanes, reads: ReadSet | undefined): number[] {
    if (lanes.size === 0) return [];
    const touched = new Set([...lanesTouched(lanes, batch.ops), ...batch.closesLanes.filter((id) => lanes.has(id))]);
    for (const path of reads?.seen() ?? []) {
      const holding = laneHolding(lanes, path);
      if (holding !== undefined) touched.add(holding[0]);
    }
    return [...touched];
  }

  /**
   * The top-level directory a lane would take `batch`'s writes to, when asking for one is worth it:
   * other writers are at work (this writer took in a record of theirs in the last
   * `othersActiveMs`), so its records would meet theirs on the log; this writer owns no lane; the
   * writes all fit one directory that no lane holds; and none of those writers' records touched it
   * lately (they meet on its files, where a lane would only move the meeting).
   */
  private laneWanted(batch: Batch): string | undefined {
    const now = this.options.now();
    if (!this.shared || this.closing || this.options.lanes === false || now - this.othersTakenInAt > othersActiveMs) return undefined;
    const lanes = lanesOf(this.namespace.pending);
    if (this.ownLane(lanes) !== undefined) return undefined;
    const directory = laneDirectoryOf(batch.ops);
    if (directory === undefined || laneHolding(lanes, directory) !== undefined) return undefined;
    const touched = this.othersDirectories.get(directory);
    return touched !== undefined && now - touched <= othersActiveMs ? undefined : directory;
  }

  /**
   * Whether this writer may open a lane for `directory` in the record it publishes now: it still
   * owns none, no lane holds the directory, it is a directory (not a link) once the record's
   * operations are applied, and the filesystem holds no symbolic or hard link (through one, a
   * lane's operation could reach outside its directory).
   */
  private mayOpenLane(directory: string, lanes: Lanes): boolean {
    if (this.ownLane(lanes) !== undefined || laneHolding(lanes, directory) !== undefined) return false;
    const found = this.namespace.pending.lookup(directory, false, "laneOpen");
    if ("missing" in found || found.node.kind !== "directory") return false;
    return this.namespace.pending.counts().symlinks === 0 && !this.namespace.pending.hasHardLinks();
  }

  /**
   * Re-applies a batch's operations on top of records that slipped in before it. A shared writer
   * passes those records: the batch takes a time later than theirs (a file two writers change never
   * shows an older mtime after a newer one), and, for a transaction (`conflicts`), an operation that
   * no longer applies is a conflict (the body would have seen that error), not the end of it.
   */
  private revalidate(old: Batch, entries: Queued[] | undefined, slipped: readonly DecodedRecord[] | undefined, conflicts = false): Batch {
    let time: number | undefined;
    if (slipped !== undefined) {
      const latest = slipped.reduce((highest, record) => Math.max(highest, record.header.time), 0);
      time = this.lastTime = Math.max(this.options.now(), this.lastTime + 1, latest + 1);
    }
    const batch = old.rebase(this.tip.seq + 1, time);
    this.namespace.beginBatch(entries !== undefined); // queued writes may go in flight (launch): sealable
    const ops = old.ops.splice(0).map((op) => (time === undefined ? op : { ...op, time }));
    if (entries === undefined) {
      for (const op of ops) {
        try {
          this.applyOne(batch, () => op);
        } catch (error) {
          this.namespace.rollbackBatch();
          if (conflicts && error instanceof FsError) throw new TransactionConflict(pathsOf(op)[0] ?? "/");
          throw error;
        }
      }
      return batch;
    }
    // Queued callers: each op stands or falls alone (callers without a surviving op are settled here).
    const survivors: Queued[] = [];
    ops.forEach((op, index) => {
      const entry = entries[index];
      try {
        this.applyOne(batch, () => op);
        if (entry !== undefined) survivors.push(entry);
      } catch (error) {
        entry?.reject(error);
      }
    });
    entries.splice(0, entries.length, ...survivors);
    return batch;
  }

  /** Notes a `collect` record among `ops` (published at `seq`). */
  private noteCollect(seq: number, ops: readonly Op[]): void {
    if (ops.some((op) => op.op === "collect")) this.lastCollectSeq = Math.max(this.lastCollectSeq, seq);
  }

  /**
   * Garbage collection's fence (docs/s3-layout.md GC9): every data object the batch names whose
   * upload began before this committer applied the newest `collect` record may have been deleted
   * by that collector (it was stored before the cutoff, and no record up to the fence named it).
   * Each is read back and stored again under a new key, and the operations are pointed at the
   * copies; returns whether any was. One already gone fails the batch (EAGAIN), or runs a shared
   * transaction's body again, which uploads its data afresh.
   */
  private async reuploadFenced(batch: Batch, transaction: boolean): Promise<boolean> {
    const stale = new Map<string, string>();
    for (const op of batch.ops) {
      for (const extent of extentsBroughtIn(op, batch.recordKey)) {
        if (extent.object === batch.recordKey || stale.has(extent.object)) continue;
        const began = this.uploadsBegan.get(extent.object) ?? -1; // not noted: its age is unknown
        if (began < this.lastCollectSeq) stale.set(extent.object, "path" in op ? op.path : "/");
      }
    }
    if (stale.size === 0) return false;
    const renamed = new Map<string, string>();
    for (const [object, path] of stale) {
      const fresh = object.startsWith(chunkPrefix) ? newChunkKey() : object.startsWith(packPrefix) ? newPackKey() : undefined;
      let body: Uint8Array | undefined;
      try {
        if (fresh !== undefined) body = (await this.store.get(object)).body;
      } catch (error) {
        if (!(error instanceof NotFoundError)) throw error;
      }
      if (fresh === undefined || body === undefined) {
        if (transaction && this.shared) throw new TransactionConflict(path);
        throw new FsError("EAGAIN", "write", {
          path,
          detail: `garbage collection (record ${walKey(this.lastCollectSeq)}) may have removed ${object}, uploaded for this write before the collector's cutoff and not yet published; nothing was published, write again`,
        });
      }
      this.uploading(fresh);
      await this.store.put(fresh, body, { contentType: "application/octet-stream" });
      this.track(this.cache.insert(fresh, 0, body));
      renamed.set(object, fresh);
    }
    const move = (extent: Extent): Extent => ({ ...extent, object: renamed.get(extent.object) ?? extent.object });
    batch.ops.splice(
      0,
      batch.ops.length,
      ...batch.ops.map((op): Op => {
        if (op.op === "write" || op.op === "append") return { ...op, extents: op.extents.map(move) };
        if (op.op === "relocate") return { ...op, moves: op.moves.map((entry) => ({ ...entry, toObject: renamed.get(entry.toObject) ?? entry.toObject })) };
        return op;
      }),
    );
    return true;
  }

  private committed(batch: Batch, bytes: Uint8Array, hash: string, started: number, operations: number): void {
    this.noteCollect(batch.seq, batch.ops);
    for (const op of batch.ops) for (const extent of extentsBroughtIn(op, batch.recordKey)) this.uploadsBegan.delete(extent.object);
    const epoch = headerEpoch({ epoch: this.options.epoch, ops: batch.ops });
    const position = { fsId: this.position.fsId, seq: batch.seq, hash, epoch };
    try {
      // The lanes it closed and opened (src/commit/lanes.ts), as every reader will take them.
      const laneOps = (batch.published ?? []).filter((op) => op.op === "laneOpen" || op.op === "laneClose");
      const lanes = laneOps.length === 0 ? {} : lanesMeta(lanesAfter(lanesOf(this.namespace.pending), laneOps, position));
      for (const op of laneOps) this.stats[op.op === "laneOpen" ? "lanesOpened" : "lanesClosed"]++;
      // On a full disk the index's reserve makes room to do the batch again (its operations are
      // already validated, and the rollback restored the state they were validated on).
      const sizes = recordSizesMeta(this.namespace.pending, this.position.seq, [{ seq: batch.seq, bytes: bytes.byteLength }], this.head.snapshotSeq);
      this.namespace.commitBatch({ ...positionMeta(position), ...lanes, ...sizes }, () => {
        for (const op of batch.ops) this.applier.apply(op, batch.recordKey);
      });
    } catch (error) {
      // The record is durable but the index could not take it in, even with its reserve of disk
      // space: the index stays where it was, and the next batch applies the record from the log.
      this.needsResync = true;
      this.stats.failedCommits++;
      throw notIndexed(batch.recordKey, error);
    }
    this.position = position;
    this.confirmView();
    const elapsed = performance.now() - started;
    this.stats.commits++;
    this.stats.operations += operations;
    this.stats.commitMilliseconds += elapsed;
    this.stats.lastCommitMilliseconds = elapsed;
    // Keep what we just wrote: reading it back must not cost a request.
    this.track(Promise.all(batch.written(bytes).map((segment) => this.cache.insert(segment.object, segment.offset, segment.bytes))));
    this.head.recorded(batch.seq, bytes.byteLength, batch.ops.every((op) => op.op === "epoch"));
  }

  private track(work: Promise<unknown>): void {
    const tracked = work.catch(() => {}).finally(() => this.background.delete(tracked));
    this.background.add(tracked);
  }

  /**
   * Writes the namespace at the current position as a snapshot, then points the head at it.
   * Returns the snapshot's seq (0 for an empty log: there is nothing to snapshot).
   */
  snapshot(): Promise<number> {
    return this.head.snapshot();
  }

  /** Waits for a snapshot running in the background (the cadence), if any. */
  snapshotSettled(): Promise<void> {
    return this.head.snapshotSettled();
  }

  /**
   * Garbage collection is about to remove everything below `retainedFrom`: the head stops
   * offering those seqs to time travel first. Resolves true once the head says so.
   */
  retain(retainedFrom: number): Promise<boolean> {
    return this.head.retain(retainedFrom);
  }

  /** A damaged snapshot is being removed (fsck's repair): the head stops listing it. */
  forgetSnapshot(seq: number): void {
    this.head.forgetSnapshot(seq);
  }

  /** Compare-and-swap the head to the current position; resolves whether this writer's head now stands. */
  updateHead(): Promise<boolean> {
    return this.head.update();
  }
}
