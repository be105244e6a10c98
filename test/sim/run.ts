// Runs the deterministic simulation: `npm run sim -- --seed S` replays one seed (add --verbose for
// every step), `npm run sim -- --seeds N [--from F]` runs N seeds from F (default 1), `--steps K`
// sets the steps per seed. Exits 1 on the first violation, printing its seed, the last steps and
// the command that replays it; `--keep-going` runs every seed and lists all failing ones.
// `--json` prints one summary line as JSON at the end (the test reads it). `--skip-known` counts
// seeds failing with the symptom of a known, filed bug apart and goes on; `--check-replay` runs
// each seed twice and compares; `--no-write-once-check` leaves L1 to be seen through what it breaks;
// `--progress` reports every 100 seeds. `--idle-only` runs only idle-catch-up seeds (`--seeds N` of
// them, from F on: docs/simulation.md, "Idle catch-ups"). Every run reports the catch-ups while idle
// that timers fired (per seed with `--seed`, `--verbose` or `--digests`).

import { installDeterminism, realNow } from "./determinism.ts";

installDeterminism();
// The library is loaded only now, so its `randomUUID` is the seeded one.
const { runSeed, isIdleCatchUpRun, noIdleCounts } = await import("./simulation.ts");

function argument(name: string): string | undefined {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? process.argv[index + 1] : undefined;
}
const flag = (name: string) => process.argv.includes(`--${name}`);

const single = argument("seed");
const count = Number(argument("seeds") ?? (single === undefined ? 100 : 1));
const from = Number(single ?? argument("from") ?? 1);
const steps = argument("steps") === undefined ? undefined : Number(argument("steps"));
function idleSeeds(): number[] {
  const found: number[] = [];
  for (let seed = from; found.length < count; seed++) if (isIdleCatchUpRun(seed)) found.push(seed);
  return found;
}
const seeds = argument("list")?.split(",").map(Number) ?? (flag("idle-only") ? idleSeeds() : Array.from({ length: count }, (_, index) => from + index));
const verbose = flag("verbose");
const keepGoing = flag("keep-going");
const checkReplay = flag("check-replay");
// Counts seeds failing with the symptom of a known, filed bug apart, and goes on (see knownBugs).
const skipKnown = flag("skip-known");
const checkWriteOnce = !flag("no-write-once-check");

