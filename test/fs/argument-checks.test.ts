// Options and arguments are bounded and checked (issue 14, item 13): a bad one fails its caller
// with an FsError whose code matches node:fs where node:fs has an answer, whose message names the
// argument, and nothing is published (zero PUTs; a fresh mount sees the prior state).
import { afterAll, describe, expect, test } from "bun:test";
import { S3CachedFsManagerImpl, LocalObjectStore, FsError, type MountConfig, type S3CachedFs } from "../../src/core.ts";
import { expectCode } from "../support/errors.ts";
import { removeTempDirectories, tempDirectory } from "../support/temp.ts";
import { testWorkspace, wipeCache } from "../support/mounts.ts";

afterAll(removeTempDirectories);

const GiB = 1024 ** 3;

describe("numeric options are bounded, naming the field", () => {
  const cases: [string, Partial<MountConfig>, string][] = [
    ["layout.chunkBytes = 2**40", { layout: { chunkBytes: 2 ** 40 } }, "layout.chunkBytes"],
    ["layout.blockBytes = 2**40", { layout: { blockBytes: 2 ** 40 } }, "layout.blockBytes"],
    ["layout.packBytes = 2**40", { layout: { packBytes: 2 ** 40 } }, "layout.packBytes"],
    ["layout.largeFileBytes = 2**40", { layout: { largeFileBytes: 2 ** 40 } }, "layout.largeFileBytes"],
    ["layout.inlineRecordBytes = 2**40", { layout: { inlineRecordBytes: 2 ** 40 } }, "layout.inlineRecordBytes"],
    ["upload buffers past 1 GiB (chunkBytes x uploadConcurrency)", { layout: { chunkBytes: 256 * 1024 ** 2, uploadConcurrency: 64 } }, "layout.uploadConcurrency"],
    ["maxRangeBytes = 2**40", { maxRangeBytes: 2 ** 40 }, "maxRangeBytes"],
    ["coalesceGapBytes = 2**40", { coalesceGapBytes: 2 ** 40 }, "coalesceGapBytes"],
    ["cacheBytes = 2**60 (not a safe integer)", { cacheBytes: 2 ** 60 }, "cacheBytes"],
    ["cacheBytes = NaN", { cacheBytes: Number.NaN }, "cacheBytes"],
    ["leaseTtlMs = 2**40 (past the longest timer)", { leaseTtlMs: 2 ** 40 }, "leaseTtlMs"],
    ["leaseWaitTimeoutMs = 2**31", { leaseWaitTimeoutMs: 2 ** 31 }, "leaseWaitTimeoutMs"],
    ["requestTimeoutMs = Infinity", { requestTimeoutMs: Number.POSITIVE_INFINITY }, "requestTimeoutMs"],
    ["refreshIntervalMs = 2**31", { mode: "readonly", refreshIntervalMs: 2 ** 31 }, "refreshIntervalMs"],
    ["refreshIntervalMs = -1", { refreshIntervalMs: -1 }, "refreshIntervalMs"],
    ["headDelayMs = 2**31", { headDelayMs: 2 ** 31 }, "headDelayMs"],
    ["snapshotEveryBytes = 2**60", { snapshotEveryBytes: 2 ** 60 }, "snapshotEveryBytes"],
    ["atSeq = 2**60", { mode: "readonly", atSeq: 2 ** 60 }, "atSeq"],
    ["maxRecordsInFlight = 0", { maxRecordsInFlight: 0 }, "maxRecordsInFlight"],
    ["maxRecordsInFlight = 65", { maxRecordsInFlight: 65 }, "maxRecordsInFlight"],
    ["lanes = \"yes\"", { lanes: "yes" as unknown as boolean }, "lanes"],
  ];
  test.each(cases)("%s is EINVAL before any store is made", async (_label, config, field) => {
    let factoryCalls = 0;
    const manager = new S3CachedFsManagerImpl({
      cacheRoot: tempDirectory("options"),
      storeFactory: () => {
        factoryCalls++;
        return new LocalObjectStore({ root: tempDirectory("options-store"), fsync: false });
      },
    });
    const error = await expectCode(manager.mount({ name: "bounded", ...config }), "EINVAL", { syscall: "mount" });
    expect(error).toBeInstanceOf(FsError);
    expect(error.message).toContain(field);
    expect(factoryCalls).toBe(0);
  });

  test("the manager's cacheBytes is bounded too", () => {
    expect(() => new S3CachedFsManagerImpl({ cacheRoot: tempDirectory("options"), cacheBytes: 2 ** 60 })).toThrow(/cacheBytes/);
  });

  test("the largest values allowed still mount and write a large file", async () => {
    const workspace = await testWorkspace("local", "bounds-ok");
    const fs = await workspace.mount({ layout: { chunkBytes: 256 * 1024 ** 2, uploadConcurrency: 4, packBytes: 256 * 1024 ** 2 }, cacheBytes: 2 * GiB, maxRangeBytes: 256 * 1024 ** 2 });
    await fs.writeFile("/big", new Uint8Array(5 * 1024 * 1024).fill(7));
    expect((await fs.stat("/big")).size).toBe(5 * 1024 * 1024);
    await fs.close();
  });
});

