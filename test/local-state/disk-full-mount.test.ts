// Found by the local-state disk-full campaign (disk-full.test.ts), kept as a regression case: a new
// mount on a disk a few pages short of full, where taking the directory's lock or the index's
// first writes (it had a shared-memory file then; now it keeps none) find no space. It fails with
// ENOSPC, an FsError naming no host path, and mounts once there is space.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { closeSync, fstatSync, ftruncateSync, mkdirSync, openSync, rmSync, writeSync } from "node:fs";
import { join } from "node:path";
import { S3CachedFsManagerImpl, LocalObjectStore } from "../../src/core.ts";
import { FsError } from "../../src/base/errors.ts";
import { removeTempDirectories, tempDirectory } from "../support/temp.ts";

const smallDisk = join(tempDirectory("mount-disk-parent"), "disk");
let mounted = false;

beforeAll(() => {
  mkdirSync(smallDisk, { recursive: true });
  mounted = Bun.spawnSync(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", smallDisk], { stderr: "pipe" }).exitCode === 0;
  if (!mounted) console.warn("skipped: cannot mount a tmpfs");
});

afterAll(() => {
  if (mounted) Bun.spawnSync(["umount", "-l", smallDisk]);
  removeTempDirectories();
});

function fillDisk(short: number): () => void {
  const ballast = join(smallDisk, `ballast-${short}`);
  const chunk = new Uint8Array(1024 * 1024);
  const fd = openSync(ballast, "w");
  for (let size = chunk.byteLength; size >= 1; size = Math.floor(size / 2)) {
    for (;;) {
      try {
        writeSync(fd, chunk, 0, size);
      } catch {
        break;
      }
    }
  }
  ftruncateSync(fd, Math.max(0, fstatSync(fd).size - short));
  closeSync(fd);
  return () => rmSync(ballast, { force: true });
}

test.skipIf(process.getuid?.() !== 0)("a new mount on a disk 0 to 64 KiB short of full fails with ENOSPC naming no host path (the lock, the index), and mounts with space", async () => {
  if (!mounted) return;
  const objects = tempDirectory("mount-disk-objects");
  const manager = new S3CachedFsManagerImpl({ cacheRoot: join(smallDisk, "cache"), storeFactory: () => new LocalObjectStore({ root: objects, fsync: false }) });
  const writer = await manager.mount({ name: "writer", headDelayMs: 60_000, leaseTtlMs: 5_000 });
  await writer.writeFile("/a.txt", "a");
  await writer.close();
  for (const short of [0, 1, 4096, 8192, 12288, 16384, 20480, 32768, 65536]) {
    const name = "fresh"; // one name: what a failed mount left behind must not stand in the way of the next
    const free = fillDisk(short);
    try {
      await manager.mount({ name, mode: "readonly" }).then(
        (fs) => fs.close(),
        (error) => {
          if (!(error instanceof FsError) || error.code !== "ENOSPC") throw new Error(`${short} bytes short: expected ENOSPC, got ${String(error)}`);
          expect(error.message).not.toContain(smallDisk);
        },
      );
    } finally {
      free();
    }
    const fs = await manager.mount({ name, mode: "readonly" });
    expect(await fs.readText("/a.txt")).toBe("a");
    await fs.close();
  }
}, 120_000);
