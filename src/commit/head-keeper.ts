// The writer's head and snapshots, off the commit's critical path.
//
// Cadence: a snapshot is due once the log a cold mount must replay from the newest snapshot holds
// `snapshotEveryCommits` records or `snapshotEveryBytes` bytes, counting the records earlier
// writers left above it as well as this writer's own: a writer that takes over a long tail
// snapshots on the same rule as if it had written the tail itself.
//
// The head (heads/main.json) is a hint for cold mounts: the newest seq, the newest snapshot, the
// snapshots kept for time travel and the oldest seq kept. It is written by compare-and-swap a
// moment after a commit (or at once after a snapshot); a head of a newer epoch fences this writer,
// and another writer's snapshot list is merged into ours.

import { randomUUID } from "node:crypto";
import { FsError, type FencedError } from "../base/errors.ts";
import { recordFormat, type LogPosition } from "../log/record.ts";
import { DamagedHeadError, type HeadDocument, type RemoteLog } from "../log/remote-log.ts";
import type { NamespaceView } from "../namespace/namespace.ts";
import { encodeSnapshot } from "../namespace/snapshot.ts";
import { PreconditionFailedError } from "../stores/store-errors.ts";
import type { LogRecordSize } from "./record-sizes.ts";
import { lanesOf } from "./lanes.ts";

/** The head lists at most this many snapshots for time travel (the newest ones). */
const maxListedSnapshots = 1_000;

export interface HeadKeeperOptions {
  writerId: string;
  epoch: number;
  /** Write a snapshot after this many records of log (default 1,000)... */
  snapshotEveryCommits: number;
  /** ...or this many bytes of it (default 64 MiB). */
  snapshotEveryBytes: number;
  /** How long after a commit the head is brought up to date (default 1,000 ms). */
  headDelayMs: number;
  /** Wall clock, ms (the head's `updated`; a batch's time). */
  now: () => number;
}

/** What the keeper follows: the writer whose position it publishes, and who may be fenced. */
export interface KeptWriter {
  readonly current: LogPosition;
  readonly fenced: FencedError | undefined;
  fence(newerEpoch: number | undefined): FencedError;
  /** Closes every open lane in one main-log record (src/commit/lanes.ts). */
  closeLanes(which: "all"): Promise<void>;
  /** Closes every open lane in the record of its next write (a snapshot is due, and waits for no lane to be open). */
  closeLanesSoon(): void;
}

export class HeadKeeper {
  private etag: string | undefined;
  /** The newest snapshot the head names (0: none). */
  private newestSnapshot: number;
  /** Snapshots the head lists for time travel (oldest first), and the oldest seq still kept. */
  private listed: number[];
  private retainedFrom: number;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly background = new Set<Promise<unknown>>();
  /**
   * The records above the newest snapshot, this writer's and earlier writers', with their sizes:
   * a snapshot covers those at or below its seq, so commits landing while it uploads still count
   * towards the next one.
   */
  private unsnapshotted: { seq: number; bytes: number; epochOnly: boolean }[] = [];
  private unsnapshottedBytes = 0;
  private snapshotting: Promise<void> | undefined;
  private closed = false;

  constructor(
    private readonly log: RemoteLog,
    private readonly committed: () => NamespaceView,
    private readonly writer: KeptWriter,
    private readonly options: HeadKeeperOptions,
    private readonly stats: { snapshots: number; headUpdates: number },
    start: { etag: string | undefined; document: HeadDocument | undefined } | undefined,
  ) {
    this.etag = start?.etag;
    this.newestSnapshot = start?.document?.snapshot ?? 0;
    this.listed = start?.document?.snapshots?.slice() ?? (this.newestSnapshot > 0 ? [this.newestSnapshot] : []);
    this.retainedFrom = start?.document?.retainedFrom ?? 0;
  }

  /** The newest snapshot the head names (0: none). */
  get snapshotSeq(): number {
    return this.newestSnapshot;
  }

  /** What the head tells time travel: the snapshots kept and the oldest seq kept. */
  get retention(): { snapshots: number[]; retainedFrom: number } {
    return { snapshots: this.listed.slice(), retainedFrom: this.retainedFrom };
  }

