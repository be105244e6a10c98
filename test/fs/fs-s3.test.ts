// The filesystem suite on the real S3 server (Ceph RGW over HTTP).
import { afterAll } from "bun:test";
import { removeTempDirectories } from "../support/temp.ts";
import { testWorkspace, wipeCache } from "../support/mounts.ts";
import { fsSuite } from "./fs-suite.ts";

afterAll(removeTempDirectories);

for (const [label, layout] of [
  ["default layout", undefined],
  ["tiny layout", { blockBytes: 4, chunkBytes: 16, largeFileBytes: 8, inlineRecordBytes: 32, packBytes: 64, uploadConcurrency: 2 }],
] as const) {
  fsSuite(`S3ObjectStore on Ceph RGW, ${label}`, async () => {
    const workspace = await testWorkspace("s3", "fs-s3");
    const config = layout === undefined ? {} : { layout };
    const fs = await workspace.mount(config);
    let current = fs;
    return {
      fs,
      remount: async () => {
        await current.close();
        wipeCache(workspace.cacheRoot);
        current = await workspace.mount({ ...config, mode: "readonly" });
        return current;
      },
      cleanup: () => current.close(),
    };
  });
}
