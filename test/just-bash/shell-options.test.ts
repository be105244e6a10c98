// The shell's options from the user's side: a misspelt key is refused at once, naming it, as the
// core's mount config and the Mastra adapter refuse theirs; nothing is mounted for a bad call.

import { afterAll, describe, expect, test } from "bun:test";
import { FsError, type S3CachedFs } from "../../src/core.ts";
import { createAcceleratedJustBashShell } from "../../src/just-bash/index.ts";
import { testWorkspace } from "../support/mounts.ts";

describe("createAcceleratedJustBashShell options", () => {
  let filesystem: S3CachedFs | undefined;
  afterAll(async () => {
    await filesystem?.close();
  });

  test("an unknown option (cwdd) is refused with EINVAL naming the key", async () => {
    const workspace = await testWorkspace("local", "shell-options");
    filesystem = await workspace.mount();
    const error = await createAcceleratedJustBashShell({ filesystem, cwdd: "/work" } as never).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(FsError);
    expect((error as FsError).code).toBe("EINVAL");
    expect((error as FsError).message).toContain("cwdd: unknown option");
    // The typo did not create a directory: nothing changed.
    expect(await filesystem.readdir("/")).toEqual([]);
  });

  test("just-bash's own options (env, executionLimits) are still accepted", async () => {
    const shell = await createAcceleratedJustBashShell({ filesystem: filesystem!, env: { GREETING: "hi" }, executionLimits: { maxCommandCount: 1000 } });
    expect((await shell.exec("echo $GREETING")).stdout).toBe("hi\n");
  });

  test("files and fs, which the shell decides, are refused rather than passed to just-bash", async () => {
    for (const key of ["files", "fs"]) {
      const error = await createAcceleratedJustBashShell({ filesystem: filesystem!, [key]: {} } as never).catch((caught: unknown) => caught);
      expect((error as FsError).code).toBe("EINVAL");
      expect((error as FsError).message).toContain(`${key}: `);
      // Seeding many files one awaited write at a time is a commit each: the message points at the one-commit way.
      if (key === "files") expect((error as FsError).message).toContain("shell.fs.transaction(");
    }
  });

  test("a mount config and manager with an unknown shell key mounts nothing", async () => {
    const workspace = await testWorkspace("local", "shell-options-mount");
    const manager = workspace.manager();
    const error = await createAcceleratedJustBashShell({ mount: { name: "m" }, manager, comit: "per-write" } as never).catch((caught: unknown) => caught);
    expect((error as FsError).message).toContain("comit: unknown option");
    expect(manager.get("m")).toBeUndefined();
  });
});
