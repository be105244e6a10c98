// The filesystem suite on LocalObjectStore: default layout, and a tiny layout that forces every
// path (packs, chunks, many extents per file) even for small test files.
import { afterAll } from "bun:test";
import { removeTempDirectories } from "../support/temp.ts";
import { testWorkspace, wipeCache } from "../support/mounts.ts";
import { fsSuite } from "./fs-suite.ts";

afterAll(removeTempDirectories);

const tinyLayout = { blockBytes: 4, chunkBytes: 16, largeFileBytes: 8, inlineRecordBytes: 32, packBytes: 64, uploadConcurrency: 2 };

for (const [label, layout] of [
  ["default layout", undefined],
  ["tiny layout (packs, chunks, 4-byte extents)", tinyLayout],
] as const) {
  fsSuite(`LocalObjectStore, ${label}`, async () => {
    const workspace = await testWorkspace("local", "fs-local");
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
