// Workload "lifecycle": what it costs to start on a new machine, to stay current while nothing
// changes, and how far a reader trails a writer.
//
// - Cold mount of the large tree (10k files by default, 100k with --full): ours mounts read-only
//   on an empty cache (format.json, the head, the newest snapshot, a probe of the next log slot).
//   With one object per file, learning the namespace means listing it: raw ListObjectsV2 pages, and
//   S3Filesystem's init plus a recursive readdir. A warm remount (index kept) is measured too.
// - Idle refresh: ours `refresh()` when nothing changed (a conditional GET of the head and a probe
//   of the next log slot). One object per file has no log: noticing a change means listing again.
// - Reader lag: a writer writes a small file every `lagIntervalMs`; a reader on another cache
//   refreshes back to back until it sees it (while records keep arriving, each refresh reads the
//   head and the next two log slots at once, so one that finds a record is done in one round trip). Baselines: the reader polls HeadObject (raw) or
//   exists (S3Filesystem) on the very key it waits for, which is the best a reader without a log
//   can do, and only when it knows the name in advance.

import type { BenchContext } from "../context.ts";
import { alternate, alternatePhases, measureRun, percentile, timeEach, type Contender, type PhasedContender } from "../measure.ts";
import { purposes } from "../subjects/our-filesystem.ts";
import type { ScenarioResult, SubjectRun } from "../results.ts";
import { sleep, WireTally } from "../wire.ts";
import { largeTree } from "./large-tree.ts";

export async function lifecycle(context: BenchContext): Promise<ScenarioResult[]> {
  return [...(await mounts(context)), await idleRefresh(context), await readerLag(context)];
}

async function mounts(context: BenchContext): Promise<ScenarioResult[]> {
  const tree = await largeTree(context);
  const { repetitions } = context.settings;
  const checks: Record<string, number | boolean | string> = {};
  const found: Record<string, number> = {};
  // One object per file keeps no state between runs: a machine that saw the tree before lists it again,
  // so one listing per repetition serves the cold and the warm table.
  const listing: PhasedContender[] = [
    {
      subject: "raw-s3",
      method: "ListObjectsV2 of the whole tree, page after page",
      run: async () => [
        await measureRun({ latency: context.latency, counters: () => context.rawTally.snapshot(), body: async () => void (found["raw-s3"] = (await context.raw(tree.objectsPrefix).listAll("tree")).length) }),
      ],
    },
    {
      subject: "mastra-s3",
      method: "new S3Filesystem, init (HeadBucket), readdir recursive",
      run: async () => [
        await measureRun({
          latency: context.latency,
          counters: () => context.mastraTally.snapshot(),
          body: async () => {
            const mastra = await context.mastra(tree.objectsPrefix);
            found["mastra-s3"] = (await mastra.readdir("tree", { recursive: true })).filter((entry) => entry.type === "file").length;
          },
        }),
      ],
    },
  ];
  const ours: PhasedContender = {
    subject: "ours",
    method: ["read-only mount on an empty cache: format.json, head, snapshot, probe of the next log slot", "read-only mount again on that machine, reusing its local index: format.json, head, probe"],
    run: async () => {
      const cacheRoot = context.ours.freshCacheRoot();
      const runs: SubjectRun[] = [];
      for (const phase of ["cold", "warm"]) {
        let mounted: Awaited<ReturnType<typeof context.ours.mount>> | undefined;
        runs.push(
          await measureRun({
            latency: context.latency,
            counters: () => context.ours.wire.snapshot(), // the mount does not exist before the clock starts
            body: async () => {
              mounted = await context.ours.mount(tree.oursPrefix, { cacheRoot, config: { mode: "readonly" } });
            },
          }),
        );
        found.ours = mounted!.fs.stats().files.files;
        for (const [key, value] of Object.entries(purposes(mounted!.recorded()))) checks[`${phase} mount ${key}`] = value;
        await mounted!.close();
      }
      return runs;
    },
  };
  context.log(`  lifecycle: cold mount of ${tree.files} files, then a warm remount (index kept)`);
  const [cold, warm] = await alternatePhases([ours, ...listing], 2, repetitions, context.log);
  const only = (start: string) => Object.fromEntries(Object.entries(checks).filter(([key]) => key.startsWith(start)));
  const filesFound = Object.fromEntries(Object.entries(found).map(([subject, count]) => [`${subject} files known`, count]));
  return [
    {
      workload: "lifecycle",
      id: "lifecycle-cold-mount",
      title: `Lifecycle: cold mount of a ${tree.files + tree.directoryEntries}-file workspace (learning the namespace of ${tree.files} files)`,
      operations: 1,
      operationUnit: "mount",
      subjects: cold!,
      checks: { ...only("cold mount "), ...filesFound },
    },
    {
      workload: "lifecycle",
      id: "lifecycle-warm-mount",
      title: "Lifecycle: remount on a machine that mounted before (local index kept)",
      operations: 1,
      operationUnit: "mount",
      notes: ["The baselines keep no state between runs: they list again (the same listing runs serve both tables)."],
      subjects: warm!,
      checks: only("warm mount "),
    },
  ];
}

