// An AbortSignal on the long reads, from the user's side: readFile, readRange, stream and
// materialize on a cold mount whose chunk GETs stall (a fault-injecting store whose delay holds
// each GET until the test releases it, or until the GET's own signal aborts). Aborting rejects with
// FsError ECANCELED at once, aborts the stalled GET (its signal is aborted, so it never reaches the
// store), leaves nothing pending (the mount closes: its close waits for every GET in flight), no
// unhandled rejection, and a later read returns the right bytes.

import { afterAll, afterEach, beforeEach, describe, expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { FaultInjectingStore, FsError, type ObjectStore, type S3CachedFs } from "../../src/core.ts";
import { testWorkspace, type TestWorkspace } from "../support/mounts.ts";
import { removeTempDirectories } from "../support/temp.ts";

afterAll(removeTempDirectories);

const KiB = 1024;
const layout = { chunkBytes: 64 * KiB, largeFileBytes: 64 * KiB };
/** Three chunks and a bit: each read below needs GETs of chunks/<uuid>. */
const content = new Uint8Array(3 * 64 * KiB + 1000).map((_, index) => (index * 31 + 7) % 251);

/** Settles `promise`, or fails the test if it has not settled within 10 s (a safety net, not a timing check). */
function within10s<T>(promise: Promise<T>): Promise<T> {
  return Promise.race([promise, new Promise<never>((_, reject) => setTimeout(() => reject(new Error("did not settle within 10 s")), 10_000))]);
}

/** Resolves once `condition()` holds (checked every few ms), or fails after 10 s. */
async function until(condition: () => boolean): Promise<void> {
  await within10s(
    (async () => {
      while (!condition()) await Bun.sleep(5);
    })(),
  );
}

interface Stall {
  signal: AbortSignal | undefined;
  release(): void;
}

let unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);
beforeEach(() => {
  unhandled = [];
  process.on("unhandledRejection", onUnhandled);
});
afterEach(() => {
  process.off("unhandledRejection", onUnhandled);
});

/**
 * A file written by one mount, and a second mount on a fresh cache whose chunk GETs stall once
 * `stallChunks()` is called: every stalled GET is in `stalls`, with the signal it was sent with.
 */
async function coldReader(label: string) {
  const workspace: TestWorkspace = await testWorkspace("local", label);
  const writer = await workspace.mount({ layout });
  await writer.writeFile("/big.bin", content);
  await writer.close();
  const stalls: Stall[] = [];
  let injector: FaultInjectingStore | undefined;
  const sleep = (_ms: number, signal?: AbortSignal) =>
    new Promise<void>((resolve, reject) => {
      stalls.push({ signal, release: resolve });
      signal?.addEventListener("abort", () => reject(signal.reason), { once: true });
    });
  const wrap = (store: ObjectStore) => (injector = new FaultInjectingStore(store, { sleep }));
  const fs: S3CachedFs = await workspace.mount({ layout, mode: "readonly" }, { cacheRoot: workspace.freshCacheRoot(), wrap });
  return {
    fs,
    stalls,
    stallChunks: () => injector!.add({ operation: "get", keyPrefix: "chunks/", times: Infinity, fault: { kind: "delay", ms: 3_600_000 } }),
    unstall: () => {
      injector!.clear();
      for (const stall of stalls) stall.release();
    },
  };
}

async function expectCancelled(promise: Promise<unknown>, syscall: string) {
  const error = await within10s(promise.then(() => "resolved", (caught: unknown) => caught));
  expect(error).toBeInstanceOf(FsError);
  expect((error as FsError).code).toBe("ECANCELED");
  expect((error as FsError).syscall).toBe(syscall);
  expect((error as FsError).path).toBe("/big.bin");
}

