// A full Flue agent (the real @flue/runtime, started in this process, on the faux model provider)
// making tool calls against acceleratedFsSandbox: write, read, edit, bash, grep and glob. Then the
// runtime is stopped, the factory closed and its cache deleted, a new runtime started, and the
// same instance id finds its files again (from the store alone); another id does not. Once on
// LocalObjectStore with every tool, and once on Ceph RGW over HTTP through the manager's own store.

import { afterAll, expect, test } from "bun:test";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { acceleratedFsSandbox } from "../../src/flue/index.ts";
import { freshBucket, s3Server, s3Store } from "../support/s3-server.ts";
import { removeTempDirectories, tempDirectory } from "../support/temp.ts";
import { call, quietMount, requestsOf, runAgent, testBucket } from "./flue-fixtures.ts";

afterAll(() => removeTempDirectories());

const plan = "# Plan\n- TODO write tests\n- ship it\n";

test("an agent's write, read, edit, bash, grep and glob calls work on the sandbox, and its files outlive the runtime", async () => {
  const bucket = testBucket("agent-run");
  const first = bucket.factory();
  try {
    const run = await runAgent(first, "project-1", [
      call("write", { path: "notes/plan.md", content: plan }),
      call("read", { path: "notes/plan.md" }),
      call("edit", { path: "notes/plan.md", oldText: "- TODO write tests", newText: "- wrote tests" }),
      call("bash", { command: "mkdir -p src && printf 'export const x = 1; // TODO tidy\\n' > src/app.ts && pwd && ls" }),
      call("grep", { pattern: "TODO" }),
      call("glob", { pattern: "*.ts" }),
      call("bash", { command: "cat notes/plan.md; exit 3" }),
    ]);
    expect(run.reply).toBe("done");
    expect(run.results).toEqual([
      { tool: "write", text: `Successfully wrote ${plan.length} bytes to notes/plan.md`, isError: false },
      { tool: "read", text: plan, isError: false },
      { tool: "edit", text: "Successfully edited notes/plan.md", isError: false },
      { tool: "bash", text: "/workspace\nnotes\nsrc", isError: false },
      { tool: "grep", text: "./src/app.ts:1:export const x = 1; // TODO tidy", isError: false },
      { tool: "glob", text: "./src/app.ts", isError: false },
      { tool: "bash", text: "# Plan\n- wrote tests\n- ship it\n\nCommand exited with code 3", isError: false },
    ]);
  } finally {
    await first.close();
  }

  // A new runtime, a new factory with an empty cache: the same instance id reaches the same files.
  const second = bucket.factory();
  try {
    const run = await runAgent(second, "project-1", [
      call("read", { path: "notes/plan.md" }),
      call("bash", { command: "cat src/app.ts" }),
      call("grep", { pattern: "wrote|tidy" }),
      call("glob", { pattern: "**/*.md" }),
    ]);
    expect(run.results).toEqual([
      { tool: "read", text: "# Plan\n- wrote tests\n- ship it\n", isError: false },
      { tool: "bash", text: "export const x = 1; // TODO tidy", isError: false },
      { tool: "grep", text: "./notes/plan.md:2:- wrote tests\n./src/app.ts:1:export const x = 1; // TODO tidy", isError: false },
      { tool: "glob", text: "./notes/plan.md", isError: false },
    ]);

    // Another instance id is another workspace: none of project-1's files are there.
    const other = await runAgent(second, "project-2", [call("glob", { pattern: "*" }), call("read", { path: "notes/plan.md" })]);
    expect(other.results[0]).toEqual({ tool: "glob", text: "No files found matching pattern.", isError: false });
    expect(other.results[1]).toMatchObject({ tool: "read", isError: true });
    expect(other.results[1]!.text).toContain("ENOENT: no such file or directory, open '/workspace/notes/plan.md'");
  } finally {
    await second.close();
  }
  // Each instance's workspace is its own key prefix in the bucket.
  expect(readdirSync(join(bucket.root, "agents")).sort()).toEqual(["project-1", "project-2"]);
  expect(existsSync(join(bucket.root, "agents", "project-1", "format.json"))).toBe(true);
}, 30_000);

