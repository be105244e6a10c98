// Workload "agents": what an agent's tools cost.
//
// - Shell: a just-bash script in five commands (scaffold a project, build it, grep it, list it,
//   edit and rebuild) through createAcceleratedJustBashShell on our filesystem (one commit per
//   command that writes), against just-bash's InMemoryFs (nothing durable) and just-bash's
//   ReadWriteFs on local disk. Every subject must print the same output. Then a new machine (an
//   empty cache) runs the grep command on the project ours wrote.
// - Mastra: `list_files` and `grep` from createWorkspaceTools over a 1,800-file tree, on our
//   AcceleratedFS (cold: a read-only mount on an empty cache; warm: the same calls again), against
//   @mastra/s3's S3Filesystem and Mastra's LocalFilesystem on local disk. Outputs must agree.

import { mkdtempSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { Bash, InMemoryFs, ReadWriteFs, type IFileSystem } from "just-bash";
import { LocalFilesystem, Workspace, createWorkspaceTools, type WorkspaceFilesystem } from "@mastra/core/workspace";
import { createAcceleratedJustBashShell } from "../../src/just-bash/index.ts";
import { AcceleratedFS } from "../../src/mastra/index.ts";
import type { BenchContext } from "../context.ts";
import { sourceTree } from "../data.ts";
import { alternate, alternatePhases, measureRun, type Contender, type PhasedContender } from "../measure.ts";
import { ourMount, purposes } from "../subjects/our-filesystem.ts";
import type { ScenarioResult, SubjectRun } from "../results.ts";
import { zeroTotals, type RequestTotals } from "../wire.ts";

export async function agentWorkloads(context: BenchContext): Promise<ScenarioResult[]> {
  return [...(await shellScript(context)), ...(await mastraTools(context))];
}

const workspace = "/workspace";

/** The agent's commands, in order: scaffold, build, grep, list, edit and rebuild. */
export function shellCommands(modules: number): string[] {
  return [
    `mkdir -p project/src project/test && for i in $(seq 1 ${modules}); do printf 'export const v%d = %d;\\n// TODO: check %d\\nexport function f%d(x) { return x + v%d; }\\n' $i $i $i $i $i > project/src/mod$i.ts; done && echo '{"name":"demo","version":"1.0.0"}' > project/package.json && ls project/src | wc -l`,
    "cd project && mkdir -p dist && cat src/*.ts > dist/bundle.js && wc -l < dist/bundle.js > dist/lines.txt && cat dist/lines.txt",
    "cd project && grep -rn TODO src | wc -l && grep -rl 'v1 ' src | sort | head -3 && grep -c export dist/bundle.js",
    "cd project && find . -type f | sort | head -5 && du -s src | cut -f2",
    "cd project && sed -i 's/TODO/DONE/' src/mod1.ts && cat src/*.ts > dist/bundle.js && grep -c DONE dist/bundle.js && grep -c TODO dist/bundle.js",
  ];
}

async function shellScript(context: BenchContext): Promise<ScenarioResult[]> {
  const { shellModules } = context.settings.sizes.agents;
  const commands = shellCommands(shellModules);
  const outputs = new Map<string, string>();
  const runCommands = async (exec: (command: string) => Promise<{ stdout: string; stderr: string; exitCode: number }>, subject: string) => {
    let transcript = "";
    for (const command of commands) {
      const result = await exec(command);
      transcript += `$ ${command}\n${result.stdout}${result.stderr}[exit ${result.exitCode}]\n`;
    }
    outputs.set(subject, transcript);
  };
  const justBash = (fs: IFileSystem) => async (command: string) => new Bash({ fs, cwd: workspace, defenseInDepth: false }).exec(command);
  const checks: Record<string, number | boolean | string> = {};
  let lastPrefix = "";

  const contenders: Contender[] = [
    {
      subject: "ours",
      method: "createAcceleratedJustBashShell on a writer mount: one commit per command that writes",
      run: async () => {
        lastPrefix = context.prefix("shell-ours");
        const mount = await context.ours.mount(lastPrefix);
        const shell = await createAcceleratedJustBashShell({ filesystem: mount.fs, cwd: workspace });
        try {
          const run = await measureRun({
            latency: context.latency,
            counters: mount.counters,
            body: async () => {
              mount.resetRecording();
              await runCommands((command) => shell.exec(command), "ours");
            },
            settle: context.settleOurWriter,
          });
          for (const [key, value] of Object.entries(purposes(mount.recorded()))) checks[`script ${key}`] = value;
          return run;
        } finally {
          await shell.close();
          await mount.close();
        }
      },
    },
    {
      subject: "in-memory",
      method: "just-bash Bash over InMemoryFs (not durable)",
      run: async () => {
        const fs = new InMemoryFs();
        await fs.mkdir(workspace, { recursive: true });
        const run = await measureRun({ latency: context.latency, counters: zeroTotals, body: () => runCommands(justBash(fs), "in-memory") });
        // What the grep command prints after the whole script: the new machine must print the same.
        const grep = await justBash(fs)(commands[2]!);
        outputs.set("in-memory final grep", `${grep.stdout}${grep.stderr}[exit ${grep.exitCode}]`);
        return run;
      },
    },
    {
      subject: "local-disk",
      method: "just-bash Bash over ReadWriteFs on a local directory",
      run: async () => {
        const root = mkdtempSync(join(context.local("shell").root, "run-"));
        const fs = new ReadWriteFs({ root });
        await fs.mkdir(workspace, { recursive: true });
        return measureRun({ latency: context.latency, counters: zeroTotals, body: () => runCommands(justBash(fs), "local-disk") });
      },
    },
  ];
  context.log(`  agents: a just-bash script of ${commands.length} commands over ${shellModules} modules`);
  const subjects = await alternate(contenders, context.settings.repetitions, context.log);
  const reference = outputs.get("in-memory");
  checks["same output as InMemoryFs"] = outputs.get("ours") === reference && outputs.get("local-disk") === reference;
  if (outputs.get("ours") !== reference) context.log(`  agents: the shell outputs differ:\n--- ours\n${outputs.get("ours")}\n--- InMemoryFs\n${reference}`);

  // A new machine greps the project the last repetition wrote.
  context.log("  agents: the grep command on a new machine (empty cache)");
  const coldChecks: Record<string, number | boolean | string> = {};
  const cold = await alternate(
    [
      {
        subject: "ours",
        method: "read-only mount on an empty cache, the grep command",
        run: async () => {
          const reader = await context.ours.mount(lastPrefix, { config: { mode: "readonly" } });
          const shell = await createAcceleratedJustBashShell({ filesystem: reader.fs, cwd: workspace });
          try {
            const run = await measureRun({
              latency: context.latency,
              counters: reader.counters,
              body: async () => {
                reader.resetRecording();
                const result = await shell.exec(commands[2]!);
                coldChecks["same output as InMemoryFs"] = `${result.stdout}${result.stderr}[exit ${result.exitCode}]` === outputs.get("in-memory final grep");
              },
            });
            for (const [key, value] of Object.entries(purposes(reader.recorded()))) coldChecks[`cold grep ${key}`] = value;
            return run;
          } finally {
            await shell.close();
            await reader.close();
          }
        },
      },
    ],
    context.settings.repetitions,
    context.log,
  );
  return [
    {
      workload: "agents",
      id: "agents-shell",
      title: `Agents: a just-bash script (${commands.length} commands: scaffold ${shellModules} modules, build, grep, list, edit and rebuild)`,
      operations: commands.length,
      operationUnit: "command",
      notes: [`Commands: ${commands.map((command) => `\`${command.length > 90 ? `${command.slice(0, 87)}...` : command}\``).join("; ")}`],
      subjects,
      checks,
    },
    {
      workload: "agents",
      id: "agents-shell-cold-grep",
      title: "Agents: the grep command of that script on a new machine (empty cache)",
      operations: 1,
      operationUnit: "command",
      subjects: cold,
      checks: coldChecks,
    },
  ];
}

type ToolRunner = (tool: string, input: Record<string, unknown>) => Promise<unknown>;

async function toolsFor(filesystem: WorkspaceFilesystem): Promise<{ run: ToolRunner; workspace: Workspace }> {
  const ws = new Workspace({ filesystem });
  await ws.init();
  const tools = await createWorkspaceTools(ws);
  const run: ToolRunner = async (tool, input) => {
    const found = tools[`mastra_workspace_${tool}`];
    if (found?.execute === undefined) throw new Error(`Mastra has no workspace tool ${tool}`);
    return found.execute(input as never, { workspace: ws } as never);
  };
  return { run, workspace: ws };
}

/** Tool output in a form every filesystem should agree on: grep lines sorted (their order follows the listing). */
function comparable(tool: string, output: unknown): string {
  const text = typeof output === "string" ? output : JSON.stringify(output);
  return tool === "grep" ? text.split("\n").sort().join("\n") : text;
}

async function mastraTools(context: BenchContext): Promise<ScenarioResult[]> {
  const { treeFiles, treeDirectories } = context.settings.sizes.agents;
  const tree = sourceTree(treeFiles, treeDirectories);
  const calls: { id: string; tool: string; input: Record<string, unknown>; label: string }[] = [
    { id: "list", tool: "list_files", input: { path: ".", maxDepth: 5 }, label: "list_files (maxDepth 5)" },
    { id: "grep", tool: "grep", input: { pattern: "TODO" }, label: "grep TODO" },
  ];

  context.log(`  agents: seeding a ${tree.length}-file tree in ${treeDirectories} directories`);
  const oursPrefix = context.prefix("tree-agent-ours");
  const objectsPrefix = context.prefix("tree-agent-objects");
  const writer = await context.ours.mount(oursPrefix);
  for (let start = 0; start < tree.length; start += 400) {
    const slice = tree.slice(start, start + 400);
    await writer.fs.transaction(async (tx) => {
      for (const file of slice) await tx.writeFile(`/${file.path}`, file.body);
    });
  }
  await writer.close();
  await context.seedObjects(objectsPrefix, tree);
  const localRoot = context.local("tree-agent");
  for (const file of tree) await localRoot.writeCreating(file.path, file.body);
  const mastra = await toolsFor(await context.mastra(objectsPrefix));
  const local = await toolsFor(new LocalFilesystem({ basePath: localRoot.root }));

  const outputs = new Map<string, string>();
  const results: ScenarioResult[] = [];
  for (const call of calls) {
    const checks: Record<string, number | boolean | string> = {};
    const baseline = (subject: "mastra-s3" | "local-disk", runner: ToolRunner, counters: () => RequestTotals): PhasedContender => ({
      subject,
      method:
        subject === "mastra-s3"
          ? "@mastra/s3 S3Filesystem: no walk, no grep, no cache (a LIST per directory, a GET per file, 8 at a time), so cold and warm are the same run"
          : "Mastra LocalFilesystem on a local directory (page cache warm)",
      run: async () => [
        await measureRun({
          latency: context.latency,
          counters,
          body: async () => void outputs.set(`${subject}`, comparable(call.tool, await runner(call.tool, call.input))),
        }),
      ],
    });
    const ours: PhasedContender = {
      subject: "ours",
      method: [
        "AcceleratedFS mounting read-only on an empty cache (mounted before the clock starts): walk and grep from the index, grep prefetches the tree's records",
        "AcceleratedFS, the same call again on that mount (index and cache warm)",
      ],
      run: async () => {
        // As the Mastra README sets it up: AcceleratedFS mounts for itself, here read-only on an empty cache.
        const store = context.ours.storeFor(oursPrefix);
        const cacheRoot = context.ours.freshCacheRoot();
        const filesystem = new AcceleratedFS({ id: "bench", storeFactory: store.factory, cacheRoot, readOnly: true, maxStalenessMs: 3_600_000, ...context.ours.mountDefaults });
        const tools = await toolsFor(filesystem);
        const mount = ourMount(filesystem.filesystem, cacheRoot, store.recorder(), store.wire, () => filesystem.destroy());
        try {
          const runs: SubjectRun[] = [];
          for (const phase of ["cold", "warm"]) {
            runs.push(
              await measureRun({
                latency: context.latency,
                counters: mount.counters,
                body: async () => {
                  mount.resetRecording();
                  outputs.set(`ours ${phase}`, comparable(call.tool, await tools.run(call.tool, call.input)));
                },
              }),
            );
            for (const [key, value] of Object.entries(purposes(mount.recorded()))) checks[`${phase} ${key}`] = value;
          }
          return runs;
        } finally {
          await mount.close();
        }
      },
    };
    context.log(`  agents: Mastra ${call.label}, cold then warm`);
    const [cold, warm] = await alternatePhases(
      [ours, baseline("mastra-s3", mastra.run, () => context.mastraTally.snapshot()), baseline("local-disk", local.run, () => context.rawTally.snapshot())],
      2,
      context.settings.repetitions,
      context.log,
    );
    for (const [phase, subjects] of [
      ["cold", cold!],
      ["warm", warm!],
    ] as const) {
      const same = outputs.get(`ours ${phase}`) === outputs.get("mastra-s3") && outputs.get(`ours ${phase}`) === outputs.get("local-disk");
      results.push({
        workload: "agents",
        id: `agents-mastra-${call.id}-${phase}`,
        title: `Agents: Mastra ${call.label} over a ${tree.length}-file tree in ${treeDirectories} directories, ${phase === "cold" ? "ours on a new machine (empty cache)" : "ours warm"}`,
        operations: 1,
        operationUnit: "tool call",
        notes: ["S3Filesystem and LocalFilesystem keep nothing between calls: one measurement per repetition serves the cold and the warm table."],
        subjects,
        checks: { ...Object.fromEntries(Object.entries(checks).filter(([key]) => key.startsWith(phase))), "same output on every filesystem": same },
      });
    }
  }
  return results;
}