const aborted = () => {
  const controller = new AbortController();
  controller.abort();
  return controller.signal;
};

/** A small stream whose reading aborts the write's signal: the abort lands after the call started. */
function abortingStream(controller: AbortController): ReadableStream<Uint8Array> {
  let sent = false;
  return new ReadableStream<Uint8Array>({
    pull(stream) {
      if (sent) {
        stream.close();
        return;
      }
      sent = true;
      controller.abort();
      stream.enqueue(new TextEncoder().encode("late"));
    },
  });
}

const invalid: { name: string; code: string; mentions?: string; run: (fs: S3CachedFs) => Promise<unknown> }[] = [
  // stream(): options are checked, never silently an empty stream
  { name: "stream with start NaN", code: "EINVAL", mentions: "start", run: (fs) => fs.stream("/file.txt", { start: Number.NaN }) },
  { name: "stream with windowBytes NaN", code: "EINVAL", mentions: "windowBytes", run: (fs) => fs.stream("/file.txt", { windowBytes: Number.NaN }) },
  { name: "stream with end -5", code: "EINVAL", mentions: "end", run: (fs) => fs.stream("/file.txt", { end: -5 }) },
  { name: "stream with start after end", code: "EINVAL", mentions: "start", run: (fs) => fs.stream("/file.txt", { start: 4, end: 2 }) },
  { name: "stream with windowsAhead 0", code: "EINVAL", mentions: "windowsAhead", run: (fs) => fs.stream("/file.txt", { windowsAhead: 0 }) },
  // walk(): a depth is a whole number >= 0
  { name: "walk with maxDepth -1", code: "EINVAL", mentions: "maxDepth", run: (fs) => fs.walk("/", { maxDepth: -1 }) },
  { name: "walk with maxDepth NaN", code: "EINVAL", mentions: "maxDepth", run: (fs) => fs.walk("/", { maxDepth: Number.NaN }) },
  { name: "walk with maxDepth 1.5", code: "EINVAL", mentions: "maxDepth", run: (fs) => fs.walk("/", { maxDepth: 1.5 }) },
  // an already-aborted signal cancels a small write as it does a large one
  { name: "a small writeFile with an aborted signal", code: "ECANCELED", run: (fs) => fs.writeFile("/small.txt", "x", { signal: aborted() }) },
  { name: "a small appendFile with an aborted signal", code: "ECANCELED", run: (fs) => fs.appendFile("/file.txt", "more", { signal: aborted() }) },
  {
    name: "a small write whose signal aborts while its source is read",
    code: "ECANCELED",
    run: (fs) => {
      const controller = new AbortController();
      return fs.writeFile("/late.txt", abortingStream(controller), { signal: controller.signal });
    },
  },
  { name: "a small write in a transaction with an aborted signal", code: "ECANCELED", run: (fs) => fs.transaction((tx) => tx.writeFile("/tx.txt", "x", { signal: aborted() })) },
  // a trailing slash names a directory, as in node:fs
  { name: "writeFile of a new path with a trailing slash", code: "EISDIR", run: (fs) => fs.writeFile("/newfile/", "x") },
  { name: "writeFile of a file's path with a trailing slash", code: "EISDIR", run: (fs) => fs.writeFile("/file.txt/", "x") },
  // "x/." names x as a directory: node:fs refuses a file there with the error of resolving x as one
  { name: "writeFile at a file's path followed by /.", code: "ENOTDIR", run: (fs) => fs.writeFile("/file.txt/.", "x") },
  { name: "appendFile at a missing path followed by /.", code: "ENOENT", run: (fs) => fs.appendFile("/missing/.", "x") },
  { name: "writeFile at a directory's path followed by /.", code: "EISDIR", run: (fs) => fs.writeFile("/dir/.", "x") },
  { name: "openWrite with a mode out of range (refused at open, as node:fs does)", code: "EINVAL", run: (fs) => fs.openWrite("/new.txt", { mode: 2 ** 40 }) },
  { name: "appendFile of a new path with a trailing slash", code: "EISDIR", run: (fs) => fs.appendFile("/newfile/", "x") },
  { name: "openWrite of a new path with a trailing slash", code: "EISDIR", run: (fs) => fs.openWrite("/newfile/") },
  { name: "copyFile onto a new path with a trailing slash", code: "EISDIR", run: (fs) => fs.copyFile("/file.txt", "/new/") },
  { name: "copyFile from a file's path with a trailing slash", code: "ENOTDIR", run: (fs) => fs.copyFile("/file.txt/", "/new") },
  // node:fs opens the source first: its error wins over the destination's trailing slash (fuzzer seed 18)
  { name: "copyFile from below a file onto a directory's path with a trailing slash", code: "ENOTDIR", run: (fs) => fs.copyFile("/file.txt/x", "/dir/") },
  { name: "copyFile from a missing path onto a new path with a trailing slash", code: "ENOENT", run: (fs) => fs.copyFile("/missing", "/new/") },
  { name: "copyFile in a transaction from below a file onto a directory's path with a trailing slash", code: "ENOTDIR", run: (fs) => fs.transaction((tx) => tx.copyFile("/file.txt/x", "/dir/")) },
  // a lone surrogate is refused (EINVAL) even beside a destination name that is too long (fuzzer seed 3: the model wanted ENAMETOOLONG)
  { name: "copyFile from a lone surrogate onto a name over 255 bytes", code: "EINVAL", mentions: "surrogate", run: (fs) => fs.copyFile("/\uDFFF", `/${"é".repeat(128)}`) },
  { name: "rename of a file to a path with a trailing slash", code: "ENOTDIR", run: (fs) => fs.rename("/file.txt", "/g/") },
  // node:fs: the source's error first (fuzzer seed 49), and a file renamed to "dir/" is ENOTDIR (seed 54)
  { name: "rename of a missing path to a directory's path with a trailing slash", code: "ENOENT", run: (fs) => fs.rename("/missing", "/dir/") },
  { name: "rename of a missing path to a new path with a trailing slash", code: "ENOENT", run: (fs) => fs.rename("/missing", "/new/") },
  { name: "rename of a file to a directory's path with a trailing slash", code: "ENOTDIR", run: (fs) => fs.rename("/file.txt", "/dir/") },
  { name: "rm of a file's path with a trailing slash", code: "ENOTDIR", run: (fs) => fs.rm("/file.txt/") },
  { name: "chmod of a file's path with a trailing slash", code: "ENOTDIR", run: (fs) => fs.chmod("/file.txt/", 0o600) },
  { name: "symlink at a path with a trailing slash", code: "ENOENT", run: (fs) => fs.symlink("/file.txt", "/link/") },
  { name: "readFile of a file's path with a trailing slash", code: "ENOTDIR", run: (fs) => fs.readFile("/file.txt/") },
  { name: "stat of a file's path with a trailing slash", code: "ENOTDIR", run: (fs) => fs.stat("/file.txt/") },
  { name: "readdir of a file's path with a trailing slash", code: "ENOTDIR", run: (fs) => fs.readdir("/file.txt/") },
  // a file copied onto itself, a tree copied onto itself
  { name: "copyFile(a, a)", code: "EINVAL", mentions: "same file", run: (fs) => fs.copyFile("/file.txt", "/file.txt") },
  { name: "cp(a, a)", code: "EINVAL", mentions: "same file", run: (fs) => fs.cp("/file.txt", "/./file.txt") },
  // a lone UTF-16 surrogate would become U+FFFD, another name
  { name: "a lone surrogate in a written name", code: "EINVAL", mentions: "surrogate", run: (fs) => fs.writeFile("/lone-\uD800.txt", "x") },
  { name: "a lone surrogate in a read name", code: "EINVAL", mentions: "surrogate", run: (fs) => fs.readFile("/lone-\uDC00.txt") },
  { name: "a lone surrogate in a symlink's target", code: "EINVAL", mentions: "surrogate", run: (fs) => fs.symlink("/t-\uD800", "/link") },
  // a Symbol as a path or a number: refused, never converted to a string in the message
  { name: "readRange of a Symbol path with NaN offset", code: "EINVAL", mentions: "offset", run: (fs) => fs.readRange(Symbol("path") as never, Number.NaN, 1) },
  { name: "readRange with a Symbol offset", code: "EINVAL", mentions: "offset", run: (fs) => fs.readRange("/file.txt", Symbol("offset") as never, 1) },
  { name: "readFile of a Symbol path", code: "EINVAL", mentions: "must be a string", run: (fs) => fs.readFile(Symbol("path") as never) },
  // maintenance options are whole numbers (found by the API-misuse fuzzer: NaN, negatives, strings and BigInts were taken)
  { name: "history with limit NaN", code: "EINVAL", mentions: "limit", run: (fs) => fs.history({ limit: Number.NaN }) },
  { name: "history with limit -1", code: "EINVAL", mentions: "limit", run: (fs) => fs.history({ limit: -1 }) },
  { name: "history with before 10n", code: "EINVAL", mentions: "before", run: (fs) => fs.history({ before: 10n as never }) },
  { name: "history with before a string", code: "EINVAL", mentions: "before", run: (fs) => fs.history({ before: "3" as never }) },
  { name: "fsck with concurrency 0", code: "EINVAL", mentions: "concurrency", run: (fs) => fs.fsck({ concurrency: 0 }) },
  { name: "fsck with concurrency 1.5", code: "EINVAL", mentions: "concurrency", run: (fs) => fs.fsck({ concurrency: 1.5 }) },
  { name: "fsck with concurrency 10n", code: "EINVAL", mentions: "concurrency", run: (fs) => fs.fsck({ concurrency: 10n as never }) },
  { name: "collectGarbage with graceMs NaN", code: "EINVAL", mentions: "graceMs", run: (fs) => fs.collectGarbage({ retentionMs: 0, graceMs: Number.NaN }) },
  { name: "collectGarbage with retentionMs 10n", code: "EINVAL", mentions: "retentionMs", run: (fs) => fs.collectGarbage({ retentionMs: 10n as never, graceMs: 0 }) },
  { name: "collectGarbage with maxCompactBytes -1", code: "EINVAL", mentions: "maxCompactBytes", run: (fs) => fs.collectGarbage({ retentionMs: 0, graceMs: 0, maxCompactBytes: -1 }) },
  { name: "collectGarbage with deleteConcurrency 0.5", code: "EINVAL", mentions: "deleteConcurrency", run: (fs) => fs.collectGarbage({ retentionMs: 0, graceMs: 0, deleteConcurrency: 0.5 }) },
  { name: "collectGarbage with deleteConcurrency an object", code: "EINVAL", mentions: "deleteConcurrency", run: (fs) => fs.collectGarbage({ retentionMs: 0, graceMs: 0, deleteConcurrency: {} as never }) },
  { name: "collectGarbage with compactBelow 2", code: "EINVAL", mentions: "compactBelow", run: (fs) => fs.collectGarbage({ retentionMs: 0, graceMs: 0, compactBelow: 2 }) },
];