describe("an AbortSignal on long reads", () => {
  test("readFile: aborting midway rejects with ECANCELED, aborts the stalled GETs, and a later read returns the right bytes", async () => {
    const { fs, stalls, stallChunks, unstall } = await coldReader("abort-readfile");
    stallChunks();
    const controller = new AbortController();
    const reading = fs.readFile("/big.bin", { signal: controller.signal });
    await until(() => stalls.length > 0);
    controller.abort();
    await expectCancelled(reading, "read");
    expect(stalls.length).toBeGreaterThan(0);
    expect(stalls.every((stall) => stall.signal?.aborted === true)).toBe(true);
    unstall();
    expect(new Uint8Array(await fs.readFile("/big.bin"))).toEqual(content);
    await within10s(fs.close());
    expect(unhandled).toEqual([]);
  });

  test("readRange: aborting midway rejects with ECANCELED and aborts its GET; the same range then reads right", async () => {
    const { fs, stalls, stallChunks, unstall } = await coldReader("abort-range");
    stallChunks();
    const controller = new AbortController();
    const reading = fs.readRange("/big.bin", 70 * KiB, 100 * KiB, { signal: controller.signal });
    await until(() => stalls.length > 0);
    controller.abort(new Error("the user gave up"));
    await expectCancelled(reading, "read");
    expect(stalls.every((stall) => stall.signal?.aborted === true)).toBe(true);
    unstall();
    expect(await fs.readRange("/big.bin", 70 * KiB, 100 * KiB)).toEqual(content.subarray(70 * KiB, 170 * KiB));
    await within10s(fs.close());
    expect(unhandled).toEqual([]);
  });

  test("a GET another read without a signal waits for is not aborted: that read gets its bytes", async () => {
    const { fs, stalls, stallChunks, unstall } = await coldReader("abort-shared");
    stallChunks();
    const patient = fs.readRange("/big.bin", 0, 1000);
    await until(() => stalls.length === 1);
    const controller = new AbortController();
    const aborted = fs.readRange("/big.bin", 0, 1000, { signal: controller.signal });
    for (let tick = 0; tick < 20; tick++) await Bun.sleep(1); // time to join the GET in flight (it would stall a GET of its own otherwise)
    controller.abort();
    await expectCancelled(aborted, "read");
    expect(stalls[0]!.signal?.aborted).toBe(false);
    unstall();
    expect(await within10s(patient)).toEqual(content.subarray(0, 1000));
    await within10s(fs.close());
    expect(unhandled).toEqual([]);
  });

  test("stream: aborting midway errors the stream with ECANCELED and aborts its windows' GETs; a new stream reads it all", async () => {
    const { fs, stalls, stallChunks, unstall } = await coldReader("abort-stream");
    const controller = new AbortController();
    const stream = await fs.stream("/big.bin", { windowBytes: 64 * KiB, windowsAhead: 2, signal: controller.signal });
    const reader = stream.getReader();
    const first = await within10s(reader.read()); // the first window arrives; the next ones stall
    expect(first.done).toBe(false);
    stallChunks();
    let next: Promise<unknown> = reader.read();
    // The first window's pieces may still be queued: read until a read waits on a stalled GET.
    await until(() => stalls.length > 0);
    controller.abort();
    for (;;) {
      const outcome = await within10s(next.then((value) => ({ value }), (error: unknown) => ({ error })));
      if ("error" in outcome) {
        expect(outcome.error).toBeInstanceOf(FsError);
        expect((outcome.error as FsError).code).toBe("ECANCELED");
        break;
      }
      expect((outcome.value as { done: boolean }).done).toBe(false);
      next = reader.read();
    }
    expect(stalls.every((stall) => stall.signal?.aborted === true)).toBe(true);
    unstall();
    expect(new Uint8Array(await new Response(await fs.stream("/big.bin")).arrayBuffer())).toEqual(content);
    await within10s(fs.close());
    expect(unhandled).toEqual([]);
  });

  test("materialize: aborting midway rejects with ECANCELED, leaves no local copy and no pinned bytes; it then materialises right", async () => {
    const { fs, stalls, stallChunks, unstall } = await coldReader("abort-materialize");
    stallChunks();
    const controller = new AbortController();
    const materializing = fs.materialize("/big.bin", { signal: controller.signal });
    await until(() => stalls.length > 0);
    controller.abort();
    await expectCancelled(materializing, "materialize");
    expect(stalls.every((stall) => stall.signal?.aborted === true)).toBe(true);
    expect(fs.stats().cache.pinnedBytes).toBe(0);
    const staging = (fs as unknown as { context: { stagingDirectory: string } }).context.stagingDirectory;
    expect(readdirSync(staging).filter((name) => name.startsWith("materialized-"))).toEqual([]);
    unstall();
    {
      await using local = await fs.materialize("/big.bin");
      expect(new Uint8Array(await local.file.arrayBuffer())).toEqual(content);
    }
    await within10s(fs.close());
    expect(unhandled).toEqual([]);
  });

  test("a signal already aborted rejects each read with ECANCELED before any GET; a signal that is no AbortSignal is EINVAL", async () => {
    const { fs, stalls, stallChunks } = await coldReader("abort-early");
    stallChunks();
    const signal = AbortSignal.abort();
    const before = fs.stats().requests.total.requests;
    await expectCancelled(fs.readFile("/big.bin", { signal }), "read");
    await expectCancelled(fs.readRange("/big.bin", 0, 10, { signal }), "read");
    await expectCancelled(fs.stream("/big.bin", { signal }), "read");
    await expectCancelled(fs.materialize("/big.bin", { signal }), "materialize");
    expect(fs.stats().requests.total.requests).toBe(before);
    expect(stalls).toEqual([]);
    const bad = { signal: "stop" } as unknown as { signal: AbortSignal };
    for (const call of [() => fs.readFile("/big.bin", bad), () => fs.readRange("/big.bin", 0, 1, bad), () => fs.stream("/big.bin", bad), () => fs.materialize("/big.bin", bad)]) {
      const error = await call().catch((caught: unknown) => caught);
      expect((error as FsError).code).toBe("EINVAL");
      expect((error as FsError).message).toContain("signal must be an AbortSignal");
    }
    await within10s(fs.close());
    expect(unhandled).toEqual([]);
  });
});
