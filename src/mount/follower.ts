// A reader's way of keeping up with the writer: `refresh()` reads the head and the next log slot
// at once (the next two while records keep arriving), applies what was published since, and starts
// again from the head's snapshot when the log it would follow was collected. It waits for no more
// than the answer needs: not for a slot after an empty one, nor for the disk write of the inline
// data it applied (the cache serves it from memory meanwhile). A time-travel mount's
// follower is pinned: it never moves.

import type { DecodedRecord, LogPosition } from "../log/record.ts";
import type { RemoteLog } from "../log/remote-log.ts";
import type { Namespace } from "../namespace/namespace.ts";
import type { OpApplier } from "../namespace/apply-ops.ts";
import type { SegmentCache } from "../data/segment-cache.ts";
import { catchUp, indexNeedsRebuild, probeLanes } from "../commit/replay.ts";
import { CorruptObjectError, UnsupportedFormatError } from "../stores/store-errors.ts";
import { prepareIndex } from "./start.ts";

/** The index a follower keeps up to date, and where it reads the log. */
export interface FollowedIndex {
  readonly log: RemoteLog;
  readonly namespace: Namespace;
  readonly applier: OpApplier;
  readonly cache: SegmentCache;
  /** When the filesystem was created (the root's times on an index started from the log's start). */
  readonly created: number;
}

export interface FollowerStart {
  position: LogPosition;
  /** The etag of the head the mount read, if any: an unchanged head costs no body. */
  headEtag: string | undefined;
  /** The newest seq known to exist. */
  knownSeq: number;
  /** The newest snapshot the head names (0: none). */
  headSnapshot: number;
  /** A time-travel mount's follower stays where it started. */
  pinned: boolean;
}

/**
 * After a refresh that found new records, this many refreshes in a row that find nothing before a
 * refresh probes one slot again instead of two. While a writer keeps committing, the second slot
 * read with the first shows the log's end in the same round trip, so a refresh that finds one new
 * record applies it one round trip after it started, not two; once the writer has been quiet for
 * this many refreshes, an idle refresh costs two requests again.
 */
export const closeFollowingRefreshes = 8;

export class Follower {
  private position: LogPosition;
  private headEtag: string | undefined;
  private knownSeq: number;
  private headSnapshot: number;
  private readonly pinned: boolean;
  /** Refreshes in a row that found nothing new (a follower starts quiet: one slot probed). */
  private quietRefreshes = closeFollowingRefreshes;
  private refreshing: Promise<{ seq: number; changed: boolean }> | undefined;
  private timer: ReturnType<typeof setInterval> | undefined;
  /** Slot reads a refresh did not wait for (past an empty slot), still under way. */
  private readonly stragglers = new Set<Promise<unknown>>();

  constructor(
    private readonly index: FollowedIndex,
    start: FollowerStart,
  ) {
    this.position = start.position;
    this.headEtag = start.headEtag;
    this.knownSeq = start.knownSeq;
    this.headSnapshot = start.headSnapshot;
    this.pinned = start.pinned;
  }

  /** The position of the index this follower keeps. */
  get current(): LogPosition {
    return this.position;
  }

  /** Refreshes every `intervalMs` in the background (a pinned follower never does). */
  poll(intervalMs: number): void {
    if (this.pinned || this.timer !== undefined) return;
    this.timer = setInterval(() => void this.refresh().catch(() => {}), intervalMs);
    this.timer.unref?.();
  }

  /** Stops polling and waits for a refresh under way. */
  async stop(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    await this.refreshing?.catch(() => {});
    await Promise.all(this.stragglers);
  }

