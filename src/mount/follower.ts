// A reader's way of keeping up with the writer: `refresh()` reads the head and the next log slot
// at once, applies what was published since, and starts again from the head's snapshot when the
// log it would follow was collected. A time-travel mount's follower is pinned: it never moves.

import type { LogPosition } from "../log/record.ts";
import type { RemoteLog } from "../log/remote-log.ts";
import type { Namespace } from "../namespace/namespace.ts";
import type { OpApplier } from "../namespace/apply-ops.ts";
import type { SegmentCache } from "../data/segment-cache.ts";
import { catchUp, indexNeedsRebuild } from "../commit/replay.ts";
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

export class Follower {
  private position: LogPosition;
  private headEtag: string | undefined;
  private knownSeq: number;
  private headSnapshot: number;
  private readonly pinned: boolean;
  private refreshing: Promise<{ seq: number; changed: boolean }> | undefined;
  private timer: ReturnType<typeof setInterval> | undefined;

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
    // one round trip, and a reader learns of a new commit one round trip after it lands.
    if (namespace.damaged !== undefined) await this.rebuild(); // found damaged by a read: rebuilt from the log now
    const before = this.position.seq;
    const [changedHead, next] = await Promise.all([log.readHeadIfChanged(this.headEtag), log.readRecord(before + 1)]);
    if (changedHead !== undefined && changedHead !== "unchanged" && changedHead.head.fsId === this.position.fsId) {
      this.headEtag = changedHead.etag;
      this.headSnapshot = Math.max(this.headSnapshot, changedHead.head.snapshot);
      this.knownSeq = Math.max(this.knownSeq, changedHead.head.seq);
    }
    if (next !== undefined || this.knownSeq > before) {
      // What the head announced, plus a little: a reader behind a busy writer still returns.
      try {
        this.position = (await catchUp(log, namespace, this.index.applier, this.position, this.index.cache, {
          first: next,
          knownSeq: this.knownSeq,
          maxRecords: Math.max(0, this.knownSeq - before) + 256,
          snapshot: this.headSnapshot,
        })).position;
      } catch (error) {
        if (!indexNeedsRebuild(error)) throw error;
        await this.rebuild();
      }
    }
    if (this.position.seq < this.headSnapshot) {
      // Following the log stopped short of the head's snapshot: the log after our position
      // was collected (perhaps all but a record kept for its data). Start again from the snapshot.
      await this.restartFromSnapshot();
    }
    return { seq: this.position.seq, changed: this.position.seq !== before };
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
