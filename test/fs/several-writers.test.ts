// Several writers on one workspace (`exclusive: false`, docs/guarantees.md "Several writers"):
// commits are totally ordered by log slot; blind writes both land (the later wins); an operation
// whose precondition another writer broke fails alone with the error it would have got after that
// writer; appends all land; transactions are serializable (their body runs again when another
// writer changed what it read); an exclusive writer still fences shared ones, and is fenced by them.
import { afterAll, describe, expect, test } from "bun:test";
import { FileExistsError, StaleFileError, callLifecycle } from "@mastra/core/workspace";
import { FencedError, type S3CachedFs } from "../../src/core.ts";
import { AcceleratedFS } from "../../src/mastra/index.ts";
import { catchUpPauseMs, maxCatchUpMs, maxTransactionRuns, minCatchUpMs, othersActiveMs, othersMetMs } from "../../src/commit/committer.ts";
import { expectCode } from "../support/errors.ts";
import { removeTempDirectories } from "../support/temp.ts";
import { testWorkspace, type Backend, type TestWorkspace } from "../support/mounts.ts";

afterAll(removeTempDirectories);

/**
 * `count` shared writers of one workspace, each with its own cache root. Tests that count requests
 * pass `refreshIntervalMs: 0`: no catch-up while idle on a timer of its own between their steps.
 */
async function sharedWriters(workspace: TestWorkspace, count: number, config: { refreshIntervalMs?: number } = {}): Promise<S3CachedFs[]> {
  const writers: S3CachedFs[] = [];
  for (let index = 0; index < count; index++) {
    writers.push(await workspace.mount({ name: `writer-${index}`, exclusive: false, ...config }, { cacheRoot: workspace.freshCacheRoot() }));
  }
  return writers;
}

/** Every path with its kind and (for files) contents: what a view of the filesystem shows. */
async function describeTree(fs: S3CachedFs): Promise<Record<string, string>> {
  const tree: Record<string, string> = {};
  for (const path of fs.allPaths()) {
    const stats = await fs.lstat(path);
    tree[path] = stats.isFile() ? `file:${await fs.readText(path)}` : stats.isDirectory() ? "dir" : `link:${await fs.readlink(path)}`;
  }
  return tree;
}

/** Each writer's view (after refresh) equals a fresh read-only mount's. */
async function expectAllViewsEqual(workspace: TestWorkspace, writers: S3CachedFs[]): Promise<Record<string, string>> {
  const fresh = await workspace.mount({ name: "fresh-reader", mode: "readonly" }, { cacheRoot: workspace.freshCacheRoot() });
  const expected = await describeTree(fresh);
  await fresh.close();
  for (const writer of writers) {
    await writer.refresh();
    expect(await describeTree(writer)).toEqual(expected);
  }
  return expected;
}

async function settled<T>(promises: Promise<T>[]): Promise<{ ok: number; codes: string[] }> {
  const results = await Promise.allSettled(promises);
  const codes = results.flatMap((result) => (result.status === "rejected" ? [String((result.reason as { code?: string }).code)] : []));
  return { ok: results.length - codes.length, codes };
}

