// bun run demo:mastra
//
// A Mastra agent whose workspace files live in object storage through AcceleratedFS, with the real
// @mastra/core: a Workspace over the filesystem, its tools called directly, then an Agent on
// Mastra's mock model (no LLM, no network) that lists, greps, reads, edits and writes through tool
// calls; finally the local cache is deleted and the workspace mounted again from the store alone.
// No credentials and no network: a LocalObjectStore in a temp directory stands in for the bucket,
// through the `storeFactory` option (drop it, and pass region/endpoint/credentials, for real S3).

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Agent } from "@mastra/core/agent";
import { MastraLanguageModelV2Mock } from "@mastra/core/test-utils/llm-mock";
import { Workspace, createWorkspaceTools } from "@mastra/core/workspace";
import { LocalObjectStore } from "s3-bun-cached-fs/core";
import { AcceleratedFS, type AcceleratedFSOptions } from "s3-bun-cached-fs/mastra";

const root = mkdtempSync(join(tmpdir(), "s3-bun-cached-fs-mastra-demo-"));
const cacheRoot = join(root, "cache");
const options: AcceleratedFSOptions = {
  id: "demo-workspace",
  bucket: "demo-bucket",
  prefix: "agents/demo",
  cacheRoot,
  storeFactory: (config) => new LocalObjectStore({ root: join(root, "bucket", config.prefix) }),
};

const section = (title: string) => console.log(`\n=== ${title}`);
const indent = (text: unknown) => String(typeof text === "string" ? text : JSON.stringify(text)).replace(/^/gm, "    ");
const requests = (fs: AcceleratedFS) => fs.filesystem.stats().requests.total.requests;

async function toolsOf(workspace: Workspace) {
  const tools = await createWorkspaceTools(workspace);
  return async (tool: string, input: Record<string, unknown>) => {
    const run = tools[`mastra_workspace_${tool}`];
    if (run === undefined) throw new Error(`no tool ${tool}`);
    return run.execute(input, { workspace });
  };
}

try {
  section("a Workspace over AcceleratedFS");
  const filesystem = new AcceleratedFS(options);
  const workspace = new Workspace({ filesystem });
  await workspace.init();
  console.log(`status: ${filesystem.status}; what the model is told:`);
  console.log(indent(filesystem.getInstructions()));

  section("the workspace tools, called directly");
  const run = await toolsOf(workspace);
  console.log(indent(await run("write_file", { path: "src/app.ts", content: "import { add } from './math';\n// TODO handle errors\nconsole.log(add(1, 2));\n" })));
  console.log(indent(await run("write_file", { path: "src/math.ts", content: "export const add = (a: number, b: number) => a + b;\n" })));
  console.log(indent(await run("write_file", { path: "notes/plan.md", content: "# Plan\n- TODO write tests\n- ship it\n" })));
  console.log(indent(await run("mkdir", { path: "reports" })));
  console.log(indent(await run("list_files", { path: "." })));

  section("an Agent on Mastra's mock model, making tool calls");
  const script: { toolName: string; input: Record<string, unknown> }[] = [
    { toolName: "mastra_workspace_grep", input: { pattern: "TODO" } },
    { toolName: "mastra_workspace_read_file", input: { path: "notes/plan.md" } },
    { toolName: "mastra_workspace_edit_file", input: { path: "notes/plan.md", old_string: "- TODO write tests", new_string: "- wrote tests" } },
    { toolName: "mastra_workspace_write_file", input: { path: "reports/summary.md", content: "# Summary\nOne TODO left, in src/app.ts.\n" } },
    { toolName: "mastra_workspace_list_files", input: { path: "/", maxDepth: 3 } },
  ];
  const usage = { inputTokens: 10, outputTokens: 5, totalTokens: 15 };
  let turn = 0;
  const model = new MastraLanguageModelV2Mock({
    doGenerate: async () => {
      const call = script[turn++];
      if (call === undefined) return { content: [{ type: "text", text: "Done: tests noted, summary written." }], finishReason: "stop", usage, warnings: [] };
      return {
        content: [{ type: "tool-call", toolCallId: `call-${turn}`, toolName: call.toolName, input: JSON.stringify(call.input) }],
        finishReason: "tool-calls",
        usage,
        warnings: [],
      };
    },
  });
  // Mastra's mock is not assignable to Agent's `model` under exactOptionalPropertyTypes (its result
  // type has `response: ... | undefined`), hence the cast; at runtime it is exactly what Agent expects.
  const agentModel = model as unknown as ConstructorParameters<typeof Agent>[0]["model"];
  const agent = new Agent({ id: "demo-agent", name: "demo-agent", instructions: "Keep the project notes up to date.", model: agentModel, workspace });
  const before = requests(filesystem);
  const result = await agent.generate("Find what is left to do and write a summary.", { maxSteps: 10 });
  for (const entry of result.toolResults) {
    console.log(`  ${entry.payload.toolName}(${JSON.stringify(entry.payload.args)})`);
    console.log(indent(entry.payload.result));
  }
  console.log(`  agent: ${result.text}`);
  console.log(`  remote requests for the agent's ${script.length} tool calls: ${requests(filesystem) - before} (each write is one commit; reads, listings and searches come from the local index and cache)`);

  section("extras: a transaction (one commit) and a ranged read");
  await filesystem.transaction(async (tx) => {
    for (let day = 1; day <= 30; day++) await tx.writeFile(`logs/day-${String(day).padStart(2, "0")}.log`, `day ${day}: ok\n`);
  });
  const range = Buffer.from(await filesystem.readRange("src/math.ts", 13, 3)).toString();
  console.log(`  30 log files in one commit (log position ${filesystem.filesystem.stats().seq}); bytes 13..16 of src/math.ts: "${range}"`);

  await workspace.destroy();
  console.log(`  workspace destroyed; filesystem status: ${filesystem.status}`);

  section("a new process: the cache is deleted, the workspace mounted again from the store alone");
  rmSync(cacheRoot, { recursive: true, force: true });
  const remounted = new AcceleratedFS(options);
  const again = new Workspace({ filesystem: remounted });
  await again.init();
  const runAgain = await toolsOf(again);
  const cost = async (body: () => Promise<unknown>) => {
    const start = requests(remounted);
    await body();
    return requests(remounted) - start;
  };
  const mount = requests(remounted);
  const firstRead = await cost(async () => {
    console.log(indent(await runAgain("list_files", { path: ".", maxDepth: 1 })));
    console.log(indent(await runAgain("read_file", { path: "notes/plan.md" })));
  });
  const firstGrep = await cost(() => runAgain("grep", { pattern: "TODO" }));
  const warm = await cost(async () => {
    await runAgain("grep", { pattern: "TODO" });
    await runAgain("list_files", { path: ".", maxDepth: 5 });
    await runAgain("read_file", { path: "notes/plan.md" });
  });
  console.log(`  remote requests: mount ${mount}; list_files + read_file ${firstRead}; first grep ${firstGrep} (fetches the files' bytes); grep + list_files + read_file again ${warm}`);
  await again.destroy();
} finally {
  rmSync(root, { recursive: true, force: true });
}
