// Snapshots (docs/s3-layout.md L4, C7, M2): written every N commits or M bytes of log and on
// close when something changed, so a cold mount costs a handful of GETs plus the log tail, even
// for 100,000 files.
import { afterAll, describe, expect, test } from "bun:test";
import type { ObjectStore, PutOptions } from "../../src/core.ts";
import { removeTempDirectories } from "../support/temp.ts";
import { keys, sleep, testBucket, type Backend } from "./buckets.ts";

afterAll(removeTempDirectories);

async function snapshotsOf(bucket: Awaited<ReturnType<typeof testBucket>>, prefix = "main"): Promise<number[]> {
  return (await keys(bucket.store(prefix), "snapshots/")).map((key) => Number(key.slice("snapshots/".length)));
}

async function eventually(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let attempt = 0; attempt < 200; attempt++) {
    if (await check()) return;
    await sleep(10);
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe("snapshot cadence", () => {
  test("every N commits, in the background", async () => {
    const bucket = await testBucket("local", "cadence-commits");
    const fs = await bucket.mount("main", { snapshotEveryCommits: 5 });
    for (let index = 0; index < 11; index++) await fs.writeFile(`/f${index}`, `${index}`);
    await eventually(async () => (await snapshotsOf(bucket)).length >= 2, "two snapshots");
    const seqs = await snapshotsOf(bucket);
    expect(seqs[0]).toBe(5);
    expect(seqs[1]).toBe(10);
    await fs.close();
  }, 120_000);

  test("commits that land while a snapshot uploads count towards the next one", async () => {
    const bucket = await testBucket("local", "cadence-overlap");
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const uploads: string[] = [];
    // The first snapshot's upload waits until the test lets it go.
    const holdFirstSnapshot = (store: ObjectStore): ObjectStore =>
      new Proxy(store, {
        get(target, property, receiver) {
          if (property !== "put") return Reflect.get(target, property, receiver);
          return async (key: string, body: Uint8Array, options?: PutOptions) => {
            if (key.startsWith("snapshots/")) {
              uploads.push(key);
              if (uploads.length === 1) await held;
            }
            return target.put(key, body, options);
          };
        },
      });
    const fs = await bucket.mount("main", { snapshotEveryCommits: 5 }, { wrap: holdFirstSnapshot });
    for (let index = 0; index < 4; index++) await fs.writeFile(`/f${index}`, `${index}`); // seq 2..5 after the epoch record
    await eventually(async () => uploads.length === 1, "the first snapshot's upload");
    for (let index = 4; index < 12; index++) await fs.writeFile(`/f${index}`, `${index}`); // seq 6..13 land meanwhile
    expect(uploads.length).toBe(1); // one snapshot at a time
    release();
    // The eight records above seq 5 are due at once: one snapshot of them all, with no commit to prompt it.
    await eventually(async () => (await snapshotsOf(bucket)).length >= 2, "the next snapshot");
    await fs.writeFile("/g", "g");
    await sleep(50);
    expect(await snapshotsOf(bucket)).toEqual([5, 13]);
    await fs.close();
    expect(await snapshotsOf(bucket)).toEqual([5, 13, 14]);
  }, 120_000);

  test("every M bytes of log", async () => {
    const bucket = await testBucket("local", "cadence-bytes");
    const fs = await bucket.mount("main", { snapshotEveryCommits: 1_000, snapshotEveryBytes: 10 * 1024 });
    for (let index = 0; index < 2; index++) await fs.writeFile(`/f${index}`, new Uint8Array(4 * 1024));
    expect(await snapshotsOf(bucket)).toEqual([]);
    await fs.writeFile("/f2", new Uint8Array(4 * 1024));
    await eventually(async () => (await snapshotsOf(bucket)).length === 1, "a snapshot");
    await fs.close();
  }, 120_000);

  test("the count includes the log an earlier writer left without a snapshot", async () => {
    const bucket = await testBucket("local", "cadence-tail");
    const crashed = await bucket.mount("main", { snapshotEveryCommits: 10 });
    for (let index = 0; index < 7; index++) await crashed.writeFile(`/a${index}`, `${index}`); // 8 records, no snapshot, never closed
    const next = await bucket.mount("main", { snapshotEveryCommits: 10, onWriterBusy: "takeover" }); // its epoch record is the 9th
    expect(await snapshotsOf(bucket)).toEqual([]);
    await next.writeFile("/b", "b"); // the 10th: a cold mount would now replay 10 records
    await eventually(async () => (await snapshotsOf(bucket)).length === 1, "a snapshot");
    expect(await snapshotsOf(bucket)).toEqual([10]);
    await next.close();
    await crashed.close();
  }, 120_000);

  test("the byte count includes the log an earlier writer left without a snapshot", async () => {
    const bucket = await testBucket("local", "cadence-tail-bytes");
    const config = { snapshotEveryCommits: 1_000, snapshotEveryBytes: 10 * 1024 };
    const crashed = await bucket.mount("main", config);
    for (let index = 0; index < 2; index++) await crashed.writeFile(`/a${index}`, new Uint8Array(4 * 1024)); // seq 1..3: over 8 KiB of log, under 10
    const next = await bucket.mount("main", { ...config, onWriterBusy: "takeover" }); // its epoch record is seq 4
    await next.writeFile("/b", new Uint8Array(4 * 1024)); // seq 5: the log since the last snapshot passes 10 KiB
    await next.writeFile("/c", "c"); // seq 6
    await next.close(); // the final snapshot
    // A snapshot at 5 was due as if this writer had written the whole log; without it, only the final one.
    expect(await snapshotsOf(bucket)).toEqual([5, 6]);
    await crashed.close();
  }, 120_000);

  // The local index was ahead of the newest snapshot when this writer mounted, so the records
  // between them were never read from the store at this mount; their bytes count all the same.
  const remountSettings = { prefix: "main", headDelayMs: 60_000, leaseTtlMs: 5_000, snapshotEveryCommits: 1_000, snapshotEveryBytes: 10 * 1024 };
  const failSnapshots = (store: ObjectStore): ObjectStore =>
    new Proxy(store, {
      get(target, property, receiver) {
        if (property !== "put") return Reflect.get(target, property, receiver);
        return async (key: string, body: Uint8Array, options?: PutOptions) => {
          if (key.startsWith("snapshots/")) throw new Error("snapshot uploads refused by the test");
          return target.put(key, body, options);
        };
      },
    });

  test("the byte count includes the log this writer's own index holds from before a remount", async () => {
    const bucket = await testBucket("local", "cadence-remount-bytes");
    const cacheRoot = bucket.freshCacheRoot();
    const first = await bucket.manager({ cacheRoot, wrap: failSnapshots }).mount({ name: "writer", ...remountSettings });
    for (let index = 0; index < 2; index++) await first.writeFile(`/a${index}`, new Uint8Array(4 * 1024)); // seq 1..3: over 8 KiB of log, under 10
    await first.close(); // its final snapshot fails: the log stays unsnapshotted
    expect(await snapshotsOf(bucket)).toEqual([]);
    const again = await bucket.manager({ cacheRoot }).mount({ name: "writer", ...remountSettings }); // the same index, at seq 3; its epoch record is seq 4
    expect(again.stats().requests.get.requests).toBe(4); // format.json, the head (absent), the probe of seq 4, the lease: the index is reused, no record read
    await again.writeFile("/b", new Uint8Array(4 * 1024)); // seq 5: the log since the last snapshot passes 10 KiB
    await again.writeFile("/c", "c"); // seq 6
    await again.close(); // the final snapshot
    // A snapshot at 5 was due exactly as if the writer had never closed.
    expect(await snapshotsOf(bucket)).toEqual([5, 6]);
  }, 120_000);

  test("the byte count includes the log a reader's index followed before it mounts read-write there", async () => {
    const bucket = await testBucket("local", "cadence-reader-bytes");
    const cacheRoot = bucket.freshCacheRoot();
    const crashed = await bucket.mount("main", { snapshotEveryCommits: 1_000, snapshotEveryBytes: 10 * 1024 });
    const reader = await bucket.manager({ cacheRoot }).mount({ name: "follower", ...remountSettings, mode: "readonly" });
    for (let index = 0; index < 2; index++) await crashed.writeFile(`/a${index}`, new Uint8Array(4 * 1024)); // seq 1..3
    expect((await reader.refresh()).seq).toBe(3); // the reader's index follows them
    await reader.close();
    const next = await bucket.manager({ cacheRoot }).mount({ name: "follower", ...remountSettings, onWriterBusy: "takeover" }); // its epoch record is seq 4
    await next.writeFile("/b", new Uint8Array(4 * 1024)); // seq 5: past 10 KiB since the last snapshot (none)
    await next.writeFile("/c", "c"); // seq 6
    await next.close();
    expect(await snapshotsOf(bucket)).toEqual([5, 6]);
    await crashed.close();
  }, 120_000);

  test("close writes a snapshot only if something changed since the last one", async () => {
    const bucket = await testBucket("local", "cadence-close");
    const first = await bucket.mount("main");
    await first.writeFile("/a", "a");
    await first.close();
    expect((await snapshotsOf(bucket)).length).toBe(1);
    const idle = await bucket.mount("main"); // commits only its own epoch record
    await idle.close();
    expect((await snapshotsOf(bucket)).length).toBe(1);
    const busy = await bucket.mount("main");
    await busy.writeFile("/b", "b");
    await busy.close();
    expect((await snapshotsOf(bucket)).length).toBe(2);
    // The head names the newest, and lists both for time travel.
    const head = JSON.parse(new TextDecoder().decode((await bucket.store("main").get("heads/main.json")).body));
    const seqs = await snapshotsOf(bucket);
    expect(head.snapshot).toBe(seqs.at(-1));
    expect(head.snapshots).toEqual(seqs);
  }, 120_000);
});

describe("cold mounts cost a handful of GETs plus the log tail", () => {
  test("100,000 files: format, head, snapshot and one probe; then one GET per record of the tail", async () => {
    const bucket = await testBucket("local", "cold-100k");
    const writer = await bucket.mount("main");
    const started = performance.now();
    await writer.transaction(async (tx) => {
      for (let index = 0; index < 100_000; index++) await tx.writeFile(`/d${index % 100}/f${index}.txt`, `file ${index}`);
    });
    const written = performance.now() - started;
    await writer.close(); // the snapshot
    const cold = await bucket.mount("main", { mode: "readonly" });
    const cost = cold.stats().requests;
    expect(cost.get.requests).toBe(4); // format.json, the head, the snapshot, the probe of the next slot (404)
    expect(cost.list.requests).toBe(0);
    expect(cold.stats().files.files).toBe(100_000);
    expect(await cold.readText("/d42/f99942.txt")).toBe("file 99942");
    await cold.close();
    // A writer adds a tail without a snapshot yet (and has not moved the head): a cold mount reads it record by record.
    const next = await bucket.mount("main");
    for (let index = 0; index < 5; index++) await next.writeFile(`/tail-${index}.txt`, `${index}`);
    const behind = await bucket.mount("main", { mode: "readonly" });
    expect(behind.stats().requests.get.requests).toBe(4 + 6); // + the epoch record and five writes
    expect(await behind.readText("/tail-4.txt")).toBe("4");
    console.log(`100,000 files: one transaction in ${Math.round(written)} ms; snapshot ${(await bucket.store("main").head(`snapshots/${String(2).padStart(20, "0")}`)).size} bytes`);
    await behind.close();
    await next.close();
  }, 300_000);

  for (const backend of ["local", "s3"] as Backend[]) {
    test(`the same count on ${backend} with 2,000 files`, async () => {
      const bucket = await testBucket(backend, `cold-count-${backend}`);
      const writer = await bucket.mount("main");
      await writer.transaction(async (tx) => {
        for (let index = 0; index < 2_000; index++) await tx.writeFile(`/d${index % 20}/f${index}.txt`, `file ${index}`);
      });
      await writer.close();
      const cold = await bucket.mount("main", { mode: "readonly" });
      expect(cold.stats().requests.get.requests).toBe(4);
      expect(cold.stats().files.files).toBe(2_000);
      await cold.close();
    }, 120_000);
  }
});
