// npm run bench: the benchmark suite against the real S3 server (Ceph RGW, started here if
// S3_ENDPOINT is not set, as `npm test` does), our filesystem side by side with raw
// @aws-sdk/client-s3, @mastra/s3, local disk and just-bash's InMemoryFs. Writes
// docs/performance-results.json, docs/performance/*.svg and docs/performance.md.
// Flags: see bench/settings.ts (--smoke, --full, --round-trip-ms=N, --repetitions=N, --only=..., --out=DIR,
// --merge, --render).

import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { mergeResults, type SuiteResults } from "./results.ts";
import { writeOutputs } from "./output.ts";
import { ensureS3Server } from "./s3-server.ts";
import { parseSettings, workloadNames } from "./settings.ts";
import { runSuite } from "./suite.ts";

async function main(): Promise<void> {
  const settings = parseSettings(process.argv.slice(2));
  if (settings.renderOnly) {
    const directory = resolve(settings.outputDirectory);
    const results = JSON.parse(readFileSync(join(directory, "performance-results.json"), "utf8")) as SuiteResults;
    const written = writeOutputs(results, directory, { document: true });
    console.error(`bench: rendered ${written.charts.length} charts and ${written.document} from ${written.results}`);
    return;
  }
  const directory = resolve(settings.outputDirectory);
  const previousFile = join(directory, "performance-results.json");
  // Read before measuring: a merge without earlier results fails now, not after the run.
  const previous = settings.merge ? (JSON.parse(readFileSync(previousFile, "utf8")) as SuiteResults) : undefined;
  const server = await ensureS3Server();
  try {
    const fresh = await runSuite(settings, server.settings);
    const results = previous === undefined ? fresh : mergeResults(previous, fresh, workloadNames);
    const written = writeOutputs(results, directory, { document: settings.writeDocument });
    console.error(`bench: done in ${fresh.durationSeconds.toFixed(0)} s${previous === undefined ? "" : ` (${fresh.scenarios.length} scenarios merged into ${previousFile})`}; wrote ${written.results}, ${written.charts.length} charts${written.document === undefined ? "" : ` and ${written.document}`}`);
  } finally {
    await server.stop();
  }
}

await main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exit(1);
});
