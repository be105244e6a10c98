// A batch remembers the index rows it read or wrote (src/namespace/namespace.ts, RowMemory) until
// anything else changes the index. These transactions undo, move, remove and recreate what they
// wrote, and read it back in between: every answer must be what the index's rows say, and the
// index the commit leaves must be the one a mount replaying the log builds (the same entries,
// sizes, times and inode numbers).
import { afterAll, expect, test } from "bun:test";
import type { S3CachedFs } from "../../src/core.ts";
import { expectCode } from "../support/errors.ts";
import { removeTempDirectories } from "../support/temp.ts";
import { testWorkspace, type TestWorkspace } from "../support/mounts.ts";

afterAll(removeTempDirectories);

/** Every path with what stat says of it, as `fs` sees the tree. */
async function describeTree(fs: S3CachedFs): Promise<Record<string, string>> {
  const tree: Record<string, string> = {};
  const visit = async (directory: string) => {
    for (const name of (await fs.readdir(directory)) as string[]) {
      const path = directory === "/" ? `/${name}` : `${directory}/${name}`;
      const stats = await fs.stat(path);
      tree[path] = `${stats.isDirectory() ? "dir" : "file"} size ${stats.size} mtime ${stats.mtimeMs} ctime ${stats.ctimeMs} ino ${stats.ino} nlink ${stats.nlink}`;
      if (stats.isDirectory()) await visit(path);
    }
  };
  await visit("/");
  return tree;
}

/** The writer's tree must be what a mount with an empty cache builds by replaying the log. */
async function expectReplayedAlike(workspace: TestWorkspace, writer: S3CachedFs): Promise<Record<string, string>> {
  const live = await describeTree(writer);
  const replayed = await workspace.mount({ mode: "readonly" }, { cacheRoot: workspace.freshCacheRoot() });
  try {
    expect(await describeTree(replayed)).toEqual(live);
  } finally {
    await replayed.close();
  }
  return live;
}

test("an operation undone in its savepoint after writing rows leaves none of them to later operations of the transaction", async () => {
  const workspace = await testWorkspace("local", "memory-undone");
  const fs = await workspace.mount();
  try {
    await fs.transaction(async (tx) => {
      await tx.mkdir("/src/a", { recursive: true });
      await tx.writeFile("/src/a/inner.txt", "inner");
      await tx.writeFile("/src/b.txt", "source b");
      await tx.writeFile("/dst/b.txt", "target b");
      // The copy creates /dst/a (and its file) before it meets /dst/b.txt, which it may not
      // overwrite: the whole operation is undone, those rows with it.
      await expectCode(tx.cp("/src", "/dst", { recursive: true, overwrite: false }), "EEXIST");
      expect(await tx.exists("/dst/a")).toBe(false);
      expect(await tx.exists("/dst/a/inner.txt")).toBe(false);
      expect(await tx.readdir("/dst")).toEqual(["b.txt"]);
      await tx.writeFile("/dst/a/new.txt", "made afresh");
      expect(await tx.readdir("/dst/a")).toEqual(["new.txt"]);
    });
    expect(await fs.readdir("/dst")).toEqual(["a", "b.txt"]);
    expect(await fs.readText("/dst/a/new.txt")).toBe("made afresh");
    expect(await fs.readText("/dst/b.txt")).toBe("target b");
    await expectReplayedAlike(workspace, fs);
  } finally {
    await fs.close();
  }
});

test("rows remembered before a rename or a removal answer for the new tree, not the old one", async () => {
  const workspace = await testWorkspace("local", "memory-moved");
  const fs = await workspace.mount();
  try {
    await fs.writeFile("/keep.txt", "kept");
    await fs.transaction(async (tx) => {
      await tx.writeFile("/x/y/f.txt", "f");
      await tx.rename("/x", "/z");
      expect(await tx.exists("/x/y/f.txt")).toBe(false);
      await tx.writeFile("/x/y/g.txt", "g"); // a new /x and /x/y, not the ones now under /z
      expect(await tx.readdir("/x/y")).toEqual(["g.txt"]);
      expect(await tx.readdir("/z/y")).toEqual(["f.txt"]);
      await tx.rm("/z", { recursive: true });
      expect(await tx.exists("/z")).toBe(false);
      await tx.writeFile("/z/h.txt", "h");
      expect(await tx.readdir("/z")).toEqual(["h.txt"]);
      await tx.rm("/keep.txt");
      await tx.writeFile("/keep.txt", "written again");
      for (let index = 0; index < 50; index++) await tx.writeFile(`/x/y/many-${index}.txt`, `${index}`);
    });
    expect(await fs.readText("/x/y/g.txt")).toBe("g");
    expect(await fs.readText("/z/h.txt")).toBe("h");
    expect(await fs.readText("/keep.txt")).toBe("written again");
    const tree = await expectReplayedAlike(workspace, fs);
    expect(Object.keys(tree).length).toBe(1 + 2 + 51 + 2); // /keep.txt; /x, /x/y; g.txt and 50 more; /z, /z/h.txt
  } finally {
    await fs.close();
  }
});

test("inode numbers given out in a run of inserts are the ones a replay gives, after removals in between", async () => {
  const workspace = await testWorkspace("local", "memory-ids");
  const fs = await workspace.mount();
  try {
    await fs.transaction(async (tx) => {
      for (let index = 0; index < 20; index++) await tx.writeFile(`/d/f${index}.txt`, `${index}`);
      const highest = (await tx.stat("/d/f19.txt")).ino;
      await tx.rm("/d/f19.txt"); // the highest id goes: the next file takes it again (the index gives MAX(id) + 1)
      await tx.writeFile("/d/after.txt", "after");
      expect((await tx.stat("/d/after.txt")).ino).toBe(highest);
      await expectCode(tx.writeFile("/d/f3.txt/under", "a file is no directory"), "ENOTDIR");
      await tx.writeFile("/d/last.txt", "last");
    });
    await expectReplayedAlike(workspace, fs);
  } finally {
    await fs.close();
  }
});
