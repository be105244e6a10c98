// docs/performance.md from a run's results: the summary, the machine and settings, the method,
// and for every scenario a table and a chart. Everything in the generated parts comes from the
// results JSON; the block between the `notes` markers is written by hand and kept across runs.

import { priceLists } from "./pricing.ts";
import type { ScenarioResult, SeparateRun, SubjectName, SuiteResults } from "./results.ts";
import { subjectLabels } from "./results.ts";
import { formatNumber } from "./charts.ts";
import { describeRatio, ratioToOurs, summarizeScenario, type SubjectSummary } from "./summary.ts";

const notesStart = "<!-- notes:start -->";
const notesEnd = "<!-- notes:end -->";

const workloadTitles: Record<string, string> = {
  insert: "Small-file insert",
  mixed: "Mixed reads and writes",
  metadata: "Metadata",
  reads: "Reads and large files",
  lifecycle: "Lifecycle: mount, refresh, reader lag",
  agents: "Agents: just-bash and Mastra tools",
  local: "Local speed: warm reads, misses and many small writes, beside InMemoryFs",
  transaction: "Transaction: one large transaction's local cost, beside node:fs",
  writers: "Several writers: processes sharing one workspace",
  busy: "Busy writer: many clients of one mount, write latency against a raw PUT",
};

export function formatMilliseconds(ms: number): string {
  if (!Number.isFinite(ms)) return "n/a";
  if (ms >= 10_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms >= 1000) return `${(ms / 1000).toFixed(2)} s`;
  return `${formatNumber(ms)} ms`;
}

function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return "n/a";
  if (bytes === 0) return "0";
  if (bytes >= 2 ** 20) return `${formatNumber(bytes / 2 ** 20)} MiB`;
  return `${formatNumber(bytes / 1024)} KiB`;
}

function formatDollars(dollars: number): string {
  if (dollars === 0) return "$0";
  return dollars >= 100 ? `$${Math.round(dollars).toLocaleString("en-US")}` : `$${dollars.toFixed(dollars >= 1 ? 2 : 3)}`;
}

function requestsByKind(summary: SubjectSummary): string {
  const parts = Object.entries(summary.requestsPerOperationByKind)
    .filter(([, value]) => value > 0)
    .map(([kind, value]) => `${formatNumber(value)} ${kind.toUpperCase()}`);
  return parts.length === 0 ? "none" : parts.join(" + ");
}

function scenarioTable(scenario: ScenarioResult, summaries: SubjectSummary[]): string {
  const metricColumns = scenario.metricColumns ?? [];
  const header = [
    "subject",
    "how",
    scenario.timed === false ? "median run" : "median time",
    `per ${scenario.operationUnit}`,
    "ours is",
    ...metricColumns.map(([, label]) => label),
    `requests per ${scenario.operationUnit}`,
    `in / out per ${scenario.operationUnit}`,
    "$ per M (AWS / R2)",
    "peak RSS",
  ];
  const lines = [`| ${header.join(" | ")} |`, `|${header.map(() => "---").join("|")}|`];
  for (const summary of summaries) {
    const ratio = summary.subject === "ours" ? "" : describeRatio(ratioToOurs(scenario, summaries, summary.subject));
    const cells = [
      summary.subject === "ours" ? `**${subjectLabels[summary.subject]}**` : subjectLabels[summary.subject],
      summary.method,
      formatMilliseconds(summary.medianMs),
      formatMilliseconds(summary.msPerOperation),
      ratio,
      ...metricColumns.map(([key]) => formatNumber(summary.metrics[key] ?? Number.NaN)),
      `${formatNumber(summary.requestsPerOperation)}${summary.requestsPerOperation > 0 ? ` (${requestsByKind(summary)})` : ""}`,
      `${formatBytes(summary.bytesInPerOperation)} / ${formatBytes(summary.bytesOutPerOperation)}`,
      `${formatDollars(summary.awsDollarsPerMillion)} / ${formatDollars(summary.r2DollarsPerMillion)}`,
      formatBytes(summary.peakRssBytes),
    ];
    lines.push(`| ${cells.map((cell) => cell.replace(/\|/g, "\\|")).join(" | ")} |`);
  }
  return lines.join("\n");
}

function checksLine(scenario: ScenarioResult): string {
  const entries = Object.entries(scenario.checks);
  if (entries.length === 0) return "";
  return `Recorded in this run (ours, by the objects each request touched, and cross-checks): ${entries.map(([key, value]) => `${key}: ${typeof value === "number" ? (Number.isInteger(value) ? value.toLocaleString("en-US") : formatNumber(value)) : String(value)}`).join("; ")}.`;
}

