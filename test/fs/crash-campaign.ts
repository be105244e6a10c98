// Crash and fault campaigns: a fixed workload runs with one fault injected at the k-th remote
// request, for every k and every kind of fault. Afterwards the filesystem is mounted afresh (no
// local state) and must hold exactly the acknowledged operations, plus possibly the one in flight
// when the fault struck, never part of it; no acknowledged write lost or duplicated; and a new
// writer must be able to take over and write.

import { expect } from "bun:test";
import { CountingStore, FaultInjectingStore, type Fault, type ObjectStore, type S3CachedFs, type Transaction } from "../../src/core.ts";
import type { TestWorkspace } from "../support/mounts.ts";
import { FilesystemModel } from "./model.ts";

const layout = { blockBytes: 16, chunkBytes: 64, largeFileBytes: 48, inlineRecordBytes: 64, packBytes: 128, uploadConcurrency: 2 };

interface WorkloadStep {
  name: string;
  run(fs: S3CachedFs): Promise<unknown>;
  model(model: FilesystemModel): void;
}

const big = "B".repeat(150);
const bigger = "C".repeat(200);

/** Covers inline data, packs, chunks, a transaction, appends, renames of trees, copies, removals. */
export const workload: WorkloadStep[] = [
  { name: "write /a.txt", run: (fs) => fs.writeFile("/a.txt", "one"), model: (m) => m.write("/a.txt", "one", false) },
  { name: "mkdir -p /dir/sub", run: (fs) => fs.mkdir("/dir/sub", { recursive: true }), model: (m) => m.mkdir("/dir/sub", true) },
  {
    name: "transaction",
    run: (fs) =>
      fs.transaction(async (tx: Transaction) => {
        await tx.writeFile("/dir/sub/x", "x");
        await tx.writeFile("/dir/sub/packed", big);
        await tx.rename("/a.txt", "/dir/a.txt");
      }),
    model: (m) => {
      m.write("/dir/sub/x", "x", false);
      m.write("/dir/sub/packed", big, false);
      m.rename("/a.txt", "/dir/a.txt");
    },
  },
  { name: "append /dir/a.txt", run: (fs) => fs.appendFile("/dir/a.txt", "+two"), model: (m) => m.write("/dir/a.txt", "+two", true) },
  { name: "write /big.bin (chunks)", run: (fs) => fs.writeFile("/big.bin", bigger), model: (m) => m.write("/big.bin", bigger, false) },
  { name: "rm /dir/sub/x", run: (fs) => fs.rm("/dir/sub/x"), model: (m) => m.rm("/dir/sub/x", false, false) },
  { name: "copy /big.bin", run: (fs) => fs.copyFile("/big.bin", "/copy.bin"), model: (m) => m.copyFile("/big.bin", "/copy.bin", true) },
  { name: "rename /dir /moved", run: (fs) => fs.rename("/dir", "/moved"), model: (m) => m.rename("/dir", "/moved") },
];

export const faults: { label: string; fault: Fault }[] = [
  { label: "crash before the request lands", fault: { kind: "crash", landed: false } },
  { label: "crash after the request lands", fault: { kind: "crash", landed: true } },
  { label: "answer lost after it landed", fault: { kind: "lost-answer" } },
  { label: "connection reset after it landed", fault: { kind: "lost-answer", error: "reset" } },
  { label: "500", fault: { kind: "error", error: "server-error" } },
  { label: "503 slow down", fault: { kind: "error", error: "throttle" } },
  { label: "409", fault: { kind: "error", error: "conflict" } },
  { label: "spurious 412", fault: { kind: "error", error: "precondition" } },
  { label: "timeout before sending", fault: { kind: "error", error: "timeout" } },
];

async function snapshot(fs: S3CachedFs): Promise<string[]> {
  const lines: string[] = [];
  for (const { path, stats } of await fs.walk("/")) {
    lines.push(stats.isDirectory() ? `/${path}/` : `/${path} = ${await fs.readText(`/${path}`)}`);
  }
  return lines.sort();
}

