// Workload "reads": small-file read latency cold (a machine that has never read the workspace)
// and warm (read before), bytes and requests per cold read for the ways a reader goes through a
// directory; large-file write and read throughput against raw parallel PUT/GET, and piecewise
// reads against a GET per piece.
//
// Ours, cold: a read-only mount on an empty cache (mount untimed). A read of a 10 KiB file alone
// in its directory is one ranged GET of its 10 KiB. Reads in one directory of `smallFiles` meet the
// core's read-ahead (src/data/read-planner.ts): from the second miss on, the files stored after
// the one read, in a window as large as what the reader has read there less what it was fetched
// ahead and left unread. Three patterns: scattered (`coldReads` distinct files in random order),
// sequential (`coldReads` files in directory order) and the whole directory (every file, in
// directory order); each reports bytes fetched per byte read beside its requests per read. Warm:
// the scattered reads once more on that mount, from the cache. Large files: `writeFile` uploads 8 MiB chunks, 4 in parallel, then commits; `readFile`
// fetches 8 MiB ranges, up to 8 in parallel; `stream` reads four windows ahead of its consumer;
// `readRange` in 1 MiB pieces, in order, fetches two chunks ahead once the run is seen. Raw S3:
// GetObject per small file; multipart upload and ranged GETs of 8 MiB parts, 4 in parallel; a
// ranged GET per 1 MiB piece.
// S3Filesystem: readFile (one GET) and writeFile (one PUT of the whole file); left out of the
// sequential and whole-directory tables, where it would only repeat raw S3's GET per file. Local
// disk: node:fs (reads come from the page cache: the kernel's cache cannot be dropped without root).

import type { BenchContext } from "../context.ts";
import { randomFiles, shuffled } from "../data.ts";
import { alternate, alternatePhases, measureRun, percentile, timeEach, type Contender, type PhasedContender } from "../measure.ts";
import { purposes } from "../subjects/our-filesystem.ts";
import type { ScenarioResult, SubjectRun } from "../results.ts";
import type { RequestTotals } from "../wire.ts";

export async function fileReads(context: BenchContext): Promise<ScenarioResult[]> {
  return [...(await smallFileReads(context)), ...(await largeFiles(context))];
}

