// Damage found by the local-state campaign (damage.test.ts), kept as regression cases: the open
// index's files damaged between two operations of a mount.
import { afterAll, expect, test } from "bun:test";
import { statSync, truncateSync, writeFileSync } from "node:fs";
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
