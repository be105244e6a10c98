// Garbage collection and compaction with several writers (`exclusive: false`, docs/s3-layout.md
// GC9, docs/guarantees.md section 12): one collector at a time (the collector lease), a `collect`
// record that fences uploads in flight, and compaction that loses its slot to a writer.
import { afterAll, describe, expect, test } from "bun:test";
import { readdirSync, utimesSync } from "node:fs";
import { join } from "node:path";
import { S3CachedFsManagerImpl } from "../../src/core.ts";
import type { S3CachedFs } from "../../src/core.ts";
import type { GarbageReport } from "../../src/maintenance/garbage-collector.ts";
import type { ObjectStore } from "../../src/stores/object-store.ts";
import { ForwardingStore, type StoreRequest } from "../../src/stores/forwarding-store.ts";
import { collectorLeaseKey, walKey } from "../../src/log/keys.ts";
import { staleViewMs } from "../../src/commit/committer.ts";
import { thisProcess } from "../../src/commit/lease.ts";
import { expectCode } from "../support/errors.ts";
import { removeTempDirectories } from "../support/temp.ts";
import { testWorkspace, type Backend, type TestWorkspace } from "../support/mounts.ts";

afterAll(removeTempDirectories);

const KiB = 1024;
const layout = { blockBytes: 16 * KiB, chunkBytes: 64 * KiB, largeFileBytes: 64 * KiB, inlineRecordBytes: 1 * KiB, packBytes: 32 * KiB };

/** Holds the first request `hold` picks until released: a write paused at an exact point. */
class Gate extends ForwardingStore {
  hold: ((request: StoreRequest) => boolean) | undefined;
  private heldSignal = Promise.withResolvers<void>();
  private releaseSignal = Promise.withResolvers<void>();
  readonly requests: StoreRequest[] = [];

  /** Resolves once the picked request arrived (and waits). */
  get held(): Promise<void> {
    return this.heldSignal.promise;
  }

  release(): void {
    this.releaseSignal.resolve();
  }

  /** Ready to hold another request. */
  reset(): void {
    this.heldSignal = Promise.withResolvers<void>();
    this.releaseSignal = Promise.withResolvers<void>();
  }

  protected override async forward<T>(request: StoreRequest, send: () => Promise<T>): Promise<T> {
    this.requests.push(request);
    if (this.hold?.(request) === true) {
      this.hold = undefined;
      this.heldSignal.resolve();
      await this.releaseSignal.promise;
    }
    return send();
  }
}

/** Deterministic bytes: `size` of them, from `seed`. */
function bytes(size: number, seed: number): Uint8Array {
  const out = new Uint8Array(size);
  let state = (seed * 2654435761) >>> 0 || 1;
  for (let index = 0; index < size; index++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    out[index] = state & 0xff;
  }
  return out;
}

async function shared(workspace: TestWorkspace, name: string, wrap?: (store: ObjectStore) => ObjectStore): Promise<S3CachedFs> {
  return workspace.mount({ name, exclusive: false, layout, snapshotEveryCommits: 1_000 }, { cacheRoot: workspace.freshCacheRoot(), ...(wrap === undefined ? {} : { wrap }) });
}

async function gated(workspace: TestWorkspace, name: string): Promise<{ fs: S3CachedFs; gate: Gate }> {
  let gate: Gate | undefined;
  const fs = await shared(workspace, name, (store) => (gate = new Gate(store)));
  return { fs, gate: gate! };
}

/** Every file a fresh read-only mount sees, byte for byte, and whether fsck finds it sound. */
async function freshView(workspace: TestWorkspace): Promise<{ files: Map<string, Uint8Array>; sound: boolean; problems: unknown[] }> {
  const fresh = await workspace.mount({ name: "fresh", mode: "readonly" }, { cacheRoot: workspace.freshCacheRoot() });
  const files = new Map<string, Uint8Array>();
  for (const entry of await fresh.walk("/")) if (entry.stats.isFile()) files.set(`/${entry.path}`, await fresh.readFile(`/${entry.path}`));
  const report = await fresh.fsck();
  await fresh.close();
  return { files, sound: report.sound, problems: report.problems };
}

/** The store's clock has one-second steps on S3: an object stored now is older than the cutoff of a clock read after the next step. */
async function nextClockStep(backend: Backend): Promise<void> {
  await Bun.sleep(backend === "s3" ? 1_100 : 25);
}