for (const backend of ["local", "s3"] as Backend[]) {
  describe(`several writers (${backend})`, () => {
    test("blind writes from two shared writers both land, in log order: the later wins", async () => {
      const workspace = await testWorkspace(backend, "shared-blind");
      const [a, b] = await sharedWriters(workspace, 2);
      await a!.writeFile("/a.txt", "from a");
      await b!.writeFile("/b.txt", "from b"); // b has not seen a's commit: it loses the slot, catches up, retries
      await b!.writeFile("/same.txt", "b first");
      await a!.writeFile("/same.txt", "a later");
      await a!.mkdir("/dir/deep", { recursive: true });
      await b!.mkdir("/dir/deep", { recursive: true }); // blind: never a conflict
      await b!.chmod("/a.txt", 0o600);
      await a!.utimes("/b.txt", 1_000, 2_000);
      await a!.rm("/nothing-here", { force: true });
      // A writer reads its own writes at once, and the others' once it has caught up with them.
      expect(await b!.readText("/b.txt")).toBe("from b");
      const tree = await expectAllViewsEqual(workspace, [a!, b!]);
      expect(tree["/a.txt"]).toBe("file:from a");
      expect(tree["/b.txt"]).toBe("file:from b");
      expect(tree["/same.txt"]).toBe("file:a later");
      expect(tree["/dir/deep"]).toBe("dir");
      expect((await a!.stat("/a.txt")).mode & 0o777).toBe(0o600);
      expect((await b!.stat("/b.txt")).mtimeMs).toBe(2_000_000);
      const history = await a!.history();
      expect(new Set(history.map((entry) => entry.writer)).size).toBe(2); // both wrote, neither wrote an epoch record
      expect(history.some((entry) => entry.kinds.epoch !== undefined)).toBe(false);
      for (const writer of [a!, b!]) await writer.close();
    });

    test("an operation whose precondition another writer broke fails alone, with the error it would have got after that writer", async () => {
      const workspace = await testWorkspace(backend, "shared-preconditions");
      const [a, b] = await sharedWriters(workspace, 2);
      await a!.writeFile("/src.txt", "moving");
      await a!.mkdir("/dir");
      await b!.refresh();
      // Each of a's commits below lands first; b, not caught up, validates on its old view, loses the slot, and re-validates.
      await a!.rename("/src.txt", "/moved-by-a.txt");
      await expectCode(b!.rename("/src.txt", "/moved-by-b.txt"), "ENOENT");
      await a!.mkdir("/made");
      await expectCode(b!.mkdir("/made"), "EEXIST");
      await a!.writeFile("/dir/child.txt", "x");
      await expectCode(b!.rm("/dir"), "ENOTEMPTY");
      await a!.rm("/dir/child.txt");
      await a!.symlink("/target", "/link");
      await expectCode(b!.symlink("/elsewhere", "/link"), "EEXIST");
      await a!.writeFile("/kept.txt", "a's");
      await expectCode(b!.copyFile("/moved-by-a.txt", "/kept.txt", { overwrite: false }), "EEXIST");
      // The other way round: what b's old view refuses, but another writer's commit made possible,
      // is checked again on the log's end (one GET more) and succeeds, as it would after that commit.
      await a!.writeFile("/made-by-a.txt", "new");
      await a!.mkdir("/parent-by-a");
      await b!.rename("/made-by-a.txt", "/renamed-by-b.txt");
      await b!.mkdir("/parent-by-a/child");
      // Only the failed operation is lost: b's other writes, queued in the same batch, land.
      await a!.writeFile("/gone.txt", "soon gone");
      await b!.refresh();
      await a!.rm("/gone.txt");
      const batch = await settled([b!.writeFile("/b-1.txt", "1"), b!.rename("/gone.txt", "/b-gone.txt"), b!.writeFile("/b-2.txt", "2")]);
      expect(batch).toEqual({ ok: 2, codes: ["ENOENT"] });
      const tree = await expectAllViewsEqual(workspace, [a!, b!]);
      expect(tree["/moved-by-a.txt"]).toBe("file:moving");
      expect(tree["/moved-by-b.txt"]).toBeUndefined();
      expect(tree["/kept.txt"]).toBe("file:a's");
      expect(tree["/link"]).toBe("link:/target");
      expect(tree["/b-1.txt"]).toBe("file:1");
      expect(tree["/b-2.txt"]).toBe("file:2");
      expect(tree["/b-gone.txt"]).toBeUndefined();
      expect(tree["/renamed-by-b.txt"]).toBe("file:new");
      expect(tree["/parent-by-a/child"]).toBe("dir");
      for (const writer of [a!, b!]) await writer.close();
    });

    test("races: of three exclusive creates exactly one succeeds (the others EEXIST); of two renames of one source, one gets ENOENT", async () => {
      const workspace = await testWorkspace(backend, "shared-races");
      const writers = await sharedWriters(workspace, 3);
      const creates = await settled(writers.map((writer) => writer.mkdir("/only-one")));
      expect(creates).toEqual({ ok: 1, codes: ["EEXIST", "EEXIST"] });
      await writers[0]!.writeFile("/source.txt", "one source");
      for (const writer of writers) await writer.refresh();
      const renames = await settled([writers[1]!.rename("/source.txt", "/to-1.txt"), writers[2]!.rename("/source.txt", "/to-2.txt")]);
      expect(renames).toEqual({ ok: 1, codes: ["ENOENT"] });
      const tree = await expectAllViewsEqual(workspace, writers);
      expect([tree["/to-1.txt"], tree["/to-2.txt"]].filter((entry) => entry !== undefined)).toEqual(["file:one source"]);
      for (const writer of writers) await writer.close();
    });

    test("writeFile with flag \"wx\": of three shared writers creating one path exactly one succeeds, the others EEXIST; a lagging writer gets EEXIST too", async () => {
      const workspace = await testWorkspace(backend, "shared-wx");
      const writers = await sharedWriters(workspace, 3);
      const creates = await settled(writers.map((writer, index) => writer.writeFile("/lock", `held by ${index}`, { flag: "wx" })));
      expect(creates).toEqual({ ok: 1, codes: ["EEXIST", "EEXIST"] });
      await writers[0]!.writeFile("/later", "a");
      await expectCode(writers[1]!.writeFile("/later", "b", { flag: "wx" }), "EEXIST", { path: "/later" }); // its view has no /later yet
      const tree = await expectAllViewsEqual(workspace, writers);
      expect(tree["/lock"]).toMatch(/^file:held by [012]$/);
      expect(tree["/later"]).toBe("file:a");
      for (const writer of writers) await writer.close();
    });

    test("appends from three writers all land: the file holds every byte of each, each writer's in its order", async () => {
      const workspace = await testWorkspace(backend, "shared-appends");
      const writers = await sharedWriters(workspace, 3);
      const perWriter = 12;
      await Promise.all(
        writers.map(async (writer, index) => {
          for (let line = 0; line < perWriter; line++) await writer.appendFile("/log.txt", `w${index}-${String(line).padStart(2, "0")}\n`);
        }),
      );
      const tree = await expectAllViewsEqual(workspace, writers);
      const lines = tree["/log.txt"]!.slice("file:".length).trimEnd().split("\n");
      expect(lines.length).toBe(3 * perWriter);
      for (let index = 0; index < 3; index++) {
        const own = lines.filter((line) => line.startsWith(`w${index}-`));
        expect(own).toEqual(Array.from({ length: perWriter }, (_, line) => `w${index}-${String(line).padStart(2, "0")}`));
      }
      for (const writer of writers) await writer.close();
    });

    test("counter increments in transactions from three writers: the final value equals the acknowledged increments", async () => {
      const workspace = await testWorkspace(backend, "shared-counter");
      const writers = await sharedWriters(workspace, 3);
      await writers[0]!.writeFile("/counter", "0");
      let acknowledged = 0;
      let runs = 0;
      await Promise.all(
        writers.map(async (writer) => {
          for (let increment = 0; increment < 6; increment++) {
            await writer.transaction(async (tx) => {
              runs++;
              const value = Number(await tx.readText("/counter"));
              await tx.writeFile("/counter", String(value + 1));
            });
            acknowledged++;
          }
        }),
      );
      expect(acknowledged).toBe(18);
      const tree = await expectAllViewsEqual(workspace, writers);
      expect(tree["/counter"]).toBe("file:18");
      expect(runs).toBeGreaterThanOrEqual(18); // bodies whose read another writer changed ran again
      for (const writer of writers) await writer.close();
    });

    test("a transaction re-runs when another writer changed what it read, not when it changed something else; past the bound, EAGAIN names the path", async () => {
      const workspace = await testWorkspace(backend, "shared-tx-conflict");
      const [a, b] = await sharedWriters(workspace, 2);
      await a!.writeFile("/read.txt", "v1");
      await a!.writeFile("/other.txt", "o1");
      await b!.refresh();
      // b commits to a path the body did not read, while the body runs: one run.
      let runs = 0;
      await a!.transaction(async (tx) => {
        runs++;
        await tx.readText("/read.txt");
        if (runs === 1) await b!.writeFile("/other.txt", "o2");
        await tx.writeFile("/out.txt", "unrelated");
      });
      expect(runs).toBe(1);
      expect(a!.stats().commits!.transactionReruns).toBe(0);
      // b changes what the body read: the body runs again and sees b's value.
      runs = 0;
      const seen: string[] = [];
      await a!.transaction(async (tx) => {
        runs++;
        seen.push(await tx.readText("/read.txt"));
        if (runs === 1) await b!.writeFile("/read.txt", "v2");
        await tx.writeFile("/copy.txt", seen.at(-1)!);
      });
      expect(runs).toBe(2);
      expect(seen).toEqual(["v1", "v2"]);
      expect(a!.stats().commits!.transactionReruns).toBe(1); // stats() counts the body's second run
      // A listing is a read too: a new entry in the directory listed makes the body run again.
      runs = 0;
      await a!.mkdir("/listed");
      await a!.transaction(async (tx) => {
        runs++;
        const names = await tx.readdir("/listed");
        if (runs === 1) await b!.writeFile("/listed/new.txt", "n");
        await tx.writeFile("/count.txt", String(names.length));
      });
      expect(runs).toBe(2);
      // So is a probe (the miss answered without an error): another writer creating the path makes it run again.
      runs = 0;
      const probed: boolean[] = [];
      await a!.transaction(async (tx) => {
        runs++;
        probed.push("missing" in tx.probe("/probed.txt"));
        if (runs === 1) await b!.writeFile("/probed.txt", "p");
        await tx.writeFile("/probe-seen.txt", String(probed.at(-1)));
      });
      expect(runs).toBe(2);
      expect(probed).toEqual([true, false]);
      // Another writer changing it every time: the body runs maxTransactionRuns times, then EAGAIN.
      runs = 0;
      const error = await expectCode(
        a!.transaction(async (tx) => {
          runs++;
          await tx.readText("/read.txt");
          await b!.writeFile("/read.txt", `v${runs + 2}`);
          await tx.writeFile("/never.txt", "never published");
        }),
        "EAGAIN",
        { path: "/read.txt" },
      );
      expect(error.message).toContain("transaction conflict");
      expect(runs).toBe(maxTransactionRuns);
      const tree = await expectAllViewsEqual(workspace, [a!, b!]);
      expect(tree["/copy.txt"]).toBe("file:v2");
      expect(tree["/count.txt"]).toBe("file:1");
      expect(tree["/never.txt"]).toBeUndefined();
      for (const writer of [a!, b!]) await writer.close();
    });

    test("a reader sees each shared writer's commit whole, in log order", async () => {
      const workspace = await testWorkspace(backend, "shared-reader");
      const [a, b] = await sharedWriters(workspace, 2);
      const reader = await workspace.mount({ name: "reader", mode: "readonly" }, { cacheRoot: workspace.freshCacheRoot() });
      const writes = Promise.all(
        [a!, b!].map(async (writer, index) => {
          for (let round = 0; round < 4; round++) {
            await writer.transaction(async (tx) => {
              for (let file = 0; file < 3; file++) await tx.writeFile(`/w${index}/r${round}/f${file}`, `${index}-${round}`);
            });
          }
        }),
      );
      let done = false;
      void writes.then(() => (done = true));
      while (!done) {
        await reader.refresh();
        for (const path of reader.allPaths().filter((path) => /^\/w\d\/r\d$/.test(path))) expect((await reader.readdir(path)).length).toBe(3);
        await Bun.sleep(5);
      }
      await writes;
      await reader.refresh();
      expect(reader.allPaths().filter((path) => path.split("/").length === 4).length).toBe(24);
      await reader.close();
      for (const writer of [a!, b!]) await writer.close();
    });

    test("exclusive and shared: an exclusive writer fences shared ones; a shared mount waits for (or refuses) a live exclusive lease; a shared record fences an exclusive writer", async () => {
      const workspace = await testWorkspace(backend, "shared-exclusive");
      const [shared] = await sharedWriters(workspace, 1);
      await shared!.writeFile("/shared-1.txt", "before");
      const exclusive = await workspace.mount({ name: "exclusive", exclusive: true }, { cacheRoot: workspace.freshCacheRoot() });
      expect(await exclusive.readText("/shared-1.txt")).toBe("before");
      const fenced = await expectCode(shared!.writeFile("/shared-2.txt", "after the exclusive writer"), "EFENCED");
      expect(fenced).toBeInstanceOf(FencedError);
      await expectCode(shared!.mkdir("/never"), "EFENCED"); // for good
      await expectCode(workspace.mount({ name: "refused", exclusive: false, onWriterBusy: "fail" }, { cacheRoot: workspace.freshCacheRoot() }), "EBUSY");
      const waiting = workspace.mount({ name: "waiting", exclusive: false, onWriterBusy: "wait", leaseWaitTimeoutMs: 30_000 }, { cacheRoot: workspace.freshCacheRoot() });
      await exclusive.writeFile("/exclusive.txt", "mine");
      await Bun.sleep(50);
      await exclusive.close();
      const later = await waiting;
      await later.writeFile("/later.txt", "after the exclusive writer left"); // the released writer's epoch does not fence it
      // An exclusive writer that finds a shared writer's record after its epoch record is fenced.
      const second = await workspace.mount({ name: "second-exclusive", exclusive: true }, { cacheRoot: workspace.freshCacheRoot() });
      await expectCode(later.writeFile("/later-2.txt", "fenced"), "EFENCED");
      const intruder = await workspace.mount({ name: "intruder", exclusive: false, onWriterBusy: "takeover" }, { cacheRoot: workspace.freshCacheRoot() });
      await intruder.writeFile("/intruder.txt", "shared, in the exclusive writer's epoch");
      await expectCode(second.writeFile("/second.txt", "fenced by the shared record"), "EFENCED");
      const tree = await expectAllViewsEqual(workspace, [intruder]);
      expect(Object.keys(tree).filter((path) => path.endsWith(".txt")).sort()).toEqual(["/exclusive.txt", "/intruder.txt", "/later.txt", "/shared-1.txt"]);
      for (const fs of [shared!, later, second, intruder]) await fs.close().catch(() => {});
    });

    test("a check made before an upload (openWrite, a large write) on a lagging view is made again from the log's end before it refuses", async () => {
      const workspace = await testWorkspace(backend, "shared-precheck");
      const [a, b] = await sharedWriters(workspace, 2);
      await a!.mkdir("/d");
      await a!.writeFile("/f", "a file");
      await b!.refresh(); // b sees /d as a directory and /f as a file
      await a!.rm("/d", { recursive: true });
      await a!.rm("/f");
      await a!.mkdir("/f");
      const handle = await b!.openWrite("/d"); // EISDIR on b's view; after catching up, /d is free
      await Bun.write(handle.file, "written by b");
      await handle.close();
      await b!.writeFile("/f/inside", new Uint8Array(5 * 1024 * 1024).fill(7)); // ENOTDIR on b's view (a large write checks before its upload)
      const tree = await expectAllViewsEqual(workspace, [a!, b!]);
      expect(tree["/d"]).toBe("file:written by b");
      expect((await a!.stat("/f/inside")).size).toBe(5 * 1024 * 1024);
      // A refusal the log's end confirms stays a refusal.
      await expectCode(b!.openWrite("/f"), "EISDIR");
      for (const writer of [a!, b!]) await writer.close();
    });

    test("request counts: an uncontended write is one PUT; a lost slot costs the PUT and a GET of the winner's record, then the PUT at the next slot at once", async () => {
      const workspace = await testWorkspace(backend, "shared-counts");
      const [a, b] = await sharedWriters(workspace, 2, { refreshIntervalMs: 0 });
      const requests = (fs: S3CachedFs) => {
        const counts = fs.stats().requests;
        return { get: counts.get.requests, put: counts.put.requests, total: counts.total.requests };
      };
      let before = requests(a!);
      await a!.writeFile("/one.txt", "1");
      let after = requests(a!);
      expect({ get: after.get - before.get, put: after.put - before.put, total: after.total - before.total }).toEqual({ get: 0, put: 1, total: 1 });
      expect(a!.stats().commits!.lostSlots).toBe(0);
      before = requests(b!);
      // b's slot is a's: it reads a's record and PUTs at the next slot, which is free, without
      // probing it first. Having met a writer at work by losing that slot, it reads the next two
      // slots beside that PUT (in case it lagged further; here for nothing, and in no round trip).
      await b!.writeFile("/two.txt", "2");
      after = requests(b!);
      expect({ get: after.get - before.get, put: after.put - before.put, total: after.total - before.total }).toEqual({ get: 1 + 2, put: 2, total: 5 });
      // stats() counts the lost slot: the extra PUT it cost.
      expect({ lostSlots: b!.stats().commits!.lostSlots, commits: b!.stats().commits!.commits }).toEqual({ lostSlots: 1, commits: 1 });
      // A transaction runs on the writer's view as it stands: a's lags (it has not seen /two.txt),
      // so the body fails on it; reading the log's end then shows b's record touched what the body
      // saw, and the body runs again on the new state.
      before = requests(a!);
      let runs = 0;
      await a!.transaction(async (tx) => {
        runs++;
        await tx.writeFile("/three.txt", await tx.readText("/two.txt"));
      });
      after = requests(a!);
      expect(runs).toBe(2);
      expect(await a!.readText("/three.txt")).toBe("2");
      // b's record, then the two slots after it probed at once (a catch-up that finds a record reads further ahead: src/commit/replay.ts).
      expect({ get: after.get - before.get, put: after.put - before.put }).toEqual({ get: 3, put: 1 });
      before = requests(a!);
      await a!.transaction(async (tx) => {
        await tx.writeFile("/four.txt", await tx.readText("/three.txt"));
      });
      after = requests(a!);
      // Uncontended: one PUT, as for an exclusive writer (a's view is fresh: its record landed in
      // this turn, so it reads nothing ahead; test "a writer that has met others at work ...").
      expect({ get: after.get - before.get, put: after.put - before.put }).toEqual({ get: 0, put: 1 });
      // A body that fails on a view nothing has changed keeps its error, after one GET of the empty next slot.
      before = requests(a!);
      runs = 0;
      await expectCode(
        a!.transaction(async (tx) => {
          runs++;
          await tx.readText("/missing.txt");
        }),
        "ENOENT",
      );
      after = requests(a!);
      expect({ runs, get: after.get - before.get, put: after.put - before.put }).toEqual({ runs: 1, get: 1, put: 0 });
      // A read-only transaction checks the log's end once: here b's new record changed what it read, so it runs again and answers the new value.
      await b!.writeFile("/four.txt", "b's four");
      runs = 0;
      const seen = await a!.transaction(async (tx) => {
        runs++;
        return tx.readText("/four.txt");
      });
      expect({ runs, seen }).toEqual({ runs: 2, seen: "b's four" });
      for (const writer of [a!, b!]) await writer.close();
    });

    test("request counts: a writer that meets others by losing a slot reads beside its next PUT; one lagging records older than othersMetMs pays a PUT and a GET per slot, then reads ahead to the log's end; a lag past the slot limit still commits", async () => {
      const workspace = await testWorkspace(backend, "shared-lag");
      // a, b and c write on a clock behind d's by more than othersMetMs: to d, their records are
      // old news, not writers at work. d mounts first and writes last.
      const behind = { now: () => Date.now() - othersMetMs - 60_000 };
      const mount = (name: string, clock: { now?: () => number }) => workspace.mount({ name, exclusive: false, refreshIntervalMs: 0 }, { cacheRoot: workspace.freshCacheRoot(), ...clock });
      const [a, b, c, d] = [await mount("a", behind), await mount("b", behind), await mount("c", behind), await mount("d", {})];
      const requests = (fs: S3CachedFs) => ({ get: fs.stats().requests.get.requests, put: fs.stats().requests.put.requests });
      await a!.writeFile("/a-1.txt", "a");
      await b!.writeFile("/b-1.txt", "b");
      // c lags two records and meets a writer at work by losing slot 1 (its PUT is its own probe,
      // then a's record is read): its PUT at slot 2 reads slots 2 and 3 beside it, so when it
      // loses again b's record and the log's end are known, and its third PUT lands.
      let before = requests(c!);
      await c!.writeFile("/c-1.txt", "c");
      let after = requests(c!);
      expect({ get: after.get - before.get, put: after.put - before.put, lostSlots: c!.stats().commits!.lostSlots }).toEqual({ get: 3, put: 3, lostSlots: 2 });
      // d lags 72 records (slots 1 to 72), more than the 64 slots a batch may lose, none of them
      // from a writer at work: each slot's PUT is its own probe, then the winner's record is read;
      // after 3 slots tried at once (slotsTriedAtOnce), the 4th loss (slot 4) reads ahead from
      // the winner's record in windows of 1, 2, 4, 8 and then 16 slots until one is empty (slots 5
      // to 83, 79 GETs), and the next PUT takes slot 73, the log's end.
      for (let index = 2; index <= 70; index++) await a!.writeFile(`/a-${index}.txt`, "a");
      before = requests(d!);
      await d!.writeFile("/d-1.txt", "d");
      after = requests(d!);
      expect({ get: after.get - before.get, put: after.put - before.put, lostSlots: d!.stats().commits!.lostSlots }).toEqual({ get: 4 + 79, put: 5, lostSlots: 4 });
      const tree = await expectAllViewsEqual(workspace, [a!, b!, c!, d!]);
      expect(Object.keys(tree).filter((path) => path.endsWith(".txt")).length).toBe(73);
      for (const writer of [a!, b!, c!, d!]) await writer.close();
    });

    test("request counts: a writer that has met others at work reads the slots after its own beside its PUT, so a lag costs one lost slot and no GET round trip of its own", async () => {
      const workspace = await testWorkspace(backend, "shared-look-ahead");
      const [a, b] = await sharedWriters(workspace, 2, { refreshIntervalMs: 0 });
      const requests = (fs: S3CachedFs) => ({ get: fs.stats().requests.get.requests, put: fs.stats().requests.put.requests, lostSlots: fs.stats().commits!.lostSlots });
      const cost = async (write: () => Promise<unknown>) => {
        const before = requests(b!);
        await write();
        const after = requests(b!);
        return { get: after.get - before.get, put: after.put - before.put, lostSlots: after.lostSlots - before.lostSlots };
      };
      await a!.writeFile("/a-1.txt", "a"); // slot 1
      // b has met no other writer: its PUT is its own probe, then the winner's record is read;
      // having met a by it, b reads slots 2 and 3 beside its PUT at 2.
      expect(await cost(() => b!.writeFile("/b-1.txt", "b"))).toEqual({ get: 1 + 2, put: 2, lostSlots: 1 }); // slot 2
      await a!.writeFile("/a-2.txt", "a"); // slot 3
      await a!.writeFile("/a-3.txt", "a"); // slot 4
      // b lags two records and now knows a is at work: slots 3 and 4 are read beside its PUT at 3,
      // both hold records and no empty slot was seen, so the catch-up reads one more (5: empty),
      // and the next PUT takes slot 5.
      expect(await cost(() => b!.writeFile("/b-2.txt", "b"))).toEqual({ get: 3, put: 2, lostSlots: 1 });
      await a!.writeFile("/a-4.txt", "a"); // slot 6
      await a!.writeFile("/a-5.txt", "a"); // slot 7
      // It missed two last time: three slots beside the PUT (6, 7 and the empty 8), and nothing after.
      expect(await cost(() => b!.writeFile("/b-3.txt", "b"))).toEqual({ get: 3, put: 2, lostSlots: 1 });
      // A write in the turn its own record landed in cannot lag: one PUT, nothing read (slot 9).
      expect(await cost(() => b!.writeFile("/b-4.txt", "b"))).toEqual({ get: 0, put: 1, lostSlots: 0 });
      await Bun.sleep(1);
      // After a pause it may: nobody wrote meanwhile, so its PUT lands (slot 10) and the three
      // slots read beside it were read for nothing.
      expect(await cost(() => b!.writeFile("/b-5.txt", "b"))).toEqual({ get: 3, put: 1, lostSlots: 0 });
      // A lag of 70 records (slots 11 to 80): one lost slot, the two slots read beside it (it
      // lagged less than feared last time), then windows of 1, 2, 4, 8 and 16 slots to the end
      // (13 to 91, 79 GETs), and the PUT at 81. Without the look-ahead: 5 PUTs (see above).
      for (let index = 6; index <= 75; index++) await a!.writeFile(`/a-${index}.txt`, "a");
      expect(await cost(() => b!.writeFile("/b-6.txt", "b"))).toEqual({ get: 2 + 79, put: 2, lostSlots: 1 });
      expect(b!.stats().seq).toBe(81);
      // Writes that follow one another without a pause see the log's end at each landing: no look-ahead.
      expect(await cost(async () => {
        await b!.writeFile("/b-7.txt", "b");
        await Promise.all([b!.writeFile("/b-8.txt", "b"), b!.writeFile("/b-9.txt", "b")]);
      })).toEqual({ get: 0, put: 2, lostSlots: 0 });
      const tree = await expectAllViewsEqual(workspace, [a!, b!]);
      expect(Object.keys(tree).filter((path) => path.endsWith(".txt")).length).toBe(75 + 9);
      for (const writer of [a!, b!]) await writer.close();
    });

    test("refreshIntervalMs: a shared writer takes in the other writers' records while idle, so its next write lands at its first PUT", async () => {
      const workspace = await testWorkspace(backend, "shared-poll");
      const a = await workspace.mount({ name: "a", exclusive: false }, { cacheRoot: workspace.freshCacheRoot() });
      const b = await workspace.mount({ name: "b", exclusive: false, refreshIntervalMs: 5 }, { cacheRoot: workspace.freshCacheRoot() });
      for (let index = 1; index <= 3; index++) await a.writeFile(`/a-${index}.txt`, "a");
      // It waits for b's view to reach a's records (a refresh every 5 ms: far less than the 20 s
      // allowed, which only turns a writer that never refreshes into a failure that says so).
      const waitUntil = Date.now() + 20_000;
      while (b.stats().seq < a.stats().seq) {
        if (Date.now() > waitUntil) throw new Error(`the idle shared writer never took in the other writer's records (it is at ${b.stats().seq}, the log at ${a.stats().seq})`);
        await Bun.sleep(5);
      }
      expect(await b.readText("/a-3.txt")).toBe("a"); // taken in: no request, no lag
      const before = b.stats().requests.put.requests;
      await b.writeFile("/b-1.txt", "b");
      expect(b.stats().requests.put.requests - before).toBe(1);
      expect(b.stats().commits!.lostSlots).toBe(0);
      await b.close(); // stops its refreshes: nothing runs after close
      await a.writeFile("/a-4.txt", "a");
      const requests = b.stats().requests.total.requests;
      await Bun.sleep(30);
      expect(b.stats().requests.total.requests).toBe(requests);
      await a.close();
    });

    test("refreshIntervalMs unset: a shared writer that has met others at work catches up while idle by itself, and stops once they fall silent; 0 turns it off", async () => {
      const workspace = await testWorkspace(backend, "shared-catch-up");
      let skew = 0;
      const now = () => Date.now() + skew;
      const mountShared = (name: string, config: { refreshIntervalMs?: number } = {}) => workspace.mount({ name, exclusive: false, ...config }, { cacheRoot: workspace.freshCacheRoot(), now });
      const a = await mountShared("a");
      const b = await mountShared("b");
      const off = await mountShared("off", { refreshIntervalMs: 0 });
      await a.writeFile("/a-1.txt", "a");
      await b.writeFile("/b-1.txt", "b"); // its slot is a's: b has now met a writer at work
      await off.writeFile("/off-1.txt", "off"); // and so has this one
      for (let index = 2; index <= 3; index++) await a.writeFile(`/a-${index}.txt`, "a");
      // b takes a's records in by itself (catchUpPauseMs: a few records within a second, a
      // catch-up every 67 to 200 ms); the 20 s allowed only turns a writer that never catches up
      // into a failure that says so.
      const caughtUp = async (writer: S3CachedFs, what: string) => {
        const waitUntil = Date.now() + 20_000;
        while (writer.stats().seq < a.stats().seq) {
          if (Date.now() > waitUntil) throw new Error(`${what} never took in the other writers' records (it is at ${writer.stats().seq}, the log at ${a.stats().seq})`);
          await Bun.sleep(10);
        }
      };
      await caughtUp(b, "the idle shared writer");
      const lostBefore = b.stats().commits!.lostSlots;
      const putsBefore = b.stats().requests.put.requests;
      await b.writeFile("/b-2.txt", "b");
      expect({ puts: b.stats().requests.put.requests - putsBefore, lostSlots: b.stats().commits!.lostSlots - lostBefore }).toEqual({ puts: 1, lostSlots: 0 });
      // The writer with refreshIntervalMs 0 made no request while idle, and its write lags.
      const offLost = off.stats().commits!.lostSlots;
      await off.writeFile("/off-2.txt", "off");
      expect(off.stats().commits!.lostSlots - offLost).toBe(1);
      // A writer that mounts while others are at work has met them as it read the log: it keeps
      // up without having written.
      const late = await mountShared("late");
      await a.writeFile("/a-late.txt", "a");
      await caughtUp(late, "a shared writer mounted while others were at work");
      await late.close();
      // The others fall silent: 11 s later by the mounts' clock, b's window is empty. The catch-up
      // already waiting may still run (at most maxCatchUpMs); after it, nothing.
      await caughtUp(b, "the idle shared writer");
      skew += othersActiveMs + 1_000;
      await Bun.sleep(maxCatchUpMs + 300);
      const idle = b.stats().requests.total.requests;
      await Bun.sleep(maxCatchUpMs + 300);
      expect(b.stats().requests.total.requests).toBe(idle);
      // a writes two records, which b, no longer catching up, lags. Having met others within
      // othersMetMs, b still reads beside its PUT: one lost slot, the two records and the empty
      // slot after them read, then its PUT at the end (without: two lost slots, a GET after each).
      await a.writeFile("/a-4.txt", "a");
      await a.writeFile("/a-5.txt", "a");
      const cost = { get: b.stats().requests.get.requests, put: b.stats().requests.put.requests, lostSlots: b.stats().commits!.lostSlots };
      await b.writeFile("/b-3.txt", "b");
      expect({ get: b.stats().requests.get.requests - cost.get, put: b.stats().requests.put.requests - cost.put, lostSlots: b.stats().commits!.lostSlots - cost.lostSlots }).toEqual({ get: 3, put: 2, lostSlots: 1 });
      // Others at work again: b met a's records at that write, and catches up again.
      await a.writeFile("/a-6.txt", "a");
      await caughtUp(b, "the shared writer, once another writer was at work again,");
      await b.close(); // stops its catch-ups: nothing runs after close
      await a.writeFile("/a-7.txt", "a");
      const closed = b.stats().requests.total.requests;
      await Bun.sleep(maxCatchUpMs + 300);
      expect(b.stats().requests.total.requests).toBe(closed);
      for (const writer of [a, off]) await writer.close();
    });

    test("catchUpPauseMs: the pause between catch-ups follows the other writers' rate over the last othersActiveMs, a fifth of the time between their records", () => {
      const cases = [[0, 0], [1, 0], [2, 500], [3, othersActiveMs], [30, othersActiveMs], [300, othersActiveMs], [1, 60_000]] as const;
      const pauses = cases.map(([records, span]) => catchUpPauseMs(records, span));
      expect(pauses.map((pause) => (pause === undefined ? pause : Math.round(pause)))).toEqual([undefined, 200, 100, 667, 67, minCatchUpMs, maxCatchUpMs]);
    });

    test("garbage collection runs in a shared writer (test/maintenance/shared-collection.test.ts has the rest); fsck repairs from a shared writer (test/maintenance/shared-repair.test.ts); snapshots work", async () => {
      const workspace = await testWorkspace(backend, "shared-maintenance");
      const [a, b] = await sharedWriters(workspace, 2);
      await a!.writeFile("/x.txt", "x");
      await b!.writeFile("/y.txt", "y");
      const dry = await a!.collectGarbage({ dryRun: true });
      expect(dry.deletions).toEqual([]);
      const gc = await a!.collectGarbage();
      expect(gc.deletions).toEqual([]); // everything is younger than the grace period
      expect((await a!.history()).some((entry) => entry.kinds.collect === 1)).toBe(true); // its fence
      const repair = await b!.fsck({ repair: true });
      expect({ sound: repair.sound, repairs: repair.repairs }).toEqual({ sound: true, repairs: [] });
      const seq = await b!.snapshot();
      expect(seq).toBeGreaterThan(0);
      await a!.writeFile("/z.txt", "z");
      for (const writer of [a!, b!]) await writer.close();
      const cold = await workspace.mount({ name: "cold", mode: "readonly" }, { cacheRoot: workspace.freshCacheRoot() });
      expect(await cold.readText("/z.txt")).toBe("z");
      expect(await cold.readText("/y.txt")).toBe("y");
      await cold.close();
    });
  });
}

