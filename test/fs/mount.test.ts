// Mounting: cold (head, snapshot, log tail), warm (the local index reused), after the cache
// directory is deleted (rebuilt, nothing lost); format checks; options validated by field; and
// Guarantee 1 (docs/guarantees.md): when a write resolves it is in the object store, whatever happens locally.
import { afterAll, describe, expect, test } from "bun:test";
import { FsError, S3CachedFsManagerImpl, LocalObjectStore } from "../../src/core.ts";
import { expectCode } from "../support/errors.ts";
import { removeTempDirectories, tempDirectory } from "../support/temp.ts";
import { testWorkspace, wipeCache, type Backend } from "../support/mounts.ts";

afterAll(removeTempDirectories);

for (const backend of ["local", "s3"] as Backend[]) {
  describe(`mounting (${backend})`, () => {
    test("a write is durable when it resolves: a fresh mount elsewhere sees it before the writer closes", async () => {
      const workspace = await testWorkspace(backend, "durable");
      const writer = await workspace.mount();
      await writer.writeFile("/acknowledged.txt", "on the store");
      await writer.transaction(async (tx) => {
        await tx.writeFile("/tx/a", "a");
        await tx.writeFile("/tx/b", "b");
      });
      // No close, no head update: another machine with no local state at all.
      const elsewhere = await workspace.mount({ name: "elsewhere", mode: "readonly" }, { cacheRoot: workspace.freshCacheRoot() });
      expect(await elsewhere.readText("/acknowledged.txt")).toBe("on the store");
      expect(await elsewhere.readText("/tx/b")).toBe("b");
      await elsewhere.close();
      await writer.close();
    });

    test("cold, warm and wiped mounts all see the same tree; a warm mount reads no snapshot", async () => {
      const workspace = await testWorkspace(backend, "mounts");
      const writer = await workspace.mount({ snapshotEveryCommits: 5 });
      for (let index = 0; index < 12; index++) await writer.writeFile(`/files/${index}.txt`, `file ${index}`);
      await writer.close();

      const cold = await workspace.mount({ mode: "readonly" }, { cacheRoot: workspace.freshCacheRoot() });
      const coldCost = cold.stats().requests;
      expect((await cold.readdir("/files")).length).toBe(12);
      expect(coldCost.list.requests).toBe(0);
      await cold.close();

      const warm = await workspace.mount({ mode: "readonly" });
      const warmCost = warm.stats().requests;
      expect(await warm.readText("/files/11.txt")).toBe("file 11");
      // format, head, and the probe for the next record; no snapshot, no replayed records.
      expect(warmCost.get.requests).toBeLessThanOrEqual(3);
      await warm.close();

      wipeCache(workspace.cacheRoot);
      const rebuilt = await workspace.mount({ mode: "readonly" });
      expect((await rebuilt.readdir("/files")).length).toBe(12);
      expect(await rebuilt.readText("/files/7.txt")).toBe("file 7");
      await rebuilt.close();
    });

    test("a reader sees a writer's commits after refresh, each transaction whole", async () => {
      const workspace = await testWorkspace(backend, "refresh");
      const writer = await workspace.mount();
      const reader = await workspace.mount({ name: "reader", mode: "readonly" }, { cacheRoot: workspace.freshCacheRoot() });
      expect(await reader.exists("/later.txt")).toBe(false);
      await writer.transaction(async (tx) => {
        await tx.writeFile("/later.txt", "later");
        await tx.writeFile("/pair/one", "1");
        await tx.writeFile("/pair/two", "2");
      });
      expect(await reader.exists("/later.txt")).toBe(false);
      const refreshed = await reader.refresh();
      expect(refreshed.changed).toBe(true);
      expect(await reader.readText("/later.txt")).toBe("later");
      expect(await reader.readdir("/pair")).toEqual(["one", "two"]);
      await expectCode(reader.writeFile("/nope", "x"), "EROFS");
      await writer.close();
      await reader.close();
    });
  });
}

