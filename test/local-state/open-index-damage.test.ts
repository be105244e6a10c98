// Damage found by the local-state campaign (damage.test.ts), kept as regression cases: the open
// index's files damaged between two operations of a mount.
import { afterAll, expect, test } from "bun:test";
import { readFileSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { mountDirectoryName } from "../../src/mount.ts";
import { removeTempDirectories } from "../support/temp.ts";
import { testWorkspace } from "../support/mounts.ts";
import { expectCode } from "../support/errors.ts";

afterAll(removeTempDirectories);

test("the open index's -wal truncated under the mount: a read fails with EIO naming the local index (not a raw SQLite error), and the remount is right", async () => {
  const workspace = await testWorkspace("local", "open-wal-truncated");
  const fs = await workspace.mount();
  for (let index = 0; index < 20; index++) await fs.writeFile(`/file-${index}.txt`, `bytes of file ${index}`);
  const wal = join(workspace.cacheRoot, mountDirectoryName("test"), "index.sqlite-wal");
  expect(statSync(wal).size).toBeGreaterThan(4096);
  truncateSync(wal, 1000);
  const error = await expectCode(fs.readFile("/file-19.txt"), "EIO");
  expect(error.message).toContain("local index");
  expect(error.message).not.toContain(workspace.cacheRoot);
  await fs.close();
  const again = await workspace.mount();
  for (let index = 0; index < 20; index++) expect(await again.readText(`/file-${index}.txt`)).toBe(`bytes of file ${index}`);
  await again.close();
}, 120_000);

test("a mount's lock file that is no database (swapped with its journal, or overwritten) is emptied in place and the mount goes ahead; one held by another mount still refuses", async () => {
  const workspace = await testWorkspace("local", "lock-not-a-database");
  const fs = await workspace.mount();
  await fs.writeFile("/a.txt", "a");
  await fs.close();
  const lockFile = join(workspace.cacheRoot, mountDirectoryName("test"), "mount.lock.sqlite");
  writeFileSync(lockFile, new Uint8Array(512).fill(0xd9)); // a rollback journal's header bytes: no database
  const again = await workspace.mount();
  expect(await again.readText("/a.txt")).toBe("a");
  await expectCode(workspace.mount({ mode: "readonly" }), "EBUSY"); // the emptied file still locks
  await again.close();
  const third = await workspace.mount({ mode: "readonly" });
  expect(await third.readText("/a.txt")).toBe("a");
  await third.close();
}, 120_000);

/** Runs shm-worker.ts: a mount whose index's -shm file is damaged between two operations. */
async function damageShm(damage: "zero-hash" | "truncate" | "flips") {
  const workspace = await testWorkspace("local", `shm-${damage}`);
  const store = workspace.describe.slice("local:".length);
  const child = Bun.spawn([process.execPath, join(import.meta.dir, "shm-worker.ts"), JSON.stringify({ store, cacheRoot: workspace.cacheRoot, damage })], { stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, exitCode] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  expect({ exitCode, signal: child.signalCode, stderr: stderr.slice(0, 500) }).toEqual({ exitCode: 0, signal: null, stderr: "" });
  const outcome = JSON.parse(stdout.trim().split("\n").at(-1)!);
  expect(outcome).toMatchObject({ missing: [], wrong: [], errors: [], written: true });
  // The open index keeps SQLite's map of its -wal in the mount's memory: there is no -shm file to damage.
  expect(outcome.shmWhileMounted).toBe(false);
  // Whatever lies at that path is never read, and stays as it was left.
  const again = await workspace.manager().mount({ name: "worker", headDelayMs: 60_000, leaseTtlMs: 5_000 });
  for (let index = 0; index < 40; index++) expect(await again.readText(`/file-${index}.txt`)).toBe(`bytes of file ${index}`);
  expect(await again.readText("/after.txt")).toBe("written after the damage");
  await again.close();
}

test("the open index has no -shm file: a file at that path, its hash tables zeroed under the mount, hides no entry", async () => {
  await damageShm("zero-hash");
}, 120_000);

test("the open index has no -shm file: a file at that path, bits flipped under the mount, hides no entry", async () => {
  await damageShm("flips");
}, 120_000);

test("the open index has no -shm file: a file at that path truncated under the mount does not kill the process (SQLite maps a -shm: SIGBUS)", async () => {
  await damageShm("truncate");
}, 120_000);

// A known defect, not yet fixed (run it with `bun test --todo`): found by the local-state campaign
// (LOCAL_STATE_TRIALS=80 LOCAL_STATE_SEED=16, trial 79: 16 bits flipped in the open index's -wal,
// then `stat` of a file that exists says ENOENT). Row checksums find a damaged row only when it
// is read; a lookup whose key was changed in a page of the (parent, name) index finds no row at
// all, and SQLite checks the -wal's frame checksums only when it recovers the -wal, never when it
// reads a page from it. Here one bit of a name is flipped in every frame of the open index's -wal
// that holds it: stat, readFile and exists miss the file (readdir finds the damaged row: EIO).
test.todo("a name flipped in the open index's -wal never hides the file: a lookup answers right or fails with EIO naming the local index", async () => {
  const workspace = await testWorkspace("local", "open-wal-key");
  const fs = await workspace.mount();
  for (let index = 0; index < 20; index++) await fs.writeFile(`/file-${index}.txt`, `bytes of file ${index}`);
  const wal = join(workspace.cacheRoot, mountDirectoryName("test"), "index.sqlite-wal");
  const bytes = Buffer.from(readFileSync(wal));
  for (let at = bytes.indexOf("file-7.txt"); at >= 0; at = bytes.indexOf("file-7.txt", at + 1)) bytes[at + 8]! ^= 1;
  writeFileSync(wal, bytes);
  try {
    expect((await fs.stat("/file-7.txt")).size).toBe("bytes of file 7".length);
  } catch (error) {
    expect(String(error)).toContain("local index is damaged");
  }
  await fs.close();
}, 120_000);
