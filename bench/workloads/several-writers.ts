// Workload "writers": several writer processes on one workspace (`exclusive: false`,
// docs/design.md "Several writers"), each a real OS process (bench/writers-worker.ts), started
// together (each sets up, says it is ready, and waits for a line on stdin that the parent sends to
// all at once), with the run's round trip added before every request. Beside them, the same
// number of processes putting one object per file with raw @aws-sdk/client-s3.
//
// - Agent-like: `agentProcesses` processes, each writing a small file every `intervalMs` from a
//   seeded phase of its own: is a commit's latency close to a raw PUT's while others commit too?
//   Again every `calmIntervalMs` (`calmWrites` each): a pace far below the one log's bound (see
//   the saturated runs), where a write does not queue behind the others but lags their records
//   unless it caught up while idle (what a shared writer does by default while others are at
//   work); and that pace once more with ours given `refreshIntervalMs: 0`, which turns that off.
// - Saturation, for each process count: awaited single writes one after another, and rounds of
//   `batch` writes issued at once (ours group-commits a round), each round awaited. Records per
//   second, writes per second, latency percentiles, slots lost to other writers per record, and
//   how close the records per second come to the bound of one ordered log (about one record per
//   round trip for the whole workspace, however many writers).
//
// Each process makes one untimed write before it says it is ready (a new process's first request
// loads the code). Each measures its own writes and reports them as JSON; a run's time is from the first
// write issued to the last acknowledged, over all processes (one clock: one machine). After each
// of our runs, untimed and without latency, a fresh read-only mount checks that every
// acknowledged write is there with its bytes, that no other file appeared, and that the log holds
// exactly the records the writers counted.

import { join } from "node:path";
import { seededRandom } from "../../src/stores/random.ts";
import { listAll } from "../../src/stores/object-store.ts";
import { decodeRecord } from "../../src/log/record.ts";
import { seqOfWalKey } from "../../src/log/keys.ts";
import { eachLine } from "../../test/support/lines.ts";
import type { BenchContext } from "../context.ts";
import { alternate, percentile, type Contender } from "../measure.ts";
import type { ScenarioResult, SubjectRun } from "../results.ts";
import { summarizeScenario } from "../summary.ts";
import { zeroTotals, type RequestTotals } from "../wire.ts";
import { fileBody, warmupPath, type WriterJob, type WriterMode, type WriterResult } from "../writers-worker.ts";

const workerScript = join(import.meta.dir, "..", "writers-worker.ts");

/** Starts one process per job, lets them all go at once, and returns what each reported. */
export async function runProcesses(jobs: WriterJob[]): Promise<WriterResult[]> {
  const children = jobs.map((job) => {
    const child = Bun.spawn([process.execPath, workerScript, JSON.stringify(job)], { stdin: "pipe", stdout: "pipe", stderr: "pipe", env: process.env });
    const messages: Record<string, unknown>[] = [];
    let notify = () => {};
    const stdout = eachLine(child.stdout, (line) => {
      try {
        messages.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        // not a report
      }
      notify();
    });
    const stderr = new Response(child.stderr).text();
    const ended = Promise.all([child.exited, stdout]);
    /** The first message with `key`; a process that exits without it fails the run with its stderr. */
    const next = (key: string): Promise<unknown> =>
      new Promise((resolve, reject) => {
        const check = () => {
          const found = messages.find((message) => key in message);
          if (found !== undefined) resolve(found[key]);
        };
        notify = check;
        check();
        void ended.then(async ([code]) => {
          if (!messages.some((message) => key in message)) reject(new Error(`writers: process ${job.subject} #${job.index} exited (${code}) without "${key}": ${(await stderr).slice(-3000)}`));
        });
      });
    return { child, next, stderr };
  });
  try {
    await Promise.all(children.map((child) => child.next("ready")));
    for (const { child } of children) {
      child.stdin.write("go\n");
      void child.stdin.flush();
    }
    const results = (await Promise.all(children.map((child) => child.next("done")))) as WriterResult[];
    for (const [index, { child, stderr }] of children.entries()) {
      const code = await child.exited;
      if (code !== 0) throw new Error(`writers: process #${index} exited with ${code}: ${(await stderr).slice(-3000)}`);
    }
    return results;
  } finally {
    for (const { child } of children) if (child.exitCode === null) child.kill();
  }
}

