// The shape of benchmark results: what a run records (bench/workloads/*), what is written as raw
// JSON (docs/performance-results.json), and what the report and charts read.

import type { Profile, Sizes, WorkloadName } from "./settings.ts";
import type { RequestTotals } from "./wire.ts";

/** Who is measured. `ours` is the filesystem of this package; the rest are baselines. */
export type SubjectName = "ours" | "raw-s3" | "mastra-s3" | "local-disk" | "in-memory";

export const subjectLabels: Record<SubjectName, string> = {
  ours: "s3-bun-cached-fs",
  "raw-s3": "raw @aws-sdk/client-s3",
  "mastra-s3": "@mastra/s3 S3Filesystem",
  "local-disk": "local disk (node:fs)",
  "in-memory": "just-bash InMemoryFs",
};

/** One repetition of one subject in one scenario. */
export interface SubjectRun {
  /** Wall time of the timed part, in ms. */
  milliseconds: number;
  /** Remote requests and bytes during the timed part (plus, for our writer, the deferred head update it caused). */
  requests: RequestTotals;
  /** Highest resident set size of the benchmark process seen during the timed part. */
  peakRssBytes: number;
  /** Scenario-specific figures: latency percentiles, throughput, lag... */
  metrics: Record<string, number>;
}

export interface SubjectResult {
  subject: SubjectName;
  /** How this subject does the scenario ("PutObject per file, 32 in parallel"). */
  method: string;
  runs: SubjectRun[];
}

export interface ScenarioResult {
  workload: WorkloadName;
  /** Stable id, e.g. "insert-transactions". */
  id: string;
  title: string;
  /** Operations in one run (files written, reads, calls...), and what one is. */
  operations: number;
  operationUnit: string;
  /** Scenario-specific metrics worth a column: key and label, e.g. ["p99Ms", "p99 ms"]. */
  metricColumns?: [string, string][];
  /** Whether wall time is the figure to compare (false for scenarios reported by a metric). */
  timed?: boolean;
  /** For a scenario not timed: what the summary table writes after its figure ("ms lag" unless given). */
  comparedLabel?: string;
  notes?: string[];
  subjects: SubjectResult[];
  /** Facts the smoke test asserts (request counts by purpose, outputs that must agree). */
  checks: Record<string, number | boolean | string>;
}

export interface MachineInfo {
  date: string;
  os: string;
  kernel: string;
  cpu: string;
  cores: number;
  memoryBytes: number;
  bun: string;
  packages: Record<string, string>;
  s3Server: string;
  /** The commit measured, and the source directories with uncommitted changes, if any. */
  revision: string;
}

export interface SuiteResults {
  profile: Profile;
  roundTripMs: number;
  repetitions: number;
  headDelayMs: number;
  seed: number;
  sizes: Sizes;
  machine: MachineInfo;
  /** Total wall time of the run, in seconds. */
  durationSeconds: number;
  /** The machine's 1, 5 and 15-minute load averages when the run started and ended (other work on it shows here). */
  loadAverage: { start: number[]; end: number[] };
  /** Our store calls against our HTTP requests over the whole run (the latency is added per store call). */
  ourRequestAccounting: { storeCalls: number; httpRequests: number };
  scenarios: ScenarioResult[];
  /**
   * Workloads measured in runs of their own (`--only=... --merge`) whose scenarios replaced that
   * workload's in these results; everything else above is the main run's.
   */
  separateRuns?: SeparateRun[];
}

/** A run of some workloads merged into earlier results: when, where and how it was measured. */
export interface SeparateRun {
  workloads: WorkloadName[];
  profile: Profile;
  roundTripMs: number;
  repetitions: number;
  seed: number;
  /** The sizes of the workloads run. */
  sizes: Partial<Sizes>;
  machine: MachineInfo;
  durationSeconds: number;
  loadAverage: { start: number[]; end: number[] };
}

/**
 * `fresh` (a run of some workloads) merged into `previous`: the workloads run replace theirs, in
 * the order of `order`, and are recorded as a separate run; the rest of `previous` is kept.
 */
export function mergeResults(previous: SuiteResults, fresh: SuiteResults, order: readonly WorkloadName[]): SuiteResults {
  const run = new Set(fresh.scenarios.map((scenario) => scenario.workload));
  const scenarios = [...previous.scenarios.filter((scenario) => !run.has(scenario.workload)), ...fresh.scenarios];
  const rank = (workload: WorkloadName) => (order.indexOf(workload) === -1 ? order.length : order.indexOf(workload));
  // A stable sort: scenarios keep their order within a workload.
  scenarios.sort((a, b) => rank(a.workload) - rank(b.workload));
  const separate: SeparateRun = {
    workloads: [...run],
    profile: fresh.profile,
    roundTripMs: fresh.roundTripMs,
    repetitions: fresh.repetitions,
    seed: fresh.seed,
    sizes: Object.fromEntries([...run].filter((workload) => workload in fresh.sizes).map((workload) => [workload, fresh.sizes[workload as keyof Sizes]])) as Partial<Sizes>,
    machine: fresh.machine,
    durationSeconds: fresh.durationSeconds,
    loadAverage: fresh.loadAverage,
  };
  const earlier = (previous.separateRuns ?? []).map((entry) => ({ ...entry, workloads: entry.workloads.filter((workload) => !run.has(workload)) })).filter((entry) => entry.workloads.length > 0);
  return { ...previous, scenarios, separateRuns: [...earlier, separate] };
}
