// One process of adapter-processes.test.ts: an adapter over a shared writer (`exclusive: false`)
// of the workspace "team", under the cacheRoot every process of the test shares (each process
// after the first takes a sibling cache directory, src/mount/directory.ts).
//
// argv[2] is JSON: { role, store, cacheRoot, name, ops }. It prints JSON lines and waits for lines:
// - "core": a plain mount: writes /core/<name>.txt, prints {wrote}; on "check", refreshes and
//   prints {saw: every /core file}; on "exit", closes and exits.
// - "shell": a just-bash shell at /w. Prints {ready}; on "go" runs `ops` rounds of three commands:
//   a blind append and file write, a serializable counter increment (`isolation: "serializable"`,
//   printing what it read) and a blind increment of another counter; prints {done: ShellReport}.
// - "mastra": an AcceleratedFS in a Mastra Workspace. Prints {ready}; on "go" writes `ops` files
//   and appends a line for each; prints {done: {files, appended}}; on "check <other>", refreshes
//   and prints {saw: the other process's files}.
// - "flue": a Flue sandbox factory whose every instance id maps to the team workspace, two
//   instances in this process. Prints {ready}; on "go" each instance runs `ops` rounds (an append
//   to team.log, a note written with the sandbox's writeFile, a serializable counter increment);
//   prints {done: FlueReport}; on "check <other>", prints {saw: the other process's notes, read
//   through a command}.

import { join } from "node:path";
import { Workspace } from "@mastra/core/workspace";
import { defineCommand } from "just-bash";
import { LocalObjectStore, S3CachedFsManagerImpl, S3ObjectStore, type ObjectStore, type ResolvedMountConfig, type S3CachedFs } from "../../src/core.ts";
import { createAcceleratedJustBashShell } from "../../src/just-bash/index.ts";
import { AcceleratedFS } from "../../src/mastra/index.ts";
import { acceleratedFsSandbox } from "../../src/flue/index.ts";
import { s3StoreOptions } from "../support/s3-server.ts";
import { eachLine } from "../support/lines.ts";

export interface Job {
  role: "core" | "shell" | "mastra" | "flue";
  /** A LocalObjectStore directory (one sub-directory per prefix), or a bucket on the S3 server. */
  store: { local: string } | { s3: { bucket: string } };
  cacheRoot: string;
  name: string;
  ops: number;
}

export interface ShellReport {
  /** Lines appended by acknowledged blind commands, in order. */
  appended: string[];
  /** Files written by acknowledged blind commands, with their contents. */
  files: Record<string, string>;
  /** What each acknowledged serializable increment printed that it read (its last run's output). */
  saw: number[];
  /** Outputs of serializable commands that were not exactly one "saw N" line. */
  badOutputs: string[];
  /** Runs of the serializable increment's body (reruns after conflicts included). */
  incrementRuns: number;
  /** Acknowledged blind increments. */
  blindIncrements: number;
  /** Refusals with EAGAIN (nothing published). */
  eagain: number;
  failures: string[];
}

export interface FlueReport {
  appended: string[];
  notes: Record<string, string>;
  saw: number[];
  badOutputs: string[];
  eagain: number;
  failures: string[];
}

/** The stores of the test's bucket: one per prefix, as an S3 prefix is. */
export function storeFactoryOf(store: Job["store"]): (config: ResolvedMountConfig) => ObjectStore {
  return (config) =>
    "local" in store ? new LocalObjectStore({ root: join(store.local, config.prefix), fsync: false }) : new S3ObjectStore(s3StoreOptions(store.s3.bucket, { prefix: config.prefix }));
}

/** The mount every role makes: the workspace "team", as one of several writers. */
export const teamMount = { name: "team", prefix: "team", exclusive: false, headDelayMs: 60_000 } as const;