function sumTotals(all: RequestTotals[]): RequestTotals {
  const sum = zeroTotals();
  for (const totals of all) for (const key of Object.keys(sum) as (keyof RequestTotals)[]) sum[key] += totals[key];
  return sum;
}

/** A run's figures from its processes' reports: ours counts records, raw S3 its PUTs. */
function subjectRun(results: WriterResult[], subject: "ours" | "raw-s3", roundTripMs: number): SubjectRun {
  const startedAt = Math.min(...results.map((result) => result.startedAt));
  const endedAt = Math.max(...results.map((result) => result.endedAt));
  const milliseconds = endedAt - startedAt;
  const requests = sumTotals(results.map((result) => result.requests));
  const latencies = results.flatMap((result) => result.latencies);
  const writes = latencies.length;
  const records = subject === "ours" ? results.reduce((sum, result) => sum + result.commits, 0) : requests.put;
  const lostSlots = results.reduce((sum, result) => sum + result.lostSlots, 0);
  const recordsPerSecond = records / (milliseconds / 1000);
  const metrics: Record<string, number> = {
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    recordsPerSecond,
    writesPerSecond: writes / (milliseconds / 1000),
    cpuMsPerWrite: results.reduce((sum, result) => sum + result.cpuMs, 0) / writes,
  };
  if (subject === "ours") {
    metrics.lostSlotsPerRecord = lostSlots / records;
    metrics.getsPerRecord = requests.get / records;
    const lostPerWrite = results.flatMap((result) => result.lostPerWrite);
    if (lostPerWrite.length > 0) metrics.mostLostByOneWrite = Math.max(...lostPerWrite);
    metrics.percentOfBound = roundTripMs > 0 ? (100 * recordsPerSecond) / (1000 / roundTripMs) : Number.NaN;
  }
  return { milliseconds, requests, peakRssBytes: Math.max(...results.map((result) => result.peakRssBytes)), metrics };
}

interface Shape {
  id: string;
  title: string;
  mode: WriterMode;
  processes: number;
  /** Writes (paced, single) or rounds (batch) per process. */
  count: number;
  /** Paced: time between the starts of two writes of a process. */
  intervalMs?: number;
  /** Ours: the writers' `refreshIntervalMs` (unset: they catch up while idle as others write; 0: never). */
  refreshIntervalMs?: number;
}

export async function severalWriters(context: BenchContext): Promise<ScenarioResult[]> {
  const { processes, writes, rounds, batch, agentProcesses, agentWrites, intervalMs, calmIntervalMs, calmWrites, fileBytes } = context.settings.sizes.writers;
  const agents = (pace: number, count: number, id: string, refreshIntervalMs?: number): Shape => ({
    id,
    title: `Several writers, agent-like: ${agentProcesses} processes each writing a ${fileBytes / 1024} KiB file every ${pace} ms (${count} each)${refreshIntervalMs === 0 ? ", ours with refreshIntervalMs 0 (no catch-up while idle)" : ""}, commit latency against a raw PUT's`,
    mode: "paced",
    processes: agentProcesses,
    count,
    intervalMs: pace,
    ...(refreshIntervalMs === undefined ? {} : { refreshIntervalMs }),
  });
  const shapes: Shape[] = [
    agents(intervalMs, agentWrites, `writers-agents-${agentProcesses}`),
    agents(calmIntervalMs, calmWrites, `writers-agents-${agentProcesses}-calm`),
    agents(calmIntervalMs, calmWrites, `writers-agents-${agentProcesses}-calm-no-catch-up`, 0),
    ...processes.map((count) => ({
      id: `writers-single-${count}`,
      title: `Several writers, saturated: ${count === 1 ? "1 process" : `${count} processes, each`} awaiting ${writes} writes of ${fileBytes / 1024} KiB one after another`,
      mode: "single" as const,
      processes: count,
      count: writes,
    })),
    ...processes.map((count) => ({
      id: `writers-batch-${count}`,
      title: `Several writers, saturated with batches: ${count === 1 ? "1 process" : `${count} processes, each`} awaiting ${rounds} rounds of ${batch} concurrent writes of ${fileBytes / 1024} KiB`,
      mode: "batch" as const,
      processes: count,
      count: rounds,
    })),
  ];
  const results: ScenarioResult[] = [];
  for (const shape of shapes) results.push(await writersScenario(context, shape));
  return results;
}