async function smallFileReads(context: BenchContext): Promise<ScenarioResult[]> {
  const { smallFiles, fileBytes, coldReads } = context.settings.sizes.reads;
  const { repetitions, seed } = context.settings;
  // Two layouts of the same kind of file: `smallFiles` in one directory (what a scan reads), and
  // `coldReads` more, each alone in its own directory (reads that look like no scan).
  const scanPath = (index: number) => `scan/file${String(index).padStart(5, "0")}.bin`;
  const scatteredPath = (index: number) => `scattered/d${String(index).padStart(5, "0")}/file.bin`;
  const paths = [...Array.from({ length: smallFiles }, (_, index) => scanPath(index)), ...Array.from({ length: coldReads }, (_, index) => scatteredPath(index))];
  context.log(`  reads: seeding ${paths.length} files of ${fileBytes} bytes`);
  const oursPrefix = context.prefix("reads-ours");
  const objectsPrefix = context.prefix("reads-objects");
  const local = context.local("reads");
  const writer = await context.ours.mount(oursPrefix);
  for (let start = 0; start < paths.length; start += 400) {
    const slice = paths.slice(start, start + 400);
    const bodies = randomFiles(slice.length, fileBytes);
    await writer.fs.transaction(async (tx) => {
      for (const [offset, body] of bodies.entries()) await tx.writeFile(`/${slice[offset]}`, body);
    });
    await context.seedObjects(objectsPrefix, bodies.map((body, offset) => ({ path: slice[offset]!, body })));
    for (const [offset, body] of bodies.entries()) await local.writeCreating(slice[offset]!, body);
  }
  await writer.close();
  const mastra = await context.mastra(objectsPrefix);
  const raw = context.raw(objectsPrefix);
  // Distinct files in a random order: every one of them is a miss for a cold reader.
  const scanPicks = shuffled(
    Array.from({ length: smallFiles }, (_, index) => scanPath(index)),
    seed + 20,
  ).slice(0, coldReads);
  const scatteredPicks = shuffled(
    Array.from({ length: coldReads }, (_, index) => scatteredPath(index)),
    seed + 21,
  );

  const checks: Record<string, number | boolean | string> = {};
  const latencies = async (picks: readonly string[], read: (path: string) => Promise<unknown>) => {
    const times = await timeEach(picks, read);
    return { p50Ms: percentile(times, 50), p99Ms: percentile(times, 99) };
  };
  const baselines = (picks: readonly string[], withMastra = true): PhasedContender[] => {
    const baseline = (counters: () => RequestTotals, read: (path: string) => Promise<unknown>) => async (): Promise<SubjectRun[]> => [
      await measureRun({ latency: context.latency, counters, body: () => latencies(picks, read) }),
    ];
    return [
      { subject: "raw-s3", method: "GetObject per file (no cache: every read is cold)", run: baseline(() => context.rawTally.snapshot(), (path) => raw.read(path)) },
      ...(withMastra ? [{ subject: "mastra-s3" as const, method: "readFile (GetObject) per file (no cache)", run: baseline(() => context.mastraTally.snapshot(), (path) => mastra.readFile(path)) }] : []),
      { subject: "local-disk", method: "fs.promises.readFile (page cache)", run: baseline(() => context.rawTally.snapshot(), (path) => local.read(path)) },
    ];
  };

  /** A read-only mount on an empty cache: the picks cold, then (if asked) the same picks warm. */
  const oursReads = (label: string, picks: readonly string[], warmToo: boolean) => async (): Promise<SubjectRun[]> => {
    const mount = await context.ours.mount(oursPrefix, { config: { mode: "readonly" } });
    try {
      const runs: SubjectRun[] = [];
      for (const phase of warmToo ? ["cold", "warm"] : ["cold"]) {
        const run = await measureRun({
          latency: context.latency,
          counters: mount.counters,
          body: async () => {
            mount.resetRecording();
            return latencies(picks, (path) => mount.fs.readFile(`/${path}`));
          },
        });
        for (const [key, value] of Object.entries(purposes(mount.recorded()))) checks[`${label} ${phase} ${key}`] = value;
        checks[`${label} ${phase} bytes fetched per read`] = run.requests.bytesIn / picks.length;
        checks[`${label} ${phase} bytes fetched per byte read`] = run.requests.bytesIn / (picks.length * fileBytes);
        runs.push(run);
      }
      return runs;
    } finally {
      await mount.close();
    }
  };

  context.log(`  reads: ${coldReads} cold reads of files alone in their directories`);
  const [scattered] = await alternatePhases(
    [{ subject: "ours", method: "read-only mount on an empty cache: one ranged GET of just the file's bytes per read", run: oursReads("scattered", scatteredPicks, false) }, ...baselines(scatteredPicks)],
    1,
    repetitions,
    context.log,
  );
  context.log(`  reads: ${coldReads} cold reads of distinct files of one ${smallFiles}-file directory, then the same reads warm`);
  const [scanCold, scanWarm] = await alternatePhases(
    [
      {
        subject: "ours",
        method: [
          "read-only mount on an empty cache; from the second miss on, the files stored after the one read, a window as large as the bytes read there less those fetched ahead and left unread",
          "the same reads again on that mount, from the local cache",
        ],
        run: oursReads("scan", scanPicks, true),
      },
      ...baselines(scanPicks),
    ],
    2,
    repetitions,
    context.log,
  );
  // In directory order: a run of `coldReads` files starting at a random place, then every file.
  const sequentialStart = shuffled(
    Array.from({ length: smallFiles - coldReads + 1 }, (_, index) => index),
    seed + 22,
  )[0]!;
  const sequentialPicks = Array.from({ length: coldReads }, (_, index) => scanPath(sequentialStart + index));
  const directoryPicks = Array.from({ length: smallFiles }, (_, index) => scanPath(index));
  context.log(`  reads: ${coldReads} cold reads of one ${smallFiles}-file directory in directory order, from file ${sequentialStart}`);
  const [sequential] = await alternatePhases(
    [
      { subject: "ours", method: "read-only mount on an empty cache; each window fetched when the reader reaches the end of the last, as large as everything it read", run: oursReads("sequential", sequentialPicks, false) },
      ...baselines(sequentialPicks, false),
    ],
    1,
    repetitions,
    context.log,
  );
  context.log(`  reads: every file of one ${smallFiles}-file directory, cold, in directory order`);
  const [directory] = await alternatePhases(
    [
      { subject: "ours", method: "read-only mount on an empty cache; windows doubling as the reader goes through them, at most a quarter of the cache each", run: oursReads("directory", directoryPicks, false) },
      ...baselines(directoryPicks, false),
    ],
    1,
    repetitions,
    context.log,
  );
  const columns: [string, string][] = [
    ["p50Ms", "p50 ms"],
    ["p99Ms", "p99 ms"],
  ];
  const only = (start: string) => Object.fromEntries(Object.entries(checks).filter(([key]) => key.startsWith(start)));
  const noCache = "Raw S3 and S3Filesystem have no cache: one measurement of their reads per repetition serves the cold and the warm table.";
  return [
    {
      workload: "reads",
      id: "reads-small-cold-scattered",
      title: `Reads: ${coldReads} cold reads of ${fileBytes / 1024} KiB files, each alone in its directory (one at a time)`,
      operations: coldReads,
      operationUnit: "read",
      metricColumns: columns,
      subjects: scattered!,
      checks: { ...only("scattered cold "), "file bytes": fileBytes },
    },
    {
      workload: "reads",
      id: "reads-small-cold-scan",
      title: `Reads, scattered: ${coldReads} cold reads of distinct ${fileBytes / 1024} KiB files of one ${smallFiles}-file directory, in random order (one at a time)`,
      operations: coldReads,
      operationUnit: "read",
      metricColumns: columns,
      notes: [noCache],
      subjects: scanCold!,
      checks: { ...only("scan cold "), "file bytes": fileBytes },
    },
    {
      workload: "reads",
      id: "reads-small-cold-sequential",
      title: `Reads, sequential: ${coldReads} cold reads of ${fileBytes / 1024} KiB files of one ${smallFiles}-file directory, in directory order (one at a time)`,
      operations: coldReads,
      operationUnit: "read",
      metricColumns: columns,
      subjects: sequential!,
      checks: { ...only("sequential cold "), "first file": sequentialStart, "file bytes": fileBytes },
    },
    {
      workload: "reads",
      id: "reads-small-cold-directory",
      title: `Reads, whole directory: all ${smallFiles} ${fileBytes / 1024} KiB files of one directory, cold, in directory order (one at a time)`,
      operations: smallFiles,
      operationUnit: "read",
      metricColumns: columns,
      subjects: directory!,
      checks: { ...only("directory cold "), "file bytes": fileBytes },
    },
    {
      workload: "reads",
      id: "reads-small-warm",
      title: `Reads: the same ${coldReads} scattered reads, warm (read once before on the same mount)`,
      operations: coldReads,
      operationUnit: "read",
      metricColumns: columns,
      notes: [noCache],
      subjects: scanWarm!,
      checks: only("scan warm "),
    },
  ];
}

