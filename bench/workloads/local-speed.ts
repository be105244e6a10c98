// Workload "local": what the filesystem costs on this machine alone, beside just-bash's InMemoryFs
// in the same process. No network: our mounts run on a LocalObjectStore in a temporary directory
// (without fsync, so the figures are the library's own work, not the disk's), and no latency is
// added. What an agent's tools do most often is measured call by call:
//
// - warm reads: readFile of small files already in the cache, through the just-bash adapter
//   (the shell's `cat`, `source`, `awk` read this way) against InMemoryFs.readFile;
// - misses: readFile of a file that does not exist (an awk `getline` loop waiting for a file, a
//   tool probing for a config), and `exists` of one (just-bash's PATH search);
// - many small writes: a shell script writing files one `echo >` at a time, with one commit for
//   the whole command (the shell's default) and without a transaction (`commit: "per-write"`: each
//   write published on its own, left in flight, consecutive ones sharing a record); and a program
//   seeding files with fs.writeFile, each awaited (a commit each) and in one transaction.
//
// Ours must answer every read and miss without a request; each scenario says so in its checks.

import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { Bash, InMemoryFs } from "just-bash";
import { LocalObjectStore, S3CachedFsManagerImpl, type S3CachedFs } from "../../src/core.ts";
import { AcceleratedJustBashFs, createAcceleratedJustBashShell } from "../../src/just-bash/index.ts";
import type { BenchContext } from "../context.ts";
import { alternate, measureRun, median, percentile, type Contender } from "../measure.ts";
import { totalsOf } from "../subjects/our-filesystem.ts";
import type { ScenarioResult, SubjectRun } from "../results.ts";
import { zeroTotals } from "../wire.ts";

const workspace = "/workspace";

/** The median over a subject's runs of one figure (a metric, or the run's wall time). */
function medianOf(result: ScenarioResult, subject: string, figure: (run: SubjectRun) => number): number {
  return median(result.subjects.find((entry) => entry.subject === subject)?.runs.map(figure) ?? []);
}

/**
 * Records a ratio the goal names ("within 3x of InMemoryFs", "within 2x of the one-commit
 * script") in the scenario's checks and notes, and prints it.
 */
function noteRatio(context: BenchContext, result: ScenarioResult, label: string, ratio: number, goal: number): void {
  const shown = `${ratio.toFixed(2)}x`;
  result.checks[label] = Number(ratio.toFixed(2));
  (result.notes ??= []).push(`${label}: ${shown} (goal: at most ${goal}x)`);
  context.log(`  local: ${label}: ${shown} (goal: at most ${goal}x)`);
}

const perCallColumns: [string, string][] = [
  ["usPerCall", "µs per call (mean)"],
  ["p50Us", "p50 µs"],
  ["p99Us", "p99 µs"],
];

