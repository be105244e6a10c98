// Workload "mixed": random whole-file reads and whole-file writes over a workspace of small files
// (50 MiB by default, 500 MiB with --full), as `clients` concurrent workers, with ours at several
// cache sizes: a tenth, a fifth and all of the workspace (`cacheFractions`), and 100 MiB
// (`cacheBytes`, the one size older tables have). Every subject runs the same seeded sequence of
// operations on the same file names.
//
// Ours: a writer mounted on a machine that has never seen the workspace (empty cache, index loaded
// from the snapshot at mount, untimed): a read miss is one ranged GET of just that file's bytes
// (later misses in a directory also fetch the files stored after it, in a window as large as what
// the reader has read there, at most a quarter of the cache: src/data/read-planner.ts); a write is
// one commit (concurrent writes share one). For each cache size, each repetition seeds ours afresh,
// runs the sequence, then runs it again on a new empty cache over the workspace the first pass
// rewrote (files now spread over many small commit records): both states are tabled. Raw S3 and
// S3Filesystem: GetObject and PutObject per operation, no cache, so measured once per repetition
// and compared with ours at every cache size. Local disk: readFile and writeFile.

import type { BenchContext } from "../context.ts";
import { randomFiles, randomIndexes, shuffled, treePath } from "../data.ts";
import { alternatePhases, mapLimited, measureRun, percentile, type PhasedContender } from "../measure.ts";
import { purposes } from "../subjects/our-filesystem.ts";
import type { ScenarioResult, SubjectRun } from "../results.ts";
import type { RequestTotals } from "../wire.ts";
import type { MixedSize } from "../settings.ts";

interface Operation {
  kind: "read" | "write";
  file: number;
}

export async function mixedReadWrite(context: BenchContext): Promise<ScenarioResult[]> {
  const results: ScenarioResult[] = [];
  for (const workspace of context.settings.sizes.mixed.workspaces) results.push(...(await mixedScenarios(context, workspace)));
  return results;
}

/** One cache size ours runs at: its bytes, how it is named in titles, and the suffix of its scenarios' ids. */
interface CacheSize {
  bytes: number;
  label: string;
  idSuffix: string;
}

function sizeLabel(bytes: number): string {
  const MiB = 2 ** 20;
  if (bytes >= MiB) return `${Number((bytes / MiB).toFixed(bytes % MiB === 0 ? 0 : 1))} MiB`;
  return `${Number((bytes / 1024).toFixed(bytes % 1024 === 0 ? 0 : 1))} KiB`;
}

/**
 * The cache sizes ours runs at over `workspace`: each fraction of it, then `cacheBytes` with the ids
 * older tables have (unless a fraction already is that size: then that row keeps those ids).
 */
export function mixedCacheSizes(workspaceBytes: number, cacheBytes: number, fractions: readonly number[]): CacheSize[] {
  const sizes: CacheSize[] = [];
  const percent = (bytes: number) => `${Number(((100 * bytes) / workspaceBytes).toFixed(1))}% of the workspace`;
  for (const fraction of fractions) {
    const bytes = Math.floor(fraction * workspaceBytes);
    if (bytes === cacheBytes || sizes.some((size) => size.bytes === bytes)) continue;
    sizes.push({ bytes, label: `${sizeLabel(bytes)} cache (${percent(bytes)})`, idSuffix: `-cache${Number((fraction * 100).toFixed(1))}pct`.replace(".", "_") });
  }
  sizes.push({ bytes: cacheBytes, label: `${sizeLabel(cacheBytes)} cache (${percent(cacheBytes)})`, idSuffix: "" });
  return sizes;
}

