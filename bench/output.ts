// Writes a run's results: the raw JSON, one SVG chart per scenario plus the overview, and (unless
// turned off) performance.md beside them.

import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { overviewChart, scenarioChart } from "./charts.ts";
import { renderReport } from "./report.ts";
import type { SuiteResults } from "./results.ts";
import { summarizeScenario } from "./summary.ts";

export interface WrittenFiles {
  results: string;
  charts: string[];
  document: string | undefined;
}

export function writeOutputs(results: SuiteResults, directory: string, options: { document: boolean }): WrittenFiles {
  const chartDirectory = join(directory, "performance");
  mkdirSync(chartDirectory, { recursive: true });
  const resultsFile = join(directory, "performance-results.json");
  writeFileSync(resultsFile, `${JSON.stringify(results, null, 2)}\n`);
  const entries = results.scenarios.map((scenario) => ({ scenario, summaries: summarizeScenario(scenario) }));
  const charts: string[] = [];
  for (const { scenario, summaries } of entries) {
    const file = join(chartDirectory, `${scenario.id}.svg`);
    writeFileSync(file, `${scenarioChart(scenario, summaries)}\n`);
    charts.push(file);
  }
  const overview = join(chartDirectory, "overview.svg");
  writeFileSync(overview, `${overviewChart(entries)}\n`);
  charts.push(overview);
  let document: string | undefined;
  if (options.document) {
    document = join(directory, "performance.md");
    const previous = existsSync(document) ? readFileSync(document, "utf8") : undefined;
    writeFileSync(document, renderReport(results, { chartPath: (id) => `performance/${id}.svg`, resultsPath: "performance-results.json" }, previous));
  }
  return { results: resultsFile, charts, document };
}