function expected(model: FilesystemModel): string[] {
  return [...model.nodes]
    .filter(([path]) => path !== "/")
    .map(([path, node]) => (node.kind === "directory" ? `${path}/` : `${path} = ${node.content}`))
    .sort();
}

/** How many requests the workload makes from mount to close when nothing fails. */
export async function countRequests(workspace: TestWorkspace): Promise<number> {
  let counter: CountingStore | undefined;
  const fs = await workspace.mount({ name: "count", layout, leaseTtlMs: 60_000 }, { wrap: (store) => (counter = new CountingStore(store)) });
  for (const step of workload) await step.run(fs);
  await fs.close();
  return counter!.snapshot().total.requests;
}

export interface CampaignResult {
  runs: number;
  /** Runs where the operation in flight turned out to have landed. */
  inFlightLanded: number;
  acknowledged: number;
}

/** One run: the fault strikes request number `at` (0-based) of a fresh workspace. */
export async function runWithFault(makeWorkspace: () => Promise<TestWorkspace>, at: number, fault: Fault, label: string): Promise<{ landed: boolean; acknowledged: number }> {
  const workspace = await makeWorkspace();
  let injector: FaultInjectingStore | undefined;
  const wrap = (store: ObjectStore) => (injector = new FaultInjectingStore(store, { rules: [{ after: at, times: 1, fault }] }));
  const model = new FilesystemModel();
  let acknowledged = 0;
  let inFlight: WorkloadStep | undefined;
  let fs: S3CachedFs | undefined;
  try {
    fs = await workspace.mount({ name: "campaign", layout, leaseTtlMs: 60_000, maxAttempts: 4 }, { wrap });
    for (const step of workload) {
      inFlight = step;
      await step.run(fs);
      step.model(model);
      acknowledged++;
      inFlight = undefined;
    }
    await fs.close();
  } catch {
    // The fault (or the crash after it) ended the writer; what it acknowledged must stand.
    await fs?.close().catch(() => {});
  }
  const where = `fault "${label}" at request ${at} (in flight: ${inFlight?.name ?? "none"}; fired: ${JSON.stringify(injector?.fired)})`;

  // A fresh machine: no cache, no index. It must mount, and see a state we can explain. (If the
  // writer died before creating format.json, there is no filesystem yet: the empty state.)
  const reader = await workspace.mount({ name: "verify", mode: "readonly", layout }, { cacheRoot: workspace.freshCacheRoot() }).catch((error: Error & { code?: string }) => {
    if (acknowledged === 0 && error.code === "ENOENT" && error.message.includes("format.json")) return undefined;
    throw new Error(`${where}: the filesystem no longer mounts: ${error.message}`);
  });
  const seen = reader === undefined ? [] : await snapshot(reader);
  await reader?.close();
  const before = expected(model);
  let landed = false;
  if (JSON.stringify(seen) !== JSON.stringify(before)) {
    const after = model.clone();
    if (inFlight !== undefined) inFlight.model(after);
    landed = inFlight !== undefined && JSON.stringify(seen) === JSON.stringify(expected(after));
    if (!landed) {
      throw new Error(`${where}: the state is neither before nor after the operation in flight\n  seen:   ${seen.join(" | ")}\n  before: ${before.join(" | ")}`);
    }
  }

  // A new writer takes over at once (the crashed one never released its lease) and writes.
  const successor = await workspace.mount({ name: "successor", onWriterBusy: "takeover", layout }, { cacheRoot: workspace.freshCacheRoot() }).catch((error: Error) => {
    throw new Error(`${where}: a new writer cannot take over: ${error.message}`);
  });
  await successor.writeFile("/after-recovery.txt", "ok");
  expect(await successor.readText("/after-recovery.txt")).toBe("ok");
  await successor.close();
  return { landed, acknowledged };
}