describe("several writers in separate processes", () => {
  for (const backend of ["local", "s3"] as Backend[]) {
    test(`three writer processes (${backend}): every acknowledged increment and append is in the final state, and nothing else`, async () => {
      const workspace = await testWorkspace(backend, "shared-processes");
      // The filesystem exists before the processes start (each would otherwise race to create it).
      const creator = await workspace.mount({ name: "creator", exclusive: false }, { cacheRoot: workspace.freshCacheRoot() });
      await creator.writeFile("/counter", "0");
      await creator.close();
      const store = workspace.describe.startsWith("local:")
        ? { local: workspace.describe.slice("local:".length) }
        : (() => {
            const [bucket, ...prefix] = workspace.describe.slice("s3://".length).split("/");
            return { s3: { bucket: bucket!, prefix: prefix.join("/") } };
          })();
      const children = [0, 1, 2].map((index) =>
        Bun.spawn([process.execPath, `${import.meta.dir}/shared-writer-worker.ts`, JSON.stringify({ store, cacheRoot: workspace.freshCacheRoot(), name: `p${index}`, increments: 8, appends: 8 })], {
          stdout: "pipe",
          stderr: "pipe",
          env: process.env,
        }),
      );
      const reports = await Promise.all(
        children.map(async (child) => {
          const [output, errors] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text()]);
          expect(await child.exited, errors.slice(-2000)).toBe(0);
          return JSON.parse(output.trim().split("\n").at(-1)!) as { increments: number; appended: string[]; failures: string[] };
        }),
      );
      expect(reports.flatMap((report) => report.failures)).toEqual([]);
      const fresh = await workspace.mount({ name: "fresh", mode: "readonly" }, { cacheRoot: workspace.freshCacheRoot() });
      expect(Number(await fresh.readText("/counter"))).toBe(reports.reduce((sum, report) => sum + report.increments, 0));
      const lines = (await fresh.readText("/appends")).trimEnd().split("\n");
      expect(lines.slice().sort()).toEqual(reports.flatMap((report) => report.appended).sort());
      for (const report of reports) expect(lines.filter((line) => report.appended.includes(line))).toEqual(report.appended); // each process's in its order
      expect(new Set((await fresh.history({ limit: 200 })).map((entry) => entry.writer.split("@")[0])).size).toBeGreaterThanOrEqual(3);
      await fresh.close();
    });
  }
});