test("an agent's grep and glob calls on a warm workspace make no request to the store", async () => {
  const bucket = testBucket("agent-warm");
  const factory = bucket.factory();
  try {
    await runAgent(factory, "warm", [
      call("bash", { command: 'mkdir -p src docs && for i in $(seq 1 40); do echo "line $i TODO" > src/file-$i.ts; echo "doc $i" > docs/doc-$i.md; done' }),
      call("grep", { pattern: "TODO" }),
    ]);
    const filesystem = await factory.filesystemFor("warm");
    const before = requestsOf(filesystem);
    // A whole message: Flue's workspace discovery, the sandbox, and the tools.
    const run = await runAgent(factory, "warm", [call("grep", { pattern: "line 4\\b" }), call("glob", { pattern: "*.md" }), call("grep", { pattern: "doc 1$", path: "docs", include: "*.md" })]);
    expect(requestsOf(filesystem) - before).toBe(0);
    expect(run.results.map((result) => result.text)).toEqual([
      "./src/file-4.ts:1:line 4 TODO",
      Array.from({ length: 40 }, (_, index) => `./docs/doc-${index + 1}.md`).sort().join("\n"),
      "docs/doc-1.md:1:doc 1",
    ]);
  } finally {
    await factory.close();
  }
}, 30_000);

test("with useSandbox's own cwd (Flue rebuilds the sandbox around ours) every tool still works, and warm searches stay free", async () => {
  const bucket = testBucket("agent-cwd");
  const factory = bucket.factory();
  try {
    const run = await runAgent(
      factory,
      "scoped",
      [
        call("write", { path: "notes.md", content: "alpha TODO\n" }),
        call("bash", { command: "pwd; mkdir -p deep && echo 'beta TODO' > deep/more.md" }),
        call("edit", { path: "notes.md", oldText: "alpha", newText: "gamma" }),
        call("grep", { pattern: "TODO" }),
        call("glob", { pattern: "*.md" }),
        call("read", { path: "/workspace/project/notes.md" }),
      ],
      { cwd: "project" },
    );
    expect(run.results.map((result) => result.text)).toEqual([
      "Successfully wrote 11 bytes to notes.md",
      "/workspace/project",
      "Successfully edited notes.md",
      "./deep/more.md:1:beta TODO\n./notes.md:1:gamma TODO",
      "./deep/more.md\n./notes.md",
      "gamma TODO\n",
    ]);
    const filesystem = await factory.filesystemFor("scoped");
    const before = requestsOf(filesystem);
    const again = await runAgent(factory, "scoped", [call("grep", { pattern: "TODO", path: "deep" }), call("glob", { pattern: "notes.*" })], { cwd: "project" });
    expect(again.results.map((result) => result.text)).toEqual(["deep/more.md:1:beta TODO", "./notes.md"]);
    expect(requestsOf(filesystem) - before).toBe(0);
  } finally {
    await factory.close();
  }
}, 30_000);

test("on Ceph RGW, mounted by bucket and prefix (the manager's own S3 store): the agent's files outlive the runtime and its cache", async () => {
  const server = s3Server();
  const bucket = await freshBucket("flue-agent-s3");
  const factory = (cacheRoot: string) =>
    acceleratedFsSandbox({
      mount: {
        bucket,
        prefix: "agents",
        region: server.region,
        endpoint: server.endpoint,
        forcePathStyle: true,
        credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
        ...quietMount,
      },
      managerConfig: { cacheRoot },
    });
  const first = factory(tempDirectory("flue-s3-cache"));
  try {
    const run = await runAgent(first, "project-1", [
      call("write", { path: "notes/plan.md", content: plan }),
      call("bash", { command: "mkdir -p src && printf 'export const x = 1; // TODO tidy\\n' > src/app.ts && ls" }),
      call("grep", { pattern: "TODO" }),
    ]);
    expect(run.results).toEqual([
      { tool: "write", text: `Successfully wrote ${plan.length} bytes to notes/plan.md`, isError: false },
      { tool: "bash", text: "notes\nsrc", isError: false },
      { tool: "grep", text: "./notes/plan.md:2:- TODO write tests\n./src/app.ts:1:export const x = 1; // TODO tidy", isError: false },
    ]);
  } finally {
    await first.close();
  }
  const second = factory(tempDirectory("flue-s3-cache"));
  try {
    const run = await runAgent(second, "project-1", [call("read", { path: "notes/plan.md" }), call("glob", { pattern: "**/*.ts" })]);
    expect(run.results).toEqual([
      { tool: "read", text: plan, isError: false },
      { tool: "glob", text: "./src/app.ts", isError: false },
    ]);
  } finally {
    await second.close();
  }
  // Each instance is a key prefix of its own in the bucket.
  const keys = (await s3Store(bucket).list({ prefix: "agents/" })).objects.map((object) => object.key);
  expect(keys).toContain("agents/project-1/format.json");
  expect(keys.every((key) => key.startsWith("agents/project-1/"))).toBe(true);
}, 60_000);
