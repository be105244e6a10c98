// Large files with bounded memory: a file far larger than the cache is written from a stream and
// read back as a stream in a process of its own, whose peak RSS stays below 256 MB. The default
// size suits CI; LARGE_FILE_BYTES=2147483648 runs the 2 GiB case of docs/performance.md.
import { afterAll, describe, expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { expectCode } from "../support/errors.ts";
import { removeTempDirectories, tempDirectory } from "../support/temp.ts";
import { testWorkspace } from "../support/mounts.ts";
import { mountDirectoryName } from "../../src/mount.ts";
import { freshBucket } from "../support/s3-server.ts";
import { readFootprintBytes, StreamingReadMemory } from "../../src/data/memory.ts";

afterAll(removeTempDirectories);

const MiB = 1024 * 1024;
const bytes = Number(process.env.LARGE_FILE_BYTES ?? 256 * MiB);

describe("large files", () => {
  // On Ceph RGW the reads go through the SDK's HTTP client, whose chunks are garbage of their own;
  // with no collections asked for, this 256 MiB case peaked at 263 MiB writing and 274 MiB reading.
  for (const backend of ["local", "s3"] as const) {
    test(`a ${Math.round(bytes / MiB)} MiB file streams in and out with peak RSS below 256 MB (${backend})`, async () => {
      const work = tempDirectory("large-file");
      const where = backend === "s3" ? [await freshBucket("large-file"), "large"] : [];
      const child = Bun.spawn([process.execPath, `${import.meta.dir}/large-file-worker.ts`, String(bytes), backend, work, ...where], { stdout: "pipe", stderr: "inherit" });
      const output = await new Response(child.stdout).text();
      expect(await child.exited).toBe(0);
      const report = JSON.parse(output.trim().split("\n").at(-1)!);
      console.log(
        `large file ${Math.round(bytes / MiB)} MiB (${backend}): peak RSS ${Math.round(report.peaks.write / MiB)} MiB writing, ` +
          `${Math.round(report.peaks.read / MiB)} MiB reading; write ${(bytes / MiB / report.writeSeconds).toFixed(0)} MiB/s, read ${(bytes / MiB / report.readSeconds).toFixed(0)} MiB/s`,
      );
      expect(report.size).toBe(bytes);
      expect(report.read).toBe(report.expected);
      expect(report.peakRss).toBeLessThan(256 * 1000 * 1000);
    }, 600_000);
  }

  test("an aborted large write publishes nothing and leaves no local debris", async () => {
    const workspace = await testWorkspace("local", "abort");
    const fs = await workspace.mount({ layout: { chunkBytes: MiB, largeFileBytes: MiB, blockBytes: 256 * 1024, inlineRecordBytes: MiB, packBytes: 4 * MiB, uploadConcurrency: 2 } });
    const before = fs.stats();
    const controller = new AbortController();
    let produced = 0;
    const endless = new ReadableStream<Uint8Array>({
      pull(stream) {
        produced += MiB;
        if (produced === 5 * MiB) controller.abort(new Error("the user cancelled the upload"));
        stream.enqueue(new Uint8Array(MiB).fill(3));
      },
    });
    await expectCode(fs.writeFile("/cancelled.bin", endless, { signal: controller.signal }), "ECANCELED");
    expect(await fs.exists("/cancelled.bin")).toBe(false);
    expect(fs.stats().seq).toBe(before.seq);
    expect(fs.stats().commits!.commits).toBe(before.commits!.commits);
    const staging = join(workspace.cacheRoot, mountDirectoryName("test"), "staging");
    expect(readdirSync(staging)).toEqual([]);
    await fs.close();
  });

  test("a large write whose chunk uploads fail publishes nothing, leaves no local debris, and the mount goes on", async () => {
    const workspace = await testWorkspace("local", "failed-upload");
    const { FaultInjectingStore } = await import("../../src/core.ts");
    let injector: InstanceType<typeof FaultInjectingStore> | undefined;
    const fs = await workspace.mount(
      { maxAttempts: 2, layout: { chunkBytes: MiB, largeFileBytes: MiB, blockBytes: 256 * 1024, inlineRecordBytes: MiB, packBytes: 4 * MiB, uploadConcurrency: 2 } },
      { wrap: (store) => (injector = new FaultInjectingStore(store)) },
    );
    injector!.add({ operation: "put", keyPrefix: "chunks/", after: 2, times: Infinity, fault: { kind: "error", error: "unauthorized" } });
    const before = fs.stats();
    await expectCode(fs.writeFile("/doomed.bin", new Uint8Array(6 * MiB).fill(1)), "EACCES");
    expect(await fs.exists("/doomed.bin")).toBe(false);
    expect(fs.stats().seq).toBe(before.seq);
    expect(readdirSync(join(workspace.cacheRoot, mountDirectoryName("test"), "staging"))).toEqual([]);
    await fs.writeFile("/small.txt", "the mount goes on");
    expect(await fs.readText("/small.txt")).toBe("the mount goes on");
    await fs.close();
  });

  test("a materialised file is never evicted, whatever is read after it", async () => {
    const workspace = await testWorkspace("local", "pinned");
    const layout = { chunkBytes: MiB, largeFileBytes: MiB, blockBytes: 256 * 1024, inlineRecordBytes: 64 * 1024, packBytes: MiB, uploadConcurrency: 2 };
    const fs = await workspace.mount({ cacheBytes: 4 * MiB, layout });
    await fs.writeFile("/pinned.bin", new Uint8Array(2 * MiB).fill(7));
    for (let index = 0; index < 12; index++) await fs.writeFile(`/other-${index}.bin`, new Uint8Array(MiB).fill(index));
    const local = await fs.materialize("/pinned.bin");
    for (let round = 0; round < 2; round++) {
      await Promise.all(Array.from({ length: 12 }, (_, index) => fs.readFile(`/other-${index}.bin`)));
      expect(fs.stats().cache.usedBytes).toBeLessThanOrEqual(4 * MiB);
    }
    const bytes = new Uint8Array(await local.file.arrayBuffer());
    expect(bytes.byteLength).toBe(2 * MiB);
    expect(bytes.every((byte) => byte === 7)).toBe(true);
    await local.release();
    await fs.close();
  });
});

describe("garbage collections while streaming a read", () => {
  // The rule of StreamingReadMemory, with the collections and the deferred start task counted by
  // the test. Windows of 8 MiB, four ahead: the stream may hold five (40 MiB), so of its 88 MiB
  // footprint 48 MiB are left for garbage, the windows the consumer has read past.
  const window = 8 * MiB;
  const stream = (bytes: number, windowsAhead = 4) => {
    let collections = 0;
    const deferred: (() => void)[] = [];
    const memory = new StreamingReadMemory({ bytes, windowBytes: window, windowsAhead }, { collect: () => (collections += 1), later: (task) => deferred.push(task) });
    let handed = 0;
    return {
      memory,
      /** Hands on `count` more windows (the stream's last as the last); the collections so far. */
      windows: (count: number): number => {
        for (let index = 0; index < count; index++) {
          handed += window;
          memory.moved(window, handed >= bytes);
        }
        return collections;
      },
      /** Runs the deferred start collection, if one was asked for; the collections so far. */
      runDeferred: (): number => {
        for (const task of deferred.splice(0)) task();
        return collections;
      },
    };
  };

  test("counts the windows the consumer has read past, not those in flight or waiting for it: a collection per 48 MiB of them", () => {
    const { memory, windows } = stream(1024 * MiB);
    expect(readFootprintBytes).toBe(88 * MiB);
    expect(memory.garbageLimit).toBe(48 * MiB);
    // The seventh window handed on finds six read past (48 MiB).
    expect(windows(6)).toBe(0);
    expect(windows(1)).toBe(1);
    // The window handed on with the collection counts once it is read past: six more, then 48 MiB.
    expect(windows(5)).toBe(1);
    expect(windows(1)).toBe(2);
  });

  test("leaves out what the stream holds: with three windows ahead, 56 MiB of garbage; with many, a window's worth", () => {
    expect(stream(1024 * MiB, 3).memory.garbageLimit).toBe(56 * MiB);
    expect(stream(1024 * MiB, 20).memory.garbageLimit).toBe(window);
  });

  test("a stream whose rest cannot take it past its footprint never collects: 64 and 88 MiB", () => {
    for (const bytes of [64 * MiB, 88 * MiB]) {
      const { memory, windows, runDeferred } = stream(bytes);
      memory.started();
      expect(runDeferred()).toBe(0);
      expect(windows(bytes / window)).toBe(0);
    }
  });

  test("a longer stream collects at its start, a task later (once its first GETs are sent), then skips the collections its rest cannot need", () => {
    const { memory, windows, runDeferred } = stream(120 * MiB);
    memory.started();
    expect(windows(0)).toBe(0); // not at once
    expect(runDeferred()).toBe(1);
    // The seventh window: 48 MiB of garbage, and 64 MiB still to hand on, this one included: 112 > 88.
    expect(windows(7)).toBe(2);
    // The thirteenth: 48 MiB of garbage again, but only 24 MiB still to come: 72 <= 88, none needed.
    expect(windows(8)).toBe(2);
  });

  test("a stream that ended before its start task ran does not collect then", () => {
    const { memory, runDeferred } = stream(1024 * MiB);
    memory.started();
    memory.end();
    expect(runDeferred()).toBe(0);
  });

  test("the last window asks for nothing", () => {
    const { windows } = stream(200 * MiB);
    // 25 windows: collections at the 7th, 13th and 19th (then 48 MiB of garbage and 56 still to come).
    expect(windows(24)).toBe(3);
    expect(windows(1)).toBe(3);
  });
});
