// Guarantee 3 (docs/guarantees.md): an invalid operation fails its caller with the right code, publishes nothing
// (zero PUTs), and leaves the filesystem mountable in its prior state.
import { afterAll, describe, expect, test } from "bun:test";
import type { S3CachedFs } from "../../src/core.ts";
import { expectCode } from "../support/errors.ts";
import { removeTempDirectories } from "../support/temp.ts";
import { testWorkspace, wipeCache, type Backend } from "../support/mounts.ts";

afterAll(removeTempDirectories);

const invalid: { name: string; code: string; syscall?: string; run: (fs: S3CachedFs) => Promise<unknown> }[] = [
  { name: "rm of a missing path", code: "ENOENT", syscall: "rm", run: (fs) => fs.rm("/missing") },
  { name: "rename from a missing source", code: "ENOENT", syscall: "rename", run: (fs) => fs.rename("/missing", "/elsewhere") },
  { name: "write onto a directory", code: "EISDIR", run: (fs) => fs.writeFile("/dir", "x") },
  { name: "write under a file", code: "ENOTDIR", run: (fs) => fs.writeFile("/file.txt/child", "x") },
  { name: "mkdir over a file", code: "EEXIST", syscall: "mkdir", run: (fs) => fs.mkdir("/file.txt") },
  { name: "mkdir -p through a file", code: "ENOTDIR", syscall: "mkdir", run: (fs) => fs.mkdir("/file.txt/sub", { recursive: true }) },
  { name: "non-recursive rm of a non-empty directory", code: "ENOTEMPTY", syscall: "rm", run: (fs) => fs.rm("/dir") },
  { name: "rename of a directory into itself", code: "EINVAL", syscall: "rename", run: (fs) => fs.rename("/dir", "/dir/sub/inside") },
  { name: "rename onto a non-empty directory", code: "ENOTEMPTY", syscall: "rename", run: (fs) => fs.rename("/other", "/dir") },
  { name: "rename of a file onto a directory", code: "EISDIR", syscall: "rename", run: (fs) => fs.rename("/file.txt", "/dir") },
  { name: "copy of a directory without recursive", code: "EISDIR", run: (fs) => fs.copyFile("/dir", "/copy") },
  { name: "copy onto an existing file without overwrite", code: "EEXIST", run: (fs) => fs.copyFile("/file.txt", "/other/keep.txt", { overwrite: false }) },
  { name: "symlink over an existing file", code: "EEXIST", syscall: "symlink", run: (fs) => fs.symlink("/x", "/file.txt") },
  { name: "chmod of a missing path", code: "ENOENT", syscall: "chmod", run: (fs) => fs.chmod("/missing", 0o600) },
  { name: "rm of the root", code: "EPERM", syscall: "rm", run: (fs) => fs.rm("/", { recursive: true }) },
  { name: "a path climbing above the root", code: "EINVAL", run: (fs) => fs.writeFile("/../../etc/passwd", "x") },
  { name: "a path with a NUL byte", code: "EINVAL", run: (fs) => fs.writeFile("/a\0b", "x") },
  { name: "a name longer than 255 bytes", code: "ENAMETOOLONG", run: (fs) => fs.writeFile(`/${"n".repeat(256)}`, "x") },
  { name: "a mode out of range", code: "EINVAL", syscall: "chmod", run: (fs) => fs.chmod("/file.txt", 0o70000) },
  { name: "writing an unsupported value", code: "EINVAL", run: (fs) => fs.writeFile("/f", { not: "bytes" } as unknown as string) },
];

for (const backend of ["local", "s3"] as Backend[]) {
  describe(`invalid operations publish nothing (${backend})`, () => {
    test.each(invalid.map((entry) => [entry.name, entry] as const))("%s", async (_name, entry) => {
      const workspace = await testWorkspace(backend, "invalid");
      const fs = await workspace.mount();
      await fs.writeFile("/file.txt", "content");
      await fs.writeFile("/dir/sub/deep.txt", "deep");
      await fs.writeFile("/other/keep.txt", "keep");
      const before = fs.stats();
      const error = await expectCode(entry.run(fs), entry.code, entry.syscall === undefined ? {} : { syscall: entry.syscall });
      expect(error.message.startsWith(`${entry.code}: `)).toBe(true);
      const after = fs.stats();
      expect(after.requests.put.requests - before.requests.put.requests).toBe(0);
      expect(after.seq).toBe(before.seq);
      // The filesystem still works, and a fresh mount (no local state) sees the prior state.
      await fs.writeFile("/after.txt", "still writable");
      await fs.close();
      wipeCache(workspace.cacheRoot);
      const fresh = await workspace.mount({ mode: "readonly" });
      expect(await fresh.readText("/file.txt")).toBe("content");
      expect(await fresh.readText("/dir/sub/deep.txt")).toBe("deep");
      expect(await fresh.readText("/other/keep.txt")).toBe("keep");
      expect(await fresh.readText("/after.txt")).toBe("still writable");
      expect([...(await fresh.readdir("/"))].sort()).toEqual(["after.txt", "dir", "file.txt", "other"]);
      await fresh.close();
    });

    test("an invalid operation inside a transaction fails alone; a throwing transaction publishes nothing", async () => {
      const workspace = await testWorkspace(backend, "invalid-tx");
      const fs = await workspace.mount();
      await fs.writeFile("/base.txt", "base");
      const before = fs.stats();
      await fs.transaction(async (tx) => {
        await tx.writeFile("/new.txt", "new");
        await expectCode(tx.rm("/missing"), "ENOENT");
        await tx.appendFile("/base.txt", "+more");
      });
      expect(await fs.readText("/base.txt")).toBe("base+more");
      expect(await fs.readText("/new.txt")).toBe("new");
      const middle = fs.stats();
      expect(middle.requests.put.requests - before.requests.put.requests).toBe(1);
      const thrown = await fs
        .transaction(async (tx) => {
          await tx.writeFile("/never.txt", "never");
          await tx.rm("/base.txt");
          throw new Error("changed my mind");
        })
        .catch((error: Error) => error.message);
      expect(thrown).toBe("changed my mind");
      expect(fs.stats().requests.put.requests).toBe(middle.requests.put.requests);
      expect(await fs.exists("/never.txt")).toBe(false);
      expect(await fs.readText("/base.txt")).toBe("base+more");
      await fs.close();
    });
  });
}