async function largeFiles(context: BenchContext): Promise<ScenarioResult[]> {
  const { largeFileBytes, partBytes, partConcurrency } = context.settings.sizes.reads;
  const { repetitions } = context.settings;
  const megabytes = largeFileBytes / 2 ** 20;
  const [body] = randomFiles(1, largeFileBytes);
  const throughput = (milliseconds: number) => ({ megabytesPerSecond: megabytes / (milliseconds / 1000) });
  const checks: Record<string, number | boolean | string> = {};

  // Timed work returns its own wall time, so that throughput is computed inside the run.
  const timedThroughput = async (work: () => Promise<unknown>) => {
    const started = performance.now();
    await work();
    return throughput(performance.now() - started);
  };

  context.log(`  reads: writing a ${megabytes} MiB file`);
  const writePrefixes = { ours: context.prefix("large-ours"), objects: context.prefix("large-objects") };
  const local = context.local("large");
  const writeContenders: Contender[] = [
    {
      subject: "ours",
      method: `writeFile: ${partBytes / 2 ** 20} MiB chunks, 4 in parallel, then one commit`,
      run: async (repetition) => {
        const mount = await context.ours.mount(writePrefixes.ours);
        try {
          const run = await measureRun({
            latency: context.latency,
            counters: mount.counters,
            body: () => {
              mount.resetRecording();
              return timedThroughput(() => mount.fs.writeFile(`/large-${repetition}.bin`, body!));
            },
            settle: context.settleOurWriter,
          });
          for (const [key, value] of Object.entries(purposes(mount.recorded()))) checks[`write ${key}`] = value;
          return run;
        } finally {
          await mount.close();
        }
      },
    },
    {
      subject: "raw-s3",
      method: `multipart upload, ${partBytes / 2 ** 20} MiB parts, ${partConcurrency} in parallel`,
      run: (repetition) => {
        const raw = context.raw(writePrefixes.objects);
        return measureRun({ latency: context.latency, counters: () => context.rawTally.snapshot(), body: () => timedThroughput(() => raw.writeParallel(`large-${repetition}.bin`, body!, partBytes, partConcurrency)) });
      },
    },
    {
      subject: "mastra-s3",
      method: "writeFile: one PutObject of the whole file",
      run: async (repetition) => {
        const mastra = await context.mastra(writePrefixes.objects);
        return measureRun({ latency: context.latency, counters: () => context.mastraTally.snapshot(), body: () => timedThroughput(() => mastra.writeFile(`mastra-${repetition}.bin`, body!)) });
      },
    },
    {
      subject: "local-disk",
      method: "fs.promises.writeFile",
      run: (repetition) => measureRun({ latency: context.latency, counters: () => context.rawTally.snapshot(), body: () => timedThroughput(() => local.write(`large-${repetition}.bin`, body!)) }),
    },
  ];
  const writes = await alternate(writeContenders, repetitions, context.log);

  // The file each subject reads: written above (repetition 0), by that subject.
  const readContenders = (ours: Contender): Contender[] => [
    ours,
    {
      subject: "raw-s3",
      method: `ranged GETs of ${partBytes / 2 ** 20} MiB, ${partConcurrency} in parallel`,
      run: () => {
        const raw = context.raw(writePrefixes.objects);
        return measureRun({ latency: context.latency, counters: () => context.rawTally.snapshot(), body: () => timedThroughput(() => raw.readParallel("large-0.bin", largeFileBytes, partBytes, partConcurrency)) });
      },
    },
    {
      subject: "mastra-s3",
      method: "readFile: one GetObject of the whole file",
      run: async () => {
        const mastra = await context.mastra(writePrefixes.objects);
        return measureRun({ latency: context.latency, counters: () => context.mastraTally.snapshot(), body: () => timedThroughput(() => mastra.readFile("mastra-0.bin")) });
      },
    },
    {
      subject: "local-disk",
      method: "fs.promises.readFile (page cache)",
      run: () => measureRun({ latency: context.latency, counters: () => context.rawTally.snapshot(), body: () => timedThroughput(() => local.read("large-0.bin")) }),
    },
  ];
  // Piece by piece, as a parser or a copy through a fixed buffer reads: each call continues the last.
  const piece = 2 ** 20;
  const oursColdRead = (how: "readFile" | "stream" | "readRange") => async (): Promise<SubjectRun> => {
    const mount = await context.ours.mount(writePrefixes.ours, { config: { mode: "readonly", cacheBytes: Math.max(256 * 2 ** 20, 2 * largeFileBytes) } });
    try {
      const run = await measureRun({
        latency: context.latency,
        counters: mount.counters,
        body: () => {
          mount.resetRecording();
          return timedThroughput(async () => {
            if (how === "readFile") return mount.fs.readFile("/large-0.bin");
            let bytes = 0;
            if (how === "stream") for await (const chunk of await mount.fs.stream("/large-0.bin")) bytes += chunk.byteLength;
            else for (let offset = 0; offset < largeFileBytes; offset += piece) bytes += (await mount.fs.readRange("/large-0.bin", offset, piece)).byteLength;
            if (bytes !== largeFileBytes) throw new Error(`${how} returned ${bytes} bytes, expected ${largeFileBytes}`);
          });
        },
      });
      for (const [key, value] of Object.entries(purposes(mount.recorded()))) checks[`${how} ${key}`] = value;
      return run;
    } finally {
      await mount.close();
    }
  };
  context.log(`  reads: reading the ${megabytes} MiB file cold, whole (readFile)`);
  const readWhole = await alternate(
    readContenders({ subject: "ours", method: "readFile on an empty cache: 8 MiB ranged GETs, up to 8 in parallel", run: oursColdRead("readFile") }),
    repetitions,
    context.log,
  );
  context.log(`  reads: reading the ${megabytes} MiB file cold, as a stream`);
  const readStream = await alternate(
    readContenders({ subject: "ours", method: "stream() on an empty cache: four 8 MiB windows fetched ahead of the consumer", run: oursColdRead("stream") }),
    repetitions,
    context.log,
  );
  context.log(`  reads: reading the ${megabytes} MiB file cold, in 1 MiB readRange calls`);
  const readPieces = await alternate(
    [
      {
        subject: "ours",
        method: "readRange of 1 MiB at a time, in order, on an empty cache: each call continuing the last fetches two chunks ahead",
        run: oursColdRead("readRange"),
      },
      {
        subject: "raw-s3",
        method: "a ranged GET of 1 MiB per piece, in order",
        run: () => {
          const raw = context.raw(writePrefixes.objects);
          return measureRun({ latency: context.latency, counters: () => context.rawTally.snapshot(), body: () => timedThroughput(() => raw.readParallel("large-0.bin", largeFileBytes, piece, 1)) });
        },
      },
      {
        subject: "local-disk",
        method: "FileHandle.read of 1 MiB per piece, in order (page cache)",
        run: () => measureRun({ latency: context.latency, counters: () => context.rawTally.snapshot(), body: () => timedThroughput(() => local.readPieces("large-0.bin", largeFileBytes, piece)) }),
      },
    ],
    repetitions,
    context.log,
  );
  const columns: [string, string][] = [["megabytesPerSecond", "MiB/s"]];
  const only = (start: string) => Object.fromEntries(Object.entries(checks).filter(([key]) => key.startsWith(start)));
  return [
    { workload: "reads", id: "reads-large-write", title: `Large file: write ${megabytes} MiB`, operations: 1, operationUnit: "file", metricColumns: columns, subjects: writes, checks: only("write ") },
    { workload: "reads", id: "reads-large-read", title: `Large file: read ${megabytes} MiB whole, cold`, operations: 1, operationUnit: "file", metricColumns: columns, subjects: readWhole, checks: only("readFile ") },
    {
      workload: "reads",
      id: "reads-large-stream",
      title: `Large file: read ${megabytes} MiB sequentially as a stream, cold`,
      operations: 1,
      operationUnit: "file",
      metricColumns: columns,
      notes: ["Baselines as in the previous table (they have no separate streaming path worth measuring), measured again in this run."],
      subjects: readStream,
      checks: only("stream "),
    },
    {
      workload: "reads",
      id: "reads-large-range",
      title: `Large file: read ${megabytes} MiB in 1 MiB readRange calls, in order, cold`,
      operations: 1,
      operationUnit: "file",
      metricColumns: columns,
      notes: ["Raw S3 reads each piece when asked, as a piecewise reader without read-ahead does; the parallel download of the tables above is the other bound."],
      subjects: readPieces,
      checks: only("readRange "),
    },
  ];
}
