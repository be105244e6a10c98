// Garbage collection (docs/s3-layout.md GC1-GC8): what goes, what stays, and that it stops
// rather than deletes more when anything goes wrong.
import { afterAll, describe, expect, test } from "bun:test";
import { FaultInjectingStore, FsError, type ObjectStore, type S3CachedFs } from "../../src/core.ts";
import { GarbageCollectionError } from "../../src/maintenance/garbage-collector.ts";
import { expectCode } from "../support/errors.ts";
import { removeTempDirectories } from "../support/temp.ts";
import { bytes, contents, keys, sleep, testBucket, type TestBucket } from "./buckets.ts";

afterAll(removeTempDirectories);

const KiB = 1024;
/** Small objects, so a few files make packs, chunks and inline data alike. */
const layout = { blockBytes: 16 * KiB, chunkBytes: 64 * KiB, largeFileBytes: 64 * KiB, inlineRecordBytes: 2 * KiB, packBytes: 32 * KiB };


/** A history with garbage in every kind of object: overwritten chunks, mostly dead packs, old records and snapshots. */
async function writeHistory(fs: S3CachedFs, generation: number): Promise<void> {
  await fs.transaction(async (tx) => {
    for (let index = 0; index < 12; index++) await tx.writeFile(`/packed/${index}.bin`, bytes(3 * KiB, generation * 100 + index));
  });
  await fs.writeFile("/large.bin", bytes(200 * KiB, generation)); // chunks
  await fs.writeFile("/small.txt", `small ${generation}`); // inline in its record
  await fs.writeFile(`/kept-${generation}.txt`, `kept from generation ${generation}`);
}

async function collectedWorkspace(label: string): Promise<{ bucket: TestBucket; fs: S3CachedFs }> {
  const bucket = await testBucket("local", label);
  const fs = await bucket.mount("main", { layout, snapshotEveryCommits: 4 });
  await writeHistory(fs, 1);
  await writeHistory(fs, 2);
  await fs.snapshot();
  return { bucket, fs };
}

