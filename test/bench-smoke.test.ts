// The benchmark suite, end to end at smoke size (`bun bench/run.ts --smoke`), against the real S3
// server, so it cannot rot: every workload runs ours and its baselines, results, charts and the
// report are written. And the request counts it reports are held to what the protocol and the
// baselines' APIs fix (counts are deterministic; times never are, so none is asserted). Where the
// core may legitimately fetch more cleverly (read-ahead in a directory read in random order), the
// bound is asserted rather than an exact figure.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { settingsFor } from "../bench/settings.ts";
import { runSuite } from "../bench/suite.ts";
import { writeOutputs } from "../bench/output.ts";
import { shellCommands } from "../bench/workloads/agents.ts";
import type { ScenarioResult, SubjectName, SubjectRun, SuiteResults } from "../bench/results.ts";
import { maxRecordsInFlight } from "../src/commit/committer.ts";
import { s3Server } from "./support/s3-server.ts";
import { removeTempDirectories, tempDirectory } from "./support/temp.ts";

const settings = settingsFor("smoke", { writeDocument: true });
const sizes = settings.sizes;
let results: SuiteResults | undefined;
let output = "";

beforeAll(async () => {
  output = tempDirectory("bench-smoke");
  results = await runSuite({ ...settings, outputDirectory: output }, s3Server(), () => {});
  writeOutputs(results, output, { document: true });
}, 300_000);
afterAll(removeTempDirectories);

function scenario(id: string): ScenarioResult {
  const found = results?.scenarios.find((candidate) => candidate.id === id);
  if (found === undefined) throw new Error(`the smoke run has no scenario ${id}`);
  return found;
}

/** The single run (smoke: one repetition) of `subject` in scenario `id`. */
function run(id: string, subject: SubjectName): SubjectRun {
  const result = scenario(id).subjects.find((candidate) => candidate.subject === subject);
  if (result === undefined || result.runs.length !== settings.repetitions) throw new Error(`scenario ${id} has no complete run of ${subject}`);
  return result.runs[0]!;
}

const check = (id: string, key: string) => scenario(id).checks[key];

/** The read-ahead's first window's floor: the reader's coalescing gap (its default). */
const initialWindowBytes = 64 * 1024;

/**
 * What the core's read-ahead (src/data/read-planner.ts) costs a cold reader of `count` files of
 * `fileBytes`, one after the other in the order they are stored, from file `start` of a directory
 * of `files`: the first file alone; the second with a window after it; then a window at the last
 * file of each window. Each window is max(bytes read, the initial window) in whole files (nothing is
 * left unread in this order), cut at the directory's end.
 */
function sequentialReadAhead(start: number, count: number, files: number, fileBytes: number): { get: number; total: number; bytesIn: number } {
  let get = 0;
  let fetchedUntil = start; // the files before it have been fetched
  let windowEnd = -1; // the last file of the latest window
  for (let index = start, read = 1; index < start + count; index++, read++) {
    const miss = index >= fetchedUntil;
    if (miss) {
      get += 1;
      fetchedUntil = index + 1;
    }
    if ((miss && read > 1) || index === windowEnd) {
      const window = Math.min(Math.floor(Math.max(read * fileBytes, initialWindowBytes) / fileBytes), files - fetchedUntil);
      if (window > 0) {
        if (!miss) get += 1;
        fetchedUntil += window;
        windowEnd = fetchedUntil - 1;
      }
    }
  }
  return { get, total: get, bytesIn: (fetchedUntil - start) * fileBytes };
}
const numberCheck = (id: string, key: string) => Number(check(id, key) ?? 0);

