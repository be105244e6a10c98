// What a reader's refresh costs in requests and in round trips while it follows a writer
// (docs/s3-layout.md M5, M8): the head and the next slot at once when the log is quiet, the head
// and the next two slots while records keep arriving, so that a refresh finding one new record
// also finds the log's end in the same round trip. Rounds are counted from the order of the
// requests, not from timings: a request belongs to the round after the latest round of any request
// that had finished before it started.
import { afterAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import type { ObjectStore, S3CachedFs } from "../../src/core.ts";
import { headKey, walKey } from "../../src/log/keys.ts";
import { closeFollowingRefreshes } from "../../src/mount/follower.ts";
import { ForwardingStore, type StoreRequest } from "../../src/stores/forwarding-store.ts";
import { NotFoundError } from "../../src/stores/store-errors.ts";
import { contents, keys, sleep, testBucket } from "../maintenance/buckets.ts";
import { removeTempDirectories, tempDirectory } from "../support/temp.ts";
import { catchUp } from "../../src/commit/replay.ts";
import type { SegmentCache } from "../../src/data/segment-cache.ts";
import { encodeRecord, recordFormat, type LogPosition } from "../../src/log/record.ts";
import { RemoteLog } from "../../src/log/remote-log.ts";
import { Namespace } from "../../src/namespace/namespace.ts";
import { OpApplier } from "../../src/namespace/apply-ops.ts";
import { positionMeta } from "../../src/namespace/position.ts";
import { LocalObjectStore } from "../../src/stores/local-object-store.ts";
import { testWorkspace, type Backend } from "../support/mounts.ts";

afterAll(removeTempDirectories);

interface RoundRequest {
  request: string;
  round: number;
}

/** Records every request with its round: 1 + the highest round among the requests finished before it began. */
class RoundRecorder extends ForwardingStore {
  requests: RoundRequest[] = [];
  /** Keys whose next GET answers 404 though they exist, as a probe sent just before the object landed would. */
  readonly landingLate = new Set<string>();
  /** Keys whose GET is held until `release()`: a request slower than the others of its round. */
  readonly held = new Set<string>();
  /** Requests finished since the last `reset()` (held ones only once released). */
  finished = 0;
  private releaseHeld: (() => void) | undefined;
  private heldGate: Promise<void> | undefined;
  private finishedRound = 0;

  release(): void {
    this.releaseHeld?.();
    this.heldGate = undefined;
  }

  reset(): void {
    this.requests = [];
    this.finished = 0;
    this.finishedRound = 0;
  }

  protected override async forward<T>(request: StoreRequest, send: () => Promise<T>): Promise<T> {
    const round = this.finishedRound + 1;
    this.requests.push({ request: `${request.operation} ${request.key ?? ""}`, round });
    try {
      if (request.operation === "get" && request.key !== undefined && this.landingLate.delete(request.key)) {
        throw new NotFoundError(`${request.key} not found (landing late)`, { operation: "get", key: request.key });
      }
      if (request.operation === "get" && request.key !== undefined && this.held.delete(request.key)) {
        this.heldGate ??= new Promise((resolve) => (this.releaseHeld = resolve));
        await this.heldGate;
      }
      return await send();
    } finally {
      this.finished++;
      this.finishedRound = Math.max(this.finishedRound, round);
    }
  }
}

/** A read-only mount whose requests go through a RoundRecorder. */
async function recordedReader(mount: (options: { wrap: (store: ObjectStore) => ObjectStore }) => Promise<S3CachedFs>): Promise<{ reader: S3CachedFs; recorder: RoundRecorder }> {
  let recorder: RoundRecorder | undefined;
  const reader = await mount({ wrap: (store) => (recorder = new RoundRecorder(store)) });
  return { reader, recorder: recorder! };
}

/** The requests of one refresh, by round: [[round 1's requests, sorted], [round 2's], ...]. */
async function refreshRounds(reader: S3CachedFs, recorder: RoundRecorder): Promise<string[][]> {
  recorder.reset();
  await reader.refresh();
  const rounds: string[][] = [];
  for (const { request, round } of recorder.requests) (rounds[round - 1] ??= []).push(request);
  return rounds.map((requests) => requests.sort());
}

/**
 * Whether `work` settled once `finishedBefore` of the recorder's requests have finished and the
 * event loop has turned once more: what is left then of a refresh waiting on nothing else is
 * promise continuations, which run before the next turn. No clock is involved.
 */
async function settledAfter<T>(work: Promise<T>, recorder: RoundRecorder, finishedBefore: number): Promise<boolean> {
  let settled = false;
  void work.then(
    () => (settled = true),
    () => (settled = true),
  );
  while (recorder.finished < finishedBefore) await new Promise((resolve) => setImmediate(resolve));
  await new Promise((resolve) => setImmediate(resolve));
  return settled;
}

const head = `get ${headKey}`;
const slot = (seq: number) => `get ${walKey(seq)}`;

for (const backend of ["local", "s3"] as Backend[]) {
  describe(`a reader's refresh (${backend})`, () => {
    test("while records keep arriving, a refresh that finds one new record costs three requests in one round trip", async () => {
      const workspace = await testWorkspace(backend, "follow-closely");
      const writer = await workspace.mount(); // the head moves only on close: counts are exact
      await writer.writeFile("/a.txt", "a");
      const { reader, recorder } = await recordedReader(({ wrap }) => workspace.mount({ name: "close-reader", mode: "readonly" }, { cacheRoot: workspace.freshCacheRoot(), wrap }));
      let seq = reader.stats().seq;
      // A quiet reader probes one slot: the record found, the slot after it is read next.
      await writer.writeFile("/b.txt", "b");
      expect(await refreshRounds(reader, recorder)).toEqual([[head, slot(seq + 1)].sort(), [slot(seq + 2)]]);
      expect(await reader.readText("/b.txt")).toBe("b");
      seq++;
      // Records arrived: the next refresh reads the head and two slots at once, and is done.
      await writer.writeFile("/c.txt", "c");
      expect(await refreshRounds(reader, recorder)).toEqual([[head, slot(seq + 1), slot(seq + 2)].sort()]);
      expect(await reader.readText("/c.txt")).toBe("c");
      seq++;
      // So it stays while the writer goes on, with quiet refreshes between its commits.
      for (let index = 0; index < 3; index++) {
        expect(await refreshRounds(reader, recorder)).toEqual([[head, slot(seq + 1), slot(seq + 2)].sort()]);
        await writer.writeFile(`/d${index}.txt`, "d");
        expect(await refreshRounds(reader, recorder)).toEqual([[head, slot(seq + 1), slot(seq + 2)].sort()]);
        expect(await reader.readText(`/d${index}.txt`)).toBe("d");
        seq++;
      }
      expect(reader.stats().seq).toBe(writer.stats().seq);
      await writer.close();
      await reader.close();
    });

    test("a refresh whose next slot is empty does not wait for the slot after it, and closing waits for that read", async () => {
      const workspace = await testWorkspace(backend, "no-straggler");
      const writer = await workspace.mount();
      await writer.writeFile("/a.txt", "a");
      const { reader, recorder } = await recordedReader(({ wrap }) => workspace.mount({ name: "straggler-reader", mode: "readonly" }, { cacheRoot: workspace.freshCacheRoot(), wrap }));
      await writer.writeFile("/b.txt", "b");
      await reader.refresh(); // records arrived: two slots from now on
      const seq = reader.stats().seq;
      // The slot after the next is held: the head and the next slot (empty) answer the refresh.
      recorder.reset();
      recorder.held.add(walKey(seq + 2));
      const idle = reader.refresh();
      expect(await settledAfter(idle, recorder, 2)).toBe(true);
      expect(await idle).toEqual({ seq, changed: false });
      expect(recorder.requests.map(({ request }) => request).sort()).toEqual([head, slot(seq + 1), slot(seq + 2)].sort());
      recorder.release();
      // A refresh that finds the next slot filled waits for the one after it: it may be filled too.
      await writer.writeFile("/c.txt", "c");
      recorder.reset();
      recorder.held.add(walKey(seq + 2));
      const found = reader.refresh();
      expect(await settledAfter(found, recorder, 2)).toBe(false);
      recorder.release();
      expect(await found).toEqual({ seq: seq + 1, changed: true });
      // Its inline data is read from the cache, with no request, though the refresh did not wait
      // for the cache's disk write.
      recorder.reset();
      expect(await reader.readText("/c.txt")).toBe("c");
      expect(recorder.requests).toEqual([]);
      // Closing waits for a slot read the refresh left behind.
      recorder.reset();
      recorder.held.add(walKey(seq + 3));
      await reader.refresh();
      // (Turns of the event loop, not time: closing takes a few dozen when it waits for nothing.)
      let closed = false;
      const closing = reader.close().then(() => (closed = true));
      let turns = 0;
      for (; turns < 1_000 && !closed; turns++) await new Promise((resolve) => setImmediate(resolve));
      expect(closed).toBe(false);
      recorder.release();
      await closing;
      await writer.close();
    });

    test("an idle refresh costs two requests in one round trip, and again once the writer has been quiet a while", async () => {
      const workspace = await testWorkspace(backend, "quiet-again");
      const writer = await workspace.mount();
      await writer.writeFile("/a.txt", "a");
      const { reader, recorder } = await recordedReader(({ wrap }) => workspace.mount({ name: "quiet-reader", mode: "readonly" }, { cacheRoot: workspace.freshCacheRoot(), wrap }));
      const seq = reader.stats().seq;
      expect(await refreshRounds(reader, recorder)).toEqual([[head, slot(seq + 1)].sort()]);
      expect(await refreshRounds(reader, recorder)).toEqual([[head, slot(seq + 1)].sort()]);
      await writer.writeFile("/b.txt", "b");
      await reader.refresh();
      for (let quiet = 0; quiet < closeFollowingRefreshes; quiet++) {
        expect(await refreshRounds(reader, recorder)).toEqual([[head, slot(seq + 2), slot(seq + 3)].sort()]);
      }
      expect(await refreshRounds(reader, recorder)).toEqual([[head, slot(seq + 2)].sort()]);
      expect(await refreshRounds(reader, recorder)).toEqual([[head, slot(seq + 2)].sort()]);
      await writer.close();
      await reader.close();
    });

    test("records that came faster than the refreshes: the window widens, and no record is read twice", async () => {
      const workspace = await testWorkspace(backend, "widening");
      const writer = await workspace.mount();
      await writer.writeFile("/a.txt", "a");
      const { reader, recorder } = await recordedReader(({ wrap }) => workspace.mount({ name: "wide-reader", mode: "readonly" }, { cacheRoot: workspace.freshCacheRoot(), wrap }));
      await writer.writeFile("/b.txt", "b");
      await reader.refresh(); // records arrived: two slots from now on
      const seq = reader.stats().seq;
      for (let index = 0; index < 5; index++) await writer.writeFile(`/burst/${index}.txt`, `${index}`);
      // The head and two slots (both found), then two more (found), then four (one found: the end).
      expect(await refreshRounds(reader, recorder)).toEqual([
        [head, slot(seq + 1), slot(seq + 2)].sort(),
        [slot(seq + 3), slot(seq + 4)],
        [slot(seq + 5), slot(seq + 6), slot(seq + 7), slot(seq + 8)],
      ]);
      expect(reader.stats().seq).toBe(seq + 5);
      expect((await reader.readdir("/burst")).sort()).toEqual(["0.txt", "1.txt", "2.txt", "3.txt", "4.txt"]);
      await writer.close();
      await reader.close();
    });

    test("an empty slot the head, read with it, says is filled is read again, in the same refresh", async () => {
      const workspace = await testWorkspace(backend, "landed-meanwhile");
      const writer = await workspace.mount({ headDelayMs: 0 });
      await writer.writeFile("/a.txt", "a");
      const { reader, recorder } = await recordedReader(({ wrap }) => workspace.mount({ name: "late-reader", mode: "readonly" }, { cacheRoot: workspace.freshCacheRoot(), wrap }));
      await writer.writeFile("/b.txt", "b");
      await reader.refresh(); // records arrived: two slots from now on
      const seq = reader.stats().seq;
      await writer.writeFile("/c.txt", "c");
      await writer.writeFile("/d.txt", "d");
      await writer.close(); // the head names seq + 2
      recorder.landingLate.add(walKey(seq + 2));
      expect(await refreshRounds(reader, recorder)).toEqual([[head, slot(seq + 1), slot(seq + 2)].sort(), [slot(seq + 2)]]);
      expect(reader.stats().seq).toBe(seq + 2);
      expect(await reader.readText("/d.txt")).toBe("d");
      await reader.close();
    });

    test("a reader following closely whose next slots were collected starts again from the head's snapshot", async () => {
      // Two ways: every slot after the reader collected, or the next one kept for its inline data
      // and the one after it collected. Either way the empty slot is not the log's end: the head,
      // read with it, names a newer snapshot (M8).
      for (const keepNext of [false, true]) {
        const bucket = await testBucket(backend, `collected-${keepNext}`);
        const layout = { inlineRecordBytes: 2 * 1024, packBytes: 32 * 1024 };
        const writer = await bucket.mount("main", { layout, snapshotEveryCommits: 1_000, exclusive: true });
        await writer.writeFile("/first.txt", "first");
        const { reader, recorder } = await recordedReader(({ wrap }) => bucket.mount("main", { mode: "readonly", headDelayMs: 0 }, { wrap }));
        await writer.writeFile("/second.txt", "second");
        expect((await reader.refresh()).changed).toBe(true); // records arrived: two slots from now on
        const seq = reader.stats().seq;
        await writer.writeFile("/kept.txt", keepNext ? "its record stays: the current state reads this inline data" : "rewritten below");
        for (let index = 0; index < 5; index++) await writer.writeFile("/churn.txt", `churn ${index}`);
        if (!keepNext) await writer.writeFile("/kept.txt", "rewritten: the first record's data is garbage");
        await writer.snapshot();
        await sleep(backend === "s3" ? 1_100 : 20); // the server stamps whole seconds: the snapshot must be older than "now"
        const report = await writer.collectGarbage({ retentionMs: 0, graceMs: 0, compact: false });
        expect(report.retainedFrom).toBeGreaterThan(seq + 2);
        const remaining = await keys(bucket.store("main"), "wal/");
        expect(remaining.includes(walKey(seq + 1))).toBe(keepNext);
        expect(remaining).not.toContain(walKey(seq + 2));
        recorder.reset();
        expect(await reader.refresh()).toEqual({ seq: writer.stats().seq, changed: true });
        expect(recorder.requests.filter(({ round }) => round === 1).map(({ request }) => request).sort()).toEqual([head, slot(seq + 1), slot(seq + 2)].sort());
        expect(await contents(reader)).toEqual(await contents(writer));
        await writer.close();
        await reader.close();
      }
    }, 120_000);
  });
}

describe("catchUp, as a refresh uses it", () => {
  test("it returns once the records are applied, without waiting for the cache's disk write of their inline data", async () => {
    const directory = tempDirectory("catch-up-cache");
    const log = new RemoteLog(new LocalObjectStore({ root: join(directory, "objects"), fsync: false }));
    const namespace = new Namespace(join(directory, "index.sqlite"));
    try {
      const fsId = "fs-1";
      const data = new TextEncoder().encode("inline data");
      const { bytes } = encodeRecord([data], {
        format: recordFormat,
        fsId,
        seq: 1,
        parent: 0,
        parentHash: "",
        epoch: 1,
        writer: "w",
        nonce: "n",
        time: 0,
        ops: [{ op: "mkdir", path: "/d", mode: 0o755, recursive: false, time: 1 }],
      });
      await log.writeRecord(1, bytes);
      const start: LogPosition = { fsId, seq: 0, hash: "", epoch: 0 };
      namespace.beginBatch();
      namespace.clear(0);
      namespace.commitBatch(positionMeta(start));
      // A cache whose disk write does not finish until released.
      const inserted: { object: string; bytes: number }[] = [];
      let release: () => void = () => {};
      const written = new Promise<void>((resolve) => (release = resolve));
      const cache = {
        insert: async (object: string, _offset: number, segment: Uint8Array) => {
          inserted.push({ object, bytes: segment.byteLength });
          await written;
        },
      } as unknown as SegmentCache;
      let settled = false;
      const caught = catchUp(log, namespace, new OpApplier(namespace), start, cache);
      void caught.then(() => (settled = true));
      while (inserted.length === 0) await new Promise((resolve) => setImmediate(resolve));
      await new Promise((resolve) => setImmediate(resolve)); // promise continuations run before this turn
      expect(settled).toBe(true);
      expect(inserted).toEqual([{ object: walKey(1), bytes: data.byteLength }]);
      expect((await caught).position.seq).toBe(1);
      expect("missing" in namespace.committed.lookup("/d", false, "stat")).toBe(false);
      release();
    } finally {
      namespace.close();
    }
  });
});
