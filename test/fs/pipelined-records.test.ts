// Pipelined commit records (docs/s3-layout.md C8, I7): a busy writer PUTs its next record while
// the one before is still waiting for its answer, naming that record's hash as its parent (record
// format 2). Each write still resolves only once its record and every record before it landed.
// When a record in flight does not make the log (another writer took its slot, or its outcome is
// unknown and it never lands), a record of its writer that followed it is void wherever it landed:
// no mount ever applies it, and the writes it held are published again or fail with EIO.
import { afterAll, describe, expect, test } from "bun:test";
import type { ObjectStore, S3CachedFs } from "../../src/core.ts";
import { ForwardingStore, type StoreRequest } from "../../src/stores/forwarding-store.ts";
import { AmbiguousOutcomeError, UnavailableError } from "../../src/stores/store-errors.ts";
import { walKey } from "../../src/log/keys.ts";
import { decodeRecord, pipelinedRecordFormat, recordFormat } from "../../src/log/record.ts";
import { maxRecordsInFlight } from "../../src/commit/committer.ts";
import { OpApplier } from "../../src/namespace/apply-ops.ts";
import { Namespace } from "../../src/namespace/namespace.ts";
import { positionOf } from "../../src/namespace/position.ts";
import { cpSync, readdirSync } from "node:fs";
import { basename, join } from "node:path";
import { expectCode } from "../support/errors.ts";
import { removeTempDirectories } from "../support/temp.ts";
import { testWorkspace, type Backend, type TestWorkspace } from "../support/mounts.ts";

afterAll(removeTempDirectories);

/**
 * Holds chosen commit records' PUTs until the test lets them go (or fails them without sending:
 * a timeout whose outcome nobody can read back), and counts the record PUTs in flight at once.
 */
class RecordGate extends ForwardingStore {
  private readonly held = new Map<number, { go: () => void; fail: (error: unknown) => void }>();
  private readonly holding = new Set<number>();
  private readonly started = new Map<number, () => void>();
  private readonly startedSeqs = new Set<number>();
  private readonly unreadable = new Set<string>();
  recordPuts = 0;
  recordGets = 0;
  inFlight = 0;
  mostInFlight = 0;

  hold(seq: number): void {
    this.holding.add(seq);
  }

  /** Resolves once the PUT of record `seq` has been sent to this store. */
  putStarted(seq: number): Promise<void> {
    if (this.startedSeqs.has(seq)) return Promise.resolve();
    return new Promise((resolve) => this.started.set(seq, resolve));
  }

  /** Lets a held PUT through. */
  release(seq: number): void {
    this.holding.delete(seq);
    this.held.get(seq)?.go();
    this.held.delete(seq);
  }

  /** Fails a held PUT without sending it, and makes reading that slot back fail too: its outcome is unknown to the writer. */
  loseAnswer(seq: number): void {
    this.holding.delete(seq);
    this.unreadable.add(walKey(seq));
    this.held.get(seq)?.fail(new AmbiguousOutcomeError(`put ${walKey(seq)}: the connection was reset (test)`, { operation: "put", key: walKey(seq) }));
    this.held.delete(seq);
  }

  /** Slot `seq` reads normally again. */
  readable(seq: number): void {
    this.unreadable.delete(walKey(seq));
  }

  protected override forward<T>(request: StoreRequest, send: () => Promise<T>): Promise<T> {
    const key = request.key ?? "";
    if (!key.startsWith("wal/")) return send();
    if (request.operation === "get") {
      this.recordGets++;
      if (this.unreadable.has(key)) return Promise.reject(new UnavailableError(`get ${key}: unavailable (test)`, { operation: "get", key }));
      return send();
    }
    if (request.operation !== "put") return send();
    const seq = Number(key.slice("wal/".length));
    this.recordPuts++;
    this.inFlight++;
    this.mostInFlight = Math.max(this.mostInFlight, this.inFlight);
    this.startedSeqs.add(seq);
    this.started.get(seq)?.();
    const gate = this.holding.has(seq) ? new Promise<void>((go, fail) => this.held.set(seq, { go, fail })) : undefined;
    return (async () => {
      try {
        if (gate !== undefined) await gate;
        return await send();
      } finally {
        this.inFlight--;
      }
    })();
  }
}

