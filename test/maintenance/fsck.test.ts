// fsck (docs/s3-layout.md K1-K5): a sound filesystem is reported sound; deliberately deleted or
// damaged objects are found and named, with the files they hurt; orphans are listed.
import { afterAll, describe, expect, test } from "bun:test";
import type { S3CachedFs } from "../../src/core.ts";
import { removeTempDirectories } from "../support/temp.ts";
import { bytes, keys, testBucket, type TestBucket } from "./buckets.ts";

afterAll(removeTempDirectories);

const KiB = 1024;
const layout = { blockBytes: 16 * KiB, chunkBytes: 64 * KiB, largeFileBytes: 64 * KiB, inlineRecordBytes: 2 * KiB, packBytes: 32 * KiB };


async function populated(label: string): Promise<{ bucket: TestBucket; fs: S3CachedFs }> {
  const bucket = await testBucket("local", label);
  const fs = await bucket.mount("main", { layout, snapshotEveryCommits: 3 });
  await fs.transaction(async (tx) => {
    for (let index = 0; index < 12; index++) await tx.writeFile(`/packed/${index}.bin`, bytes(3 * KiB, index));
  });
  await fs.writeFile("/large.bin", bytes(150 * KiB, 1));
  await fs.writeFile("/inline.txt", "inline");
  await fs.writeFile("/large.bin", bytes(150 * KiB, 2)); // the first version's chunks: history, still kept
  await fs.close();
  return { bucket, fs: await bucket.mount("main", { mode: "readonly" }) };
}

async function damage(bucket: TestBucket, key: string, at: number): Promise<void> {
  const store = bucket.store("main");
  const body = (await store.get(key)).body;
  body[at] = body[at]! ^ 0xff;
  await store.put(key, body);
}

describe("fsck", () => {
  test("a sound filesystem is sound; an unreferenced upload is an orphan, not a problem", async () => {
    const { bucket, fs } = await populated("fsck-sound");
    await bucket.store("main").put("chunks/never-committed", bytes(500, 9));
    const report = await fs.fsck();
    expect(report.problems).toEqual([]);
    expect(report.sound).toBe(true);
    expect(report.checked.records).toBeGreaterThanOrEqual(5);
    expect(report.checked.objects).toBeGreaterThanOrEqual(5);
    expect(report.checked.bytes).toBeGreaterThan(300 * KiB);
    expect(report.orphans.map((orphan) => orphan.key)).toEqual(["chunks/never-committed"]);
    expect(report.orphanBytes).toBe(500);
    await fs.close();
  }, 120_000);

  test("a deleted pack is a missing object, naming the files that need it", async () => {
    const { bucket, fs } = await populated("fsck-missing");
    const [pack] = await keys(bucket.store("main"), "packs/");
    await bucket.store("main").delete(pack!);
    const report = await fs.fsck();
    expect(report.sound).toBe(false);
    const problem = report.problems.find((entry) => entry.key === pack);
    expect(problem?.kind).toBe("missing-object");
    expect(problem?.paths?.length).toBeGreaterThan(0);
    expect(problem?.paths?.every((path) => path.startsWith("/packed/"))).toBe(true);
    await fs.close();
  }, 120_000);

  test("a damaged chunk fails its checksum (found only when data is verified)", async () => {
    const { bucket, fs } = await populated("fsck-checksum");
    const chunks = await keys(bucket.store("main"), "chunks/");
    await damage(bucket, chunks[0]!, 100);
    const report = await fs.fsck();
    expect(report.sound).toBe(false);
    expect(report.problems.map((entry) => [entry.kind, entry.key])).toEqual([["checksum-mismatch", chunks[0]!]]);
    const quick = await fs.fsck({ verifyData: false });
    expect(quick.sound).toBe(true);
    await fs.close();
  }, 120_000);

  test("a damaged commit record and a lost snapshot are found", async () => {
    const { bucket, fs } = await populated("fsck-record");
    const record = "wal/00000000000000000003";
    const size = (await bucket.store("main").head(record)).size;
    await damage(bucket, record, size - 40); // inside the header
    const head = JSON.parse(new TextDecoder().decode((await bucket.store("main").get("heads/main.json")).body));
    await bucket.store("main").delete(`snapshots/${String(head.snapshot).padStart(20, "0")}`);
    const report = await fs.fsck();
    expect(report.sound).toBe(false);
    const kinds = report.problems.map((entry) => `${entry.kind} ${entry.key}`);
    expect(kinds).toContain(`corrupt-record ${record}`);
    expect(kinds.some((entry) => entry.startsWith("missing-snapshot snapshots/"))).toBe(true);
    await fs.close();
  }, 120_000);

  test("a filesystem whose history was collected is checked from its oldest kept state", async () => {
    const bucket = await testBucket("local", "fsck-collected");
    const fs = await bucket.mount("main", { layout, snapshotEveryCommits: 2 });
    for (let index = 0; index < 6; index++) await fs.writeFile("/large.bin", bytes(100 * KiB, index));
    await fs.snapshot();
    await new Promise((resolve) => setTimeout(resolve, 20));
    const collected = await fs.collectGarbage({ retentionMs: 0, graceMs: 0 });
    expect(collected.retainedFrom).toBeGreaterThan(1);
    const report = await fs.fsck();
    expect(report.problems).toEqual([]);
    expect(report.retainedFrom).toBe(collected.retainedFrom);
    expect(report.orphans).toEqual([]);
    await fs.close();
  }, 120_000);
});
