// docs/s3-layout.md I7: a pipelined record (format 2) whose parent is not the record in the slot
// before it, or whose parent was void, is void: no mount, refresh, snapshot or fsck applies it or
// takes it for damage, and a format-1 record naming its hash follows it. The records here are
// written by hand, as a pipelining writer whose parent lost its slot would leave them.
import { afterAll, describe, expect, test } from "bun:test";
import { randomUUID } from "node:crypto";
import { listAll, type ObjectStore } from "../../src/stores/object-store.ts";
import { decodeRecord, encodeRecord, pipelinedRecordFormat, recordFormat, type RecordHeader } from "../../src/log/record.ts";
import { snapshotKey, walKey } from "../../src/log/keys.ts";
import { decodeSnapshot } from "../../src/namespace/snapshot.ts";
import type { Op } from "../../src/log/ops.ts";
import { expectCode } from "../support/errors.ts";
import { removeTempDirectories } from "../support/temp.ts";
import { testWorkspace, type Backend, type TestWorkspace } from "../support/mounts.ts";

afterAll(removeTempDirectories);

/** The newest record in the store. */
async function tipRecord(store: ObjectStore): Promise<{ seq: number; hash: string; header: RecordHeader }> {
  let seq = 0;
  for await (const object of listAll(store, { prefix: "wal/" })) seq = Math.max(seq, Number(object.key.slice(4)));
  const record = decodeRecord(walKey(seq), (await store.get(walKey(seq))).body);
  return { seq, hash: record.hash, header: record.header };
}

interface Appended {
  seq: number;
  key: string;
  hash: string;
}

/**
 * Writes the record after the newest one, as a writer would: `format`, the ops, and by default the
 * newest record's hash as parentHash (`parentHash` names another: its parent lost the slot).
 */
async function append(store: ObjectStore, format: number, ops: Op[], parentHash?: string): Promise<Appended> {
  const last = await tipRecord(store);
  const header: RecordHeader = {
    format,
    fsId: last.header.fsId,
    seq: last.seq + 1,
    parent: last.seq,
    parentHash: parentHash ?? last.hash,
    epoch: last.header.epoch,
    writer: "pipelining-writer",
    nonce: randomUUID(),
    time: Date.now(),
    ops,
  };
  const { bytes, hash } = encodeRecord([], header);
  await store.put(walKey(header.seq), bytes, { ifNoneMatch: "*" });
  return { seq: header.seq, key: walKey(header.seq), hash };
}

const mkdir = (path: string): Op => ({ op: "mkdir", path, mode: 0o755, recursive: false, time: Date.now() });
/** A hash no record has: the parent its writer had in flight, which lost the slot. */
const lostParent = () => "0123456789abcdef";

async function populated(backend: Backend, label: string): Promise<TestWorkspace> {
  const workspace = await testWorkspace(backend, label);
  const fs = await workspace.mount();
  await fs.writeFile("/a.txt", "alpha");
  await fs.close();
  return workspace;
}

async function freshTree(workspace: TestWorkspace): Promise<string[]> {
  const fs = await workspace.mount({ name: `fresh-${randomUUID().slice(0, 6)}`, mode: "readonly" }, { cacheRoot: workspace.freshCacheRoot() });
  try {
    return (await fs.readdir("/")).sort();
  } finally {
    await fs.close();
  }
}

