// What AcceleratedFS does beyond the shared suites: how core errors become Mastra's, paths that
// leave the workspace, symbolic links in walk and readdir, which files grep reads, the copy, move
// and rmdir rules taken from LocalFilesystem, expectedMtime against an mtime with a fraction of a
// millisecond, and how fresh a read-only reader is.

import { afterAll, describe, expect, test } from "bun:test";
import {
  FileExistsError,
  FileNotFoundError,
  FilesystemError,
  IsDirectoryError,
  NotDirectoryError,
  PermissionError,
  StaleFileError,
  UnsupportedGrepPatternError,
  Workspace,
  createWorkspaceTools,
  type FilesystemGrepOptions,
} from "@mastra/core/workspace";
import { FsError } from "../../src/core.ts";
import { removeTempDirectories } from "../support/temp.ts";
import { acceleratedSubjects, subjectRunner } from "./accelerated-subjects.ts";
import { rejectsWith } from "./workspace-filesystem-suite.ts";

afterAll(removeTempDirectories);

const withSubject = subjectRunner(acceleratedSubjects("mastra-semantics"));

const grepOptions = (options: Partial<FilesystemGrepOptions> & { pattern: string }): FilesystemGrepOptions => ({
  path: ".",
  caseSensitive: true,
  includeHidden: false,
  ...options,
});

describe("errors", () => {
  test("a mapped error keeps the core's FsError as its cause", () =>
    withSubject(async (fs) => {
      const error = await rejectsWith(fs.readFile("missing.txt"), FileNotFoundError);
      expect(error.cause).toBeInstanceOf(FsError);
      expect((error.cause as FsError).message).toBe("ENOENT: no such file or directory, open '/missing.txt'");
    }));

  test("a path through a file is NotDirectoryError (code ENOTDIR, which Mastra's grep treats as not found)", () =>
    withSubject(async (fs) => {
      await fs.writeFile("file.txt", "x");
      expect((await rejectsWith(fs.readFile("file.txt/inner"), NotDirectoryError)).code).toBe("ENOTDIR");
      await rejectsWith(fs.stat("file.txt/inner"), NotDirectoryError);
      await rejectsWith(fs.writeFile("file.txt/inner", "y"), NotDirectoryError);
      expect(await fs.exists("file.txt/inner")).toBe(false);
    }));

  test("writing onto a directory is IsDirectoryError", () =>
    withSubject(async (fs) => {
      await fs.mkdir("dir");
      await rejectsWith(fs.writeFile("dir", "x"), IsDirectoryError);
      await rejectsWith(fs.appendFile("dir", "x"), IsDirectoryError);
    }));

  test("a path that climbs above the root is PermissionError, as LocalFilesystem's containment, and exists() is false", () =>
    withSubject(async (fs) => {
      await rejectsWith(fs.readFile("../outside.txt"), PermissionError);
      await rejectsWith(fs.writeFile("a/../../outside.txt", "x"), PermissionError);
      expect(await fs.exists("../outside.txt")).toBe(false);
      expect(await fs.readFile("a/../b/../README", { encoding: "utf-8" }).catch((error: unknown) => error)).toBeInstanceOf(FileNotFoundError);
    }));

  test("an error Mastra has no class for stays a FilesystemError with the core's code (EINVAL for a NUL byte)", () =>
    withSubject(async (fs) => {
      const error = await rejectsWith(fs.readFile("bad\0name"), FilesystemError);
      expect(error.code).toBe("EINVAL");
    }));

  test("bad arguments are FilesystemError EINVAL in every method, and nothing is published (found by the API-misuse fuzzer)", () =>
    withSubject(async (fs) => {
      await fs.writeFile("kept.txt", "kept");
      const before = fs.filesystem.stats().seq;
      const invalid: [string, () => Promise<unknown>, string][] = [
        // a path that is not a string, a Symbol included (which no message may embed)
        ["writeFile(42)", () => fs.writeFile(42 as never, "x"), "must be a string"],
        ["writeFile(42) with options", () => fs.writeFile(42 as never, "x", { overwrite: false }), "must be a string"],
        ["appendFile(null)", () => fs.appendFile(null as never, "x"), "must be a string"],
        ["copyFile(Symbol())", () => fs.copyFile(Symbol("s") as never, "copy.txt"), "must be a string"],
        ["copyFile to {}", () => fs.copyFile("kept.txt", {} as never), "must be a string"],
        ["moveFile(42)", () => fs.moveFile(42 as never, "moved.txt"), "must be a string"],
        ["readRange(Symbol())", () => fs.readRange(Symbol("s") as never, Number.NaN, 1), "must be a string"],
        ["stat(Symbol())", () => fs.stat(Symbol("s") as never), "must be a string"],
        ["deleteFile({})", () => fs.deleteFile({} as never), "must be a string"],
        // expectedMtime that is not a valid Date
        ["expectedMtime: Invalid Date", () => fs.writeFile("kept.txt", "y", { expectedMtime: new Date(Number.NaN) }), "expectedMtime"],
        ["expectedMtime: a string", () => fs.writeFile("kept.txt", "y", { expectedMtime: "now" as never }), "expectedMtime"],
        // grep's counts are whole numbers >= 0
        ["grep maxCountPerFile 10n", () => fs.grep(grepOptions({ pattern: "k", maxCountPerFile: 10n as never })), "maxCountPerFile"],
        ["grep contextLines NaN", () => fs.grep(grepOptions({ pattern: "k", contextLines: Number.NaN })), "contextLines"],
        ["grep maxTotalMatches -1", () => fs.grep(grepOptions({ pattern: "k", maxTotalMatches: -1 })), "maxTotalMatches"],
        ["grep maxCountPerFile 1.5", () => fs.grep(grepOptions({ pattern: "k", maxCountPerFile: 1.5 })), "maxCountPerFile"],
      ];
      for (const [name, call, mentions] of invalid) {
        const error = await rejectsWith(call(), FilesystemError).catch((problem: Error) => {
          throw new Error(`${name}: ${problem.message}`);
        });
        expect([name, error.code]).toEqual([name, "EINVAL"]);
        expect([name, error.message.includes(mentions)]).toEqual([name, true]);
        expect(typeof error.path).toBe("string");
      }
      expect(fs.filesystem.stats().seq).toBe(before);
      expect(await fs.readFile("kept.txt", { encoding: "utf-8" })).toBe("kept");
      expect(await fs.exists(Symbol("s") as never)).toBe(false);
    }));
});