describe("the benchmark suite at smoke size", () => {
  test("runs every workload, with ours and its baselines in every scenario, and writes results, charts and the report", () => {
    expect(results?.scenarios.map((entry) => entry.workload)).toEqual(expect.arrayContaining(["insert", "mixed", "metadata", "reads", "lifecycle", "agents", "local", "transaction", "writers", "busy"]));
    for (const entry of results!.scenarios) {
      expect(entry.subjects.some((subject) => subject.subject === "ours")).toBe(true);
      for (const subject of entry.subjects) for (const subjectRun of subject.runs) expect(subjectRun.milliseconds).toBeGreaterThan(0);
      expect(existsSync(join(output, "performance", `${entry.id}.svg`))).toBe(true);
    }
    expect(JSON.parse(readFileSync(join(output, "performance-results.json"), "utf8")).scenarios).toHaveLength(results!.scenarios.length);
    const document = readFileSync(join(output, "performance.md"), "utf8");
    expect(document).toContain("## Summary");
    for (const entry of results!.scenarios) expect(document).toContain(`#### ${entry.title}`);
    expect(readFileSync(join(output, "performance", "overview.svg"), "utf8")).toStartWith("<svg");
  });

  test("insert: a transaction is one create-only PUT of a wal/ record, a single write one; one object per file costs one PUT per file", () => {
    const { transactions, transactionFiles, singleWrites, fileBytes } = sizes.insert;
    const files = transactions * transactionFiles;
    expect(numberCheck("insert-transactions", "transactions put wal")).toBe(transactions);
    const ours = run("insert-transactions", "ours");
    expect(ours.requests.get + ours.requests.list).toBe(0);
    // Store calls: the commit records and the deferred head update. On the wire, a new writer's first
    // compare-and-swap on Ceph RGW adds a 412 and a HEAD (the store learns If-Match is unquoted there).
    expect([0, 2]).toContain(ours.requests.total - transactions - numberCheck("insert-transactions", "transactions put heads"));
    expect([0, 2]).toContain(run("insert-single", "ours").requests.total - singleWrites - numberCheck("insert-single", "single put heads"));
    for (const baseline of ["raw-s3", "mastra-s3"] as const) {
      expect(run("insert-transactions", baseline).requests).toMatchObject({ put: files, total: files, bytesOut: files * fileBytes });
      expect(run("insert-single", baseline).requests).toMatchObject({ put: singleWrites, total: singleWrites });
    }
    expect(numberCheck("insert-single", "single put wal")).toBe(singleWrites);
    expect(run("insert-transactions", "local-disk").requests.total).toBe(0);
  });

  test("mixed: ours at every cache size (a tenth, a fifth and all of the workspace, and 100 MiB) against one baseline run; each awaited write is one commit; reads never cost more than a GET each, and on packed files at most one GET per file first touched when the cache holds the workspace; baselines one request per operation", () => {
    const { reads, writes, cacheBytes, cacheFractions } = sizes.mixed;
    const workspaceBytes = sizes.mixed.workspaces[0]!.workspaceBytes;
    const rows = [
      ["mixed-2mib-cache10pct", Math.floor(0.1 * workspaceBytes)],
      ["mixed-2mib-cache20pct", Math.floor(0.2 * workspaceBytes)],
      ["mixed-2mib-cache100pct", workspaceBytes],
      ["mixed-2mib", cacheBytes],
    ] as const;
    expect(cacheFractions).toEqual([0.1, 0.2, 1]);
    expect(results!.scenarios.filter((entry) => entry.workload === "mixed").map((entry) => entry.id)).toEqual(rows.flatMap(([id]) => [id, `${id}-rewritten`]));
    const baselineRuns = new Set<SubjectRun>();
    for (const [row, bytes] of rows) {
      for (const [id, phase] of [
        [row, "seeded"],
        [`${row}-rewritten`, "rewritten"],
      ] as const) {
        expect(numberCheck(id, `${phase}: ours cache bytes`)).toBe(bytes);
        expect(scenario(id).title).toContain(bytes >= 2 ** 20 ? `${bytes / 2 ** 20} MiB cache` : `${Number((bytes / 1024).toFixed(1))} KiB cache`);
        expect(numberCheck(id, `${phase}: ours put wal`)).toBe(writes); // one client: no two writes share a commit
        const dataGets = numberCheck(id, `${phase}: ours data GETs`);
        expect(dataGets).toBeGreaterThanOrEqual(1);
        // Whatever the cache's size, never more than one GET per read: what is fetched ahead comes
        // in the GET of the read that asked for it, and is never more than the cache can keep.
        expect(dataGets).toBeLessThanOrEqual(reads);
        // A cache holding the workspace: on packed files, at most one GET per file first touched.
        if (phase === "seeded" && bytes >= workspaceBytes) expect(dataGets).toBeLessThanOrEqual(numberCheck(id, "reads that first touch a file"));
        // Rewritten, most files sit in commit records of their own, which read-ahead leaves alone
        // (a window only fetches objects holding several of its files): never more GETs than files.
        else expect(dataGets).toBeLessThanOrEqual(numberCheck(id, "files"));
        for (const baseline of ["raw-s3", "mastra-s3"] as const) {
          expect(run(id, baseline).requests).toMatchObject({ get: reads, put: writes, total: reads + writes });
          baselineRuns.add(run(id, baseline));
        }
      }
    }
    // The baselines keep no cache: one measurement per repetition serves every row.
    expect(baselineRuns.size).toBe(2);
  });

  test("metadata: ours answers stat, exists, readdir and a walk with no request; the baselines pay per call and per page", () => {
    const { statCalls, existsCalls, readdirCalls, directoryEntries, walkFiles } = sizes.metadata;
    for (const id of ["metadata-stat", "metadata-exists", "metadata-readdir", "metadata-walk"]) expect(run(id, "ours").requests.total).toBe(0);
    expect(run("metadata-stat", "raw-s3").requests).toMatchObject({ head: statCalls, total: statCalls });
    expect(run("metadata-stat", "mastra-s3").requests).toMatchObject({ head: statCalls, total: statCalls });
    expect(run("metadata-exists", "raw-s3").requests).toMatchObject({ head: existsCalls, total: existsCalls });
    // S3Filesystem.exists: a HEAD, and for a missing path a LIST too (half the paths are missing).
    expect(run("metadata-exists", "mastra-s3").requests).toMatchObject({ head: existsCalls, list: existsCalls / 2 });
    expect(run("metadata-readdir", "raw-s3").requests).toMatchObject({ list: readdirCalls * Math.ceil(directoryEntries / 1000) });
    expect(run("metadata-walk", "raw-s3").requests).toMatchObject({ list: Math.ceil(walkFiles / 1000) });
    for (const subject of ["ours", "raw-s3", "mastra-s3", "local-disk"]) {
      expect(check("metadata-readdir", `${subject} entries`)).toBe(directoryEntries);
      expect(check("metadata-walk", `${subject} entries found`)).toBe(walkFiles);
    }
  });

  test("reads: a lone cold read is one GET of just its bytes; in a directory, read-ahead windows as large as what was read: in order, the GETs and bytes the ramp gives, scattered, never more than a GET per read nor twice the bytes read plus one window; a warm read none; large files move exactly their bytes, piecewise reads in whole chunks fetched ahead", () => {
    const { coldReads, smallFiles, fileBytes, largeFileBytes, partBytes } = sizes.reads;
    expect(run("reads-small-cold-scattered", "ours").requests).toMatchObject({ get: coldReads, total: coldReads, bytesIn: coldReads * fileBytes });
    const scan = run("reads-small-cold-scan", "ours").requests;
    expect(scan.get).toBeGreaterThanOrEqual(1);
    expect(scan.get).toBeLessThanOrEqual(coldReads);
    expect(scan.total).toBe(scan.get);
    expect(scan.bytesIn).toBeGreaterThanOrEqual(coldReads * fileBytes);
    expect(scan.bytesIn).toBeLessThanOrEqual(2 * coldReads * fileBytes + initialWindowBytes);
    // In directory order, the ramp's exact GETs and bytes (sequentialReadAhead below).
    const start = numberCheck("reads-small-cold-sequential", "first file");
    expect(run("reads-small-cold-sequential", "ours").requests).toMatchObject(sequentialReadAhead(start, coldReads, smallFiles, fileBytes));
    expect(run("reads-small-cold-directory", "ours").requests).toMatchObject(sequentialReadAhead(0, smallFiles, smallFiles, fileBytes));
    expect(run("reads-small-cold-directory", "ours").requests.bytesIn).toBe(smallFiles * fileBytes); // every byte once
    expect(run("reads-small-warm", "ours").requests.total).toBe(0);
    for (const id of ["reads-small-cold-scattered", "reads-small-cold-scan", "reads-small-warm"]) {
      for (const baseline of ["raw-s3", "mastra-s3"] as const) expect(run(id, baseline).requests).toMatchObject({ get: coldReads, total: coldReads, bytesIn: coldReads * fileBytes });
    }
    expect(run("reads-small-cold-sequential", "raw-s3").requests).toMatchObject({ get: coldReads, total: coldReads, bytesIn: coldReads * fileBytes });
    expect(run("reads-small-cold-directory", "raw-s3").requests).toMatchObject({ get: smallFiles, total: smallFiles, bytesIn: smallFiles * fileBytes });
    for (const id of ["reads-small-cold-sequential", "reads-small-cold-directory"]) expect(run(id, "local-disk").requests.total).toBe(0);
    const chunks = Math.ceil(largeFileBytes / partBytes);
    expect(numberCheck("reads-large-write", "write put chunks")).toBe(chunks);
    expect(numberCheck("reads-large-write", "write put wal")).toBe(1);
    expect(run("reads-large-write", "raw-s3").requests.put).toBe(chunks + 2); // create, parts, complete
    expect(run("reads-large-write", "mastra-s3").requests).toMatchObject({ put: 1, total: 1 });
    for (const id of ["reads-large-read", "reads-large-stream"]) {
      expect(run(id, "ours").requests.bytesIn).toBe(largeFileBytes);
      expect(run(id, "raw-s3").requests).toMatchObject({ get: chunks, bytesIn: largeFileBytes });
      expect(run(id, "mastra-s3").requests).toMatchObject({ get: 1, bytesIn: largeFileBytes });
    }
    // Piece by piece: every byte once, in whole chunks fetched ahead (the first chunk's first two
    // pieces are read before the run is seen to be sequential), against a GET per piece.
    const pieces = Math.ceil(largeFileBytes / 2 ** 20);
    const ranged = run("reads-large-range", "ours").requests;
    expect(ranged.bytesIn).toBe(largeFileBytes);
    expect(ranged.get).toBeLessThanOrEqual(chunks + 2);
    expect(ranged.get).toBeLessThan(pieces);
    expect(run("reads-large-range", "raw-s3").requests).toMatchObject({ get: pieces, bytesIn: largeFileBytes });
  });

  test("lifecycle: a cold mount is four GETs and a warm one three, whatever the size; an idle refresh is two; listing costs a page per 1,000 files", () => {
    const { mountFiles, idleRefreshes } = sizes.lifecycle;
    expect(run("lifecycle-cold-mount", "ours").requests).toMatchObject({ get: 4, total: 4 });
    for (const key of ["cold mount get format", "cold mount get heads", "cold mount get snapshots", "cold mount get wal"]) expect(check("lifecycle-cold-mount", key)).toBe(1);
    expect(run("lifecycle-warm-mount", "ours").requests).toMatchObject({ get: 3, total: 3 });
    expect(run("lifecycle-cold-mount", "raw-s3").requests).toMatchObject({ list: Math.ceil(mountFiles / 1000) });
    expect(run("lifecycle-cold-mount", "mastra-s3").requests).toMatchObject({ head: 1, list: Math.ceil(mountFiles / 1000) });
    expect(check("lifecycle-cold-mount", "raw-s3 files known")).toBe(mountFiles);
    expect(run("lifecycle-idle-refresh", "ours").requests).toMatchObject({ get: 2 * idleRefreshes, total: 2 * idleRefreshes });
    expect(run("lifecycle-idle-refresh", "raw-s3").requests).toMatchObject({ list: idleRefreshes * Math.ceil(mountFiles / 1000) });
    const lag = run("lifecycle-reader-lag", "ours");
    expect(lag.metrics.lagP50Ms).toBeGreaterThanOrEqual(0);
    expect(lag.requests.put).toBe(0); // the reader never writes
    // Every refresh reads the head once, with one or two log slots; the reader's requests are those.
    const refreshes = numberCheck("lifecycle-reader-lag", "reader refreshes");
    expect(numberCheck("lifecycle-reader-lag", "reader get heads")).toBe(refreshes);
    expect(numberCheck("lifecycle-reader-lag", "reader get wal")).toBeGreaterThanOrEqual(refreshes);
    expect(numberCheck("lifecycle-reader-lag", "reader refreshes that found records")).toBeGreaterThan(0);
    expect(numberCheck("lifecycle-reader-lag", "reader refreshes that found records")).toBeLessThanOrEqual(sizes.lifecycle.lagWrites);
  });

  test("agents: the shell publishes one commit per writing command and prints what InMemoryFs prints; Mastra's tools agree on every filesystem, ours warm with no request", () => {
    const commands = shellCommands(sizes.agents.shellModules);
    const writingCommands = 3; // scaffold, build, edit and rebuild; grep and list write nothing
    expect(commands).toHaveLength(5);
    expect(numberCheck("agents-shell", "script put wal")).toBe(writingCommands);
    expect(check("agents-shell", "same output as InMemoryFs")).toBe(true);
    expect(check("agents-shell-cold-grep", "same output as InMemoryFs")).toBe(true);
    expect(run("agents-shell-cold-grep", "ours").requests.get).toBeLessThanOrEqual(writingCommands);
    for (const id of ["agents-mastra-list-cold", "agents-mastra-grep-cold", "agents-mastra-list-warm", "agents-mastra-grep-warm"]) {
      expect(check(id, "same output on every filesystem")).toBe(true);
    }
    expect(run("agents-mastra-list-cold", "ours").requests.total).toBe(0);
    expect(run("agents-mastra-list-warm", "ours").requests.total).toBe(0);
    expect(run("agents-mastra-grep-warm", "ours").requests.total).toBe(0);
    // The tree was written in transactions of 400: a cold grep fetches each record at most once.
    const cold = run("agents-mastra-grep-cold", "ours").requests;
    expect(cold.get).toBeGreaterThanOrEqual(1);
    expect(cold.total).toBeLessThanOrEqual(Math.ceil(sizes.agents.treeFiles / 400));
    // S3Filesystem has no grep: it reads every file, each with its own GET.
    expect(run("agents-mastra-grep-cold", "mastra-s3").requests.get).toBeGreaterThanOrEqual(sizes.agents.treeFiles);
  });

  test("local: warm reads and misses make no request; a script is one commit per command, or one per write; seeding one commit per awaited write, one per transaction", () => {
    const { scriptFiles } = sizes.local;
    for (const id of ["local-warm-reads", "local-missing-reads", "local-missing-exists"]) {
      expect(run(id, "ours").requests.total).toBe(0);
      expect(numberCheck(id, "ours requests")).toBe(0);
      expect(run(id, "ours").metrics.usPerCall).toBeGreaterThan(0);
      expect(run(id, "in-memory").metrics.usPerCall).toBeGreaterThan(0);
    }
    // One commit, one create-only PUT of its record, after the GET of the log's end a shared
    // writer's command starts with; the head moves at close, outside the run.
    expect(numberCheck("local-shell-per-command", "ours commits")).toBe(1);
    expect(run("local-shell-per-command", "ours").requests).toMatchObject({ get: 1, put: 1, total: 2 });
    // mkdir, then the `>`s (each one write: its empty write joins the bytes written through it),
    // left in flight by the command and given to the mount together when `ls out` looks at their
    // directory: one record. No GET: a per-write command holds no transaction to start.
    expect(numberCheck("local-shell-per-write", "ours commits")).toBe(2);
    expect(run("local-shell-per-write", "ours").requests.total).toBe(2);
    // The ratios the goal names are recorded (ours / InMemoryFs per call; per-write / one-commit script).
    for (const id of ["local-warm-reads", "local-missing-reads", "local-missing-exists"]) expect(numberCheck(id, "ours / InMemoryFs, mean per call")).toBeGreaterThan(0);
    expect(numberCheck("local-shell-per-write", "per-write script / one-commit script (ours, median wall time)")).toBeGreaterThan(0);
    expect(numberCheck("local-seed-sequential", "ours commits")).toBe(scriptFiles);
    expect(run("local-seed-sequential", "ours").requests.total).toBe(scriptFiles);
    expect(numberCheck("local-seed-transaction", "ours commits")).toBe(1);
    expect(run("local-seed-transaction", "ours").requests.total).toBe(1);
    const concurrent = numberCheck("local-seed-concurrent", "ours commits");
    expect(concurrent).toBeGreaterThanOrEqual(1);
    expect(concurrent).toBeLessThan(scriptFiles); // concurrent writes share commits
    expect(run("local-seed-concurrent", "ours").requests.total).toBe(concurrent);
  });

  test("transaction: one large transaction is one commit and one PUT (its record), with every phase of the split measured", () => {
    const { files } = sizes.transaction;
    expect(numberCheck("transaction-local-cost", "ours commits")).toBe(1);
    expect(numberCheck("transaction-local-cost", "ours files")).toBe(files);
    expect(run("transaction-local-cost", "ours").requests).toMatchObject({ put: 1, total: 1 });
    expect(run("transaction-local-cost", "local-disk").requests.total).toBe(0);
    const metrics = run("transaction-local-cost", "ours").metrics;
    for (const phase of ["localMs", "validationMs", "packingMs", "uploadMs", "encodeMs", "indexCommitMs", "cacheMs", "cpuMs"]) expect(metrics[phase]).toBeGreaterThan(0);
    expect(metrics.validationMs).toBeLessThan(run("transaction-local-cost", "ours").milliseconds);
    expect(run("transaction-local-cost", "local-disk").metrics.writeFileSyncMs).toBeGreaterThan(0);
    expect(run("transaction-local-cost", "local-disk").metrics.cpuMs).toBeGreaterThan(0);
    for (const key of ["ours local / node:fs awaited", "ours local / node:fs sync", "ours CPU / node:fs awaited CPU"]) expect(numberCheck("transaction-local-cost", key)).toBeGreaterThan(0);
  });

  test("writers: every write a writer process acknowledged is in the log afterwards with its bytes, and nothing else; one process's awaited write is one PUT; every PUT of ours is a record or a lost slot; a batch shares records", () => {
    const { processes, writes, rounds, batch, agentProcesses, agentWrites } = sizes.writers;
    const ids = [`writers-agents-${agentProcesses}`, `writers-agents-${agentProcesses}-calm`, `writers-agents-${agentProcesses}-calm-no-catch-up`, ...processes.flatMap((count) => [`writers-single-${count}`, `writers-batch-${count}`])];
    expect(results!.scenarios.filter((entry) => entry.workload === "writers").map((entry) => entry.id).sort()).toEqual(ids.slice().sort());
    expect(processes).toContain(1);
    expect(Math.max(...processes, agentProcesses)).toBeGreaterThan(1);
    for (const id of ids) {
      const entry = scenario(id);
      // Checked by a fresh read-only mount after the run: every acknowledged write with its bytes, no other file, no record nobody counted.
      expect(numberCheck(id, "acknowledged writes")).toBe(entry.operations);
      expect(numberCheck(id, "acknowledged writes missing or wrong afterwards")).toBe(0);
      expect(numberCheck(id, "files nobody acknowledged")).toBe(0);
      expect(numberCheck(id, "records in the log not counted by a writer")).toBe(0);
      expect(check(id, "ours PUTs = records + lost slots")).toBe(true);
      const ours = run(id, "ours");
      expect(ours.requests.put).toBe(numberCheck(id, "ours records") + numberCheck(id, "ours lost slots"));
      expect(ours.metrics.p50Ms).toBeGreaterThan(0);
      expect(ours.metrics.recordsPerSecond).toBeGreaterThan(0);
      // Raw S3: one PUT per write, nothing else.
      expect(run(id, "raw-s3").requests).toMatchObject({ put: entry.operations, total: entry.operations });
    }
    expect(scenario(`writers-agents-${agentProcesses}`).operations).toBe(agentProcesses * agentWrites);
    for (const calm of ["calm", "calm-no-catch-up"]) expect(scenario(`writers-agents-${agentProcesses}-${calm}`).operations).toBe(agentProcesses * sizes.writers.calmWrites);
    // Alone, a shared writer never loses a slot: each awaited write is one record, one PUT, and no GET.
    expect(run("writers-single-1", "ours").requests).toMatchObject({ put: writes, get: 0, total: writes });
    expect(numberCheck("writers-single-1", "ours records")).toBe(writes);
    expect(numberCheck("writers-single-1", "ours lost slots")).toBe(0);
    // Writes issued together share records: at least one a round, fewer than one a write.
    const records = numberCheck("writers-batch-1", "ours records");
    expect(records).toBeGreaterThanOrEqual(rounds);
    expect(records).toBeLessThan(rounds * batch);
    expect(run("writers-batch-1", "ours").requests).toMatchObject({ put: records, get: 0, total: records });
  });

  test("busy: every write of every client is acknowledged and read back intact; every record of ours is one PUT under wal/; one client's awaited writes are a record each, never two in flight; many clients with pauses pipeline their records", () => {
    const { clients, writes, awaitedWrites } = sizes.busy;
    const ids = ["busy-awaited-1", ...clients.map((count) => `busy-${count}`)];
    expect(results!.scenarios.filter((entry) => entry.workload === "busy").map((entry) => entry.id)).toEqual(ids);
    for (const id of ids) {
      const entry = scenario(id);
      expect(entry.operations).toBe(id === "busy-awaited-1" ? awaitedWrites : numberCheck(id, "clients") * writes);
      expect(numberCheck(id, "ours writes acknowledged")).toBe(entry.operations);
      expect(numberCheck(id, "ours acknowledged writes read back intact")).toBe(entry.operations);
      expect(numberCheck(id, "raw-s3 writes acknowledged")).toBe(entry.operations);
      // 32 KiB files travel inline in their record: each record one create-only PUT under wal/, and
      // besides those only the head's deferred update (plus, on Ceph RGW, a new writer's first
      // compare-and-swap's 412 and HEAD).
      expect(check(id, "ours put wal = records, every repetition")).toBe(true);
      const records = numberCheck(id, "ours records");
      expect(numberCheck(id, "ours put wal")).toBe(records);
      expect(records).toBeGreaterThanOrEqual(1);
      expect(records).toBeLessThanOrEqual(entry.operations);
      const ours = run(id, "ours");
      expect(ours.requests.get).toBe(0);
      expect([0, 2]).toContain(ours.requests.total - records - numberCheck(id, "ours put heads"));
      expect(ours.metrics.recordsPerWrite).toBe(records / entry.operations);
      expect(ours.metrics.mostRecordsInFlight).toBe(numberCheck(id, "ours most records in flight"));
      for (const key of ["p50Ms", "p90Ms", "p99Ms", "cpuMsPerWrite"]) {
        expect(ours.metrics[key]).toBeGreaterThan(0);
        expect(run(id, "raw-s3").metrics[key]).toBeGreaterThan(0);
      }
      expect(numberCheck(id, "ours p50 / raw PUT p50")).toBeGreaterThan(0);
      // Raw S3: one PUT per write, nothing else.
      expect(run(id, "raw-s3").requests).toMatchObject({ put: entry.operations, total: entry.operations });
    }
    // One client, each write awaited (with or without pauses): a record per write, one in flight at a time.
    for (const id of ["busy-awaited-1", "busy-1"]) {
      expect(numberCheck(id, "ours records")).toBe(scenario(id).operations);
      expect(numberCheck(id, "ours most records in flight")).toBe(1);
    }
    // The most clients, with pauses: a write arrived while a record was in flight and went out at
    // once in its own record, so more than one was in flight at least once; never more than the cap.
    const busiest = `busy-${Math.max(...clients)}`;
    expect(Math.max(...clients)).toBeGreaterThanOrEqual(8);
    expect(numberCheck(busiest, "ours most records in flight")).toBeGreaterThan(1);
    expect(numberCheck(busiest, "ours most records in flight")).toBeLessThanOrEqual(maxRecordsInFlight);
  });
});
