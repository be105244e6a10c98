// Forks (docs/s3-layout.md F1-F4): a new prefix that starts from a state of another filesystem
// without copying its bytes, then changes independently; garbage collection of either never
// breaks the other.
import { afterAll, describe, expect, test } from "bun:test";
import { InvalidRequestError, LocalObjectStore, S3CachedFsManagerImpl, type ObjectStore, type PutOptions, type S3CachedFs } from "../../src/core.ts";
import { testWorkspace } from "../support/mounts.ts";
import { freshBucket, s3Server } from "../support/s3-server.ts";
import { OriginStore } from "../../src/stores/origin-store.ts";
import { removeTempDirectories, tempDirectory } from "../support/temp.ts";
import { expectCode } from "../support/errors.ts";
import { bytes, contents, keys, sleep, testBucket, type Backend, type TestBucket } from "./buckets.ts";

afterAll(removeTempDirectories);

const KiB = 1024;
const layout = { blockBytes: 16 * KiB, chunkBytes: 64 * KiB, largeFileBytes: 64 * KiB, inlineRecordBytes: 2 * KiB, packBytes: 32 * KiB };


async function source(bucket: TestBucket, prefix: string): Promise<S3CachedFs> {
  const fs = await bucket.mount(prefix, { layout, snapshotEveryCommits: 4 });
  await fs.transaction(async (tx) => {
    for (let index = 0; index < 10; index++) await tx.writeFile(`/packed/${index}.bin`, bytes(3 * KiB, index));
  });
  await fs.writeFile("/large.bin", bytes(150 * KiB, 1));
  await fs.writeFile("/inline.txt", "inline from the source");
  await fs.symlink("/inline.txt", "/link");
  return fs;
}

for (const backend of ["local", "s3"] as Backend[]) {
  describe(`forks (${backend})`, () => {
    test("a fork copies no bytes, then the fork and its source diverge independently; collecting either never breaks the other", async () => {
      const bucket = await testBucket(backend, `fork-${backend}`);
      const original = await source(bucket, "ws/main");
      const inherited = await contents(original);
      const result = await original.fork({ prefix: "ws/fork" });
      expect(result.parent.prefix).toBe("ws/main");
      expect(result.seq).toBe(original.stats().seq);
      // Only metadata in the fork's prefix: the data stays where it is.
      expect(await keys(bucket.store("ws/fork"))).toEqual(["format.json", "heads/main.json", `snapshots/${String(result.seq).padStart(20, "0")}`]);
      expect(await keys(bucket.store("ws/main"), "forks/")).toEqual([`forks/${result.fsId}.json`]);

      const fork = await bucket.mount("ws/fork", { layout, snapshotEveryCommits: 4 });
      expect(await contents(fork)).toEqual(inherited);
      expect(await fork.readlink("/link")).toBe("/inline.txt");
      expect(fork.stats().seq).toBe(result.seq + 1); // its own epoch record follows the fork point
      // Diverge.
      await fork.writeFile("/large.bin", bytes(150 * KiB, 2));
      await fork.rm("/packed/1.bin");
      await fork.writeFile("/fork-only.txt", "fork");
      await original.writeFile("/inline.txt", "changed in the source");
      await original.writeFile("/source-only.txt", "source");
      const forkState = await contents(fork);
      const originalState = await contents(original);
      expect(forkState["/inline.txt"]).toBe("inline from the source");
      expect(forkState["/source-only.txt"]).toBeUndefined();
      expect(originalState["/fork-only.txt"]).toBeUndefined();
      expect(originalState["/packed/1.bin"]).toBeDefined();
      expect(await original.readFile("/large.bin")).toEqual(Buffer.from(bytes(150 * KiB, 1)));

      // The source forgets everything the fork inherited, and collects with no retention at all.
      await original.rm("/packed", { recursive: true });
      await original.writeFile("/large.bin", bytes(150 * KiB, 3));
      await original.rm("/inline.txt");
      await original.snapshot();
      await fork.snapshot();
      await sleep(backend === "s3" ? 1_100 : 20); // S3 times have a one-second grain
      const collectedOriginal = await original.collectGarbage({ retentionMs: 0, graceMs: 0 });
      expect(collectedOriginal.kept.pinned).toBe(1);
      const collectedFork = await fork.collectGarbage({ retentionMs: 0, graceMs: 0 });
      expect(collectedFork.deletions.every((deletion) => !deletion.key.startsWith("origin/"))).toBe(true);
      // Each, mounted cold, still reads all of its own state, and each is sound.
      const coldFork = await bucket.mount("ws/fork", { mode: "readonly" });
      expect(await contents(coldFork)).toEqual(forkState);
      expect((await coldFork.fsck()).problems).toEqual([]);
      const coldOriginal = await bucket.mount("ws/main", { mode: "readonly" });
      expect(await contents(coldOriginal)).toEqual(await contents(original));
      expect((await coldOriginal.fsck()).problems).toEqual([]);
      await Promise.all([coldFork.close(), coldOriginal.close(), fork.close(), original.close()]);
    }, 120_000);
  });
}

