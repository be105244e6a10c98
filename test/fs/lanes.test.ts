// docs/s3-layout.md "Lanes" (LN1-LN9): a top-level directory's log of its own. The first tests
// write lane records by hand, as a lane's owner and a closing writer leave them (a main-log record
// opening the lane, the lane's records, its close marker, the main-log record closing it), and
// check what mounts, refresh, time travel and writers make of them, and that damage is refused;
// the last ones have shared writers open, use and close lanes themselves.
import { afterAll, describe, expect, test } from "bun:test";
import { randomUUID } from "node:crypto";
import { listAll, type ObjectStore } from "../../src/stores/object-store.ts";
import { decodeRecord, encodeRecord, pipelinedRecordFormat, recordFormat, type RecordHeader } from "../../src/log/record.ts";
import { laneRecordKey, walKey } from "../../src/log/keys.ts";
import { hashBytes, type Op } from "../../src/log/ops.ts";
import { expectCode } from "../support/errors.ts";
import { removeTempDirectories } from "../support/temp.ts";
import { testWorkspace, type Backend, type TestWorkspace } from "../support/mounts.ts";

afterAll(removeTempDirectories);

const backends: Backend[] = process.env.S3_ENDPOINT === undefined ? ["local"] : ["local", "s3"];

interface Tip {
  seq: number;
  hash: string;
  epoch: number;
}

/** Writes records by hand into the main log and into lanes, each chained as a writer chains it. */
class Scribe {
  private main: Tip = { seq: 0, hash: "", epoch: 0 };
  private fsId = "";
  readonly lanes = new Map<number, Tip>();

  constructor(private readonly store: ObjectStore) {}

  /** Starts after the newest record in the main log. */
  async start(): Promise<this> {
    let seq = 0;
    for await (const object of listAll(this.store, { prefix: "wal/" })) seq = Math.max(seq, Number(object.key.slice(4)));
    const record = decodeRecord(walKey(seq), (await this.store.get(walKey(seq))).body);
    this.main = { seq, hash: record.hash, epoch: record.header.epoch };
    this.fsId = record.header.fsId;
    return this;
  }

  private header(tip: Tip, ops: Op[], extra: Partial<RecordHeader> = {}): RecordHeader {
    return { format: recordFormat, fsId: this.fsId, seq: tip.seq + 1, parent: tip.seq, parentHash: tip.hash, epoch: tip.epoch, writer: "lane-writer", nonce: randomUUID(), time: Date.now(), ops, ...extra };
  }

  /** A main-log record holding `ops`; returns its seq and key. */
  async publish(ops: Op[], data: Uint8Array[] = []): Promise<{ seq: number; key: string }> {
    const header = this.header(this.main, ops);
    const { bytes, hash } = encodeRecord(data, header);
    await this.store.put(walKey(header.seq), bytes, { ifNoneMatch: "*" });
    this.main = { seq: header.seq, hash, epoch: this.main.epoch };
    return { seq: header.seq, key: walKey(header.seq) };
  }

  /** Opens a lane for `path`; returns its id. */
  async open(path: string, owner = "lane-writer"): Promise<number> {
    const { seq } = await this.publish([{ op: "laneOpen", path, owner, time: Date.now() }]);
    this.lanes.set(seq, { seq: 0, hash: this.main.hash, epoch: this.main.epoch });
    return seq;
  }

  /** A record of lane `lane` holding `ops` (`extra` overrides header fields); returns its key. */
  async inLane(lane: number, ops: Op[], data: Uint8Array[] = [], extra: Partial<RecordHeader> = {}): Promise<string> {
    const tip = this.lanes.get(lane)!;
    const header = this.header(tip, ops, { lane, after: this.main.seq, ...extra });
    const { bytes, hash } = encodeRecord(data, header);
    await this.store.put(laneRecordKey(lane, header.seq), bytes, { ifNoneMatch: "*" });
    this.lanes.set(lane, { seq: header.seq, hash, epoch: tip.epoch });
    return laneRecordKey(lane, header.seq);
  }