const lines: string[] = [];
const waiters: ((line: string) => void)[] = [];
/** Starts reading stdin (in the worker only: the test imports this module for its helpers). */
function listen(): void {
  void eachLine(Bun.stdin.stream(), (line) => {
    const waiter = waiters.shift();
    if (waiter === undefined) lines.push(line);
    else waiter(line);
  });
}
function nextLine(): Promise<string> {
  const line = lines.shift();
  if (line !== undefined) return Promise.resolve(line);
  return new Promise((resolve) => waiters.push(resolve));
}
const say = (message: Record<string, unknown>) => console.log(JSON.stringify(message));
const codeOf = (error: unknown) => String((error as { code?: unknown }).code ?? (error as Error).message);

if (import.meta.main) {
  const job = JSON.parse(process.argv[2]!) as Job;
  listen();
  const storeFactory = storeFactoryOf(job.store);
  switch (job.role) {
    case "core":
      await core(job, storeFactory);
      break;
    case "shell":
      await shell(job, storeFactory);
      break;
    case "mastra":
      await mastra(job, storeFactory);
      break;
    case "flue":
      await flue(job, storeFactory);
      break;
  }
  process.exit(0);
}

async function core(job: Job, storeFactory: (config: ResolvedMountConfig) => ObjectStore): Promise<void> {
  const manager = new S3CachedFsManagerImpl({ cacheRoot: job.cacheRoot, storeFactory });
  const fs = await manager.mount(teamMount);
  await fs.writeFile(`/core/${job.name}.txt`, job.name);
  say({ wrote: true });
  await nextLine(); // "check"
  await fs.refresh();
  const saw: Record<string, string> = {};
  for (const name of await fs.readdir("/core")) saw[name] = await fs.readText(`/core/${name}`);
  say({ saw });
  await nextLine(); // "exit"
  await fs.close();
}

async function shell(job: Job, storeFactory: (config: ResolvedMountConfig) => ObjectStore): Promise<void> {
  const manager = new S3CachedFsManagerImpl({ cacheRoot: job.cacheRoot, storeFactory });
  const fs: S3CachedFs = await manager.mount(teamMount);
  const report: ShellReport = { appended: [], files: {}, saw: [], badOutputs: [], incrementRuns: 0, blindIncrements: 0, eagain: 0, failures: [] };
  const tick = defineCommand("tick", async () => {
    report.incrementRuns++;
    return { stdout: "", stderr: "", exitCode: 0 };
  });
  const sh = await createAcceleratedJustBashShell({ filesystem: fs, cwd: "/w", customCommands: [tick] }); // blind commands by default
  say({ ready: true });
  await nextLine(); // "go"
  const attempt = async (label: string, run: () => Promise<void>) => {
    try {
      await run();
    } catch (error) {
      if (codeOf(error) === "EAGAIN") report.eagain++;
      else report.failures.push(`${label}: ${codeOf(error)} ${(error as Error).message}`);
    }
  };
  for (let round = 0; round < job.ops; round++) {
    const line = `${job.name}-${round}`;
    await attempt(`append ${round}`, async () => {
      const result = await sh.exec(`echo ${line} >> log.txt; echo ${round} > own/${line}`);
      if (result.exitCode !== 0) throw new Error(`exit ${result.exitCode}: ${result.stderr}`);
      report.appended.push(line);
      report.files[`/w/own/${line}`] = `${round}\n`;
    });
    await attempt(`increment ${round}`, async () => {
      const result = await sh.exec(`tick; n=$(cat counter); echo "saw $n"; echo $((n+1)) > counter`, { isolation: "serializable" });
      if (result.exitCode !== 0) throw new Error(`exit ${result.exitCode}: ${result.stderr}`);
      const match = /^saw (\d+)\n$/.exec(result.stdout);
      if (match === null) report.badOutputs.push(result.stdout);
      else report.saw.push(Number(match[1]));
    });
    await attempt(`blind increment ${round}`, async () => {
      const result = await sh.exec(`n=$(cat blind-counter); echo $((n+1)) > blind-counter`);
      if (result.exitCode !== 0) throw new Error(`exit ${result.exitCode}: ${result.stderr}`);
      report.blindIncrements++;
    });
  }
  say({ done: report });
  await nextLine(); // "exit"
  await sh.close();
  await fs.close();
}

