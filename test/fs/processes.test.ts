// Real processes: a writer killed with SIGKILL in the middle of a large transaction; a zombie
// writer frozen with SIGSTOP past its lease while another takes over; one writer and four reader
// processes checking an invariant continuously. SUSTAINED_SECONDS sets the sustained run's length.
import { afterAll, describe, expect, test } from "bun:test";
import { randomUUID } from "node:crypto";
import { removeTempDirectories, tempDirectory } from "../support/temp.ts";
import { eachLine } from "../support/lines.ts";
import { testWorkspace, type Backend, type TestWorkspace } from "../support/mounts.ts";

afterAll(removeTempDirectories);

const worker = `${import.meta.dir}/process-worker.ts`;

interface Spawned {
  process: ReturnType<typeof Bun.spawn>;
  messages: Record<string, unknown>[];
  waitFor(predicate: (message: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  exited: Promise<number>;
}

function spawnWorker(job: Record<string, unknown>): Spawned {
  const child = Bun.spawn([process.execPath, worker, JSON.stringify(job)], { stdout: "pipe", stderr: "pipe", env: process.env });
  const messages: Record<string, unknown>[] = [];
  const listeners = new Set<() => void>();
  void eachLine(child.stdout as ReadableStream<Uint8Array>, (line) => {
    try {
      messages.push(JSON.parse(line));
    } catch {
      // not one of ours
    }
    for (const listener of listeners) listener();
  });
  return {
    process: child,
    messages,
    exited: child.exited,
    waitFor: (predicate, timeoutMs = 60_000) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const found = messages.find(predicate);
          if (found !== undefined) {
            listeners.delete(check);
            clearTimeout(timer);
            resolve(found);
          }
        };
        const timer = setTimeout(async () => {
          listeners.delete(check);
          const stderr = await new Response(child.stderr as ReadableStream).text().catch(() => "");
          reject(new Error(`worker never said it (saw ${JSON.stringify(messages)}); stderr: ${stderr.slice(-2000)}`));
        }, timeoutMs);
        listeners.add(check);
        check();
      }),
  };
}

async function storeOf(backend: Backend, workspace: TestWorkspace): Promise<Record<string, unknown>> {
  if (backend === "local") return { local: workspace.describe.slice("local:".length) };
  const [bucket, ...prefix] = workspace.describe.slice("s3://".length).split("/");
  return { s3: { bucket, prefix: prefix.join("/") } };
}

/** Every batch file agrees with /batch/generation: a transaction is seen whole or not at all. */
async function checkWholeGeneration(workspace: TestWorkspace, files: number): Promise<number> {
  const reader = await workspace.mount({ name: `check-${randomUUID().slice(0, 6)}`, mode: "readonly" }, { cacheRoot: workspace.freshCacheRoot() });
  try {
    if (!(await reader.exists("/batch/generation"))) {
      expect(await reader.exists("/batch")).toBe(false);
      return 0;
    }
    const generation = Number(await reader.readText("/batch/generation"));
    const names = await reader.readdir("/batch");
    expect(names.length).toBe(files + 1);
    for (let index = 0; index < files; index += 97) {
      expect(await reader.readText(`/batch/${index}.txt`)).toBe(`generation ${generation} `.repeat(20));
    }
    expect(await reader.readText(`/batch/${files - 1}.txt`)).toBe(`generation ${generation} `.repeat(20));
    return generation;
  } finally {
    await reader.close();
  }
}

