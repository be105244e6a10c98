// Compaction (docs/s3-layout.md L3a, GC5): packs with little live data are rewritten by a
// `relocate` record that repoints every file sharing the bytes and changes nothing else.
import { afterAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import type { S3CachedFs } from "../../src/core.ts";
import { Namespace } from "../../src/namespace/namespace.ts";
import { OpApplier } from "../../src/namespace/apply-ops.ts";
import { hashBytes } from "../../src/log/ops.ts";
import { removeTempDirectories, tempDirectory } from "../support/temp.ts";
import { bytes, contents, keys, sleep, testBucket } from "./buckets.ts";

afterAll(removeTempDirectories);

const KiB = 1024;
const layout = { blockBytes: 16 * KiB, chunkBytes: 64 * KiB, largeFileBytes: 64 * KiB, inlineRecordBytes: 1 * KiB, packBytes: 32 * KiB };


async function metadata(fs: S3CachedFs): Promise<Record<string, { mode: number; size: number; mtimeMs: number; ctimeMs: number; birthtimeMs: number }>> {
  const result: Record<string, { mode: number; size: number; mtimeMs: number; ctimeMs: number; birthtimeMs: number }> = {};
  for (const entry of await fs.walk("/")) {
    const { mode, size, mtimeMs, ctimeMs, birthtimeMs } = entry.stats;
    result[`/${entry.path}`] = { mode, size, mtimeMs, ctimeMs, birthtimeMs };
  }
  return result;
}

describe("compaction", () => {
  test("a mostly dead pack is rewritten; bytes, times, modes and shared copies are unchanged; replay agrees", async () => {
    const bucket = await testBucket("local", "compaction");
    const fs = await bucket.mount("main", { layout, snapshotEveryCommits: 1_000 });
    await fs.transaction(async (tx) => {
      for (let index = 0; index < 20; index++) await tx.writeFile(`/packed/${index}.bin`, bytes(3 * KiB, index));
    });
    const packs = await keys(bucket.store("main"), "packs/");
    expect(packs.length).toBeGreaterThanOrEqual(2);
    // Pack keys are random: the first pack is the one holding the first file's bytes.
    const first = bytes(3 * KiB, 0);
    const firstPack = await (async () => {
      for (const key of packs) if (Buffer.from((await bucket.store("main").get(key)).body).includes(first)) return key;
    })();
    expect(firstPack).toBeDefined();
    await fs.copyFile("/packed/0.bin", "/copy-of-0.bin"); // shares extents with /packed/0.bin
    await fs.chmod("/packed/1.bin", 0o600);
    await fs.utimes("/packed/0.bin", new Date(1_000_000), new Date(2_000_000));
    for (let index = 2; index < 20; index++) await fs.rm(`/packed/${index}.bin`);
    const before = { data: await contents(fs), meta: await metadata(fs) };

    const dry = await fs.collectGarbage({ dryRun: true, retentionMs: 60_000, graceMs: 0 });
    expect(dry.compaction.objects.map((object) => object.key)).toContain(firstPack!);
    expect(dry.compaction.commits).toEqual([]);
    const seqBefore = fs.stats().seq;
    const report = await fs.collectGarbage({ retentionMs: 60_000, graceMs: 0, compactBelow: 0.5 });
    expect(report.compaction.objects.map((object) => object.key)).toContain(firstPack!);
    expect(report.compaction.objects.every((object) => object.liveFraction < 0.5)).toBe(true);
    expect(report.compaction.commits.length).toBeGreaterThanOrEqual(1);
    expect(report.compaction.movedBytes).toBe(report.compaction.objects.reduce((sum, object) => sum + object.liveBytes, 0));
    expect(fs.stats().seq).toBeGreaterThan(seqBefore);
    // Within the retention window the old packs stay: states before the compaction still name them.
    expect(report.deletions.map((deletion) => deletion.key)).not.toContain(firstPack!);
    expect(await contents(fs)).toEqual(before.data);
    expect(await metadata(fs)).toEqual(before.meta);

    // Replaying the whole log (no snapshot at all) rebuilds exactly the writer's namespace.
    await fs.snapshot();
    const raw = bucket.store("main");
    const replayedBucketCopy = await bucket.mount("main", { mode: "readonly" });
    expect(await metadata(replayedBucketCopy)).toEqual(before.meta);
    await replayedBucketCopy.close();
    for (const key of await keys(raw, "snapshots/")) await raw.delete(key);
    await raw.delete("heads/main.json");
    const replayed = await bucket.mount("main", { mode: "readonly" });
    expect(await metadata(replayed)).toEqual(before.meta);
    expect(await contents(replayed)).toEqual(before.data);
    await replayed.close();
    await fs.snapshot();

    // Every file, the shared copy included, now reads from the new objects: the old packs can go.
    await sleep(20);
    const later = await fs.collectGarbage({ retentionMs: 0, graceMs: 0, compact: false });
    for (const pack of report.compaction.objects.map((object) => object.key)) expect(later.deletions.map((deletion) => deletion.key)).toContain(pack);
    const cold = await bucket.mount("main", { mode: "readonly" });
    expect(await contents(cold)).toEqual(before.data);
    expect((await cold.fsck()).sound).toBe(true);
    await cold.close();
    await fs.close();
  }, 120_000);

  test("relocate repoints every file sharing an extent, skips extents no file uses, and changes no metadata", () => {
    const namespace = new Namespace(join(tempDirectory("relocate"), "index.sqlite"));
    const applier = new OpApplier(namespace);
    const piece = bytes(100, 1);
    const extent = { object: "packs/1-1-0", offset: 40, length: 100, hash: hashBytes(piece) };
    namespace.beginBatch();
    applier.apply({ op: "write", path: "/a", mode: 0o640, extents: [extent], time: 1_000 }, "wal/00000000000000000001");
    applier.apply({ op: "copy", from: "/a", to: "/b", recursive: false, overwrite: true, time: 2_000 }, "wal/00000000000000000001");
    const before = ["/a", "/b"].map((path) => namespace.pending.resolve(path, true, "stat").node);
    applier.apply(
      {
        op: "relocate",
        moves: [
          { ...extent, toObject: "", toOffset: 0 },
          { object: "packs/gone", offset: 0, length: 10, hash: "0000000000000000", toObject: "packs/new", toOffset: 0 },
        ],
        time: 3_000,
      },
      "wal/00000000000000000002",
    );
    for (const [index, path] of ["/a", "/b"].entries()) {
      const { node } = namespace.pending.resolve(path, true, "stat");
      expect(node).toEqual(before[index]!);
      expect(namespace.pending.extents(node.id)).toEqual([{ position: 0, object: "wal/00000000000000000002", offset: 0, length: 100, hash: extent.hash }]);
    }
    namespace.commitBatch({});
    namespace.close();
  }, 120_000);
});