describe("writeFile with flag \"wx\" (one writer)", () => {
  test("creates a new file; refuses anything at the path (a file, a directory, a dangling link) with EEXIST and changes nothing; inside a transaction too; a bad flag is EINVAL", async () => {
    const workspace = await testWorkspace("local", "wx-single");
    const fs = await workspace.mount();
    await fs.writeFile("/new.txt", "created", { flag: "wx" });
    expect(await fs.readText("/new.txt")).toBe("created");
    await fs.mkdir("/dir");
    await fs.symlink("/nowhere", "/dangling");
    const before = fs.stats().seq;
    for (const path of ["/new.txt", "/dir", "/dangling"]) await expectCode(fs.writeFile(path, "again", { flag: "wx" }), "EEXIST", { path });
    expect(fs.stats().seq).toBe(before);
    expect(await fs.readText("/new.txt")).toBe("created");
    await fs.writeFile("/new.txt", "replaced", { flag: "w" });
    expect(await fs.readText("/new.txt")).toBe("replaced");
    await fs.transaction(async (tx) => {
      await tx.writeFile("/in-tx.txt", "one", { flag: "wx" });
      await expectCode(tx.writeFile("/in-tx.txt", "two", { flag: "wx" }), "EEXIST");
    });
    expect(await fs.readText("/in-tx.txt")).toBe("one");
    await expectCode(fs.writeFile("/x", "x", { flag: "a" as "w" }), "EINVAL");
    await expectCode(fs.appendFile("/x", "x", { flag: "wx" }), "EINVAL");
    expect(await fs.exists("/x")).toBe(false);
    await fs.close();
  });
});