describe("garbage collection", () => {
  test("deletes what nothing in the retention window names, and every current file stays readable", async () => {
    const { bucket, fs } = await collectedWorkspace("gc-basic");
    const before = await keys(bucket.store("main"));
    // The window starts in the middle of a quiet second between generation 2 and generation 3,
    // however long generation 3 takes to write (the machine may be busy): half a second of margin
    // on each side for the collector's own reading of the store's clock.
    const quietFrom = Date.now();
    await sleep(1_000);
    const quietTo = Date.now();
    await writeHistory(fs, 3); // within the window
    const expected = await contents(fs);
    const retentionMs = Date.now() - Math.round((quietFrom + quietTo) / 2);
    const report = await fs.collectGarbage({ retentionMs, graceMs: 0, compact: false });
    expect(report.dryRun).toBe(false);
    expect(report.clock).toBe("store");
    const deleted = report.deletions.map((deletion) => deletion.key);
    expect(deleted.some((key) => key.startsWith("chunks/"))).toBe(true); // generation 1's large file
    expect(deleted.some((key) => key.startsWith("snapshots/"))).toBe(true);
    expect(deleted.some((key) => key.startsWith("wal/"))).toBe(true);
    const after = await keys(bucket.store("main"));
    for (const key of deleted) {
      expect(before).toContain(key);
      expect(after).not.toContain(key);
    }

    const cold = await bucket.mount("main", { mode: "readonly" });
    expect(await contents(cold)).toEqual(expected);
    expect((await cold.fsck()).sound).toBe(true);
    // Time travel: the oldest kept seq opens, the one before it is gone and says so.
    const oldest = await bucket.mount("main", { mode: "readonly", atSeq: report.retainedFrom });
    expect((await oldest.readdir("/")).length).toBeGreaterThan(0);
    await oldest.close();
    const gone = await expectCode(bucket.mount("main", { mode: "readonly", atSeq: report.retainedFrom - 1 }), "ENOENT");
    expect(gone.message).toContain("no longer retained");
    await cold.close();
    await fs.close();
  }, 120_000);

  test("a dry run deletes nothing and reports exactly what a real run then deletes", async () => {
    const { bucket, fs } = await collectedWorkspace("gc-dry");
    await sleep(300);
    const before = await keys(bucket.store("main"));
    const dry = await fs.collectGarbage({ dryRun: true, retentionMs: 100, graceMs: 0, compact: false });
    expect(dry.dryRun).toBe(true);
    expect(dry.deletions.length).toBeGreaterThan(0);
    expect(dry.deletedBytes).toBe(dry.deletions.reduce((sum, deletion) => sum + deletion.size, 0));
    expect(await keys(bucket.store("main"))).toEqual(before);
    const real = await fs.collectGarbage({ retentionMs: 100, graceMs: 0, compact: false });
    expect(real.deletions.map((deletion) => deletion.key).sort()).toEqual(dry.deletions.map((deletion) => deletion.key).sort());
    await fs.close();
  }, 120_000);

  test("a read-only mount may only do a dry run", async () => {
    const { bucket, fs } = await collectedWorkspace("gc-readonly");
    const reader = await bucket.mount("main", { mode: "readonly" });
    const dry = await reader.collectGarbage({ dryRun: true, retentionMs: 0, graceMs: 0 });
    expect(dry.clock).toBe("local");
    await expectCode(reader.collectGarbage({ retentionMs: 0, graceMs: 0 }), "EROFS");
    await reader.close();
    await fs.close();
  }, 120_000);

  test("readers mounted at older states and time travel within the window read everything after it", async () => {
    const bucket = await testBucket("local", "gc-readers");
    const fs = await bucket.mount("main", { layout, snapshotEveryCommits: 4 });
    await writeHistory(fs, 1);
    const old = await contents(fs);
    const seq = fs.stats().seq;
    // Readers at this state that have read nothing yet (their bytes must come from the store), and time travel to it.
    const reader = await bucket.mount("main", { mode: "readonly" });
    const traveller = await bucket.mount("main", { mode: "readonly", atSeq: seq });
    const laggard = await bucket.mount("main", { mode: "readonly" });
    // The writer replaces or removes every file, several times over.
    await writeHistory(fs, 2);
    await fs.rm("/packed", { recursive: true });
    await fs.rm("/kept-1.txt");
    await writeHistory(fs, 3);
    await fs.snapshot();
    const report = await fs.collectGarbage({ retentionMs: 60_000, graceMs: 0 });
    expect(report.retainedFrom).toBeLessThanOrEqual(seq);
    expect(await contents(reader)).toEqual(old);
    expect(await contents(traveller)).toEqual(old);
    // The same run with no retention window takes those objects: the window is what kept them.
    const unkept = await fs.collectGarbage({ retentionMs: 0, graceMs: 0, compact: false });
    expect(unkept.deletions.length).toBeGreaterThan(0);
    const late = await bucket.mount("main", { mode: "readonly" }); // a fresh reader of the current state is unharmed
    expect(await contents(late)).toEqual(await contents(fs));
    // A reader left at that state past the window loses its old objects (it should have refreshed).
    await expectCode(laggard.readFile("/large.bin"), "EIO");
    await expectCode(laggard.readFile("/packed/3.bin"), "EIO");
    await Promise.all([reader.close(), traveller.close(), laggard.close(), late.close(), fs.close()]);
  }, 120_000);

  test("a reader whose log was collected (all but a record kept for its data) catches up on refresh", async () => {
    const bucket = await testBucket("local", "gc-refresh");
    const fs = await bucket.mount("main", { layout, snapshotEveryCommits: 1_000 });
    await fs.writeFile("/first.txt", "first");
    const reader = await bucket.mount("main", { mode: "readonly", headDelayMs: 0 });
    await fs.writeFile("/kept.txt", "its record stays: the current state reads this inline data");
    for (let index = 0; index < 5; index++) await fs.writeFile("/churn.txt", `churn ${index}`);
    await fs.snapshot();
    await sleep(20);
    const report = await fs.collectGarbage({ retentionMs: 0, graceMs: 0, compact: false });
    const seqOfKept = report.retainedFrom - 5; // the record holding /kept.txt
    const remaining = await keys(bucket.store("main"), "wal/");
    expect(remaining).toContain(`wal/${String(seqOfKept).padStart(20, "0")}`);
    expect(remaining).not.toContain(`wal/${String(seqOfKept + 1).padStart(20, "0")}`);
    const refreshed = await reader.refresh();
    expect(refreshed).toEqual({ seq: fs.stats().seq, changed: true });
    expect(await contents(reader)).toEqual(await contents(fs));
    // The kept record is no log any more: the next collection plans around it, and takes it once nothing needs it.
    await fs.rm("/kept.txt");
    await fs.writeFile("/churn.txt", "again");
    await fs.snapshot();
    await sleep(20);
    const again = await fs.collectGarbage({ retentionMs: 0, graceMs: 0, compact: false });
    expect(again.retainedFrom).toBeGreaterThan(report.retainedFrom);
    expect(again.deletions.map((deletion) => deletion.key)).toContain(`wal/${String(seqOfKept).padStart(20, "0")}`);
    expect((await fs.fsck()).problems).toEqual([]);
    await reader.refresh();
    expect(await contents(reader)).toEqual(await contents(fs));
    await Promise.all([reader.close(), fs.close()]);
  }, 120_000);

  test("an object younger than the grace period is kept, and goes once older", async () => {
    const { bucket, fs } = await collectedWorkspace("gc-grace");
    const raw = bucket.store("main");
    await raw.put("chunks/stray-upload", bytes(1000, 9)); // a write that has not committed yet
    const young = await fs.collectGarbage({ retentionMs: 0, graceMs: 60_000, compact: false });
    expect(young.deletions.map((deletion) => deletion.key)).not.toContain("chunks/stray-upload");
    expect(young.kept.young).toBeGreaterThan(0);
    expect(await keys(raw, "chunks/stray")).toEqual(["chunks/stray-upload"]);
    await sleep(50);
    const old = await fs.collectGarbage({ retentionMs: 0, graceMs: 20, compact: false });
    expect(old.deletions.map((deletion) => deletion.key)).toContain("chunks/stray-upload");
    await fs.close();
  }, 120_000);

  test("a large write whose commit is in flight while garbage is collected keeps its chunks (the grace period)", async () => {
    for (const graceMs of [60_000, 0]) {
      const bucket = await testBucket("local", `gc-inflight-${graceMs}`);
      let faults: FaultInjectingStore | undefined;
      const fs = await bucket.mount("main", { layout }, { wrap: (store) => (faults = new FaultInjectingStore(store)) });
      await fs.writeFile("/before.txt", "before");
      await fs.snapshot();
      // The commit record waits; its chunks are already stored and named by nothing committed.
      faults!.add({ operation: "put", keyPrefix: "wal/", fault: { kind: "delay", ms: 1_500 } });
      const content = bytes(300 * KiB, 5);
      const writing = fs.writeFile("/large.bin", content);
      const raw = bucket.store("main");
      while ((await keys(raw, "chunks/")).length < 5) await sleep(10);
      await fs.collectGarbage({ retentionMs: 0, graceMs, compact: false });
      await writing;
      const reader = await bucket.mount("main", { mode: "readonly" });
      if (graceMs > 0) {
        expect(await reader.readFile("/large.bin")).toEqual(Buffer.from(content));
      } else {
        // Without a grace period the same race loses the file: this is why the grace period exists.
        await expectCode(reader.readFile("/large.bin"), "EIO");
      }
      await reader.close();
      await fs.close();
    }
  }, 120_000);

  test("a zombie writer's collection deletes nothing: it finds itself fenced", async () => {
    const bucket = await testBucket("local", "gc-zombie");
    const zombie = await bucket.mount("main", { layout, snapshotEveryCommits: 4 });
    await writeHistory(zombie, 1);
    await zombie.snapshot();
    const successor = await bucket.mount("main", { layout, onWriterBusy: "takeover" });
    await writeHistory(successor, 2);
    await successor.writeFile("/successor.bin", bytes(150 * KiB, 77));
    const expected = await contents(successor);
    const before = (await keys(bucket.store("main"))).filter((key) => !key.startsWith("gc/"));
    await sleep(20);
    for (const compact of [false, true]) {
      await expectCode(zombie.collectGarbage({ retentionMs: 0, graceMs: 0, compact }), "EFENCED");
    }
    expect((await keys(bucket.store("main"))).filter((key) => !key.startsWith("gc/"))).toEqual(before);
    const reader = await bucket.mount("main", { mode: "readonly" });
    expect(await contents(reader)).toEqual(expected);
    await Promise.all([reader.close(), successor.close(), zombie.close()]);
  }, 120_000);
});