/** A mount on a LocalObjectStore of its own, in a temporary directory removed by `close`. */
async function localMount(label: string): Promise<{ fs: S3CachedFs; close: () => Promise<void> }> {
  const root = mkdtempSync(join(tmpdir(), `bench-local-${label}-`));
  const manager = new S3CachedFsManagerImpl({ cacheRoot: join(root, "cache"), storeFactory: () => new LocalObjectStore({ root: join(root, "bucket"), fsync: false }) });
  // The head is updated at close, not while a run is timed: each commit is then exactly one request.
  const fs = await manager.mount({ name: label, headDelayMs: 600_000 });
  return {
    fs,
    close: async () => {
      await manager.closeAll();
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** Calls `call` `calls` times, one after another; the mean and percentiles of one call, in µs. */
async function perCall(calls: number, call: (index: number) => Promise<unknown>): Promise<Record<string, number>> {
  const times: number[] = new Array(calls);
  const started = performance.now();
  for (let index = 0; index < calls; index++) {
    const before = performance.now();
    await call(index);
    times[index] = (performance.now() - before) * 1000;
  }
  const total = (performance.now() - started) * 1000;
  return { usPerCall: total / calls, p50Us: percentile(times, 50), p99Us: percentile(times, 99) };
}

export async function localSpeed(context: BenchContext): Promise<ScenarioResult[]> {
  const { files, fileBytes, calls, scriptFiles } = context.settings.sizes.local;
  const body = (index: number) => `${`// file ${index}\n`.padEnd(fileBytes - 1, "x")}\n`;
  const path = (index: number) => `${workspace}/src/file-${index}.ts`;

  // One mount and one InMemoryFs with the same small files, read once (the cache is warm).
  const ours = await localMount("reads");
  const memory = new InMemoryFs();
  try {
    await ours.fs.transaction(async (tx) => {
      for (let index = 0; index < files; index++) await tx.writeFile(path(index), body(index));
    });
    await memory.mkdir(`${workspace}/src`, { recursive: true });
    for (let index = 0; index < files; index++) await memory.writeFile(path(index), body(index));
    const adapter = new AcceleratedJustBashFs(ours.fs);
    for (let index = 0; index < files; index++) {
      if ((await adapter.readFile(path(index))) !== (await memory.readFile(path(index)))) throw new Error(`local: ${path(index)} reads differently from InMemoryFs`);
    }

    const perCallScenario = async (
      id: string,
      title: string,
      unit: string,
      method: { ours: string; memory: string },
      call: { ours: (index: number) => Promise<unknown>; memory: (index: number) => Promise<unknown> },
    ): Promise<ScenarioResult> => {
      const checks: Record<string, number | boolean | string> = {};
      context.log(`  local: ${title}`);
      // Untimed, so that neither subject's first run pays for compiling its code.
      await perCall(Math.min(calls, 1000), call.ours);
      await perCall(Math.min(calls, 1000), call.memory);
      const contenders: Contender[] = [
        {
          subject: "ours",
          method: method.ours,
          run: async () => {
            const run = await measureRun({ latency: context.latency, counters: () => totalsOf(ours.fs), body: () => perCall(calls, call.ours) });
            checks["ours requests"] = Math.max(Number(checks["ours requests"] ?? 0), run.requests.total);
            return run;
          },
        },
        { subject: "in-memory", method: method.memory, run: () => measureRun({ latency: context.latency, counters: zeroTotals, body: () => perCall(calls, call.memory) }) },
      ];
      const subjects = await alternate(contenders, context.settings.repetitions, context.log);
      const result: ScenarioResult = { workload: "local", id, title, operations: calls, operationUnit: unit, metricColumns: perCallColumns, subjects, checks };
      for (const [metric, label] of [["usPerCall", "mean"], ["p50Us", "p50"]] as const) {
        const ratio = medianOf(result, "ours", (run) => run.metrics[metric] ?? Number.NaN) / medianOf(result, "in-memory", (run) => run.metrics[metric] ?? Number.NaN);
        noteRatio(context, result, `ours / InMemoryFs, ${label} per call`, ratio, 3);
      }
      return result;
    };

    const missing = (index: number) => `${workspace}/src/missing-${index % files}.txt`;
    const rejected = (read: Promise<unknown>) =>
      read.then(
        () => {
          throw new Error("local: a missing file was read");
        },
        () => undefined,
      );
    const results = [
      await perCallScenario(
        "local-warm-reads",
        `Local speed: ${calls} readFile calls of ${files} cached ${fileBytes}-byte files`,
        "read",
        { ours: "AcceleratedJustBashFs.readFile (warm cache)", memory: "InMemoryFs.readFile" },
        { ours: (index) => adapter.readFile(path(index % files)), memory: (index) => memory.readFile(path(index % files)) },
      ),
      await perCallScenario(
        "local-missing-reads",
        `Local speed: ${calls} readFile calls of files that do not exist (ENOENT)`,
        "read",
        { ours: "AcceleratedJustBashFs.readFile, rejected", memory: "InMemoryFs.readFile, rejected" },
        { ours: (index) => rejected(adapter.readFile(missing(index))), memory: (index) => rejected(memory.readFile(missing(index))) },
      ),
      await perCallScenario(
        "local-missing-exists",
        `Local speed: ${calls} exists calls on paths that do not exist`,
        "exists",
        { ours: "AcceleratedJustBashFs.exists", memory: "InMemoryFs.exists" },
        { ours: (index) => adapter.exists(missing(index)), memory: (index) => memory.exists(missing(index)) },
      ),
    ];
    results.push(...(await manyWrites(context, scriptFiles, body)));
    return results;
  } finally {
    await ours.close();
  }
}

/** Many small writes: a shell script (one commit per command, or per write) and a program seeding files. */
async function manyWrites(context: BenchContext, count: number, body: (index: number) => string): Promise<ScenarioResult[]> {
  const script = `mkdir -p out && for i in $(seq 1 ${count}); do echo "export const v$i = $i;" > out/f$i.ts; done; ls out | wc -l`;
  const expected = `${count}\n`;
  const results: ScenarioResult[] = [];

  const shellScenario = async (commit: "per-command" | "per-write"): Promise<ScenarioResult> => {
    const checks: Record<string, number | boolean | string> = {};
    context.log(`  local: a shell script writing ${count} files, commit: ${commit}`);
    const contenders: Contender[] = [
      {
        subject: "ours",
        method: `createAcceleratedJustBashShell, commit: "${commit}" (${commit === "per-command" ? "one commit for the script" : "no transaction: writes left in flight, consecutive ones sharing a record"})`,
        run: async () => {
          const mount = await localMount(`shell-${commit}`);
          try {
            const shell = await createAcceleratedJustBashShell({ filesystem: mount.fs, cwd: "/", commit });
            const commitsBefore = mount.fs.stats().commits?.commits ?? 0;
            const run = await measureRun({
              latency: context.latency,
              counters: () => totalsOf(mount.fs),
              body: async () => {
                const result = await shell.exec(script);
                if (result.stdout !== expected || result.exitCode !== 0) throw new Error(`local: the script printed ${JSON.stringify(result.stdout)}${result.stderr}`);
              },
            });
            checks["ours commits"] = (mount.fs.stats().commits?.commits ?? 0) - commitsBefore;
            await shell.close();
            return run;
          } finally {
            await mount.close();
          }
        },
      },
      {
        subject: "in-memory",
        method: "just-bash Bash over InMemoryFs (not durable)",
        run: async () => {
          const fs = new InMemoryFs();
          return measureRun({
            latency: context.latency,
            counters: zeroTotals,
            body: async () => {
              const result = await new Bash({ fs, cwd: "/", defenseInDepth: false }).exec(script);
              if (result.stdout !== expected) throw new Error(`local: InMemoryFs printed ${JSON.stringify(result.stdout)}`);
            },
          });
        },
      },
    ];
    const subjects = await alternate(contenders, context.settings.repetitions, context.log);
    return {
      workload: "local",
      id: `local-shell-${commit}`,
      title: `Local speed: a shell script writing ${count} files one \`echo >\` at a time, commit: ${commit}`,
      operations: count,
      operationUnit: "file",
      notes: [`Script: \`${script}\``],
      subjects,
      checks,
    };
  };
  const perCommand = await shellScenario("per-command");
  const perWrite = await shellScenario("per-write");
  // The goal's ratio: the script without a transaction (a commit per write) against the same script in one.
  const ratio = medianOf(perWrite, "ours", (run) => run.milliseconds) / medianOf(perCommand, "ours", (run) => run.milliseconds);
  noteRatio(context, perWrite, "per-write script / one-commit script (ours, median wall time)", ratio, 2);
  results.push(perCommand, perWrite);

  const seedScenario = async (how: "sequential" | "concurrent" | "transaction"): Promise<ScenarioResult> => {
    const checks: Record<string, number | boolean | string> = {};
    const path = (index: number) => `/seed/file-${index}.ts`;
    const write = async (fs: S3CachedFs) => {
      if (how === "transaction") {
        await fs.transaction(async (tx) => {
          for (let index = 0; index < count; index++) await tx.writeFile(path(index), body(index));
        });
      } else if (how === "concurrent") {
        await Promise.all(Array.from({ length: count }, (_, index) => fs.writeFile(path(index), body(index))));
      } else {
        for (let index = 0; index < count; index++) await fs.writeFile(path(index), body(index));
      }
    };
    const methods = {
      sequential: "fs.writeFile, each awaited before the next (a commit each)",
      concurrent: "fs.writeFile, all at once with Promise.all (concurrent writes share commits)",
      transaction: "fs.transaction with a tx.writeFile per file (one commit)",
    };
    context.log(`  local: seeding ${count} files, ${how}`);
    const contenders: Contender[] = [
      {
        subject: "ours",
        method: methods[how],
        run: async () => {
          const mount = await localMount(`seed-${how}`);
          try {
            const commitsBefore = mount.fs.stats().commits?.commits ?? 0;
            const run: SubjectRun = await measureRun({ latency: context.latency, counters: () => totalsOf(mount.fs), body: () => write(mount.fs) });
            checks["ours commits"] = (mount.fs.stats().commits?.commits ?? 0) - commitsBefore;
            return run;
          } finally {
            await mount.close();
          }
        },
      },
      {
        subject: "in-memory",
        method: "InMemoryFs.writeFile, each awaited (not durable)",
        run: async () => {
          const fs = new InMemoryFs();
          await fs.mkdir("/seed", { recursive: true });
          return measureRun({
            latency: context.latency,
            counters: zeroTotals,
            body: async () => {
              for (let index = 0; index < count; index++) await fs.writeFile(path(index), body(index));
            },
          });
        },
      },
    ];
    const subjects = await alternate(contenders, context.settings.repetitions, context.log);
    return { workload: "local", id: `local-seed-${how}`, title: `Local speed: seeding ${count} files through the core API, ${how}`, operations: count, operationUnit: "file", subjects, checks };
  };
  results.push(await seedScenario("sequential"), await seedScenario("concurrent"), await seedScenario("transaction"));
  return results;
}
