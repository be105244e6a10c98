// The retention rule as a pure function (docs/s3-layout.md GC2, GC7): where the window starts,
// which snapshot becomes the base, and when no safe plan exists.
import { describe, expect, test } from "bun:test";
import { RetentionError, planRetention, type RetentionInput } from "../../src/maintenance/retention.ts";

/** Records committed one second apart (seq n at n seconds), snapshots where asked. */
function input(overrides: Partial<RetentionInput> & { recordSeqs: number[]; snapshotSeqs: number[] }): RetentionInput {
  const at = (seq: number) => ({ lastModified: new Date(seq * 1_000) });
  const { recordSeqs, snapshotSeqs, ...rest } = overrides;
  return {
    now: 100_000,
    retentionMs: 0,
    tip: Math.max(0, ...recordSeqs),
    records: new Map(recordSeqs.map((seq) => [seq, at(seq)])),
    snapshots: new Map(snapshotSeqs.map((seq) => [seq, at(seq)])),
    headSnapshot: Math.max(0, ...snapshotSeqs),
    logStartsAfter: 0,
    retainedFrom: 0,
    ...rest,
  };
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, index) => from + index);

function reason(plan: () => unknown): string | undefined {
  try {
    plan();
    return undefined;
  } catch (error) {
    return error instanceof RetentionError ? error.reason : String(error);
  }
}

describe("planRetention", () => {
  test("the horizon is the newest state committed before the window; the base the newest snapshot at or below it", () => {
    const plan = planRetention(input({ recordSeqs: range(1, 20), snapshotSeqs: [5, 10, 15, 20], now: 20_000, retentionMs: 7_500 }));
    expect(plan.horizonSeq).toBe(12); // committed at 12 s <= 12.5 s
    expect(plan.base).toBe(10);
  });

  test("with nothing older than the window, everything from the log's start is kept", () => {
    expect(planRetention(input({ recordSeqs: range(1, 8), snapshotSeqs: [4], now: 8_000, retentionMs: 60_000 })).base).toBe(0);
  });

  test("the base is never above the snapshot the head names (mounts start there)", () => {
    expect(planRetention(input({ recordSeqs: range(1, 20), snapshotSeqs: [5, 10, 15, 20], headSnapshot: 15 })).base).toBe(15);
  });

  test("records left below the announced base for their data are no log: they are planned around", () => {
    const plan = planRetention(input({ recordSeqs: [3, 7, ...range(11, 20)], snapshotSeqs: [10, 15], retainedFrom: 10 }));
    expect(plan.base).toBe(15);
  });

  test("a window reaching back before what an earlier, shorter window kept: the oldest state still whole is the base", () => {
    // A collection with retention 0 kept from snapshot 4 (records 2 and 4 for their data, 3 gone);
    // a later run with a long window wants state 3, which is gone: it keeps from 4 on.
    const plan = planRetention(input({ recordSeqs: [2, ...range(4, 8)], snapshotSeqs: [4, 6, 8], retainedFrom: 4, now: 8_000, retentionMs: 24 * 3_600_000 }));
    expect(plan.horizonSeq).toBe(3);
    expect(plan.base).toBe(4);
    // And with the window's start past the announced base, the newest snapshot at or below it.
    expect(planRetention(input({ recordSeqs: [2, ...range(4, 20)], snapshotSeqs: [4, 6, 8, 20], retainedFrom: 4, now: 20_000, retentionMs: 11_500 })).base).toBe(8);
    // States below the announced base are no longer promised: the base never goes below it when a snapshot stands there.
    expect(planRetention(input({ recordSeqs: range(1, 20), snapshotSeqs: [2, 10, 20], retainedFrom: 10, now: 20_000, retentionMs: 60_000 })).base).toBe(10);
  });

  test("a record missing above the announced base stops the plan", () => {
    expect(reason(() => planRetention(input({ recordSeqs: [...range(1, 11), ...range(13, 20)], snapshotSeqs: [10, 15, 20] })))).toBe("log-gap");
    expect(reason(() => planRetention(input({ recordSeqs: [...range(11, 14), ...range(16, 20)], snapshotSeqs: [10, 15, 20], retainedFrom: 10 })))).toBe("log-gap");
  });

  test("a record after the tip (another writer's) stops the plan", () => {
    expect(reason(() => planRetention(input({ recordSeqs: range(1, 10), snapshotSeqs: [5], tip: 9 })))).toBe("log-ahead");
  });

  test("without a snapshot to start the kept log from, there is no plan", () => {
    expect(reason(() => planRetention(input({ recordSeqs: range(11, 20), snapshotSeqs: [], retainedFrom: 10, headSnapshot: 10 })))).toBe("no-base");
  });

  test("a fork's log starts after its fork point, whose snapshot is its first base", () => {
    const plan = planRetention(input({ recordSeqs: range(31, 40), snapshotSeqs: [30, 35], logStartsAfter: 30 }));
    expect(plan.base).toBe(35);
    expect(planRetention(input({ recordSeqs: range(31, 40), snapshotSeqs: [30, 35], logStartsAfter: 30, now: 40_000, retentionMs: 9_500 })).base).toBe(30);
  });
});
