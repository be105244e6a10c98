// The collections a read stream asks for, counted on a real mount: JavaScriptCore's full
// collection is replaced by a counter (the rule itself is tested in large-files.test.ts). A stream
// whose windows cannot take it past its footprint asks for none, whatever the heap does meanwhile;
// a longer one asks for one at its start and one per 48 MiB of windows read past, but none that
// the rest of the stream cannot need.
import { afterAll, expect, mock, test } from "bun:test";
import * as jsc from "bun:jsc";

let collections = 0;
const realFullGC = jsc.fullGC;
mock.module("bun:jsc", () => ({ ...jsc, fullGC: () => ((collections += 1), 0) }));

const { removeTempDirectories } = await import("../support/temp.ts");
const { testWorkspace } = await import("../support/mounts.ts");

afterAll(() => {
  mock.module("bun:jsc", () => ({ ...jsc, fullGC: realFullGC })); // for the test files after this one
  removeTempDirectories();
});

const MiB = 1024 * 1024;

test("a 64 MiB stream asks for no collection, a 120 MiB one for one at its start and one as it goes", async () => {
  const workspace = await testWorkspace("local", "stream-collections");
  const writer = await workspace.mount();
  const body = new Uint8Array(120 * MiB);
  for (let index = 0; index < body.length; index += 4096) body[index] = index % 251;
  await writer.writeFile("/small.bin", body.subarray(0, 64 * MiB));
  await writer.writeFile("/large.bin", body);
  await writer.close();
  // A cold mount whose cache the files pass by, as the benchmark's and the large-file test's do.
  const fs = await workspace.mount({ cacheBytes: 64 * MiB }, { cacheRoot: workspace.freshCacheRoot() });
  const read = async (path: string) => {
    collections = 0;
    let bytes = 0;
    for await (const piece of await fs.stream(path)) bytes += piece.byteLength;
    await new Promise((resolve) => setTimeout(resolve, 10)); // the start task has run
    return { bytes, collections };
  };
  expect(await read("/small.bin")).toEqual({ bytes: 64 * MiB, collections: 0 });
  // 15 windows of 8 MiB: at the start, then at the 7th (48 MiB read past, 64 MiB to come); at the
  // 13th, 48 MiB read past again but 24 MiB to come: none.
  expect(await read("/large.bin")).toEqual({ bytes: 120 * MiB, collections: 2 });
  await fs.close();
}, 120_000);
