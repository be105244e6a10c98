// The shell on a shared writer (`exclusive: false`): each command is one blind commit by default
// (it runs once; another writer's commit that lands first leaves its writes standing, or fails
// the exec() whole); `isolation: "serializable"` runs the command again when another writer
// changed what it read, and returns only the last run's output. Another writer commits here from
// inside the command, through a custom command, so the conflict is certain.
import { afterAll, describe, expect, test } from "bun:test";
import { defineCommand } from "just-bash";
import type { S3CachedFs } from "../../src/core.ts";
import { createAcceleratedJustBashShell, type AcceleratedJustBashShellOptions } from "../../src/just-bash/index.ts";
import { expectCode } from "../support/errors.ts";
import { removeTempDirectories } from "../support/temp.ts";
import { testWorkspace, type Backend } from "../support/mounts.ts";

afterAll(removeTempDirectories);

async function twoWriters(backend: Backend, label: string): Promise<{ a: S3CachedFs; b: S3CachedFs; close: () => Promise<void> }> {
  const workspace = await testWorkspace(backend, label);
  const a = await workspace.mount({ name: "a", exclusive: false }, { cacheRoot: workspace.freshCacheRoot() });
  const b = await workspace.mount({ name: "b", exclusive: false }, { cacheRoot: workspace.freshCacheRoot() });
  return { a, b, close: async () => void (await Promise.all([a.close(), b.close()])) };
}

/**
 * A shell on `a` with a command `other-writer` that, the first time it runs, adds 10 to /w/c
 * through `b` (another writer), as if another process committed while the command ran.
 */
async function contendedShell(a: S3CachedFs, b: S3CachedFs, settings: Partial<AcceleratedJustBashShellOptions> = {}) {
  let runs = 0;
  const otherWriter = defineCommand("other-writer", async () => {
    runs++;
    if (runs === 1) {
      await b.refresh();
      await b.writeFile("/w/c", String(Number(await b.readText("/w/c")) + 10));
    }
    return { stdout: "", stderr: "", exitCode: 0 };
  });
  const shell = await createAcceleratedJustBashShell({ filesystem: a, cwd: "/w", customCommands: [otherWriter], ...settings } as AcceleratedJustBashShellOptions);
  return { shell, runs: () => runs };
}

const increment = `n=$(cat c); echo "run read $n"; other-writer; echo $((n+1)) > c`;

for (const backend of ["local", "s3"] as Backend[]) {
  describe(`the shell on a shared writer (${backend})`, () => {
    test("by default a command is blind: it runs once and its write lands over the other writer's (a lost update)", async () => {
      const { a, b, close } = await twoWriters(backend, "shell-blind");
      await a.writeFile("/w/c", "0");
      const { shell, runs } = await contendedShell(a, b);
      expect(shell.isolation).toBe("blind");
      const result = await shell.exec(increment);
      expect({ ...result, runs: runs() }).toEqual({ stdout: "run read 0\n", stderr: "", exitCode: 0, runs: 1 });
      await b.refresh();
      expect(await b.readText("/w/c")).toBe("1\n"); // b's +10 is lost: blind mode only
      await close();
    });

    test('isolation: "serializable" runs the command again after the conflict and returns only the last run\'s output; nothing is lost', async () => {
      const { a, b, close } = await twoWriters(backend, "shell-serializable");
      await a.writeFile("/w/c", "0");
      const { shell, runs } = await contendedShell(a, b, { isolation: "serializable" });
      const result = await shell.exec(`${increment}; echo "to stderr" >&2`);
      expect({ ...result, runs: runs() }).toEqual({ stdout: "run read 10\n", stderr: "to stderr\n", exitCode: 0, runs: 2 });
      await b.refresh();
      expect(await b.readText("/w/c")).toBe("11\n");
      await close();
    });

    test("a blind shell runs one command serializable when its exec() asks, and the reverse", async () => {
      const { a, b, close } = await twoWriters(backend, "shell-per-exec");
      await a.writeFile("/w/c", "0");
      const blindShell = await contendedShell(a, b);
      expect((await blindShell.shell.exec(increment, { isolation: "serializable" })).stdout).toBe("run read 10\n");
      expect(blindShell.runs()).toBe(2);
      const serializableShell = await contendedShell(a, b, { isolation: "serializable" });
      expect((await serializableShell.shell.exec(increment, { isolation: "blind" })).stdout).toBe("run read 11\n");
      expect(serializableShell.runs()).toBe(1);
      await b.refresh();
      expect(await b.readText("/w/c")).toBe("12\n"); // the blind command wrote over b's second +10
      await close();
    });

    test("a blind command whose write no longer applies after the other writer's commit rejects with that error, and publishes none of its writes", async () => {
      const { a, b, close } = await twoWriters(backend, "shell-blind-fails");
      await a.writeFile("/w/item", "the item");
      let moved = false;
      const takeFirst = defineCommand("other-writer", async () => {
        if (!moved) {
          moved = true;
          await b.refresh();
          await b.rename("/w/item", "/w/b-took");
        }
        return { stdout: "", stderr: "", exitCode: 0 };
      });
      const shell = await createAcceleratedJustBashShell({ filesystem: a, cwd: "/w", customCommands: [takeFirst] });
      const seq = (await b.refresh()).seq;
      await expectCode(shell.exec("echo side > side.txt; mv item a-took; other-writer"), "ENOENT");
      expect((await b.refresh()).seq).toBe(seq + 1); // b's rename only
      expect([await b.exists("/w/side.txt"), await b.exists("/w/a-took"), await b.readText("/w/b-took")]).toEqual([false, false, "the item"]);
      await close();
    });
  });
}

describe("the shell's isolation option", () => {
  test("a bad isolation is EINVAL naming it, for the shell and for one exec(); nothing runs", async () => {
    const workspace = await testWorkspace("local", "shell-isolation-options");
    const fs = await workspace.mount({ exclusive: false });
    const refused = await expectCode(createAcceleratedJustBashShell({ filesystem: fs, isolation: "snapshot" } as never), "EINVAL");
    expect(refused.message).toContain('isolation: expected "blind" or "serializable", got "snapshot"');
    const shell = await createAcceleratedJustBashShell({ filesystem: fs, cwd: "/w" });
    const seq = fs.stats().seq;
    const bad = await expectCode(shell.exec("echo x > x", { isolation: 1 } as never), "EINVAL", { syscall: "exec" });
    expect(bad.message).toContain('isolation: expected "blind" or "serializable", got 1');
    expect(fs.stats().seq).toBe(seq);
    expect(await fs.exists("/w/x")).toBe(false);
    await fs.close();
  });
});
