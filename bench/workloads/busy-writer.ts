// Workload "busy": one busy mount, many writers in it. For each client count N in `clients`, N
// clients of ONE mount each write `writes` small files (32 KiB by default), every write awaited,
// with a seeded pause of up to `thinkMs` before each; beside raw PutObject by the same N clients
// with the same pauses. And one client's awaited writes one after another, with no pause.
//
// What it asks: a write that arrives while a record of the mount is in flight goes out at once in
// a record of its own (docs/s3-layout.md C8, up to 8 in flight), so does a busy writer's write
// latency stay within 1.1x of a raw PUT's at every N (the goal: p50 ours / raw <= 1.1), and is a
// lone awaited write unchanged? Each subject records every write's latency (from the call to its
// acknowledgement; the pause before it is not counted) and reports the p50, p90 and p99 over all
// clients; ours also reports records (commits) per write, PUTs per write (records and the head's
// deferred update, counted by the settle after the run) and the most records it had in flight at
// once (`fs.stats().commits.mostRecordsInFlight`); both report the process's CPU time per write
// (on a shared machine, what a subject costs in CPU is what other work slows down).
//
// Ours: a fresh mount per repetition (library defaults: a shared writer), its client directories
// made untimed and without latency before the clock starts; after the run, untimed, every
// acknowledged file is read back from the mount with its bytes. Raw S3: one S3Client shared by the
// N clients (as ours is one mount), PutObject of a distinct key per write.

import type { BenchContext } from "../context.ts";
import { randomFiles } from "../data.ts";
import { alternate, measureRun, percentile, type Contender } from "../measure.ts";
import { purposes } from "../subjects/our-filesystem.ts";
import type { ScenarioResult } from "../results.ts";
import { summarizeScenario } from "../summary.ts";
import { seededRandom } from "../../src/core.ts";

/** One scenario: `clients` writers, `writes` each, a pause of up to `thinkMs` before each write (0: none). */
interface Shape {
  id: string;
  title: string;
  clients: number;
  writes: number;
  thinkMs: number;
}

export async function busyWriter(context: BenchContext): Promise<ScenarioResult[]> {
  const { clients, writes, thinkMs, fileBytes, awaitedWrites } = context.settings.sizes.busy;
  const size = `${fileBytes / 1024} KiB`;
  const shapes: Shape[] = [
    {
      id: "busy-awaited-1",
      title: `Busy writer, baseline: 1 client awaiting ${awaitedWrites} writes of ${size} one after another, no pause`,
      clients: 1,
      writes: awaitedWrites,
      thinkMs: 0,
    },
    ...clients.map((count) => ({
      id: `busy-${count}`,
      title: `Busy writer: ${count === 1 ? "1 client" : `${count} clients in one mount, each`} writing ${writes} files of ${size}, each awaited after a pause of 0-${thinkMs} ms`,
      clients: count,
      writes,
      thinkMs,
    })),
  ];
  const results: ScenarioResult[] = [];
  for (const shape of shapes) results.push(await busyScenario(context, shape));
  return results;
}

/** The seeded pause before each write of each client, the same for every subject in a repetition. */
export function thinkTimes(seed: number, clients: number, writes: number, thinkMs: number): number[][] {
  const random = seededRandom(seed);
  return Array.from({ length: clients }, () => Array.from({ length: writes }, () => (thinkMs > 0 ? random() * thinkMs : 0)));
}

const sleep = (ms: number): Promise<void> => (ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve());

