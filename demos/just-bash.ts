// bun run demo:just-bash — a just-bash shell whose files live in an object store, with no
// credentials and no network: the "bucket" is a LocalObjectStore in a temp directory. Commands run
// in just-bash (an interpreter in this process, never the host's shell); each exec() is one
// commit, and the files outlive the process's mount and its whole local cache.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LocalObjectStore, S3CachedFsManagerImpl, type S3CachedFs } from "../src/core.ts";
import { createAcceleratedJustBashShell, type AcceleratedJustBashShell } from "../src/just-bash/index.ts";

const work = mkdtempSync(join(tmpdir(), "s3-bun-cached-fs-just-bash-"));
const bucket = join(work, "bucket");
const storeFactory = () => new LocalObjectStore({ root: bucket });
const say = (line: string) => console.log(line);

/** Runs a command and prints it with its output and what it cost. */
async function run(shell: AcceleratedJustBashShell, fs: S3CachedFs, command: string): Promise<void> {
  const before = fs.stats();
  const result = await shell.exec(command);
  const after = fs.stats();
  const requests = after.requests.total.requests - before.requests.total.requests;
  const commits = (after.commits?.commits ?? 0) - (before.commits?.commits ?? 0);
  say(`$ ${command}`);
  for (const line of `${result.stdout}${result.stderr}`.split("\n").filter((line) => line !== "")) say(`  ${line}`);
  say(`  [exit ${result.exitCode}; ${commits} commit${commits === 1 ? "" : "s"}, ${requests} request${requests === 1 ? "" : "s"} to the store]\n`);
}

try {
  say(`object store: ${bucket}\n`);
  const manager = new S3CachedFsManagerImpl({ cacheRoot: join(work, "cache"), storeFactory });
  // The head (a hint for cold mounts) is brought up to date off the critical path, by default a
  // second after a commit; here on close, so each command's count is its own requests alone, however
  // long a command takes on a busy machine.
  const fs = await manager.mount({ name: "agent-workspace", headDelayMs: 60_000 });
  const shell = await createAcceleratedJustBashShell({ filesystem: fs, cwd: "/workspace" });
  // Other processes may write this workspace too (read-write mounts are shared writers): each
  // command first reads the log's end, one GET, and publishes its writes in one PUT.
  say("each command sees what other writers committed (one GET of the log's end) and publishes its writes in one PUT\n");

  await run(shell, fs, "mkdir -p reports && echo hello > reports/out.txt && cat reports/out.txt");
  await run(shell, fs, 'for i in $(seq 1 100); do echo "row $i" > "reports/part-$i.txt"; done; ls reports | wc -l');
  await run(shell, fs, "ls -la reports | head -4; grep -l 'row 42$' reports/*.txt");
  await run(shell, fs, "echo noise > /dev/null; ln -s out.txt reports/latest; cat reports/latest; which cat");
  await fs.close();

  // A new mount from an empty cache directory: everything comes back from the store.
  rmSync(join(work, "cache"), { recursive: true, force: true });
  const again = await new S3CachedFsManagerImpl({ cacheRoot: join(work, "cache"), storeFactory }).mount({ name: "agent-workspace", mode: "readonly" });
  const reader = await createAcceleratedJustBashShell({ filesystem: again, cwd: "/workspace" });
  say("after closing the mount and deleting its cache, a read-only remount sees:\n");
  await run(reader, again, "cat reports/out.txt reports/part-42.txt; readlink reports/latest; ls reports | wc -l");
  await run(reader, again, "echo nope > reports/new.txt");
  await again.close();
} finally {
  rmSync(work, { recursive: true, force: true });
}
