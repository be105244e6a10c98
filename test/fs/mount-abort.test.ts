// An AbortSignal on mount(), from the user's side: a mount waiting for the writer lease (another
// writer holds it; onWriterBusy "wait") is cancelled by aborting its signal: it rejects with
// FsError ECANCELED and leaves nothing held (the holder keeps writing, and once it lets go the
// same name mounts at once from the same cache root).

import { afterAll, describe, expect, test } from "bun:test";
import { FsError, type S3CachedFs } from "../../src/core.ts";
import { testWorkspace } from "../support/mounts.ts";
import { removeTempDirectories } from "../support/temp.ts";

afterAll(removeTempDirectories);

/** Settles `promise`, or fails the test if it has not settled within 10 s (a safety net, not a timing check). */
function within10s<T>(promise: Promise<T>): Promise<T> {
  return Promise.race([promise, new Promise<never>((_, reject) => setTimeout(() => reject(new Error("did not settle within 10 s")), 10_000))]);
}

describe("mount(config, { signal })", () => {
  test("aborting while the mount waits for the writer lease rejects with ECANCELED and leaves nothing held", async () => {
    const workspace = await testWorkspace("local", "mount-abort");
    const holder = await workspace.mount({ exclusive: true }); // a shared mount waits for an exclusive writer's lease
    const waiterCache = workspace.freshCacheRoot();
    const manager = workspace.manager({ cacheRoot: waiterCache });
    const controller = new AbortController();
    let waits = 0;
    const waiting = manager.mount(
      {
        name: "test",
        onWriterBusy: "wait",
        leaseWaitTimeoutMs: 60_000,
        onWriterWait: () => {
          waits += 1;
          controller.abort(); // the user gives up once told whom the mount waits for
        },
      },
      { signal: controller.signal },
    );
    const error = await within10s(waiting.catch((caught: unknown) => caught));
    expect(waits).toBe(1);
    expect(error).toBeInstanceOf(FsError);
    expect((error as FsError).code).toBe("ECANCELED");
    expect(manager.get("test")).toBeUndefined();
    // The holder was not disturbed: it still writes.
    await holder.writeFile("/after-abort.txt", "still the writer");
    await holder.close();
    // Nothing of the aborted mount is held: the same name mounts from the same cache root at once.
    const next: S3CachedFs = await workspace.manager({ cacheRoot: waiterCache }).mount({ name: "test", exclusive: true, onWriterBusy: "fail", headDelayMs: 60_000 });
    expect(await next.readText("/after-abort.txt")).toBe("still the writer");
    await next.close();
  });

  test("a signal already aborted rejects with ECANCELED before anything is opened", async () => {
    const workspace = await testWorkspace("local", "mount-abort-early");
    const manager = workspace.manager();
    const error = await manager.mount({ name: "test" }, { signal: AbortSignal.abort() }).catch((caught: unknown) => caught);
    expect((error as FsError).code).toBe("ECANCELED");
    const fs = await manager.mount({ name: "test", onWriterBusy: "fail" });
    await fs.close();
  });

  test("a signal that is not an AbortSignal, or an unknown option of the call or the config, is EINVAL naming it", async () => {
    const manager = (await testWorkspace("local", "mount-abort-bad")).manager();
    expect(((await manager.mount({ name: "test" }, { signal: "stop" } as never).catch((caught: unknown) => caught)) as FsError).message).toContain("signal: expected an AbortSignal");
    expect(((await manager.mount({ name: "test" }, { signl: AbortSignal.abort() } as never).catch((caught: unknown) => caught)) as FsError).message).toContain("signl: unknown option");
    // The mount config's own typos read the same way.
    expect(((await manager.mount({ name: "test", prefx: "a" } as never).catch((caught: unknown) => caught)) as FsError).message).toContain("prefx: unknown option");
    expect(((await manager.mount({ name: "test", layout: { blokBytes: 1 } } as never).catch((caught: unknown) => caught)) as FsError).message).toContain("layout.blokBytes: unknown option");
  });
});