for (const backend of ["local", "s3"] as Backend[]) {
  describe(`garbage collection with several writers (${backend})`, () => {
    test("gc on a shared writer while two others write: every acknowledged write survives, byte-exact; fsck sound", async () => {
      const workspace = await testWorkspace(backend, "shared-gc");
      const [a, b, c] = [await shared(workspace, "a"), await shared(workspace, "b"), await shared(workspace, "c")];
      const expected = new Map<string, Uint8Array>();
      const write = async (fs: S3CachedFs, path: string, data: Uint8Array) => {
        try {
          await fs.writeFile(path, data);
          expected.set(path, data);
        } catch (error) {
          // Only the collector's fence may refuse a write (its data was collected before it landed).
          expect((error as { code?: string }).code).toBe("EAGAIN");
        }
      };
      // Garbage first: files overwritten and removed, small (inline, packs) and large (chunks).
      for (let index = 0; index < 6; index++) {
        await write(b, `/b/${index}`, bytes(index % 2 === 0 ? 200 * KiB : 3 * KiB, index));
        await write(c, `/c/${index}`, bytes(index % 2 === 0 ? 3 * KiB : 150 * KiB, 100 + index));
      }
      await b.rm("/b/5");
      expected.delete("/b/5");
      await write(b, "/b/0", bytes(1 * KiB, 40)); // its chunks are garbage once a snapshot covers this
      await write(c, "/c/1", bytes(1 * KiB, 41));
      await c.refresh();
      await c.snapshot();
      await nextClockStep(backend);
      const writer = async (fs: S3CachedFs, prefix: string, seed: number) => {
        for (let round = 0; round < 8; round++) {
          const index = round % 6;
          await write(fs, `${prefix}/${index}`, bytes(round % 3 === 0 ? 130 * KiB : 2 * KiB + round, seed + round));
          if (round % 4 === 3) {
            await fs.transaction(async (tx) => {
              await tx.writeFile(`${prefix}/tx-${round}`, bytes(40 * KiB, seed + 50 + round));
              await tx.writeFile(`${prefix}/tx-small-${round}`, bytes(500, seed + 60 + round));
            });
            expected.set(`${prefix}/tx-${round}`, bytes(40 * KiB, seed + 50 + round));
            expected.set(`${prefix}/tx-small-${round}`, bytes(500, seed + 60 + round));
          }
        }
      };
      const outcome = (run: Promise<GarbageReport>) => run.catch((error: unknown) => error as Error);
      const [first, , , second] = await Promise.all([
        outcome(a.collectGarbage({ retentionMs: 0, graceMs: 0 })),
        writer(b, "/b", 1_000),
        writer(c, "/c", 2_000),
        (async () => {
          await nextClockStep(backend);
          return outcome(a.collectGarbage({ retentionMs: 0, graceMs: 0 }));
        })(),
      ]);
      // Two runs at once: one may meet the other holding the collector lease, and is refused (EBUSY).
      const runs = [first, second];
      for (const run of runs) if (run instanceof Error) expect((run as { code?: string }).code).toBe("EBUSY");
      const reports = runs.filter((run): run is GarbageReport => !(run instanceof Error));
      expect(reports.length).toBeGreaterThanOrEqual(1);
      expect(reports.flatMap((report) => report.deletions).filter((deletion) => deletion.kind === "chunk").length).toBeGreaterThan(0);
      await c.refresh();
      await c.snapshot(); // covers the writers' overwrites: their old data is garbage now
      await nextClockStep(backend);
      const last = await b.collectGarbage({ retentionMs: 0, graceMs: 0 });
      expect(last.deletions.some((deletion) => deletion.kind === "chunk" || deletion.kind === "pack" || deletion.kind === "record")).toBe(true);
      for (const fs of [a, b, c]) await fs.close();
      const view = await freshView(workspace);
      expect(view.problems).toEqual([]);
      expect(view.sound).toBe(true);
      expect([...view.files.keys()].sort()).toEqual([...expected.keys()].sort());
      for (const [path, data] of expected) expect(Buffer.from(view.files.get(path)!).equals(Buffer.from(data))).toBe(true);
    });

    test("the fence: a large write's chunks collected before its record lands are never named (EAGAIN, nothing published)", async () => {
      const workspace = await testWorkspace(backend, "shared-fence");
      const a = await shared(workspace, "collector");
      const { fs: b, gate } = await gated(workspace, "late-writer");
      await a.writeFile("/seed.txt", "seed");
      const big = bytes(200 * KiB, 7);
      // b's chunks are stored; its record waits at the door.
      gate.hold = (request) => request.operation === "put" && request.key?.startsWith("wal/") === true;
      const late = b.writeFile("/big.bin", big).then(
        () => undefined,
        (error: unknown) => error,
      );
      await gate.held;
      const chunks = gate.requests.filter((request) => request.operation === "put" && request.key?.startsWith("chunks/")).map((request) => request.key!);
      expect(chunks.length).toBe(4);
      await nextClockStep(backend);
      const report = await a.collectGarbage({ retentionMs: 0, graceMs: 0 });
      for (const chunk of chunks) expect(report.deletions.map((deletion) => deletion.key)).toContain(chunk);
      gate.release();
      const error = await late;
      expect((error as { code?: string }).code).toBe("EAGAIN");
      expect((error as Error).message).toContain("garbage collection");
      // Nothing names the collected chunks: every reader reads every file.
      let view = await freshView(workspace);
      expect(view.sound).toBe(true);
      expect([...view.files.keys()].sort()).toEqual(["/seed.txt"]);
      // Written again, it lands.
      await b.writeFile("/big.bin", big);
      view = await freshView(workspace);
      expect(view.sound).toBe(true);
      expect(Buffer.from(view.files.get("/big.bin")!).equals(Buffer.from(big))).toBe(true);
      for (const fs of [a, b]) await fs.close();
    });

    test("the fence: data still there is uploaded again under new keys, invisibly; a transaction's body runs again", async () => {
      const workspace = await testWorkspace(backend, "shared-fence-copy");
      const a = await shared(workspace, "collector");
      const { fs: b, gate } = await gated(workspace, "late-writer");
      await a.writeFile("/seed.txt", "seed");
      const big = bytes(130 * KiB, 11);
      gate.hold = (request) => request.operation === "put" && request.key?.startsWith("wal/") === true;
      const late = b.writeFile("/big.bin", big);
      await gate.held;
      const chunks = gate.requests.filter((request) => request.operation === "put" && request.key?.startsWith("chunks/")).map((request) => request.key!);
      // A collection whose grace period keeps the chunks: its fence still applies to b.
      const report = await a.collectGarbage({ retentionMs: 0, graceMs: 3_600_000 });
      expect(report.deletions.filter((deletion) => deletion.kind === "chunk")).toEqual([]);
      gate.release();
      await late;
      const again = gate.requests.filter((request) => request.operation === "put" && request.key?.startsWith("chunks/")).map((request) => request.key!);
      expect(again.length).toBe(chunks.length * 2); // each chunk stored once more, under a new key
      expect(new Set(again).size).toBe(again.length);
      expect(Buffer.from(await b.readFile("/big.bin")).equals(Buffer.from(big))).toBe(true);

      // A transaction holding data in packs: its record loses the slot to a fence; the body runs again.
      const gate2Writes = gate.requests.length;
      let runs = 0;
      gate.reset();
      gate.hold = (request) => request.operation === "put" && request.key?.startsWith("wal/") === true;
      const tx = b.transaction(async (t) => {
        runs++;
        await t.writeFile("/tx.bin", bytes(40 * KiB, 12));
      });
      await gate.held;
      await nextClockStep(backend);
      const collected = await a.collectGarbage({ retentionMs: 0, graceMs: 0 });
      const packs = gate.requests.slice(gate2Writes).filter((request) => request.operation === "put" && request.key?.startsWith("packs/")).map((request) => request.key!);
      expect(packs.length).toBeGreaterThan(0);
      for (const pack of packs) expect(collected.deletions.map((deletion) => deletion.key)).toContain(pack);
      gate.release();
      await tx;
      expect(runs).toBe(2);
      for (const fs of [a, b]) await fs.close();
      const view = await freshView(workspace);
      expect(view.sound).toBe(true);
      expect(Buffer.from(view.files.get("/tx.bin")!).equals(Buffer.from(bytes(40 * KiB, 12)))).toBe(true);
      expect(Buffer.from(view.files.get("/big.bin")!).equals(Buffer.from(big))).toBe(true);
    });

    test("two collectors at once: the second gets EBUSY naming the first; a crashed collector's lease is taken over", async () => {
      const workspace = await testWorkspace(backend, "shared-collectors");
      const { fs: a, gate } = await gated(workspace, "first-collector");
      const b = await shared(workspace, "second-collector");
      await a.writeFile("/x", "x");
      await b.writeFile("/y", "y");
      // a holds the collector lease while its `collect` record waits at the door.
      gate.hold = (request) => request.operation === "put" && request.key?.startsWith("wal/") === true;
      const first = a.collectGarbage({ retentionMs: 0, graceMs: 0 });
      await gate.held;
      const busy = await expectCode(b.collectGarbage({ retentionMs: 0, graceMs: 0 }), "EBUSY");
      expect(busy.message).toContain("first-collector");
      // Writers never wait for a collector.
      await b.writeFile("/during", "written while a collects");
      gate.release();
      await first;
      // Released: the next collector goes at once.
      await b.collectGarbage({ retentionMs: 0, graceMs: 0 });

      const raw = workspace.makeStore();
      const lease = (holder: object) => new TextEncoder().encode(JSON.stringify({ collector: "crashed", nonce: "n", released: false, acquired: new Date().toISOString(), ...holder }));
      // A holder on another host whose lease is still live: EBUSY.
      await raw.put(collectorLeaseKey, lease({ ttlMs: 3_600_000, process: { host: "elsewhere", pid: 1 } }));
      expect((await expectCode(b.collectGarbage(), "EBUSY")).message).toContain("crashed");
      // Its TTL passed on the store's clock: taken over.
      await raw.put(collectorLeaseKey, lease({ ttlMs: 0, process: { host: "elsewhere", pid: 1 } }));
      await b.collectGarbage({ retentionMs: 0, graceMs: 0 });
      // A holder on this host whose process is gone: taken over at once, whatever its TTL.
      const child = Bun.spawn(["true"]);
      await child.exited;
      await raw.put(collectorLeaseKey, lease({ ttlMs: 3_600_000, process: { ...thisProcess(), pid: child.pid, startTime: "1" } }));
      await b.collectGarbage({ retentionMs: 0, graceMs: 0 });
      // A damaged lease names no holder: replaced.
      await raw.put(collectorLeaseKey, new TextEncoder().encode("not json"));
      await b.collectGarbage({ retentionMs: 0, graceMs: 0 });
      expect(JSON.parse(new TextDecoder().decode((await raw.get(collectorLeaseKey)).body)).released).toBe(true);
      for (const fs of [a, b]) await fs.close();
      expect((await freshView(workspace)).sound).toBe(true);
    });

    test("compaction loses its slot to a writer rewriting a file it relocates: the newer bytes win", async () => {
      const workspace = await testWorkspace(backend, "shared-compaction");
      const { fs: a, gate } = await gated(workspace, "compactor");
      const b = await shared(workspace, "rewriter");
      await a.transaction(async (tx) => {
        for (let index = 0; index < 20; index++) await tx.writeFile(`/packed/${index}.bin`, bytes(3 * KiB, index));
      });
      for (let index = 2; index < 20; index++) await a.rm(`/packed/${index}.bin`);
      // a's relocate record waits while b overwrites a file whose extents it moves.
      const from = gate.requests.length;
      gate.hold = (request) => request.operation === "put" && request.key?.startsWith("wal/") === true && gate.requests.slice(from).some((earlier) => earlier.key?.startsWith("packs/"));
      const compaction = a.collectGarbage({ retentionMs: 60_000, graceMs: 0, compactBelow: 0.5 });
      await gate.held;
      const newer = bytes(2 * KiB, 999);
      await b.writeFile("/packed/0.bin", newer);
      const rewritten = b.stats().seq;
      gate.release();
      const report = await compaction;
      expect(report.compaction.commits.length).toBeGreaterThanOrEqual(1);
      // The relocation landed after the rewrite (it lost the slot it was built for, and was applied again on top).
      const relocations = (await a.history()).filter((entry) => entry.kinds.relocate !== undefined);
      expect(relocations.length).toBeGreaterThanOrEqual(1);
      expect(relocations.every((entry) => entry.seq > rewritten)).toBe(true);
      expect(report.compaction.commits).toEqual(relocations.map((entry) => entry.seq).sort((x, y) => x - y));
      expect(Buffer.from(await a.readFile("/packed/0.bin")).equals(Buffer.from(newer))).toBe(true);
      expect(Buffer.from(await a.readFile("/packed/1.bin")).equals(Buffer.from(bytes(3 * KiB, 1)))).toBe(true);
      for (const fs of [a, b]) await fs.close();
      const view = await freshView(workspace);
      expect(view.sound).toBe(true);
      expect(Buffer.from(view.files.get("/packed/0.bin")!).equals(Buffer.from(newer))).toBe(true);
      expect(Buffer.from(view.files.get("/packed/1.bin")!).equals(Buffer.from(bytes(3 * KiB, 1)))).toBe(true);
    });
  });
}