describe("several writers behind Mastra's AcceleratedFS", () => {
  test("expectedMtime and overwrite: false hold across shared writers: a stale mtime is StaleFileError, an entry another writer created is FileExistsError", async () => {
    const workspace = await testWorkspace("local", "shared-mastra");
    const [a, b] = await sharedWriters(workspace, 2);
    const [mastraA, mastraB] = [new AcceleratedFS({ id: "a", filesystem: a! }), new AcceleratedFS({ id: "b", filesystem: b! })];
    await callLifecycle(mastraA, "init");
    await callLifecycle(mastraB, "init");
    await mastraA.writeFile("doc.txt", "v1");
    await b!.refresh();
    const seen = (await mastraB.stat("doc.txt")).modifiedAt;
    await mastraA.writeFile("doc.txt", "v2 by a"); // b has not caught up: its view still shows v1's mtime
    expect((await mastraB.stat("doc.txt")).modifiedAt.getTime()).toBe(seen.getTime());
    await expect(mastraB.writeFile("doc.txt", "v2 by b", { expectedMtime: seen })).rejects.toBeInstanceOf(StaleFileError);
    await mastraA.writeFile("made-by-a.txt", "a");
    await expect(mastraB.writeFile("made-by-a.txt", "b", { overwrite: false })).rejects.toBeInstanceOf(FileExistsError);
    const tree = await expectAllViewsEqual(workspace, [a!, b!]);
    expect(tree["/doc.txt"]).toBe("file:v2 by a");
    expect(tree["/made-by-a.txt"]).toBe("file:a");
    await callLifecycle(mastraA, "destroy");
    await callLifecycle(mastraB, "destroy");
    for (const writer of [a!, b!]) await writer.close();
  });
});

