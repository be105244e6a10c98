// A full local disk: the mount's cache root lies on a small tmpfs of its own, filled to the last
// byte by a ballast file. Every operation that needs local space then fails with ENOSPC (and
// settles), nothing is published, close() works and frees the name, and once the ballast is
// removed the same mounts work again.
//
// Mounting a tmpfs needs root (CI containers and this project's sandbox run as root); elsewhere
// the test is skipped, saying so.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdirSync, rmSync, statfsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { S3CachedFsManagerImpl, LocalObjectStore, type S3CachedFs } from "../../src/core.ts";
import { expectCode } from "../support/errors.ts";
import { removeTempDirectories, tempDirectory } from "../support/temp.ts";

const smallDisk = join(tempDirectory("small-disk-parent"), "disk");
let mounted = false;

beforeAll(() => {
  mkdirSync(smallDisk, { recursive: true });
  const result = Bun.spawnSync(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", smallDisk], { stderr: "pipe" });
  mounted = result.exitCode === 0;
  if (!mounted) console.warn(`disk-full tests skipped: cannot mount a tmpfs (${result.stderr.toString().trim()})`);
});

afterAll(() => {
  if (mounted) Bun.spawnSync(["umount", "-l", smallDisk]);
  removeTempDirectories();
});

/** Fills the small disk to the last byte; returns a function that frees it again. */
function fillDisk(): () => void {
  const ballast = join(smallDisk, `ballast-${Math.random().toString(36).slice(2)}`);
  const chunk = new Uint8Array(64 * 1024);
  const fd = require("node:fs").openSync(ballast, "w");
  try {
    for (let size = chunk.byteLength; size >= 1; size = Math.floor(size / 2)) {
      for (;;) {
        try {
          require("node:fs").writeSync(fd, chunk, 0, size);
        } catch {
          break; // ENOSPC at this size: try smaller pieces
        }
      }
    }
  } finally {
    require("node:fs").closeSync(fd);
  }
  const { bavail } = statfsSync(smallDisk);
  expect(bavail).toBe(0);
  return () => rmSync(ballast, { force: true });
}

/** Resolves with the outcome within `ms`, or fails the test: no public call may stay pending. */
async function settles<T>(promise: Promise<T>, what: string, ms = 10_000): Promise<PromiseSettledResult<T>> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} never settled`)), ms)));
  try {
    return await Promise.race([Promise.allSettled([promise]).then((results) => results[0]!), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function expectNoSpace(outcome: PromiseSettledResult<unknown>, what: string): void {
  if (outcome.status === "fulfilled") throw new Error(`${what} succeeded on a full disk`);
  const error = outcome.reason as Error & { code?: string };
  if (error.code !== "ENOSPC") throw new Error(`${what}: expected ENOSPC, got ${error.code ?? "no code"}: ${error.message}`);
}

test.skipIf(process.getuid?.() !== 0)("a full cache disk: writes, transactions and a reader's refresh fail with ENOSPC and publish nothing; close() works; with space again the mounts work and the names mount again", async () => {
  if (!mounted) return;
  const objects = tempDirectory("disk-full-objects");
  const manager = (cacheRoot: string) => new S3CachedFsManagerImpl({ cacheRoot, storeFactory: () => new LocalObjectStore({ root: objects, fsync: false }) });
  const onSmallDisk = manager(join(smallDisk, "cache"));
  const elsewhere = manager(tempDirectory("disk-full-elsewhere"));
  const config = { headDelayMs: 60_000, leaseTtlMs: 5_000 };

  // A reader on the small disk; the writer on the small disk too.
  const writer: S3CachedFs = await onSmallDisk.mount({ name: "writer", ...config });
  await writer.writeFile("/before.txt", "written with space");
  const reader: S3CachedFs = await onSmallDisk.mount({ name: "reader", mode: "readonly", ...config });
  expect(await reader.readText("/before.txt")).toBe("written with space");

  const free = fillDisk();
  try {
    // Many writes (each needs the index to grow), a transaction, an append: each fails with ENOSPC or succeeds
    // whole; the ones that failed are not in the bucket.
    const failed: string[] = [];
    const succeeded: string[] = [];
    for (let index = 0; index < 40; index++) {
      const path = `/full/file-${index}.txt`;
      const outcome = await settles(writer.writeFile(path, `bytes ${index} `.repeat(200)), `writeFile ${path}`);
      if (outcome.status === "fulfilled") succeeded.push(path);
      else {
        expectNoSpace(outcome, `writeFile ${path}`);
        failed.push(path);
      }
    }
    expect(failed.length).toBeGreaterThan(0);
    const transaction = await settles(
      writer.transaction(async (tx) => {
        for (let index = 0; index < 20; index++) await tx.writeFile(`/tx/file-${index}.txt`, "x".repeat(2000));
      }),
      "transaction",
    );
    expectNoSpace(transaction, "transaction");
    expect(await writer.exists("/tx")).toBe(false);

    // The reader takes in the writer's commits whole, or says ENOSPC and stays where it was.
    const refresh = await settles(reader.refresh(), "refresh");
    if (refresh.status === "rejected") expectNoSpace(refresh, "refresh");
    else for (const path of succeeded) expect(await reader.exists(path)).toBe(true);
    expect(await reader.readText("/before.txt")).toBe("written with space");

    // What the bucket holds: exactly the writes that succeeded.
    const witness = await elsewhere.mount({ name: "witness", mode: "readonly", ...config });
    for (const path of failed) expect(await witness.exists(path)).toBe(false);
    for (const path of succeeded) expect(await witness.readText(path)).toStartWith("bytes ");
    expect(await witness.exists("/tx")).toBe(false);
    await witness.close();

    // A new mount on the full disk: ENOSPC, and its name stays free.
    await expectCode(onSmallDisk.mount({ name: "third", mode: "readonly", ...config }), "ENOSPC");
  } finally {
    free();
  }

  // Space again: the same mounts work at once.
  await writer.writeFile("/after.txt", "written after the disk was freed");
  await writer.transaction(async (tx) => {
    await tx.writeFile("/tx-after/a.txt", "a");
    await tx.writeFile("/tx-after/b.txt", "b");
  });
  expect((await reader.refresh()).seq).toBe(writer.stats().seq);
  expect(await reader.readText("/after.txt")).toBe("written after the disk was freed");
  expect(await reader.readdir("/tx-after")).toEqual(["a.txt", "b.txt"]);

  // close() on a full disk still closes, and the names are free for the next mount.
  const freeAgain = fillDisk();
  try {
    expect((await settles(writer.close(), "writer close")).status).toBe("fulfilled");
    expect((await settles(reader.close(), "reader close")).status).toBe("fulfilled");
  } finally {
    freeAgain();
  }
  const writerAgain = await onSmallDisk.mount({ name: "writer", ...config });
  expect(await writerAgain.readText("/after.txt")).toBe("written after the disk was freed");
  await writerAgain.writeFile("/last.txt", "last");
  await writerAgain.close();
  const readerAgain = await onSmallDisk.mount({ name: "reader", mode: "readonly", ...config });
  expect(await readerAgain.readText("/last.txt")).toBe("last");
  await readerAgain.close();
  const third = await onSmallDisk.mount({ name: "third", mode: "readonly", ...config });
  expect(await third.readText("/last.txt")).toBe("last");
  await third.close();
}, 240_000);
