// Guarantee 4 (docs/guarantees.md): the exclusive writer (exclusive: true). A second writer waits for the lease, fails fast with
// EBUSY, or takes over at once; a fenced writer fails every later write with EFENCED and none of
// its bytes ever become visible.
import { afterAll, describe, expect, test } from "bun:test";
import { FencedError, FaultInjectingStore, type ObjectStore } from "../../src/core.ts";
import { expectCode } from "../support/errors.ts";
import { removeTempDirectories } from "../support/temp.ts";
import { testWorkspace, type Backend } from "../support/mounts.ts";

afterAll(removeTempDirectories);

for (const backend of ["local", "s3"] as Backend[]) {
  describe(`one fenced writer (${backend})`, () => {
    test("a second writer that must not wait fails fast with EBUSY naming the holder", async () => {
      const workspace = await testWorkspace(backend, "busy");
      const first = await workspace.mount({ exclusive: true, name: "first" }, { cacheRoot: workspace.freshCacheRoot() });
      const error = await expectCode(workspace.mount({ exclusive: true, name: "second", onWriterBusy: "fail" }, { cacheRoot: workspace.freshCacheRoot() }), "EBUSY");
      expect(error.message).toContain("holds the writer lease");
      await first.writeFile("/still-mine.txt", "yes");
      await first.close();
    });

    test("a waiting writer gets the lease as soon as the holder closes, not after the TTL", async () => {
      const workspace = await testWorkspace(backend, "wait");
      const first = await workspace.mount({ name: "first", leaseTtlMs: 60_000 }, { cacheRoot: workspace.freshCacheRoot() });
      await first.writeFile("/one.txt", "1");
      const waiting = workspace.mount({ name: "second", onWriterBusy: "wait", leaseWaitTimeoutMs: 30_000, leaseTtlMs: 60_000 }, { cacheRoot: workspace.freshCacheRoot() });
      await Bun.sleep(100);
      await first.close();
      const second = await waiting;
      expect(await second.readText("/one.txt")).toBe("1");
      await second.writeFile("/two.txt", "2");
      expect(second.stats().epoch).toBeGreaterThan(1);
      await second.close();
    });

    test("a writer that died holding the lease is replaced once the lease sat unchanged for a TTL", async () => {
      const workspace = await testWorkspace(backend, "expired");
      let injector: FaultInjectingStore | undefined;
      const wrap = (store: ObjectStore) => (injector = new FaultInjectingStore(store));
      const dead = await workspace.mount({ name: "dead", leaseTtlMs: 400 }, { cacheRoot: workspace.freshCacheRoot(), wrap });
      await dead.writeFile("/before-death.txt", "kept");
      injector!.add({ times: Infinity, fault: { kind: "crash", landed: false } }); // the process is gone: no renewals, no release
      await Bun.sleep(50);
      const started = performance.now();
      const successor = await workspace.mount({ name: "successor", onWriterBusy: "wait", leaseTtlMs: 400 }, { cacheRoot: workspace.freshCacheRoot() });
      expect(performance.now() - started).toBeGreaterThanOrEqual(300); // it watched the lease for a TTL first
      expect(await successor.readText("/before-death.txt")).toBe("kept");
      await successor.writeFile("/after.txt", "mine now");
      await successor.close();
      await dead.close().catch(() => {});
    });

    test("a takeover fences the old writer: its next and every later write fail with EFENCED, and nothing of them is visible", async () => {
      const workspace = await testWorkspace(backend, "takeover");
      const old = await workspace.mount({ exclusive: true, name: "old" }, { cacheRoot: workspace.freshCacheRoot() });
      await old.writeFile("/old-1.txt", "acknowledged before the takeover");
      const successor = await workspace.mount({ name: "new", onWriterBusy: "takeover" }, { cacheRoot: workspace.freshCacheRoot() });
      const error = await expectCode(old.writeFile("/old-2.txt", "after the takeover"), "EFENCED");
      expect(error).toBeInstanceOf(FencedError);
      expect((error as FencedError).newerEpoch).toBe(successor.stats().epoch);
      await expectCode(old.mkdir("/old-dir"), "EFENCED");
      await expectCode(old.transaction(async (tx) => void (await tx.writeFile("/old-3.txt", "x"))), "EFENCED");
      await successor.writeFile("/new.txt", "new writer");
      await old.close();
      const reader = await workspace.mount({ name: "check", mode: "readonly" }, { cacheRoot: workspace.freshCacheRoot() });
      expect([...(await reader.readdir("/"))].sort()).toEqual(["new.txt", "old-1.txt"]);
      await reader.close();
      await successor.close();
    });

    test("a zombie writer paused mid-commit loses the slot to its successor and publishes nothing", async () => {
      const workspace = await testWorkspace(backend, "zombie");
      let injector: FaultInjectingStore | undefined;
      const wrap = (store: ObjectStore) => (injector = new FaultInjectingStore(store));
      const zombie = await workspace.mount({ name: "zombie", leaseTtlMs: 60_000 }, { cacheRoot: workspace.freshCacheRoot(), wrap });
      await zombie.writeFile("/before.txt", "before");
      // The zombie's next commit record is held back (a GC pause, a frozen VM) while a successor takes over.
      injector!.add({ operation: "put", keyPrefix: "wal/", fault: { kind: "delay", ms: 1_500 } });
      const paused = zombie.writeFile("/zombie.txt", "must never appear").then(
        () => "acknowledged",
        (error: { code?: string }) => error.code,
      );
      await Bun.sleep(100);
      const successor = await workspace.mount({ name: "successor", onWriterBusy: "takeover" }, { cacheRoot: workspace.freshCacheRoot() });
      expect(await paused).toBe("EFENCED");
      expect(await successor.exists("/zombie.txt")).toBe(false);
      await successor.writeFile("/successor.txt", "ok");
      await zombie.close();
      const reader = await workspace.mount({ name: "check", mode: "readonly" }, { cacheRoot: workspace.freshCacheRoot() });
      expect(await reader.exists("/zombie.txt")).toBe(false);
      expect(await reader.readText("/before.txt")).toBe("before");
      await reader.close();
      await successor.close();
    });
  });
}