for (const backend of ["local", "s3"] as Backend[]) {
  describe(`void records (${backend})`, () => {
    test("a pipelined record whose parent lost its slot is skipped by a mount, a reader's refresh and fsck; a record naming its hash applies", async () => {
      const workspace = await populated(backend, "void-lost");
      const store = workspace.makeStore();
      const reader = await workspace.mount({ name: "reader", mode: "readonly" }, { cacheRoot: workspace.freshCacheRoot() });
      const won = await append(store, recordFormat, [mkdir("/won")]); // writer A's record took slot s
      const voided = await append(store, pipelinedRecordFormat, [mkdir("/void")], lostParent()); // B's, built on its record that lost s
      expect(await reader.refresh()).toEqual({ seq: voided.seq, changed: true });
      expect((await reader.readdir("/")).sort()).toEqual(["a.txt", "won"]);
      expect(await freshTree(workspace)).toEqual(["a.txt", "won"]);
      const report = await reader.fsck();
      expect(report.problems).toEqual([]);
      expect(report.sound).toBe(true);
      expect(report.checked.voidRecords).toBe(1);
      expect(report.tip).toBe(voided.seq);
      // A's next record was built on what A read: the void record, by its hash.
      await append(store, recordFormat, [mkdir("/after")], voided.hash);
      expect((await reader.refresh()).seq).toBe(voided.seq + 1);
      expect((await reader.readdir("/")).sort()).toEqual(["a.txt", "after", "won"]);
      expect(await freshTree(workspace)).toEqual(["a.txt", "after", "won"]);
      const again = await reader.fsck();
      expect(again.sound).toBe(true);
      expect(again.checked.voidRecords).toBe(1);
      expect(won.seq).toBe(voided.seq - 1);
      await reader.close();
      // A writer mounting over it chains its epoch record on, and a fresh mount follows the whole log.
      const writer = await workspace.mount();
      await writer.writeFile("/b.txt", "beta");
      await writer.close();
      expect(await freshTree(workspace)).toEqual(["a.txt", "after", "b.txt", "won"]);
    });

    test("a pipelined record on a void parent is void too, though it names that parent's hash", async () => {
      const workspace = await populated(backend, "void-cascade");
      const store = workspace.makeStore();
      const first = await append(store, pipelinedRecordFormat, [mkdir("/void-1")], lostParent());
      await append(store, pipelinedRecordFormat, [mkdir("/void-2")], first.hash);
      expect(await freshTree(workspace)).toEqual(["a.txt"]);
      const writer = await workspace.mount(); // its epoch record names the second void record
      expect((await writer.readdir("/")).sort()).toEqual(["a.txt"]);
      const report = await writer.fsck();
      expect(report.sound).toBe(true);
      expect(report.checked.voidRecords).toBe(2);
      await writer.mkdir("/later");
      await writer.close();
      expect(await freshTree(workspace)).toEqual(["a.txt", "later"]);
    });

    test("a pipelined record whose parent made it applies like any other", async () => {
      const workspace = await populated(backend, "void-made-it");
      const store = workspace.makeStore();
      await append(store, recordFormat, [mkdir("/parent")]);
      await append(store, pipelinedRecordFormat, [mkdir("/pipelined")]);
      expect(await freshTree(workspace)).toEqual(["a.txt", "parent", "pipelined"]);
      const fs = await workspace.mount({ mode: "readonly" });
      const report = await fs.fsck();
      expect(report.sound).toBe(true);
      expect(report.checked.voidRecords).toBe(0);
      await fs.close();
    });

    test("a format-1 record naming the wrong parent stays a broken chain, even after a void record", async () => {
      const workspace = await populated(backend, "void-broken");
      const store = workspace.makeStore();
      const before = await tipRecord(store);
      await append(store, pipelinedRecordFormat, [mkdir("/void")], lostParent());
      // Built on the record before the void one, not on what stood in the slot before it: damage.
      const broken = await append(store, recordFormat, [mkdir("/broken")], before.hash);
      const error = await expectCode(workspace.mount({ name: "fresh", mode: "readonly" }, { cacheRoot: workspace.freshCacheRoot() }), "EIO");
      expect(error.message).toContain(broken.key);
      const reader = await workspace.mount({ mode: "readonly", atSeq: before.seq });
      const report = await reader.fsck();
      expect(report.sound).toBe(false);
      expect(report.problems).toEqual([{ kind: "broken-chain", key: broken.key, detail: expect.stringContaining("links to parent hash") }]);
      await reader.close();
    });

    test("an index that stopped on a void record, and a snapshot taken there, keep it void for the record after", async () => {
      const workspace = await populated(backend, "void-kept");
      const store = workspace.makeStore();
      // A shared writer (no epoch record of its own) whose view ends on the void slot snapshots there.
      const writer = await workspace.mount({ exclusive: false });
      const readerCache = workspace.freshCacheRoot();
      const voided = await append(store, pipelinedRecordFormat, [mkdir("/void")], lostParent());
      await writer.refresh();
      expect(await writer.snapshot()).toBe(voided.seq);
      expect(decodeSnapshot(snapshotKey(voided.seq), (await store.get(snapshotKey(voided.seq))).body).position.voided).toBe(true);
      const reader = await workspace.mount({ name: "reader", mode: "readonly" }, { cacheRoot: readerCache });
      expect((await reader.refresh()).seq).toBe(voided.seq);
      await reader.close(); // its index stands on the void record
      await writer.close();
      // The writer's next pipelined record, built on its own void one: void as well.
      await append(store, pipelinedRecordFormat, [mkdir("/cascade")], voided.hash);
      const again = await workspace.mount({ name: "reader", mode: "readonly" }, { cacheRoot: readerCache });
      expect((await again.readdir("/")).sort()).toEqual(["a.txt"]);
      const report = await again.fsck();
      expect(report.sound).toBe(true);
      expect(report.checked.voidRecords).toBe(2);
      await again.close();
      // A cold mount starts from the head's snapshot at the void seq (the log before it is not read).
      const cold = await workspace.mount({ name: "cold", mode: "readonly" }, { cacheRoot: workspace.freshCacheRoot() });
      expect((await cold.readdir("/")).sort()).toEqual(["a.txt"]);
      await cold.close();
    });

    test("a record of a format after 2 is refused, naming it, with upgrade advice", async () => {
      const workspace = await populated(backend, "void-format-3");
      const appended = await append(workspace.makeStore(), 3, [mkdir("/x")]);
      const error = await expectCode(workspace.mount({ name: "fresh", mode: "readonly" }, { cacheRoot: workspace.freshCacheRoot() }), "EIO");
      expect(error.message).toContain(appended.key);
      expect(error.message).toContain("record format 3, which this version does not know");
      expect(error.message).toContain("upgrade");
    });
  });
}