describe("forks (local)", () => {
  test("the registration is what protects the fork: without it, the source's collection takes the inherited objects", async () => {
    const bucket = await testBucket("local", "fork-unregistered");
    const original = await source(bucket, "ws/main");
    const result = await original.fork({ prefix: "ws/fork" });
    const fork = await bucket.mount("ws/fork", { mode: "readonly" });
    await original.rm("/packed", { recursive: true });
    await original.rm("/large.bin");
    await original.snapshot();
    await bucket.store("ws/main").delete(`forks/${result.fsId}.json`);
    await sleep(20);
    await original.collectGarbage({ retentionMs: 0, graceMs: 0 });
    await expectCode(fork.readFile("/large.bin"), "EIO");
    await Promise.all([fork.close(), original.close()]);
  }, 120_000);

  test("a fork of a fork, and a fork of a past state, read through every ancestor", async () => {
    const bucket = await testBucket("local", "fork-chain");
    const original = await source(bucket, "ws/main");
    const firstState = await contents(original);
    const firstSeq = original.stats().seq;
    await original.writeFile("/later.txt", "later");
    await original.fork({ prefix: "ws/child" });
    const child = await bucket.mount("ws/child", { layout });
    await child.writeFile("/child.bin", bytes(100 * KiB, 8));
    const childState = await contents(child);
    await child.fork({ prefix: "ws/grandchild" });
    const grandchild = await bucket.mount("ws/grandchild", { mode: "readonly" });
    expect(await contents(grandchild)).toEqual(childState);
    // From the past: a time-travel mount forks the state it shows.
    const past = await bucket.mount("ws/main", { mode: "readonly", atSeq: firstSeq });
    const pastFork = await past.fork({ prefix: "ws/from-the-past" });
    expect(pastFork.seq).toBe(firstSeq);
    const fromThePast = await bucket.mount("ws/from-the-past", { mode: "readonly" });
    expect(await contents(fromThePast)).toEqual(firstState);
    // Every filesystem in the family is sound, and the source's pins are no orphans.
    for (const fs of [original, child, grandchild, fromThePast]) {
      const report = await fs.fsck();
      expect(report.problems).toEqual([]);
      expect(report.orphans).toEqual([]);
    }
    await Promise.all([grandchild.close(), fromThePast.close(), past.close(), child.close(), original.close()]);
  }, 120_000);

  test("a fork refuses a prefix that is taken or nested, and never writes another filesystem's objects", async () => {
    const bucket = await testBucket("local", "fork-refusals");
    const original = await source(bucket, "ws/main");
    const other = await bucket.mount("ws/other");
    await other.close();
    await expectCode(original.fork({ prefix: "ws/other" }), "EEXIST");
    await expectCode(original.fork({ prefix: "ws/main/inner" }), "EINVAL");
    await expectCode(original.fork({ prefix: "ws" }), "EINVAL");
    expect(await keys(bucket.store("ws/main"), "forks/")).toEqual([]); // a failed fork leaves no registration
    await original.fork({ prefix: "ws/fork" });
    const fork = await bucket.mount("ws/fork");
    // The store under a fork refuses to write or delete an inherited object, whatever asks it to.
    const sourceId = JSON.parse(new TextDecoder().decode((await bucket.store("ws/main").get("format.json")).body)).fsId as string;
    const [pack] = await keys(bucket.store("ws/main"), "packs/");
    const routed = new OriginStore(bucket.store("ws/fork"));
    routed.configure({ [sourceId]: "ws/main" }, bucket.store("ws/fork"));
    expect((await routed.head(`origin/${sourceId}/${pack}`)).size).toBeGreaterThan(0);
    await expect(routed.delete(`origin/${sourceId}/${pack}`)).rejects.toBeInstanceOf(InvalidRequestError);
    await expect(routed.put(`origin/${sourceId}/${pack}`, new Uint8Array(1))).rejects.toBeInstanceOf(InvalidRequestError);
    expect(await keys(bucket.store("ws/main"), pack!)).toEqual([pack!]);
    await Promise.all([fork.close(), original.close()]);
  }, 120_000);
});

