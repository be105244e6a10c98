// The head is a hint and a snapshot a shortcut (docs/s3-layout.md S2, M2, M7, K1): when either is
// damaged (a flipped byte, a truncation, garbage, another filesystem's), read-only mounts,
// read-write mounts and fsck still work from an older snapshot or the log and show the right
// tree; fsck reports the damage (unsound) and its repair makes the filesystem sound again. When
// the only snapshot that can stand in for a collected log start is damaged, every mount fails
// naming it, and nothing is written.
import { afterAll, describe, expect, test } from "bun:test";
import type { S3CachedFs } from "../../src/core.ts";
import { DamagedHeadError, RemoteLog, headChecksum } from "../../src/log/remote-log.ts";
import { snapshotKey } from "../../src/log/keys.ts";
import { expectCode } from "../support/errors.ts";
import { removeTempDirectories } from "../support/temp.ts";
import { cli } from "../cli/run-cli.ts";
import { text, contents, keys, sleep, testBucket, type Backend, type TestBucket } from "./buckets.ts";

afterAll(removeTempDirectories);

const KiB = 1024;
const layout = { blockBytes: 16 * KiB, chunkBytes: 64 * KiB, largeFileBytes: 64 * KiB, inlineRecordBytes: 2 * KiB, packBytes: 32 * KiB };
const headKey = "heads/main.json";


async function generation(fs: S3CachedFs, number: number): Promise<void> {
  await fs.transaction(async (tx) => {
    for (let index = 0; index < 10; index++) await tx.writeFile(`/gen${number}/packed-${index}.txt`, text(3 * KiB + index, number * 100 + index));
  });
  await fs.writeFile(`/gen${number}/small.txt`, `generation ${number}`);
  await fs.writeFile("/latest.txt", `latest is ${number}`);
}

interface Workspace {
  bucket: TestBucket;
  expected: Record<string, string>;
  /** The newest snapshot (the head names it) and an older one the head lists. */
  newest: number;
  older: number;
}

/**
 * A filesystem whose log's start was collected: snapshots and the log after the oldest kept one
 * are all that is left, so only a snapshot can stand in for the head's.
 */
async function workspace(backend: Backend, label: string): Promise<Workspace> {
  const bucket = await testBucket(backend, label);
  const fs = await bucket.mount("main", { layout, snapshotEveryCommits: 1_000 });
  await generation(fs, 1);
  await fs.snapshot();
  await sleep(backend === "s3" ? 1_100 : 10); // the store stamps whole seconds: the clock must pass the records
  const report = await fs.collectGarbage({ retentionMs: 0, graceMs: 0, compact: false });
  expect(report.deletions.map((deletion) => deletion.key)).toContain("wal/00000000000000000001");
  await generation(fs, 2);
  const older = await fs.snapshot();
  await generation(fs, 3);
  const expected = await contents(fs);
  await fs.close(); // the close snapshot is the newest
  const head = await new RemoteLog(bucket.store("main")).readHead();
  const newest = head!.head.snapshot;
  expect(newest).toBeGreaterThan(older);
  expect(head!.head.snapshots).toContain(older);
  return { bucket, expected, newest, older };
}

type Damage = { name: string; apply: (bytes: Uint8Array) => Uint8Array };

function flip(offset: (length: number) => number): Damage["apply"] {
  return (bytes) => {
    const copy = bytes.slice();
    copy[offset(copy.length)]! ^= 0x01;
    return copy;
  };
}

const encoder = new TextEncoder();

const headDamages: Damage[] = [
  { name: "a flipped byte at offset 0", apply: flip(() => 0) },
  { name: "a flipped byte at offset 12", apply: flip(() => 12) },
  { name: "a flipped byte a third in", apply: flip((length) => Math.floor(length / 3)) },
  { name: "a flipped byte half-way", apply: flip((length) => Math.floor(length / 2)) },
  { name: "a flipped byte in the checksum", apply: flip((length) => length - 6) },
  { name: "a flipped last byte", apply: flip((length) => length - 1) },
  { name: "truncation", apply: (bytes) => bytes.slice(0, Math.floor(bytes.length / 2)) },
  { name: "garbage JSON", apply: () => encoder.encode(JSON.stringify({ hello: "world", seq: 3 })) },
  { name: "no JSON at all", apply: () => encoder.encode("this is not a head") },
];

