// Workload "metadata": stat, exists, readdir of a 1,000-entry directory, and a recursive walk of
// the large tree (10k files by default, 100k with --full).
//
// Ours: a read-only mount (index loaded at mount, untimed) answers all four from its local SQLite
// index: no request. Raw S3: HeadObject, HeadObject, ListObjectsV2 with a delimiter, and
// ListObjectsV2 page after page. S3Filesystem: its stat, exists, readdir and recursive readdir
// (HEAD, then LIST when a path is missing or a directory). Local disk: node:fs.

import type { S3Filesystem } from "@mastra/s3";
import type { BenchContext } from "../context.ts";
import { randomIndexes } from "../data.ts";
import { alternate, measureRun, percentile, timeEach, type Contender } from "../measure.ts";
import type { OurMount } from "../subjects/our-filesystem.ts";
import type { RawS3Files } from "../subjects/raw-s3.ts";
import type { ScenarioResult, SubjectRun } from "../results.ts";
import { largeTree, type LargeTree } from "./large-tree.ts";

interface Subjects {
  tree: LargeTree;
  ours: OurMount;
  raw: RawS3Files;
  mastra: S3Filesystem;
}

export async function metadataOperations(context: BenchContext): Promise<ScenarioResult[]> {
  const tree = await largeTree(context);
  const ours = await context.ours.mount(tree.oursPrefix, { config: { mode: "readonly" } });
  const subjects: Subjects = { tree, ours, raw: context.raw(tree.objectsPrefix), mastra: await context.mastra(tree.objectsPrefix) };
  try {
    return [await statScenario(context, subjects), await existsScenario(context, subjects), await readdirScenario(context, subjects), await walkScenario(context, subjects)];
  } finally {
    await ours.close();
  }
}

/** Four contenders that each call `operation` on every item, timing each call. */
function perCallContenders<T>(
  context: BenchContext,
  { ours }: Subjects,
  items: readonly T[],
  calls: {
    ours: [string, (item: T) => Promise<unknown>];
    raw: [string, (item: T) => Promise<unknown>];
    mastra: [string, (item: T) => Promise<unknown>];
    local: [string, (item: T) => Promise<unknown>];
  },
): Contender[] {
  const timed = (counters: () => ReturnType<OurMount["counters"]>, call: (item: T) => Promise<unknown>) => (): Promise<SubjectRun> =>
    measureRun({
      latency: context.latency,
      counters,
      body: async () => {
        const times = await timeEach(items, call);
        return { p50Ms: percentile(times, 50), p99Ms: percentile(times, 99) };
      },
    });
  return [
    { subject: "ours", method: calls.ours[0], run: timed(ours.counters, calls.ours[1]) },
    { subject: "raw-s3", method: calls.raw[0], run: timed(() => context.rawTally.snapshot(), calls.raw[1]) },
    { subject: "mastra-s3", method: calls.mastra[0], run: timed(() => context.mastraTally.snapshot(), calls.mastra[1]) },
    { subject: "local-disk", method: calls.local[0], run: timed(() => context.rawTally.snapshot(), calls.local[1]) },
  ];
}

const latencyColumns: [string, string][] = [
  ["p50Ms", "p50 ms"],
  ["p99Ms", "p99 ms"],
];

async function statScenario(context: BenchContext, subjects: Subjects): Promise<ScenarioResult> {
  const { statCalls } = context.settings.sizes.metadata;
  const { tree, ours, raw, mastra } = subjects;
  const paths = randomIndexes(statCalls, tree.files, context.settings.seed + 10).map((index) => tree.path(index));
  context.log(`  metadata: ${statCalls} stat calls`);
  const results = await alternate(
    perCallContenders(context, subjects, paths, {
      ours: ["fs.stat (local index)", (path) => ours.fs.stat(`/${path}`)],
      raw: ["HeadObject", (path) => raw.stat(path)],
      mastra: ["stat (HeadObject)", (path) => mastra.stat(path)],
      local: ["fs.promises.stat", (path) => tree.local.stat(path)],
    }),
    context.settings.repetitions,
    context.log,
  );
  return { workload: "metadata", id: "metadata-stat", title: `Metadata: ${statCalls} stat calls on random files of the ${tree.files}-file tree`, operations: statCalls, operationUnit: "stat", metricColumns: latencyColumns, subjects: results, checks: {} };
}

