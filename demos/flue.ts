// bun run demo:flue — a Flue agent (the real @flue/runtime, started in this process) whose sandbox
// is acceleratedFsSandbox, with no credentials and no network: the "bucket" is a LocalObjectStore
// in a temp directory (one sub-directory per key prefix, as S3 keeps one prefix per instance), and
// the model is the faux provider of @earendil-works/pi-ai, scripted to make tool calls. Then the
// runtime is stopped, the mounts closed and the local cache deleted, a new runtime starts, and the
// same instance id finds its files again, from the store alone.

import { fauxAssistantMessage, fauxProvider, fauxToolCall, type FauxResponseStep } from "@earendil-works/pi-ai";
import { init, useModel, useSandbox } from "@flue/runtime";
import { start } from "@flue/runtime/node";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LocalObjectStore, type ResolvedMountConfig } from "../src/core.ts";
import { acceleratedFsSandbox, type AcceleratedFsSandboxFactory } from "../src/flue/index.ts";

const work = mkdtempSync(join(tmpdir(), "s3-bun-cached-fs-flue-"));
const bucket = join(work, "bucket");
const cacheRoot = join(work, "cache");
// The storeFactory must honour config.prefix: each instance's workspace is its own prefix.
const storeFactory = (config: ResolvedMountConfig) => new LocalObjectStore({ root: join(bucket, config.prefix) });
const say = (line: string) => console.log(line);

/**
 * The sandbox factory: one workspace per instance id, under "agents/<id>" in the bucket. (The head
 * pointer moves when a mount closes rather than a second after each commit, so that each call's
 * printed cost is its own.)
 */
const makeFactory = () => acceleratedFsSandbox({ cwd: "/workspace", mount: { prefix: "agents", headDelayMs: 60_000 }, managerConfig: { cacheRoot, storeFactory } });
let factory: AcceleratedFsSandboxFactory = makeFactory();

function Assistant() {
  useModel("faux/scripted");
  useSandbox(factory);
  return "You keep the project's notes in your workspace.";
}

type Call = [tool: string, input: Record<string, unknown>];

/**
 * Starts the runtime, sends instance `id` one message and lets the faux model make `calls`, printing
 * each call, its result and the requests it cost the store; then stops the runtime.
 */
async function conversation(id: string, calls: Call[], reply: string): Promise<void> {
  const filesystem = await factory.filesystemFor(id);
  const requests = () => filesystem.stats().requests.total.requests;
  let before = requests();
  /** Prints the result of the call before this step, with what it cost. */
  const report = (context: Parameters<Extract<FauxResponseStep, Function>>[0]) => {
    const last = context.messages.at(-1);
    if (last?.role !== "toolResult") return;
    const text = last.content.map((part) => (part.type === "text" ? part.text : "")).join("");
    for (const line of text.split("\n")) say(`      ${line}`);
    const cost = requests() - before;
    say(`      [${cost} request${cost === 1 ? "" : "s"} to the store]`);
  };
  const faux = fauxProvider({ provider: "faux", models: [{ id: "scripted" }] });
  faux.setResponses([
    ...calls.map(([tool, input]): FauxResponseStep => (context) => {
      report(context);
      say(`  ${tool}(${JSON.stringify(input)})`);
      before = requests();
      return fauxAssistantMessage([fauxToolCall(tool, input)], { stopReason: "toolUse" });
    }),
    (context) => {
      report(context);
      return fauxAssistantMessage(reply);
    },
  ]);
  const flue = await start({ agents: [Assistant], providers: [faux.provider], env: {} });
  try {
    const handle = init(Assistant, { id });
    const answer = await handle.read(await handle.dispatch("Please tidy up the project notes."));
    say(`  agent: ${answer.text}`);
  } finally {
    await flue.stop();
  }
}

try {
  say(`object store: ${bucket}\n`);
  say("=== a Flue agent (faux model) working in instance demo-project's sandbox");
  await conversation(
    "demo-project",
    [
      ["write", { path: "notes/plan.md", content: "# Plan\n- TODO write tests\n- ship it\n" }],
      ["read", { path: "notes/plan.md" }],
      ["edit", { path: "notes/plan.md", oldText: "- TODO write tests", newText: "- wrote tests" }],
      ["bash", { command: "mkdir -p src && printf 'export function main() {\\n  // TODO: handle errors\\n}\\n' > src/app.ts && ls -R" }],
      ["grep", { pattern: "TODO" }],
      ["glob", { pattern: "*.{ts,md}" }],
      ["bash", { command: "sleep 5", timeout: 0.3 }],
    ],
    "Done: tests noted, one TODO left in src/app.ts.",
  );

  say("\n=== the runtime is stopped, the mounts closed, the local cache deleted; a new runtime starts");
  await factory.close();
  rmSync(cacheRoot, { recursive: true, force: true });
  factory = makeFactory();
  await conversation(
    "demo-project",
    [
      ["grep", { pattern: "wrote|TODO" }],
      ["read", { path: "notes/plan.md" }],
      ["bash", { command: "cat src/app.ts" }],
      ["grep", { pattern: "wrote|TODO" }],
      ["glob", { pattern: "**/*.md" }],
    ],
    "Done: everything is where I left it.",
  );

  say("\n=== another instance id is another workspace");
  await conversation("other-project", [["glob", { pattern: "*" }]], "Done: this workspace is empty.");
  await factory.close();
} finally {
  rmSync(work, { recursive: true, force: true });
}