async function gatedMount(workspace: TestWorkspace, name: string, config: Record<string, unknown> = {}): Promise<{ fs: S3CachedFs; gate: RecordGate }> {
  let gate: RecordGate | undefined;
  const wrap = (store: ObjectStore) => (gate = new RecordGate(store));
  const fs = await workspace.mount({ name, exclusive: false, ...config }, { wrap, cacheRoot: workspace.freshCacheRoot() });
  return { fs, gate: gate! };
}

/** The record format of each slot from `from` to `to`. */
async function formats(workspace: TestWorkspace, from: number, to: number): Promise<number[]> {
  const store = workspace.makeStore();
  const out: number[] = [];
  for (let seq = from; seq <= to; seq++) out.push(decodeRecord(walKey(seq), (await store.get(walKey(seq))).body).header.format);
  return out;
}

/** A fresh read-only mount's files and their contents. */
async function freshTree(workspace: TestWorkspace): Promise<Record<string, string>> {
  const fresh = await workspace.mount({ name: "fresh", mode: "readonly" }, { cacheRoot: workspace.freshCacheRoot() });
  try {
    const tree: Record<string, string> = {};
    for (const path of fresh.allPaths()) if ((await fresh.lstat(path)).isFile()) tree[path] = await fresh.readText(path);
    const report = await fresh.fsck();
    expect(report.problems).toEqual([]);
    return tree;
  } finally {
    await fresh.close();
  }
}

/** Counts the operations applied to any local index (validated, or applied from the log) while `body` runs. */
async function countingApplies(body: () => Promise<void>): Promise<number> {
  const apply = OpApplier.prototype.apply;
  let applies = 0;
  OpApplier.prototype.apply = function (this: OpApplier, ...args: Parameters<OpApplier["apply"]>) {
    applies++;
    return apply.apply(this, args);
  };
  try {
    await body();
  } finally {
    OpApplier.prototype.apply = apply;
  }
  return applies;
}

/** A copy of a mount's directory under `cacheRoot` as it is on disk now (its index as a crash would leave it), without its lock. */
function copyMountDirectory(cacheRoot: string, into: string): string {
  const find = (directory: string): string | undefined => {
    const entries = readdirSync(directory, { withFileTypes: true });
    if (entries.some((entry) => entry.name === "index.sqlite")) return directory;
    for (const entry of entries) {
      const found = entry.isDirectory() ? find(join(directory, entry.name)) : undefined;
      if (found !== undefined) return found;
    }
    return undefined;
  };
  const directory = find(cacheRoot)!;
  cpSync(cacheRoot, into, { recursive: true, filter: (source) => !["mount.lock.sqlite", "mount.holder"].includes(basename(source)) });
  return join(into, directory.slice(cacheRoot.length));
}

/** Lets the writer's loop run until record `seq`'s PUT is sent. */
async function untilSent(gate: RecordGate, seq: number): Promise<void> {
  await gate.putStarted(seq);
}

