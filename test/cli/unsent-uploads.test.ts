// The store under the command line's writer: what a command stopped by a signal may remove, and
// that it sends no commit record once it began removing (a record naming removed data would be a
// commit whose bytes are gone).
import { afterAll, expect, test } from "bun:test";
import { LocalObjectStore } from "../../src/core.ts";
import { UnsentUploads } from "../../src/cli.ts";
import { listAll } from "../../src/stores/object-store.ts";
import { removeTempDirectories, tempDirectory } from "../support/temp.ts";

afterAll(removeTempDirectories);

const keys = async (store: LocalObjectStore) => (await Array.fromAsync(listAll(store, {}))).map((object) => object.key).sort();

test("abandon removes the data uploaded since the last record, keeps what a record may name, and refuses any record after it", async () => {
  const raw = new LocalObjectStore({ root: tempDirectory("unsent-uploads"), fsync: false });
  const store = new UnsentUploads(raw);
  const bytes = new Uint8Array([1, 2, 3]);
  await store.put("chunks/before", bytes);
  await store.put("wal/00000000000000000001", bytes, { ifNoneMatch: "*" }); // may name chunks/before
  await store.put("chunks/after", bytes);
  await store.put("packs/after", bytes);
  await store.put("heads/main.json", bytes); // not data: never removed
  expect(await store.abandon()).toBe(2);
  expect(await keys(raw)).toEqual(["chunks/before", "heads/main.json", "wal/00000000000000000001"]);
  const refused = await store.put("wal/00000000000000000002", bytes, { ifNoneMatch: "*" }).catch((error: unknown) => error);
  expect(String(refused)).toContain("ECANCELED");
  expect(await keys(raw)).not.toContain("wal/00000000000000000002");
});