  /**
   * Catches up with the log; returns the seq reached and whether anything changed. One refresh
   * runs at a time. Store errors leave as they are: the facade's refresh maps them.
   */
  refresh(): Promise<{ seq: number; changed: boolean }> {
    if (this.pinned) return Promise.resolve({ seq: this.position.seq, changed: false }); // time travel stays where it is
    this.refreshing ??= this.followLog().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  private async followLog(): Promise<{ seq: number; changed: boolean }> {
    const { log, namespace } = this.index;
    // The head and the next log slot are read at once: an idle refresh is two requests in
    // one round trip. While records keep arriving the slot after it is read too, so a refresh
    // that finds one new record also finds the empty slot that ends the log, in the same round
    // trip. The head is read every time: an empty slot is the log's end only if the head, read
    // with it, does not say it was collected (a newer snapshot; M8) or filled meanwhile (its seq).
    if (namespace.damaged !== undefined) await this.rebuild(); // found damaged by a read: rebuilt from the log now
    const before = this.position.seq;
    const probed = this.quietRefreshes < closeFollowingRefreshes ? 2 : 1;
    const headRead = log.readHeadIfChanged(this.headEtag);
    const slots = Array.from({ length: probed }, (_, index) => log.readRecord(before + 1 + index));
    // Open lanes' next slots too, in the same round trip (docs/s3-layout.md LN7).
    const laneProbes = probeLanes(log, namespace);
    const window = await this.slotsUntilEmpty(headRead, slots);
    const changedHead = await headRead;
    if (changedHead !== undefined && changedHead !== "unchanged" && changedHead.head.fsId === this.position.fsId) {
      this.headEtag = changedHead.etag;
      this.headSnapshot = Math.max(this.headSnapshot, changedHead.head.snapshot);
      this.knownSeq = Math.max(this.knownSeq, changedHead.head.seq);
    }
    // The records found, up to the first empty slot (a record after a gap is one collection kept
    // for its inline data: the log went on without it, and the head's snapshot says where).
    const empty = window.findIndex((record) => record === undefined);
    const found = (empty === -1 ? window : window.slice(0, empty)) as DecodedRecord[];
    let lanesMoved = false;
    // Open lanes are read at every refresh (catchUp reads them beside whatever the main log needs).
    if (found.length > 0 || this.knownSeq > before || laneProbes.size > 0) {
      // What the head announced, plus a little: a reader behind a busy writer still returns.
      try {
        const caught = await catchUp(log, namespace, this.index.applier, this.position, this.index.cache, {
          read: found,
          endSeen: empty !== -1,
          knownSeq: this.knownSeq,
          maxRecords: Math.max(0, this.knownSeq - before) + 256,
          snapshot: this.headSnapshot,
          laneProbes,
        });
        this.position = caught.position;
        lanesMoved = caught.laneRecords.length > 0;
      } catch (error) {
        // Behind the head's snapshot, a record missing under us (a lane's, say, whose closing is
        // still there) was collected: the snapshot below says where to start again (M8).
        if (this.position.seq < this.headSnapshot && error instanceof CorruptObjectError && !(error instanceof UnsupportedFormatError)) {
          // restarted below
        } else if (!indexNeedsRebuild(error)) throw error;
        else await this.rebuild();
      }
    }
    if (this.position.seq < this.headSnapshot) {
      // Following the log stopped short of the head's snapshot: the log after our position
      // was collected (perhaps all but a record kept for its data). Start again from the snapshot.
      await this.restartFromSnapshot();
    }
    const changed = this.position.seq !== before || lanesMoved;
    this.quietRefreshes = changed ? 0 : Math.min(this.quietRefreshes + 1, closeFollowingRefreshes);
    return { seq: this.position.seq, changed };
  }

  /**
   * The probed slots' records, in order, up to and including the first empty slot: a slot after an
   * empty one is not waited for (whatever it holds, the refresh does not use it: a record after a
   * gap was published after the probe, or kept by a collection the head will tell of), so a
   * refresh that finds nothing resolves with the head and the next slot, not the slowest of three.
   * A read not waited for (that slot's, or all left when a slot's read fails) finishes in the
   * background, its error too; `stop()` waits for it. Every read has a handler from the start, so
   * one that fails while another is awaited is no unhandled rejection; it is thrown when awaited.
   */
  private async slotsUntilEmpty(head: Promise<unknown>, slots: Promise<DecodedRecord | undefined>[]): Promise<(DecodedRecord | undefined)[]> {
    for (const read of [head, ...slots]) read.catch(() => {});
    const window: (DecodedRecord | undefined)[] = [];
    let awaited = 0;
    try {
      while (awaited < slots.length) {
        const record = await slots[awaited++]!;
        window.push(record);
        if (record === undefined) break;
      }
    } catch (error) {
      this.track(head);
      throw error;
    } finally {
      for (const straggler of slots.slice(awaited)) this.track(straggler);
    }
    return window;
  }

  /** A read this follower no longer waits for, until it settles. */
  private track(read: Promise<unknown>): void {
    const settled: Promise<unknown> = read.then(
      () => this.stragglers.delete(settled),
      () => this.stragglers.delete(settled),
    );
    this.stragglers.add(settled);
  }

  /** An index found damaged (or disagreeing with the log) is replaced and filled again from the newest snapshot and the log. */
  private async rebuild(): Promise<void> {
    this.index.namespace.recreate();
    await this.restartFromSnapshot();
  }

  /** Loads the head's snapshot into the index (or empties it, if none) and follows the log from there. */
  private async restartFromSnapshot(): Promise<void> {
    const { log, namespace, applier, cache, created } = this.index;
    this.position = await prepareIndex(namespace, log, this.position.fsId, this.headSnapshot, true, created, "replay");
    this.position = (await catchUp(log, namespace, applier, this.position, cache, { snapshot: this.headSnapshot })).position;
  }
}