/** The separate run that measured `workload`, if it was not measured by the main run. */
function separateRunOf(results: SuiteResults, workload: string): SeparateRun | undefined {
  return results.separateRuns?.find((run) => (run.workloads as string[]).includes(workload));
}

/** When, where and how a separately measured workload was run. */
function separateRunLine(run: SeparateRun): string {
  const load = (values: number[]) => values.map((value) => value.toFixed(2)).join(", ");
  return (
    `Measured in a run of its own, not the main run above: \`bun bench/run.ts${run.profile === "default" ? "" : ` --${run.profile}`} --only=${run.workloads.join(",")} --merge\` on ${run.machine.date.slice(0, 10)}, code at ${run.machine.revision}, ` +
    `a ${run.roundTripMs} ms round trip added to every request, ${run.repetitions} repetition${run.repetitions === 1 ? "" : "s"}, ${Math.round(run.durationSeconds)} s in all; load average (1, 5, 15 min) ${load(run.loadAverage.start)} at the start and ${load(run.loadAverage.end)} at the end on ${run.machine.cores} cores; sizes \`${JSON.stringify(run.sizes)}\`.`
  );
}

/** One row per scenario: ours, and each baseline with its ratio. */
function summaryTable(entries: { scenario: ScenarioResult; summaries: SubjectSummary[]; separate?: boolean }[]): string {
  const columns: SubjectName[] = ["ours", "raw-s3", "mastra-s3", "local-disk", "in-memory"];
  const present = columns.filter((subject) => entries.some(({ summaries }) => summaries.some((summary) => summary.subject === subject)));
  const header = ["scenario", ...present.map((subject) => subjectLabels[subject]), "requests per op: ours / raw / Mastra"];
  const lines = [`| ${header.join(" | ")} |`, `|${header.map(() => "---").join("|")}|`];
  for (const { scenario, summaries } of entries) {
    const find = (subject: SubjectName) => summaries.find((summary) => summary.subject === subject);
    const figure = (summary: SubjectSummary) => (scenario.timed === false ? `${formatNumber(summary.metrics[scenario.metricColumns?.[0]?.[0] ?? ""] ?? Number.NaN)} ${scenario.comparedLabel ?? "ms lag"}` : formatMilliseconds(summary.medianMs));
    const cells = present.map((subject) => {
      const summary = find(subject);
      if (summary === undefined) return "";
      if (subject === "ours") return `**${figure(summary)}**`;
      const ratio = ratioToOurs(scenario, summaries, subject);
      return `${figure(summary)}${ratio === undefined ? "" : ` (ours ${describeRatio(ratio)})`}`;
    });
    const requests = (["ours", "raw-s3", "mastra-s3"] as SubjectName[]).map((subject) => {
      const summary = find(subject);
      return summary === undefined ? "-" : formatNumber(summary.requestsPerOperation);
    });
    lines.push(`| [${scenario.id}](#${scenario.id})${entries.find((entry) => entry.scenario === scenario)?.separate === true ? " (separate run)" : ""} | ${cells.join(" | ")} | ${requests.join(" / ")} |`);
  }
  return lines.join("\n");
}

export interface ReportFiles {
  /** Path of a chart relative to performance.md, by scenario id ("overview" for the summary chart). */
  chartPath(id: string): string;
  resultsPath: string;
}