describe("forks and garbage collection running together (F3, GC6)", () => {
  test("a fork of a state that collection has just released fails, and leaves no registration", async () => {
    const bucket = await testBucket("local", "fork-released");
    const original = await source(bucket, "ws/main");
    const seq = original.stats().seq;
    const past = await bucket.mount("ws/main", { mode: "readonly", atSeq: seq });
    await original.writeFile("/large.bin", bytes(150 * KiB, 9));
    await original.snapshot();
    await sleep(20);
    const report = await original.collectGarbage({ retentionMs: 0, graceMs: 0 });
    expect(report.retainedFrom).toBeGreaterThan(seq);
    const refused = await expectCode(past.fork({ prefix: "ws/too-late" }), "ENOENT");
    expect(refused.message).toContain("no longer retained");
    expect(await keys(bucket.store("ws/main"), "forks/")).toEqual([]);
    expect(await keys(bucket.store("ws/too-late"), "format.json")).toEqual([]);
    await Promise.all([past.close(), original.close()]);
  }, 120_000);

  test("a fork registered while garbage is collected stops the run before its first deletion", async () => {
    const bucket = await testBucket("local", "fork-during-gc");
    let armed = false;
    let headWrites = 0;
    // When the collector announces what it retains (its second head update: the first brings the
    // head up to date before the listing), a fork registers itself.
    const racing = (store: ObjectStore): ObjectStore =>
      new Proxy(store, {
        get(target, property, receiver) {
          if (property !== "put") return Reflect.get(target, property, receiver);
          return async (key: string, body: Uint8Array, options?: PutOptions) => {
            const result = await target.put(key, body, options);
            if (armed && key === "heads/main.json" && ++headWrites === 2) {
              armed = false;
              await target.put("forks/00000000-0000-0000-0000-000000000000.json", new TextEncoder().encode(JSON.stringify({ fsId: "x", prefix: "ws/x", seq: 1, created: "" })));
            }
            return result;
          };
        },
      });
    const original = await bucket.mount("ws/main", { layout }, { wrap: racing });
    await original.writeFile("/large.bin", bytes(150 * KiB, 1));
    await original.writeFile("/large.bin", bytes(150 * KiB, 2));
    await original.snapshot();
    await sleep(20);
    const planned = await original.collectGarbage({ dryRun: true, retentionMs: 0, graceMs: 0 });
    expect(planned.deletions.length).toBeGreaterThan(0);
    const before = await keys(bucket.store("ws/main"));
    armed = true;
    const stopped = await expectCode(original.collectGarbage({ retentionMs: 0, graceMs: 0, compact: false }), "EBUSY");
    expect(stopped.message).toContain("nothing was deleted");
    const after = await keys(bucket.store("ws/main"));
    for (const key of before) expect(after).toContain(key);
    await original.close();
  }, 120_000);
});

describe("forks need a store that can reach other prefixes", () => {
  test("forking, or mounting a fork, through a store that cannot fails with EINVAL saying so", async () => {
    const plain = await testWorkspace("local", "fork-unlocated");
    const fs = await plain.mount();
    await fs.writeFile("/a", "a");
    const refused = await expectCode(fs.fork({ prefix: "elsewhere" }), "EINVAL");
    expect(refused.message).toContain("cannot open other prefixes");
    await fs.close();
    const bucket = await testBucket("local", "fork-unlocated-mount");
    const original = await source(bucket, "ws/main");
    await original.fork({ prefix: "ws/fork" });
    const root = (bucket.store("ws/fork").inner as LocalObjectStore).root;
    const manager = new S3CachedFsManagerImpl({ cacheRoot: tempDirectory("fork-unlocated"), storeFactory: () => new LocalObjectStore({ root, fsync: false }) });
    const mountRefused = await expectCode(manager.mount({ name: "fork", mode: "readonly" }), "EINVAL");
    expect(mountRefused.message).toContain("ws/main");
    await original.close();
  }, 120_000);
});

describe("forks (s3, mounted by bucket and prefix)", () => {
  test("the manager's own S3 store (no storeFactory) forks, and mounts the fork", async () => {
    const server = s3Server();
    const bucket = await freshBucket("fork-by-bucket");
    const manager = new S3CachedFsManagerImpl({ cacheRoot: tempDirectory("fork-by-bucket") });
    const where = {
      bucket,
      region: server.region,
      endpoint: server.endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
      headDelayMs: 60_000,
    };
    const original = await manager.mount({ ...where, name: "original", prefix: "ws/main" });
    await original.writeFile("/a.txt", "from the original");
    await original.writeFile("/large.bin", bytes(5 * 1024 * 1024, 4));
    await original.fork({ prefix: "ws/fork" });
    const fork = await manager.mount({ ...where, name: "fork", prefix: "ws/fork" });
    expect(await fork.readText("/a.txt")).toBe("from the original");
    expect(await fork.readFile("/large.bin")).toEqual(Buffer.from(bytes(5 * 1024 * 1024, 4)));
    await fork.writeFile("/a.txt", "from the fork");
    expect(await original.readText("/a.txt")).toBe("from the original");
    await manager.closeAll();
  }, 120_000);
});
