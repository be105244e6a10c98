// Garbage collection works after any sequence of operations: random writes, removals, copies,
// snapshots, collections with short and long windows, compactions and remounts, on
// LocalObjectStore. After every step a collection can plan (a dry run succeeds), fsck finds the
// filesystem sound, and the tree is the model's. Compaction converges: a second run right after
// the first rewrites nothing.
import { afterAll, describe, expect, test } from "bun:test";
import type { S3CachedFs } from "../../src/core.ts";
import { seedFrom, seededRandom } from "../../src/stores/random.ts";
import { removeTempDirectories } from "../support/temp.ts";
import { text, contents, testBucket, type TestBucket } from "./buckets.ts";

afterAll(removeTempDirectories);

const KiB = 1024;
/** Small objects, so a few files make inline data, packs and chunks alike. */
const layout = { blockBytes: 16 * KiB, chunkBytes: 64 * KiB, largeFileBytes: 64 * KiB, inlineRecordBytes: 2 * KiB, packBytes: 32 * KiB };


async function expectCollectable(fs: S3CachedFs, model: Map<string, string>, step: string): Promise<void> {
  for (const retentionMs of [0, 24 * 3_600_000]) {
    const dry = await fs.collectGarbage({ dryRun: true, retentionMs, graceMs: 0 }).catch((error: Error) => error);
    if (dry instanceof Error) throw new Error(`after ${step}: a dry run with retention ${retentionMs} failed: ${dry.message}`);
  }
  const report = await fs.fsck();
  if (!report.sound) throw new Error(`after ${step}: fsck: ${JSON.stringify(report.problems)}`);
  expect(await contents(fs)).toEqual(Object.fromEntries([...model].sort(([a], [b]) => a.localeCompare(b))));
}

async function run(seed: number, steps: number): Promise<string[]> {
  const random = seededRandom(seed);
  const pick = <T,>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const bucket: TestBucket = await testBucket("local", `gc-sequences-${seed}`);
  const mount = (cacheRoot?: string) => bucket.mount("main", { layout, snapshotEveryCommits: 1 + Math.floor(random() * 6) }, cacheRoot === undefined ? {} : { cacheRoot });
  let cacheRoot = bucket.freshCacheRoot();
  let fs = await mount(cacheRoot);
  const model = new Map<string, string>();
  const trail: string[] = [];
  let generation = 0;
  try {
    for (let index = 0; index < steps; index++) {
      const names = [...model.keys()];
      const action = pick(["small", "small", "batch", "large", "rm", "copy", "rename", "snapshot", "gc", "gc", "compact", "remount", "remount-cold"] as const);
      const step = `${index}:${action}`;
      trail.push(step);
      generation++;
      switch (action) {
        case "small": {
          const path = `/dir${Math.floor(random() * 3)}/small-${Math.floor(random() * 8)}.txt`;
          const body = text(1 + Math.floor(random() * 200), generation);
          await fs.writeFile(path, body);
          model.set(path, body);
          break;
        }
        case "batch": {
          const count = 2 + Math.floor(random() * 12);
          const files: [string, string][] = Array.from({ length: count }, (_, file) => [`/batch/${Math.floor(random() * 20)}-${file}.txt`, text(1 * KiB + Math.floor(random() * 4 * KiB), generation * 100 + file)]);
          await fs.transaction(async (tx) => {
            for (const [path, body] of files) await tx.writeFile(path, body);
          });
          for (const [path, body] of files) model.set(path, body);
          break;
        }
        case "large": {
          const path = `/large-${Math.floor(random() * 3)}.bin`;
          const body = text(70 * KiB + Math.floor(random() * 100 * KiB), generation);
          await fs.writeFile(path, body);
          model.set(path, body);
          break;
        }
        case "rm":
          if (names.length === 0) break;
          for (let count = 1 + Math.floor(random() * 4); count > 0 && model.size > 0; count--) {
            const path = pick([...model.keys()]);
            await fs.rm(path);
            model.delete(path);
          }
          break;
        case "copy": {
          if (names.length === 0) break;
          const from = pick(names);
          const to = `/copies/${Math.floor(random() * 5)}.txt`;
          if (to === from) break;
          await fs.mkdir("/copies", { recursive: true });
          await fs.copyFile(from, to);
          model.set(to, model.get(from)!);
          break;
        }
        case "rename": {
          if (names.length === 0) break;
          const from = pick(names);
          const to = `/moved/${generation}.txt`;
          await fs.mkdir("/moved", { recursive: true });
          await fs.rename(from, to);
          model.set(to, model.get(from)!);
          model.delete(from);
          break;
        }
        case "snapshot":
          await fs.snapshot();
          break;
        case "gc":
          await fs.collectGarbage({ retentionMs: pick([0, 0, 1, 50, 24 * 3_600_000]), graceMs: 0, compact: random() < 0.5 });
          break;
        case "compact": {
          await fs.collectGarbage({ retentionMs: pick([0, 24 * 3_600_000]), graceMs: 0, compactBelow: 0.9 });
          const again = await fs.collectGarbage({ retentionMs: pick([0, 24 * 3_600_000]), graceMs: 0, compactBelow: 0.9 });
          if (again.compaction.objects.length > 0) throw new Error(`after ${step}: a second compaction rewrote ${again.compaction.objects.map((object) => object.key).join(", ")}`);
          break;
        }
        case "remount":
          await fs.close();
          fs = await mount(cacheRoot);
          break;
        case "remount-cold":
          await fs.close();
          cacheRoot = bucket.freshCacheRoot();
          fs = await mount(cacheRoot);
          break;
      }
      await expectCollectable(fs, model, trail.join(" "));
    }
    await fs.close();
    // A cold read-only mount sees the same tree, and fsck agrees.
    const cold = await bucket.mount("main", { mode: "readonly" });
    expect(await contents(cold)).toEqual(Object.fromEntries([...model].sort(([a], [b]) => a.localeCompare(b))));
    expect((await cold.fsck()).sound).toBe(true);
    await cold.close();
  } catch (error) {
    await fs.close().catch(() => {});
    throw new Error(`seed ${seed}: ${(error as Error).message}`, { cause: error });
  }
  return trail;
}

