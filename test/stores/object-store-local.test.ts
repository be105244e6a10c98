import { afterAll, expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { LocalObjectStore } from "../../src/stores/index.ts";
import { removeTempDirectories, tempDirectory } from "../support/temp.ts";
import { objectStoreSuite } from "./object-store-suite.ts";

const root = tempDirectory("local-store");
afterAll(removeTempDirectories);

objectStoreSuite("LocalObjectStore", async () => ({
  store: new LocalObjectStore({ root }),
  another: () => new LocalObjectStore({ root }),
  wrongCredentials: { gap: "a local directory has no credentials; file permissions guard it" },
}));

// Without fsync, small objects are written synchronously, into a blob made ahead of time.
const unsynced = tempDirectory("local-store-unsynced");
objectStoreSuite("LocalObjectStore without fsync", async () => ({
  store: new LocalObjectStore({ root: unsynced, fsync: false }),
  another: () => new LocalObjectStore({ root: unsynced, fsync: false }),
  wrongCredentials: { gap: "a local directory has no credentials; file permissions guard it" },
}));

test("without fsync, the blob made ahead for the next put is removed at close: every blob left holds an object", async () => {
  const directory = tempDirectory("local-store-spare");
  const store = new LocalObjectStore({ root: directory, fsync: false });
  for (let index = 0; index < 5; index++) {
    await store.put(`wal/${index}`, new TextEncoder().encode(`record ${index}`), { ifNoneMatch: "*" });
    await new Promise((resolve) => setTimeout(resolve, 5)); // the next blob is made meanwhile
  }
  await expect(store.put("wal/4", new Uint8Array(3), { ifNoneMatch: "*" })).rejects.toThrow("already exists");
  await store.delete("wal/0");
  await store.close();
  const blobs = readdirSync(join(directory, ".store", "blobs"));
  expect(blobs.length).toBe(4);
  const reopened = new LocalObjectStore({ root: directory, fsync: false });
  const listed = await reopened.list({ prefix: "wal/" });
  expect(listed.objects.map((object) => object.key)).toEqual(["wal/1", "wal/2", "wal/3", "wal/4"]);
  expect(new TextDecoder().decode((await reopened.get("wal/3")).body)).toBe("record 3");
  expect(listed.objects.map((object) => object.etag.replaceAll('"', "")).sort()).toEqual([...blobs].sort());
  await reopened.close();
});