describe("symbolic links (made through the core)", () => {
  test("walk and readdir report a link with isSymlink, its target and the type it points at, without descending", () =>
    withSubject(async (fs) => {
      await fs.writeFile("real/inner.txt", "inner");
      await fs.filesystem.symlink("/real", "/link-to-dir");
      await fs.filesystem.symlink("real/inner.txt", "/link-to-file");
      await fs.filesystem.symlink("/nowhere", "/dangling");
      const walked = await fs.walk(".");
      expect(walked.map((entry) => entry.path)).toEqual(["dangling", "link-to-dir", "link-to-file", "real", "real/inner.txt"]);
      expect(walked.find((entry) => entry.path === "link-to-dir")).toEqual({ name: "link-to-dir", path: "link-to-dir", type: "directory", isSymlink: true, symlinkTarget: "/real" });
      expect(walked.find((entry) => entry.path === "link-to-file")).toMatchObject({ type: "file", isSymlink: true, symlinkTarget: "real/inner.txt" });
      expect(walked.find((entry) => entry.path === "dangling")).toMatchObject({ type: "file", isSymlink: true });
      const listed = await fs.readdir(".", { recursive: true });
      expect(listed.map((entry) => entry.name)).toEqual(["dangling", "link-to-dir", "link-to-file", "real", "real/inner.txt"]);
      // stat and reads follow links; stat().path is the path asked for.
      expect(await fs.stat("link-to-dir")).toMatchObject({ type: "directory", path: "link-to-dir" });
      expect(await fs.readFile("link-to-dir/inner.txt", { encoding: "utf-8" })).toBe("inner");
      expect(await fs.realpath("link-to-file")).toBe("real/inner.txt");
    }));

  test("grep searches a file through a link, and deleteFile removes the link, not its target", () =>
    withSubject(async (fs) => {
      await fs.writeFile("real/notes.md", "TODO linked\n");
      await fs.filesystem.symlink("/real/notes.md", "/alias.md");
      const results = await fs.grep(grepOptions({ pattern: "TODO" }));
      expect(results.map((result) => result.path).sort()).toEqual(["alias.md", "real/notes.md"]);
      await fs.deleteFile("alias.md");
      expect(await fs.exists("alias.md")).toBe(false);
      expect(await fs.exists("real/notes.md")).toBe(true);
    }));
});

