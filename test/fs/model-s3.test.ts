// Model-based test on the real S3 server: fewer operations than on LocalObjectStore (each commit
// is an HTTP round trip), MODEL_S3_OPS for more.
import { afterAll, expect, test } from "bun:test";
import { seedFrom } from "../../src/stores/random.ts";
import { removeTempDirectories } from "../support/temp.ts";
import { testWorkspace } from "../support/mounts.ts";
import { runModel } from "./model-run.ts";

afterAll(removeTempDirectories);

test("random operations agree with the model on Ceph RGW", async () => {
  const seed = seedFrom("MODEL_SEED");
  const operations = Number(process.env.MODEL_S3_OPS ?? 300);
  console.log(`model run (S3): MODEL_SEED=${seed}`);
  const workspace = await testWorkspace("s3", "model");
  const result = await runModel({ seed, operations, workspace, layout: { blockBytes: 8, chunkBytes: 32, largeFileBytes: 48, inlineRecordBytes: 64, packBytes: 128, uploadConcurrency: 2 } });
  expect(result.steps).toBeGreaterThanOrEqual(operations);
}, 600_000);