for (const backend of ["local", "s3"] as Backend[]) {
  describe(`real processes (${backend})`, () => {
    test("a writer killed with SIGKILL mid-transaction leaves the state before or after it, never between", async () => {
      const files = backend === "local" ? 2_000 : 600;
      for (const delay of [0, 40, 150]) {
        const workspace = await testWorkspace(backend, "sigkill");
        const writer = spawnWorker({ role: "big-transaction", store: await storeOf(backend, workspace), cacheRoot: tempDirectory("sigkill-writer"), files });
        await writer.waitFor((message) => message.writing === 2);
        await Bun.sleep(delay);
        writer.process.kill("SIGKILL");
        await writer.exited;
        const committed = writer.messages.filter((message) => "committed" in message).map((message) => message.committed as number);
        const generation = await checkWholeGeneration(workspace, files);
        expect(generation).toBeGreaterThanOrEqual(Math.max(0, ...committed)); // nothing acknowledged was lost
        expect(generation).toBeLessThanOrEqual(Math.max(0, ...committed) + 1); // at most the one in flight
        // The filesystem takes a new writer at once.
        const successor = await workspace.mount({ name: "successor", onWriterBusy: "takeover" }, { cacheRoot: workspace.freshCacheRoot() });
        await successor.writeFile("/after-kill.txt", "writable");
        await successor.close();
      }
    }, 300_000);

    test("a zombie writer frozen past its lease cannot publish after another writer takes over", async () => {
      const workspace = await testWorkspace(backend, "zombie-process");
      const files = 200;
      const zombie = spawnWorker({ role: "big-transaction", store: await storeOf(backend, workspace), cacheRoot: tempDirectory("zombie"), files, leaseTtlMs: 1_500 });
      await zombie.waitFor((message) => message.committed === 2);
      zombie.process.kill("SIGSTOP");
      // The successor waits until the lease sat unchanged for a whole TTL, then takes it.
      const successor = await workspace.mount({ name: "successor", onWriterBusy: "wait", leaseTtlMs: 1_500 }, { cacheRoot: workspace.freshCacheRoot() });
      await successor.writeFile("/successor.txt", "mine");
      const frozenAt = await checkWholeGeneration(workspace, files);
      zombie.process.kill("SIGCONT");
      const exit = await Promise.race([zombie.exited, Bun.sleep(5_000).then(() => "still running")]);
      expect(exit).not.toBe(0); // its next commit failed with EFENCED and ended it
      if (exit === "still running") zombie.process.kill("SIGKILL");
      expect(await checkWholeGeneration(workspace, files)).toBe(frozenAt);
      expect(await successor.readText("/successor.txt")).toBe("mine");
      await successor.close();
    }, 120_000);

    test("one writer and four reader processes: every reader always sees a transaction whole", async () => {
      const seconds = Number(process.env.SUSTAINED_SECONDS ?? (backend === "local" ? 4 : 6));
      const workspace = await testWorkspace(backend, "sustained");
      const store = await storeOf(backend, workspace);
      const seed = await workspace.mount({ name: "seed" }, { cacheRoot: workspace.freshCacheRoot() });
      await seed.transaction(async (tx) => {
        await tx.writeFile("/inv/a", "0");
        await tx.writeFile("/inv/b", "0");
      });
      await seed.close();
      const readers = Array.from({ length: 4 }, () => spawnWorker({ role: "checking-reader", store, cacheRoot: tempDirectory("reader"), seconds: seconds + 1 }));
      const writer = spawnWorker({ role: "sustained-writer", store, cacheRoot: tempDirectory("writer"), seconds });
      const written = (await writer.waitFor((message) => "commits" in message, (seconds + 60) * 1000)).commits as number;
      expect(await writer.exited).toBe(0);
      for (const reader of readers) {
        const report = await reader.waitFor((message) => "checks" in message, (seconds + 60) * 1000);
        expect(report.violations).toBe(0);
        expect(report.checks as number).toBeGreaterThan(0);
        expect(report.moves as number).toBeGreaterThan(0);
        expect(report.highest as number).toBeLessThanOrEqual(written);
      }
      console.log(`sustained (${backend}, ${seconds}s): ${written} commits, readers: ${readers.map((reader) => JSON.stringify(reader.messages.at(-1))).join(" ")}`);
    }, 300_000);
  });
}