describe("grep", () => {
  test("skips binary content and large files without a text extension, but searches dot-files and large text files", () =>
    withSubject(async (fs) => {
      await fs.writeFile(".env", "TODO=1\n");
      await fs.writeFile("blob.bin", Buffer.concat([Buffer.from("TODO binary\n"), Buffer.from([0, 1, 2])]));
      await fs.writeFile("data.parquet", `TODO ${"x".repeat(2 * 1024 * 1024)}\n`);
      await fs.writeFile("big.log", `${"filler line\n".repeat(200_000)}TODO at the end\n`);
      const results = await fs.grep(grepOptions({ pattern: "TODO", includeHidden: true }));
      expect(results.map((result) => result.path).sort()).toEqual([".env", "big.log"]);
      expect(results.find((result) => result.path === "big.log")?.matches[0]?.line).toBe(200_001);
    }));

  test("an invalid regex is UnsupportedGrepPatternError; a file as the root searches that file", () =>
    withSubject(async (fs) => {
      await fs.writeFile("src/a.ts", "one\nTODO two\n");
      await rejectsWith(fs.grep(grepOptions({ pattern: "(" })), UnsupportedGrepPatternError);
      expect(await fs.grep(grepOptions({ pattern: "TODO", path: "src/a.ts" }))).toEqual([{ path: "a.ts", matches: [{ line: 2, column: 0, text: "TODO two" }] }]);
      await rejectsWith(fs.grep(grepOptions({ pattern: "TODO", path: "missing" })), FileNotFoundError);
    }));

  test("a large file is streamed with the same matches and context as a whole-file search, across chunk boundaries", () =>
    withSubject(async (fs) => {
      // ~20 MiB of multi-byte text: the stream delivers it in 8 MiB windows, so a line and a UTF-8
      // sequence fall across the pieces.
      const lines = Array.from({ length: 600_000 }, (_, index) => (index % 4999 === 0 ? `é😀 TODO ${index}` : `ligne ${index} — ünïcødé filler`));
      const text = `${lines.join("\n")}\n`;
      expect(Buffer.byteLength(text)).toBeGreaterThan(16 * 1024 * 1024);
      await fs.writeFile("big.txt", text);
      const [result] = await fs.grep(grepOptions({ pattern: "TODO", contextLines: 2 }));
      const all = text.split("\n");
      const expected = all.flatMap((line, index) =>
        /TODO/.test(line) ? [{ line: index + 1, column: line.indexOf("TODO"), text: line, before: all.slice(Math.max(0, index - 2), index), after: all.slice(index + 1, index + 3) }] : [],
      );
      expect(result?.matches.length).toBe(expected.length);
      expect(result?.matches).toEqual(expected);
    }));

  test("a search that has its matches stops fetching a large file", () =>
    withSubject(async (fs, subject) => {
      const size = 40 * 1024 * 1024;
      await fs.writeFile("huge.log", `TODO first line\n${"x".repeat(size)}\n`);
      await fs.destroy();
      const reader = subject.open({ readOnly: true, maxStalenessMs: 3_600_000, cacheRoot: `${subject.directory}/cold` });
      await reader.init();
      const before = reader.filesystem.stats().requests.total.bytesIn;
      const [result] = await reader.grep(grepOptions({ pattern: "TODO", maxCountPerFile: 1 }));
      expect(result?.matches).toEqual([{ line: 1, column: 0, text: "TODO first line" }]);
      const fetched = reader.filesystem.stats().requests.total.bytesIn - before;
      expect(fetched).toBeLessThanOrEqual(16 * 1024 * 1024 + 4096); // the first 8 MiB window and the one read ahead, not 40 MiB
    }));

  test("maxTotalMatches stops the search early, in path order", () =>
    withSubject(async (fs) => {
      for (let index = 0; index < 30; index++) await fs.writeFile(`logs/${String(index).padStart(2, "0")}.txt`, "TODO\nTODO\n");
      const results = await fs.grep(grepOptions({ pattern: "TODO", maxTotalMatches: 5 }));
      expect(results.map((result) => `${result.path}:${result.matches.length}`)).toEqual(["logs/00.txt:2", "logs/01.txt:2", "logs/02.txt:1"]);
    }));
});