  /** Records earlier writers left in the log (read at mount, or found in this writer's slot): they count towards the cadence. */
  inherited(records: readonly LogRecordSize[]): void {
    for (const record of records) {
      if (record.seq > (this.unsnapshotted.at(-1)?.seq ?? this.newestSnapshot)) {
        this.unsnapshotted.push({ seq: record.seq, bytes: record.bytes, epochOnly: false });
        this.unsnapshottedBytes += record.bytes;
      }
    }
  }

  /** This writer committed a record: a snapshot starts if one is due, else the head is brought up to date soon. */
  recorded(seq: number, bytes: number, epochOnly: boolean): void {
    this.unsnapshotted.push({ seq, bytes, epochOnly });
    this.unsnapshottedBytes += bytes;
    if (!this.snapshotDue()) this.scheduleHead();
  }

  /**
   * Waits for the head's and snapshots' background work, then, unless fenced, writes a final
   * snapshot if the filesystem changed since the last one (this writer's own epoch records alone
   * are no change) and `snapshot` asks for it, else brings the head up to date.
   */
  async close(options: { snapshot: boolean }): Promise<void> {
    this.closed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    await Promise.allSettled(this.background);
    await this.snapshotting;
    if (this.writer.fenced !== undefined) return;
    const epochOnly = this.unsnapshotted.filter((record) => record.epochOnly).length;
    // Other writers' lanes still open: this writer leaving is no reason to close them.
    const lanesOpen = this.lanesOpen();
    if (options.snapshot && !lanesOpen && this.writer.current.seq - this.newestSnapshot > epochOnly) await this.snapshot().catch(() => {});
    else await this.update().catch(() => {});
  }

  /**
   * Writes the namespace at the current position as a snapshot, then points the head at it.
   * Returns the snapshot's seq (0 for an empty log: there is nothing to snapshot).
   */
  async snapshot(options: { closeLanes?: boolean } = {}): Promise<number> {
    if (this.writer.fenced !== undefined) throw this.writer.fenced;
    // A snapshot is a state with no lane open: the state at a main-log seq holds only part of an
    // open lane's records (those written on the main log up to it, src/commit/lanes.ts), and the
    // index more. Asked for, it closes them first (writers that want them open them again); due
    // by the cadence, it waits for the writer's next write to close them (snapshotDue).
    if (lanesOf(this.committed()).size > 0) {
      if (options.closeLanes === false) {
        this.writer.closeLanesSoon();
        return this.newestSnapshot;
      }
      await this.writer.closeLanes("all");
    }
    const position = this.writer.current;
    if (position.seq === 0) return 0;
    const lanes = lanesOf(this.committed());
    if (lanes.size > 0) {
      const [id, lane] = [...lanes][0]!;
      throw new FsError("EBUSY", "snapshot", { detail: `lane ${id} (${lane.path}) was opened again while the snapshot was being taken; try again` });
    }
    const bytes = encodeSnapshot(this.committed(), position);
    await this.log.writeSnapshot(position.seq, bytes);
    this.snapshotReached(position.seq);
    this.note(position.seq);
    this.stats.snapshots++;
    await this.update();
    return position.seq;
  }

  /** Whether the index says lanes are open (an index found damaged: as if they were, so no snapshot is taken from it). */
  private lanesOpen(): boolean {
    try {
      return lanesOf(this.committed()).size > 0;
    } catch {
      return true;
    }
  }

  /** Waits for a snapshot running in the background (the cadence), if any. */
  async snapshotSettled(): Promise<void> {
    await this.snapshotting;
  }

  /**
   * Garbage collection is about to remove everything below `retainedFrom`: the head stops
   * offering those seqs to time travel first. Resolves true once the head says so.
   */
  async retain(retainedFrom: number): Promise<boolean> {
    this.retainedFrom = Math.max(this.retainedFrom, retainedFrom);
    this.listed = this.listed.filter((seq) => seq >= this.retainedFrom);
    return this.update();
  }

  /** A damaged snapshot is being removed (fsck's repair): the head stops listing it. */
  forgetSnapshot(seq: number): void {
    this.listed = this.listed.filter((listed) => listed !== seq);
  }