describe("void records and maintenance (local)", () => {
  test("what a void record names need not exist and is no orphan; garbage collection passes over it and keeps it", async () => {
    const workspace = await populated("local", "void-gc");
    const store = workspace.makeStore();
    const fs = await workspace.mount();
    const named = `packs/${randomUUID()}`;
    await store.put(named, new Uint8Array(64).fill(1));
    const gone = `packs/${randomUUID()}`; // never uploaded: the void record's writer failed meanwhile
    const write = (object: string, path: string): Op => ({ op: "write", path, mode: 0o644, extents: [{ object, offset: 0, length: 64, hash: "0000000000000000" }], time: Date.now() });
    await append(store, pipelinedRecordFormat, [write(named, "/named.bin"), write(gone, "/gone.bin")], lostParent());
    await fs.refresh(); // an exclusive writer does not: it goes on from the log's end at its next commit
    await fs.mkdir("/next");
    expect((await fs.readdir("/")).sort()).toEqual(["a.txt", "next"]);
    const report = await fs.fsck();
    expect(report.problems).toEqual([]);
    expect(report.checked.voidRecords).toBe(1);
    expect(report.orphans.map((orphan) => orphan.key)).not.toContain(named);
    const collected = await fs.collectGarbage({ dryRun: true, retentionMs: 0, graceMs: 0 });
    expect(collected.deletions.map((deletion) => deletion.key)).not.toContain(named);
    await fs.close();
  });

  test("a shared writer's transaction whose slot a void record took is not run again: a void record changed nothing it read", async () => {
    const workspace = await populated("local", "void-conflict");
    const store = workspace.makeStore();
    const fs = await workspace.mount({ exclusive: false });
    let runs = 0;
    await fs.transaction(async (tx) => {
      runs++;
      const names = await tx.readdir("/");
      if (runs === 1) await append(store, pipelinedRecordFormat, [mkdir("/x")], lostParent()); // in the slot this commit aims at
      await tx.writeFile("/count.txt", String(names.length));
    });
    expect(runs).toBe(1);
    expect(fs.stats().commits!.lostSlots).toBe(1);
    expect((await fs.readdir("/")).sort()).toEqual(["a.txt", "count.txt"]);
    await fs.close();
    expect(await freshTree(workspace)).toEqual(["a.txt", "count.txt"]);
  });

  test("fsck finds a snapshot that disagrees with the log on whether its record was void, and repair writes it again as the log says", async () => {
    const workspace = await populated("local", "void-fsck-snapshot");
    const store = workspace.makeStore();
    const fs = await workspace.mount({ exclusive: false });
    const voided = await append(store, pipelinedRecordFormat, [mkdir("/void")], lostParent());
    await fs.refresh();
    expect(await fs.snapshot()).toBe(voided.seq);
    const key = snapshotKey(voided.seq);
    const document = decodeSnapshot(key, (await store.get(key)).body);
    const { voided: _, ...applied } = document.position;
    await store.put(key, Bun.gzipSync(new TextEncoder().encode(JSON.stringify({ ...document, position: applied }))));
    const report = await fs.fsck();
    expect(report.problems).toEqual([{ kind: "corrupt-snapshot", key, detail: `says record ${voided.seq} was applied, but following the log finds it void` }]);
    const repaired = await fs.fsck({ repair: true });
    expect(repaired.repairs).toContain(`rebuilt ${key} from ${snapshotKey(voided.seq - 1)}`);
    expect(repaired.sound).toBe(true);
    expect(decodeSnapshot(key, (await store.get(key)).body).position.voided).toBe(true);
    await fs.close();
  });
});