async function busyScenario(context: BenchContext, shape: Shape): Promise<ScenarioResult> {
  const { fileBytes } = context.settings.sizes.busy;
  const { repetitions, seed } = context.settings;
  const operations = shape.clients * shape.writes;
  // A pool of incompressible bodies, reused round-robin: the bytes differ between neighbouring writes.
  const bodies = randomFiles(Math.min(64, operations), fileBytes);
  const body = (client: number, index: number) => bodies[(client * shape.writes + index) % bodies.length]!;
  const path = (client: number, index: number) => `c${client}/f${index}.bin`;
  const pauses = (repetition: number) => thinkTimes(seed + 1000 * repetition + shape.clients + (shape.thinkMs === 0 ? 500 : 0), shape.clients, shape.writes, shape.thinkMs);
  const checks: Record<string, number | boolean | string> = { clients: shape.clients };

  /**
   * Runs every client's writes with their pauses; returns the acknowledged writes' latencies and
   * the process's CPU time meanwhile (every thread: this subject alone runs then).
   */
  const runClients = async (repetition: number, write: (client: number, index: number) => Promise<unknown>): Promise<{ latencies: number[]; cpuMs: number }> => {
    const plan = pauses(repetition);
    const latencies: number[] = [];
    const cpuBefore = process.cpuUsage();
    await Promise.all(
      plan.map(async (clientPauses, client) => {
        for (const [index, pause] of clientPauses.entries()) {
          await sleep(pause);
          const started = performance.now();
          await write(client, index);
          latencies.push(performance.now() - started);
        }
      }),
    );
    const cpu = process.cpuUsage(cpuBefore);
    return { latencies, cpuMs: (cpu.user + cpu.system) / 1000 };
  };
  const clientMetrics = ({ latencies, cpuMs }: { latencies: number[]; cpuMs: number }) => ({
    p50Ms: percentile(latencies, 50),
    p90Ms: percentile(latencies, 90),
    p99Ms: percentile(latencies, 99),
    cpuMsPerWrite: cpuMs / operations,
  });
  /** The worst of the repetitions so far, for a check (a count a run must reach in every repetition). */
  const lowest = (key: string, value: number) => {
    checks[key] = Math.min(Number(checks[key] ?? value), value);
  };

  context.log(`  busy: ${shape.id} (${operations} writes by ${shape.clients} client${shape.clients === 1 ? "" : "s"})`);
  const contenders: Contender[] = [
    {
      subject: "ours",
      method: `one mount (a shared writer, library defaults), ${shape.clients === 1 ? "1 client" : `${shape.clients} clients`} calling fs.writeFile, each write awaited; up to 8 records in flight`,
      run: async (repetition) => {
        const mount = await context.ours.mount(context.prefix(`${shape.id}-ours`));
        try {
          await mount.fs.transaction(async (tx) => {
            for (let client = 0; client < shape.clients; client++) await tx.mkdir(`/c${client}`);
          });
          const commitsBefore = mount.fs.stats().commits?.commits ?? 0;
          let measured = { latencies: [] as number[], cpuMs: 0 };
          const run = await measureRun({
            latency: context.latency,
            counters: mount.counters,
            body: async () => {
              mount.resetRecording();
              measured = await runClients(repetition, (client, index) => mount.fs.writeFile(`/${path(client, index)}`, body(client, index)));
            },
            settle: context.settleOurWriter,
          });
          const commitStats = mount.fs.stats().commits!;
          const records = commitStats.commits - commitsBefore;
          const recorded = purposes(mount.recorded());
          // Untimed: every acknowledged write is in the mount with its bytes.
          let intact = 0;
          for (let client = 0; client < shape.clients; client++) {
            for (let index = 0; index < shape.writes; index++) {
              const read = await mount.fs.readFile(`/${path(client, index)}`).catch(() => undefined);
              if (read !== undefined && Buffer.compare(Buffer.from(read), Buffer.from(body(client, index))) === 0) intact++;
            }
          }
          lowest("ours writes acknowledged", measured.latencies.length);
          lowest("ours acknowledged writes read back intact", intact);
          checks["ours records"] = records;
          checks["ours put wal"] = recorded["put wal"] ?? 0;
          checks["ours put heads"] = recorded["put heads"] ?? 0;
          // Every record is one create-only PUT under wal/: none lost, none sent twice (a lone writer).
          checks["ours put wal = records, every repetition"] = (checks["ours put wal = records, every repetition"] ?? true) === true && (recorded["put wal"] ?? 0) === records;
          checks["ours most records in flight"] = Math.max(Number(checks["ours most records in flight"] ?? 0), commitStats.mostRecordsInFlight);
          run.metrics = {
            ...clientMetrics(measured),
            recordsPerWrite: records / operations,
            putsPerWrite: run.requests.put / operations,
            mostRecordsInFlight: commitStats.mostRecordsInFlight,
          };
          return run;
        } finally {
          await mount.close();
        }
      },
    },
    {
      subject: "raw-s3",
      method: `${shape.clients === 1 ? "1 client" : `${shape.clients} clients sharing one S3Client`}, PutObject of a distinct key per write, each awaited`,
      run: async (repetition) => {
        const raw = context.raw(context.prefix(`${shape.id}-raw`));
        let measured = { latencies: [] as number[], cpuMs: 0 };
        const run = await measureRun({
          latency: context.latency,
          counters: () => context.rawTally.snapshot(),
          body: async () => {
            measured = await runClients(repetition, (client, index) => raw.write(path(client, index), body(client, index)));
          },
        });
        lowest("raw-s3 writes acknowledged", measured.latencies.length);
        run.metrics = { ...clientMetrics(measured), putsPerWrite: run.requests.put / operations };
        return run;
      },
    },
  ];
  const subjects = await alternate(contenders, repetitions, context.log);
  const scenario: ScenarioResult = {
    workload: "busy",
    id: shape.id,
    title: shape.title,
    operations,
    operationUnit: "write",
    metricColumns: [
      ["p50Ms", "write p50 ms"],
      ["p90Ms", "write p90 ms"],
      ["p99Ms", "write p99 ms"],
      ["recordsPerWrite", "records per write"],
      ["putsPerWrite", "PUTs per write"],
      ["mostRecordsInFlight", "most records in flight"],
      ["cpuMsPerWrite", "CPU ms per write"],
    ],
    // Compared by latency: with pauses, the run's length is mostly the pauses.
    timed: false,
    comparedLabel: "ms p50",
    subjects,
    checks,
  };
  const [ours, raw] = ["ours", "raw-s3"].map((subject) => summarizeScenario(scenario).find((summary) => summary.subject === subject)!);
  const ratio = (key: string) => ours!.metrics[key]! / raw!.metrics[key]!;
  checks["ours p50 / raw PUT p50"] = ratio("p50Ms");
  checks["ours p90 / raw PUT p90"] = ratio("p90Ms");
  checks["ours p99 / raw PUT p99"] = ratio("p99Ms");
  scenario.notes = [
    `Against raw PUTs by as many clients ${shape.thinkMs > 0 ? "with the same pauses" : "one after another"}, in this run: ours p50 ${ratio("p50Ms").toFixed(2)}x a raw PUT's (the goal: at most 1.1x), p90 ${ratio("p90Ms").toFixed(2)}x, p99 ${ratio("p99Ms").toFixed(2)}x. Medians over the repetitions of each run's percentiles; a write's latency is from its call to its acknowledgement, the pause before it not counted.`,
    shape.thinkMs > 0
      ? `A write that arrives while records of the mount are in flight goes out at once in a record of its own (up to 8 in flight; docs/s3-layout.md C8), so it waits for its own PUT and for the records before it to land, not for a whole commit before its PUT starts; writes that queue while 8 are in flight share the next record (records per write below 1).`
      : `Each write is awaited before the next: one record, one PUT each, never more than one in flight; PUTs per write include the head's deferred update.`,
  ];
  return scenario;
}
