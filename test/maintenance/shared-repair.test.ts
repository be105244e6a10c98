// fsck's repair beside other writers (docs/s3-layout.md K7): a shared writer rebuilds a damaged
// snapshot from an older one and the log, in place, so the head's list stays right for every
// writer and time travel keeps that seq; a damaged snapshot that cannot be rebuilt is deleted only
// once the head retains nothing older, so no other writer's head update lists it again; the
// command line repairs without fencing the writers at work.
import { afterAll, describe, expect, test } from "bun:test";
import type { MountConfig, S3CachedFs } from "../../src/core.ts";
import { RemoteLog } from "../../src/log/remote-log.ts";
import { snapshotKey } from "../../src/log/keys.ts";
import { expectCode } from "../support/errors.ts";
import { removeTempDirectories } from "../support/temp.ts";
import { cli } from "../cli/run-cli.ts";
import { contents, keys, sleep, testBucket, type Backend, type TestBucket } from "./buckets.ts";

afterAll(removeTempDirectories);

const KiB = 1024;
const layout = { blockBytes: 16 * KiB, chunkBytes: 64 * KiB, largeFileBytes: 64 * KiB, inlineRecordBytes: 2 * KiB, packBytes: 32 * KiB };
const shared: Partial<MountConfig> = { exclusive: false, layout, snapshotEveryCommits: 1_000 };

async function generation(fs: S3CachedFs, number: number): Promise<void> {
  await fs.transaction(async (tx) => {
    for (let index = 0; index < 6; index++) await tx.writeFile(`/gen${number}/packed-${index}.txt`, `${number}-${index} `.repeat(300 + index));
  });
  await fs.writeFile("/latest.txt", `latest is ${number}`);
}

/** Flips one byte in the middle of `key`. */
async function damage(bucket: TestBucket, key: string): Promise<void> {
  const raw = bucket.store("main");
  const body = (await raw.get(key)).body.slice();
  body[Math.floor(body.length / 2)]! ^= 0x01;
  await raw.put(key, body);
}

async function headSnapshots(bucket: TestBucket): Promise<number[]> {
  const head = await new RemoteLog(bucket.store("main")).readHead();
  return head!.head.snapshots ?? [];
}

async function checkFresh(bucket: TestBucket): Promise<{ sound: boolean; tree: Record<string, string> }> {
  const reader = await bucket.mount("main", { mode: "readonly" }, { cacheRoot: bucket.freshCacheRoot() });
  const report = await reader.fsck();
  const tree = await contents(reader);
  await reader.close();
  expect(report.problems).toEqual([]);
  return { sound: report.sound, tree };
}

