// What each adapter does in an app, run against whichever framework versions this file's
// node_modules resolve: the core mounts, writes, reads and lists; a Mastra workspace's tools read,
// list, grep and write; a just-bash shell runs a command over the files; a Flue sandbox runs one.
// It prints one JSON object: the outputs, and where each framework was loaded from.
// Run as `bun test/frameworks-oldest/scenario.ts <work directory>` from an app directory holding a
// copy of src/ (oldest-versions.test.ts runs it with the oldest versions the package's
// peerDependencies accept, and with the newest).

import { join } from "node:path";
import { Workspace, createWorkspaceTools } from "@mastra/core/workspace";
import { LocalObjectStore, S3CachedFsManagerImpl, type ResolvedMountConfig } from "../../src/core.ts";
import { AcceleratedFS } from "../../src/mastra/index.ts";
import { createAcceleratedJustBashShell } from "../../src/just-bash/index.ts";
import { acceleratedFsSandbox } from "../../src/flue/index.ts";

const work = process.argv[2]!;
const storeFactory = (config: ResolvedMountConfig) => new LocalObjectStore({ root: join(work, "bucket", config.prefix), fsync: false });
const cacheRoot = (name: string) => join(work, `cache-${name}`);
const text = (value: unknown) => (typeof value === "string" ? value : JSON.stringify(value));

// The core.
const manager = new S3CachedFsManagerImpl({ cacheRoot: cacheRoot("core"), storeFactory });
const fs = await manager.mount({ name: "core", prefix: "core" });
await fs.mkdir("/docs");
await fs.writeFile("/docs/a.txt", "core bytes");
const core = { read: await fs.readText("/docs/a.txt"), list: await fs.readdir("/docs") };
await manager.closeAll();

// Mastra: the adapter under a Workspace, driven through the workspace tools an agent calls.
const accelerated = new AcceleratedFS({ cacheRoot: cacheRoot("mastra"), prefix: "mastra", storeFactory });
const workspace = new Workspace({ filesystem: accelerated });
await workspace.init();
await accelerated.writeFile("notes/a.md", "hello mastra\nTODO: first\n");
const tools = await createWorkspaceTools(workspace);
const tool = async (name: string, input: Record<string, unknown>) => text(await tools[`mastra_workspace_${name}`]!.execute!(input, { workspace } as never));
const mastra = {
  write: await tool("write_file", { path: "notes/b.md", content: "written by a tool\n" }),
  read: await tool("read_file", { path: "notes/a.md" }),
  list: await tool("list_files", { path: "notes" }),
  grep: await tool("grep", { pattern: "TODO" }),
  written: await accelerated.readFile("notes/b.md", { encoding: "utf-8" }),
  // The adapter's own grep (Mastra's grep tool calls it from 1.68 on), which uses MastraFilesystem's isTextFile.
  nativeGrep: JSON.stringify(await accelerated.grep({ pattern: "TODO", path: ".", caseSensitive: true, includeHidden: false })),
};
await workspace.destroy();

// just-bash: a shell over a mount of its own.
const shellManager = new S3CachedFsManagerImpl({ cacheRoot: cacheRoot("just-bash"), storeFactory });
const shellFs = await shellManager.mount({ name: "shell", prefix: "shell" });
const shell = await createAcceleratedJustBashShell({ filesystem: shellFs, cwd: "/workspace" });
// `test -ef` compares the adapter's dev and ino (just-bash's test does from 3.2 on).
const justBash = await shell.exec("mkdir -p out && echo hello > out/a.txt && cat out/a.txt && ls out && wc -c < out/a.txt && ln -s a.txt out/l && [ out/a.txt -ef out/l ] && echo same");
const shellWrote = await shellFs.readText("/workspace/out/a.txt");
await shellManager.closeAll();

// Flue: a sandbox from the factory, its exec and file verbs.
const factory = acceleratedFsSandbox({ cwd: "/workspace", mount: { prefix: "agents" }, managerConfig: { cacheRoot: cacheRoot("flue"), storeFactory } });
const sandbox = await factory.createSandbox({ id: "oldest" });
const flue = {
  exec: await sandbox.exec("echo flue > f.txt && cat f.txt && pwd"),
  read: await sandbox.readFile("f.txt"),
};
await factory.close();

const loadedFrom = Object.fromEntries(["@mastra/core/workspace", "just-bash", "@flue/runtime"].map((name) => [name, Bun.resolveSync(name, import.meta.dir)]));
console.log(JSON.stringify({ core, mastra, justBash, shellWrote, flue, loadedFrom }));