describe("writes with Mastra's rules", () => {
  test("expectedMtime is compared with exactly what stat() reports, even for an mtime with a fraction of a millisecond", () =>
    withSubject(async (fs) => {
      await fs.writeFile("file.txt", "v1");
      await fs.filesystem.utimes("/file.txt", 1_700_000_000.1234567, 1_700_000_000.1234567); // seconds, as Node takes them
      expect((await fs.filesystem.stat("/file.txt")).mtimeMs % 1).not.toBe(0); // the index keeps the fraction; a Date cannot
      const { modifiedAt } = await fs.stat("file.txt");
      await fs.writeFile("file.txt", "v2", { expectedMtime: modifiedAt });
      expect(await fs.readFile("file.txt", { encoding: "utf-8" })).toBe("v2");
      const error = await rejectsWith(fs.writeFile("file.txt", "v3", { expectedMtime: modifiedAt }), StaleFileError);
      expect(error.actualMtime.getTime()).toBe((await fs.stat("file.txt")).modifiedAt.getTime());
    }));

  test("copyFile of a directory with overwrite false copies what is missing and keeps what is there", () =>
    withSubject(async (fs) => {
      await fs.writeFile("from/a.txt", "new a");
      await fs.writeFile("from/sub/b.txt", "new b");
      await fs.writeFile("to/a.txt", "old a");
      await fs.copyFile("from", "to", { recursive: true, overwrite: false });
      expect(await fs.readFile("to/a.txt", { encoding: "utf-8" })).toBe("old a");
      expect(await fs.readFile("to/sub/b.txt", { encoding: "utf-8" })).toBe("new b");
      await fs.copyFile("from", "to", { recursive: true });
      expect(await fs.readFile("to/a.txt", { encoding: "utf-8" })).toBe("new a");
    }));

  test("moveFile moves a whole directory into a new parent in one commit", () =>
    withSubject(async (fs) => {
      await fs.writeFile("tree/a.txt", "a");
      await fs.writeFile("tree/sub/b.txt", "b");
      const before = fs.filesystem.stats().seq;
      await fs.moveFile("tree", "archive/2025/tree");
      expect(fs.filesystem.stats().seq).toBe(before + 1);
      expect(await fs.readFile("archive/2025/tree/sub/b.txt", { encoding: "utf-8" })).toBe("b");
      expect(await fs.exists("tree")).toBe(false);
    }));

  test("copyFile onto a directory is IsDirectoryError; a destination under a file is NotDirectoryError", () =>
    withSubject(async (fs) => {
      await fs.writeFile("a.txt", "a");
      await fs.mkdir("dir");
      await rejectsWith(fs.copyFile("a.txt", "dir"), IsDirectoryError);
      await rejectsWith(fs.copyFile("a.txt", "a.txt/b.txt"), NotDirectoryError);
      await fs.writeFile("b.txt", "b");
      expect((await rejectsWith(fs.copyFile("a.txt", "b.txt", { overwrite: false }), FileExistsError)).path).toBe("b.txt");
      expect((await rejectsWith(fs.moveFile("a.txt", "b.txt", { overwrite: false }), FileExistsError)).path).toBe("b.txt");
    }));

  test("rmdir of the root with recursive empties the workspace; without it, the root cannot be removed", () =>
    withSubject(async (fs) => {
      await rejectsWith(fs.rmdir("."), PermissionError);
      await fs.writeFile("a.txt", "a");
      await fs.writeFile("dir/b.txt", "b");
      await fs.rmdir("/", { recursive: true });
      expect(await fs.readdir(".")).toEqual([]);
      expect(await fs.exists(".")).toBe(true);
    }));
});