describe("mount checks", () => {
  test("close() while writers keep submitting finishes; every acknowledged write is durable, later ones are EBADF", async () => {
    const workspace = await testWorkspace("local", "close-busy");
    const { LatencyStore } = await import("../../src/core.ts");
    const fs = await workspace.mount({}, { wrap: (store) => new LatencyStore(store, { roundTripMs: 5 }) });
    const acknowledged: string[] = [];
    const writers = Array.from({ length: 8 }, async (_, writer) => {
      for (let index = 0; index < 20; index++) {
        const path = `/w${writer}/f${index}.txt`;
        await fs.writeFile(path, path);
        acknowledged.push(path);
      }
    });
    const settled = Promise.allSettled(writers);
    // Once the first commits are through, close while the writers' next writes queue behind them.
    while (acknowledged.length < 8) await Bun.sleep(1);
    await fs.close();
    const outcomes = await settled;
    for (const outcome of outcomes) if (outcome.status === "rejected") expect((outcome.reason as FsError).code).toBe("EBADF");
    const reader = await workspace.mount({ name: "after", mode: "readonly" }, { cacheRoot: workspace.freshCacheRoot() });
    for (const path of acknowledged) expect(await reader.readText(path)).toBe(path);
    await reader.close();
  }, 30_000);

  test("a reader with refreshIntervalMs follows the writer without calling refresh()", async () => {
    const workspace = await testWorkspace("local", "interval");
    const writer = await workspace.mount();
    const reader = await workspace.mount({ name: "follower", mode: "readonly", refreshIntervalMs: 20 }, { cacheRoot: workspace.freshCacheRoot() });
    await writer.writeFile("/news.txt", "fresh");
    let seen = false;
    for (let attempt = 0; attempt < 500 && !seen; attempt++) {
      seen = await reader.exists("/news.txt");
      if (!seen) await Bun.sleep(10);
    }
    expect(seen).toBe(true);
    expect(await reader.readText("/news.txt")).toBe("fresh");
    await reader.close();
    await writer.close();
  });

  test("a reader with refreshIntervalMs 0 refreshes only when asked: no timer, no request", async () => {
    const workspace = await testWorkspace("local", "interval-off");
    const writer = await workspace.mount();
    const reader = await workspace.mount({ name: "still", mode: "readonly", refreshIntervalMs: 0 }, { cacheRoot: workspace.freshCacheRoot() });
    const requests = reader.stats().requests.total.requests;
    await writer.writeFile("/news.txt", "fresh");
    await Bun.sleep(50);
    expect({ requests: reader.stats().requests.total.requests, seen: await reader.exists("/news.txt") }).toEqual({ requests, seen: false });
    await reader.refresh();
    expect(await reader.readText("/news.txt")).toBe("fresh");
    await reader.close();
    await writer.close();
  });

  test("a read-only mount of an empty prefix is ENOENT and names the place", async () => {
    const workspace = await testWorkspace("local", "empty");
    const error = await expectCode(workspace.mount({ mode: "readonly" }), "ENOENT");
    expect(error.message).toContain("format.json");
  });

  test("a format this version does not know is refused with EIO", async () => {
    const workspace = await testWorkspace("local", "future");
    await workspace.makeStore().put("format.json", new TextEncoder().encode(JSON.stringify({ format: 99, fsId: "x" })));
    const error = await expectCode(workspace.mount(), "EIO");
    expect(error.message).toContain("format 99");
  });

  test("the same name cannot be mounted twice at once, and is free again after unmount", async () => {
    const workspace = await testWorkspace("local", "twice");
    const manager = workspace.manager();
    const first = await manager.mount({ name: "only" });
    await expectCode(manager.mount({ name: "only" }), "EBUSY");
    await manager.unmount("only");
    expect(first.closed).toBe(true);
    const again = await manager.mount({ name: "only" });
    await again.close();
  });

  test("bad options fail at once, naming the field", async () => {
    const root = tempDirectory("options");
    expect(() => new S3CachedFsManagerImpl({ cacheRoot: 42 as unknown as string })).toThrow(/cacheRoot/);
    const manager = new S3CachedFsManagerImpl({ cacheRoot: root, storeFactory: () => new LocalObjectStore({ root: tempDirectory("options-store") }) });
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ name: "x", cacheBytes: "big" }, /cacheBytes/],
      [{ name: "x", mode: "sometimes" }, /mode/],
      [{ name: "x", cacheBytes: -1 }, /cacheBytes/],
      [{ name: "x", layout: { blockBytes: 0 } }, /layout\.blockBytes/],
      [{ name: "x", endpoint: "not a url" }, /endpoint/],
      [{ name: "x", unknownOption: true }, /unknownOption/],
    ];
    for (const [config, field] of cases) {
      const error = await manager.mount(config as never).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(FsError);
      expect((error as FsError).code).toBe("EINVAL");
      expect((error as FsError).message).toMatch(field);
    }
  });

  test("errors have Node's shape: code, errno, syscall, path, dest and message", async () => {
    const workspace = await testWorkspace("local", "shape");
    const fs = await workspace.mount();
    const missing = await expectCode(fs.stat("/a/b"), "ENOENT");
    expect(missing.message).toBe("ENOENT: no such file or directory, stat '/a/b'");
    expect(missing).toMatchObject({ syscall: "stat", path: "/a/b", errno: -2 });
    const rename = await expectCode(fs.rename("/from", "/to"), "ENOENT");
    expect(rename.message).toBe("ENOENT: no such file or directory, rename '/from' -> '/to'");
    expect(rename).toMatchObject({ path: "/from", dest: "/to" });
    await fs.close();
    await expectCode(fs.stat("/"), "EBADF");
  });

  test("hostile paths never reach the store", async () => {
    const workspace = await testWorkspace("local", "hostile");
    const fs = await workspace.mount();
    const before = fs.stats().requests.total.requests;
    await expectCode(fs.readFile("/../../../../etc/passwd"), "EINVAL");
    await expectCode(fs.stat("../outside"), "EINVAL");
    await expectCode(fs.mkdir("/a/../../b", { recursive: true }), "EINVAL");
    await expectCode(fs.writeFile("/nul\0byte", "x"), "EINVAL");
    await expectCode(fs.writeFile(`/${"x".repeat(300)}`, "x"), "ENAMETOOLONG");
    await expectCode(fs.writeFile(`/${"deep/".repeat(1000)}`, "x"), "ENAMETOOLONG");
    expect(await fs.exists("/../etc")).toBe(false);
    // Inside the tree ".." is ordinary path arithmetic.
    await fs.writeFile("/a/../b.txt", "fine");
    expect(await fs.readText("/b.txt")).toBe("fine");
    expect(fs.stats().requests.total.requests - before).toBe(1);
    await fs.close();
  });
});