describe("garbage collection with several writers: a writer left behind", () => {
  test("records younger than sharedRecordAgeMs stay; a writer whose next slot was collected stops (EFENCED) instead of acknowledging a record no one reads", async () => {
    const workspace = await testWorkspace("local", "shared-stale");
    let skew = 0;
    const manager = new S3CachedFsManagerImpl({ cacheRoot: workspace.freshCacheRoot(), storeFactory: () => workspace.makeStore(), now: () => Date.now() + skew });
    const lagging = await manager.mount({ name: "lagging", exclusive: false, layout, headDelayMs: 60_000, leaseTtlMs: 5_000 });
    const busy = await shared(workspace, "busy");
    await lagging.writeFile("/lagging.txt", "first");
    const behind = lagging.stats().seq;
    // Records that hold no data: once a snapshot covers them, nothing keeps them.
    for (let index = 0; index < 3; index++) await busy.mkdir(`/busy-${index}`);
    await busy.snapshot();
    await busy.mkdir("/after-snapshot");
    // Young records stay, whatever the retention window: a shared writer may still aim at the slot after one.
    await nextClockStep("local");
    const young = await busy.collectGarbage({ retentionMs: 0, graceMs: 0 });
    expect(young.deletions.filter((deletion) => deletion.kind === "record")).toEqual([]);
    // An hour later (on the store's clock, LocalObjectStore's file times), they go.
    const root = workspace.describe.slice("local:".length);
    const hourAgo = new Date(Date.now() - 3_600_000);
    const backdate = (directory: string): void => {
      for (const entry of readdirSync(directory, { withFileTypes: true })) {
        if (entry.isDirectory()) backdate(join(directory, entry.name));
        else utimesSync(join(directory, entry.name), hourAgo, hourAgo);
      }
    };
    backdate(root);
    const old = await busy.collectGarbage({ retentionMs: 0, graceMs: 0 });
    expect(old.deletions.map((deletion) => deletion.key)).toContain(walKey(behind + 1));
    // The lagging writer's view is older than staleViewMs: it checks the head after its record lands.
    skew = staleViewMs + 1_000;
    const stale = await expectCode(lagging.writeFile("/late.txt", "lost?"), "EFENCED");
    expect(stale.message).toContain("garbage collection");
    await expectCode(lagging.writeFile("/later.txt", "no"), "EFENCED");
    await lagging.close();
    await busy.writeFile("/busy-after", "still writing");
    await busy.close();
    const view = await freshView(workspace);
    expect(view.sound).toBe(true);
    expect(view.files.has("/late.txt")).toBe(false);
    expect(new TextDecoder().decode(view.files.get("/busy-after"))).toBe("still writing");
  });
});