const snapshotDamages: Damage[] = [
  { name: "a flipped byte at offset 0", apply: flip(() => 0) },
  { name: "a flipped byte in the gzip flags", apply: flip(() => 3) },
  { name: "a flipped byte in the gzip time", apply: flip(() => 5) },
  { name: "a flipped byte half-way", apply: flip((length) => Math.floor(length / 2)) },
  { name: "a flipped byte in the CRC", apply: flip((length) => length - 6) },
  { name: "a flipped last byte", apply: flip((length) => length - 1) },
  { name: "truncation", apply: (bytes) => bytes.slice(0, Math.floor(bytes.length / 2)) },
  { name: "garbage JSON", apply: () => Bun.gzipSync(encoder.encode(JSON.stringify({ format: 1, garbage: true }))) },
  { name: "no gzip at all", apply: () => encoder.encode("this is not a snapshot") },
  {
    name: "another filesystem's",
    apply: (bytes) => {
      const document = JSON.parse(new TextDecoder().decode(Bun.gunzipSync(bytes as Uint8Array<ArrayBuffer>)));
      document.position.fsId = "00000000-0000-0000-0000-000000000000";
      return Bun.gzipSync(encoder.encode(JSON.stringify(document)));
    },
  },
];

/** Every mount and fsck works over the damage; fsck says unsound; repair makes it sound; collection still works. */
async function survives(space: Workspace, key: string, damage: Damage): Promise<void> {
  const { bucket, expected } = space;
  const raw = bucket.store("main");
  const good = (await raw.get(key)).body;
  const bad = damage.apply(good);
  expect(Buffer.compare(Buffer.from(bad), Buffer.from(good))).not.toBe(0);
  await raw.put(key, bad);

  // A read-only mount shows the whole tree; fsck finds the damage.
  const reader = await bucket.mount("main", { mode: "readonly" }, { cacheRoot: bucket.freshCacheRoot() });
  expect(await contents(reader)).toEqual(expected);
  const found = await reader.fsck();
  expect(found.sound).toBe(false);
  expect(found.problems.map((problem) => problem.key)).toContain(key);
  // A read-only mount cannot repair.
  await expectCode(reader.fsck({ repair: true }), "EROFS");
  await reader.close();

  // A writer mounts over it, shows the same tree and writes; its own head update replaces a damaged head.
  const writer = await bucket.mount("main", { layout }, { cacheRoot: bucket.freshCacheRoot() });
  expect(await contents(writer)).toEqual(expected);
  await writer.writeFile("/after.txt", "written over the damage");
  await writer.close();
  const after = { ...expected, "/after.txt": "written over the damage" };
  if (key === headKey) {
    const check = await bucket.mount("main", { mode: "readonly" }, { cacheRoot: bucket.freshCacheRoot() });
    expect((await check.fsck()).problems).toEqual([]);
    await check.close();
  }

  // Repair, then everything is sound and whole, and collection works.
  const repairer = await bucket.mount("main", { layout }, { cacheRoot: bucket.freshCacheRoot() });
  const repaired = await repairer.fsck({ repair: true });
  expect(repaired.problems).toEqual([]);
  expect(repaired.sound).toBe(true);
  if (key !== headKey) expect(repaired.repairs!.join("\n")).toContain(key);
  await repairer.collectGarbage({ retentionMs: 24 * 3_600_000, graceMs: 0 });
  await repairer.collectGarbage({ retentionMs: 0, graceMs: 0 });
  await repairer.close();
  const cold = await bucket.mount("main", { mode: "readonly" }, { cacheRoot: bucket.freshCacheRoot() });
  expect(await contents(cold)).toEqual(after);
  expect((await cold.fsck()).problems).toEqual([]);
  await cold.close();
}

describe("a damaged head (local)", () => {
  for (const damage of headDamages) {
    test(`${damage.name}: mounts and fsck work from the snapshots; fsck reports it; a writer's head update or repair mends it`, async () => {
      const space = await workspace("local", "head");
      await survives(space, headKey, damage);
    }, 120_000);
  }

  test("another filesystem's head (valid, other fsId) is no hint: mounts work, fsck reports it, a writer replaces it", async () => {
    const space = await workspace("local", "head-foreign");
    await survives(space, headKey, {
      name: "another filesystem's",
      apply: (bytes) => {
        const { checksum: _checksum, ...head } = JSON.parse(new TextDecoder().decode(bytes));
        const foreign = { ...head, fsId: "00000000-0000-0000-0000-000000000000", seq: 1, snapshot: 0, snapshots: [] };
        return encoder.encode(JSON.stringify({ ...foreign, checksum: headChecksum(foreign) }));
      },
    });
  }, 120_000);
});

describe("a damaged newest snapshot (local)", () => {
  for (const damage of snapshotDamages) {
    test(`${damage.name}: mounts and fsck start from an older snapshot; fsck reports it; repair replaces it`, async () => {
      const space = await workspace("local", "snapshot");
      await survives(space, snapshotKey(space.newest), damage);
    }, 120_000);
  }
});

