// One writer process of the "writers" workload (bench/workloads/several-writers.ts): a shared
// writer of s3-bun-cached-fs (`exclusive: false`) or a raw @aws-sdk/client-s3 client putting one
// object per file, with the benchmark's added round trip before every request.
//
// The process sets up untimed and without latency (our mount, or the S3 client, and one write of
// /w<index>/warmup, so that loading the code is not timed), prints
// `{ "ready": true }`, and waits for a line on stdin: the parent sends it to every process at once,
// so they all start together. Then, with the latency on, it writes small files of its own:
//
//   paced   one awaited write every `intervalMs`, from a phase of its own (an agent saving work;
//           a write that comes due while the one before it is in flight starts when that one ends);
//   single  awaited writes one after another, as fast as they are acknowledged;
//   batch   rounds of `batch` writes issued at once (ours group-commits them), each round awaited.
//
// It prints `{ "done": WriterResult }` (its latencies, wall-clock start and end, requests and, for
// ours, commits and lost slots), then closes its mount, untimed, and exits.
//
// argv[2] is a WriterJob as JSON.

import type { S3ServerSettings } from "../test/support/s3-server.ts";
import { RssSampler } from "./measure.ts";
import { OurFilesystem, type OurMount } from "./subjects/our-filesystem.ts";
import { RawS3Files } from "./subjects/raw-s3.ts";
import { benchClient, LatencySwitch, sleep, subtractTotals, WireTally, type RequestTotals } from "./wire.ts";

export type WriterMode = "paced" | "single" | "batch";

export interface WriterJob {
  subject: "ours" | "raw-s3";
  mode: WriterMode;
  server: S3ServerSettings;
  bucket: string;
  /** Our workspace's prefix, or the raw baseline's key prefix. */
  prefix: string;
  /** This process's number: it writes under /w<index>/. */
  index: number;
  /** Writes (paced, single) or rounds (batch). */
  count: number;
  /** Writes per round (batch). */
  batch: number;
  /** Paced: time between the starts of two writes, and this process's offset into the first period. */
  intervalMs: number;
  phaseMs: number;
  roundTripMs: number;
  fileBytes: number;
  /** Ours: the mount's `refreshIntervalMs` (unset: a shared writer catches up while idle as the others write; 0: never). */
  refreshIntervalMs?: number;
}

export interface WriterResult {
  index: number;
  /** Wall clock (ms since the epoch, fractional) when the first write was issued and the last acknowledged. */
  startedAt: number;
  endedAt: number;
  /** Each write's time from its call to its acknowledgement, in ms. */
  latencies: number[];
  /** Ours, paced and single (one write in flight at a time): the slots each write lost before it won one. */
  lostPerWrite: number[];
  /** CPU time (user and system) this process used during the timed part, in ms. */
  cpuMs: number;
  /** Paths acknowledged, in order (their contents follow from the path: `fileBody`). */
  written: string[];
  /** HTTP requests of the timed part. */
  requests: RequestTotals;
  /** Ours: records published, and slots lost to other writers (each cost a PUT), during the timed part. */
  commits: number;
  lostSlots: number;
  /** Ours: records published before the timed part (the warm-up write), and the log position reached when done. */
  setupCommits: number;
  seq: number;
  peakRssBytes: number;
}

/** The path of a process's `write`-th file (in round `round` for batches). */
export function filePath(index: number, write: number, round?: number): string {
  return round === undefined ? `/w${index}/f${write}` : `/w${index}/r${round}-${write}`;
}

/** The file a process writes, untimed, before it says it is ready. */
export function warmupPath(index: number): string {
  return `/w${index}/warmup`;
}

/** What the file at `path` holds: its path, padded to `bytes`, so a check can tell each file's. */
export function fileBody(path: string, bytes: number): string {
  return `${path}\n`.padEnd(bytes - 1, ".") + "\n";
}

const now = () => performance.timeOrigin + performance.now();