async function mastra(job: Job, storeFactory: (config: ResolvedMountConfig) => ObjectStore): Promise<void> {
  const fs = new AcceleratedFS({ id: `${job.name}-fs`, cacheRoot: job.cacheRoot, exclusive: false, prefix: "team", mountName: "team", headDelayMs: 60_000, storeFactory });
  const workspace = new Workspace({ filesystem: fs });
  await workspace.init();
  say({ ready: true });
  await nextLine(); // "go"
  const files: Record<string, string> = {};
  const appended: string[] = [];
  for (let index = 0; index < job.ops; index++) {
    const path = `/mastra/${job.name}-${index}.txt`;
    await fs.writeFile(path, `${job.name} wrote ${index}`);
    files[path] = `${job.name} wrote ${index}`;
    await fs.appendFile("/mastra/log.txt", `${job.name}-${index}\n`);
    appended.push(`${job.name}-${index}`);
  }
  say({ done: { files, appended } });
  const [, other] = (await nextLine()).split(" "); // "check <other>"
  await fs.refresh();
  const saw: Record<string, string> = {};
  for (let index = 0; index < job.ops; index++) {
    const path = `/mastra/${other}-${index}.txt`;
    saw[path] = String(await fs.readFile(path, { encoding: "utf8" }));
  }
  say({ saw });
  await nextLine(); // "exit"
  await workspace.destroy();
}

async function flue(job: Job, storeFactory: (config: ResolvedMountConfig) => ObjectStore): Promise<void> {
  const factory = acceleratedFsSandbox({
    mount: () => teamMount, // every instance id: the one team workspace
    managerConfig: { cacheRoot: job.cacheRoot, storeFactory },
    shell: { isolation: "serializable" },
  });
  const ids = [`${job.name}-a`, `${job.name}-b`];
  const sandboxes = await Promise.all(ids.map((id) => factory.createSandbox({ id })));
  const report: FlueReport = { appended: [], notes: {}, saw: [], badOutputs: [], eagain: 0, failures: [] };
  say({ ready: true });
  await nextLine(); // "go"
  await Promise.all(
    sandboxes.map(async (sandbox, which) => {
      const id = ids[which]!;
      for (let round = 0; round < job.ops; round++) {
        try {
          const appended = await sandbox.exec(`echo ${id}-${round} >> team.log`);
          if (appended.exitCode !== 0) throw new Error(`exit ${appended.exitCode}: ${appended.stderr}`);
          report.appended.push(`${id}-${round}`);
          await sandbox.writeFile(`notes/${id}-${round}.md`, `note ${round} of ${id}`);
          report.notes[`/workspace/notes/${id}-${round}.md`] = `note ${round} of ${id}`;
          const counted = await sandbox.exec(`n=$(cat count); echo "saw $n"; echo $((n+1)) > count`);
          if (counted.exitCode !== 0) throw new Error(`exit ${counted.exitCode}: ${counted.stderr}`);
          const match = /^saw (\d+)\n$/.exec(counted.stdout);
          if (match === null) report.badOutputs.push(counted.stdout);
          else report.saw.push(Number(match[1]));
        } catch (error) {
          if (codeOf(error) === "EAGAIN") report.eagain++;
          else report.failures.push(`${id} round ${round}: ${codeOf(error)} ${(error as Error).message}`);
        }
      }
    }),
  );
  say({ done: report });
  const [, other] = (await nextLine()).split(" "); // "check <other>"
  const saw = await sandboxes[0]!.exec(`cat notes/${other}-a-0.md; echo; cat notes/${other}-b-0.md`);
  say({ saw: saw.stdout });
  await nextLine(); // "exit"
  await factory.close();
}