describe("the exclusive option", () => {
  test("anything but a boolean is EINVAL naming it, and writes nothing; a read-only mount ignores it", async () => {
    const workspace = await testWorkspace("local", "exclusive-option");
    const error = await expectCode(workspace.mount({ exclusive: "no" as unknown as boolean }, { cacheRoot: workspace.freshCacheRoot() }), "EINVAL", { syscall: "mount" });
    expect(error.message).toContain("exclusive");
    const store = workspace.makeStore();
    expect((await store.list()).objects).toEqual([]);
    const writer = await workspace.mount({ name: "creator" }, { cacheRoot: workspace.freshCacheRoot() });
    await writer.writeFile("/x", "x");
    await writer.close();
    const reader = await workspace.mount({ name: "reader", mode: "readonly", exclusive: false }, { cacheRoot: workspace.freshCacheRoot() });
    expect(await reader.readText("/x")).toBe("x");
    await expectCode(reader.writeFile("/y", "y"), "EROFS");
    await reader.close();
  });

  test("read-write mounts are shared writers by default; leaseTtlMs or onWriterBusy \"takeover\" without exclusive asks for the exclusive writer", async () => {
    const workspace = await testWorkspace("local", "default-shared");
    // Two default mounts at once: the second neither waits nor fails (onWriterBusy "fail" would say EBUSY to a held lease).
    const a = await workspace.mount({ name: "a" }, { cacheRoot: workspace.freshCacheRoot() });
    const b = await workspace.mount({ name: "b", onWriterBusy: "fail" }, { cacheRoot: workspace.freshCacheRoot() });
    await a.writeFile("/a.txt", "a");
    await b.writeFile("/b.txt", "b");
    await a.writeFile("/a.txt", "a again"); // a loses its slot to b, catches up, and lands: not fenced
    await a.refresh();
    expect([await a.readText("/b.txt"), await b.refresh().then(() => b.readText("/a.txt"))]).toEqual(["b", "a again"]);
    // A config that gives the lease's TTL asks for the exclusive writer: its epoch record fences both.
    const exclusive = await workspace.mount({ name: "exclusive", leaseTtlMs: 60_000 }, { cacheRoot: workspace.freshCacheRoot() });
    await exclusive.writeFile("/e.txt", "e");
    await expectCode(a.writeFile("/late.txt", "late"), "EFENCED");
    await expectCode(workspace.mount({ name: "d", onWriterBusy: "fail" }, { cacheRoot: workspace.freshCacheRoot() }), "EBUSY"); // a shared mount refuses a live exclusive lease when told not to wait
    await exclusive.close();
    for (const fs of [a, b]) await fs.close().catch(() => {});
    const fresh = await workspace.mount({ name: "fresh", mode: "readonly" }, { cacheRoot: workspace.freshCacheRoot() });
    expect(fresh.allPaths().filter((path) => path !== "/").sort()).toEqual(["/a.txt", "/b.txt", "/e.txt"]);
    await fresh.close();
    // A takeover without `exclusive` is the exclusive writer too: it fences the live exclusive writer.
    const holder = await workspace.mount({ name: "holder", exclusive: true }, { cacheRoot: workspace.freshCacheRoot() });
    const taker = await workspace.mount({ name: "taker", onWriterBusy: "takeover" }, { cacheRoot: workspace.freshCacheRoot() });
    await taker.writeFile("/t.txt", "t");
    await expectCode(holder.writeFile("/h.txt", "h"), "EFENCED");
    await expectCode(workspace.mount({ name: "e", onWriterBusy: "fail" }, { cacheRoot: workspace.freshCacheRoot() }), "EBUSY"); // taker holds the lease
    for (const fs of [holder, taker]) await fs.close().catch(() => {});
  });
});
