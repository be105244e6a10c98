// What the workspace tools cost in remote requests over AcceleratedFS, counted by the core
// (`stats().requests`): nothing at all once the tree is warm, and for a cold tree one ranged GET per
// object holding file bytes (a commit record, a pack), never one per file. Registered by the local
// and the S3 request tests, so both stores are held to the same numbers.

import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { Workspace, createWorkspaceTools } from "@mastra/core/workspace";
import type { AcceleratedFS } from "../../src/mastra/index.ts";
import type { AcceleratedSubject } from "./accelerated-subjects.ts";
import { FIXTURE } from "./workspace-tools-suite.ts";

export async function toolsFor(fs: AcceleratedFS) {
  const ws = new Workspace({ filesystem: fs });
  await ws.init();
  const tools = await createWorkspaceTools(ws);
  return (tool: string, input: Record<string, unknown>) => tools[`mastra_workspace_${tool}`]!.execute(input, { workspace: ws });
}

export const requests = (fs: AcceleratedFS) => fs.filesystem.stats().requests.total.requests;

/** Runs `body` and returns the remote requests it cost. */
export async function cost(fs: AcceleratedFS, body: () => Promise<unknown>): Promise<number> {
  const before = requests(fs);
  await body();
  return requests(fs) - before;
}

/** The fixture's files with bytes (data/empty.txt has none), each written by its own commit. */
const recordsWithBytes = Object.values(FIXTURE).filter((content) => content.length > 0).length;

export function requestCountCases(name: string, make: () => Promise<AcceleratedSubject>): void {
  async function withFixture(body: (subject: AcceleratedSubject) => Promise<void>) {
    const subject = await make();
    try {
      await subject.fs.init();
      for (const [path, content] of Object.entries(FIXTURE)) await subject.fs.writeFile(path, content);
      await body(subject);
    } finally {
      await subject.cleanup();
    }
  }

  describe(`remote requests of the workspace tools over ${name}`, () => {
    test("on the writer, every read tool, walk and grep cost no remote request", () =>
      withFixture(async ({ fs }) => {
        const run = await toolsFor(fs);
        expect(await cost(fs, () => run("list_files", { path: ".", maxDepth: 5 }))).toBe(0);
        expect(await cost(fs, () => run("grep", { pattern: "TODO", contextLines: 2 }))).toBe(0);
        expect(await cost(fs, () => run("read_file", { path: "src/util.ts" }))).toBe(0);
        expect(await cost(fs, () => run("file_stat", { path: "src" }))).toBe(0);
        expect(await cost(fs, () => fs.walk(".", { includeHidden: true }))).toBe(0);
        expect(await cost(fs, () => fs.grep({ pattern: "TODO", path: ".", caseSensitive: false, includeHidden: true }))).toBe(0);
        expect(await cost(fs, () => fs.readdir(".", { recursive: true }))).toBe(0);
      }));

    test("a reader on a deleted cache lists at no cost after its mount; its first grep fetches each commit record once, the next none", () =>
      withFixture(async (subject) => {
        await subject.fs.destroy(); // publishes a snapshot: the reader mounts from it, not from 20 records
        const reader = subject.open({ readOnly: true, maxStalenessMs: 3_600_000, cacheRoot: join(subject.directory, "cold-cache") });
        await reader.init();
        const run = await toolsFor(reader);
        expect(await cost(reader, () => run("list_files", { path: ".", maxDepth: 5, respectGitignore: false }))).toBe(0);
        expect(await cost(reader, () => reader.walk(".", { includeHidden: true }))).toBe(0);
        // The tool reads .gitignore, stats the root, then calls our grep, which prefetches the tree:
        // one ranged GET per commit record that holds file bytes, all in parallel.
        expect(await cost(reader, () => run("grep", { pattern: "TODO" }))).toBe(recordsWithBytes);
        expect(await cost(reader, () => run("grep", { pattern: "todo", caseSensitive: false, includeHidden: true }))).toBe(0);
        expect(await cost(reader, () => run("read_file", { path: "README.md" }))).toBe(0);
      }));

    test("200 files written in one transaction are fetched by a cold grep in one request", async () => {
      const subject = await make();
      try {
        await subject.fs.transaction(async (tx) => {
          for (let index = 0; index < 200; index++) await tx.writeFile(`logs/day-${index}.log`, `start\nTODO entry ${index}\nend\n`);
        });
        await subject.fs.destroy();
        const reader = subject.open({ readOnly: true, maxStalenessMs: 3_600_000, cacheRoot: join(subject.directory, "cold-cache") });
        await reader.init();
        let found = 0;
        expect(await cost(reader, async () => (found = (await reader.grep({ pattern: "TODO", path: "logs", caseSensitive: true, includeHidden: false })).length))).toBe(1);
        expect(found).toBe(200);
      } finally {
        await subject.cleanup();
      }
    });
  });
}