describe("bad arguments fail clearly and publish nothing", () => {
  test.each(invalid.map((entry) => [entry.name, entry] as const))("%s", async (_name, entry) => {
    const workspace = await testWorkspace("local", "arguments");
    const fs = await workspace.mount();
    await fs.writeFile("/file.txt", "content");
    await fs.writeFile("/dir/deep.txt", "deep");
    await fs.writeFile("/\uFFFD.txt", "replacement character");
    const before = fs.stats();
    const error = await expectCode(entry.run(fs), entry.code);
    expect(error).toBeInstanceOf(FsError);
    expect(error.message.startsWith(`${entry.code}: `)).toBe(true);
    if (entry.mentions !== undefined) expect(error.message).toContain(entry.mentions);
    const after = fs.stats();
    expect(after.requests.put.requests - before.requests.put.requests).toBe(0);
    expect(after.seq).toBe(before.seq);
    await fs.close();
    wipeCache(workspace.cacheRoot);
    const fresh = await workspace.mount({ mode: "readonly" });
    expect((await fresh.readdir("/")).sort()).toEqual(["dir", "file.txt", "\uFFFD.txt"]);
    expect(await fresh.readText("/file.txt")).toBe("content");
    expect(await fresh.readText("/\uFFFD.txt")).toBe("replacement character");
    expect(await fresh.readdir("/dir")).toEqual(["deep.txt"]);
    await fresh.close();
  });

  test("a trailing slash on a directory still works, and exists() of a file's path with one is false", async () => {
    const workspace = await testWorkspace("local", "arguments-ok");
    const fs = await workspace.mount();
    await fs.writeFile("/file.txt", "content");
    await fs.mkdir("/made/");
    expect(await fs.readdir("/made/")).toEqual([]);
    expect((await fs.stat("/made/")).isDirectory()).toBe(true);
    await fs.writeFile("/made/inner.txt", "x");
    await fs.rename("/made/", "/moved/");
    expect(await fs.readdir("/moved/")).toEqual(["inner.txt"]);
    expect(await fs.exists("/file.txt/")).toBe(false);
    expect(await fs.exists("/moved/")).toBe(true);
    await fs.close();
  });

  test("walk's maxDepth counts the children as depth 1; 0 lists nothing", async () => {
    const workspace = await testWorkspace("local", "arguments-walk");
    const fs = await workspace.mount();
    await fs.writeFile("/a/b/c.txt", "x");
    expect(await fs.walk("/", { maxDepth: 0 })).toEqual([]);
    expect((await fs.walk("/", { maxDepth: 1 })).map((entry) => entry.path)).toEqual(["a"]);
    expect((await fs.walk("/", { maxDepth: Number.POSITIVE_INFINITY })).map((entry) => entry.path)).toEqual(["a", "a/b", "a/b/c.txt"]);
    await fs.close();
  });
});