async function existsScenario(context: BenchContext, subjects: Subjects): Promise<ScenarioResult> {
  const { existsCalls } = context.settings.sizes.metadata;
  const { tree, ours, raw, mastra } = subjects;
  // Half the paths exist, half do not (an agent probing for a config file).
  const paths = randomIndexes(existsCalls, tree.files, context.settings.seed + 11).map((index, call) => (call % 2 === 0 ? tree.path(index) : `${tree.path(index)}.missing`));
  context.log(`  metadata: ${existsCalls} exists calls (half missing)`);
  const results = await alternate(
    perCallContenders(context, subjects, paths, {
      ours: ["fs.exists (local index)", (path) => ours.fs.exists(`/${path}`)],
      raw: ["HeadObject", (path) => raw.exists(path)],
      mastra: ["exists (HeadObject, then ListObjectsV2 if missing)", (path) => mastra.exists(path)],
      local: ["fs.promises.access", (path) => tree.local.exists(path)],
    }),
    context.settings.repetitions,
    context.log,
  );
  return {
    workload: "metadata",
    id: "metadata-exists",
    title: `Metadata: ${existsCalls} exists calls, half on missing paths`,
    operations: existsCalls,
    operationUnit: "exists",
    metricColumns: latencyColumns,
    subjects: results,
    checks: {},
  };
}

async function readdirScenario(context: BenchContext, subjects: Subjects): Promise<ScenarioResult> {
  const { readdirCalls, directoryEntries } = context.settings.sizes.metadata;
  const { tree, ours, raw, mastra } = subjects;
  const calls = Array.from({ length: readdirCalls }, () => "wide");
  const entries: Record<string, number> = {};
  const counting = (subject: string, call: (path: string) => Promise<unknown[]>) => async (path: string) => {
    entries[subject] = (await call(path)).length;
  };
  context.log(`  metadata: ${readdirCalls} readdir calls of a ${directoryEntries}-entry directory`);
  const results = await alternate(
    perCallContenders(context, subjects, calls, {
      ours: ["fs.readdir withFileTypes (local index)", counting("ours", (path) => ours.fs.readdir(`/${path}`, { withFileTypes: true }))],
      raw: ["ListObjectsV2 with delimiter, all pages", counting("raw-s3", (path) => raw.readdir(path))],
      mastra: ["readdir (ListObjectsV2 with delimiter)", counting("mastra-s3", (path) => mastra.readdir(path))],
      local: ["fs.promises.readdir withFileTypes", counting("local-disk", (path) => tree.local.readdir(path))],
    }),
    context.settings.repetitions,
    context.log,
  );
  return {
    workload: "metadata",
    id: "metadata-readdir",
    title: `Metadata: readdir of a ${directoryEntries}-entry directory, ${readdirCalls} times`,
    operations: readdirCalls,
    operationUnit: "readdir",
    metricColumns: latencyColumns,
    subjects: results,
    checks: Object.fromEntries(Object.entries(entries).map(([subject, count]) => [`${subject} entries`, count])),
  };
}

async function walkScenario(context: BenchContext, subjects: Subjects): Promise<ScenarioResult> {
  const { tree, ours, raw, mastra } = subjects;
  const found: Record<string, number> = {};
  context.log(`  metadata: recursive walk of ${tree.files} files`);
  const results = await alternate(
    perCallContenders(context, subjects, ["tree"], {
      ours: ["fs.walk (one query of the local index)", async (path) => (found.ours = (await ours.fs.walk(`/${path}`)).filter((entry) => entry.stats.isFile()).length)],
      raw: ["ListObjectsV2 without delimiter, 1,000 keys a page, page after page", async (path) => (found["raw-s3"] = (await raw.listAll(path)).length)],
      mastra: ["readdir recursive (ListObjectsV2 pages)", async (path) => (found["mastra-s3"] = (await mastra.readdir(path, { recursive: true })).filter((entry) => entry.type === "file").length)],
      local: ["fs.promises.readdir recursive", async (path) => (found["local-disk"] = await tree.local.walk(path))],
    }),
    context.settings.repetitions,
    context.log,
  );
  return {
    workload: "metadata",
    id: "metadata-walk",
    title: `Metadata: recursive walk of ${tree.files} files in directories of ${tree.filesPerDirectory}`,
    operations: 1,
    operationUnit: "walk",
    subjects: results,
    checks: Object.fromEntries(Object.entries(found).map(([subject, count]) => [`${subject} entries found`, count])),
  };
}
