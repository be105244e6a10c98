// Local-state campaign, part 2: the disk is exhausted at every local write the library makes. The
// mounts' cache root lies on a small tmpfs of its own; for each point, a ballast file fills the
// disk to N bytes short of full (N from 0 bytes to past the index's 4 MiB reserve), then one
// operation runs: writeFile (small and large), a transaction, openWrite and close, materialize, a
// reader's refresh, a new mount, close() of the reader and of the writer.
//
// Expected: the operation succeeds whole or fails with ENOSPC (an FsError); a failure publishes
// nothing (a witness mount on another cache root sees exactly what succeeded); every call settles
// (a safety timeout); no unhandled rejection; once the ballast is removed the same mounts work (a
// write handle whose close failed for want of space publishes its bytes when closed again).
//
// Mounting a tmpfs needs root (CI and this project's sandbox run as root); elsewhere the test is
// skipped, saying so. LOCAL_STATE_DISK_EXTRA more random distances to full (default 10) from
// LOCAL_STATE_SEED (default 15).
import { afterAll, beforeAll, expect, test } from "bun:test";
import { closeSync, ftruncateSync, fstatSync, mkdirSync, openSync, readFileSync, rmSync, statfsSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { S3CachedFsManagerImpl, LocalObjectStore, type S3CachedFs, type MountConfig } from "../../src/core.ts";
import { FsError } from "../../src/base/errors.ts";
import { removeTempDirectories, tempDirectory } from "../support/temp.ts";
import { random, randomBytes, settles } from "./model.ts";

const seed = Number(process.env.LOCAL_STATE_SEED ?? 15);
const extraPoints = Number(process.env.LOCAL_STATE_DISK_EXTRA ?? 10);
/** How many times a write is repeated on the same nearly full disk (until it fails). */
const repeats = Number(process.env.LOCAL_STATE_DISK_REPEATS ?? 12);
const smallDisk = join(tempDirectory("local-state-disk-parent"), "disk");
let mounted = false;

beforeAll(() => {
  mkdirSync(smallDisk, { recursive: true });
  const result = Bun.spawnSync(["mount", "-t", "tmpfs", "-o", "size=32m", "tmpfs", smallDisk], { stderr: "pipe" });
  mounted = result.exitCode === 0;
  if (!mounted) console.warn(`local-state disk-full campaign skipped: cannot mount a tmpfs (${result.stderr.toString().trim()})`);
});

afterAll(() => {
  if (mounted) Bun.spawnSync(["umount", "-l", smallDisk]);
  removeTempDirectories();
});

/** Fills the small disk, then gives `short` bytes back; returns a function that frees it all again. */
function fillDisk(short: number): () => void {
  const ballast = join(smallDisk, `ballast-${Math.random().toString(36).slice(2)}`);
  const chunk = new Uint8Array(1024 * 1024);
  const fd = openSync(ballast, "w");
  try {
    for (let size = chunk.byteLength; size >= 1; size = Math.floor(size / 2)) {
      for (;;) {
        try {
          writeSync(fd, chunk, 0, size);
        } catch {
          break; // ENOSPC at this size: try smaller pieces
        }
      }
    }
    if (short > 0) ftruncateSync(fd, Math.max(0, fstatSync(fd).size - short));
  } finally {
    closeSync(fd);
  }
  return () => rmSync(ballast, { force: true });
}

const operations = ["writeFile small", "writeFile large", "transaction", "openWrite", "materialize", "refresh", "mount", "close reader", "close writer"] as const;
type Operation = (typeof operations)[number];

test.skipIf(process.getuid?.() !== 0)("local-state disk-full campaign: every operation on a disk N bytes short of full fails with ENOSPC or succeeds whole, publishes nothing when it fails, settles, and the mounts work once space returns", async () => {
  if (!mounted) return;
  const started = performance.now();
  const next = random(seed);
  const objects = tempDirectory("local-state-disk-objects");
  const manager = (cacheRoot: string) => new S3CachedFsManagerImpl({ cacheRoot, cacheBytes: 3 * 1024 * 1024, storeFactory: () => new LocalObjectStore({ root: objects, fsync: false }) });
  const onSmallDisk = manager(join(smallDisk, "cache"));
  const elsewhere = manager(tempDirectory("local-state-disk-elsewhere"));
  const config: Partial<MountConfig> = { headDelayMs: 60_000, leaseTtlMs: 5_000 };
  const shorts = [0, 1, 4096, 16 * 1024, 64 * 1024, 256 * 1024, 1024 * 1024, 3 * 1024 * 1024, 4 * 1024 * 1024 + 64 * 1024, 6 * 1024 * 1024];
  for (let extra = 0; extra < extraPoints; extra++) shorts.push(Math.floor(next() * 7 * 1024 * 1024));

  const unhandled: string[] = [];
  const onUnhandled = (reason: unknown) => void unhandled.push(String(reason));
  process.on("unhandledRejection", onUnhandled);

  /** Every path the filesystem holds, with its exact bytes. */
  const model = new Map<string, Uint8Array>();
  const violations: string[] = [];
  const tally = new Map<Operation, { points: number; succeeded: number; enospc: number }>();
  let callerWritesRefused = 0;
  let writer: S3CachedFs = await onSmallDisk.mount({ name: "writer", ...config });
  let reader: S3CachedFs = await onSmallDisk.mount({ name: "reader", mode: "readonly", ...config });
  const materialSource = randomBytes(next, 300 * 1024);
  await writer.writeFile("/material.bin", materialSource);
  model.set("/material.bin", materialSource);
  let point = 0;

  const expectOutcome = (label: string, outcome: PromiseSettledResult<unknown>, count: { succeeded: number; enospc: number }): boolean => {
    if (outcome.status === "fulfilled") {
      count.succeeded++;
      return true;
    }
    const error = outcome.reason as Error & { code?: string };
    if (!(error instanceof FsError) || error.code !== "ENOSPC") violations.push(`${label}: expected ENOSPC (an FsError), got ${error.constructor.name} ${error.code ?? "no code"}: ${error.message}`);
    else if (error.message.includes(smallDisk)) violations.push(`${label}: the message names a host path: ${error.message}`);
    count.enospc++;
    return false;
  };

  try {
    for (const short of shorts) {
      for (const operation of operations) {
        point++;
        const label = `point ${point} (seed ${seed}, ${short} bytes short, ${operation})`;
        const count = tally.get(operation) ?? { points: 0, succeeded: 0, enospc: 0 };
        tally.set(operation, count);
        count.points++;
        /** Paths this point tried to write: published whole (with these bytes) or not at all. */
        const attempted = new Map<string, Uint8Array>();
        let pendingHandle: { close(): Promise<void>; target: string; bytes: Uint8Array } | undefined;
        // What the reader's refresh has to take in: published while there is space.
        if (operation === "refresh") {
          for (let index = 0; index < 3; index++) {
            const path = `/refresh/${point}-${index}.bin`;
            const bytes = randomBytes(next, 2000);
            await writer.writeFile(path, bytes);
            model.set(path, bytes);
          }
        }
        const free = fillDisk(short);
        try {
          if (operation === "writeFile small" || operation === "writeFile large") {
            // Written again and again until the disk says no: the index, its -wal and the cache grow until one of them cannot.
            for (let repeat = 0; repeat < repeats; repeat++) {
              const path = `/w/${point}-${repeat}.bin`;
              const bytes = randomBytes(next, operation === "writeFile small" ? 100 : 200 * 1024);
              attempted.set(path, bytes);
              if (expectOutcome(label, await settles(writer.writeFile(path, bytes), label), count)) model.set(path, bytes);
              else break;
            }
          } else if (operation === "transaction") {
            for (let repeat = 0; repeat < repeats; repeat++) {
              const files = new Map<string, Uint8Array>();
              for (let index = 0; index < 8; index++) files.set(`/tx/${point}-${repeat}/${index}.bin`, randomBytes(next, 3000));
              for (const [path, bytes] of files) attempted.set(path, bytes);
              const outcome = await settles(
                writer.transaction(async (tx) => {
                  for (const [path, bytes] of files) await tx.writeFile(path, bytes);
                }),
                label,
              );
              if (expectOutcome(label, outcome, count)) for (const [path, bytes] of files) model.set(path, bytes);
              else break;
            }
          } else if (operation === "openWrite") {
            const path = `/handle/${point}.bin`;
            const opened = await settles(writer.openWrite(path), `${label}: openWrite`);
            if (expectOutcome(`${label}: openWrite`, opened, count) && opened.status === "fulfilled") {
              const handle = opened.value;
              const bytes = randomBytes(next, 20 * 1024);
              try {
                writeFileSync(handle.path, bytes); // the caller's own write: it may find the disk full
              } catch {
                callerWritesRefused++;
                await settles(handle.abort(), `${label}: abort`);
                continue;
              }
              attempted.set(path, bytes);
              const closed = await settles(handle.close(), `${label}: close`);
              if (closed.status === "fulfilled") model.set(path, bytes);
              else {
                expectOutcome(`${label}: close`, closed, { succeeded: 0, enospc: 0 });
                pendingHandle = { close: () => handle.close(), target: path, bytes };
              }
            }
          } else if (operation === "materialize") {
            const outcome = await settles(writer.materialize("/material.bin"), label);
            if (expectOutcome(label, outcome, count) && outcome.status === "fulfilled") {
              if (Buffer.compare(readFileSync(outcome.value.path), Buffer.from(materialSource)) !== 0) violations.push(`${label}: the materialized copy holds other bytes`);
              await settles(outcome.value.release(), `${label}: release`);
            }
          } else if (operation === "refresh") {
            const outcome = await settles(reader.refresh(), label);
            if (expectOutcome(label, outcome, count)) {
              const path = `/refresh/${point}-2.bin`;
              const read = await settles(reader.readFile(path), `${label}: read after refresh`);
              if (read.status !== "fulfilled" || Buffer.compare(read.value, Buffer.from(model.get(path)!)) !== 0) violations.push(`${label}: refreshed, but ${path} reads ${read.status === "fulfilled" ? "other bytes" : String(read.reason)}`);
            }
          } else if (operation === "mount") {
            const outcome = await settles(onSmallDisk.mount({ name: "fresh", mode: "readonly", ...config }), label);
            if (expectOutcome(label, outcome, count) && outcome.status === "fulfilled") await settles(outcome.value.close(), `${label}: close`);
          } else if (operation === "close reader") {
            expectOutcome(label, await settles(reader.close(), label), count);
          } else {
            expectOutcome(label, await settles(writer.close(), label), count);
          }
        } finally {
          free();
        }

        // Space again: the mounts work (a closed one mounts again), a pending handle publishes.
        if (operation === "close reader") {
          const again = await settles(onSmallDisk.mount({ name: "reader", mode: "readonly", ...config }), `${label}: reader remount`);
          if (again.status === "rejected") {
            violations.push(`${label}: the reader does not mount again: ${String(again.reason)}`);
            break;
          }
          reader = again.value;
        }
        if (operation === "close writer") {
          const again = await settles(onSmallDisk.mount({ name: "writer", ...config }), `${label}: writer remount`);
          if (again.status === "rejected") {
            violations.push(`${label}: the writer does not mount again: ${String(again.reason)}`);
            break;
          }
          writer = again.value;
        }
        if (operation === "mount") {
          const again = await settles(onSmallDisk.mount({ name: "fresh", mode: "readonly", ...config }), `${label}: mount with space`);
          if (again.status === "rejected") violations.push(`${label}: with space again, the mount that failed does not mount: ${String(again.reason)}`);
          else await settles(again.value.close(), `${label}: close`);
        }
        if (pendingHandle !== undefined) {
          const closed = await settles(pendingHandle.close(), `${label}: handle closed again`);
          if (closed.status === "fulfilled") model.set(pendingHandle.target, pendingHandle.bytes);
          else violations.push(`${label}: a handle whose close failed for want of space does not close with space again: ${String(closed.reason)}`);
        }
        const after = `/after/${point}.txt`;
        const wrote = await settles(writer.writeFile(after, `after point ${point}`), `${label}: write with space`);
        if (wrote.status === "rejected") violations.push(`${label}: with space again, a write fails: ${String(wrote.reason)}`);
        else model.set(after, new TextEncoder().encode(`after point ${point}`));
        const refreshed = await settles(reader.refresh(), `${label}: refresh with space`);
        if (refreshed.status === "rejected") violations.push(`${label}: with space again, the reader's refresh fails: ${String(refreshed.reason)}`);

        // Published is exactly what succeeded: a witness on another cache root.
        const witness = await elsewhere.mount({ name: "witness", mode: "readonly", ...config });
        try {
          const files = new Set(witness.allPaths().filter((path) => /\.(bin|txt)$/.test(path)));
          for (const path of files) if (!model.has(path)) violations.push(`${label}: ${path} was published${attempted.has(path) ? " by a failed operation" : ""}`);
          for (const path of model.keys()) if (!files.has(path)) violations.push(`${label}: ${path} is missing`);
          for (const path of [...attempted.keys(), after]) {
            if (!model.has(path)) continue;
            const bytes = await witness.readFile(path);
            if (Buffer.compare(bytes, Buffer.from(model.get(path)!)) !== 0) violations.push(`${label}: ${path} holds other bytes`);
          }
          if (refreshed.status === "fulfilled" && reader.allPaths().length !== witness.allPaths().length) violations.push(`${label}: the reader sees ${reader.allPaths().length} paths, the store holds ${witness.allPaths().length}`);
        } finally {
          await witness.close();
        }
        if (violations.length > 20) break;
      }
      if (violations.length > 20) break;
    }
    // The last word: everything written reads back right on the small disk, and in a fresh mount.
    for (const [path, bytes] of model) if (Buffer.compare(await writer.readFile(path), Buffer.from(bytes)) !== 0) violations.push(`at the end: ${path} reads other bytes`);
    await writer.close();
    await reader.close();
  } finally {
    process.off("unhandledRejection", onUnhandled);
  }
  const seconds = (performance.now() - started) / 1000;
  const { bsize, blocks } = statfsSync(smallDisk);
  console.log(
    `local-state disk full: ${point} points (${shorts.length} distances to full on a ${Math.round((bsize * blocks) / 1024 / 1024)} MiB tmpfs × ${operations.length} operations, seed ${seed}), ` +
      `${violations.length} violations, ${unhandled.length} unhandled rejections, ${callerWritesRefused} write handles whose own bytes found the disk full, ${seconds.toFixed(1)} s\n` +
      [...tally].map(([operation, value]) => `  ${operation}: ${value.points} points, ${value.succeeded + value.enospc} calls, ${value.succeeded} succeeded, ${value.enospc} ENOSPC`).join("\n"),
  );
  expect(violations.slice(0, 20)).toEqual([]);
  expect(unhandled).toEqual([]);
}, 600_000);