describe("garbage collection stops at the first error and deletes no more", () => {
  async function faulty(label: string) {
    const bucket = await testBucket("local", label);
    let faults: FaultInjectingStore | undefined;
    const fs = await bucket.mount("main", { layout, snapshotEveryCommits: 4, maxAttempts: 1 }, { wrap: (store) => (faults = new FaultInjectingStore(store)) });
    await writeHistory(fs, 1);
    await writeHistory(fs, 2);
    await fs.snapshot();
    await fs.writeFile("/after-the-snapshot.txt", "a record the collector must read");
    await sleep(20);
    const deletable = (await fs.collectGarbage({ dryRun: true, retentionMs: 0, graceMs: 0, compact: false })).deletions.length;
    expect(deletable).toBeGreaterThan(3);
    return { bucket, fs, faults: faults!, raw: bucket.store("main") as ObjectStore };
  }

  for (const [what, rule] of [
    ["a failed listing", { operation: "list" as const }],
    ["a failed read of the base snapshot", { operation: "get" as const, keyPrefix: "snapshots/" }],
    ["a failed read of a commit record", { operation: "get" as const, keyPrefix: "wal/" }],
  ] as const) {
    test(`${what} deletes nothing`, async () => {
      const { fs, faults, raw } = await faulty(`gc-fault-${rule.operation}-${"keyPrefix" in rule ? rule.keyPrefix.replace("/", "") : "all"}`);
      const before = (await keys(raw)).filter((key) => !key.startsWith("gc/"));
      faults.add({ ...rule, times: Number.POSITIVE_INFINITY, fault: { kind: "error", error: "server-error" } });
      const error = await expectCode(fs.collectGarbage({ retentionMs: 0, graceMs: 0, compact: false }), "EIO");
      expect(error.message).toContain("nothing was deleted");
      faults.clear();
      expect((await keys(raw)).filter((key) => !key.startsWith("gc/"))).toEqual(before);
      expect(faults.fired.some((fired) => fired.operation === "delete")).toBe(false);
      await fs.close();
    }, 120_000);
  }

  test("a failed deletion stops the run: nothing after it is attempted", async () => {
    const { fs, faults } = await faulty("gc-fault-delete");
    faults.add({ operation: "delete", after: 2, times: Number.POSITIVE_INFINITY, fault: { kind: "error", error: "unavailable" } });
    const before = fs.stats().requests.delete.requests;
    let caught: unknown;
    try {
      await fs.collectGarbage({ retentionMs: 0, graceMs: 0, compact: false, deleteConcurrency: 1 });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(GarbageCollectionError);
    const report = (caught as GarbageCollectionError).report;
    expect(report.deletions.length).toBe(2);
    expect((caught as FsError).message).toContain("stopped after 2 deletions");
    expect(fs.stats().requests.delete.requests - before).toBe(3); // two done, the third failed, no fourth
    faults.clear();
    await fs.close();
  }, 120_000);
});

describe("the log's collected start is never mistaken for an empty filesystem", () => {
  test("once wal/1 is collected, losing the head's snapshot makes mounts fail with EIO", async () => {
    const { bucket, fs } = await collectedWorkspace("gc-log-start");
    await sleep(20);
    const report = await fs.collectGarbage({ retentionMs: 0, graceMs: 0, compact: false });
    expect(report.deletions.map((deletion) => deletion.key)).toContain("wal/00000000000000000001");
    await fs.close();
    const raw = bucket.store("main");
    for (const key of await keys(raw, "snapshots/")) await raw.delete(key);
    const error = await expectCode(bucket.mount("main", { mode: "readonly" }), "EIO");
    expect(error.message).toContain("wal/00000000000000000001");
    await expectCode(bucket.mount("main"), "EIO"); // and a writer never starts a new log over the old one
    expect(await keys(raw, "wal/00000000000000000001")).toEqual([]);
  }, 120_000);

  test("once wal/1 is collected, losing the head: mounts start from the listed snapshots, never afresh; fsck reports it; a writer restores it", async () => {
    const { bucket, fs } = await collectedWorkspace("gc-lost-head");
    await sleep(20);
    await fs.collectGarbage({ retentionMs: 0, graceMs: 0, compact: false });
    const expected = await contents(fs);
    await fs.close();
    const raw = bucket.store("main");
    await raw.delete("heads/main.json");
    const reader = await bucket.mount("main", { mode: "readonly" });
    expect(await contents(reader)).toEqual(expected);
    const report = await reader.fsck();
    expect(report.problems.map((problem) => problem.key)).toEqual(["heads/main.json"]);
    await reader.close();
    const writer = await bucket.mount("main");
    expect(await contents(writer)).toEqual(expected);
    await writer.close(); // its head update writes the head again
    expect(await keys(raw, "wal/00000000000000000001")).toEqual([]);
    const check = await bucket.mount("main", { mode: "readonly" });
    expect((await check.fsck()).sound).toBe(true);
    await check.close();
  }, 120_000);
});