  /** Closes lane `lane` as a closing writer does: its close marker, then the main-log record. */
  async close(lane: number, path: string, options: { marker?: boolean } = {}): Promise<{ seq: number; key: string }> {
    const tip = this.lanes.get(lane)!;
    if (options.marker !== false) {
      const header = this.header(tip, [{ op: "laneEnd", writer: "closer", time: Date.now() }], { lane, after: this.main.seq });
      await this.store.put(laneRecordKey(lane, header.seq), encodeRecord([], header).bytes, { ifNoneMatch: "*" });
    }
    return this.publish([{ op: "laneClose", lane, path, seq: tip.seq, hash: tip.hash, time: Date.now() }]);
  }
}

/** A write of `text` as the record's inline data (the record must carry `data`). */
function inlineWrite(path: string, text: string): { op: Op; data: Uint8Array } {
  const data = new TextEncoder().encode(text);
  return { op: { op: "write", path, mode: 0o644, extents: [{ object: "", offset: 0, length: data.byteLength, hash: hashBytes(data) }], time: Date.now() }, data };
}

const mkdir = (path: string): Op => ({ op: "mkdir", path, mode: 0o755, recursive: false, time: Date.now() });

async function laneWrite(scribe: Scribe, lane: number, path: string, text: string): Promise<string> {
  const { op, data } = inlineWrite(path, text);
  return scribe.inLane(lane, [op], [data]);
}

/** A workspace with /agent (a directory) and /top.txt, written by a writer of this version. */
async function populated(backend: Backend, label: string): Promise<{ workspace: TestWorkspace; scribe: Scribe }> {
  const workspace = await testWorkspace(backend, label);
  const fs = await workspace.mount({ exclusive: false });
  await fs.mkdir("/agent");
  await fs.writeFile("/top.txt", "top");
  await fs.close();
  return { workspace, scribe: await new Scribe(workspace.makeStore()).start() };
}

async function tree(fs: { readdir(path: string): Promise<string[]>; readText(path: string): Promise<string> }, directory: string): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  for (const name of (await fs.readdir(directory)).sort()) files[name] = await fs.readText(`${directory}/${name}`);
  return files;
}

for (const backend of backends) {
  describe(`lanes, read by this version (${backend})`, () => {
    test("a mount sees an open lane's records; a reader's refresh() takes in new ones and the closing; time travel sees a lane's records from the main-log seq they name on", async () => {
      const { workspace, scribe } = await populated(backend, "lanes-read");
      const lane = await scribe.open("/agent");
      await laneWrite(scribe, lane, "/agent/a.txt", "alpha");
      await laneWrite(scribe, lane, "/agent/b.txt", "beta");
      const reader = await workspace.mount({ name: "reader", mode: "readonly" }, { cacheRoot: workspace.freshCacheRoot() });
      expect(await tree(reader, "/agent")).toEqual({ "a.txt": "alpha", "b.txt": "beta" });
      const openedAt = reader.stats().seq;

      // A record in the lane, then one in the main log: a refresh takes both in.
      await laneWrite(scribe, lane, "/agent/a.txt", "alpha 2");
      const changed = await reader.refresh();
      expect(changed.changed).toBe(true);
      expect(changed.seq).toBe(openedAt); // the main log did not move
      expect(await reader.readText("/agent/a.txt")).toBe("alpha 2");
      const { op, data } = inlineWrite("/top.txt", "top 2");
      await scribe.publish([op], [data]);
      await laneWrite(scribe, lane, "/agent/c.txt", "gamma");
      await reader.refresh();
      expect(await reader.readText("/top.txt")).toBe("top 2");
      expect(await tree(reader, "/agent")).toEqual({ "a.txt": "alpha 2", "b.txt": "beta", "c.txt": "gamma" });
      expect((await reader.refresh()).changed).toBe(false); // nothing new anywhere

      // Closed: the main log holds the directory again, and a record there may touch it.
      const closed = await scribe.close(lane, "/agent");
      await scribe.publish([mkdir("/agent/after")]);
      await reader.refresh();
      expect((await reader.readdir("/agent")).sort()).toEqual(["a.txt", "after", "b.txt", "c.txt"]);

      // A cold mount replays it all: the lane's records are read where its closing stands.
      const cold = await workspace.mount({ name: "cold", mode: "readonly" }, { cacheRoot: workspace.freshCacheRoot() });
      expect((await cold.readdir("/agent")).sort()).toEqual(["a.txt", "after", "b.txt", "c.txt"]);
      expect(await cold.readText("/agent/c.txt")).toBe("gamma");
      // Time travel: of a lane, the records written on the main log as it stood at that seq
      // (each names the main-log seq its writer had applied: docs/s3-layout.md LN7).
      const atSeq = (seq: number, name: string) => workspace.mount({ name, mode: "readonly", atSeq: seq }, { cacheRoot: workspace.freshCacheRoot() });
      const before = await atSeq(lane - 1, "before");
      expect(await before.readdir("/agent")).toEqual([]);
      const during = await atSeq(lane, "during");
      expect(await tree(during, "/agent")).toEqual({ "a.txt": "alpha 2", "b.txt": "beta" });
      expect(await during.readText("/top.txt")).toBe("top");
      const at = await atSeq(lane + 1, "at");
      expect(await tree(at, "/agent")).toEqual({ "a.txt": "alpha 2", "b.txt": "beta", "c.txt": "gamma" });
      expect(await at.readText("/top.txt")).toBe("top 2");
      expect(closed.seq).toBe(lane + 2);
      for (const fs of [reader, cold, before, during, at]) await fs.close();
    });
  });
}

