// AcceleratedFS's lifecycle and self-description: status through init and destroy (both Mastra's
// `_init`/`_destroy` wrappers and the plain methods), one mount however many inits race, wrapping a
// mount the caller owns, option checking, getInfo and getInstructions.

import { afterAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { FilesystemError, FilesystemNotReadyError, Workspace, callLifecycle, type ProviderStatus } from "@mastra/core/workspace";
import { noopLogger } from "@mastra/core/logger";
import { LocalObjectStore, S3CachedFsManagerImpl } from "../../src/core.ts";
import { AcceleratedFS } from "../../src/mastra/index.ts";
import { removeTempDirectories, tempDirectory } from "../support/temp.ts";
import { acceleratedSubjects } from "./accelerated-subjects.ts";
import { rejectsWith } from "./workspace-filesystem-suite.ts";

afterAll(removeTempDirectories);

const subjects = acceleratedSubjects("mastra-lifecycle");

describe("status", () => {
  test("a new AcceleratedFS is 'pending'; a plain init() passes through 'initializing' to 'ready'", async () => {
    const { fs, cleanup } = await subjects();
    try {
      expect(fs.status).toBe("pending");
      const seen: ProviderStatus[] = [];
      const initializing = fs.init();
      seen.push(fs.status);
      await initializing;
      seen.push(fs.status);
      expect(seen).toEqual(["initializing", "ready"]);
    } finally {
      await cleanup();
    }
  });

  test("Mastra's lifecycle wrappers (what Workspace.init and destroy call) go pending -> ready -> destroyed", async () => {
    const { fs, cleanup } = await subjects();
    try {
      const ws = new Workspace({ filesystem: fs });
      await ws.init();
      expect(fs.status).toBe("ready");
      const mounted = fs.filesystem;
      await ws.destroy();
      expect(fs.status).toBe("destroyed");
      expect(mounted.closed).toBe(true);
    } finally {
      await cleanup();
    }
  });

  test("a plain destroy() closes the mount and sets 'destroyed'; the next operation mounts again", async () => {
    const { fs, cleanup } = await subjects();
    try {
      await fs.init();
      await fs.writeFile("kept.txt", "kept");
      const first = fs.filesystem;
      await fs.destroy();
      expect(fs.status).toBe("destroyed");
      expect(first.closed).toBe(true);
      expect(() => fs.filesystem).toThrow(FilesystemNotReadyError);
      expect(await fs.readFile("kept.txt", { encoding: "utf-8" })).toBe("kept");
      expect(fs.status).toBe("ready");
      expect(fs.filesystem).not.toBe(first);
    } finally {
      await cleanup();
    }
  });

  test("concurrent init() and _init() calls mount once", async () => {
    const { fs, cleanup } = await subjects();
    try {
      await Promise.all([fs.init(), fs._init(), fs.init(), callLifecycle(fs, "init"), fs.exists("x")]);
      expect(fs.status).toBe("ready");
      const mounted = fs.filesystem;
      await Promise.all([fs.init(), fs._init()]);
      expect(fs.filesystem).toBe(mounted);
    } finally {
      await cleanup();
    }
  });

  test("the first operation initialises a filesystem nobody initialised", async () => {
    const { fs, cleanup } = await subjects();
    try {
      await fs.writeFile("lazy.txt", "lazy");
      expect(fs.status).toBe("ready");
    } finally {
      await cleanup();
    }
  });

  test("a mount that fails sets status 'error' with the reason, and throws a FilesystemError with the core's code", async () => {
    const { open, cleanup } = await subjects();
    try {
      // A reader of a filesystem nobody has created yet: format.json is missing.
      const reader = open({ readOnly: true });
      reader.__setLogger(noopLogger); // the failure is expected: keep Mastra from logging it
      const error = await rejectsWith(reader._init(), FilesystemError);
      expect(error.code).toBe("ENOENT");
      expect(reader.status).toBe("error");
      expect(reader.error).toContain("format.json is missing");
      expect(reader.getInfo().error).toBe(reader.error);
      // Once the writer has created it, the next init succeeds.
      const writer = open();
      await writer._init();
      await reader._init();
      expect(reader.status).toBe("ready");
      expect(reader.getInfo().error).toBeUndefined();
    } finally {
      await cleanup();
    }
  });
});

describe("mount names under one cacheRoot", () => {
  test("readers get a directory each (~reader, ~reader-2); a second writer of the workspace shares the first one's mount", async () => {
    const { fs, open, cleanup } = await subjects();
    try {
      await fs.init();
      await fs.writeFile("shared.txt", "shared");
      const first = open({ readOnly: true });
      const second = open({ readOnly: true });
      await Promise.all([first.init(), second.init()]);
      const names = [first.getInfo().metadata?.mountName, second.getInfo().metadata?.mountName].sort();
      expect(names).toEqual([`${fs.getInfo().metadata?.mountName}~reader`, `${fs.getInfo().metadata?.mountName}~reader-2`]);
      expect(await second.readFile("shared.txt", { encoding: "utf-8" })).toBe("shared");
      const writer = open();
      await writer._init();
      expect(writer.getInfo().metadata?.mountName).toBe(fs.getInfo().metadata?.mountName);
      // Both write through the one mount: no lease fight, each sees the other's files.
      await fs.writeFile("after.txt", "after");
      await writer.writeFile("second.txt", "second");
      expect(await fs.readFile("second.txt", { encoding: "utf-8" })).toBe("second");
      const name = fs.getInfo().metadata?.mountName;
      await fs.destroy();
      expect(fs.getInfo().metadata?.mountName).toBe(name);
      // The first one's destroy left the mount open for the second.
      expect(await writer.readFile("after.txt", { encoding: "utf-8" })).toBe("after");
    } finally {
      await cleanup();
    }
  });
});

describe("the same workspace opened again in this process", () => {
  test("Mastra's pattern: a new AcceleratedFS per test on one prefix, the old ones never destroyed, each one just works", async () => {
    const { open, cleanup } = await subjects();
    try {
      const instances: AcceleratedFS[] = [];
      for (let round = 0; round < 3; round++) {
        const fs = open({ id: `per-test-${round}` });
        fs.__setLogger(noopLogger);
        instances.push(fs); // the earlier ones stay open, as Mastra's beforeEach leaves them
        expect(await fs.exists(`round-${round}.txt`)).toBe(false);
        await fs.writeFile(`round-${round}.txt`, `round ${round}`);
        for (let earlier = 0; earlier <= round; earlier++) expect(await fs.readFile(`round-${earlier}.txt`, { encoding: "utf-8" })).toBe(`round ${earlier}`);
      }
      expect(instances.map((fs) => fs.status)).toEqual(["ready", "ready", "ready"]);
      // Destroying all but the last leaves the last one's files reachable; the last destroy closes the mount.
      await instances[0]!.destroy();
      await instances[1]!.destroy();
      expect(await instances[2]!.readFile("round-0.txt", { encoding: "utf-8" })).toBe("round 0");
      await instances[2]!.destroy();
      const after = open({ id: "after-all" });
      expect(await after.readFile("round-2.txt", { encoding: "utf-8" })).toBe("round 2");
    } finally {
      await cleanup();
    }
  });

  test("another workspace under the same mountName and cacheRoot is refused with EBUSY, naming the name", async () => {
    const { fs, open, cleanup } = await subjects();
    try {
      await fs.init();
      const other = open({ prefix: "elsewhere", mountName: fs.getInfo().metadata?.mountName as string });
      other.__setLogger(noopLogger);
      const error = await rejectsWith(other._init(), FilesystemError);
      expect(error.code).toBe("EBUSY");
      expect(error.message).toContain("give this one its own mountName or cacheRoot");
      await fs.writeFile("still.txt", "still the writer");
    } finally {
      await cleanup();
    }
  });
});

describe("wrapping a mount the caller owns", () => {
  async function manager() {
    const directory = tempDirectory("mastra-given");
    return new S3CachedFsManagerImpl({
      cacheRoot: join(directory, "cache"),
      storeFactory: (config) => new LocalObjectStore({ root: join(directory, "bucket", config.prefix), fsync: false }),
    });
  }

  test("new AcceleratedFS({ id, filesystem }) serves that mount and leaves it open on destroy", async () => {
    const owner = await manager();
    const mounted = await owner.mount({ name: "given", prefix: "given" });
    try {
      await mounted.writeFile("/from-core.txt", "core");
      const fs = new AcceleratedFS({ id: "given", filesystem: mounted });
      expect(fs.readOnly).toBe(false);
      await callLifecycle(fs, "init");
      expect(fs.filesystem).toBe(mounted);
      expect(await fs.readFile("from-core.txt", { encoding: "utf-8" })).toBe("core");
      await fs.writeFile("from-mastra.txt", "mastra");
      await callLifecycle(fs, "destroy");
      expect(fs.status).toBe("destroyed");
      expect(mounted.closed).toBe(false);
      expect(await mounted.readText("/from-mastra.txt")).toBe("mastra");
    } finally {
      await owner.closeAll();
    }
  });

  test("closeOnDestroy closes the given mount; a readonly mount makes the filesystem read-only", async () => {
    const owner = await manager();
    const writer = await owner.mount({ name: "writer", prefix: "shared" });
    await writer.writeFile("/a.txt", "a");
    const reader = await owner.mount({ name: "reader", prefix: "shared", mode: "readonly" });
    try {
      const fs = new AcceleratedFS({ id: "reader", filesystem: reader, closeOnDestroy: true });
      expect(fs.readOnly).toBe(true);
      expect(fs.getInfo().metadata?.mode).toBe("readonly");
      await fs.init();
      expect(await fs.readFile("a.txt", { encoding: "utf-8" })).toBe("a");
      await fs.destroy();
      expect(reader.closed).toBe(true);
    } finally {
      await owner.closeAll();
    }
  });
});

describe("options", () => {
  test("an unknown option or a badly typed one is refused at construction, naming it", () => {
    expect(() => new AcceleratedFS({ bukcet: "typo" } as never)).toThrow("invalid AcceleratedFS options: bukcet: unknown option");
    expect(() => new AcceleratedFS({ maxStalenessMs: -1, readOnly: "yes" } as never)).toThrow(
      "invalid AcceleratedFS options: maxStalenessMs: expected a number >= 0 (ms); readOnly: expected a boolean",
    );
  });

  test("mount options cannot be mixed with a given filesystem", async () => {
    const directory = tempDirectory("mastra-options");
    const owner = new S3CachedFsManagerImpl({ cacheRoot: directory, storeFactory: () => new LocalObjectStore({ root: join(directory, "bucket"), fsync: false }) });
    const mounted = await owner.mount({ name: "x" });
    try {
      expect(() => new AcceleratedFS({ filesystem: mounted, bucket: "other-bucket" })).toThrow(/bucket: not allowed with `filesystem`/);
    } finally {
      await owner.closeAll();
    }
  });

  test("a bad mount value fails init with the core's message naming the field", async () => {
    const { open, cleanup } = await subjects();
    try {
      const fs = open({ cacheBytes: -5 });
      fs.__setLogger(noopLogger);
      const error = await rejectsWith(fs._init(), FilesystemError);
      expect(error.code).toBe("EINVAL");
      expect(error.message).toContain("cacheBytes");
    } finally {
      await cleanup();
    }
  });
});

describe("getInfo and getInstructions", () => {
  test("getInfo names the provider, status, read-only flag and where the files are, and costs no request", async () => {
    const fs = new AcceleratedFS({
      id: "docs",
      bucket: "team-bucket",
      prefix: "agents/docs",
      region: "eu-west-1",
      endpoint: "https://account.r2.cloudflarestorage.com",
      cacheRoot: tempDirectory("mastra-info"),
      displayName: "Docs",
    });
    const info = fs.getInfo();
    expect(info).toEqual({
      id: "docs",
      name: "AcceleratedFS",
      provider: "s3-bun-cached-fs",
      status: "pending",
      readOnly: false,
      icon: "r2",
      metadata: expect.objectContaining({
        bucket: "team-bucket",
        prefix: "agents/docs",
        region: "eu-west-1",
        endpoint: "https://account.r2.cloudflarestorage.com",
        mode: "readwrite",
      }),
    });
    expect(fs.displayName).toBe("Docs");
  });

  test("getInfo of a mounted filesystem makes no remote request (every tool calls it first)", async () => {
    const { fs, cleanup } = await subjects();
    try {
      await fs.init();
      const before = fs.filesystem.stats().requests.total.requests;
      for (let index = 0; index < 10; index++) fs.getInfo();
      expect(fs.filesystem.stats().requests.total.requests).toBe(before);
      expect(fs.getInfo().status).toBe("ready");
    } finally {
      await cleanup();
    }
  });

  test("getInstructions tells the model where files live, how paths work, and whether it may write", () => {
    const cacheRoot = tempDirectory("mastra-instructions");
    const writer = new AcceleratedFS({ bucket: "team-bucket", prefix: "agents/docs", cacheRoot });
    const instructions = writer.getInstructions();
    expect(instructions).toContain('bucket "team-bucket" under the prefix "agents/docs"');
    expect(instructions).toContain('"src/app.ts", "./src/app.ts" and "/src/app.ts" all name the same file');
    expect(instructions).not.toContain("read-only");
    const reader = new AcceleratedFS({ bucket: "team-bucket", cacheRoot, readOnly: true });
    expect(reader.getInstructions()).toContain("read-only");
    expect(new Workspace({ filesystem: writer }).getInstructions()).toContain("team-bucket");
  });

  test("instructions can replace or extend the default text", () => {
    const cacheRoot = tempDirectory("mastra-instructions-override");
    expect(new AcceleratedFS({ bucket: "b-bucket", cacheRoot, instructions: "Only notes/ is yours." }).getInstructions()).toBe("Only notes/ is yours.");
    const extended = new AcceleratedFS({ bucket: "b-bucket", cacheRoot, instructions: ({ defaultInstructions }) => `${defaultInstructions} Keep notes short.` });
    expect(extended.getInstructions()).toEndWith("persist across sessions and restarts. Paths are relative to the workspace root: \"src/app.ts\", \"./src/app.ts\" and \"/src/app.ts\" all name the same file, and \".\" is the root. Listing and searching (list_files, grep) are answered from a local index and cache, so they are cheap even for large trees. Keep notes short.");
  });
});