for (const backend of ["local", "s3"] as Backend[]) {
  describe(`fsck repair by a shared writer (${backend})`, () => {
    test("a damaged snapshot is rebuilt in place from the log while another writer goes on; the head still lists it and time travel to it works", async () => {
      const bucket = await testBucket(backend, "shared-rebuild");
      const a = await bucket.mount("main", shared, { cacheRoot: bucket.freshCacheRoot() });
      const b = await bucket.mount("main", shared, { cacheRoot: bucket.freshCacheRoot() });
      await generation(a, 1);
      const first = await a.snapshot();
      const atFirst = await contents(a);
      await b.refresh();
      await generation(b, 2);
      const second = await b.snapshot();
      await generation(a, 3);
      expect(await headSnapshots(bucket)).toEqual(expect.arrayContaining([first, second]));
      await damage(bucket, snapshotKey(first));

      const reader = await bucket.mount("main", { mode: "readonly" }, { cacheRoot: bucket.freshCacheRoot() });
      const found = await reader.fsck();
      expect(found.sound).toBe(false);
      expect(found.problems.map((problem) => `${problem.kind} ${problem.key}`)).toContain(`corrupt-snapshot ${snapshotKey(first)}`);
      await reader.close();

      const repaired = await b.fsck({ repair: true });
      expect(repaired.problems).toEqual([]);
      expect(repaired.sound).toBe(true);
      expect(repaired.repairs).toEqual([`rebuilt ${snapshotKey(first)} from the log's start`]);
      // Nobody was fenced: both go on writing, and a's head update (close) keeps the list whole.
      await a.writeFile("/after-a.txt", "a after the repair");
      await b.writeFile("/after-b.txt", "b after the repair");
      const travel = await bucket.mount("main", { mode: "readonly", atSeq: first }, { cacheRoot: bucket.freshCacheRoot() });
      expect(await contents(travel)).toEqual(atFirst);
      await travel.close();
      await a.close();
      await b.close();
      expect(await headSnapshots(bucket)).toEqual(expect.arrayContaining([first, second]));
      const fresh = await checkFresh(bucket);
      expect(fresh.tree["/after-a.txt"]).toBe("a after the repair");
      expect(fresh.tree["/after-b.txt"]).toBe("b after the repair");
    }, 240_000);

    test("a damaged snapshot the log cannot rebuild is deleted once the head retains only newer states: the other shared writer's head never lists it again", async () => {
      const bucket = await testBucket(backend, "shared-unrebuildable");
      // An exclusive writer collects the log's start: only the oldest snapshot holds that state.
      const setup = await bucket.mount("main", { layout, snapshotEveryCommits: 1_000 });
      await generation(setup, 1);
      const oldest = await setup.snapshot();
      await sleep(backend === "s3" ? 1_100 : 10); // the store stamps whole seconds: the clock must pass the records
      await setup.collectGarbage({ retentionMs: 0, graceMs: 0, compact: false });
      await generation(setup, 2);
      const newer = await setup.snapshot();
      await generation(setup, 3);
      await setup.close();
      expect((await keys(bucket.store("main"), "wal/")).includes("wal/00000000000000000001")).toBe(false);

      // Two shared writers mount: each lists both snapshots in its head keeper.
      const a = await bucket.mount("main", shared, { cacheRoot: bucket.freshCacheRoot() });
      const b = await bucket.mount("main", shared, { cacheRoot: bucket.freshCacheRoot() });
      expect(await headSnapshots(bucket)).toEqual(expect.arrayContaining([oldest, newer]));
      await damage(bucket, snapshotKey(oldest));

      const repaired = await b.fsck({ repair: true });
      expect(repaired.problems).toEqual([]);
      expect(repaired.sound).toBe(true);
      const said = repaired.repairs!.join("\n");
      expect(said).toContain(`deleted the damaged ${snapshotKey(oldest)}`);
      expect(said).toContain(`retained from ${newer}`);
      expect(await keys(bucket.store("main"), "snapshots/")).not.toContain(snapshotKey(oldest));

      // a still listed the deleted snapshot; its next head updates adopt what b's head retains.
      await a.writeFile("/after-a.txt", "a after the repair");
      await a.snapshot();
      await a.writeFile("/later-a.txt", "later");
      await a.close();
      expect(await headSnapshots(bucket)).not.toContain(oldest);
      await b.close();
      expect(await headSnapshots(bucket)).not.toContain(oldest);
      const fresh = await checkFresh(bucket);
      expect(fresh.tree["/later-a.txt"]).toBe("later");
      await expectCode(bucket.mount("main", { mode: "readonly", atSeq: oldest }, { cacheRoot: bucket.freshCacheRoot() }), "ENOENT");
    }, 240_000);
  });
}

describe("fsck --repair on the command line beside a running writer (local)", () => {
  test("repairs a damaged snapshot without fencing the shared writer at work, which goes on writing", async () => {
    const bucket = await testBucket("local", "shared-cli-repair");
    const app = await bucket.mount("main", shared, { cacheRoot: bucket.freshCacheRoot() });
    await generation(app, 1);
    const first = await app.snapshot();
    await generation(app, 2);
    await app.snapshot();
    await damage(bucket, snapshotKey(first));
    const at = ["--local", bucket.describe.replace(/^local:/, ""), "--prefix", "main"];
    expect((await cli(["fsck", ...at])).status).toBe(3);
    const repair = await cli(["fsck", "--repair", ...at]);
    expect({ status: repair.status, stderr: repair.stderr }).toEqual({ status: 0, stderr: "" });
    expect(repair.stdout).toContain(`repaired: rebuilt ${snapshotKey(first)} from the log's start`);
    // The app was not fenced (an exclusive repair would have been: EFENCED here).
    await app.writeFile("/after.txt", "the app goes on");
    expect((await app.history()).some((entry) => entry.kinds.epoch !== undefined)).toBe(false);
    await app.close();
    expect((await cli(["fsck", ...at])).status).toBe(0);
    expect((await checkFresh(bucket)).tree["/after.txt"]).toBe("the app goes on");
  }, 240_000);
});