describe("damaged hints on the command line (local)", () => {
  test("fsck exits 3 over a damaged head and a damaged snapshot; fsck --repair mends both; fsck exits 0", async () => {
    const space = await workspace("local", "cli");
    const directory = space.bucket.describe.replace(/^local:/, "");
    const at = ["--local", directory, "--prefix", "main"];
    const raw = space.bucket.store("main");
    await raw.put(headKey, flip((length) => Math.floor(length / 2))((await raw.get(headKey)).body));
    await raw.put(snapshotKey(space.newest), flip((length) => length - 6)((await raw.get(snapshotKey(space.newest))).body));
    const before = await cli(["fsck", ...at]);
    expect(before.status).toBe(3);
    expect(before.stdout).toContain(headKey);
    expect(before.stdout).toContain(snapshotKey(space.newest));
    expect((await cli(["cat", "/latest.txt", ...at])).stdout).toBe("latest is 3");
    const repair = await cli(["fsck", "--repair", ...at]);
    expect({ status: repair.status, stderr: repair.stderr }).toEqual({ status: 0, stderr: "" });
    expect(repair.stdout).toContain(`repaired: rebuilt ${snapshotKey(space.newest)} from ${snapshotKey(space.older)}`);
    expect(repair.stdout).toContain("the filesystem is sound");
    expect((await cli(["fsck", ...at])).status).toBe(0);
    expect((await cli(["gc", "--delete", "--retention", "0", "--grace", "0", ...at])).status).toBe(0);
    expect((await cli(["fsck", ...at])).status).toBe(0);
  }, 300_000);
});

describe("when the only snapshot that can stand in is damaged", () => {
  test("every mount fails with EIO naming it, nothing is written, and fsck exits 3", async () => {
    const bucket = await testBucket("local", "only-snapshot");
    const fs = await bucket.mount("main", { layout });
    await generation(fs, 1);
    const only = await fs.snapshot();
    await sleep(10);
    await fs.collectGarbage({ retentionMs: 0, graceMs: 0, compact: false });
    await fs.close();
    const raw = bucket.store("main");
    expect(await keys(raw, "snapshots/")).toEqual([snapshotKey(only)]);
    const damaged = flip((length) => Math.floor(length / 2))((await raw.get(snapshotKey(only))).body);
    await raw.put(snapshotKey(only), damaged);
    const before = await keys(raw);
    for (const config of [{ mode: "readonly" as const }, {}, { onWriterBusy: "takeover" as const }]) {
      const error = await expectCode(bucket.mount("main", config, { cacheRoot: bucket.freshCacheRoot() }), "EIO");
      expect(error.message).toContain(snapshotKey(only));
    }
    // Never started afresh: no record, no snapshot written; the damaged snapshot is left for a person to recover.
    expect((await keys(raw)).filter((key) => key !== "writer/lease.json")).toEqual(before.filter((key) => key !== "writer/lease.json"));
    expect(Buffer.compare(Buffer.from((await raw.get(snapshotKey(only))).body), Buffer.from(damaged))).toBe(0);
    const directory = bucket.describe.replace(/^local:/, "");
    const fsck = await cli(["fsck", "--local", directory, "--prefix", "main"]);
    expect(fsck.status).toBe(3);
    expect(fsck.stderr).toContain(snapshotKey(only));
    const repair = await cli(["fsck", "--repair", "--local", directory, "--prefix", "main"]);
    expect(repair.status).toBe(3);
    expect(Buffer.compare(Buffer.from((await raw.get(snapshotKey(only))).body), Buffer.from(damaged))).toBe(0);
  }, 120_000);

  test("a damaged head is never read as 'no head': DamagedHeadError names the object", async () => {
    const bucket = await testBucket("local", "head-error");
    const fs = await bucket.mount("main");
    await fs.writeFile("/a.txt", "a");
    await fs.close();
    const raw = bucket.store("main");
    await raw.put(headKey, encoder.encode("{"));
    const read = await new RemoteLog(raw).readHeadOrDamage();
    expect(read).toBeInstanceOf(DamagedHeadError);
    expect((read as DamagedHeadError).message).toContain(headKey);
  }, 60_000);
});

describe("damaged hints on Ceph RGW", () => {
  test("a flipped byte in the head: mounts, fsck and repair work", async () => {
    const space = await workspace("s3", "head-s3");
    await survives(space, headKey, headDamages[3]!);
  }, 300_000);

  test("a flipped byte in the newest snapshot: mounts, fsck and repair work", async () => {
    const space = await workspace("s3", "snapshot-s3");
    await survives(space, snapshotKey(space.newest), snapshotDamages[3]!);
  }, 300_000);
});
