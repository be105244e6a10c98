// Remote requests of the Mastra tools over AcceleratedFS on the real S3 server (Ceph RGW), and the
// same tool calls over @mastra/s3's S3Filesystem on the same fixture, counted at its S3 client, for
// comparison: S3Filesystem has no cache and no walk/grep, so every listing is a LIST per directory
// and every search a GET per file, every time.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { S3Filesystem } from "@mastra/s3";
import { freshBucket, s3Server } from "../support/s3-server.ts";
import { removeTempDirectories } from "../support/temp.ts";
import { acceleratedSubjects } from "./accelerated-subjects.ts";
import { cost, requestCountCases, toolsFor } from "./request-count-cases.ts";
import { FIXTURE } from "./workspace-tools-suite.ts";
import { Workspace, createWorkspaceTools } from "@mastra/core/workspace";

let bucket: string | undefined;
beforeAll(async () => {
  bucket = await freshBucket("mastra-requests");
});
afterAll(removeTempDirectories);

const onServer = () => {
  if (bucket === undefined) throw new Error("the bucket was not created");
  return bucket;
};

// The head is brought up to date, and the lease renewed, outside the measured calls: a tool call that
// runs long on a busy machine never counts an earlier commit's head update or a renewal.
const quiet = { headDelayMs: 600_000, leaseTtlMs: 600_000 };
requestCountCases("AcceleratedFS on S3 (Ceph RGW)", acceleratedSubjects("mastra-requests-s3", onServer, quiet));

/** The tool calls compared, as an agent exploring a project would make them. */
const calls: [string, string, Record<string, unknown>][] = [
  ["list_files (depth 2)", "list_files", { path: "." }],
  ["list_files (depth 5)", "list_files", { path: ".", maxDepth: 5 }],
  ["grep TODO", "grep", { pattern: "TODO" }],
  ["grep todo -i, hidden", "grep", { pattern: "todo", caseSensitive: false, includeHidden: true }],
  ["read_file", "read_file", { path: "src/util.ts" }],
  ["file_stat", "file_stat", { path: "src" }],
];

describe("compared with @mastra/s3 on the same fixture", () => {
  test("AcceleratedFS answers the read tools with fewer requests cold, and none warm; S3Filesystem pays every time", async () => {
    const server = s3Server();
    const s3 = new S3Filesystem({
      bucket: onServer(),
      prefix: "mastra-s3-baseline",
      region: server.region,
      endpoint: server.endpoint,
      forcePathStyle: true,
      accessKeyId: server.accessKeyId,
      secretAccessKey: server.secretAccessKey,
    });
    let theirs = 0;
    s3.client.middlewareStack.add((next) => async (args) => {
      theirs++;
      return next(args);
    }, { step: "build", name: "countRequests" });
    const ws = new Workspace({ filesystem: s3 });
    await ws.init();
    const tools = await createWorkspaceTools(ws);
    const runTheirs = (tool: string, input: Record<string, unknown>) => tools[`mastra_workspace_${tool}`]!.execute(input, { workspace: ws });
    for (const [path, content] of Object.entries(FIXTURE)) await s3.writeFile(path, content);

    const subject = await acceleratedSubjects("mastra-compare", onServer)();
    try {
      await subject.fs.init();
      for (const [path, content] of Object.entries(FIXTURE)) await subject.fs.writeFile(path, content);
      const runWriter = await toolsFor(subject.fs);
      await subject.fs.destroy();
      const reader = subject.open({ readOnly: true, maxStalenessMs: 3_600_000, cacheRoot: join(subject.directory, "cold-cache") });
      await reader.init();
      const runCold = await toolsFor(reader);
      await subject.fs.init();

      const rows: { call: string; s3Filesystem: number; acceleratedCold: number; acceleratedWarm: number; sameOutput: boolean }[] = [];
      for (const [label, tool, input] of calls) {
        const before = theirs;
        const expected = await runTheirs(tool, input);
        const s3Filesystem = theirs - before;
        let cold: unknown;
        const acceleratedCold = await cost(reader, async () => (cold = await runCold(tool, input)));
        const acceleratedWarm = await cost(subject.fs, () => runWriter(tool, input));
        // grep's line order follows the listing order, and file_stat prints each store's own mtime.
        const comparable = (output: unknown) => (tool === "grep" ? String(output).split("\n").sort().join("\n") : tool === "file_stat" ? String(output).replace(/Modified: .*/, "") : output);
        rows.push({ call: label, s3Filesystem, acceleratedCold, acceleratedWarm, sameOutput: comparable(cold) === comparable(expected) });
      }
      console.log("\nremote requests per tool call (20-file fixture, 9 directories):");
      console.table(rows);
      const total = (key: "s3Filesystem" | "acceleratedCold" | "acceleratedWarm") => rows.reduce((sum, row) => sum + row[key], 0);
      expect(total("acceleratedWarm")).toBe(0);
      expect(total("acceleratedCold")).toBeLessThan(total("s3Filesystem"));
      for (const row of rows) expect(row.acceleratedCold).toBeLessThanOrEqual(row.s3Filesystem);
      expect(rows.every((row) => row.sameOutput)).toBe(true);
    } finally {
      await ws.destroy();
      await subject.cleanup();
    }
  });
});