describe("lanes: beside a lane of another writer, and damage", () => {
  test("a writer beside a lane it does not own: a record elsewhere names where the lane stood, one inside the lane's directory ends and closes it first", async () => {
    const { workspace, scribe } = await populated("local", "lanes-writer");
    const lane = await scribe.open("/agent");
    await laneWrite(scribe, lane, "/agent/a.txt", "alpha");
    const writer = await workspace.mount({ name: "writer", exclusive: false, refreshIntervalMs: 0 }, { cacheRoot: workspace.freshCacheRoot() });
    expect(await writer.readText("/agent/a.txt")).toBe("alpha");
    const store = workspace.makeStore();
    await writer.writeFile("/elsewhere.txt", "x");
    const elsewhere = decodeRecord(walKey(lane + 1), (await store.get(walKey(lane + 1))).body);
    expect(elsewhere.header.lanes).toEqual({ [String(lane)]: 1 });
    expect(elsewhere.header.ops.map((op) => op.op)).toEqual(["write"]);

    await writer.writeFile("/agent/b.txt", "beta");
    const marker = decodeRecord(laneRecordKey(lane, 2), (await store.get(laneRecordKey(lane, 2))).body);
    expect(marker.header.ops.map((op) => op.op)).toEqual(["laneEnd"]);
    const closing = decodeRecord(walKey(lane + 2), (await store.get(walKey(lane + 2))).body);
    expect(closing.header.ops.map((op) => op.op)).toEqual(["laneClose", "write"]);
    expect(closing.header.lanes).toBeUndefined();
    // The owner's next record finds its slot taken by the marker.
    expect(await laneWrite(scribe, lane, "/agent/late.txt", "late").catch((error: Error) => error.name)).toBe("PreconditionFailedError");
    const fresh = await workspace.mount({ name: "fresh", mode: "readonly" }, { cacheRoot: workspace.freshCacheRoot() });
    expect(await tree(fresh, "/agent")).toEqual({ "a.txt": "alpha", "b.txt": "beta" });
    expect(await fresh.readText("/elsewhere.txt")).toBe("x");
    expect((await fresh.fsck()).problems).toEqual([]);
    await writer.close();
    await fresh.close();
  });

  const damaged: [string, (scribe: Scribe, lane: number) => Promise<string>, string][] = [
    ["a main-log record that changes a path inside an open lane", (scribe) => scribe.publish([mkdir("/agent/x")]).then((record) => record.key), "which lane"],
    ["a lane record that changes a path outside its directory", (scribe, lane) => scribe.inLane(lane, [mkdir("/outside")]), "outside /agent"],
    ["a lane record that removes the lane's directory", (scribe, lane) => scribe.inLane(lane, [{ op: "rm", path: "/agent", recursive: true, force: false, time: 1 }]), "outside /agent"],
    ["a lane record of another lane", (scribe, lane) => scribe.inLane(lane, [mkdir("/agent/y")], [], { lane: lane + 7 }), "not lane"],
    ["a lane record that breaks the lane's chain", (scribe, lane) => scribe.inLane(lane, [mkdir("/agent/y")], [], { parentHash: "0123456789abcdef" }), "links to parent hash"],
    ["a closing that names another record than the lane's last", async (scribe, lane) => {
      await laneWrite(scribe, lane, "/agent/z.txt", "z");
      const tip = scribe.lanes.get(lane)!;
      scribe.lanes.set(lane, { ...tip, seq: tip.seq - 1 });
      return (await scribe.close(lane, "/agent", { marker: false })).key;
    }, "but it stands at"],
    ["a second lane for the same directory", (scribe) => scribe.open("/agent").then((seq) => walKey(seq)), "which lane"],
    ["a lane for a path below the top level", (scribe) => scribe.open("/agent/deep").then((seq) => walKey(seq)), "no top-level directory"],
  ];
  for (const [what, write, says] of damaged) {
    test(`damage: ${what} stops a mount, naming the record`, async () => {
      const { workspace, scribe } = await populated("local", "lanes-damage");
      const lane = await scribe.open("/agent");
      await laneWrite(scribe, lane, "/agent/a.txt", "alpha");
      const key = await write(scribe, lane);
      const error = await expectCode(workspace.mount({ name: "fresh", mode: "readonly" }, { cacheRoot: workspace.freshCacheRoot() }), "EIO");
      expect(error.message).toContain(key);
      expect(error.message).toContain(says);
    });
  }

  test("a reader behind the head's snapshot whose lane's records were collected under the record closing it starts again from the snapshot", async () => {
    const { workspace, scribe } = await populated("local", "lanes-reader-collected");
    const lane = await scribe.open("/agent");
    await laneWrite(scribe, lane, "/agent/a.txt", "alpha");
    const reader = await workspace.mount({ name: "reader", mode: "readonly", refreshIntervalMs: 0 }, { cacheRoot: workspace.freshCacheRoot() });
    expect(await tree(reader, "/agent")).toEqual({ "a.txt": "alpha" });
    await scribe.inLane(lane, [mkdir("/agent/sub")]);
    await scribe.close(lane, "/agent");
    const writer = await workspace.mount({ name: "writer", exclusive: false }, { cacheRoot: workspace.freshCacheRoot() });
    expect(await writer.snapshot()).toBeGreaterThan(lane);
    await writer.close();
    // As a collection past that snapshot leaves it: the lane's records gone but the one whose
    // inline data a file holds, and the main-log record closing the lane still there.
    const store = workspace.makeStore();
    for (const seq of [2, 3]) await store.delete(laneRecordKey(lane, seq));
    expect((await reader.refresh()).changed).toBe(true);
    expect((await reader.readdir("/agent")).sort()).toEqual(["a.txt", "sub"]);
    expect(await reader.readText("/agent/a.txt")).toBe("alpha");
    await reader.close();
  });

  test("a record past a lane's close marker is never read: a pipelined record of the owner whose parent lost its slot to the marker", async () => {
    const { workspace, scribe } = await populated("local", "lanes-past-marker");
    const lane = await scribe.open("/agent");
    await laneWrite(scribe, lane, "/agent/a.txt", "alpha");
    const tip = scribe.lanes.get(lane)!;
    await scribe.close(lane, "/agent");
    // The owner's pipelined record, built on its own record that lost the slot to the marker.
    scribe.lanes.set(lane, { seq: tip.seq + 1, hash: "0123456789abcdef", epoch: tip.epoch });
    await scribe.inLane(lane, [mkdir("/agent/late")], [], { format: pipelinedRecordFormat });
    const fresh = await workspace.mount({ name: "fresh", mode: "readonly" }, { cacheRoot: workspace.freshCacheRoot() });
    expect(await fresh.readdir("/agent")).toEqual(["a.txt"]);
    await fresh.close();
  });
});

