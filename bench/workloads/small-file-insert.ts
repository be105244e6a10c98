// Workload "insert": creating many 10 KiB files, in transactions of 400 (a batch job, an agent
// unpacking a project) and one at a time (each write awaited before the next).
//
// Ours: `fs.transaction` per batch (one commit, one create-only PUT of a wal/ record holding the
// files inline), and `fs.writeFile` per file (one commit each). Raw S3 and S3Filesystem have no
// batch: a "transaction" is its files' PUTs, 32 in flight. Local disk: writeFile, 32 in flight.

import type { BenchContext } from "../context.ts";
import { randomFiles } from "../data.ts";
import { alternate, mapLimited, measureRun, type Contender } from "../measure.ts";
import { purposes } from "../subjects/our-filesystem.ts";
import type { ScenarioResult } from "../results.ts";

export async function smallFileInsert(context: BenchContext): Promise<ScenarioResult[]> {
  const { sizes, repetitions } = context.settings;
  const { fileBytes, transactionFiles, transactions, singleWrites, concurrency } = sizes.insert;
  const batchFiles = randomFiles(transactions * transactionFiles, fileBytes);
  const singleFiles = randomFiles(singleWrites, fileBytes);
  const batches = Array.from({ length: transactions }, (_, batch) => batchFiles.slice(batch * transactionFiles, (batch + 1) * transactionFiles));
  const name = (batch: number, index: number) => `batch${batch}/file${index}.bin`;
  const checks: Record<string, number | boolean | string> = {};

  context.log(`  insert: ${transactions} transactions of ${transactionFiles} files of ${fileBytes} bytes`);
  const transactionContenders: Contender[] = [
    {
      subject: "ours",
      method: `fs.transaction() per ${transactionFiles} files: one commit each`,
      run: async () => {
        const mount = await context.ours.mount(context.prefix("insert-transactions-ours"));
        try {
          const run = await measureRun({
            latency: context.latency,
            counters: mount.counters,
            body: async () => {
              mount.resetRecording();
              for (const [batch, files] of batches.entries()) {
                await mount.fs.transaction(async (tx) => {
                  for (const [index, body] of files.entries()) await tx.writeFile(`/${name(batch, index)}`, body);
                });
              }
            },
            settle: context.settleOurWriter,
          });
          Object.assign(checks, prefixed("transactions", purposes(mount.recorded())));
          return run;
        } finally {
          await mount.close();
        }
      },
    },
    {
      subject: "raw-s3",
      method: `PutObject per file, ${concurrency} in flight, batch after batch`,
      run: async () => {
        const raw = context.raw(context.prefix("insert-transactions-raw"));
        return measureRun({
          latency: context.latency,
          counters: () => context.rawTally.snapshot(),
          body: async () => {
            for (const [batch, files] of batches.entries()) await mapLimited(files, concurrency, (body, index) => raw.write(name(batch, index), body));
          },
        });
      },
    },
    {
      subject: "mastra-s3",
      method: `writeFile per file, ${concurrency} in flight, batch after batch`,
      run: async () => {
        const mastra = await context.mastra(context.prefix("insert-transactions-mastra"));
        return measureRun({
          latency: context.latency,
          counters: () => context.mastraTally.snapshot(),
          body: async () => {
            for (const [batch, files] of batches.entries()) await mapLimited(files, concurrency, (body, index) => mastra.writeFile(name(batch, index), body));
          },
        });
      },
    },
    {
      subject: "local-disk",
      method: `fs.promises.writeFile per file, ${concurrency} in flight`,
      run: async () => {
        const local = context.local("insert");
        return measureRun({
          latency: context.latency,
          counters: () => context.rawTally.snapshot(),
          body: async () => {
            for (const [batch, files] of batches.entries()) {
              await local.mkdir(`batch${batch}`);
              await mapLimited(files, concurrency, (body, index) => local.write(name(batch, index), body));
            }
          },
        });
      },
    },
  ];
  const transactionResults = await alternate(transactionContenders, repetitions, context.log);

  context.log(`  insert: ${singleWrites} single writes of ${fileBytes} bytes`);
  const singleContenders: Contender[] = [
    {
      subject: "ours",
      method: "fs.writeFile per file, each awaited: one commit each",
      run: async () => {
        const mount = await context.ours.mount(context.prefix("insert-single-ours"));
        try {
          const run = await measureRun({
            latency: context.latency,
            counters: mount.counters,
            body: async () => {
              mount.resetRecording();
              for (const [index, body] of singleFiles.entries()) await mount.fs.writeFile(`/single/file${index}.bin`, body);
            },
            settle: context.settleOurWriter,
          });
          Object.assign(checks, prefixed("single", purposes(mount.recorded())));
          return run;
        } finally {
          await mount.close();
        }
      },
    },
    {
      subject: "raw-s3",
      method: "PutObject per file, each awaited",
      run: async () => {
        const raw = context.raw(context.prefix("insert-single-raw"));
        return measureRun({
          latency: context.latency,
          counters: () => context.rawTally.snapshot(),
          body: async () => {
            for (const [index, body] of singleFiles.entries()) await raw.write(`single/file${index}.bin`, body);
          },
        });
      },
    },
    {
      subject: "mastra-s3",
      method: "writeFile per file, each awaited",
      run: async () => {
        const mastra = await context.mastra(context.prefix("insert-single-mastra"));
        return measureRun({
          latency: context.latency,
          counters: () => context.mastraTally.snapshot(),
          body: async () => {
            for (const [index, body] of singleFiles.entries()) await mastra.writeFile(`single/file${index}.bin`, body);
          },
        });
      },
    },
    {
      subject: "local-disk",
      method: "fs.promises.writeFile per file, each awaited",
      run: async () => {
        const local = context.local("insert-single");
        await local.mkdir("single");
        return measureRun({
          latency: context.latency,
          counters: () => context.rawTally.snapshot(),
          body: async () => {
            for (const [index, body] of singleFiles.entries()) await local.write(`single/file${index}.bin`, body);
          },
        });
      },
    },
  ];
  const singleResults = await alternate(singleContenders, repetitions, context.log);

  return [
    {
      workload: "insert",
      id: "insert-transactions",
      title: `Small-file insert: ${transactions} transactions of ${transactionFiles} files of ${fileBytes / 1024} KiB`,
      operations: transactions * transactionFiles,
      operationUnit: "file",
      subjects: transactionResults,
      checks: pick(checks, "transactions "),
    },
    {
      workload: "insert",
      id: "insert-single",
      title: `Small-file insert: ${singleWrites} single writes of ${fileBytes / 1024} KiB, each awaited`,
      operations: singleWrites,
      operationUnit: "file",
      subjects: singleResults,
      checks: pick(checks, "single "),
    },
  ];
}

/** `{ "put wal": 3 }` as `{ "<label> put wal": 3 }`: the requests one run of ours made, by purpose. */
export function prefixed(label: string, counts: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(counts).map(([key, value]) => [`${label} ${key}`, value]));
}

export function pick(checks: Record<string, number | boolean | string>, start: string): Record<string, number | boolean | string> {
  return Object.fromEntries(Object.entries(checks).filter(([key]) => key.startsWith(start)));
}
