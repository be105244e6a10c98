// Every error crossing the public API is an FsError with a Node code and the virtual path, never a
// host path (issue 14, item 14); and a write handle's bytes are never dropped without an error.
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { S3CachedFsManagerImpl, FsError, type ObjectStore } from "../../src/core.ts";
import { expectCode } from "../support/errors.ts";
import { removeTempDirectories, tempDirectory } from "../support/temp.ts";
import { testWorkspace, wipeCache } from "../support/mounts.ts";

afterAll(removeTempDirectories);

/** The error is an FsError naming no host path (neither the temp directory nor the cache root). */
function expectNoHostPath(error: Error, ...hostPaths: string[]): void {
  expect(error).toBeInstanceOf(FsError);
  for (const hostPath of [tmpdir(), ...hostPaths]) expect(error.message).not.toContain(hostPath);
  const path = (error as FsError).path;
  if (path !== undefined) for (const hostPath of [tmpdir(), ...hostPaths]) expect(path.startsWith(hostPath)).toBe(false);
}

async function caught(run: () => unknown): Promise<Error> {
  try {
    await run();
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected an error, but the call succeeded");
}

describe("the manager's own mistakes are FsErrors naming the option", () => {
  test("a cacheRoot under a regular file", async () => {
    const directory = tempDirectory("cacheroot-file");
    writeFileSync(join(directory, "file"), "a regular file");
    const error = await caught(() => new S3CachedFsManagerImpl({ cacheRoot: join(directory, "file", "cache") }));
    expectNoHostPath(error, directory);
    expect((error as FsError).code).toBe("EINVAL"); // a bad option (a path code would have to name a path)
    expect(error.message).toContain("cacheRoot");
    expect(error.message).toContain("ENOTDIR");
  });

  test("a cacheRoot where nothing can be written (/proc: even root cannot)", async () => {
    const error = await caught(() => new S3CachedFsManagerImpl({ cacheRoot: "/proc" }));
    expect(error).toBeInstanceOf(FsError);
    expect(error.message).toContain("cacheRoot");
    expect(error.message).not.toContain("/proc");
  });

  for (const [label, value] of [
    ["an empty object", {}],
    ["a number", 42],
    ["undefined", undefined],
  ] as const) {
    test(`a storeFactory returning ${label} is EINVAL naming storeFactory`, async () => {
      const manager = new S3CachedFsManagerImpl({ cacheRoot: tempDirectory("factory"), storeFactory: () => value as unknown as ObjectStore });
      const error = await expectCode(manager.mount({ name: "bad-factory" }), "EINVAL", { syscall: "mount" });
      expectNoHostPath(error);
      expect(error.message).toContain("storeFactory");
      // The name is free again.
      expect(manager.names).toEqual([]);
    });
  }

  test("a storeFactory that throws is an FsError carrying its message", async () => {
    const manager = new S3CachedFsManagerImpl({
      cacheRoot: tempDirectory("factory"),
      storeFactory: () => {
        throw new Error("no store for you");
      },
    });
    const error = await caught(() => manager.mount({ name: "throwing-factory" }));
    expectNoHostPath(error);
    expect(error.message).toContain("storeFactory");
    expect(error.message).toContain("no store for you");
  });
});

describe("bad arguments and failing sources are FsErrors with the virtual path", () => {
  test("an unknown encoding, writing and reading", async () => {
    const workspace = await testWorkspace("local", "public-encoding");
    const fs = await workspace.mount();
    await fs.writeFile("/f.txt", "text");
    const before = fs.stats();
    const written = await expectCode(fs.writeFile("/g.txt", "x", { encoding: "klingon" as "utf8" }), "EINVAL", { path: "/g.txt" });
    expect(written.message).toContain("encoding");
    const read = await expectCode(fs.readText("/f.txt", "klingon" as "utf8"), "EINVAL", { path: "/f.txt" });
    expect(read.message).toContain("encoding");
    expect(fs.stats().requests.put.requests).toBe(before.requests.put.requests);
    expect(await fs.exists("/g.txt")).toBe(false);
    await fs.close();
  });

  for (const size of ["small", "large"] as const) {
    test(`a source stream that errors (${size}) is EIO with the virtual path, and nothing is published`, async () => {
      const workspace = await testWorkspace("local", `public-source-${size}`);
      const fs = await workspace.mount({ layout: { largeFileBytes: 1024, chunkBytes: 1024, blockBytes: 1024 } });
      const before = fs.stats();
      let sent = 0;
      const source = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (sent >= (size === "small" ? 1 : 4)) {
            controller.error(new Error("the source broke"));
            return;
          }
          sent++;
          controller.enqueue(new Uint8Array(size === "small" ? 10 : 1000).fill(1));
        },
      });
      const error = await expectCode(fs.writeFile("/from-stream.bin", source), "EIO", { path: "/from-stream.bin" });
      expectNoHostPath(error, workspace.cacheRoot);
      expect(error.message).toContain("the source broke");
      expect(fs.stats().seq).toBe(before.seq);
      await fs.close();
      wipeCache(workspace.cacheRoot);
      const fresh = await workspace.mount({ mode: "readonly" });
      expect(await fresh.exists("/from-stream.bin")).toBe(false);
      await fresh.close();
    });
  }

  test("transaction(42) is EINVAL naming the body", async () => {
    const workspace = await testWorkspace("local", "public-transaction");
    const fs = await workspace.mount();
    const before = fs.stats();
    const error = await expectCode(fs.transaction(42 as unknown as () => Promise<void>), "EINVAL", { syscall: "transaction" });
    expect(error.message).toContain("function");
    expect(fs.stats().requests.put.requests).toBe(before.requests.put.requests);
    await fs.writeFile("/still.txt", "works");
    await fs.close();
  });
});