describe("a read-only reader beside the writer", () => {
  test("with the default maxStalenessMs it sees a new file within a second; refresh() catches up at once", () =>
    withSubject(async (fs, subject) => {
      const reader = subject.open({ readOnly: true });
      await reader.init();
      await fs.writeFile("late.txt", "late");
      expect(await reader.exists("late.txt")).toBe(false); // refreshed at mount, less than a second ago
      expect(await reader.refresh()).toMatchObject({ changed: true });
      expect(await reader.readFile("late.txt", { encoding: "utf-8" })).toBe("late");
      await fs.writeFile("later.txt", "later");
      await Bun.sleep(1050);
      expect(await reader.readFile("later.txt", { encoding: "utf-8" })).toBe("later");
    }));

  test("a fresh reader costs no request per read while its view is younger than maxStalenessMs", () =>
    withSubject(async (fs, subject) => {
      await fs.writeFile("a.txt", "a");
      const reader = subject.open({ readOnly: true, maxStalenessMs: 60_000 });
      await reader.init();
      await reader.readFile("a.txt");
      const before = reader.filesystem.stats().requests.total.requests;
      for (let index = 0; index < 5; index++) {
        await reader.stat("a.txt");
        await reader.readFile("a.txt");
        await reader.walk(".");
      }
      expect(reader.filesystem.stats().requests.total.requests).toBe(before);
    }));
});

describe("as a mount of Mastra's CompositeFilesystem (`new Workspace({ mounts })`)", () => {
  // CompositeFilesystem hands a mount paths relative to it, without a leading "/": "m.txt", "" for its root.
  test("the tools work under a mount path, and a read-only mount refuses writes with Composite's PermissionError", () =>
    withSubject(async (fs, subject) => {
      await fs.writeFile("docs/guide.md", "# Guide\nTODO explain\n");
      // Typed as a plain Workspace: the tools' context type does not carry the mounts' type parameter.
      const ws: Workspace = new Workspace({ mounts: { "/data": fs, "/archive": subject.readOnlyFs } }) as unknown as Workspace;
      await ws.init();
      const tools = await createWorkspaceTools(ws);
      const run = (tool: string, input: Record<string, unknown>) => tools[`mastra_workspace_${tool}`]!.execute(input, { workspace: ws });
      // respectGitignore: false works around Mastra's own "No mount for path: .gitignore" with mounts.
      expect(await run("list_files", { path: "/data", maxDepth: 3, respectGitignore: false })).toBe([".", "docs", "\tguide.md", "", "1 directory, 1 file"].join("\n"));
      expect(await run("write_file", { path: "/data/notes/new.md", content: "new" })).toBe("Wrote 3 bytes to /data/notes/new.md");
      expect(await fs.readFile("notes/new.md", { encoding: "utf-8" })).toBe("new");
      expect(String(await run("read_file", { path: "/archive/docs/guide.md" }))).toContain("2→TODO explain");
      await rejectsWith(run("write_file", { path: "/archive/x.md", content: "x" }), PermissionError);
      await ws.destroy();
    }));
});
