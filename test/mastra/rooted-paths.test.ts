// What the Mastra adapter does with a path that has a leading "/", beside what Mastra's own
// LocalFilesystem (the installed one) does: LocalFilesystem takes it as a host path and refuses
// one outside its basePath; AcceleratedFS has no host path, so "/src/a.ts" is the workspace's
// "src/a.ts". Both refuse a path that climbs above the root. src/mastra/README.md says so.
import { afterAll, expect, test } from "bun:test";
import { join } from "node:path";
import { LocalFilesystem, PermissionError } from "@mastra/core/workspace";
import { LocalObjectStore } from "../../src/core.ts";
import { AcceleratedFS } from "../../src/mastra/index.ts";
import { removeTempDirectories, tempDirectory } from "../support/temp.ts";

afterAll(() => removeTempDirectories());

async function outcome(run: () => Promise<unknown>): Promise<string> {
  try {
    return `ok ${JSON.stringify(await run())}`;
  } catch (error) {
    return `${(error as Error).constructor.name}`;
  }
}

test("a rooted path: LocalFilesystem refuses /src/a.ts as outside the workspace, AcceleratedFS reads it as src/a.ts; both refuse ../x", async () => {
  const local = new LocalFilesystem({ basePath: tempDirectory("rooted-local") });
  const root = tempDirectory("rooted-accelerated");
  const accelerated = new AcceleratedFS({ prefix: "ws", cacheRoot: join(root, "cache"), storeFactory: () => new LocalObjectStore({ root: join(root, "bucket"), fsync: false }) });
  await local.init();
  await accelerated.init();
  try {
    const results: Record<string, string[]> = {};
    for (const [name, fs] of [["LocalFilesystem", local], ["AcceleratedFS", accelerated]] as const) {
      await fs.writeFile("src/a.ts", "export {};\n", { recursive: true });
      results[name] = [
        await outcome(() => fs.readFile("/src/a.ts", { encoding: "utf-8" })),
        await outcome(() => fs.exists("/src/a.ts")),
        await outcome(() => fs.writeFile("/src/b.ts", "b", { recursive: true })),
        await outcome(() => fs.readFile("src/a.ts", { encoding: "utf-8" })),
        await outcome(() => fs.readFile("../x")),
      ];
    }
    expect(results).toEqual({
      LocalFilesystem: ["PermissionError", "PermissionError", "PermissionError", 'ok "export {};\\n"', "PermissionError"],
      AcceleratedFS: ['ok "export {};\\n"', "ok true", "ok undefined", 'ok "export {};\\n"', "PermissionError"],
    });
    expect(await accelerated.readFile("src/b.ts", { encoding: "utf-8" })).toBe("b");
    await expect(local.readFile("/src/a.ts")).rejects.toBeInstanceOf(PermissionError);
  } finally {
    await accelerated.destroy();
    await local.destroy();
  }
});
