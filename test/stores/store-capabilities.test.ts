// What a store claims in `capabilities` decides whether the filesystem can run on it: the commit
// log needs atomic create-only writes and the head needs compare-and-swap. A store that does not
// claim both is refused when it is handed to the manager, before any request is sent.
import { afterAll, expect, test } from "bun:test";
import { CountingStore, LocalObjectStore, S3CachedFsManagerImpl, type StoreCapabilities } from "../../src/core.ts";
import { expectCode } from "../support/errors.ts";
import { removeTempDirectories, tempDirectory } from "../support/temp.ts";

afterAll(removeTempDirectories);

for (const missing of ["createOnly", "compareAndSwap"] as const) {
  test(`a storeFactory's store without ${missing} is refused with EINVAL naming it, and nothing is sent`, async () => {
    const local = new LocalObjectStore({ root: tempDirectory("capabilities"), fsync: false });
    const counting = new CountingStore(local);
    (counting as { capabilities: StoreCapabilities }).capabilities = { ...local.capabilities, [missing]: false };
    const manager = new S3CachedFsManagerImpl({ cacheRoot: tempDirectory("capabilities-cache"), storeFactory: () => counting });
    const refused = await expectCode(manager.mount({ name: "weak" }), "EINVAL");
    expect(refused.message).toContain(missing);
    expect(counting.snapshot().total.requests).toBe(0);
    expect(manager.names).toEqual([]);
  });
}