describe("a closed mount", () => {
  test("stats() still answers with the figures at close; every other method is EBADF (found by the API-misuse fuzzer: a raw RangeError from the closed index)", async () => {
    const workspace = await testWorkspace("local", "closed-stats");
    const fs = await workspace.mount();
    await fs.writeFile("/a/b.txt", "bytes");
    await fs.close();
    const stats = fs.stats();
    expect(stats.files).toEqual({ files: 1, directories: 2, symlinks: 0, bytes: 5 });
    expect(stats.seq).toBeGreaterThan(0);
    await expectCode(fs.stat("/a/b.txt"), "EBADF");
    await expectCode(fs.history(), "EBADF");
    await fs.close(); // closing again answers too
    expect(fs.stats().files).toEqual(stats.files);
  });
});

describe("the local cache directory", () => {
  test("materialize after the cache directory was deleted works, or fails as an FsError with the virtual path", async () => {
    const workspace = await testWorkspace("local", "public-materialize");
    const fs = await workspace.mount();
    await fs.writeFile("/data.bin", new Uint8Array(100_000).fill(3));
    rmSync(workspace.cacheRoot, { recursive: true, force: true });
    const materialized = await fs.materialize("/data.bin");
    expect((await materialized.file.bytes()).every((byte) => byte === 3)).toBe(true);
    expect(materialized.file.size).toBe(100_000);
    await materialized.release();
    // And writes through a handle still work too.
    const handle = await fs.openWrite("/written.txt");
    await Bun.write(handle.file, "via handle");
    await handle.close();
    expect(await fs.readText("/written.txt")).toBe("via handle");
    await fs.close();
  });

  test("an openWrite handle closed after its mount closed is EBADF naming the virtual path; its bytes stay in the local file", async () => {
    const workspace = await testWorkspace("local", "public-openwrite");
    const fs = await workspace.mount();
    const handle = await fs.openWrite("/late.txt");
    await Bun.write(handle.file, "written before the mount closed");
    await fs.close();
    const error = await expectCode(handle.close(), "EBADF", { path: "/late.txt" });
    expectNoHostPath(error, workspace.cacheRoot);
    // Nothing was published, and nothing was dropped: the bytes are where the caller wrote them.
    expect(existsSync(handle.path)).toBe(true);
    expect(await Bun.file(handle.path).text()).toBe("written before the mount closed");
    // Closing again says the same; abort() discards the file.
    await expectCode(handle.close(), "EBADF", { path: "/late.txt" });
    await handle.abort();
    expect(existsSync(handle.path)).toBe(false);
    const fresh = await workspace.mount({ mode: "readonly" });
    expect(await fresh.exists("/late.txt")).toBe(false);
    await fresh.close();
  });

  test("a write handle whose commit fails stays open with its bytes, and can be closed again", async () => {
    const workspace = await testWorkspace("local", "public-openwrite-retry");
    const fs = await workspace.mount();
    const handle = await fs.openWrite("/blocked/file.txt");
    await Bun.write(handle.file, "kept across a failed commit");
    await fs.writeFile("/blocked", "a file where the directory should be");
    await expectCode(handle.close(), "ENOTDIR");
    expect(await Bun.file(handle.path).text()).toBe("kept across a failed commit");
    await fs.rm("/blocked");
    await handle.close();
    expect(await fs.readText("/blocked/file.txt")).toBe("kept across a failed commit");
    expect(existsSync(handle.path)).toBe(false);
    await fs.close();
  });
});

test("a commit that fails before its record is sent (the clock throws, as a sandbox that blocks it does) closes its batch: the next write works", async () => {
  const workspace = await testWorkspace("local", "clock-throws");
  const fs = await workspace.mount();
  const realNow = performance.now.bind(performance);
  let armed = true;
  performance.now = () => {
    if (armed) {
      armed = false;
      throw new Error("the clock is blocked");
    }
    return realNow();
  };
  try {
    await caught(() => fs.writeFile("/a.txt", "first"));
  } finally {
    performance.now = realNow;
  }
  await fs.writeFile("/b.txt", "second");
  expect(await fs.readText("/b.txt")).toBe("second");
  expect(await fs.exists("/a.txt")).toBe(false);
  await fs.close();
}, 60_000);
