// What a reader's refresh costs in requests and in round trips while it follows a writer
// (docs/s3-layout.md M5, M8): the head and the next slot at once when the log is quiet, the head
// and the next two slots while records keep arriving, so that a refresh finding one new record
// also finds the log's end in the same round trip. Rounds are counted from the order of the
// requests, not from timings: a request belongs to the round after the latest round of any request
// that had finished before it started.
import { afterAll, describe, expect, test } from "bun:test";
import type { ObjectStore, S3CachedFs } from "../../src/core.ts";
import { headKey, walKey } from "../../src/log/keys.ts";
import { closeFollowingRefreshes } from "../../src/mount/follower.ts";
import { ForwardingStore, type StoreRequest } from "../../src/stores/forwarding-store.ts";
import { NotFoundError } from "../../src/stores/store-errors.ts";
import { contents, keys, sleep, testBucket } from "../maintenance/buckets.ts";
import { removeTempDirectories } from "../support/temp.ts";
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
  private finishedRound = 0;

  reset(): void {
    this.requests = [];
    this.finishedRound = 0;
  }

  protected override async forward<T>(request: StoreRequest, send: () => Promise<T>): Promise<T> {
    const round = this.finishedRound + 1;
    this.requests.push({ request: `${request.operation} ${request.key ?? ""}`, round });
    try {
      if (request.operation === "get" && request.key !== undefined && this.landingLate.delete(request.key)) {
        throw new NotFoundError(`${request.key} not found (landing late)`, { operation: "get", key: request.key });
      }
      return await send();
    } finally {
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
