// The extras AcceleratedFS offers beyond WorkspaceFilesystem: transaction (Mastra's methods and
// rules, one commit), readRange, materialize, refresh, and the underlying S3CachedFs.

import { afterAll, describe, expect, test } from "bun:test";
import { FileExistsError, FilesystemNotReadyError, StaleFileError, WorkspaceReadOnlyError } from "@mastra/core/workspace";
import { removeTempDirectories } from "../support/temp.ts";
import { acceleratedSubjects, subjectRunner } from "./accelerated-subjects.ts";
import { rejectsWith } from "./workspace-filesystem-suite.ts";

afterAll(removeTempDirectories);

const subjects = acceleratedSubjects("mastra-extras");
const withSubject = subjectRunner(subjects);

describe("transaction", () => {
  test("publishes all its writes in one commit, and its reads see its own writes", () =>
    withSubject(async (fs) => {
      const before = fs.filesystem.stats().seq;
      const listed = await fs.transaction(async (tx) => {
        for (let index = 0; index < 50; index++) await tx.writeFile(`shards/${index}.json`, JSON.stringify({ index }));
        await tx.moveFile("shards/0.json", "first/0.json");
        expect(await tx.readFile("shards/7.json", { encoding: "utf-8" })).toBe('{"index":7}');
        expect(await fs.exists("shards/7.json")).toBe(false); // not published yet
        return tx.readdir("shards");
      });
      expect(listed.length).toBe(49);
      expect(fs.filesystem.stats().seq).toBe(before + 1);
      expect((await fs.readdir("shards")).length).toBe(49);
      expect(await fs.readFile("first/0.json", { encoding: "utf-8" })).toBe('{"index":0}');
      const walked = await fs.transaction(async (tx) => tx.walk("."));
      expect(walked.length).toBe(52);
    }));

  test("publishes nothing if the body throws, and applies Mastra's rules (overwrite, expectedMtime) inside", () =>
    withSubject(async (fs) => {
      await fs.writeFile("keep.txt", "original");
      const { modifiedAt } = await fs.stat("keep.txt");
      await rejectsWith(
        fs.transaction(async (tx) => {
          await tx.writeFile("new.txt", "new");
          await tx.writeFile("keep.txt", "second", { overwrite: false });
        }),
        FileExistsError,
      );
      expect(await fs.exists("new.txt")).toBe(false);
      await fs.writeFile("keep.txt", "changed elsewhere");
      await rejectsWith(
        fs.transaction(async (tx) => tx.writeFile("keep.txt", "mine", { expectedMtime: new Date(modifiedAt.getTime() - 1) })),
        StaleFileError,
      );
      expect(await fs.readFile("keep.txt", { encoding: "utf-8" })).toBe("changed elsewhere");
    }));

  test("grep inside a transaction searches its own unpublished files", () =>
    withSubject(async (fs) => {
      await fs.writeFile("old.md", "TODO published\n");
      const found = await fs.transaction(async (tx) => {
        await tx.writeFile("draft.md", "TODO draft\n");
        return tx.grep({ pattern: "TODO", path: ".", caseSensitive: true, includeHidden: false });
      });
      expect(found.map((result) => result.path)).toEqual(["draft.md", "old.md"]);
    }));

  test("a read-only filesystem refuses a transaction", () =>
    withSubject(async (_fs, subject) => {
      await rejectsWith(subject.readOnlyFs.transaction(async () => undefined), WorkspaceReadOnlyError);
    }));
});

describe("ranges, local files, refresh", () => {
  test("readRange returns the bytes asked for, cut at the end of the file", () =>
    withSubject(async (fs) => {
      await fs.writeFile("data.bin", Buffer.from("0123456789"));
      expect(Buffer.from(await fs.readRange("/data.bin", 2, 3)).toString()).toBe("234");
      expect(Buffer.from(await fs.readRange("data.bin", 8, 100)).toString()).toBe("89");
    }));

  test("materialize gives a real local file with the bytes, released back to the cache", () =>
    withSubject(async (fs) => {
      await fs.writeFile("report.csv", "a,b\n1,2\n");
      const local = await fs.materialize("report.csv");
      expect(await Bun.file(local.path).text()).toBe("a,b\n1,2\n");
      expect(fs.filesystem.stats().cache.pinnedBytes).toBe(8);
      await local.release();
      expect(fs.filesystem.stats().cache.pinnedBytes).toBe(0);
    }));

  test("refresh on a shared writer (the default) reads the log's end once; on an exclusive writer it needs no request", () =>
    withSubject(async (fs, subject) => {
      await fs.writeFile("a.txt", "a");
      let before = fs.filesystem.stats().requests.total.requests;
      expect(await fs.refresh()).toEqual({ seq: fs.filesystem.stats().seq, changed: false });
      expect(fs.filesystem.stats().requests.total.requests - before).toBe(1); // one GET of the empty next slot
      await fs.destroy();
      const exclusive = subject.open({ exclusive: true });
      await exclusive.init();
      await exclusive.writeFile("b.txt", "b");
      before = exclusive.filesystem.stats().requests.total.requests;
      expect(await exclusive.refresh()).toEqual({ seq: exclusive.filesystem.stats().seq, changed: false });
      expect(exclusive.filesystem.stats().requests.total.requests).toBe(before);
      await exclusive.destroy();
    }));

  test("the underlying S3CachedFs is reachable after init, and FilesystemNotReadyError before", async () => {
    const subject = await subjects();
    try {
      expect(() => subject.fs.filesystem).toThrow(FilesystemNotReadyError);
      await subject.fs.init();
      expect(subject.fs.filesystem.mode).toBe("readwrite");
      expect(await subject.fs.filesystem.exists("/")).toBe(true);
    } finally {
      await subject.cleanup();
    }
  });
});
