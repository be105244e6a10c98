// The benchmark suite: runs the chosen workloads in order on one bucket and collects their
// results. Used by `npm run bench` (bench/run.ts) and, at smoke size, by test/bench-smoke.test.ts.

import { loadavg } from "node:os";
import type { S3ServerSettings } from "../test/support/s3-server.ts";
import { BenchContext } from "./context.ts";
import { describeMachine } from "./machine.ts";
import type { ScenarioResult, SuiteResults } from "./results.ts";
import { createBenchBucket } from "./s3-server.ts";
import type { BenchSettings, WorkloadName } from "./settings.ts";
import { smallFileInsert } from "./workloads/small-file-insert.ts";
import { mixedReadWrite } from "./workloads/mixed.ts";
import { metadataOperations } from "./workloads/metadata.ts";
import { fileReads } from "./workloads/reads.ts";
import { lifecycle } from "./workloads/lifecycle.ts";
import { agentWorkloads } from "./workloads/agents.ts";
import { localSpeed } from "./workloads/local-speed.ts";
import { transactionCost } from "./workloads/transaction-cost.ts";
import { severalWriters } from "./workloads/several-writers.ts";
import { busyWriter } from "./workloads/busy-writer.ts";

const workloads: Record<WorkloadName, (context: BenchContext) => Promise<ScenarioResult[]>> = {
  insert: smallFileInsert,
  mixed: mixedReadWrite,
  metadata: metadataOperations,
  reads: fileReads,
  lifecycle,
  agents: agentWorkloads,
  local: localSpeed,
  transaction: transactionCost,
  writers: severalWriters,
  busy: busyWriter,
};

export async function runSuite(settings: BenchSettings, server: S3ServerSettings, log: (line: string) => void = console.error): Promise<SuiteResults> {
  const started = performance.now();
  const loadAtStart = loadavg();
  const bucket = await createBenchBucket(server, `bench-${settings.profile}`);
  log(`bench: profile ${settings.profile}, round trip ${settings.roundTripMs} ms, ${settings.repetitions} repetitions, bucket ${bucket}`);
  const context = new BenchContext(settings, server, bucket, log);
  const scenarios: ScenarioResult[] = [];
  let ourRequestAccounting = { storeCalls: 0, httpRequests: 0 };
  try {
    for (const name of settings.only) {
      const workloadStarted = performance.now();
      log(`bench: workload ${name}`);
      scenarios.push(...(await workloads[name](context)));
      log(`bench: workload ${name} done in ${((performance.now() - workloadStarted) / 1000).toFixed(1)} s`);
    }
    ourRequestAccounting = context.ours.requestAccounting();
  } finally {
    context.cleanup();
  }
  return {
    profile: settings.profile,
    roundTripMs: settings.roundTripMs,
    repetitions: settings.repetitions,
    headDelayMs: settings.headDelayMs,
    seed: settings.seed,
    sizes: settings.sizes,
    machine: describeMachine(),
    durationSeconds: (performance.now() - started) / 1000,
    loadAverage: { start: loadAtStart, end: loadavg() },
    ourRequestAccounting,
    scenarios,
  };
}