for (const backend of backends) {
  describe(`lanes, written by shared writers (${backend})`, () => {
    test("writers in different top-level directories that meet on the log open lanes, then commit there without meeting; a write into another's lane closes it; a snapshot closes them all", async () => {
      const workspace = await testWorkspace(backend, "lanes-write");
      const config = { exclusive: false, refreshIntervalMs: 0 } as const;
      const a = await workspace.mount({ ...config, name: "a" }, { cacheRoot: workspace.freshCacheRoot() });
      await a.mkdir("/a");
      const b = await workspace.mount({ ...config, name: "b" }, { cacheRoot: workspace.freshCacheRoot() });
      await b.mkdir("/b");
      const lanesOf = (fs: typeof a) => fs.stats().commits!;

      // b took in a's record as it mounted, and its write falls in a
      // directory a has not touched: its record opens a lane. a meets b by losing a slot to b's
      // record, and its record opens a lane too.
      await b.writeFile("/b/1", "b1");
      await a.writeFile("/a/1", "a1");
      expect(lanesOf(b).lanesOpened).toBe(1);
      expect(lanesOf(a).lanesOpened).toBe(1);
      expect(lanesOf(a).lostSlots).toBeGreaterThan(0);
      await b.writeFile("/b/2", "b2");
      await a.writeFile("/a/2", "a2");
      expect(lanesOf(a).laneCommits).toBe(1);
      expect(lanesOf(b).laneCommits).toBe(1);
      // From now on neither meets the other: each writes in its own lane.
      const lostBefore = lanesOf(a).lostSlots + lanesOf(b).lostSlots;
      for (let round = 3; round < 8; round++) {
        await Promise.all([a.writeFile(`/a/${round}`, `a${round}`), b.writeFile(`/b/${round}`, `b${round}`)]);
      }
      expect(lanesOf(a).lostSlots + lanesOf(b).lostSlots).toBe(lostBefore);
      expect(lanesOf(a).laneCommits).toBe(6);
      expect(lanesOf(b).laneCommits).toBe(6);

      const reader = await workspace.mount({ name: "reader", mode: "readonly", refreshIntervalMs: 0 }, { cacheRoot: workspace.freshCacheRoot() });
      expect((await reader.readdir("/a")).length).toBe(7);
      expect((await reader.readdir("/b")).length).toBe(7);

      // a writes into b's lane: it ends the lane (its close marker) and closes it in the main log.
      await a.writeFile("/b/from-a", "x");
      expect(lanesOf(a).lanesClosed).toBe(1);
      // b's next write in its lane finds the marker, and goes to the main log instead.
      await b.writeFile("/b/8", "b8");
      expect(lanesOf(b).laneCommits).toBe(6);
      expect(lanesOf(b).lanesClosed).toBe(0); // a closed it
      await reader.refresh();
      expect(await reader.readText("/b/from-a")).toBe("x");
      expect(await reader.readText("/b/8")).toBe("b8");
      expect(await reader.readText("/a/7")).toBe("a7");

      // A snapshot is a state with no lane open: a's lane is closed first.
      const seq = await b.snapshot();
      expect(seq).toBeGreaterThan(0);
      await a.refresh();
      await a.writeFile("/a/after-snapshot", "y"); // in the main log now (a lane opens again only after a lost slot)
      const fresh = await workspace.mount({ name: "fresh", mode: "readonly" }, { cacheRoot: workspace.freshCacheRoot() });
      const everything = async (fs: typeof a) => ({ a: await tree(fs, "/a"), b: await tree(fs, "/b") });
      const expected = await everything(fresh);
      expect(Object.keys(expected.a).length).toBe(8);
      expect(Object.keys(expected.b).length).toBe(9);
      await a.refresh();
      await b.refresh();
      await reader.refresh();
      for (const fs of [a, b, reader]) expect(await everything(fs)).toEqual(expected);
      const report = await fresh.fsck();
      expect(report.problems).toEqual([]);
      for (const fs of [a, b, reader, fresh]) await fs.close();
    });
  });
}