  /**
   * Compare-and-swap the head to the current position; a newer epoch there fences us. Resolves
   * whether this writer's head now stands (false: fenced, or a newer writer's head is there).
   */
  async update(): Promise<boolean> {
    for (let attempt = 0; attempt < 5; attempt++) {
      if (this.writer.fenced !== undefined) return false;
      const position = this.writer.current;
      const head: HeadDocument = {
        format: recordFormat,
        fsId: position.fsId,
        seq: position.seq,
        snapshot: this.newestSnapshot,
        snapshots: this.listed.slice(),
        retainedFrom: this.retainedFrom,
        epoch: position.epoch,
        writer: this.options.writerId,
        nonce: randomUUID(),
        updated: new Date(this.options.now()).toISOString(),
      };
      try {
        this.etag = await this.log.writeHead(head, this.etag);
        this.stats.headUpdates++;
        return true;
      } catch (error) {
        if (!(error instanceof PreconditionFailedError)) throw error;
        const current = await this.log.readHeadOrDamage();
        if (current instanceof DamagedHeadError) {
          this.etag = current.etag; // a damaged head is no hint: ours replaces it
          continue;
        }
        if (current !== undefined && current.head.fsId === position.fsId && current.head.epoch > this.options.epoch) {
          this.writer.fence(current.head.epoch);
          return false;
        }
        if (current !== undefined && current.head.fsId === position.fsId && current.head.seq > position.seq) {
          // A newer writer's head stands. What it retains joins ours, but not its etag: holding
          // it, a later update would replace that head with one listing snapshots garbage
          // collection removed; the next update meets it again and merges it once caught up.
          this.retainedFrom = Math.max(this.retainedFrom, current.head.retainedFrom ?? 0);
          this.listed = this.listed.filter((seq) => seq >= this.retainedFrom);
          return false;
        }
        this.etag = current?.etag;
        if (current === undefined || current.head.fsId !== position.fsId) continue; // none, or left by another filesystem: ours replaces it
        this.merge(current.head);
      }
    }
    return false;
  }

  /** Another writer's head of our filesystem, not ahead of us: its snapshots and retention join ours. */
  private merge(other: HeadDocument): void {
    this.snapshotReached(other.snapshot);
    this.retainedFrom = Math.max(this.retainedFrom, other.retainedFrom ?? 0);
    for (const seq of other.snapshots ?? []) if (seq >= this.retainedFrom) this.note(seq);
    this.listed = this.listed.filter((seq) => seq >= this.retainedFrom);
  }

  /** A snapshot at `seq` exists: the records it covers no longer count towards the next one. */
  private snapshotReached(seq: number): void {
    this.newestSnapshot = Math.max(this.newestSnapshot, seq);
    while (this.unsnapshotted.length > 0 && this.unsnapshotted[0]!.seq <= this.newestSnapshot) this.unsnapshottedBytes -= this.unsnapshotted.shift()!.bytes;
  }

  private note(seq: number): void {
    if (!this.listed.includes(seq)) this.listed = [...this.listed, seq].sort((a, b) => a - b);
    // Bounded even if garbage collection never runs: time travel then starts from an older snapshot.
    if (this.listed.length > maxListedSnapshots) this.listed = this.listed.slice(-maxListedSnapshots);
  }

  /** Starts a cadence snapshot when one is due; the commits that landed while it ran may call for the next. */
  private snapshotDue(): boolean {
    // The records a cold mount replays, including those earlier writers left: the count comes from
    // the position, the bytes from the sizes the index keeps (./record-sizes.ts), which miss only
    // records applied by an index that kept none.
    const records = Math.max(0, this.writer.current.seq - this.newestSnapshot);
    if (records < this.options.snapshotEveryCommits && this.unsnapshottedBytes < this.options.snapshotEveryBytes) return false;
    if (this.lanesOpen()) {
      // A snapshot is a state with no lane open: the writer's next write closes them, and the
      // snapshot follows it. Not now, in the background: a record nobody asked for would land
      // after its writer's operations all ended.
      this.writer.closeLanesSoon();
      return false;
    }
    this.snapshotting ??= this.snapshot({ closeLanes: false }).then(
      () => {
        this.snapshotting = undefined;
        if (!this.closed && this.writer.fenced === undefined && this.snapshotDue()) return this.snapshotting;
      },
      () => {
        this.snapshotting = undefined;
      },
    );
    return true;
  }

  private scheduleHead(): void {
    if (this.timer !== undefined || this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      const work = this.update();
      const tracked = work.catch(() => {}).finally(() => this.background.delete(tracked));
      this.background.add(tracked);
    }, this.options.headDelayMs);
    this.timer.unref?.();
  }
}
