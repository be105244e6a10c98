// just-bash's recommended `new Bash({ fs })` under Bun: with its defense-in-depth box on (the
// default), every exec rejects because the box cannot install its patches under Bun
// ("DefenseInDepthBox: critical patches failed"); `defenseInDepth: false` makes it work, and the adapter's own shell
// (createAcceleratedJustBashShell) does that by itself under Bun. src/just-bash/README.md says so
// where it shows `new Bash`. Each case has its own mount on a LocalObjectStore.
import { afterAll, expect, test } from "bun:test";
import { join } from "node:path";
import { Bash } from "just-bash";
import { LocalObjectStore, S3CachedFsManagerImpl } from "../../src/core.ts";
import { AcceleratedJustBashFs, createAcceleratedJustBashShell } from "../../src/just-bash/index.ts";
import { tempApp } from "../support/temp-app.ts";
import { removeTempDirectories, tempDirectory } from "../support/temp.ts";

afterAll(() => removeTempDirectories());

async function mounted(label: string) {
  const root = tempDirectory(label);
  const manager = new S3CachedFsManagerImpl({ cacheRoot: join(root, "cache"), storeFactory: () => new LocalObjectStore({ root: join(root, "bucket"), fsync: false }) });
  return { manager, fs: await manager.mount({ name: label }) };
}

test("under Bun, new Bash({ fs }) with just-bash's defaults fails: inside bun test the box cannot install (critical patches failed)", async () => {
  expect(typeof Bun).toBe("object");
  const { manager, fs } = await mounted("defense-on");
  try {
    const bash = new Bash({ fs: new AcceleratedJustBashFs(fs) });
    const outcome = await bash.exec("echo hello > /out.txt").then(
      (result) => ({ result }),
      (error: unknown) => ({ error: String(error) }),
    );
    expect(outcome).toEqual({ error: expect.stringContaining("DefenseInDepthBox: critical patches failed") });
    expect(await fs.exists("/out.txt")).toBe(false);
  } finally {
    await manager.closeAll();
  }
});

test("under Bun, in a user's script, new Bash({ fs }) with just-bash's defaults rejects every exec: critical patches failed", async () => {
  const app = tempApp("defense-script");
  const result = await app.run(
    "bash-default.ts",
    `import { Bash } from "just-bash";
import { LocalObjectStore, S3CachedFsManagerImpl } from "s3-bun-cached-fs/core";
import { AcceleratedJustBashFs } from "s3-bun-cached-fs/just-bash";
const manager = new S3CachedFsManagerImpl({ cacheRoot: "./cache", storeFactory: () => new LocalObjectStore({ root: "./bucket" }) });
const fs = await manager.mount({ name: "ws" });
const bash = new Bash({ fs: new AcceleratedJustBashFs(fs) });
const outcomes = [];
for (const command of ["echo reading", "echo hello > /out.txt"]) {
  outcomes.push(await bash.exec(command).then((result) => "exit " + result.exitCode, (error) => String(error)));
}
console.log(JSON.stringify({ outcomes, written: await fs.exists("/out.txt") }));
await manager.closeAll();
`,
  );
  expect(result.exitCode).toBe(0);
  const outcome = JSON.parse(result.stdout.trim().split("\n").at(-1)!);
  const refused = expect.stringContaining("DefenseInDepthBox: critical patches failed");
  expect(outcome).toEqual({ outcomes: [refused, refused], written: false });
}, 60_000);

test("under Bun, new Bash({ fs, defenseInDepth: false }) writes, and createAcceleratedJustBashShell turns the box off by itself", async () => {
  const { manager, fs } = await mounted("defense-off");
  try {
    const bash = new Bash({ fs: new AcceleratedJustBashFs(fs), defenseInDepth: false });
    expect(await bash.exec("echo hello > /out.txt && cat /out.txt")).toMatchObject({ exitCode: 0, stdout: "hello\n" });
    expect(await fs.readText("/out.txt")).toBe("hello\n");

    const shell = await createAcceleratedJustBashShell({ filesystem: fs, cwd: "/workspace" });
    expect(await shell.exec("mkdir -p reports && echo shell > reports/out.txt && cat reports/out.txt")).toMatchObject({ exitCode: 0, stdout: "shell\n" });
    expect(await fs.readText("/workspace/reports/out.txt")).toBe("shell\n");
    await shell.close();
  } finally {
    await manager.closeAll();
  }
});