describe("lanes: false", () => {
  test("writers given lanes: false open none, as they would otherwise, and publish in the main log", async () => {
    const workspace = await testWorkspace("local", "lanes-off");
    const config = { exclusive: false, refreshIntervalMs: 0, lanes: false } as const;
    const a = await workspace.mount({ ...config, name: "a" }, { cacheRoot: workspace.freshCacheRoot() });
    await a.mkdir("/a");
    const b = await workspace.mount({ ...config, name: "b" }, { cacheRoot: workspace.freshCacheRoot() });
    await b.mkdir("/b");
    for (let round = 1; round < 4; round++) await Promise.all([a.writeFile(`/a/${round}`, "a"), b.writeFile(`/b/${round}`, "b")]);
    for (const fs of [a, b]) expect(fs.stats().commits!.lanesOpened + fs.stats().commits!.laneCommits).toBe(0);
    expect(await Array.fromAsync(listAll(workspace.makeStore(), { prefix: "lanes/" }))).toEqual([]);
    await a.close();
    await b.close();
  });
});

describe("lanes and garbage collection", () => {
  test("a lane closed by the snapshot gc keeps from loses the records no kept state uses; those whose inline data a file still holds stay, every file reads back, and a reader left inside the lane carries on", async () => {
    const workspace = await testWorkspace("local", "lanes-gc");
    const config = { exclusive: false, refreshIntervalMs: 0, layout: { inlineRecordBytes: 1024 } } as const;
    const a = await workspace.mount({ ...config, name: "a" }, { cacheRoot: workspace.freshCacheRoot() });
    await a.mkdir("/a");
    const b = await workspace.mount({ ...config, name: "b" }, { cacheRoot: workspace.freshCacheRoot() });
    await b.mkdir("/b");
    // b's lane opens; each rewrite of /b/kept leaves the record before it holding bytes no file uses.
    for (let round = 0; round < 6; round++) await b.writeFile("/b/kept", `version ${round}`);
    await b.writeFile("/b/other", "other");
    expect(b.stats().commits!.laneCommits).toBeGreaterThan(3);
    await a.writeFile("/a/x", "x");
    // A reader left standing inside the lane while it is closed and collected.
    const reader = await workspace.mount({ name: "reader", mode: "readonly", refreshIntervalMs: 0 }, { cacheRoot: workspace.freshCacheRoot() });
    expect(await reader.readText("/b/kept")).toBe("version 5");
    await b.close(); // closes its lane
    await a.close();
    const store = workspace.makeStore();
    const laneKeys = async () => (await Array.fromAsync(listAll(store, { prefix: "lanes/" }))).map((object) => object.key).sort();
    const before = await laneKeys();
    expect(before.length).toBeGreaterThan(4);
    // An exclusive writer (collections keep shared writers' records for 10 minutes): a snapshot
    // past the closing, then a collection with no retention window.
    const collector = await workspace.mount({ name: "collector", exclusive: true }, { cacheRoot: workspace.freshCacheRoot() });
    await collector.snapshot();
    const report = await collector.collectGarbage({ retentionMs: 0, graceMs: 0 });
    const deletedLaneRecords = report.deletions.filter((deletion) => deletion.kind === "lane-record").map((deletion) => deletion.key);
    const after = await laneKeys();
    expect(deletedLaneRecords.length).toBeGreaterThan(0);
    expect(after).toEqual(before.filter((key) => !deletedLaneRecords.includes(key)));
    // What stays is what a file still reads: the last /b/kept and /b/other, inline in their records.
    expect(after.length).toBeGreaterThan(0);
    const fresh = await workspace.mount({ name: "fresh", mode: "readonly" }, { cacheRoot: workspace.freshCacheRoot() });
    expect(await fresh.readText("/b/kept")).toBe("version 5");
    expect(await fresh.readText("/b/other")).toBe("other");
    expect(await fresh.readText("/a/x")).toBe("x");
    expect((await fresh.fsck()).problems).toEqual([]);
    // The reader's next refresh meets the closing record of a lane whose records are gone: it
    // starts again from the snapshot the head names (M8).
    await collector.close();
    await reader.refresh();
    expect(await reader.readText("/b/other")).toBe("other");
    expect(await reader.readText("/a/x")).toBe("x");
    await reader.close();
    await fresh.close();
  });
});