async function main(): Promise<void> {
  const job = JSON.parse(process.argv[2]!) as WriterJob;
  const latency = new LatencySwitch(job.roundTripMs);
  const tally = new WireTally();
  let ours: OurFilesystem | undefined;
  let mount: OurMount | undefined;
  let write: (path: string, body: string) => Promise<unknown>;
  let counters: () => RequestTotals;
  if (job.subject === "ours") {
    ours = new OurFilesystem(job.server, job.bucket, latency, {});
    // The head is moved at close, after the run: each write's cost is its commit alone.
    mount = await ours.mount(job.prefix, { config: { name: `writer-${job.index}`, exclusive: false, headDelayMs: 600_000, ...(job.refreshIntervalMs === undefined ? {} : { refreshIntervalMs: job.refreshIntervalMs }) } });
    const fs = mount.fs;
    write = (path, body) => fs.writeFile(path, body);
    counters = mount.counters;
  } else {
    const client = benchClient(job.server, { tally, latency });
    const raw = new RawS3Files(client, job.bucket, job.prefix);
    const encoder = new TextEncoder();
    write = (path, body) => raw.write(path, encoder.encode(body));
    counters = () => tally.snapshot();
  }
  const commitStats = () => mount?.fs.stats().commits;
  // One untimed write first, without latency: a new process's first request loads and compiles
  // the SDK's and the committer's code, which is the process starting, not a write's cost.
  await write(warmupPath(job.index), fileBody(warmupPath(job.index), job.fileBytes));

  const stdin = Bun.stdin.stream().getReader();
  console.log(JSON.stringify({ ready: true }));
  await stdin.read();

  const latencies: number[] = [];
  const lostPerWrite: number[] = [];
  const written: string[] = [];
  const timed = async (path: string) => {
    const lostBefore = commitStats()?.lostSlots ?? 0;
    const started = performance.now();
    await write(path, fileBody(path, job.fileBytes));
    latencies.push(performance.now() - started);
    if (mount !== undefined && job.mode !== "batch") lostPerWrite.push((commitStats()?.lostSlots ?? 0) - lostBefore);
    written.push(path);
  };
  const before = counters();
  const commitsBefore = commitStats();
  const sampler = new RssSampler();
  sampler.start();
  const cpuBefore = process.cpuUsage();
  let startedAt = 0;
  let endedAt = 0;
  await latency.during(async () => {
    startedAt = now();
    if (job.mode === "paced") {
      for (let write = 0; write < job.count; write++) {
        const due = startedAt + job.phaseMs + write * job.intervalMs;
        if (due > now()) await sleep(due - now());
        await timed(filePath(job.index, write));
      }
    } else if (job.mode === "single") {
      for (let write = 0; write < job.count; write++) await timed(filePath(job.index, write));
    } else {
      for (let round = 0; round < job.count; round++) {
        await Promise.all(Array.from({ length: job.batch }, (_, write) => timed(filePath(job.index, write, round))));
      }
    }
    endedAt = now();
  });
  const cpu = process.cpuUsage(cpuBefore);
  const peakRssBytes = sampler.stop();
  const after = commitStats();
  const result: WriterResult = {
    index: job.index,
    startedAt,
    endedAt,
    latencies,
    lostPerWrite,
    cpuMs: (cpu.user + cpu.system) / 1000,
    written,
    requests: subtractTotals(counters(), before),
    commits: (after?.commits ?? 0) - (commitsBefore?.commits ?? 0),
    lostSlots: (after?.lostSlots ?? 0) - (commitsBefore?.lostSlots ?? 0),
    setupCommits: commitsBefore?.commits ?? 0,
    seq: mount?.fs.stats().seq ?? 0,
    peakRssBytes,
  };
  console.log(JSON.stringify({ done: result }));
  await mount?.close();
  ours?.cleanup();
}

if (import.meta.main) {
  await main().catch((error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : error);
    process.exit(1);
  });
  process.exit(0);
}