export function renderReport(results: SuiteResults, files: ReportFiles, previous: string | undefined): string {
  const entries = results.scenarios.map((scenario) => ({ scenario, summaries: summarizeScenario(scenario), separate: separateRunOf(results, scenario.workload) !== undefined }));
  const { machine } = results;
  const separately = [...new Set((results.separateRuns ?? []).flatMap((run) => run.workloads))];
  const notes = previous !== undefined && previous.includes(notesStart) && previous.includes(notesEnd) ? previous.slice(previous.indexOf(notesStart), previous.indexOf(notesEnd) + notesEnd.length) : `${notesStart}\n_(no notes yet)_\n${notesEnd}`;
  const out: string[] = [];
  out.push("# Performance");
  out.push("");
  out.push(
    `Measured by \`npm run bench\` (\`bun bench/run.ts${results.profile === "default" ? "" : ` --${results.profile}`}\`) on ${machine.date.slice(0, 10)}, profile **${results.profile}**, ` +
      `a **${results.roundTripMs} ms** round trip added to every remote request of every subject, **${results.repetitions}** repetitions per scenario, alternating subjects. ` +
      `The whole run took ${Math.round(results.durationSeconds)} s. Tables, charts and [the raw results](${files.resultsPath}) are written by the benchmark; only the notes section is written by hand. Every figure in the tables, charts and notes is from this one run${
        separately.length === 0 ? "" : `, except the ${separately.map((name) => `\`${name}\``).join(", ")} workload${separately.length === 1 ? "" : "s"}, measured in a run of ${separately.length === 1 ? "its" : "their"} own and merged in (\`--merge\`): ${separately.length === 1 ? "its section says" : "their sections say"} when and how`
      }.`,
  );
  out.push("");
  out.push("## Summary");
  out.push("");
  out.push(`Median wall time of each scenario (lower is better; for reader lag, the median lag; for the agent-like writers, the median write latency), and how ours compares. [Per-scenario tables](#results) give requests, bytes, cost, memory and latency percentiles.`);
  out.push("");
  out.push(`![ours against the remote baselines](${files.chartPath("overview")})`);
  out.push("");
  out.push(summaryTable(entries));
  out.push("");
  out.push("## Notes on these results");
  out.push("");
  out.push(notes);
  out.push("");
  out.push("## Machine, versions, settings");
  out.push("");
  out.push("| | |");
  out.push("|---|---|");
  out.push(`| machine | ${machine.os}, Linux ${machine.kernel}, ${machine.cpu}, ${machine.cores} cores, ${formatBytes(machine.memoryBytes)} RAM |`);
  out.push(`| code measured | s3-bun-cached-fs at ${machine.revision} |`);
  out.push(`| runtime | Bun ${machine.bun} |`);
  out.push(`| packages | ${Object.entries(machine.packages).map(([name, version]) => `${name} ${version}`).join(", ")} |`);
  out.push(`| S3 server | ${machine.s3Server}, on the same machine |`);
  out.push(`| load average (1, 5, 15 min) | ${results.loadAverage.start.map((value) => value.toFixed(2)).join(", ")} at the start, ${results.loadAverage.end.map((value) => value.toFixed(2)).join(", ")} at the end (${machine.cores} cores; anything above what the benchmark itself adds is other work sharing the machine) |`);
  out.push(`| added round trip | ${results.roundTripMs} ms before every request (no bandwidth limit) |`);
  out.push(`| repetitions | ${results.repetitions}, medians reported |`);
  out.push(`| our mounts | library defaults (head delay ${results.headDelayMs} ms, 8 MiB chunks, 4 MiB inline records, 16 MiB packs, 8 parallel reads, 4 parallel uploads); cache sizes as stated per scenario |`);
  out.push(`| seed | ${results.seed} |`);
  out.push(`| sizes | \`${JSON.stringify(results.sizes)}\` |`);
  out.push("");
  out.push("## Method");
  out.push("");
  out.push(
    [
      `- **Latency.** A loopback server hides the round trip users pay on S3, R2 or Tigris, so every remote request of every subject waits ${results.roundTripMs} ms first. ` +
        "Ours: the core's `LatencyStore` decorator in front of its `S3ObjectStore`. Raw `@aws-sdk/client-s3` and `@mastra/s3`'s `S3Filesystem`: a middleware on their `S3Client` (`bench/wire.ts`) that sleeps the same time before every HTTP attempt. " +
        "The delay is on only while a scenario is timed: seeding and untimed mounts run without it.",
      "- **Connections.** Every S3 client, ours included, sends `Connection: close`. Ceph RGW's beast frontend stalls about 40 ms before each response with a body on a kept-alive loopback connection (Nagle against delayed ACK; measured on this machine while the benchmark was built, outside the run reported here: a 10 KiB GET took 46 ms kept alive and 2.4 ms on a new connection). That stall is the server's, not the round trip modelled, so no client keeps connections alive.",
      "- **Baselines.** Raw `@aws-sdk/client-s3` with one object per file (PutObject/GetObject/HeadObject/ListObjectsV2, multipart and ranged GETs for large files); `@mastra/s3` `S3Filesystem` 0.6 through its own API and, for the agent workload, through Mastra's tools; local disk through `node:fs` (no fsync, the kernel page cache warm); for the shell, just-bash's `InMemoryFs` and `ReadWriteFs` on a local directory. The two S3 baselines use the same object layout and share seeded objects.",
      "- **Fresh state.** Write scenarios use a new prefix (and for ours a new mount) per repetition; in the mixed workload ours is seeded afresh per repetition and per cache size, while the baselines (which keep no cache) rewrite their objects in place, measured once per repetition for every cache size of ours. \"Cold\" means a mount on a new, empty cache directory (a machine that has never seen the workspace), mounted before the clock starts; \"warm\" means the same reads again on that mount.",
      `- **Requests and bytes.** For every subject, ours included, a middleware on its S3Client counts each HTTP attempt and its Content-Length: the tables report HTTP requests, which is what is billed. For ours a recording store also names the object each store call touched (the "recorded" lines under each table: \`put wal\` is a commit record, \`put heads\` a head update, \`get packs\` data). For our writers the clock stops when the last operation is acknowledged, and counting goes on a little longer than the head delay (${results.headDelayMs} ms) so the deferred head update each burst of commits causes is counted as well.`,
      `- **Store calls and HTTP requests.** Our latency is added per store call (what \`fs.stats().requests\` counts); over the whole run our mounts made ${results.ourRequestAccounting.storeCalls} store calls and ${results.ourRequestAccounting.httpRequests} HTTP requests${
        results.ourRequestAccounting.storeCalls === results.ourRequestAccounting.httpRequests
          ? "."
          : ". The difference is the S3 store's own extra requests: on Ceph RGW each writer mount's first compare-and-swap is sent with a quoted If-Match, fails (412), and is settled by a HEAD and an unquoted retry; those two requests are counted in the tables but went without the added delay, and \`fs.stats()\` does not show them."
      }`,
      "- **Memory.** Peak RSS is the benchmark process's resident set, sampled every 10 ms while a run is timed (all subjects share the process, so it includes the runtime and whatever the earlier scenarios left on the heap; a full GC runs before each run).",
      `- **Cost.** Requests per operation times list prices, request charges only (no storage, egress or minimums): ${priceLists.aws.name} PUT/LIST $${priceLists.aws.perMillion.put.toFixed(2)}, GET/HEAD $${priceLists.aws.perMillion.get.toFixed(2)} per million; ${priceLists.r2.name} Class A $${priceLists.r2.perMillion.put.toFixed(2)}, Class B $${priceLists.r2.perMillion.get.toFixed(2)} per million; deletes free. Shown in dollars per million operations of the scenario's unit.`,
      "- **Ratios.** \"ours is N× faster\" is the baseline's median divided by ours; \"slower\" the reverse.",
    ].join("\n"),
  );
  out.push("");
  out.push("## Running it");
  out.push("");
  out.push(
    [
      "- `npm run bench`: this run's sizes (a few minutes on this 2-core machine). Uses the server named by `S3_ENDPOINT`, `S3_ACCESS_KEY` and `S3_SECRET_KEY`, or starts Ceph RGW on loopback with `scripts/start-s3.sh`, as `npm test` does, and stops it afterwards.",
      "- `npm run bench -- --full`: the on-demand sizes: a 100,000-file walk, cold mount and refresh, a 500 MiB mixed workspace next to the 50 MiB one, 256 MiB files, more calls per scenario.",
      "- `npm run bench -- --smoke`: every workload at a tiny size; `test/bench-smoke.test.ts` runs it in CI and asserts its request counts.",
      "- `--round-trip-ms=N`, `--repetitions=N`, `--only=insert,mixed,metadata,reads,lifecycle,agents,local,transaction,writers,busy`, `--out=DIR` (default `docs`), `--render` (rewrite charts and this page from the results JSON, without measuring), `--merge` (with `--only`: measure those workloads and put their results in place of theirs in the results JSON, the rest kept). See `bench/settings.ts`.",
    ].join("\n"),
  );
  out.push("");
  out.push("## Results");
  let workload = "";
  for (const { scenario, summaries } of entries) {
    if (scenario.workload !== workload) {
      workload = scenario.workload;
      out.push("");
      out.push(`### ${workloadTitles[workload] ?? workload}`);
      const separate = separateRunOf(results, workload);
      if (separate !== undefined) {
        out.push("");
        out.push(separateRunLine(separate));
      }
    }
    out.push("");
    out.push(`<a id="${scenario.id}"></a>`);
    out.push(`#### ${scenario.title}`);
    out.push("");
    out.push(`![${scenario.id}](${files.chartPath(scenario.id)})`);
    out.push("");
    out.push(scenarioTable(scenario, summaries));
    for (const note of scenario.notes ?? []) {
      out.push("");
      out.push(note);
    }
    const checks = checksLine(scenario);
    if (checks !== "") {
      out.push("");
      out.push(checks);
    }
  }
  out.push("");
  return out.join("\n");
}