async function mixedScenarios(context: BenchContext, workspace: MixedSize): Promise<ScenarioResult[]> {
  const { reads, writes, clients, cacheBytes, cacheFractions } = context.settings.sizes.mixed;
  const cacheSizes = mixedCacheSizes(workspace.workspaceBytes, cacheBytes, cacheFractions);
  const { repetitions, seed } = context.settings;
  const fileCount = Math.floor(workspace.workspaceBytes / workspace.fileBytes);
  const path = (file: number) => treePath("data", file, 100);
  context.log(`  mixed ${workspace.label}: seeding ${fileCount} files of ${workspace.fileBytes} bytes`);

  // Seed (untimed, no latency): one object per file for the baselines, the same files on local disk;
  // ours gets a freshly seeded prefix per repetition (transactions of 400, then closed so mounts
  // start from a snapshot), so every repetition starts from the same layout.
  const objectsPrefix = context.prefix(`mixed-objects`);
  const local = context.local("mixed");
  for (let start = 0; start < fileCount; start += 400) {
    const bodies = randomFiles(Math.min(400, fileCount - start), workspace.fileBytes);
    await context.seedObjects(objectsPrefix, bodies.map((body, offset) => ({ path: path(start + offset), body })));
    for (const [offset, body] of bodies.entries()) await local.writeCreating(path(start + offset), body);
  }
  const raw = context.raw(objectsPrefix);
  const mastra = await context.mastra(objectsPrefix);
  // Seeded with the largest cache: the seed is untimed and its cache is never used again.
  const seedOurs = async () => {
    const prefix = context.prefix("mixed-ours");
    const writer = await context.ours.mount(prefix, { config: { cacheBytes: Math.max(...cacheSizes.map((size) => size.bytes)) } });
    for (let start = 0; start < fileCount; start += 400) {
      const bodies = randomFiles(Math.min(400, fileCount - start), workspace.fileBytes);
      await writer.fs.transaction(async (tx) => {
        for (const [offset, body] of bodies.entries()) await tx.writeFile(`/${path(start + offset)}`, body);
      });
    }
    await writer.close();
    return prefix;
  };

  const operations: Operation[] = shuffled(
    [
      ...randomIndexes(reads, fileCount, seed + 1).map((file): Operation => ({ kind: "read", file })),
      ...randomIndexes(writes, fileCount, seed + 2).map((file): Operation => ({ kind: "write", file })),
    ],
    seed + 3,
  );
  const workers = Array.from({ length: clients }, (_, worker) => operations.filter((_, index) => index % clients === worker));
  const bodies = randomFiles(64, workspace.fileBytes);
  // A read misses our empty cache only the first time its file is touched, unless a write came first.
  const touched = new Set<number>();
  let firstTouchReads = 0;
  for (const operation of operations) {
    if (!touched.has(operation.file) && operation.kind === "read") firstTouchReads++;
    touched.add(operation.file);
  }

  /** Runs the sequence with `read` and `write`, returning per-kind latency percentiles. */
  const runOperations = async (read: (file: number) => Promise<unknown>, write: (file: number, body: Uint8Array) => Promise<unknown>) => {
    const readTimes: number[] = [];
    const writeTimes: number[] = [];
    await mapLimited(workers, clients, async (sequence) => {
      for (const [index, operation] of sequence.entries()) {
        const started = performance.now();
        if (operation.kind === "read") await read(operation.file);
        else await write(operation.file, bodies[index % bodies.length]!);
        (operation.kind === "read" ? readTimes : writeTimes).push(performance.now() - started);
      }
    });
    return {
      readP50Ms: percentile(readTimes, 50),
      readP99Ms: percentile(readTimes, 99),
      writeP50Ms: percentile(writeTimes, 50),
      writeP99Ms: percentile(writeTimes, 99),
    };
  };

  const checks: Record<string, number | boolean | string> = { files: fileCount, "reads that first touch a file": firstTouchReads, writes };
  /** Ours' request counts by purpose, per cache size and phase (keyed as the runs are ordered). */
  const phaseChecks = new Map<string, Record<string, number>>();
  const phases = ["seeded", "rewritten"] as const;
  const baselineRun = (counters: () => RequestTotals, read: (file: number) => Promise<unknown>, write: (file: number, body: Uint8Array) => Promise<unknown>) => async (): Promise<SubjectRun[]> => [
    await measureRun({ latency: context.latency, counters, body: () => runOperations(read, write) }),
  ];
  const contenders: PhasedContender[] = [
    {
      subject: "ours",
      method: [
        `writer on an empty cache of the size in the title, the workspace as seeded (transactions of 400); read miss = ranged GET (later misses in a directory fetch a window after it, as large as what was read there), write = commit (concurrent writes grouped)`,
        `the same sequence again, on an empty cache, over the workspace the first pass rewrote (1 file per commit record)`,
      ],
      run: async () => {
        const runs: SubjectRun[] = [];
        for (const cache of cacheSizes) {
          const prefix = await seedOurs();
          for (const phase of phases) {
            const mount = await context.ours.mount(prefix, { config: { cacheBytes: cache.bytes } });
            try {
              runs.push(
                await measureRun({
                  latency: context.latency,
                  counters: mount.counters,
                  body: async () => {
                    mount.resetRecording();
                    const before = mount.fs.stats().cache;
                    const metrics = await runOperations(
                      (file) => mount.fs.readFile(`/${path(file)}`),
                      (file, body) => mount.fs.writeFile(`/${path(file)}`, body),
                    );
                    const after = mount.fs.stats().cache;
                    return { ...metrics, cacheMisses: after.misses - before.misses, cacheEvictions: after.evictions - before.evictions };
                  },
                  settle: context.settleOurWriter,
                }),
              );
              const byPurpose = purposes(mount.recorded());
              const recorded: Record<string, number> = {};
              for (const [key, value] of Object.entries(byPurpose)) recorded[`${phase}: ours ${key}`] = value;
              recorded[`${phase}: ours data GETs`] = (byPurpose["get wal"] ?? 0) + (byPurpose["get packs"] ?? 0) + (byPurpose["get chunks"] ?? 0);
              recorded[`${phase}: ours cache bytes`] = cache.bytes;
              phaseChecks.set(`${cache.idSuffix}/${phase}`, recorded);
            } finally {
              await mount.close();
            }
          }
        }
        return runs;
      },
    },
    { subject: "raw-s3", method: "GetObject / PutObject per operation", run: baselineRun(() => context.rawTally.snapshot(), (file) => raw.read(path(file)), (file, body) => raw.write(path(file), body)) },
    { subject: "mastra-s3", method: "readFile / writeFile per operation", run: baselineRun(() => context.mastraTally.snapshot(), (file) => mastra.readFile(path(file)), (file, body) => mastra.writeFile(path(file), body)) },
    { subject: "local-disk", method: "fs.promises readFile / writeFile", run: baselineRun(() => context.rawTally.snapshot(), (file) => local.read(path(file)), (file, body) => local.write(path(file), body)) },
  ];
  context.log(`  mixed ${workspace.label}: ${reads} reads + ${writes} writes, ${clients} clients; ours twice (seeded, then rewritten) at each cache size: ${cacheSizes.map((size) => sizeLabel(size.bytes)).join(", ")}`);
  const tables = await alternatePhases(contenders, cacheSizes.length * phases.length, repetitions, context.log);
  const columns: [string, string][] = [
    ["readP50Ms", "read p50 ms"],
    ["readP99Ms", "read p99 ms"],
    ["writeP50Ms", "write p50 ms"],
    ["writeP99Ms", "write p99 ms"],
  ];
  const id = `mixed-${workspace.label.replace(/\s+/g, "").toLowerCase()}`;
  const oneObjectPerFile = "One object per file is rewritten in place and keeps no cache: one baseline measurement per repetition serves every mixed table of this workspace (each cache size of ours, both states).";
  return cacheSizes.flatMap((cache, row) => {
    const title = `Mixed: ${reads} random reads + ${writes} random whole-file writes, ${workspace.label} workspace (${fileCount} files of ${workspace.fileBytes / 1024} KiB), ${cache.label}, ${clients} concurrent clients`;
    return phases.map(
      (phase, index): ScenarioResult => ({
        workload: "mixed",
        id: `${id}${cache.idSuffix}${phase === "rewritten" ? "-rewritten" : ""}`,
        title: phase === "rewritten" ? `${title}: ours again on the workspace its first pass rewrote` : title,
        operations: reads + writes,
        operationUnit: "operation",
        metricColumns: columns,
        notes: [oneObjectPerFile],
        subjects: tables[row * phases.length + index]!,
        checks: { ...checks, ...phaseChecks.get(`${cache.idSuffix}/${phase}`) },
      }),
    );
  });
}
