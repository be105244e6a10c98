// The adapters with several writers in several processes on one workspace, every process under
// ONE cacheRoot (as two processes of one app on one machine would be): the first process takes
// the mount's cache directory, the next a sibling slot (`<directory>~2`) instead of failing with
// EBUSY; an exclusive writer still gets EBUSY. Then:
// - two just-bash shells: blind commands (append, write) all land; a serializable counter
//   (`n=$(cat c); echo $((n+1)) > c`) ends at the number of acknowledged increments, and the
//   outputs returned are those of the runs that counted (each value read exactly once);
// - two Mastra AcceleratedFS + Workspace: each reads the other's files after refresh;
// - two Flue sandbox factories, two instances each, every instance on the team workspace.
// The processes are test/fs/adapter-processes-worker.ts.
import { afterAll, describe, expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { S3CachedFsManagerImpl, type S3CachedFs } from "../../src/core.ts";
import { mountDirectoryName } from "../../src/mount.ts";
import { expectCode } from "../support/errors.ts";
import { removeTempDirectories, tempDirectory } from "../support/temp.ts";
import { freshBucket } from "../support/s3-server.ts";
import { killAll, spawnChild, type Child } from "../support/children.ts";
import type { Backend } from "../support/mounts.ts";
import { storeFactoryOf, teamMount, type FlueReport, type Job, type ShellReport } from "./adapter-processes-worker.ts";

afterAll(removeTempDirectories);

const worker = `${import.meta.dir}/adapter-processes-worker.ts`;

async function bucketOf(backend: Backend, label: string): Promise<Job["store"]> {
  return backend === "local" ? { local: tempDirectory(`adapters-${label}`) } : { s3: { bucket: await freshBucket(`adapters-${label}`) } };
}

/** A mount of the team workspace under a cacheRoot of its own (so it holds none of the test's). */
async function ownMount(store: Job["store"], config: Record<string, unknown> = {}): Promise<S3CachedFs> {
  const manager = new S3CachedFsManagerImpl({ cacheRoot: tempDirectory("adapters-own"), storeFactory: storeFactoryOf(store) });
  return manager.mount({ ...teamMount, name: "own", ...config });
}

/** Lines of a file, without the empty one after the last newline. */
const linesOf = (text: string) => text.split("\n").filter((line) => line !== "");

/** The directories under cacheRoot: the team mount's and its slots. */
/**
 * Waits for both children to be ready on one cacheRoot (each in a cache directory of its own:
 * the second took a sibling slot), starts them at once, and returns what each reports when done.
 */
async function startTogether(children: Child[], cacheRoot: string): Promise<unknown[]> {
  await Promise.all(children.map((child) => child.next("ready")));
  expect(teamDirectories(cacheRoot).length).toBe(2);
  for (const child of children) child.say("go");
  return Promise.all(children.map((child) => child.next("done")));
}

function teamDirectories(cacheRoot: string): string[] {
  return readdirSync(cacheRoot)
    .filter((name) => name.startsWith(mountDirectoryName("team")))
    .sort();
}

for (const backend of ["local", "s3"] as Backend[]) {
  describe(`adapters with several writers in several processes, one cacheRoot (${backend})`, () => {
    test("two processes mount the same workspace under one cacheRoot: the second takes a sibling directory, both write and see each other; an exclusive writer there is still EBUSY", async () => {
      const store = await bucketOf(backend, "core");
      const cacheRoot = tempDirectory("adapters-core-cache");
      const children: Child[] = [];
      try {
        for (const name of ["p0", "p1"]) {
          const child = spawnChild(worker, { role: "core", store, cacheRoot, name, ops: 0 });
          children.push(child);
          await child.next("wrote"); // one after the other: p0 holds the first directory
        }
        expect(teamDirectories(cacheRoot)).toEqual([mountDirectoryName("team"), `${mountDirectoryName("team")}~2`]);
        // The exclusive writer's behaviour is unchanged: its directory is busy, so it is refused.
        const manager = new S3CachedFsManagerImpl({ cacheRoot, storeFactory: storeFactoryOf(store) });
        const refused = await expectCode(manager.mount({ ...teamMount, exclusive: true }), "EBUSY");
        expect(refused.message).toContain("in use by process");
        for (const child of children) child.say("check");
        const views = await Promise.all(children.map((child) => child.next("saw")));
        for (const view of views) expect(view).toEqual({ "p0.txt": "p0", "p1.txt": "p1" });
        for (const child of children) child.say("exit");
        for (const child of children) expect({ name: child.name, code: await child.process.exited }).toEqual({ name: child.name, code: 0 });
        // Both directories are free again and reused: no third one appears.
        const again = await manager.mount(teamMount);
        expect((await again.readdir("/core")).sort()).toEqual(["p0.txt", "p1.txt"]);
        await again.close();
        expect(teamDirectories(cacheRoot)).toEqual([mountDirectoryName("team"), `${mountDirectoryName("team")}~2`]);
      } finally {
        killAll(children);
      }
    }, 120_000);

    test("two just-bash shells in two processes: every acknowledged blind command's writes are there; the serializable counter equals its acknowledged increments, each value read once", async () => {
      const store = await bucketOf(backend, "shell");
      const seed = await ownMount(store);
      for (const path of ["/w/counter", "/w/blind-counter"]) await seed.writeFile(path, "0");
      await seed.close();
      const cacheRoot = tempDirectory("adapters-shell-cache");
      const ops = backend === "local" ? 12 : 8;
      const children = ["p0", "p1"].map((name) => spawnChild(worker, { role: "shell", store, cacheRoot, name, ops }));
      try {
        const reports = (await startTogether(children, cacheRoot)) as ShellReport[];
        expect(reports.flatMap((report) => report.failures)).toEqual([]);
        expect(reports.flatMap((report) => report.badOutputs)).toEqual([]);

        const fresh = await ownMount(store, { mode: "readonly", name: "fresh" });
        while ((await fresh.refresh()).changed);
        const appended = reports.flatMap((report) => report.appended);
        const log = linesOf(await fresh.readText("/w/log.txt"));
        expect(log.slice().sort()).toEqual(appended.slice().sort());
        for (const report of reports) expect(log.filter((line) => report.appended.includes(line))).toEqual(report.appended); // each shell's in its order
        for (const report of reports) for (const [path, content] of Object.entries(report.files)) expect({ path, content: await fresh.readText(path) }).toEqual({ path, content });

        // Serializable: the counter is the number of acknowledged increments, and the outputs
        // returned read 0, 1, 2, ... once each (an earlier run's output never reached the caller).
        const saw = reports.flatMap((report) => report.saw).sort((a, b) => a - b);
        expect(Number(await fresh.readText("/w/counter"))).toBe(saw.length);
        expect(saw).toEqual(Array.from({ length: saw.length }, (_, index) => index));
        expect(saw.length).toBeGreaterThan(0);
        // Blind: increments can be lost (a command reads, another commits, the first writes over it), never gained.
        const blindIncrements = reports.reduce((sum, report) => sum + report.blindIncrements, 0);
        const blindCounter = Number(await fresh.readText("/w/blind-counter"));
        expect(blindCounter).toBeLessThanOrEqual(blindIncrements);
        expect(blindCounter).toBeGreaterThan(0);
        await fresh.close();
        console.log(
          `just-bash shells (${backend}): ${appended.length} blind commands, serializable increments ${saw.length} in ${reports.reduce((sum, report) => sum + report.incrementRuns, 0)} runs (EAGAIN ${reports.reduce((sum, report) => sum + report.eagain, 0)}), ` +
            `blind increments ${blindIncrements} leaving the counter at ${blindCounter}`,
        );
        for (const child of children) child.say("exit");
        for (const child of children) expect({ name: child.name, code: await child.process.exited }).toEqual({ name: child.name, code: 0 });
      } finally {
        killAll(children);
      }
    }, 180_000);

    test("two Mastra AcceleratedFS + Workspace in two processes on one prefix and one cacheRoot: both write, each reads the other's files after refresh", async () => {
      const store = await bucketOf(backend, "mastra");
      const cacheRoot = tempDirectory("adapters-mastra-cache");
      const ops = 5;
      const children = ["p0", "p1"].map((name) => spawnChild(worker, { role: "mastra", store, cacheRoot, name, ops }));
      try {
        const reports = (await startTogether(children, cacheRoot)) as { files: Record<string, string>; appended: string[] }[];
        children[0]!.say("check p1");
        children[1]!.say("check p0");
        const [sawP1, sawP0] = await Promise.all(children.map((child) => child.next("saw")));
        expect(sawP1).toEqual(reports[1]!.files);
        expect(sawP0).toEqual(reports[0]!.files);
        const fresh = await ownMount(store, { mode: "readonly", name: "fresh" });
        while ((await fresh.refresh()).changed);
        expect(linesOf(await fresh.readText("/mastra/log.txt")).sort()).toEqual(reports.flatMap((report) => report.appended).sort());
        await fresh.close();
        for (const child of children) child.say("exit");
        for (const child of children) expect({ name: child.name, code: await child.process.exited }).toEqual({ name: child.name, code: 0 });
      } finally {
        killAll(children);
      }
    }, 180_000);

    test("Flue sandbox instances in two processes sharing one team workspace (two instances each): appends, notes and a counter all land", async () => {
      const store = await bucketOf(backend, "flue");
      const seed = await ownMount(store);
      await seed.writeFile("/workspace/count", "0");
      await seed.close();
      const cacheRoot = tempDirectory("adapters-flue-cache");
      const ops = backend === "local" ? 6 : 4;
      const children = ["p0", "p1"].map((name) => spawnChild(worker, { role: "flue", store, cacheRoot, name, ops }));
      try {
        const reports = (await startTogether(children, cacheRoot)) as FlueReport[];
        expect(reports.flatMap((report) => report.failures)).toEqual([]);
        expect(reports.flatMap((report) => report.badOutputs)).toEqual([]);
        children[0]!.say("check p1");
        children[1]!.say("check p0");
        const [sawP1, sawP0] = await Promise.all(children.map((child) => child.next("saw")));
        expect(sawP1).toBe("note 0 of p1-a\nnote 0 of p1-b");
        expect(sawP0).toBe("note 0 of p0-a\nnote 0 of p0-b");
        const fresh = await ownMount(store, { mode: "readonly", name: "fresh" });
        while ((await fresh.refresh()).changed);
        expect(linesOf(await fresh.readText("/workspace/team.log")).sort()).toEqual(reports.flatMap((report) => report.appended).sort());
        for (const report of reports) for (const [path, content] of Object.entries(report.notes)) expect({ path, content: await fresh.readText(path) }).toEqual({ path, content });
        const saw = reports.flatMap((report) => report.saw).sort((a, b) => a - b);
        expect(Number(await fresh.readText("/workspace/count"))).toBe(saw.length);
        expect(saw).toEqual(Array.from({ length: saw.length }, (_, index) => index));
        await fresh.close();
        for (const child of children) child.say("exit");
        for (const child of children) expect({ name: child.name, code: await child.process.exited }).toEqual({ name: child.name, code: 0 });
      } finally {
        killAll(children);
      }
    }, 180_000);
  });
}
