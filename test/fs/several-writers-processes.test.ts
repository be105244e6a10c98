// The multi-process proof of several writers (docs/guarantees.md "Several writers"): eight shared
// writer processes and two reader processes on one workspace, each writer running a seeded mix of
// blind writes (to its own paths and to shared ones), appends, renames out of a shared pool,
// exclusive creates, counter increments in transactions and pair transactions
// (test/fs/shared-proof-worker.ts). At the end a fresh mount must hold exactly what was
// acknowledged: every own write, the shared paths' values of the writer last in log order, every
// append once, each counter at its acknowledged increments, one winner per exclusive create, each
// pooled item in exactly one place; the readers never saw half a commit; and every writer's view,
// once caught up, equals the fresh mount's.
//
// Then Mastra's own test pattern across processes: each process makes a new AcceleratedFS
// (`exclusive: false`) on one prefix in every "beforeEach" and never destroys one.
//
// SHARED_PROOF_OPS sets each writer's operations (appends are a third more), SHARED_PROOF_SEED the
// seed, SHARED_PROOF_MASTRA_TESTS the tests each Mastra process runs.
import { afterAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { LocalObjectStore, S3CachedFsManagerImpl, S3ObjectStore, type ObjectStore } from "../../src/core.ts";
import { listAll } from "../../src/stores/object-store.ts";
import { decodeRecord } from "../../src/log/record.ts";
import { removeTempDirectories, tempDirectory } from "../support/temp.ts";
import { freshBucket, s3StoreOptions } from "../support/s3-server.ts";
import { killAll, spawnChild, type Child } from "../support/children.ts";
import { testWorkspace, type Backend, type TestWorkspace } from "../support/mounts.ts";
import { counterPaths, describeTree, type MastraReport, type ReaderReport, type WriterReport } from "./shared-proof-worker.ts";

afterAll(removeTempDirectories);

const worker = `${import.meta.dir}/shared-proof-worker.ts`;
const writerCount = 8;
const readerCount = 2;
const seed = Number(process.env.SHARED_PROOF_SEED ?? 19);

const spawn = (job: Record<string, unknown> & { name: string }): Child => spawnChild(worker, job);

/** The lanes' records in `store` but their close markers: the commits writers made in lanes. */
async function laneCommits(store: ObjectStore): Promise<number> {
  let count = 0;
  for await (const object of listAll(store, { prefix: "lanes/" })) {
    if (!decodeRecord(object.key, (await store.get(object.key)).body).header.ops.some((op) => op.op === "laneEnd")) count++;
  }
  return count;
}

function storeOf(workspace: TestWorkspace): Record<string, unknown> {
  if (workspace.describe.startsWith("local:")) return { local: workspace.describe.slice("local:".length) };
  const [bucket, ...prefix] = workspace.describe.slice("s3://".length).split("/");
  return { s3: { bucket, prefix: prefix.join("/") } };
}

const writerNames = Array.from({ length: writerCount }, (_, index) => `w${index}`);

/**
 * The tree every view must show, from what the writers acknowledged (all but /appends.log, which
 * is checked line by line); shared paths take the value acknowledged last in log order.
 */
function expectedTree(reports: WriterReport[]): Record<string, string> {
  const tree: Record<string, string> = {};
  for (const directory of ["/", "/own", "/shared", "/pool", "/taken", "/claims", "/counters", "/pairs", "/pairs/shared", ...writerNames.flatMap((name) => [`/own/${name}`, `/pairs/${name}`])]) tree[directory] = "dir";
  for (const report of reports) {
    for (const [path, value] of Object.entries(report.own)) tree[path] = `file:${value}`;
    if (report.lastPair !== undefined) {
      tree[`/pairs/${report.name}/a`] = `file:${report.lastPair}`;
      tree[`/pairs/${report.name}/b`] = `file:${report.lastPair}`;
    }
    for (const item of report.pooled) tree[`/pool/${item}`] = `file:item ${item}`;
    for (const claim of report.claimsWon) tree[claim.path] = `file:${claim.value}`;
  }
  for (const report of reports) {
    for (const take of report.taken) {
      delete tree[`/pool/${take.item}`];
      tree[take.to] = `file:item ${take.item}`;
    }
  }
  const shared = reports.flatMap((report) => report.shared).sort((a, b) => a.seq - b.seq);
  for (const write of shared) tree[write.path] = `file:${write.value}`;
  for (const path of counterPaths) tree[path] = `file:${reports.reduce((sum, report) => sum + (report.increments[path] ?? 0), 0)}`;
  return tree;
}

for (const backend of ["local", "s3"] as Backend[]) {
  describe(`several writers in separate processes, the proof (${backend})`, () => {
    const ops = Number(process.env.SHARED_PROOF_OPS ?? (backend === "local" ? 40 : 24));
    test(`${writerCount} writer and ${readerCount} reader processes, ${ops} operations each (seed ${seed}): nothing acknowledged is lost, nothing else appears, readers see whole commits, every view equals a fresh mount's`, async () => {
      const started = performance.now();
      const workspace = await testWorkspace(backend, "shared-proof");
      const creator = await workspace.mount({ name: "creator", exclusive: false }, { cacheRoot: workspace.freshCacheRoot() });
      for (const name of writerNames) {
        await creator.mkdir(`/own/${name}`, { recursive: true });
        await creator.mkdir(`/pairs/${name}`, { recursive: true });
      }
      for (const directory of ["/shared", "/pool", "/taken", "/claims", "/counters", "/pairs/shared"]) await creator.mkdir(directory, { recursive: true });
      for (const path of counterPaths) await creator.writeFile(path, "0");
      const creatorCommits = creator.stats().commits!.commits;
      await creator.close();
      const store = storeOf(workspace);
      const children: Child[] = [];
      try {
        const readers = Array.from({ length: readerCount }, (_, index) => spawn({ role: "reader", store, cacheRoot: workspace.freshCacheRoot(), name: `r${index}`, index, ops, seed }));
        const writers = writerNames.map((name, index) => spawn({ role: "writer", store, cacheRoot: workspace.freshCacheRoot(), name, index, ops, seed: seed * 1000 + index }));
        children.push(...readers, ...writers);
        const reports = (await Promise.all(writers.map((writer) => writer.next("done")))) as WriterReport[];
        for (const reader of readers) reader.say("stop");
        const readerReports = (await Promise.all(readers.map((reader) => reader.next("reader")))) as ReaderReport[];

        // Only EAGAIN (and the expected refusals: ENOENT for a pool item already taken, EEXIST for a lost exclusive create) may refuse an operation.
        expect(reports.flatMap((report) => report.failures)).toEqual([]);

        // A read-only mount (and each refresh) applies at most 256 records past what the head announces
        // (docs/s3-layout.md M5), and these writers leave the head behind: refresh until nothing is new.
        const fresh = await workspace.mount({ name: "fresh", mode: "readonly" }, { cacheRoot: workspace.freshCacheRoot() });
        const mountedAt = fresh.stats().seq;
        let refreshes = 0;
        while ((await fresh.refresh()).changed) refreshes++;
        // Every commit a writer made is in the log, and nothing else: the log ends at the newest one.
        expect(fresh.stats().seq).toBe(Math.max(...reports.map((report) => report.stats.seq)));
        const tree = await describeTree(fresh);
        const history = await fresh.history({ limit: 100_000 });
        // The records applied in the main log (but those that only close lanes) and the lanes'
        // records (but close markers) are the commits (these writers open no lanes, but the
        // creator could have).
        const mainCommits = history.filter((entry) => Object.keys(entry.kinds).some((kind) => kind !== "laneClose")).length;
        expect(mainCommits + (await laneCommits(workspace.makeStore()))).toBe(creatorCommits + reports.reduce((sum, report) => sum + report.stats.commits, 0));
        const bySeq = new Map(history.map((entry) => [entry.seq, entry]));

        // Every append payload exactly once, nothing else, each writer's in its order.
        const appended = reports.flatMap((report) => report.appended);
        const lines = tree["/appends.log"] === undefined ? [] : tree["/appends.log"].slice("file:".length).trimEnd().split("\n");
        expect(lines.slice().sort()).toEqual(appended.slice().sort());
        for (const report of reports) expect(lines.filter((line) => line.startsWith(`${report.name}-`))).toEqual(report.appended);

        // At most one winner per exclusive create, at most one successful rename per pool item.
        const winners = new Map<string, string[]>();
        for (const claim of reports.flatMap((report) => report.claimsWon)) winners.set(claim.path, [...(winners.get(claim.path) ?? []), claim.value]);
        for (const [path, values] of winners) expect({ path, values: values.length }).toEqual({ path, values: 1 });
        const takers = new Map<string, number>();
        for (const take of reports.flatMap((report) => report.taken)) takers.set(take.item, (takers.get(take.item) ?? 0) + 1);
        for (const [item, count] of takers) expect({ item, count }).toEqual({ item, count: 1 });

        // Each acknowledged shared write is in the record at its seq, from its writer; the value left is the one acknowledged last in log order.
        for (const report of reports) {
          for (const write of report.shared) {
            const entry = bySeq.get(write.seq);
            expect({ seq: write.seq, writer: entry?.writer.split("@")[0], carries: entry?.paths.includes(write.path) }).toEqual({ seq: write.seq, writer: report.name, carries: true });
          }
        }
        const shared = reports.flatMap((report) => report.shared);
        expect(new Set(shared.map((write) => `${write.seq} ${write.path}`)).size).toBe(shared.length);

        // The whole tree: own writes exact, shared paths last in log order, counters at the acknowledged increments, pooled items in one place each.
        const expected = expectedTree(reports);
        const { ["/appends.log"]: _appends, ...rest } = tree;
        expect(rest).toEqual(expected);

        // Readers never saw half a commit, a counter or a writer's pair going back, or the append log changing before its end.
        expect(readerReports.flatMap((report) => report.violations)).toEqual([]);
        for (const report of readerReports) expect(report.checks).toBeGreaterThan(0);
        expect(readerReports.some((report) => report.moves > 1)).toBe(true);

        // Each writer, caught up, sees what the fresh mount sees.
        for (const writer of writers) writer.say("view");
        const views = (await Promise.all(writers.map((writer) => writer.next("view")))) as Record<string, string>[];
        for (const [index, view] of views.entries()) expect({ writer: writerNames[index], view }).toEqual({ writer: writerNames[index]!, view: tree });
        for (const child of children) expect({ name: child.name, code: await child.process.exited }).toEqual({ name: child.name, code: 0 });

        await fresh.close();
        const sum = (pick: (report: WriterReport) => number) => reports.reduce((total, report) => total + pick(report), 0);
        const increments = sum((report) => Object.values(report.increments).reduce((a, b) => a + b, 0));
        console.log(
          `shared proof (${backend}, seed ${seed}, ${writerCount}x${ops} ops + ${appended.length} appends): ${history.length} records ` +
            `(a fresh reader mounted at seq ${mountedAt}, ${refreshes} refreshes to ${history.length}), ` +
            `writer commits ${sum((report) => report.stats.commits)}, PUTs ${sum((report) => report.stats.puts)}, GETs ${sum((report) => report.stats.gets)}; ` +
            `increments ${increments} in ${sum((report) => report.incrementRuns)} body runs; shared writes ${shared.length}; own pairs ${sum((report) => report.pairs)}; ` +
            `takes ${sum((report) => report.taken.length)} (ENOENT ${sum((report) => report.takeMisses)}); claims won ${winners.size} (EEXIST ${sum((report) => report.claimsLost)}); ` +
            `EAGAIN ${sum((report) => report.eagain.length)}; reader checks ${readerReports.map((report) => `${report.checks}/${report.moves} moves`).join(", ")}; ` +
            `${Math.round(performance.now() - started)} ms`,
        );
      } finally {
        killAll(children);
      }
    }, 120_000 + ops * 4_000);
  });
}

for (const backend of ["local", "s3"] as Backend[]) {
  describe(`Mastra's test pattern across processes (${backend})`, () => {
    const processes = 3;
    const tests = Number(process.env.SHARED_PROOF_MASTRA_TESTS ?? 5);
    test(`${processes} processes under one cacheRoot, each making a new AcceleratedFS (exclusive: false) on one prefix in every beforeEach and never destroying one, ${tests} tests each: every test passes, and a fresh mount holds what each acknowledged`, async () => {
      // No filesystem yet: the processes race to create it, as parallel test files would.
      const directory = tempDirectory("shared-proof-mastra");
      let store: Record<string, unknown>;
      let makeStore: () => ObjectStore;
      if (backend === "local") {
        store = { local: directory };
        makeStore = () => new LocalObjectStore({ root: join(directory, "bucket", "workspace"), fsync: false }); // where storageOptions puts it
      } else {
        const bucket = await freshBucket("shared-proof-mastra");
        store = { s3: { bucket, prefix: "workspace" } };
        makeStore = () => new S3ObjectStore(s3StoreOptions(bucket, { prefix: "workspace" }));
      }
      const children: Child[] = [];
      try {
        // One cacheRoot for every process, as parallel test files of one app would share: each
        // process after the first takes a sibling cache directory (src/mount/directory.ts).
        const cacheRoot = tempDirectory("shared-proof-mastra-cache");
        children.push(...Array.from({ length: processes }, (_, index) => spawn({ role: "mastra", store, cacheRoot, name: `p${index}`, index, ops: tests, seed })));
        const reports = (await Promise.all(children.map((child) => child.next("mastra")))) as MastraReport[];
        expect(reports.flatMap((report) => report.failures)).toEqual([]);
        const manager = new S3CachedFsManagerImpl({ cacheRoot: tempDirectory("shared-proof-mastra-fresh"), storeFactory: makeStore });
        const fresh = await manager.mount({ name: "fresh", mode: "readonly", prefix: "workspace" });
        while ((await fresh.refresh()).changed);
        const tree = await describeTree(fresh);
        await fresh.close();
        const expected: Record<string, string> = { "/": "dir", "/shared": "dir", "/claims": "dir" };
        for (const [index, report] of reports.entries()) {
          expected[`/p${index}`] = "dir";
          for (let test = 0; test < tests; test++) expected[`/p${index}/t${test}`] = "dir";
          for (const [path, content] of Object.entries(report.files)) expected[path] = `file:${content}`;
          for (const claim of report.claimsWon) expected[claim.path] = `file:${claim.value}`;
        }
        const appended = reports.flatMap((report) => report.appended);
        const lines = (tree["/shared/log.txt"] ?? "file:").slice("file:".length).trimEnd().split("\n").filter((line) => line !== "");
        expect(lines.slice().sort()).toEqual(appended.slice().sort());
        const { ["/shared/log.txt"]: _log, ...rest } = tree;
        expect(rest).toEqual(expected);
        // Exactly one winner per exclusive create, unless every attempt at it ran out of slots (EAGAIN).
        const won = reports.flatMap((report) => report.claimsWon.map((claim) => claim.path));
        expect(new Set(won).size).toBe(won.length);
        const eagain = reports.flatMap((report) => report.eagain);
        expect(won.length + eagain.filter((label) => label.startsWith("claim")).length).toBeGreaterThanOrEqual(tests);
        console.log(
          `mastra pattern (${backend}): ${processes} processes x ${tests} tests, ${reports.length * tests} AcceleratedFS objects never destroyed; ` +
            `appends ${appended.length}, claims won ${won.length} (FileExistsError ${reports.reduce((sum, report) => sum + report.claimsLost, 0)}), EAGAIN ${eagain.length}`,
        );
        for (const child of children) child.say("exit");
        for (const child of children) expect({ name: child.name, code: await child.process.exited }).toEqual({ name: child.name, code: 0 });
      } finally {
        killAll(children);
      }
    }, 180_000);
  });
}