const started = realNow();
let totalSteps = 0;
let totalRequests = 0;
let totalFaults = 0;
let totalLaneRecords = 0;
let seedsWithLanes = 0;
let totalOperations = 0;
/** Timers that fired while writers and readers idled: in idle-catch-up runs, and in the others. */
const idle = noIdleCounts();
const idleElsewhere = noIdleCounts();
/** Idle-catch-up seeds run, and those of them where a catch-up timer (or a writer's poll) started a refresh. */
let idleRuns = 0;
let idleRunsCaughtUp = 0;
const failures: { seed: number; violation: string }[] = [];
const known: { seed: number; bug: string }[] = [];
let ran = 0;
for (const seed of seeds) {
  const result = await runSeed({ seed, ...(steps === undefined ? {} : { steps }), verbose, checkWriteOnce });
  ran++;
  totalSteps += result.steps;
  totalRequests += result.requests;
  totalFaults += result.faults;
  totalLaneRecords += result.laneRecords;
  if (result.laneRecords > 0) seedsWithLanes++;
  totalOperations += result.operations;
  const counts = result.idleRun ? idle : idleElsewhere;
  for (const key of Object.keys(counts) as (keyof typeof counts)[]) counts[key] += result.idle[key];
  if (result.idleRun) {
    idleRuns++;
    if (result.idle.catchUps - result.idle.catchUpsBusy + result.idle.writerPolls - result.idle.writerPollsBusy > 0) idleRunsCaughtUp++;
  }
  if (checkReplay) {
    const again = await runSeed({ seed, ...(steps === undefined ? {} : { steps }), checkWriteOnce, verbose });
    if (again.digest !== result.digest || again.ok !== result.ok) {
      console.log(`seed ${seed} did not replay: digest ${result.digest} then ${again.digest}`);
      failures.push({ seed, violation: "not deterministic" });
    }
  }
  if (single !== undefined || verbose || flag("digests")) {
    const timers = `${result.idleRun ? "idle-catch-up run, " : ""}catch-ups ${result.idle.catchUps} (${result.idle.catchUpsBusy} busy, ${result.idle.catchUpsChanged} took records in), writer polls ${result.idle.writerPolls} (${result.idle.writerPollsBusy} busy), reader polls ${result.idle.readerPolls}, raced ${result.idle.raced}`;
    console.log(`seed ${seed}: ${result.ok ? "ok" : "VIOLATION"}, ${result.steps} steps, ${result.requests} requests, ${result.faults} faults, ${result.operations} operations, digest ${result.digest}, ${result.elapsedMs.toFixed(0)} ms, ${timers}`);
  }
  if (flag("progress") && ran % 100 === 0) {
    console.log(`${ran} seeds done (to ${seed}), ${failures.length} failing, ${known.length} with a known bug, ${((realNow() - started) / 1000).toFixed(0)} s`);
  }
  if (!result.ok && skipKnown && result.knownBug !== undefined) {
    known.push({ seed, bug: result.knownBug });
    console.log(`seed ${seed}: known bug (${result.knownBug}): ${result.violation}`);
  } else if (!result.ok) {
    failures.push({ seed, violation: result.violation! });
    console.log(`\nseed ${seed} FAILED: ${result.violation}`);
    if (result.knownBug !== undefined) console.log(`(the symptom of a known bug: ${result.knownBug})`);
    console.log(`last steps:\n  ${result.trace.slice(-40).join("\n  ")}`);
    console.log(`replay: npm run sim -- --seed ${seed}\n`);
    if (!keepGoing) break;
  }
}
const elapsed = (realNow() - started) / 1000;
const summary = { seeds: ran, steps: totalSteps, requests: totalRequests, faults: totalFaults, operations: totalOperations, laneRecords: totalLaneRecords, seedsWithLanes, idleRuns, idleRunsCaughtUp, idle, idleElsewhere, failures, known, seconds: Number(elapsed.toFixed(1)) };
console.log(
  `${ran} seeds (${seeds[0]}..${seeds[ran - 1]}), ${totalSteps} steps, ${totalOperations} operations, ${totalRequests} requests, ${totalFaults} faults, ${totalLaneRecords} lane records in ${seedsWithLanes} seeds, ${failures.length} failing${skipKnown ? `, ${known.length} with a known bug` : ""}, ${elapsed.toFixed(1)} s`,
);
const perRun = (n: number) => (idleRuns === 0 ? "-" : (n / idleRuns).toFixed(1));
console.log(
  `timers while idle: ${idleRuns} idle-catch-up runs, ${idleRunsCaughtUp} of them with a refresh a timer started; per run, catch-up timer ${perRun(idle.catchUps)} fires (${perRun(idle.catchUps - idle.catchUpsBusy)} refreshed, ${perRun(idle.catchUpsChanged)} took records in), writer polls ${perRun(idle.writerPolls)} (${perRun(idle.writerPolls - idle.writerPollsBusy)} refreshed, ${perRun(idle.writerPollsChanged)} took records in), reader polls ${perRun(idle.readerPolls)}, operations started while their writer's timer-started refresh ran ${perRun(idle.raced)}; in the ${ran - idleRuns} other runs, catch-up timer ${idleElsewhere.catchUps} fires in all (${idleElsewhere.catchUps - idleElsewhere.catchUpsBusy} refreshed)`,
);
if (failures.length > 0) console.log(`failing seeds: ${failures.map((failure) => failure.seed).join(", ")}`);
if (flag("json")) console.log(`SIM-SUMMARY ${JSON.stringify(summary)}`);
process.exit(failures.length > 0 ? 1 : 0);
