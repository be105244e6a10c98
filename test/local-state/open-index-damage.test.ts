// Damage found by the local-state campaign (damage.test.ts), kept as regression cases: the open
// index's files damaged between two operations of a mount.
import { afterAll, expect, test } from "bun:test";
import { statSync, truncateSync } from "node:fs";
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
