// From repetitions to the figures a reader compares: per subject, the median wall time, time and
// requests per operation, bytes per operation, peak RSS, request cost, scenario metrics; and the
// ratio of each baseline to ours.

import { median } from "./measure.ts";
import { dollarsPerMillionOperations, priceLists } from "./pricing.ts";
import type { ScenarioResult, SubjectName, SubjectResult } from "./results.ts";
import { requestKinds, type RequestKind } from "./wire.ts";

export interface SubjectSummary {
  subject: SubjectName;
  method: string;
  repetitions: number;
  medianMs: number;
  msPerOperation: number;
  requestsPerOperation: number;
  requestsPerOperationByKind: Record<RequestKind, number>;
  bytesInPerOperation: number;
  bytesOutPerOperation: number;
  peakRssBytes: number;
  awsDollarsPerMillion: number;
  r2DollarsPerMillion: number;
  /** Medians of the scenario's metrics over the repetitions. */
  metrics: Record<string, number>;
}

export function summarizeSubject(scenario: ScenarioResult, result: SubjectResult): SubjectSummary {
  const operations = scenario.operations;
  const runs = result.runs;
  const perOperation = (values: number[]) => median(values) / operations;
  const byKind = Object.fromEntries(requestKinds.map((kind) => [kind, perOperation(runs.map((run) => run.requests[kind]))])) as Record<RequestKind, number>;
  const metricNames = new Set(runs.flatMap((run) => Object.keys(run.metrics)));
  return {
    subject: result.subject,
    method: result.method,
    repetitions: runs.length,
    medianMs: median(runs.map((run) => run.milliseconds)),
    msPerOperation: perOperation(runs.map((run) => run.milliseconds)),
    requestsPerOperation: perOperation(runs.map((run) => run.requests.total)),
    requestsPerOperationByKind: byKind,
    bytesInPerOperation: perOperation(runs.map((run) => run.requests.bytesIn)),
    bytesOutPerOperation: perOperation(runs.map((run) => run.requests.bytesOut)),
    peakRssBytes: Math.max(...runs.map((run) => run.peakRssBytes)),
    awsDollarsPerMillion: dollarsPerMillionOperations(byKind, priceLists.aws),
    r2DollarsPerMillion: dollarsPerMillionOperations(byKind, priceLists.r2),
    metrics: Object.fromEntries([...metricNames].map((name) => [name, median(runs.map((run) => run.metrics[name] ?? Number.NaN).filter((value) => !Number.isNaN(value)))])),
  };
}

export function summarizeScenario(scenario: ScenarioResult): SubjectSummary[] {
  return scenario.subjects.map((subject) => summarizeSubject(scenario, subject));
}

/** The figure compared between subjects: wall time, or the scenario's first metric when it is not timed. */
export function comparedValue(scenario: ScenarioResult, summary: SubjectSummary): number {
  if (scenario.timed === false) return summary.metrics[scenario.metricColumns?.[0]?.[0] ?? ""] ?? Number.NaN;
  return summary.medianMs;
}

/** baseline / ours for the compared figure (above 1: ours is faster). */
export function ratioToOurs(scenario: ScenarioResult, summaries: SubjectSummary[], subject: SubjectName): number | undefined {
  const ours = summaries.find((summary) => summary.subject === "ours");
  const other = summaries.find((summary) => summary.subject === subject);
  if (ours === undefined || other === undefined || subject === "ours") return undefined;
  return comparedValue(scenario, other) / comparedValue(scenario, ours);
}

/** "12× faster", "1.3× slower", "same" (for ours against a baseline). */
export function describeRatio(ratio: number | undefined): string {
  if (ratio === undefined || !Number.isFinite(ratio) || ratio <= 0) return "n/a";
  if (ratio >= 0.95 && ratio <= 1.05) return "about the same";
  return ratio > 1 ? `${formatRatio(ratio)} faster` : `${formatRatio(1 / ratio)} slower`;
}

export function formatRatio(ratio: number): string {
  if (ratio >= 100) return `${Math.round(ratio).toLocaleString("en-US")}×`;
  if (ratio >= 10) return `${ratio.toFixed(0)}×`;
  return `${ratio.toFixed(1)}×`;
}
