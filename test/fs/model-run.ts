// Drives a seeded random sequence of operations (single writes, transactions that commit or throw,
// remounts, cache wipes, a reader refreshing) against our filesystem and the model, comparing the
// outcome of every step and the whole tree after each. A failure names the seed and the step, so
// `MODEL_SEED=<seed> npm test -- test/fs/model` replays it exactly.

import { expect } from "bun:test";
import { seededRandom, type S3CachedFs, type Transaction } from "../../src/core.ts";
import { wipeCache, type TestWorkspace } from "../support/mounts.ts";
import { FilesystemModel, ModelError } from "./model.ts";

type Target = S3CachedFs | Transaction;

interface Step {
  describe: string;
  model(model: FilesystemModel): void;
  run(fs: Target): Promise<unknown>;
}

export interface ModelRunOptions {
  seed: number;
  operations: number;
  workspace: TestWorkspace;
  layout?: Record<string, number>;
}

export async function runModel(options: ModelRunOptions): Promise<{ steps: number; commits: number; failures: number }> {
  const random = seededRandom(options.seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const names = ["a", "b", "c"];
  const randomPath = (): string => {
    // Half the time, a path that exists or lies just below an existing directory, so most
    // operations do something; otherwise anywhere, so invalid ones come up too.
    if (random() < 0.5 && model.nodes.size > 1) {
      const existing = pick([...model.nodes.keys()].filter((path) => path !== "/"));
      if (random() < 0.5 || model.nodes.get(existing)?.kind !== "directory" || existing.split("/").length > 3) return existing;
      return `${existing}/${pick(names)}`;
    }
    const depth = 1 + Math.floor(random() * 3);
    return `/${Array.from({ length: depth }, () => pick(names)).join("/")}`;
  };
  const randomContent = () => {
    const size = random() < 0.1 ? 40 + Math.floor(random() * 200) : Math.floor(random() * 12);
    return Array.from({ length: size }, () => pick(["x", "y", "z", "é", "\n"])).join("");
  };
  const config = { ...(options.layout === undefined ? {} : { layout: options.layout }), snapshotEveryCommits: 25 };
  const manager = () => options.workspace.manager();
  let fs = await manager().mount({ name: "model", headDelayMs: 5, ...config });
  const readerRoot = options.workspace.freshCacheRoot();
  let reader = await options.workspace.manager({ cacheRoot: readerRoot }).mount({ name: "model-reader", mode: "readonly", ...config });
  let model = new FilesystemModel();
  let failures = 0;
  let commits = 0;
  const history: string[] = [];

  const randomStep = (): Step => {
    const kind = pick(["write", "write", "append", "mkdir", "mkdir", "rm", "rename", "copy", "chmod", "link"] as const);
    const path = randomPath();
    switch (kind) {
      case "write":
      case "append": {
        const content = randomContent();
        return {
          describe: `${kind} ${path} ${JSON.stringify(content)}`,
          model: (m) => m.write(path, content, kind === "append"),
          run: (target) => (kind === "append" ? target.appendFile(path, content) : target.writeFile(path, content)),
        };
      }
      case "mkdir": {
        const recursive = random() < 0.5;
        return { describe: `mkdir ${path} recursive=${recursive}`, model: (m) => m.mkdir(path, recursive), run: (target) => target.mkdir(path, { recursive }) };
      }
      case "rm": {
        const recursive = random() < 0.5;
        const force = random() < 0.3;
        return {
          describe: `rm ${path} recursive=${recursive} force=${force}`,
          model: (m) => m.rm(path, recursive, force),
          run: (target) => target.rm(path, { recursive, force }),
        };
      }
      case "rename": {
        const to = randomPath();
        return { describe: `rename ${path} ${to}`, model: (m) => m.rename(path, to), run: (target) => target.rename(path, to) };
      }
      case "copy": {
        const to = randomPath();
        const overwrite = random() < 0.7;
        return {
          describe: `copyFile ${path} ${to} overwrite=${overwrite}`,
          model: (m) => m.copyFile(path, to, overwrite),
          run: (target) => target.copyFile(path, to, { overwrite }),
        };
      }
      case "chmod": {
        const mode = pick([0o600, 0o644, 0o755, 0o700]);
        return { describe: `chmod ${path} ${mode.toString(8)}`, model: (m) => m.chmod(path, mode), run: (target) => target.chmod(path, mode) };
      }
      case "link": {
        const to = randomPath();
        return { describe: `link ${path} ${to}`, model: (m) => m.link(path, to), run: (target) => target.link(path, to) };
      }
    }
  };

  const outcome = async (promise: () => Promise<unknown>): Promise<string> => {
    try {
      await promise();
      return "ok";
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code === undefined) throw error;
      return code;
    }
  };
  const expected = (step: Step, on: FilesystemModel): string => {
    try {
      step.model(on);
      return "ok";
    } catch (error) {
      if (error instanceof ModelError) return error.code;
      throw error;
    }
  };

  const fail = (index: number, message: string): never => {
    throw new Error(`model run seed=${options.seed} step ${index}: ${message}\nlast steps:\n  ${history.slice(-12).join("\n  ")}`);
  };

  const compareTree = async (target: Target | S3CachedFs, index: number, contents: boolean, label: string) => {
    const actual = (await target.walk("/"))
      .map(({ path, stats }) => `/${path} ${stats.isDirectory() ? "directory" : "file"} ${(stats.mode & 0o7777).toString(8)} ${stats.isDirectory() ? "- -" : `${stats.size} ${stats.nlink}`}`)
      .sort();
    const wanted = model.listing();
    if (JSON.stringify(actual) !== JSON.stringify(wanted)) {
      fail(index, `${label} tree differs from the model:\n  ours:  ${actual.join(", ")}\n  model: ${wanted.join(", ")}`);
    }
    if (!contents) return;
    for (const [path, content] of model.files()) {
      const read = await target.readText(path);
      if (read !== content) fail(index, `${label} ${path} holds ${JSON.stringify(read)}, the model ${JSON.stringify(content)}`);
    }
  };

  let index = 0;
  while (index < options.operations) {
    const roll = random();
    if (roll < 0.03) {
      history.push(`${index}: remount`);
      commits += fs.stats().commits?.commits ?? 0;
      await fs.close();
      fs = await manager().mount({ name: "model", headDelayMs: 5, ...config });
      await compareTree(fs, index, true, "after remount,");
      index++;
      continue;
    }
    if (roll < 0.05) {
      history.push(`${index}: wipe the cache and remount`);
      commits += fs.stats().commits?.commits ?? 0;
      await fs.close();
      wipeCache(options.workspace.cacheRoot);
      fs = await manager().mount({ name: "model", headDelayMs: 5, ...config });
      await compareTree(fs, index, true, "after a cache wipe,");
      index++;
      continue;
    }
    if (roll < 0.09) {
      history.push(`${index}: reader refresh`);
      await reader.refresh();
      await compareTree(reader, index, random() < 0.3, "the reader's");
      if (random() < 0.2) {
        await reader.close();
        wipeCache(readerRoot);
        reader = await options.workspace.manager({ cacheRoot: readerRoot }).mount({ name: "model-reader", mode: "readonly", ...config });
        await compareTree(reader, index, true, "a cold reader's");
      }
      index++;
      continue;
    }
    if (roll < 0.2) {
      const steps = Array.from({ length: 1 + Math.floor(random() * 5) }, randomStep);
      const abort = random() < 0.25;
      history.push(`${index}: transaction${abort ? " (throws at the end)" : ""} [${steps.map((step) => step.describe).join("; ")}]`);
      const draft = model.clone();
      const outcomes: string[] = [];
      const wanted = steps.map((step) => expected(step, draft));
      try {
        await fs.transaction(async (tx) => {
          for (const step of steps) outcomes.push(await outcome(() => step.run(tx)));
          await compareTreeIn(tx, draft, index, fail);
          if (abort) throw new Error("abandon the transaction");
        });
      } catch (error) {
        if (!abort || (error as Error).message !== "abandon the transaction") throw error;
      }
      if (JSON.stringify(outcomes) !== JSON.stringify(wanted)) fail(index, `transaction outcomes ${outcomes.join(",")}, the model ${wanted.join(",")}`);
      if (!abort) model = draft;
      failures += outcomes.filter((entry) => entry !== "ok").length;
      await compareTree(fs, index, random() < 0.1, "after the transaction,");
      index += steps.length;
      continue;
    }
    const step = randomStep();
    history.push(`${index}: ${step.describe}`);
    const wanted = expected(step, model);
    const got = await outcome(() => step.run(fs));
    if (got !== wanted) fail(index, `${step.describe}: ours ${got}, the model ${wanted}`);
    if (got !== "ok") failures++;
    await compareTree(fs, index, random() < 0.05, "");
    index++;
  }
  await compareTree(fs, index, true, "at the end,");
  await reader.refresh();
  await compareTree(reader, index, true, "at the end, the reader's");
  commits += fs.stats().commits?.commits ?? 0;
  await fs.close();
  await reader.close();
  expect(index).toBeGreaterThanOrEqual(options.operations);
  return { steps: index, commits, failures };

  async function compareTreeIn(tx: Transaction, draft: FilesystemModel, at: number, failWith: typeof fail) {
    const actual = (await tx.walk("/"))
      .map(({ path, stats }) => `/${path} ${stats.isDirectory() ? "directory" : "file"} ${(stats.mode & 0o7777).toString(8)} ${stats.isDirectory() ? "- -" : `${stats.size} ${stats.nlink}`}`)
      .sort();
    const wanted = draft.listing();
    if (JSON.stringify(actual) !== JSON.stringify(wanted)) failWith(at, `inside the transaction the tree differs:\n  ours:  ${actual.join(", ")}\n  model: ${wanted.join(", ")}`);
    for (const [path, content] of draft.files()) {
      const read = await tx.readText(path);
      if (read !== content) failWith(at, `inside the transaction ${path} holds ${JSON.stringify(read)}, the model ${JSON.stringify(content)}`);
    }
  }
}