async function idleRefresh(context: BenchContext): Promise<ScenarioResult> {
  const tree = await largeTree(context);
  const { idleRefreshes } = context.settings.sizes.lifecycle;
  const calls = Array.from({ length: idleRefreshes }, (_, index) => index);
  const reader = await context.ours.mount(tree.oursPrefix, { config: { mode: "readonly" } });
  const mastra = await context.mastra(tree.objectsPrefix);
  const raw = context.raw(tree.objectsPrefix);
  const latencies = (call: () => Promise<unknown>) => async () => {
    const times = await timeEach(calls, call);
    return { p50Ms: percentile(times, 50), p99Ms: percentile(times, 99) };
  };
  const checks: Record<string, number | boolean | string> = {};
  context.log(`  lifecycle: ${idleRefreshes} idle refreshes`);
  try {
    const subjects = await alternate(
      [
        {
          subject: "ours",
          method: "refresh(): conditional GET of the head (304) and a probe of the next log slot (404)",
          run: async () => {
            const run = await measureRun({
              latency: context.latency,
              counters: reader.counters,
              body: () => {
                reader.resetRecording();
                return latencies(() => reader.fs.refresh())();
              },
            });
            for (const [key, value] of Object.entries(purposes(reader.recorded()))) checks[`refresh ${key}`] = value;
            return run;
          },
        },
        { subject: "raw-s3", method: "ListObjectsV2 of the whole tree (the only way to notice any change)", run: () => measureRun({ latency: context.latency, counters: () => context.rawTally.snapshot(), body: latencies(() => raw.listAll("tree")) }) },
        { subject: "mastra-s3", method: "readdir recursive of the whole tree", run: () => measureRun({ latency: context.latency, counters: () => context.mastraTally.snapshot(), body: latencies(() => mastra.readdir("tree", { recursive: true })) }) },
      ],
      context.settings.repetitions,
      context.log,
    );
    return {
      workload: "lifecycle",
      id: "lifecycle-idle-refresh",
      title: `Lifecycle: ${idleRefreshes} refreshes with nothing changed (${tree.files}-file tree)`,
      operations: idleRefreshes,
      operationUnit: "refresh",
      metricColumns: [
        ["p50Ms", "p50 ms"],
        ["p99Ms", "p99 ms"],
      ],
      subjects,
      checks: { ...checks, refreshes: idleRefreshes },
    };
  } finally {
    await reader.close();
  }
}

