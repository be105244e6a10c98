// Model-based test on LocalObjectStore: at least 2,000 random operations per run (MODEL_OPS for
// more), across seeds and layouts; MODEL_SEED replays one seed.
import { afterAll, expect, test } from "bun:test";
import { seedFrom } from "../../src/stores/random.ts";
import { removeTempDirectories } from "../support/temp.ts";
import { testWorkspace } from "../support/mounts.ts";
import { runModel } from "./model-run.ts";

afterAll(removeTempDirectories);

const total = Number(process.env.MODEL_OPS ?? 2_000);
const tinyLayout = { blockBytes: 4, chunkBytes: 16, largeFileBytes: 24, inlineRecordBytes: 64, packBytes: 128, uploadConcurrency: 2 };
const runs = [
  { label: "default layout", layout: undefined },
  { label: "tiny layout", layout: tinyLayout },
];

for (const [position, run] of runs.entries()) {
  test(`random operations agree with the model (${run.label}, ${Math.ceil(total / runs.length)} operations)`, async () => {
    const seed = process.env.MODEL_SEED !== undefined ? seedFrom("MODEL_SEED") : seedFrom("") + position;
    console.log(`model run (${run.label}): MODEL_SEED=${seed}`);
    const workspace = await testWorkspace("local", "model");
    const result = await runModel({ seed, operations: Math.ceil(total / runs.length), workspace, ...(run.layout === undefined ? {} : { layout: run.layout }) });
    expect(result.steps).toBeGreaterThanOrEqual(Math.ceil(total / runs.length));
    expect(result.failures).toBeGreaterThan(0); // the sequence exercised invalid operations too
    console.log(`model run (${run.label}): ${result.steps} operations, ${result.commits} commits, ${result.failures} refused as the model refused them`);
  }, 600_000);
}