async function writersScenario(context: BenchContext, shape: Shape): Promise<ScenarioResult> {
  const { batch, fileBytes } = context.settings.sizes.writers;
  const intervalMs = shape.intervalMs ?? context.settings.sizes.writers.intervalMs;
  const { roundTripMs, seed, repetitions } = context.settings;
  const writesPerProcess = shape.mode === "batch" ? shape.count * batch : shape.count;
  const operations = shape.processes * writesPerProcess;
  const checks: Record<string, number | boolean | string> = { processes: shape.processes, "acknowledged writes missing or wrong afterwards": 0, "records in the log not counted by a writer": 0 };
  const jobs = (subject: "ours" | "raw-s3", prefix: string, repetition: number): WriterJob[] => {
    const random = seededRandom(seed + 1000 * repetition + shape.processes);
    return Array.from({ length: shape.processes }, (_, index) => ({
      subject,
      mode: shape.mode,
      server: context.server,
      bucket: context.bucket,
      prefix,
      index,
      count: shape.count,
      batch,
      intervalMs,
      phaseMs: shape.mode === "paced" ? random() * intervalMs : 0,
      ...(subject === "ours" && shape.refreshIntervalMs !== undefined ? { refreshIntervalMs: shape.refreshIntervalMs } : {}),
      roundTripMs,
      fileBytes,
    }));
  };
  context.log(`  writers: ${shape.id} (${operations} writes by ${shape.processes} processes)`);
  const contenders: Contender[] = [
    {
      subject: "ours",
      method: `${shape.processes} shared writer process${shape.processes === 1 ? "" : "es"} (exclusive: false${shape.refreshIntervalMs === undefined ? "" : `, refreshIntervalMs: ${shape.refreshIntervalMs}`}), fs.writeFile${shape.mode === "batch" ? ` × ${batch} at once (one commit can carry several)` : ""}; the head is moved at close, after the run`,
      run: async (repetition) => {
        // The workspace and one directory per process, made untimed by a mount that then closes.
        const prefix = context.prefix(`${shape.id}-ours`);
        const creator = await context.ours.mount(prefix, { config: { exclusive: false } });
        for (let index = 0; index < shape.processes; index++) await creator.fs.mkdir(`/w${index}`);
        const startSeq = creator.fs.stats().seq;
        await creator.close();
        const reports = await runProcesses(jobs("ours", prefix, repetition));
        const run = subjectRun(reports, "ours", roundTripMs);
        await verify(context, prefix, startSeq, reports, fileBytes, checks);
        const records = reports.reduce((sum, report) => sum + report.commits, 0);
        const lostSlots = reports.reduce((sum, report) => sum + report.lostSlots, 0);
        checks["ours records"] = records;
        checks["ours lost slots"] = lostSlots;
        // Every record is one PUT that won its slot, every lost slot one more PUT.
        checks["ours PUTs = records + lost slots"] = (checks["ours PUTs = records + lost slots"] ?? true) === true && run.requests.put === records + lostSlots;
        return run;
      },
    },
    {
      subject: "raw-s3",
      method: `${shape.processes === 1 ? "1 process with an S3Client" : `${shape.processes} processes with an S3Client each`}, PutObject of a distinct key per write${shape.mode === "batch" ? `, ${batch} at once` : ""}`,
      run: async (repetition) => subjectRun(await runProcesses(jobs("raw-s3", context.prefix(`${shape.id}-raw`), repetition)), "raw-s3", roundTripMs),
    },
  ];
  const subjects = await alternate(contenders, repetitions, context.log);
  const scenario: ScenarioResult = {
    workload: "writers",
    id: shape.id,
    title: shape.title,
    operations,
    operationUnit: "write",
    metricColumns: [
      ["p50Ms", "write p50 ms"],
      ["p99Ms", "write p99 ms"],
      ["recordsPerSecond", "records/s (raw: PUTs/s)"],
      ["writesPerSecond", "writes/s"],
      ["lostSlotsPerRecord", "lost slots per record"],
      ["getsPerRecord", "GETs per record"],
      ["mostLostByOneWrite", "most slots one write lost"],
      ["cpuMsPerWrite", "CPU ms per write (all processes)"],
      ["percentOfBound", `% of bound (${roundTripMs > 0 ? `${formatRate(1000 / roundTripMs)} records/s` : "none"})`],
    ],
    subjects,
    checks,
  };
  if (shape.mode === "paced") {
    // Compared by latency: the run's length is set by the pace, not by how fast writes are.
    scenario.timed = false;
    scenario.comparedLabel = "ms p50";
    const [ours, raw] = ["ours", "raw-s3"].map((subject) => summarizeScenario(scenario).find((summary) => summary.subject === subject)!);
    const p50 = ours!.metrics.p50Ms! / raw!.metrics.p50Ms!;
    const p99 = ours!.metrics.p99Ms! / raw!.metrics.p99Ms!;
    checks["ours p50 / raw PUT p50"] = p50;
    checks["ours p99 / raw PUT p99"] = p99;
    scenario.notes = [
      `Against raw PUTs by as many processes at the same pace, in this run: ours p50 ${p50.toFixed(2)}x a raw PUT's (target at most 1.5x), p99 ${p99.toFixed(2)}x (target at most 3x). Medians over the repetitions of each run's percentiles.`,
      `The pace asks for ${formatRate((shape.processes * 1000) / intervalMs)} writes/s in all, each run ${shape.count * intervalMs} ms long if every write keeps it; a write that comes due while the one before it is still in flight starts as soon as that one is acknowledged, so a longer run (and fewer writes/s) means the writers fell behind the pace.`,
    ];
  } else {
    scenario.notes = [
      `The bound: the workspace's one ordered log takes one record per slot, and a writer learns whether it won a slot only after the PUT's round trip, so the whole workspace publishes at most about one record per round trip however many writers it has (${roundTripMs} ms added here, plus the server's own time: at most ${formatRate(1000 / Math.max(roundTripMs, 1))} records/s). Operations per second can be higher: one record carries every write queued while the one before it was in flight. A lost slot costs the writer its PUT again, plus GETs of the winner's record; every writer also reads every other writer's records.`,
    ];
  }
  return scenario;
}

