// The retention rule, as a pure function of what is listed (docs/s3-layout.md GC1-GC4).
//
// The retention window reaches back `retentionMs` from now, on the store's clock. The state at
// seq s was current from the commit of record s until the commit of record s + 1; the horizon
// state R is the newest one committed at or before the window's start, so every state from R on
// was current at some moment inside the window (a reader may be mounted at it, time travel may
// open it). The base B is the newest snapshot at or below R (and at or below the snapshot the
// head names, so every mount still finds the log it needs after it), or, when an earlier
// collection with a shorter window already removed the log before every such snapshot, the
// oldest snapshot that still has the whole log after it: everything from B on is kept whole
// (snapshot, records, the objects they name), and B is what the head then announces as
// `retainedFrom`. Anything older goes only once it is also older than the grace period.

export interface RetentionInput {
  /** Now, in ms on the store's clock. */
  now: number;
  retentionMs: number;
  /** The newest committed seq (the writer's position, or the newest listed record). */
  tip: number;
  /** Listed records by seq, with the time the store wrote each (its commit time). */
  records: ReadonlyMap<number, { lastModified: Date }>;
  /** Listed snapshots by seq. */
  snapshots: ReadonlyMap<number, { lastModified: Date }>;
  /** The snapshot the head names: mounts start there, so the log after it must stay. */
  headSnapshot: number;
  /** A fork's log starts after its fork point; 0 for a filesystem that is no fork. */
  logStartsAfter: number;
  /** The base an earlier collection announced: records at or below it may have been deleted. */
  retainedFrom: number;
}

export interface RetentionPlan {
  /** Start of the retention window, ms. */
  horizon: number;
  /** R: the state current at the start of the window. */
  horizonSeq: number;
  /** B: the oldest state kept whole; everything from here on stays. */
  base: number;
}

/** The listing does not allow a safe plan: nothing may be deleted. */
export class RetentionError extends Error {
  constructor(
    message: string,
    readonly reason: "log-ahead" | "log-gap" | "no-base",
  ) {
    super(message);
    this.name = "RetentionError";
  }
}

export function planRetention(input: RetentionInput): RetentionPlan {
  const horizon = input.now - input.retentionMs;
  for (const seq of input.records.keys()) {
    if (seq > input.tip) {
      throw new RetentionError(`the log holds record ${seq}, after this writer's position ${input.tip}: another writer has published since`, "log-ahead");
    }
  }
  // The log proper is the run of listed records ending at the tip; records below its start are
  // left over from earlier collections only for their inline data, and are no log any more.
  let lowest = input.tip;
  while (lowest > 0 && input.records.has(lowest)) lowest--;
  // Only a collection deletes records, and only at or below the base it announced: a record
  // missing above that is damage, or a listing that missed it. Its commit time is unknown, so no
  // safe horizon can be placed: stop.
  if (lowest > Math.max(input.retainedFrom, input.logStartsAfter)) {
    throw new RetentionError(`record ${lowest} is missing from the listing of the log, above every seq a collection removed (${input.retainedFrom}); run fsck`, "log-gap");
  }
  // R: the newest state of that run committed at or before the window's start.
  let horizonSeq = lowest;
  for (let seq = lowest + 1; seq <= input.tip; seq++) if (input.records.get(seq)!.lastModified.getTime() <= horizon) horizonSeq = seq;
  // B: a snapshot (or the empty start) at or below the head's snapshot with the whole run after
  // it: the newest at or below R, where every state from R on stays whole. States before the
  // oldest such snapshot are gone already (an earlier collection with a shorter window removed
  // their log): then B is that oldest snapshot, the most that can still be kept. States below the
  // seq an earlier collection announced are no longer promised either.
  const candidates = [...input.snapshots.keys()].filter((seq) => seq >= lowest && seq <= input.headSnapshot && seq <= input.tip);
  if (lowest === 0 && input.logStartsAfter === 0) candidates.push(0);
  if (candidates.length === 0) {
    throw new RetentionError(
      `no snapshot at or below the head's snapshot (${input.headSnapshot}) has the whole log after it (the listed log runs from ${lowest + 1} to ${input.tip}); run fsck`,
      "no-base",
    );
  }
  const kept = Math.max(horizonSeq, input.retainedFrom);
  const atOrBelow = candidates.filter((seq) => seq <= kept);
  const base = atOrBelow.length > 0 ? Math.max(...atOrBelow) : Math.min(...candidates);
  return { horizon, horizonSeq, base };
}

/** Whether an object written at `lastModified` is past the grace period (a writer may still be uploading younger ones). */
export function pastGrace(lastModified: Date, now: number, graceMs: number): boolean {
  return lastModified.getTime() <= now - graceMs;
}

/**
 * The oldest state still kept whole, from a listing alone: the log's start (0, or a fork's
 * starting point) when the run of records ending at `tip` reaches back to it, else the oldest
 * snapshot with that whole run after it; undefined if there is none. This is what the head's
 * `retainedFrom` says when the head can be trusted, and what stands in for it when it cannot.
 */
export function oldestWholeState(records: { has(seq: number): boolean }, snapshots: Iterable<number>, tip: number, logStartsAfter: number): number | undefined {
  let lowest = tip;
  while (lowest > 0 && records.has(lowest)) lowest--;
  if (lowest <= logStartsAfter) return logStartsAfter;
  let oldest: number | undefined;
  for (const seq of snapshots) if (seq >= lowest && seq <= tip && (oldest === undefined || seq < oldest)) oldest = seq;
  return oldest;
}
