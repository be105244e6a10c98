// npm run bench: the benchmark suite against the real S3 server (Ceph RGW, started here if
// S3_ENDPOINT is not set, as `npm test` does), our filesystem side by side with raw
// @aws-sdk/client-s3, @mastra/s3, local disk and just-bash's InMemoryFs. Writes
// docs/performance-results.json, docs/performance/*.svg and docs/performance.md.
// Flags: see bench/settings.ts (--smoke, --full, --round-trip-ms=N, --repetitions=N, --only=..., --out=DIR).

import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { SuiteResults } from "./results.ts";
import { writeOutputs } from "./output.ts";
import { ensureS3Server } from "./s3-server.ts";
import { parseSettings } from "./settings.ts";
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
  const server = await ensureS3Server();
  try {
    const results = await runSuite(settings, server.settings);
    const written = writeOutputs(results, resolve(settings.outputDirectory), { document: settings.writeDocument });
    console.error(`bench: done in ${results.durationSeconds.toFixed(0)} s; wrote ${written.results}, ${written.charts.length} charts${written.document === undefined ? "" : ` and ${written.document}`}`);
  } finally {
    await server.stop();
  }
}

await main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exit(1);
});
