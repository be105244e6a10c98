// A transaction commits when its body returns, so a write through the mount itself (not `tx`)
// from inside the body could only wait for the body that waits for it. Such calls fail at once
// with EDEADLK; no public promise stays pending, and the mount works on after the body.
import { afterAll, describe, expect, test } from "bun:test";
import type { S3CachedFs } from "../../src/core.ts";
import { removeTempDirectories } from "../support/temp.ts";
import { testWorkspace } from "../support/mounts.ts";

afterAll(removeTempDirectories);

/** Settles `promise` to its value or its error code, or fails the test if it is still pending after `ms` (a safety net, not a measurement). */
async function settled(promise: Promise<unknown>, ms = 10_000): Promise<string> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const pending = new Promise<string>((resolve) => (timer = setTimeout(() => resolve("still pending"), ms)));
  try {
    return await Promise.race([
      promise.then(
        () => "ok",
        (error: { code?: string; message?: string }) => error.code ?? String(error.message),
      ),
      pending,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

async function prepared(label: string): Promise<{ fs: S3CachedFs; fresh: () => Promise<S3CachedFs> }> {
  const workspace = await testWorkspace("local", label);
  const fs = await workspace.mount();
  await fs.writeFile("/existing.txt", "existing");
  await fs.mkdir("/dir");
  return { fs, fresh: () => workspace.mount({ name: "fresh", mode: "readonly" }, { cacheRoot: workspace.freshCacheRoot() }) };
}

describe("the mount's own writes inside one of its transaction bodies", () => {
  test("each fails at once with EDEADLK naming tx; the transaction commits what tx wrote; the mount works after it", async () => {
    const { fs, fresh } = await prepared("reentry-writes");
    const calls: [string, () => Promise<unknown>][] = [
      ["writeFile", () => fs.writeFile("/from-fs.txt", "no")],
      ["writeFile (large)", () => fs.writeFile("/large.bin", new Uint8Array(5 * 1024 * 1024))],
      ["appendFile", () => fs.appendFile("/existing.txt", "no")],
      ["mkdir", () => fs.mkdir("/made-by-fs")],
      ["rm", () => fs.rm("/existing.txt")],
      ["rename", () => fs.rename("/existing.txt", "/moved.txt")],
      ["copyFile", () => fs.copyFile("/existing.txt", "/copied.txt")],
      ["symlink", () => fs.symlink("/existing.txt", "/link")],
      ["chmod", () => fs.chmod("/existing.txt", 0o600)],
      ["utimes", () => fs.utimes("/existing.txt", new Date(1_000), new Date(2_000))],
      ["openWrite", () => fs.openWrite("/opened.txt")],
    ];
    const outcome = await settled(
      fs.transaction(async (tx) => {
        await tx.writeFile("/in-tx.txt", "inside");
        for (const [name, call] of calls) {
          const result = await settled(call());
          if (result !== "EDEADLK") throw new Error(`${name} inside the body settled as ${result}`);
        }
        const error = await fs.writeFile("/from-fs.txt", "no").catch((caught: Error) => caught);
        expect((error as Error).message).toContain("inside one of its own transaction bodies");
        expect((error as Error).message).toContain("tx");
        await tx.mkdir("/tx-dir");
        return "body done";
      }),
    );
    expect(outcome).toBe("ok");
    expect(await fs.readText("/in-tx.txt")).toBe("inside");
    expect(await fs.exists("/tx-dir")).toBe(true);
    for (const path of ["/from-fs.txt", "/large.bin", "/made-by-fs", "/moved.txt", "/copied.txt", "/link", "/opened.txt"]) expect(await fs.exists(path)).toBe(false);
    expect(await fs.readText("/existing.txt")).toBe("existing");
    await fs.writeFile("/after.txt", "after");
    expect(await settled(fs.close())).toBe("ok");
    const reader = await fresh();
    expect((await reader.readdir("/")).sort()).toEqual(["after.txt", "dir", "existing.txt", "in-tx.txt", "tx-dir"]);
    await reader.close();
  });

  test("a nested transaction and close() fail at once; close() after the body settles", async () => {
    const { fs, fresh } = await prepared("reentry-nested");
    const outcome = await settled(
      fs.transaction(async (tx) => {
        const nested = await settled(fs.transaction(async (inner) => inner.writeFile("/nested.txt", "no")));
        if (nested !== "EDEADLK") throw new Error(`a nested transaction settled as ${nested}`);
        const closing = await settled(fs.close());
        if (closing !== "EDEADLK") throw new Error(`close() inside the body settled as ${closing}`);
        await tx.writeFile("/in-tx.txt", "inside");
      }),
    );
    expect(outcome).toBe("ok");
    expect(fs.closed).toBe(false);
    await fs.writeFile("/after.txt", "after");
    expect(await settled(fs.close())).toBe("ok");
    const reader = await fresh();
    expect((await reader.readdir("/")).sort()).toEqual(["after.txt", "dir", "existing.txt", "in-tx.txt"]);
    await reader.close();
  });

  test("a write handle of the mount closed inside a body stays open, and commits when closed after it", async () => {
    const { fs } = await prepared("reentry-handle");
    const handle = await fs.openWrite("/handle.txt");
    await Bun.write(handle.file, "kept");
    const outcome = await settled(
      fs.transaction(async (tx) => {
        const closing = await settled(handle.close());
        if (closing !== "EDEADLK") throw new Error(`the handle's close() inside the body settled as ${closing}`);
        await tx.writeFile("/in-tx.txt", "inside");
      }),
    );
    expect(outcome).toBe("ok");
    expect(await settled(handle.close())).toBe("ok");
    expect(await fs.readText("/handle.txt")).toBe("kept");
    expect(await settled(fs.close())).toBe("ok");
  });

  test("a write started in a body and left running fails at once; work the body leaves for later writes normally", async () => {
    const { fs } = await prepared("reentry-later");
    const gate = Promise.withResolvers<void>();
    let unawaited: Promise<void> | undefined;
    let later: Promise<void> | undefined;
    const outcome = await settled(
      fs.transaction(async (tx) => {
        unawaited = fs.writeFile("/unawaited.txt", "no");
        unawaited.catch(() => {});
        later = gate.promise.then(() => fs.writeFile("/later.txt", "later")); // runs once the transaction is over
        await tx.writeFile("/in-tx.txt", "inside");
      }),
    );
    expect(outcome).toBe("ok");
    expect(await settled(unawaited!)).toBe("EDEADLK");
    gate.resolve();
    expect(await settled(later!)).toBe("ok");
    expect(await fs.readText("/later.txt")).toBe("later");
    expect(await fs.exists("/unawaited.txt")).toBe(false);
    expect(await settled(fs.close())).toBe("ok");
  });
});
