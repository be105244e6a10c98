// Measuring one run: the wall clock, the process's peak RSS, the request counters, with the added
// latency on for exactly the timed part; repetitions alternate between subjects; medians and
// percentiles.

import type { SubjectName, SubjectRun, SubjectResult } from "./results.ts";
import { subtractTotals, type LatencySwitch, type RequestTotals } from "./wire.ts";

export function median(values: readonly number[]): number {
  return percentile(values, 50);
}

/** The nearest-rank percentile (p in 0..100) of `values`; NaN for none. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1]!;
}

/** Samples the process's resident set size while a run is timed. */
export class RssSampler {
  private peak = 0;
  private timer: ReturnType<typeof setInterval> | undefined;

  start(): void {
    this.peak = process.memoryUsage.rss();
    this.timer = setInterval(() => {
      this.peak = Math.max(this.peak, process.memoryUsage.rss());
    }, 10);
  }

  stop(): number {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    return Math.max(this.peak, process.memoryUsage.rss());
  }
}

export interface RunOptions {
  latency: LatencySwitch;
  /** The subject's request counters (our mount's stats, or a baseline's wire tally). */
  counters: () => RequestTotals;
  /** The timed work; it may return extra metrics. */
  body: () => Promise<Record<string, number> | void>;
  /**
   * Untimed, still with latency, before the counters are read: lets deferred work that the timed
   * part caused land (our writer's head update, `headDelayMs` after its last commit).
   */
  settle?: () => Promise<void>;
}

/** One measured run. */
export async function measureRun(options: RunOptions): Promise<SubjectRun> {
  Bun.gc(true);
  const sampler = new RssSampler();
  const before = options.counters();
  sampler.start();
  let milliseconds = 0;
  let metrics: Record<string, number> = {};
  await options.latency.during(async () => {
    const started = performance.now();
    metrics = (await options.body()) ?? {};
    milliseconds = performance.now() - started;
    await options.settle?.();
  });
  const peakRssBytes = sampler.stop();
  return { milliseconds, requests: subtractTotals(options.counters(), before), peakRssBytes, metrics };
}

export interface Contender {
  subject: SubjectName;
  method: string;
  /** One repetition: set up (untimed), then measureRun. */
  run: (repetition: number) => Promise<SubjectRun>;
}

/**
 * Runs every contender `repetitions` times, alternating: repetition r starts with contender
 * r mod n, so no subject always runs first (cold process) or last (warm, fragmented heap).
 */
export async function alternate(contenders: readonly Contender[], repetitions: number, log: (line: string) => void): Promise<SubjectResult[]> {
  const results = contenders.map((contender) => ({ subject: contender.subject, method: contender.method, runs: [] as SubjectRun[] }));
  for (let repetition = 0; repetition < repetitions; repetition++) {
    for (let step = 0; step < contenders.length; step++) {
      const index = (repetition + step) % contenders.length;
      const contender = contenders[index]!;
      const run = await contender.run(repetition);
      results[index]!.runs.push(run);
      log(`    ${contender.subject.padEnd(10)} #${repetition + 1}: ${run.milliseconds.toFixed(1)} ms, ${run.requests.total} requests`);
    }
  }
  return results;
}

/**
 * A contender measured in several phases within one repetition (cold, then warm, on the same
 * mount). A contender with nothing that changes between phases (no cache) returns one run, which
 * serves every phase: measuring it again would time the same work twice.
 */
export interface PhasedContender {
  subject: SubjectName;
  /** One description, or one per phase. */
  method: string | string[];
  run: (repetition: number) => Promise<SubjectRun[]>;
}

/** Like `alternate`, for phased contenders: one list of results per phase. */
export async function alternatePhases(contenders: readonly PhasedContender[], phases: number, repetitions: number, log: (line: string) => void): Promise<SubjectResult[][]> {
  const results = Array.from({ length: phases }, (_, phase) =>
    contenders.map((contender) => ({
      subject: contender.subject,
      method: typeof contender.method === "string" ? contender.method : (contender.method[phase] ?? contender.method[0]!),
      runs: [] as SubjectRun[],
    })),
  );
  for (let repetition = 0; repetition < repetitions; repetition++) {
    for (let step = 0; step < contenders.length; step++) {
      const index = (repetition + step) % contenders.length;
      const contender = contenders[index]!;
      const runs = await contender.run(repetition);
      for (let phase = 0; phase < phases; phase++) results[phase]![index]!.runs.push(runs[Math.min(phase, runs.length - 1)]!);
      log(`    ${contender.subject.padEnd(10)} #${repetition + 1}: ${runs.map((run) => `${run.milliseconds.toFixed(1)} ms, ${run.requests.total} requests`).join(" | ")}`);
    }
  }
  return results;
}

/** Runs `task` over `items` with at most `limit` running at once; results in order. */
export async function mapLimited<T, R>(items: readonly T[], limit: number, task: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await task(items[index]!, index);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return results;
}

/** Times each call of `task` (in ms). */
export async function timeEach<T>(items: readonly T[], task: (item: T) => Promise<unknown>): Promise<number[]> {
  const times: number[] = [];
  for (const item of items) {
    const started = performance.now();
    await task(item);
    times.push(performance.now() - started);
  }
  return times;
}
