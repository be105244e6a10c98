// Fixtures for the Flue adapter tests: a "bucket" (a LocalObjectStore directory, one sub-directory
// per key prefix, as an S3 store keeps one key prefix per instance), sandbox factories over it,
// and a full Flue agent run on the faux model provider (@earendil-works/pi-ai), with the real
// @flue/runtime started in this process and stopped after the run.

import { fauxAssistantMessage, fauxProvider, fauxToolCall, type FauxResponseStep } from "@earendil-works/pi-ai";
import { init, useModel, useSandbox, type SandboxFactory } from "@flue/runtime";
import { start } from "@flue/runtime/node";
import { join } from "node:path";
import { LocalObjectStore, type MountConfig, type ResolvedMountConfig, type S3CachedFs } from "../../src/core.ts";
import { acceleratedFsSandbox, type AcceleratedFsSandboxFactory, type AcceleratedFsSandboxOptions } from "../../src/flue/index.ts";
import { tempDirectory } from "../support/temp.ts";

/** Mount settings for exact request counts: the head moves only on close (as test/support/mounts.ts does). */
export const quietMount: Partial<MountConfig> = { headDelayMs: 60_000 };

export interface Bucket {
  /** The directory the objects live in. */
  root: string;
  /** A storeFactory that honours `config.prefix` (one LocalObjectStore per prefix). */
  storeFactory(config: ResolvedMountConfig): LocalObjectStore;
  /** A sandbox factory over this bucket, one workspace per instance under "agents/<id>", with a cache root of its own. */
  factory(options?: Partial<AcceleratedFsSandboxOptions> & { cacheRoot?: string }): AcceleratedFsSandboxFactory;
}

export function testBucket(label: string): Bucket {
  const root = tempDirectory(`flue-bucket-${label}`);
  const storeFactory = (config: ResolvedMountConfig) => new LocalObjectStore({ root: join(root, config.prefix), fsync: false });
  return {
    root,
    storeFactory,
    factory: ({ cacheRoot, ...options } = {}) =>
      acceleratedFsSandbox({
        mount: { prefix: "agents", ...quietMount },
        managerConfig: { cacheRoot: cacheRoot ?? tempDirectory(`flue-cache-${label}`), storeFactory },
        ...options,
      } as AcceleratedFsSandboxOptions),
  };
}

/** Remote requests a mount has made so far. */
export function requestsOf(filesystem: S3CachedFs): number {
  return filesystem.stats().requests.total.requests;
}

export interface ToolResult {
  tool: string;
  text: string;
  isError: boolean;
}

export interface AgentRun {
  /** The agent's final reply. */
  reply: string;
  /** Each tool call's result, in order. */
  results: ToolResult[];
}

/** A tool call the faux model makes, then the next step. */
export function call(tool: string, input: Record<string, unknown>): FauxResponseStep {
  return fauxAssistantMessage([fauxToolCall(tool, input)], { stopReason: "toolUse" });
}

/**
 * Starts the Flue runtime with one agent whose sandbox is `factory` (with `useSandbox`'s own
 * `cwd` when given), sends instance `id` one message, lets the faux model make `calls`, reads the
 * reply and stops the runtime.
 */
export async function runAgent(factory: SandboxFactory, id: string, calls: FauxResponseStep[], options: { cwd?: string } = {}): Promise<AgentRun> {
  const results: ToolResult[] = [];
  const faux = fauxProvider({ provider: "faux", models: [{ id: "model" }] });
  faux.setResponses([
    ...calls,
    (context) => {
      for (const message of context.messages) {
        if (message.role !== "toolResult") continue;
        const text = message.content.map((part) => (part.type === "text" ? part.text : "")).join("");
        results.push({ tool: message.toolName, text, isError: message.isError });
      }
      return fauxAssistantMessage("done");
    },
  ]);
  function Worker() {
    useModel("faux/model");
    useSandbox(factory, options.cwd === undefined ? undefined : { cwd: options.cwd });
    return "You work in the sandbox's files.";
  }
  const flue = await start({ agents: [Worker], providers: [faux.provider], env: {} });
  try {
    const handle = init(Worker, { id });
    const reply = await handle.read(await handle.dispatch("go"));
    return { reply: reply.text, results };
  } finally {
    await flue.stop();
  }
}