describe("garbage collection after any sequence of operations", () => {
  const seed = seedFrom("GC_SEQUENCE_SEED");
  for (const offset of [0, 1, 2]) {
    test(`random writes, collections, compactions, snapshots and remounts (seed ${seed + offset}): a collection always plans, fsck is sound`, async () => {
      await run(seed + offset, 36);
    }, 300_000);
  }

  test("compaction converges: right after a run, a second run rewrites nothing", async () => {
    const bucket = await testBucket("local", "gc-converges");
    const fs = await bucket.mount("main", { layout });
    await fs.writeFile("/a.txt", "abc");
    await fs.writeFile("/b.txt", "x".repeat(500));
    await fs.writeFile("/b.txt", "y".repeat(500)); // the record holding the first /b.txt is now mostly dead
    await fs.transaction(async (tx) => {
      for (let index = 0; index < 16; index++) await tx.writeFile(`/packed/${index}.txt`, text(3 * KiB, index));
    });
    for (let index = 1; index < 16; index++) await fs.rm(`/packed/${index}.txt`);
    await fs.snapshot();
    const first = await fs.collectGarbage({ retentionMs: 0, graceMs: 0 });
    expect(first.compaction.objects.length).toBeGreaterThan(0);
    await fs.snapshot(); // the head's snapshot now covers compaction's own record
    const second = await fs.collectGarbage({ retentionMs: 0, graceMs: 0 });
    expect(second.compaction.objects).toEqual([]);
    expect(second.compaction.commits).toEqual([]);
    const third = await fs.collectGarbage({ retentionMs: 24 * 3_600_000, graceMs: 0 });
    expect(third.compaction.objects).toEqual([]);
    expect(await fs.readText("/a.txt")).toBe("abc");
    expect((await fs.fsck()).problems).toEqual([]);
    await fs.close();
  }, 120_000);
});
