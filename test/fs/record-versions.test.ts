// docs/s3-layout.md V1-V4: what this version does with a filesystem a newer version wrote to. A
// record of a newer format, or holding an operation kind this version does not know, is refused
// with an error naming the record and the kind; it is never skipped (that would show another
// tree), and garbage collection never deletes past it.
import { afterAll, describe, expect, test } from "bun:test";
import { randomUUID } from "node:crypto";
import { listAll, type ObjectStore } from "../../src/stores/object-store.ts";
import { decodeRecord, encodeRecord, type RecordHeader } from "../../src/log/record.ts";
import { walKey } from "../../src/log/keys.ts";
import { References } from "../../src/maintenance/references.ts";
import { expectCode } from "../support/errors.ts";
import { removeTempDirectories } from "../support/temp.ts";
import { testWorkspace, type TestWorkspace } from "../support/mounts.ts";

afterAll(removeTempDirectories);

const layout = { inlineRecordBytes: 1024 };

async function populated(label: string): Promise<TestWorkspace> {
  const workspace = await testWorkspace("local", label);
  const fs = await workspace.mount({ layout });
  await fs.writeFile("/a.txt", "alpha");
  await fs.mkdir("/dir");
  await fs.close();
  return workspace;
}

/** The newest record's seq (probing, as a mount does). */
async function tip(store: ObjectStore): Promise<number> {
  let seq = 0;
  for await (const object of listAll(store, { prefix: "wal/" })) seq = Math.max(seq, Number(object.key.slice(4)));
  return seq;
}

/**
 * Appends a record after the newest one, chained to it, as a writer of another version would
 * write it: `ops` as given (cast: they may be kinds this version does not know).
 */
async function appendRecord(store: ObjectStore, ops: unknown[], overrides: Partial<RecordHeader> = {}): Promise<string> {
  const last = await tip(store);
  const previous = decodeRecord(walKey(last), (await store.get(walKey(last))).body);
  const header: RecordHeader = {
    format: 1,
    fsId: previous.header.fsId,
    seq: last + 1,
    parent: last,
    parentHash: previous.hash,
    epoch: previous.header.epoch,
    writer: previous.header.writer,
    nonce: randomUUID(),
    time: Date.now(),
    ops: ops as RecordHeader["ops"],
    ...overrides,
  };
  await store.put(walKey(last + 1), encodeRecord([], header).bytes, { ifNoneMatch: "*" });
  return walKey(last + 1);
}

const frobnicate = (time: number) => [
  { op: "mkdir", path: "/made-before-it", mode: 0o755, recursive: false, time },
  { op: "frobnicate", path: "/a.txt", time },
];

function expectUpgradeMessage(error: Error, key: string, what: string): void {
  expect(error.message).toContain(key);
  expect(error.message).toContain(what);
  expect(error.message).toContain("which this version does not know");
  expect(error.message).toContain("upgrade");
}

describe("versions a newer writer may leave", () => {
  test("a record holding an unknown operation kind stops every mount, naming the record and the kind", async () => {
    const workspace = await populated("unknown-op");
    const key = await appendRecord(workspace.makeStore(), frobnicate(Date.now()));
    for (const mode of ["readonly", "readwrite"] as const) {
      const fresh = expectCode(workspace.mount({ name: `fresh-${mode}`, mode }, { cacheRoot: workspace.freshCacheRoot() }), "EIO");
      expectUpgradeMessage(await fresh, key, "operation kind 'frobnicate'");
    }
    // The local index from before the record: catching up stops at it too.
    expectUpgradeMessage(await expectCode(workspace.mount({ mode: "readonly" }), "EIO"), key, "operation kind 'frobnicate'");
  });

  test("a reader that meets it on refresh() fails with the same error and keeps the state it had; fsck reports the record", async () => {
    const workspace = await populated("unknown-op-refresh");
    const reader = await workspace.mount({ name: "reader", mode: "readonly" }, { cacheRoot: workspace.freshCacheRoot() });
    const key = await appendRecord(workspace.makeStore(), frobnicate(Date.now()));
    expectUpgradeMessage(await expectCode(reader.refresh(), "EIO"), key, "operation kind 'frobnicate'");
    expect((await reader.readdir("/")).sort()).toEqual(["a.txt", "dir"]); // nothing of the record, not even its first operation
    const report = await reader.fsck();
    expect(report.sound).toBe(false);
    const problem = report.problems.find((entry) => entry.key === key);
    expect(problem).toBeDefined();
    expect(problem!.detail).toContain("operation kind 'frobnicate'");
    await reader.close();
  });

  test("garbage collection stops at it and deletes nothing", async () => {
    const workspace = await testWorkspace("local", "unknown-op-gc");
    const fs = await workspace.mount({ layout });
    await fs.writeFile("/p.bin", new Uint8Array(3000).fill(1)); // a pack
    await fs.writeFile("/p.bin", new Uint8Array(3000).fill(2)); // another: the first is garbage once a snapshot passes it
    await fs.snapshot();
    const store = workspace.makeStore();
    const before = (await Array.fromAsync(listAll(store))).map((object) => object.key).sort();
    const key = await appendRecord(store, frobnicate(Date.now()));
    const dry = await fs.collectGarbage({ dryRun: true, retentionMs: 0, graceMs: 0 }).catch((error: Error) => error);
    expect(dry).toBeInstanceOf(Error);
    expectUpgradeMessage(dry as Error, key, "operation kind 'frobnicate'");
    expectUpgradeMessage(await expectCode(fs.collectGarbage({ retentionMs: 0, graceMs: 0 }), "EIO"), key, "operation kind 'frobnicate'");
    const after = (await Array.fromAsync(listAll(store))).map((object) => object.key).filter((name) => name !== "gc/clock" && name !== "gc/collector.json" && name !== key); // the store's clock and the collector's (released) lease
    expect(after.filter((name) => !before.includes(name))).toEqual([]);
    expect(before.filter((name) => !after.includes(name) && name !== "heads/main.json")).toEqual([]); // nothing deleted
    await fs.close().catch(() => {});
  });

  test("a record of a newer record format stops the mount, naming the record and the format", async () => {
    const workspace = await populated("record-format");
    const key = await appendRecord(workspace.makeStore(), [{ op: "mkdir", path: "/x", mode: 0o755, recursive: false, time: Date.now() }], { format: 3 });
    const error = await expectCode(workspace.mount({ name: "fresh", mode: "readonly" }, { cacheRoot: workspace.freshCacheRoot() }), "EIO");
    expectUpgradeMessage(error, key, "record format 3"); // format 2 is the pipelined record, which this version reads
  });

  test("a format.json of a newer format stops the mount, naming both formats", async () => {
    const workspace = await populated("fs-format");
    const store = workspace.makeStore();
    const format = JSON.parse(new TextDecoder().decode((await store.get("format.json")).body));
    await store.put("format.json", new TextEncoder().encode(JSON.stringify({ ...format, format: 2 })));
    const error = await expectCode(workspace.mount({ name: "fresh", mode: "readonly" }, { cacheRoot: workspace.freshCacheRoot() }), "EIO");
    expectUpgradeMessage(error, "format.json", "format 2");
  });

  test("the list of operations that bring objects in names every kind: an unknown one throws", () => {
    const references = new References();
    const header = { format: 1, fsId: "x", seq: 7, parent: 6, parentHash: "", epoch: 1, writer: "w", nonce: "n", time: 0, ops: [{ op: "frobnicate", time: 0 }] };
    expect(() => references.addRecord(header as unknown as RecordHeader)).toThrow("operation kind");
  });
});
