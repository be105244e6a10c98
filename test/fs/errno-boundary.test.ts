// The errno boundary: a store error met anywhere below a public method leaves it as an FsError
// with the method's syscall and the caller's path, never as the store's own error class.
import { afterAll, describe, expect, test } from "bun:test";
import { FaultInjectingStore, FsError, type ObjectStore } from "../../src/core.ts";
import { StoreError } from "../../src/stores/store-errors.ts";
import { expectCode } from "../support/errors.ts";
import { removeTempDirectories } from "../support/temp.ts";
import { testWorkspace } from "../support/mounts.ts";

afterAll(removeTempDirectories);

/** A store that refuses requests (every one, or those of `operation`, puts by default, under `keyPrefix`) once `refuse()` is called: an expired credential, say. */
function refusing(): { wrap: (store: ObjectStore) => ObjectStore; refuse: (some?: { keyPrefix: string; operation?: "get" | "put" }) => void; allow: () => void } {
  let injector: FaultInjectingStore | undefined;
  return {
    wrap: (store) => (injector = new FaultInjectingStore(store)),
    refuse: (some) =>
      void injector!.add({ ...(some === undefined ? {} : { operation: some.operation ?? "put", keyPrefix: some.keyPrefix }), times: Infinity, fault: { kind: "error", error: "unauthorized" } }),
    allow: () => injector!.clear(),
  };
}

async function expectRefused(call: Promise<unknown>, syscall: string, path?: string, dest?: string): Promise<void> {
  const error = await expectCode(call, "EACCES", path === undefined ? { syscall } : { syscall, path });
  expect(error).toBeInstanceOf(FsError);
  expect(error).not.toBeInstanceOf(StoreError);
  expect(error.message).toContain("object store refused access");
  if (path === undefined) expect((error as FsError).path).toBeUndefined();
  expect((error as FsError).dest).toBe(dest);
}

describe("the errno boundary", () => {
  test("reads, refresh, history and fsck of a reader report a refused store as EACCES with their own syscall and path", async () => {
    const workspace = await testWorkspace("local", "errno");
    const writer = await workspace.mount({ name: "writer" });
    await writer.writeFile("/dir/a.txt", "alpha");
    await writer.writeFile("/dir/b.txt", "beta");
    await writer.close();
    const store = refusing();
    const reader = await workspace.mount({ name: "reader", mode: "readonly" }, { cacheRoot: workspace.freshCacheRoot(), wrap: store.wrap });
    store.refuse();
    await expectRefused(reader.readFile("/dir/a.txt"), "read", "/dir/a.txt");
    await expectRefused(reader.readText("/dir/b.txt"), "read", "/dir/b.txt");
    await expectRefused(reader.readRange("/dir/a.txt", 1, 2), "read", "/dir/a.txt");
    const stream = await reader.stream("/dir/a.txt");
    await expectRefused(new Response(stream).arrayBuffer(), "read", "/dir/a.txt");
    await expectRefused(reader.materialize("/dir/b.txt"), "read", "/dir/b.txt");
    await expectRefused(reader.refresh(), "refresh");
    await expectRefused(reader.history(), "log");
    await expectRefused(reader.fsck(), "fsck");
    await reader.close();
  });

  test("a writer's snapshot reports a refused store as an FsError, not a store error", async () => {
    const workspace = await testWorkspace("local", "errno-writer");
    const store = refusing();
    const writer = await workspace.mount({ name: "writer" }, { wrap: store.wrap });
    await writer.writeFile("/a.txt", "alpha");
    store.refuse();
    const error = await expectCode(writer.snapshot(), "EACCES");
    expect(error).toBeInstanceOf(FsError);
    expect(error).not.toBeInstanceOf(StoreError);
    await writer.close().catch(() => {});
  });

  test("compaction that cannot read a pack reports a refused store as an FsError of gc, naming no object key as its path", async () => {
    const workspace = await testWorkspace("local", "errno-compaction");
    const layout = { blockBytes: 16 * 1024, chunkBytes: 64 * 1024, largeFileBytes: 64 * 1024, inlineRecordBytes: 1024, packBytes: 32 * 1024 };
    const first = await workspace.mount({ name: "writer", layout });
    await first.transaction(async (tx) => {
      for (let index = 0; index < 20; index++) await tx.writeFile(`/packed/${index}.bin`, new Uint8Array(3 * 1024).fill(index));
    });
    for (let index = 2; index < 20; index++) await first.rm(`/packed/${index}.bin`); // the first pack is now mostly dead
    await first.close();
    const store = refusing();
    const writer = await workspace.mount({ name: "writer", layout }, { cacheRoot: workspace.freshCacheRoot(), wrap: store.wrap }); // the packs are not in its cache
    store.refuse({ operation: "get", keyPrefix: "packs/" });
    const error = await expectCode(writer.collectGarbage({ retentionMs: 60_000, graceMs: 0, compactBelow: 0.5 }), "EACCES", { syscall: "gc" });
    expect(error).toBeInstanceOf(FsError);
    expect(error).not.toBeInstanceOf(StoreError);
    expect((error as FsError).path).toBeUndefined();
    expect(error.message).toContain("nothing was deleted");
    store.allow();
    expect(Array.from(await writer.readFile("/packed/1.bin"))).toEqual(Array.from(new Uint8Array(3 * 1024).fill(1)));
    await writer.close();
  });

  test("a writer's commits report a refused store with each call's own syscall and paths", async () => {
    const workspace = await testWorkspace("local", "errno-commits");
    const store = refusing();
    const writer = await workspace.mount({ name: "writer" }, { wrap: store.wrap });
    await writer.writeFile("/kept.txt", "kept");
    store.refuse({ keyPrefix: "wal/" });
    await expectRefused(writer.writeFile("/a.txt", "alpha"), "write", "/a.txt");
    await expectRefused(writer.appendFile("/kept.txt", "more"), "write", "/kept.txt");
    await expectRefused(writer.mkdir("/d"), "mkdir", "/d");
    await expectRefused(writer.rename("/kept.txt", "/moved.txt"), "rename", "/kept.txt", "/moved.txt");
    await expectRefused(writer.copyFile("/kept.txt", "/copy.txt"), "copyfile", "/kept.txt", "/copy.txt");
    await expectRefused(writer.transaction(async (tx) => void (await tx.writeFile("/t.txt", "t"))), "transaction");
    store.allow();
    store.refuse({ keyPrefix: "chunks/" });
    // A large file's chunk uploads are refused: the upload's error, not "the data source failed".
    await expectRefused(writer.writeFile("/large.bin", new Uint8Array(5 * 1024 * 1024)), "write", "/large.bin");
    store.allow();
    await writer.writeFile("/after.txt", "after");
    expect(await writer.readText("/kept.txt")).toBe("kept");
    expect(await writer.exists("/a.txt")).toBe(false);
    expect(await writer.exists("/large.bin")).toBe(false);
    await writer.close();
  });
});