async function readerLag(context: BenchContext): Promise<ScenarioResult> {
  const { lagWrites, lagIntervalMs } = context.settings.sizes.lifecycle;
  const body = new TextEncoder().encode("x".repeat(1024));
  const path = (index: number) => `lag/file${index}.txt`;

  /** Writes every `lagIntervalMs`; a reader loop looks for each file until it appears. */
  const lagRun = async (write: (index: number) => Promise<void>, poll: (index: number) => Promise<boolean>, between?: () => Promise<void>) => {
    const acknowledged: number[] = [];
    const seen: number[] = [];
    let polls = 0;
    const reading = (async () => {
      for (let index = 0; index < lagWrites; index++) {
        for (;;) {
          await between?.();
          polls++;
          if (await poll(index)) break;
        }
        seen[index] = performance.now();
      }
    })();
    for (let index = 0; index < lagWrites; index++) {
      await write(index);
      acknowledged[index] = performance.now();
      await sleep(lagIntervalMs);
    }
    await reading;
    const lags = seen.map((time, index) => Math.max(0, time - acknowledged[index]!));
    return { lagP50Ms: percentile(lags, 50), lagP99Ms: percentile(lags, 99), pollsPerWrite: polls / lagWrites };
  };

  const checks: Record<string, number | boolean | string> = {};
  context.log(`  lifecycle: reader lag behind a writer, ${lagWrites} writes ${lagIntervalMs} ms apart`);
  const contenders: Contender[] = [
    {
      subject: "ours",
      method: "writer writeFile; reader on another cache: refresh() back to back, then exists() from its index",
      run: async (): Promise<SubjectRun> => {
        const prefix = context.prefix("lag-ours");
        const writer = await context.ours.mount(prefix);
        await writer.fs.writeFile("/lag/.keep", "");
        const reader = await context.ours.mount(prefix, { config: { mode: "readonly" } });
        try {
          // Requests of the reader only: what following a writer costs.
          let refreshes = 0;
          let changed = 0;
          reader.resetRecording();
          const run = await measureRun({
            latency: context.latency,
            counters: reader.counters,
            body: () =>
              lagRun(
                (index) => writer.fs.writeFile(`/${path(index)}`, body),
                (index) => reader.fs.exists(`/${path(index)}`),
                async () => {
                  refreshes++;
                  if ((await reader.fs.refresh()).changed) changed++;
                },
              ),
          });
          // The last repetition's: how the reader's requests split between the head and the log.
          for (const [key, value] of Object.entries(purposes(reader.recorded()))) checks[`reader ${key}`] = value;
          checks["reader refreshes"] = refreshes;
          checks["reader refreshes that found records"] = changed;
          return run;
        } finally {
          await reader.close();
          await writer.close();
        }
      },
    },
    {
      subject: "raw-s3",
      method: "PutObject; reader polls HeadObject on the expected key",
      run: () => {
        const prefix = context.prefix("lag-raw");
        const readerTally = new WireTally();
        const writer = context.raw(prefix);
        const reader = context.raw(prefix, readerTally);
        return measureRun({
          latency: context.latency,
          counters: () => readerTally.snapshot(),
          body: () =>
            lagRun(
              (index) => writer.write(path(index), body),
              (index) => reader.exists(path(index)),
            ),
        });
      },
    },
    {
      subject: "mastra-s3",
      method: "writeFile; reader polls exists on the expected path",
      run: async () => {
        const prefix = context.prefix("lag-mastra");
        const readerTally = new WireTally();
        const writer = await context.mastra(prefix);
        const reader = await context.mastra(prefix, readerTally);
        return measureRun({
          latency: context.latency,
          counters: () => readerTally.snapshot(),
          body: () =>
            lagRun(
              (index) => writer.writeFile(path(index), body),
              (index) => reader.exists(path(index)),
            ),
        });
      },
    },
  ];
  const subjects = await alternate(contenders, context.settings.repetitions, context.log);
  return {
    workload: "lifecycle",
    id: "lifecycle-reader-lag",
    title: `Lifecycle: reader lag behind a writer (${lagWrites} writes of 1 KiB, ${lagIntervalMs} ms apart)`,
    operations: lagWrites,
    operationUnit: "write followed",
    timed: false,
    metricColumns: [
      ["lagP50Ms", "lag p50 ms"],
      ["lagP99Ms", "lag p99 ms"],
      ["pollsPerWrite", "polls per write"],
    ],
    notes: [
      "Requests are the reader's only (the writer's are in the insert tables). Lag is from the writer's acknowledgement to the reader seeing the file.",
      "The baselines poll the one key they know will appear; a reader of a tree whose new names it does not know would have to list instead (see idle refresh).",
    ],
    subjects,
    checks,
  };
}