describe("garbage collection with several writers: the head", () => {
  test("a writer whose head update met a newer head keeps what that head retains: its next update never lists the snapshots gc removed", async () => {
    const workspace = await testWorkspace("local", "shared-head-retained");
    const a = await shared(workspace, "a");
    const b = await shared(workspace, "b");
    for (let index = 0; index < 3; index++) await a.writeFile(`/a-${index}.txt`, `a ${index}`);
    await a.snapshot(); // a's head lists this snapshot
    await a.writeFile("/a-3.txt", "a 3");
    await b.refresh();
    for (let index = 0; index < 3; index++) await b.writeFile(`/b-${index}.txt`, `b ${index}`);
    await b.snapshot();
    await nextClockStep("local");
    const report = await b.collectGarbage({ retentionMs: 0, graceMs: 0 });
    expect(report.deletions.some((deletion) => deletion.kind === "snapshot")).toBe(true); // a's snapshot is gone; the head says what is retained
    // a, behind b, updates the head: it meets b's newer head (and keeps its etag), then commits past it and updates again.
    await a.snapshot();
    await a.writeFile("/a-late.txt", "late");
    await a.snapshot();
    const reader = await workspace.mount({ name: "check", mode: "readonly" }, { cacheRoot: workspace.freshCacheRoot() });
    const fsck = await reader.fsck();
    expect(fsck.problems).toEqual([]);
    expect(await reader.readText("/a-late.txt")).toBe("late");
    await reader.close();
    for (const fs of [a, b]) await fs.close();
  });
});