function formatRate(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(1);
}

/**
 * Untimed, no latency: a fresh read-only mount holds every acknowledged write with its bytes, no
 * other file, and exactly the records the writers counted.
 */
async function verify(context: BenchContext, prefix: string, startSeq: number, reports: WriterResult[], fileBytes: number, checks: Record<string, number | boolean | string>): Promise<void> {
  const fresh = await context.ours.mount(prefix, { config: { mode: "readonly" } });
  try {
    // A read-only mount applies a bounded number of records past the head: refresh until nothing is new.
    while ((await fresh.fs.refresh()).changed);
    const records = reports.reduce((sum, report) => sum + report.setupCommits + report.commits, 0);
    // The records in the store after the setup's, in the main log and in lanes (docs/s3-layout.md
    // LN1-LN9): each holds writers' operations, but for lanes' close markers and the record a
    // writer closing its mount publishes to close its lane (after its figures were taken).
    const store = context.ours.storeFor(prefix).factory();
    let inLog = 0;
    for (const logPrefix of ["wal/", "lanes/"]) {
      for await (const object of listAll(store, { prefix: logPrefix })) {
        if (logPrefix === "wal/" && (seqOfWalKey(object.key) ?? 0) <= startSeq) continue;
        const { header } = decodeRecord(object.key, (await store.get(object.key)).body);
        if (header.ops.some((op) => op.op !== "laneClose" && op.op !== "laneEnd")) inLog++;
      }
    }
    checks["records in the log not counted by a writer"] = Number(checks["records in the log not counted by a writer"]) + Math.abs(inLog - records);
    let bad = 0;
    const acknowledged = new Set<string>();
    for (const report of reports) {
      for (const path of [warmupPath(report.index), ...report.written]) {
        acknowledged.add(path);
        const text = await fresh.fs.readText(path).catch(() => undefined);
        if (text !== fileBody(path, fileBytes)) bad++;
      }
    }
    const files = fresh.fs.allPaths().filter((path) => /^\/w\d+\/./.test(path));
    const unexpected = files.filter((path) => !acknowledged.has(path)).length;
    checks["acknowledged writes missing or wrong afterwards"] = Number(checks["acknowledged writes missing or wrong afterwards"]) + bad;
    checks["files nobody acknowledged"] = Number(checks["files nobody acknowledged"] ?? 0) + unexpected;
    checks["acknowledged writes"] = acknowledged.size - reports.length;
  } finally {
    await fresh.close();
  }
}
