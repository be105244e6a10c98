// docs/recovery.md, checked: what the library does by itself when local state is lost or
// damaged, and how it reports damage in the bucket.
import { afterAll, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { listAll } from "../../src/stores/object-store.ts";
import { mountDirectoryName } from "../../src/mount.ts";
import { maxDirectorySlots } from "../../src/mount/directory.ts";
import { indexLayoutVersion } from "../../src/namespace/namespace.ts";
import { expectCode } from "../support/errors.ts";
import { removeTempDirectories } from "../support/temp.ts";
import { testWorkspace } from "../support/mounts.ts";

afterAll(removeTempDirectories);

async function populated(label: string) {
  const workspace = await testWorkspace("local", label);
  const fs = await workspace.mount({ snapshotEveryCommits: 3 });
  for (let index = 0; index < 7; index++) await fs.writeFile(`/f${index}.txt`, `file ${index}`);
  await fs.close();
  return workspace;
}

describe("local state", () => {
  test("an unreadable index database is replaced and rebuilt from the bucket", async () => {
    const workspace = await populated("bad-index");
    writeFileSync(join(workspace.cacheRoot, mountDirectoryName("test"), "index.sqlite"), "this is not a database, it is garbage ".repeat(100));
    const fs = await workspace.mount({ mode: "readonly" });
    expect(await fs.readText("/f6.txt")).toBe("file 6");
    await fs.close();
  });

  test("an index of another layout (left by an older version of the library) is rebuilt from the bucket, never read", async () => {
    const workspace = await populated("old-layout");
    const indexFile = join(workspace.cacheRoot, mountDirectoryName("test"), "index.sqlite");
    const db = new Database(indexFile);
    db.run("UPDATE nodes SET name = 'renamed.txt' WHERE name = 'f6.txt'"); // read, this would be a wrong listing
    db.run(`PRAGMA user_version = ${indexLayoutVersion - 1}`);
    db.close();
    writeFileSync(`${indexFile}.digest`, new Bun.CryptoHasher("sha256").update(readFileSync(indexFile)).digest("hex")); // as if closed cleanly
    const fs = await workspace.mount({ mode: "readonly" });
    expect(await fs.readText("/f6.txt")).toBe("file 6");
    expect(await fs.exists("/renamed.txt")).toBe(false);
    await fs.close();
    const reopened = new Database(indexFile, { readonly: true });
    expect(reopened.query<{ user_version: number }, []>("PRAGMA user_version").get()!.user_version).toBe(indexLayoutVersion);
    reopened.close();
  });

  test("an index of another filesystem under the same name is discarded", async () => {
    const first = await populated("other-fs");
    const second = await testWorkspace("local", "other-fs-b");
    const fs = await second.mount({}, { cacheRoot: first.cacheRoot }); // same cacheRoot and name, different bucket
    expect(await fs.readdir("/")).toEqual([]);
    await fs.writeFile("/mine.txt", "mine");
    await fs.close();
    const again = await first.mount({ mode: "readonly" });
    expect((await again.readdir("/")).length).toBe(7);
    await again.close();
  });

  test("a lock left by a dead process is taken over; one held by a live process is EBUSY for an exclusive writer, and a reader takes a sibling directory", async () => {
    const workspace = await populated("locks");
    const lock = join(workspace.cacheRoot, mountDirectoryName("test"), "mount.lock");
    writeFileSync(lock, "999999999"); // no such process
    const fs = await workspace.mount({ mode: "readonly" });
    await fs.close();
    expect(existsSync(lock)).toBe(false);
    writeFileSync(lock, String(process.ppid)); // alive, and not us
    await expectCode(workspace.mount({ exclusive: true }), "EBUSY");
    const reader = await workspace.mount({ mode: "readonly" });
    expect(await reader.readText("/f6.txt")).toBe("file 6");
    await reader.close();
    expect(existsSync(join(workspace.cacheRoot, `${mountDirectoryName("test")}~2`, "index.sqlite"))).toBe(true);
  });

  test("a reader finds every sibling slot held by live processes: EBUSY saying so, nothing taken; one freed slot is taken", async () => {
    const workspace = await populated("slots");
    const directory = (slot: number) => join(workspace.cacheRoot, slot === 1 ? mountDirectoryName("test") : `${mountDirectoryName("test")}~${slot}`);
    for (let slot = 1; slot <= maxDirectorySlots; slot++) {
      mkdirSync(directory(slot), { recursive: true });
      writeFileSync(join(directory(slot), "mount.lock"), String(process.ppid)); // an earlier version's lock, held by a live process
    }
    const refused = await expectCode(workspace.mount({ mode: "readonly" }), "EBUSY");
    expect(refused.message).toContain(`all ${maxDirectorySlots} cache directories of this mount under cacheRoot are in use by other processes`);
    expect(existsSync(directory(maxDirectorySlots + 1))).toBe(false);
    rmSync(join(directory(7), "mount.lock"));
    const reader = await workspace.mount({ mode: "readonly" });
    expect(await reader.readText("/f0.txt")).toBe("file 0");
    await reader.close();
    expect(existsSync(join(directory(7), "index.sqlite"))).toBe(true);
  });
});

describe("damage in the bucket", () => {
  test("a snapshot the head names but that is gone: the log is replayed from its start", async () => {
    const workspace = await populated("lost-snapshot");
    const store = workspace.makeStore();
    let removed = 0;
    for await (const object of listAll(store, { prefix: "snapshots/" })) {
      await store.delete(object.key);
      removed++;
    }
    expect(removed).toBeGreaterThan(0);
    const fs = await workspace.mount({ mode: "readonly" }, { cacheRoot: workspace.freshCacheRoot() });
    expect((await fs.readdir("/")).length).toBe(7);
    await fs.close();
  });

  test("a damaged commit record stops the mount with EIO naming it; nothing is skipped", async () => {
    const workspace = await populated("bad-record");
    const store = workspace.makeStore();
    const key = "wal/00000000000000000005";
    const bytes = (await store.get(key)).body;
    bytes[0] = bytes[0]! ^ 0xff;
    await store.put(key, bytes);
    await store.delete("heads/main.json"); // force a replay through record 5
    const error = await expectCode(workspace.mount({ mode: "readonly" }, { cacheRoot: workspace.freshCacheRoot() }), "EIO");
    expect(error.message).toContain(key);
    expect(error.message).toContain("checksum");
  });

  test("a missing data object fails reads of the files that use it, with EIO; other files stay readable", async () => {
    const workspace = await testWorkspace("local", "lost-chunk");
    const fs = await workspace.mount();
    await fs.writeFile("/large.bin", new Uint8Array(5 * 1024 * 1024).fill(1)); // in chunks
    await fs.writeFile("/small.txt", "still here");
    await fs.close();
    const store = workspace.makeStore();
    for await (const object of listAll(store, { prefix: "chunks/" })) await store.delete(object.key);
    const reader = await workspace.mount({ name: "after-loss", mode: "readonly" }, { cacheRoot: workspace.freshCacheRoot() });
    const error = await expectCode(reader.readFile("/large.bin"), "EIO");
    expect(error.message).toContain("missing");
    expect(await reader.readText("/small.txt")).toBe("still here");
    expect((await reader.stat("/large.bin")).size).toBe(5 * 1024 * 1024);
    await reader.close();
  });
});
