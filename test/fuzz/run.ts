// `npm run fuzz -- --calls N --seed S [--bound-ms MS] [--surfaces core,mastra,just-bash,flue]`:
// the API-misuse fuzzer on demand. Prints the seed first, the figures at the end, and on a
// violation the last calls and the one-line command that replays the run.
import { FuzzFailure, runFuzz, type FuzzOptions } from "./fuzzer.ts";
import { targetsFor } from "./targets.ts";

function argument(name: string): string | undefined {
  const index = process.argv.indexOf(`--${name}`);
  return index === -1 ? undefined : process.argv[index + 1];
}

const seed = argument("seed") === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(argument("seed"));
const calls = Number(argument("calls") ?? 2_000);
if (!Number.isSafeInteger(seed) || !Number.isSafeInteger(calls) || calls < 1) {
  console.error("usage: npm run fuzz -- [--calls N] [--seed S] [--bound-ms MS] [--surfaces core,mastra,just-bash,flue]");
  process.exit(2);
}
const options: FuzzOptions = {
  seed,
  calls,
  ...(argument("bound-ms") === undefined ? {} : { boundMs: Number(argument("bound-ms")) }),
  ...(argument("surfaces") === undefined ? {} : { surfaces: argument("surfaces")!.split(",") as FuzzOptions["surfaces"] & string[] }),
  collect: process.argv.includes("--collect"),
  log: (line) => console.log(line),
};
console.log(`API-misuse fuzzer: seed ${seed}, ${calls} calls`);
try {
  const report = await runFuzz(options, targetsFor(options));
  for (const [key, entry] of Object.entries(report.collected)) console.log(`\n=== ${entry.count}x ${key}\n${entry.first}`);
  const { collected: _collected, ...figures } = report;
  console.log(JSON.stringify(figures, null, 2));
  const classes = Object.keys(report.collected).length;
  console.log(`${report.calls} calls in ${report.seconds.toFixed(1)} s, ${report.errors} refused, ${classes === 0 ? "no violation beyond the known findings" : `${classes} kind(s) of violation beyond the known findings (above)`}`);
  process.exit(classes === 0 ? 0 : 1);
} catch (error) {
  if (error instanceof FuzzFailure) {
    console.error(error.message);
    process.exit(1);
  }
  throw error;
}
