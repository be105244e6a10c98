// `await using` from the user's side: a block left by an exception disposes what it holds. A write
// handle disposed without close() publishes nothing (not the half written before the exception) and
// leaves no local file; a materialised file's copy is removed and its pinned bytes returned; the
// filesystem closes; a manager closes its mounts.

import { afterAll, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import type { S3CachedFs } from "../../src/core.ts";
import { testWorkspace } from "../support/mounts.ts";
import { removeTempDirectories } from "../support/temp.ts";

afterAll(removeTempDirectories);

test("an exception inside `await using` blocks: the write handle publishes nothing, the materialised copy goes, the filesystem and manager close", async () => {
  const workspace = await testWorkspace("local", "await-using");
  let handlePath = "";
  let materialized = "";
  let kept: S3CachedFs | undefined;
  const failure = new Error("the tool failed halfway");
  const thrown = await (async () => {
    await using manager = workspace.manager();
    const fs = await manager.mount({ name: "test", headDelayMs: 60_000 });
    kept = fs;
    await fs.writeFile("/model.bin", new Uint8Array(5000).fill(7));
    await using local = await fs.materialize("/model.bin");
    materialized = local.path;
    expect(fs.stats().cache.pinnedBytes).toBe(5000);
    await using handle = await fs.openWrite("/report.txt");
    handlePath = handle.path;
    await Bun.write(handle.file, "the first half of the report");
    throw failure;
  })().catch((caught: unknown) => caught);
  expect(thrown).toBe(failure);
  expect(existsSync(handlePath)).toBe(false);
  expect(existsSync(materialized)).toBe(false);
  expect(kept!.closed).toBe(true);
  const fs = await workspace.mount({ mode: "readonly" });
  expect(await fs.exists("/report.txt")).toBe(false);
  expect(await fs.exists("/model.bin")).toBe(true);
  await fs.close();
});