for (const backend of ["local", "s3"] as Backend[]) {
  describe(`pipelined commit records (${backend})`, () => {
    test("a busy writer's next records go out while the first waits for its answer; each write resolves once its record and all before it landed; one PUT per record", async () => {
      const workspace = await testWorkspace(backend, "pipeline-busy");
      const { fs, gate } = await gatedMount(workspace, "busy");
      await fs.writeFile("/base.txt", "base");
      const first = fs.stats().seq + 1;
      gate.hold(first);
      const putsBefore = gate.recordPuts;
      const getsBefore = gate.recordGets;
      const resolved: number[] = [];
      const writes: Promise<void>[] = [];
      const count = 5;
      for (let index = 0; index < count; index++) {
        writes.push(fs.writeFile(`/f${index}.txt`, `file ${index}`).then(() => void resolved.push(index)));
        await untilSent(gate, first + index); // the next write comes once this one's record is on its way
      }
      // Four records landed behind the held one; none of their writes may resolve before it does.
      await Bun.sleep(20);
      expect(resolved).toEqual([]);
      expect(gate.mostInFlight).toBeGreaterThanOrEqual(2);
      gate.release(first);
      await Promise.all(writes);
      expect(resolved).toEqual([0, 1, 2, 3, 4]);
      expect(gate.recordPuts - putsBefore).toBe(count); // one PUT per record, none lost, none repeated
      expect(gate.recordGets - getsBefore).toBe(0);
      expect(fs.stats().seq).toBe(first + count - 1);
      // The first names a landed parent (format 1); the others were built on a record in flight.
      expect(await formats(workspace, first, first + count - 1)).toEqual([recordFormat, ...Array(count - 1).fill(pipelinedRecordFormat)]);
      const tree = await freshTree(workspace);
      for (let index = 0; index < count; index++) expect(tree[`/f${index}.txt`]).toBe(`file ${index}`);
      await fs.close();
    });

    test(`at most ${maxRecordsInFlight} records are in flight: later writes wait and go out together`, async () => {
      const workspace = await testWorkspace(backend, "pipeline-full");
      const { fs, gate } = await gatedMount(workspace, "full");
      await fs.writeFile("/base.txt", "base");
      const first = fs.stats().seq + 1;
      gate.hold(first);
      const writes: Promise<void>[] = [];
      for (let index = 0; index < maxRecordsInFlight; index++) {
        writes.push(fs.writeFile(`/f${index}.txt`, `${index}`));
        await untilSent(gate, first + index);
      }
      const putsBefore = gate.recordPuts;
      // A full pipeline: these queue behind it, in separate turns, and share one record.
      for (let index = 0; index < 3; index++) {
        writes.push(fs.writeFile(`/late${index}.txt`, `${index}`));
        await Bun.sleep(1);
      }
      await Bun.sleep(20);
      expect(gate.recordPuts).toBe(putsBefore);
      gate.release(first);
      await Promise.all(writes);
      expect(gate.recordPuts - putsBefore).toBe(1);
      expect(fs.stats().seq).toBe(first + maxRecordsInFlight);
      expect(Object.keys(await freshTree(workspace)).length).toBe(maxRecordsInFlight + 4);
      await fs.close();
    });

    test("maxRecordsInFlight: 1 puts one record at a time, each of format 1 (what readers before pipelined records read); a writer's later writes share the next record", async () => {
      const workspace = await testWorkspace(backend, "pipeline-off");
      const { fs, gate } = await gatedMount(workspace, "one", { maxRecordsInFlight: 1 });
      await fs.writeFile("/base.txt", "base");
      const first = fs.stats().seq + 1;
      gate.hold(first);
      const writes = [fs.writeFile("/f0.txt", "0")];
      await untilSent(gate, first);
      const putsBefore = gate.recordPuts;
      for (let index = 1; index < 4; index++) {
        writes.push(fs.writeFile(`/f${index}.txt`, `${index}`));
        await Bun.sleep(1);
      }
      await Bun.sleep(20);
      expect(gate.recordPuts).toBe(putsBefore); // nothing goes out while the first is in flight
      gate.release(first);
      await Promise.all(writes);
      expect(gate.mostInFlight).toBe(1);
      expect(fs.stats().seq).toBe(first + 1); // the three later writes share one record
      expect(await formats(workspace, first, first + 1)).toEqual([recordFormat, recordFormat]);
      expect(Object.keys(await freshTree(workspace)).length).toBe(5);
      await fs.close();
      for (const bad of [0, 1.5, 65]) {
        const error = await workspace.mount({ name: `bad${bad}`, exclusive: false, maxRecordsInFlight: bad }).then(
          () => undefined,
          (caught: unknown) => caught,
        );
        expect(String(error)).toContain("maxRecordsInFlight");
      }
    });

    test("a record in flight that loses its slot to another writer makes its followers void: no mount applies them, and their appends land exactly once, after the winner's", async () => {
      const workspace = await testWorkspace(backend, "pipeline-lost");
      const { fs: a, gate } = await gatedMount(workspace, "a");
      const b = await workspace.mount({ name: "b", exclusive: false }, { cacheRoot: workspace.freshCacheRoot() });
      await a.writeFile("/log.txt", "base;");
      await b.refresh();
      const slot = a.stats().seq + 1;
      gate.hold(slot);
      const appends = [a.appendFile("/log.txt", "a1;")];
      await untilSent(gate, slot);
      appends.push(a.appendFile("/log.txt", "a2;"));
      await untilSent(gate, slot + 1);
      appends.push(a.appendFile("/log.txt", "a3;"));
      await untilSent(gate, slot + 2);
      await b.appendFile("/log.txt", "b1;"); // b takes the slot a's first record is still waiting for
      expect(b.stats().seq).toBe(slot);
      // a's second and third records landed behind b's, naming a parent that never made the log.
      expect(await formats(workspace, slot + 1, slot + 2)).toEqual([pipelinedRecordFormat, pipelinedRecordFormat]);
      gate.release(slot);
      await Promise.all(appends);
      expect(await a.readText("/log.txt")).toBe("base;b1;a1;a2;a3;");
      const tree = await freshTree(workspace);
      expect(tree["/log.txt"]).toBe("base;b1;a1;a2;a3;");
      await b.refresh();
      expect(await b.readText("/log.txt")).toBe("base;b1;a1;a2;a3;");
      // History lists commits: the two void records are none.
      const history = await a.history({ limit: 100 });
      expect(history.map((entry) => entry.seq).filter((seq) => seq >= slot)).toEqual([slot + 5, slot + 4, slot + 3, slot]);
      await a.close();
      await b.close();
    });

    test("the oldest record in flight has an unknown outcome: it and its followers fail with EIO; if it never lands, its follower that did is void, and the next writes go on after it", async () => {
      const workspace = await testWorkspace(backend, "pipeline-unknown");
      const { fs, gate } = await gatedMount(workspace, "unknown", { maxAttempts: 1 });
      await fs.writeFile("/log.txt", "base;");
      const slot = fs.stats().seq + 1;
      gate.hold(slot);
      const first = fs.appendFile("/log.txt", "one;");
      await untilSent(gate, slot);
      const second = fs.appendFile("/log.txt", "two;");
      await untilSent(gate, slot + 1);
      // The follower landed; the first's answer is lost, and reading it back fails: unknown.
      await Bun.sleep(10);
      gate.loseAnswer(slot);
      await expectCode(first, "EIO");
      await expectCode(second, "EIO");
      gate.readable(slot);
      // It never landed: the slot is empty, the follower's record stands after it.
      await fs.appendFile("/log.txt", "three;");
      expect(await fs.readText("/log.txt")).toBe("base;three;");
      await fs.appendFile("/log.txt", "four;"); // its slot holds the void record: it goes after it
      expect(await fs.readText("/log.txt")).toBe("base;three;four;");
      expect(fs.stats().seq).toBe(slot + 2);
      expect((await freshTree(workspace))["/log.txt"]).toBe("base;three;four;");
      await fs.close();
    });

    test("a caller that reads the mount's position right after its write resolves finds its own record, though the next one had landed too", async () => {
      const workspace = await testWorkspace(backend, "pipeline-position");
      const { fs, gate } = await gatedMount(workspace, "writer");
      await fs.writeFile("/base.txt", "base");
      const slot = fs.stats().seq + 1;
      gate.hold(slot);
      gate.hold(slot + 1);
      const seen: number[] = [];
      const first = fs.writeFile("/one.txt", "one").then(() => void seen.push(fs.stats().seq));
      await untilSent(gate, slot);
      const second = fs.writeFile("/two.txt", "two").then(() => void seen.push(fs.stats().seq));
      await untilSent(gate, slot + 1);
      gate.release(slot + 1); // the follower's answer comes first, and waits for the first's
      await Bun.sleep(20);
      gate.release(slot);
      await Promise.all([first, second]);
      expect(seen).toEqual([slot, slot + 1]);
      await fs.close();
    });

    test("the records in flight behind a record that lands are undone in the local index and done again from their journal when the next batch opens on them, never validated again: each operation is applied once; the index on disk holds only what landed", async () => {
      const workspace = await testWorkspace(backend, "pipeline-reseal");
      const cacheRoot = workspace.freshCacheRoot();
      let gate: RecordGate | undefined;
      // An exclusive writer: its refusals are final (a shared writer's wait to read the log's end first).
      const fs = await workspace.mount({ name: "reseal", exclusive: true }, { wrap: (store) => (gate = new RecordGate(store)), cacheRoot });
      await fs.mkdir("/d");
      await fs.writeFile("/d/old.txt", "old");
      const slot = fs.stats().seq + 1;
      gate!.hold(slot);
      gate!.hold(slot + 2);
      const copyRoot = join(workspace.freshCacheRoot(), "copy");
      let crashed = "";
      const applies = await countingApplies(async () => {
        const writes: Promise<void>[] = [];
        const contents = ["zero", "one", "two", "three"];
        for (const [index, text] of contents.entries()) {
          writes.push(fs.writeFile(`/d/f${index}.txt`, text));
          await untilSent(gate!, slot + index);
        }
        writes.push(fs.rm("/d/old.txt"));
        await untilSent(gate!, slot + 4);
        // Two records landed behind held ones. The first lands: taking it in undoes the three
        // after it in the index; the second follows it in (it had landed).
        gate!.release(slot);
        await writes[1];
        expect(fs.stats().seq).toBe(slot + 1);
        // What a crash now leaves on disk: the index at the second record, though two records after the held one landed.
        crashed = copyMountDirectory(cacheRoot, copyRoot);
        // A batch that opens now is validated on the records still in flight, done again first:
        // the file the held record writes is there to append to, and the removed one is gone.
        writes.push(fs.appendFile("/d/f2.txt", "+late"));
        await untilSent(gate!, slot + 5);
        await expectCode(fs.mkdir("/d/f3.txt"), "EEXIST");
        await expectCode(fs.rm("/d/old.txt"), "ENOENT");
        gate!.release(slot + 2);
        await Promise.all(writes);
      });
      // One application per operation: four writes, one removal, one append, and the two refused.
      expect(applies).toBe(8);
      expect(fs.stats().seq).toBe(slot + 5);
      expect(gate!.recordPuts).toBe(slot + 5); // one PUT per record: no record was sent again
      const tree = await freshTree(workspace);
      expect(tree).toEqual({ "/d/f0.txt": "zero", "/d/f1.txt": "one", "/d/f2.txt": "two+late", "/d/f3.txt": "three" });
      for (const path of Object.keys(tree)) expect(await fs.readText(path)).toBe(tree[path]!);
      // The writer's own index holds what a fresh mount builds from the log, row for row as the files show them.
      const fresh = await workspace.mount({ name: "fresh-stat", mode: "readonly" }, { cacheRoot: workspace.freshCacheRoot() });
      for (const path of ["/d", ...Object.keys(tree)]) {
        const [mine, theirs] = [await fs.stat(path), await fresh.stat(path)];
        expect([mine.size, mine.mtimeMs, mine.mode]).toEqual([theirs.size, theirs.mtimeMs, theirs.mode]);
      }
      await fresh.close();
      await fs.close();
      // The copy's index never got ahead of the log: it stands at the record taken in, and a
      // mount on it applies the rest from the log, ending where a fresh mount does.
      const index = new Namespace(join(crashed, "index.sqlite"));
      expect(positionOf(index.committed)?.seq).toBe(slot + 1);
      expect(index.committed.tryResolve("/d/f2.txt", false, "stat")).toBeUndefined();
      expect(index.committed.tryResolve("/d/f1.txt", false, "stat")).toBeDefined();
      index.close();
      const remounted = await workspace.mount({ name: "reseal", mode: "readonly" }, { cacheRoot: copyRoot });
      expect(remounted.stats().seq).toBe(slot + 5);
      for (const path of Object.keys(tree)) expect(await remounted.readText(path)).toBe(tree[path]!);
      expect(await remounted.exists("/d/old.txt")).toBe(false);
      await remounted.close();
    });

    test("a pipelined record that landed before the record it follows is past the log's end: readers stop before it, fsck and a collection's plan take it for no damage", async () => {
      const workspace = await testWorkspace(backend, "pipeline-past-end");
      const { fs, gate } = await gatedMount(workspace, "writer");
      await fs.writeFile("/base.txt", "base");
      const slot = fs.stats().seq + 1;
      gate.hold(slot);
      const first = fs.writeFile("/one.txt", "one");
      await untilSent(gate, slot);
      const second = fs.writeFile("/two.txt", "two");
      await untilSent(gate, slot + 1);
      await Bun.sleep(20); // the second record has landed; the first is still held
      const reader = await workspace.mount({ name: "reader", mode: "readonly" }, { cacheRoot: workspace.freshCacheRoot() });
      expect(reader.stats().seq).toBe(slot - 1); // the empty slot ends the log
      expect(await reader.exists("/two.txt")).toBe(false);
      const report = await reader.fsck();
      expect(report.problems).toEqual([]);
      expect(report.checked.recordsPastEnd).toBe(1);
      const plan = await reader.collectGarbage({ dryRun: true });
      expect(plan.deletions).toEqual([]);
      gate.release(slot);
      await Promise.all([first, second]);
      await reader.refresh();
      expect(await reader.readText("/two.txt")).toBe("two");
      const after = await reader.fsck();
      expect(after.problems).toEqual([]);
      expect(after.checked.recordsPastEnd).toBe(0);
      await reader.close();
      await fs.close();
    });

    test("an exclusive writer's records in flight behind a takeover are void: the new writer never sees them, the old one is fenced", async () => {
      const workspace = await testWorkspace(backend, "pipeline-fenced");
      let gate: RecordGate | undefined;
      const old = await workspace.mount({ name: "old", exclusive: true }, { wrap: (store) => (gate = new RecordGate(store)), cacheRoot: workspace.freshCacheRoot() });
      await old.writeFile("/a.txt", "a");
      const slot = old.stats().seq + 1;
      gate!.hold(slot);
      const first = old.writeFile("/b.txt", "b");
      await untilSent(gate!, slot);
      const second = old.writeFile("/c.txt", "c");
      await untilSent(gate!, slot + 1);
      const successor = await workspace.mount({ name: "new", exclusive: true, onWriterBusy: "takeover" }, { cacheRoot: workspace.freshCacheRoot() });
      await successor.writeFile("/d.txt", "d");
      gate!.release(slot);
      await expectCode(first, "EFENCED");
      await expectCode(second, "EFENCED");
      expect(await successor.exists("/b.txt")).toBe(false);
      expect(await successor.exists("/c.txt")).toBe(false);
      const tree = await freshTree(workspace);
      expect(Object.keys(tree).sort()).toEqual(["/a.txt", "/d.txt"]);
      await old.close().catch(() => {});
      await successor.close();
    });
  });
}
