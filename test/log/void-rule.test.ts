// docs/s3-layout.md I2-I4, I7: followRecord, the one place the void rule is decided, and where
// a position's `voided` is kept (the index's meta table, snapshots).
import { afterAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { decodeRecord, decodeRecordHeader, encodeRecord, followRecord, pipelinedRecordFormat, recordFormat, type LogPosition, type RecordHeader } from "../../src/log/record.ts";
import { UnsupportedFormatError, CorruptObjectError } from "../../src/stores/store-errors.ts";
import { Namespace } from "../../src/namespace/namespace.ts";
import { positionMeta, positionOf } from "../../src/namespace/position.ts";
import { decodeSnapshot, encodeSnapshot } from "../../src/namespace/snapshot.ts";
import { OpApplier } from "../../src/namespace/apply-ops.ts";
import { RemoteLog } from "../../src/log/remote-log.ts";
import { LocalObjectStore } from "../../src/stores/local-object-store.ts";
import { catchUp } from "../../src/commit/replay.ts";
import { recordSizes } from "../../src/commit/record-sizes.ts";
import { removeTempDirectories, tempDirectory } from "../support/temp.ts";

afterAll(removeTempDirectories);

const fsId = "fs-1";
const header = (overrides: Partial<RecordHeader>): RecordHeader => ({
  format: recordFormat,
  fsId,
  seq: 6,
  parent: 5,
  parentHash: "aaaaaaaaaaaaaaaa",
  epoch: 3,
  writer: "w",
  nonce: "n",
  time: 0,
  ops: [],
  ...overrides,
});
const at5: LogPosition = { fsId, seq: 5, hash: "aaaaaaaaaaaaaaaa", epoch: 3 };
const voidAt5: LogPosition = { ...at5, voided: true };

describe("followRecord", () => {
  test("format 1 naming the record before applies; the position is not voided", () => {
    expect(followRecord(at5, header({ epoch: 4 }), "bbbbbbbbbbbbbbbb")).toEqual({ position: { fsId, seq: 6, hash: "bbbbbbbbbbbbbbbb", epoch: 4 }, voided: false });
  });

  test("format 1 follows a void record by its hash", () => {
    expect(followRecord(voidAt5, header({}), "bbbbbbbbbbbbbbbb")).toEqual({ position: { fsId, seq: 6, hash: "bbbbbbbbbbbbbbbb", epoch: 3 }, voided: false });
  });

  test("format 1 naming another parent, or going back in epoch, is a broken chain, void record before it or not", () => {
    for (const previous of [at5, voidAt5]) {
      expect(followRecord(previous, header({ parentHash: "cccccccccccccccc" }), "bbbbbbbbbbbbbbbb").problem).toContain("links to parent hash cccccccccccccccc");
      expect(followRecord(previous, header({ epoch: 2 }), "bbbbbbbbbbbbbbbb").problem).toContain("has epoch 2, older than 3");
    }
  });

  test("format 2 naming another parent is void: not checked for its epoch, the position keeps the epoch and takes its hash", () => {
    const followed = followRecord(at5, header({ format: pipelinedRecordFormat, parentHash: "cccccccccccccccc", epoch: 1, ops: [{ op: "epoch", epoch: 9, writer: "w", time: 0 }] }), "bbbbbbbbbbbbbbbb");
    expect(followed).toEqual({ position: { fsId, seq: 6, hash: "bbbbbbbbbbbbbbbb", epoch: 3, voided: true }, voided: true });
  });

  test("format 2 after a void record is void even when it names that record's hash", () => {
    expect(followRecord(voidAt5, header({ format: pipelinedRecordFormat }), "bbbbbbbbbbbbbbbb")).toEqual({ position: { fsId, seq: 6, hash: "bbbbbbbbbbbbbbbb", epoch: 3, voided: true }, voided: true });
  });

  test("format 2 naming the record before, which applied, applies and is checked for its epoch", () => {
    expect(followRecord(at5, header({ format: pipelinedRecordFormat, epoch: 5 }), "bbbbbbbbbbbbbbbb")).toEqual({ position: { fsId, seq: 6, hash: "bbbbbbbbbbbbbbbb", epoch: 5 }, voided: false });
    expect(followRecord(at5, header({ format: pipelinedRecordFormat, epoch: 2 }), "bbbbbbbbbbbbbbbb").problem).toContain("older than 3");
  });

  test("another filesystem or a seq out of place is damage for every format, void or not", () => {
    for (const format of [recordFormat, pipelinedRecordFormat]) {
      for (const previous of [at5, voidAt5]) {
        expect(followRecord(previous, header({ format, fsId: "other", parentHash: "cccccccccccccccc" }), "b").problem).toContain("belongs to filesystem other");
        expect(followRecord(previous, header({ format, seq: 7, parent: 6, parentHash: "cccccccccccccccc" }), "b").problem).toContain("has seq 7 after 5");
      }
    }
  });
});

describe("record formats", () => {
  test("format 2 decodes like format 1; format 3 is refused with upgrade advice", () => {
    const two = encodeRecord([], header({ format: pipelinedRecordFormat }));
    expect(decodeRecord("wal/6", two.bytes).header.format).toBe(2);
    expect(decodeRecordHeader("wal/6", new TextEncoder().encode(JSON.stringify(header({ format: 2 })))).format).toBe(2);
    const three = encodeRecord([], header({ format: 3 }));
    expect(() => decodeRecord("wal/6", three.bytes)).toThrow(UnsupportedFormatError);
    expect(() => decodeRecord("wal/6", three.bytes)).toThrow(/record format 3, which this version does not know.*upgrade/);
    expect(() => decodeRecordHeader("wal/6", new TextEncoder().encode(JSON.stringify(header({ format: 3 }))))).toThrow(UnsupportedFormatError);
    expect(() => decodeRecord("wal/6", encodeRecord([], header({ format: 0 })).bytes)).toThrow(CorruptObjectError);
  });
});

describe("where voided is kept", () => {
  test("the index's meta: written with each position, cleared by the next, never taken from another seq", () => {
    const namespace = new Namespace(join(tempDirectory("void-meta"), "index.sqlite"));
    try {
      namespace.beginBatch();
      namespace.commitBatch(positionMeta(voidAt5));
      expect(positionOf(namespace.committed)).toEqual(voidAt5);
      namespace.beginBatch();
      namespace.commitBatch(positionMeta({ fsId, seq: 6, hash: "b", epoch: 3 }));
      expect(positionOf(namespace.committed)).toEqual({ fsId, seq: 6, hash: "b", epoch: 3 });
      // A version that does not write `voided` moved the index on: the value left names seq 5, not 6.
      namespace.beginBatch();
      namespace.commitBatch(positionMeta(voidAt5));
      namespace.beginBatch();
      namespace.commitBatch({ fsId, seq: "6", hash: "b", epoch: "3" });
      expect(positionOf(namespace.committed)).toEqual({ fsId, seq: 6, hash: "b", epoch: 3 });
    } finally {
      namespace.close();
    }
  });

  test("a snapshot holds voided only when true, and refuses one that is not a boolean", () => {
    const namespace = new Namespace(join(tempDirectory("void-snapshot"), "index.sqlite"));
    try {
      namespace.beginBatch();
      namespace.clear(0);
      namespace.commitBatch(positionMeta(at5));
      const plain = encodeSnapshot(namespace.committed, { ...at5, voided: false });
      expect(plain).toEqual(encodeSnapshot(namespace.committed, at5));
      expect(JSON.stringify(decodeSnapshot("snapshots/5", plain).position)).toBe(JSON.stringify(at5));
      expect(decodeSnapshot("snapshots/5", encodeSnapshot(namespace.committed, voidAt5)).position).toEqual(voidAt5);
      const document = decodeSnapshot("snapshots/5", plain);
      const bad = Bun.gzipSync(new TextEncoder().encode(JSON.stringify({ ...document, position: { ...at5, voided: "yes" } })));
      expect(() => decodeSnapshot("snapshots/5", bad)).toThrow("voided is not a boolean");
    } finally {
      namespace.close();
    }
  });
});

describe("catchUp", () => {
  test("reads void records, counts their bytes in the record sizes, applies and returns only the others; the position says voided", async () => {
    const directory = tempDirectory("void-catch-up");
    const log = new RemoteLog(new LocalObjectStore({ root: join(directory, "objects"), fsync: false }));
    const namespace = new Namespace(join(directory, "index.sqlite"));
    try {
      const mkdir = (path: string) => ({ op: "mkdir" as const, path, mode: 0o755, recursive: false, time: 1 });
      const put = async (seq: number, format: number, parentHash: string, path: string) => {
        const { bytes, hash } = encodeRecord([], header({ format, seq, parent: seq - 1, parentHash, epoch: 1, ops: [mkdir(path)] }));
        await log.writeRecord(seq, bytes);
        return { hash, bytes: bytes.byteLength };
      };
      const one = await put(1, recordFormat, "", "/one");
      const two = await put(2, pipelinedRecordFormat, "0123456789abcdef", "/void"); // its parent lost slot 1
      const start: LogPosition = { fsId, seq: 0, hash: "", epoch: 0 };
      namespace.beginBatch();
      namespace.clear(0);
      namespace.commitBatch(positionMeta(start));
      const applier = new OpApplier(namespace);
      const first = await catchUp(log, namespace, applier, start, undefined);
      expect(first.records.map((record) => record.header.seq)).toEqual([1]);
      expect(first.voided.map((record) => record.header.seq)).toEqual([2]);
      expect(first.position).toEqual({ fsId, seq: 2, hash: two.hash, epoch: 1, voided: true });
      expect(positionOf(namespace.committed)).toEqual(first.position);
      expect(recordSizes(namespace.committed, 2)).toEqual([
        { seq: 1, bytes: one.bytes },
        { seq: 2, bytes: two.bytes },
      ]);
      const three = await put(3, recordFormat, two.hash, "/three");
      const second = await catchUp(log, namespace, applier, first.position, undefined);
      expect(second.records.map((record) => record.header.seq)).toEqual([3]);
      expect(second.voided).toEqual([]);
      expect(second.position).toEqual({ fsId, seq: 3, hash: three.hash, epoch: 1 });
      expect(positionOf(namespace.committed)).toEqual(second.position);
      expect(recordSizes(namespace.committed, 3).map((record) => record.seq)).toEqual([1, 2, 3]);
      expect("missing" in namespace.committed.lookup("/void", false, "stat")).toBe(true);
      expect("missing" in namespace.committed.lookup("/three", false, "stat")).toBe(false);
    } finally {
      namespace.close();
    }
  });
});
