// The large tree the metadata and lifecycle workloads share: `files` small files, 100 per
// directory, under /tree, plus /wide, one directory of `directoryEntries` files. Seeded once per
// run, untimed and without latency: into our filesystem (transactions of 2,000, then closed, so
// mounts start from a snapshot), as one object per file for the baselines, and on local disk.

import type { BenchContext } from "../context.ts";
import { treePath } from "../data.ts";
import type { LocalDiskFiles } from "../subjects/local-disk.ts";

export interface LargeTree {
  oursPrefix: string;
  objectsPrefix: string;
  local: LocalDiskFiles;
  files: number;
  filesPerDirectory: number;
  directoryEntries: number;
  /** Path (without a leading slash) of the index-th file of /tree. */
  path(index: number): string;
  widePath(index: number): string;
}

export function largeTree(context: BenchContext): Promise<LargeTree> {
  const { walkFiles, filesPerDirectory, directoryEntries } = context.settings.sizes.metadata;
  const files = Math.max(walkFiles, context.settings.sizes.lifecycle.mountFiles);
  return context.fixture("large-tree", async () => {
    const tree: LargeTree = {
      oursPrefix: context.prefix("tree-ours"),
      objectsPrefix: context.prefix("tree-objects"),
      local: context.local("tree"),
      files,
      filesPerDirectory,
      directoryEntries,
      path: (index) => treePath("tree", index, filesPerDirectory),
      widePath: (index) => `wide/entry${String(index).padStart(5, "0")}.txt`,
    };
    context.log(`  seeding the large tree: ${files} files in directories of ${filesPerDirectory}, and one directory of ${directoryEntries}`);
    const started = performance.now();
    const body = (path: string) => `contents of ${path}\n`;
    const all = [...Array.from({ length: files }, (_, index) => tree.path(index)), ...Array.from({ length: directoryEntries }, (_, index) => tree.widePath(index))];
    const writer = await context.ours.mount(tree.oursPrefix);
    try {
      for (let start = 0; start < all.length; start += 2_000) {
        const slice = all.slice(start, start + 2_000);
        await writer.fs.transaction(async (tx) => {
          for (const path of slice) await tx.writeFile(`/${path}`, body(path));
        });
      }
    } finally {
      await writer.close();
    }
    await context.seedObjects(tree.objectsPrefix, all.map((path) => ({ path, body: body(path) })));
    for (const path of all) await tree.local.writeCreating(path, body(path));
    context.log(`  seeded the large tree in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    return tree;
  });
}
