// A conformance suite for Mastra's `WorkspaceFilesystem` interface (@mastra/core 1.71), generic over the
// filesystem under test. It ports the expectations of Mastra's private `@internal/workspace-test-utils`
// suite (as its interface documents them) to bun:test, and adds the contract the
// workspace tools rely on (expectedMtime, path forms, walk, grep).
//
// It is validated against Mastra's own `LocalFilesystem` in local-filesystem-reference.test.ts. Where
// that installed class behaves differently from that suite's expectations, the installed package wins and the
// difference is noted next to the test ("Installed behaviour:").
//
// A filesystem that cannot do something declares it in `capabilities` as `{ notApplicable: reason }`:
// the case is then still registered, under a title that says so, and checks what it can (for example
// that an fs declared without `walk` really has none). Nothing is skipped silently.

import { describe, expect, test } from "bun:test";
import {
  DirectoryNotEmptyError,
  DirectoryNotFoundError,
  FileExistsError,
  FileNotFoundError,
  FilesystemError,
  IsDirectoryError,
  NotDirectoryError,
  PermissionError,
  StaleFileError,
  WorkspaceReadOnlyError,
  callLifecycle,
  type FilesystemGrepOptions,
  type FilesystemGrepResult,
  type WalkEntry,
  type WorkspaceFilesystem,
} from "@mastra/core/workspace";

/** `true`: the filesystem must pass the case. `{ notApplicable }`: it declares, with a reason, that it cannot. */
export type Capability = true | { notApplicable: string };

export interface WorkspaceFilesystemCapabilities {
  /** `walk()` is implemented (default: required). */
  walk?: Capability;
  /** `grep()` is implemented (default: required). */
  grep?: Capability;
  /** The factory returns a `readOnlyFs` on the same storage (default: required). */
  readOnly?: Capability;
  /**
   * Pin the class a read-only fs throws on writes. Unset: either of Mastra's two read-only signals is
   * accepted. Installed behaviour: `LocalFilesystem` throws `WorkspaceReadOnlyError` (a `WorkspaceError`,
   * code READ_ONLY, NOT a `FilesystemError`); `CompositeFilesystem` throws `PermissionError` (EACCES) for
   * a read-only mount. Mastra's private suite expects `PermissionError`.
   */
  readOnlyError?: "PermissionError" | "WorkspaceReadOnlyError";
  /** An empty directory exists on its own after `mkdir` (default: required; S3 without markers cannot). */
  emptyDirectories?: Capability;
  /** `deleteFile` of a missing path without `force` throws FileNotFoundError (default: required). */
  deleteThrowsOnMissing?: Capability;
  /** A leading "/" names the workspace root: "/src" is "src", "/" is "." (default: required). */
  rootedPaths?: Capability;
  /** A plain `fs.init()` (not `_init()`) leaves `status === 'ready'` (default: required). */
  plainInitSetsReady?: Capability;
}

export interface WorkspaceFilesystemSubject {
  /** A fresh, empty filesystem (not yet initialised). */
  fs: WorkspaceFilesystem;
  /** A read-only view of the same storage as `fs` (not yet initialised). */
  readOnlyFs?: WorkspaceFilesystem;
  cleanup?: () => Promise<void>;
}

type ErrorClass = abstract new (...args: never[]) => Error;

/** Awaits a promise that must reject with `errorClass`, and returns the error for further checks. */
export async function rejectsWith<E extends ErrorClass>(
  promise: Promise<unknown>,
  errorClass: E,
): Promise<InstanceType<E>> {
  let outcome: { error: unknown } | undefined;
  try {
    await promise;
  } catch (error) {
    outcome = { error };
  }
  if (!outcome) throw new Error(`expected a ${errorClass.name}, but the call resolved`);
  const { error } = outcome;
  if (!(error instanceof errorClass)) {
    const got = error instanceof Error ? `${error.constructor.name}: ${error.message}` : String(error);
    throw new Error(`expected a ${errorClass.name}, got ${got}`);
  }
  return error as InstanceType<E>;
}

const utf8 = (value: string | Buffer) => (typeof value === "string" ? value : value.toString("utf-8"));
const strip = (path: string) => path.replace(/^\/+/, "");
const sortedNames = (entries: { name: string }[]) => entries.map((entry) => entry.name).sort();

/** Registers `title` as a real case, or as a declared-not-applicable case that runs `whenNotApplicable`. */
function caseFor(
  capability: Capability | undefined,
  title: string,
  body: () => Promise<void>,
  whenNotApplicable?: () => Promise<void>,
): void {
  if (capability === undefined || capability === true) {
    test(title, body);
    return;
  }
  const reason = capability.notApplicable;
  test(`${title} (declared not applicable: ${reason})`, async () => {
    expect(reason.trim().length).toBeGreaterThan(0);
    await whenNotApplicable?.();
  });
}

export function workspaceFilesystemSuite(
  name: string,
  make: () => Promise<WorkspaceFilesystemSubject>,
  capabilities: WorkspaceFilesystemCapabilities = {},
): void {
  /** Runs `body` on a fresh filesystem initialised the way `Workspace.init()` does, then cleans up. */
  async function withFs(
    body: (fs: WorkspaceFilesystem, subject: WorkspaceFilesystemSubject) => Promise<void>,
    options: { init?: boolean } = {},
  ): Promise<void> {
    const subject = await make();
    try {
      if (options.init !== false) await callLifecycle(subject.fs, "init");
      await body(subject.fs, subject);
    } finally {
      await subject.cleanup?.();
    }
  }
  const on = (body: (fs: WorkspaceFilesystem, subject: WorkspaceFilesystemSubject) => Promise<void>) => () =>
    withFs(body);

  describe(`WorkspaceFilesystem conformance: ${name}`, () => {
    describe("lifecycle", () => {
      test("status is 'ready' after Mastra's lifecycle init (what Workspace.init() calls)", () =>
        withFs(
          async (fs) => {
            await callLifecycle(fs, "init");
            expect(fs.status).toBe("ready");
            expect(typeof fs.id).toBe("string");
            expect(fs.id.length).toBeGreaterThan(0);
            expect(typeof fs.name).toBe("string");
            expect(typeof fs.provider).toBe("string");
          },
          { init: false },
        ));

      // Mastra's private suite calls a plain `fs.init()` and expects 'ready'.
      // Installed behaviour: LocalFilesystem (any MastraFilesystem subclass) stays 'pending' after a
      // plain init(); only `_init()` (what callLifecycle and ensureReady() use) sets 'ready'.
      caseFor(capabilities.plainInitSetsReady, "status is 'ready' after a plain fs.init()", () =>
        withFs(
          async (fs) => {
            await fs.init?.();
            expect(fs.status).toBe("ready");
          },
          { init: false },
        ),
      );
    });

    describe("errors", () => {
      test(
        "readFile of a missing file throws FileNotFoundError (code ENOENT)",
        on(async (fs) => {
          const error = await rejectsWith(fs.readFile("missing.txt"), FileNotFoundError);
          expect(error.code).toBe("ENOENT");
          await rejectsWith(fs.readFile("no/such/dir/missing.txt", { encoding: "utf-8" }), FileNotFoundError);
        }),
      );

      caseFor(
        capabilities.deleteThrowsOnMissing,
        "deleteFile of a missing file without force throws FileNotFoundError",
        on(async (fs) => {
          await rejectsWith(fs.deleteFile("missing.txt"), FileNotFoundError);
        }),
        // The declared alternative (S3's): deleting a missing file is a no-op.
        () => withFs(async (fs) => void (await fs.deleteFile("missing.txt"))),
      );

      test(
        "deleteFile of a missing file with force resolves",
        on(async (fs) => {
          await fs.deleteFile("missing.txt", { force: true });
          expect(await fs.exists("missing.txt")).toBe(false);
        }),
      );

      test(
        "copyFile and moveFile from a missing source throw FileNotFoundError and create nothing",
        on(async (fs) => {
          await rejectsWith(fs.copyFile("missing.txt", "copy.txt"), FileNotFoundError);
          await rejectsWith(fs.moveFile("missing.txt", "moved.txt"), FileNotFoundError);
          expect(await fs.exists("copy.txt")).toBe(false);
          expect(await fs.exists("moved.txt")).toBe(false);
        }),
      );

      test(
        "stat of a missing path throws FileNotFoundError, and exists is false",
        on(async (fs) => {
          await rejectsWith(fs.stat("missing.txt"), FileNotFoundError);
          await rejectsWith(fs.stat("missing/dir"), FileNotFoundError);
          expect(await fs.exists("missing.txt")).toBe(false);
        }),
      );

      // Mastra's private suite only says "throws"; @mastra/s3 throws a plain Error. The interface documents
      // DirectoryNotEmptyError, and that is what LocalFilesystem throws.
      test(
        "rmdir of a non-empty directory without recursive throws DirectoryNotEmptyError and removes nothing",
        on(async (fs) => {
          await fs.writeFile("dir/keep.txt", "keep");
          const error = await rejectsWith(fs.rmdir("dir"), DirectoryNotEmptyError);
          expect(error.code).toBe("ENOTEMPTY");
          expect(utf8(await fs.readFile("dir/keep.txt", { encoding: "utf-8" }))).toBe("keep");
        }),
      );

      test(
        "readFile of a directory throws IsDirectoryError",
        on(async (fs) => {
          await fs.writeFile("dir/inner.txt", "x");
          const error = await rejectsWith(fs.readFile("dir"), IsDirectoryError);
          expect(error.code).toBe("EISDIR");
        }),
      );

      test(
        "deleteFile of a directory throws IsDirectoryError and keeps its contents",
        on(async (fs) => {
          await fs.writeFile("dir/inner.txt", "x");
          await rejectsWith(fs.deleteFile("dir"), IsDirectoryError);
          expect(await fs.exists("dir/inner.txt")).toBe(true);
        }),
      );

      test(
        "readdir of a file throws NotDirectoryError, and of a missing path DirectoryNotFoundError",
        on(async (fs) => {
          await fs.writeFile("file.txt", "x");
          await rejectsWith(fs.readdir("file.txt"), NotDirectoryError);
          await rejectsWith(fs.readdir("missing"), DirectoryNotFoundError);
        }),
      );

      test(
        "rmdir of a file throws NotDirectoryError; of a missing path DirectoryNotFoundError unless force",
        on(async (fs) => {
          await fs.writeFile("file.txt", "x");
          await rejectsWith(fs.rmdir("file.txt"), NotDirectoryError);
          await rejectsWith(fs.rmdir("missing"), DirectoryNotFoundError);
          await fs.rmdir("missing", { force: true });
          expect(await fs.exists("file.txt")).toBe(true);
        }),
      );

      test(
        "mkdir over an existing file throws FileExistsError",
        on(async (fs) => {
          await fs.writeFile("file.txt", "x");
          await rejectsWith(fs.mkdir("file.txt"), FileExistsError);
          expect(utf8(await fs.readFile("file.txt", { encoding: "utf-8" }))).toBe("x");
        }),
      );

      test(
        "all these errors are FilesystemErrors carrying the path they were given",
        on(async (fs) => {
          const error = await rejectsWith(fs.readFile("some/missing.txt"), FilesystemError);
          expect(error.path).toBe("some/missing.txt");
        }),
      );
    });

    describe("read-only", () => {
      async function withReadOnly(body: (fs: WorkspaceFilesystem, readOnlyFs: WorkspaceFilesystem) => Promise<void>) {
        await withFs(async (fs, subject) => {
          const readOnlyFs = subject.readOnlyFs;
          if (!readOnlyFs) {
            throw new Error("the factory returned no readOnlyFs; declare capabilities.readOnly = { notApplicable }");
          }
          await callLifecycle(readOnlyFs, "init");
          await body(fs, readOnlyFs);
        });
      }
      async function refused(promise: Promise<unknown>) {
        const pinned = capabilities.readOnlyError;
        if (pinned === "PermissionError") return rejectsWith(promise, PermissionError);
        if (pinned === "WorkspaceReadOnlyError") return rejectsWith(promise, WorkspaceReadOnlyError);
        let caught: unknown;
        await promise.catch((error: unknown) => (caught = error));
        expect(caught instanceof PermissionError || caught instanceof WorkspaceReadOnlyError).toBe(true);
        return caught;
      }

      caseFor(capabilities.readOnly, "a read-only filesystem refuses writeFile and deleteFile and changes nothing", () =>
        withReadOnly(async (fs, readOnlyFs) => {
          await fs.writeFile("existing.txt", "original");
          expect(readOnlyFs.readOnly).toBe(true);
          await refused(readOnlyFs.writeFile("new.txt", "x"));
          await refused(readOnlyFs.writeFile("existing.txt", "overwritten"));
          await refused(readOnlyFs.deleteFile("existing.txt"));
          expect(await fs.exists("new.txt")).toBe(false);
          expect(utf8(await fs.readFile("existing.txt", { encoding: "utf-8" }))).toBe("original");
        }),
      );

      caseFor(
        capabilities.readOnly,
        "a read-only filesystem also refuses appendFile, mkdir, rmdir, copyFile and moveFile",
        () =>
          withReadOnly(async (fs, readOnlyFs) => {
            await fs.writeFile("dir/existing.txt", "original");
            await refused(readOnlyFs.appendFile("dir/existing.txt", "more"));
            await refused(readOnlyFs.mkdir("newdir"));
            await refused(readOnlyFs.rmdir("dir", { recursive: true }));
            await refused(readOnlyFs.copyFile("dir/existing.txt", "copy.txt"));
            await refused(readOnlyFs.moveFile("dir/existing.txt", "moved.txt"));
            expect(utf8(await fs.readFile("dir/existing.txt", { encoding: "utf-8" }))).toBe("original");
            expect(await fs.exists("newdir")).toBe(false);
            expect(await fs.exists("copy.txt")).toBe(false);
            expect(await fs.exists("moved.txt")).toBe(false);
          }),
      );

      caseFor(capabilities.readOnly, "a read-only filesystem still reads, lists and stats", () =>
        withReadOnly(async (fs, readOnlyFs) => {
          await fs.writeFile("dir/file.txt", "content");
          expect(utf8(await readOnlyFs.readFile("dir/file.txt", { encoding: "utf-8" }))).toBe("content");
          expect(sortedNames(await readOnlyFs.readdir("dir"))).toEqual(["file.txt"]);
          expect((await readOnlyFs.stat("dir/file.txt")).size).toBe(7);
          expect(await readOnlyFs.exists("dir/file.txt")).toBe(true);
        }),
      );
    });

    describe("directories", () => {
      caseFor(
        capabilities.emptyDirectories,
        "mkdir creates a directory that exists, stats as a directory and readdirs to []",
        on(async (fs) => {
          await fs.mkdir("empty");
          expect(await fs.exists("empty")).toBe(true);
          const stat = await fs.stat("empty");
          expect(stat.type).toBe("directory");
          expect(stat.name).toBe("empty");
          expect(await fs.readdir("empty")).toEqual([]);
          expect(await fs.readdir(".")).toEqual([expect.objectContaining({ name: "empty", type: "directory" })]);
        }),
      );

      // Mastra's private suite: "mkdir(p) without recursive works with a missing parent". Installed behaviour:
      // that holds because `recursive` defaults to true; an explicit `recursive: false` with a missing parent
      // throws DirectoryNotFoundError (naming the parent).
      caseFor(
        capabilities.emptyDirectories,
        "mkdir with no options creates missing parents, and is a no-op on an existing directory",
        on(async (fs) => {
          await fs.mkdir("a/b/c");
          expect((await fs.stat("a/b/c")).type).toBe("directory");
          expect((await fs.stat("a/b")).type).toBe("directory");
          await fs.mkdir("a/b/c");
          await fs.mkdir("a/b/c", { recursive: false });
          expect(await fs.readdir("a/b/c")).toEqual([]);
        }),
      );

      test(
        "mkdir with recursive false and a missing parent throws DirectoryNotFoundError",
        on(async (fs) => {
          await rejectsWith(fs.mkdir("no/parent", { recursive: false }), DirectoryNotFoundError);
          expect(await fs.exists("no")).toBe(false);
        }),
      );

      test(
        "readdir lists direct children with their types, and file sizes when given",
        on(async (fs) => {
          await fs.writeFile("dir/a.txt", "12345");
          await fs.writeFile("dir/b.md", "");
          await fs.writeFile("dir/sub/nested.txt", "nested");
          const entries = (await fs.readdir("dir")).sort((x, y) => x.name.localeCompare(y.name));
          expect(entries.map(({ name, type }) => ({ name, type }))).toEqual([
            { name: "a.txt", type: "file" },
            { name: "b.md", type: "file" },
            { name: "sub", type: "directory" },
          ]);
          const a = entries[0];
          if (a?.size !== undefined) expect(a.size).toBe(5);
        }),
      );

      test(
        "readdir recursive includes nested entries named by their relative path, like 'sub/nested.txt'",
        on(async (fs) => {
          await fs.writeFile("dir/top.txt", "t");
          await fs.writeFile("dir/sub/nested.txt", "n");
          await fs.writeFile("dir/sub/deeper/leaf.txt", "l");
          const entries = await fs.readdir("dir", { recursive: true });
          expect(entries.map(({ name, type }) => `${type}:${name}`).sort()).toEqual([
            "directory:sub",
            "directory:sub/deeper",
            "file:sub/deeper/leaf.txt",
            "file:sub/nested.txt",
            "file:top.txt",
          ]);
        }),
      );

      // Installed behaviour: maxDepth counts levels below the listed directory's children: 0 lists only
      // the direct children, 1 adds their children, and so on (default 100).
      test(
        "readdir recursive honours maxDepth (0: direct children only, 1: one level more)",
        on(async (fs) => {
          await fs.writeFile("top.txt", "t");
          await fs.writeFile("a/one.txt", "1");
          await fs.writeFile("a/b/two.txt", "2");
          const names = async (maxDepth: number) =>
            sortedNames(await fs.readdir(".", { recursive: true, maxDepth }));
          expect(await names(0)).toEqual(["a", "top.txt"]);
          expect(await names(1)).toEqual(["a", "a/b", "a/one.txt", "top.txt"]);
        }),
      );

      // Installed behaviour: the extension filter applies to files only; directories are always listed
      // (so a recursive, filtered listing still shows the tree), and '.txt' and 'txt' both work.
      test(
        "readdir with an extension filter keeps only matching files, with or without the dot, one or many",
        on(async (fs) => {
          await fs.writeFile("a.txt", "a");
          await fs.writeFile("b.md", "b");
          await fs.writeFile("c.ts", "c");
          await fs.writeFile("sub/nested.txt", "n");
          await fs.writeFile("sub/nested.md", "n");
          expect(sortedNames(await fs.readdir(".", { extension: ".txt" }))).toEqual(["a.txt", "sub"]);
          expect(sortedNames(await fs.readdir(".", { extension: "txt" }))).toEqual(["a.txt", "sub"]);
          expect(sortedNames(await fs.readdir(".", { extension: [".md", ".ts"] }))).toEqual(["b.md", "c.ts", "sub"]);
          expect(sortedNames(await fs.readdir(".", { extension: ".txt", recursive: true }))).toEqual([
            "a.txt",
            "sub",
            "sub/nested.txt",
          ]);
        }),
      );

      test(
        "rmdir recursive removes a whole tree; rmdir of an empty directory removes it",
        on(async (fs) => {
          await fs.writeFile("tree/a.txt", "a");
          await fs.writeFile("tree/sub/b.txt", "b");
          await fs.writeFile("other.txt", "o");
          await fs.rmdir("tree", { recursive: true });
          expect(await fs.exists("tree")).toBe(false);
          expect(await fs.exists("tree/sub/b.txt")).toBe(false);
          await rejectsWith(fs.readFile("tree/a.txt"), FileNotFoundError);
          expect(sortedNames(await fs.readdir("."))).toEqual(["other.txt"]);
          await fs.writeFile("gone/x.txt", "x");
          await fs.deleteFile("gone/x.txt");
          if (await fs.exists("gone")) await fs.rmdir("gone");
          expect(await fs.exists("gone")).toBe(false);
        }),
      );
    });

    describe("files", () => {
      test(
        "writeFile creates missing parent directories",
        on(async (fs) => {
          await fs.writeFile("a/b/c/file.txt", "deep");
          expect(utf8(await fs.readFile("a/b/c/file.txt", { encoding: "utf-8" }))).toBe("deep");
          expect((await fs.stat("a/b")).type).toBe("directory");
          expect(sortedNames(await fs.readdir("a/b"))).toEqual(["c"]);
        }),
      );

      test(
        "writeFile with recursive false and a missing parent throws DirectoryNotFoundError",
        on(async (fs) => {
          await rejectsWith(fs.writeFile("no/parent.txt", "x", { recursive: false }), DirectoryNotFoundError);
          expect(await fs.exists("no/parent.txt")).toBe(false);
          await fs.writeFile("top.txt", "x", { recursive: false });
          expect(await fs.exists("top.txt")).toBe(true);
        }),
      );

      test(
        "writeFile with overwrite false onto an existing file throws FileExistsError and keeps the content",
        on(async (fs) => {
          await fs.writeFile("file.txt", "first");
          await rejectsWith(fs.writeFile("file.txt", "second", { overwrite: false }), FileExistsError);
          expect(utf8(await fs.readFile("file.txt", { encoding: "utf-8" }))).toBe("first");
          await fs.writeFile("fresh.txt", "new", { overwrite: false });
          expect(utf8(await fs.readFile("fresh.txt", { encoding: "utf-8" }))).toBe("new");
        }),
      );

      test(
        "writeFile overwrites by default",
        on(async (fs) => {
          await fs.writeFile("file.txt", "a longer first version");
          await fs.writeFile("file.txt", "short");
          expect(utf8(await fs.readFile("file.txt", { encoding: "utf-8" }))).toBe("short");
          expect((await fs.stat("file.txt")).size).toBe(5);
        }),
      );

      test(
        "readFile without an encoding returns a Buffer; with utf-8 it returns a string",
        on(async (fs) => {
          await fs.writeFile("file.txt", "hello");
          const raw = await fs.readFile("file.txt");
          expect(Buffer.isBuffer(raw)).toBe(true);
          expect(raw.toString()).toBe("hello");
          const text = await fs.readFile("file.txt", { encoding: "utf-8" });
          expect(typeof text).toBe("string");
          expect(text).toBe("hello");
          expect(await fs.readFile("file.txt", { encoding: "base64" })).toBe(Buffer.from("hello").toString("base64"));
        }),
      );

      test(
        "binary content (every byte value, from a Buffer and from a Uint8Array) round-trips",
        on(async (fs) => {
          const bytes = new Uint8Array(512).map((_, index) => (index * 7 + 3) % 256);
          await fs.writeFile("blob.bin", Buffer.from(bytes));
          expect(Buffer.compare(Buffer.from(await fs.readFile("blob.bin")), Buffer.from(bytes))).toBe(0);
          await fs.writeFile("blob2.bin", bytes);
          expect(Buffer.compare(Buffer.from(await fs.readFile("blob2.bin")), Buffer.from(bytes))).toBe(0);
          expect((await fs.stat("blob.bin")).size).toBe(512);
        }),
      );

      test(
        "unicode content round-trips and its size is counted in UTF-8 bytes",
        on(async (fs) => {
          const text = "héllo wörld — 日本語 😀\nzweite Zeile ✓\n";
          await fs.writeFile("unicode.txt", text);
          expect(await fs.readFile("unicode.txt", { encoding: "utf-8" })).toBe(text);
          expect((await fs.stat("unicode.txt")).size).toBe(Buffer.byteLength(text, "utf-8"));
          await fs.writeFile("ünï cødé/ファイル.txt", "named");
          expect(await fs.readFile("ünï cødé/ファイル.txt", { encoding: "utf-8" })).toBe("named");
          expect(sortedNames(await fs.readdir("ünï cødé"))).toEqual(["ファイル.txt"]);
        }),
      );

      test(
        "an empty file round-trips with size 0",
        on(async (fs) => {
          await fs.writeFile("empty.txt", "");
          expect(await fs.readFile("empty.txt", { encoding: "utf-8" })).toBe("");
          expect((await fs.readFile("empty.txt")).length).toBe(0);
          const stat = await fs.stat("empty.txt");
          expect(stat.type).toBe("file");
          expect(stat.size).toBe(0);
        }),
      );

      test(
        "a 1 MB file round-trips byte for byte",
        on(async (fs) => {
          const big = Buffer.alloc(1024 * 1024);
          for (let index = 0; index < big.length; index++) big[index] = (index * 31 + (index >> 10)) % 256;
          await fs.writeFile("big/one-mb.bin", big);
          const back = Buffer.from(await fs.readFile("big/one-mb.bin"));
          expect(back.length).toBe(big.length);
          expect(Buffer.compare(back, big)).toBe(0);
          expect((await fs.stat("big/one-mb.bin")).size).toBe(big.length);
        }),
      );

      // The interface comment says `path` is the "Absolute path". Installed behaviour: LocalFilesystem
      // returns it relative to basePath without a leading "/" ("dir/file.txt"; "" for the root). So the
      // path is compared with any leading "/" removed. modifiedAt is within 1 s of the write (§2.6).
      test(
        "stat of a file reports its name, path, type, size and a modifiedAt within 1 s of the write",
        on(async (fs) => {
          const before = Date.now();
          await fs.writeFile("dir/file.txt", "12345678");
          const after = Date.now();
          const stat = await fs.stat("dir/file.txt");
          expect(stat.name).toBe("file.txt");
          expect(strip(stat.path)).toBe("dir/file.txt");
          expect(stat.type).toBe("file");
          expect(stat.size).toBe(8);
          expect(stat.modifiedAt).toBeInstanceOf(Date);
          expect(stat.createdAt).toBeInstanceOf(Date);
          expect(stat.modifiedAt.getTime()).toBeGreaterThanOrEqual(before - 1000);
          expect(stat.modifiedAt.getTime()).toBeLessThanOrEqual(after + 1000);
        }),
      );

      test(
        "stat of a directory reports type 'directory' with its name and path",
        on(async (fs) => {
          await fs.writeFile("parent/child/file.txt", "x");
          const stat = await fs.stat("parent/child");
          expect(stat.type).toBe("directory");
          expect(stat.name).toBe("child");
          expect(strip(stat.path)).toBe("parent/child");
          expect(stat.modifiedAt).toBeInstanceOf(Date);
        }),
      );

      test(
        "stat reports the mime type of a file from its extension when it reports one",
        on(async (fs) => {
          await fs.writeFile("page.json", "{}");
          const { mimeType } = await fs.stat("page.json");
          if (mimeType !== undefined) expect(mimeType).toBe("application/json");
        }),
      );

      test(
        "exists is true for files and directories and false for missing paths",
        on(async (fs) => {
          await fs.writeFile("dir/file.txt", "x");
          expect(await fs.exists("dir/file.txt")).toBe(true);
          expect(await fs.exists("dir")).toBe(true);
          expect(await fs.exists("dir/other.txt")).toBe(false);
          expect(await fs.exists("di")).toBe(false);
        }),
      );

      test(
        "appendFile appends to an existing file and creates a missing one (with its parents)",
        on(async (fs) => {
          await fs.writeFile("log.txt", "one\n");
          await fs.appendFile("log.txt", "two\n");
          await fs.appendFile("log.txt", Buffer.from("three\n"));
          expect(await fs.readFile("log.txt", { encoding: "utf-8" })).toBe("one\ntwo\nthree\n");
          await fs.appendFile("new/dir/fresh.txt", "first");
          expect(await fs.readFile("new/dir/fresh.txt", { encoding: "utf-8" })).toBe("first");
        }),
      );

      test(
        "appendFile keeps binary content intact",
        on(async (fs) => {
          const head = Buffer.from([0xff, 0x00, 0xfe, 0x80]);
          const tail = Buffer.from([0xc3, 0x28, 0x00]);
          await fs.writeFile("bin.dat", head);
          await fs.appendFile("bin.dat", tail);
          expect(Buffer.compare(Buffer.from(await fs.readFile("bin.dat")), Buffer.concat([head, tail]))).toBe(0);
        }),
      );

      test(
        "deleteFile removes a file and leaves its siblings",
        on(async (fs) => {
          await fs.writeFile("dir/a.txt", "a");
          await fs.writeFile("dir/b.txt", "b");
          await fs.deleteFile("dir/a.txt");
          expect(await fs.exists("dir/a.txt")).toBe(false);
          expect(sortedNames(await fs.readdir("dir"))).toEqual(["b.txt"]);
        }),
      );

      test(
        "copyFile copies the content, creates the destination's parents and keeps the source",
        on(async (fs) => {
          await fs.writeFile("src.txt", "payload");
          await fs.copyFile("src.txt", "deep/copy/dest.txt");
          expect(await fs.readFile("deep/copy/dest.txt", { encoding: "utf-8" })).toBe("payload");
          expect(await fs.readFile("src.txt", { encoding: "utf-8" })).toBe("payload");
        }),
      );

      test(
        "copyFile overwrites by default; with overwrite false onto an existing file it throws FileExistsError",
        on(async (fs) => {
          await fs.writeFile("src.txt", "new");
          await fs.writeFile("dest.txt", "old");
          await rejectsWith(fs.copyFile("src.txt", "dest.txt", { overwrite: false }), FileExistsError);
          expect(await fs.readFile("dest.txt", { encoding: "utf-8" })).toBe("old");
          await fs.copyFile("src.txt", "dest.txt");
          expect(await fs.readFile("dest.txt", { encoding: "utf-8" })).toBe("new");
        }),
      );

      test(
        "copyFile of a directory needs recursive (IsDirectoryError without it)",
        on(async (fs) => {
          await fs.writeFile("tree/a.txt", "a");
          await fs.writeFile("tree/sub/b.txt", "b");
          await rejectsWith(fs.copyFile("tree", "copy"), IsDirectoryError);
          await fs.copyFile("tree", "copy", { recursive: true });
          expect(await fs.readFile("copy/sub/b.txt", { encoding: "utf-8" })).toBe("b");
          expect(await fs.readFile("tree/a.txt", { encoding: "utf-8" })).toBe("a");
        }),
      );

      test(
        "moveFile moves the content and removes the source",
        on(async (fs) => {
          await fs.writeFile("from.txt", "moving");
          await fs.moveFile("from.txt", "to/here.txt");
          expect(await fs.exists("from.txt")).toBe(false);
          expect(await fs.readFile("to/here.txt", { encoding: "utf-8" })).toBe("moving");
        }),
      );

      test(
        "moveFile with overwrite false onto an existing file throws FileExistsError and changes neither file",
        on(async (fs) => {
          await fs.writeFile("from.txt", "source");
          await fs.writeFile("to.txt", "target");
          await rejectsWith(fs.moveFile("from.txt", "to.txt", { overwrite: false }), FileExistsError);
          expect(await fs.readFile("from.txt", { encoding: "utf-8" })).toBe("source");
          expect(await fs.readFile("to.txt", { encoding: "utf-8" })).toBe("target");
          await fs.moveFile("from.txt", "to.txt");
          expect(await fs.readFile("to.txt", { encoding: "utf-8" })).toBe("source");
          expect(await fs.exists("from.txt")).toBe(false);
        }),
      );
    });

    // The write_file and edit_file tools pass the `modifiedAt` of an earlier stat() as expectedMtime.
    describe("optimistic concurrency (expectedMtime)", () => {
      test(
        "writeFile with an expectedMtime older than the current mtime throws StaleFileError and keeps the content",
        on(async (fs) => {
          await fs.writeFile("file.txt", "current");
          const { modifiedAt } = await fs.stat("file.txt");
          const older = new Date(modifiedAt.getTime() - 5000);
          const error = await rejectsWith(fs.writeFile("file.txt", "clobber", { expectedMtime: older }), StaleFileError);
          expect(error.code).toBe("ESTALE");
          expect(error.expectedMtime.getTime()).toBe(older.getTime());
          expect(error.actualMtime.getTime()).toBe(modifiedAt.getTime());
          expect(await fs.readFile("file.txt", { encoding: "utf-8" })).toBe("current");
        }),
      );

      test(
        "writeFile with the exact current mtime from stat succeeds, and again with the new mtime",
        on(async (fs) => {
          await fs.writeFile("file.txt", "v1");
          const first = await fs.stat("file.txt");
          await fs.writeFile("file.txt", "v2", { overwrite: true, expectedMtime: first.modifiedAt });
          expect(await fs.readFile("file.txt", { encoding: "utf-8" })).toBe("v2");
          const second = await fs.stat("file.txt");
          await fs.writeFile("file.txt", "v3", { expectedMtime: new Date(second.modifiedAt.getTime()) });
          expect(await fs.readFile("file.txt", { encoding: "utf-8" })).toBe("v3");
        }),
      );

      test(
        "writeFile with an expectedMtime to a missing file creates it",
        on(async (fs) => {
          await fs.writeFile("new.txt", "created", { expectedMtime: new Date(0) });
          expect(await fs.readFile("new.txt", { encoding: "utf-8" })).toBe("created");
        }),
      );

      // The tools build `{ overwrite, expectedMtime: context?.__expectedMtime }`: the key is present with
      // the value undefined whenever the file was not read first (exactOptionalPropertyTypes matters here).
      test(
        "writeFile with expectedMtime explicitly undefined behaves as without it",
        on(async (fs) => {
          await fs.writeFile("file.txt", "v1");
          const options = { overwrite: true, expectedMtime: undefined } as unknown as { overwrite: boolean };
          await fs.writeFile("file.txt", "v2", options);
          expect(await fs.readFile("file.txt", { encoding: "utf-8" })).toBe("v2");
        }),
      );
    });

    describe("path forms", () => {
      async function tree(fs: WorkspaceFilesystem) {
        await fs.writeFile("src/a.txt", "A");
        await fs.writeFile("src/b/c.txt", "C");
        await fs.writeFile("top.txt", "T");
      }
      async function sameDirectory(fs: WorkspaceFilesystem, forms: string[], name: string | undefined, names: string[]) {
        for (const form of forms) {
          expect({ form, exists: await fs.exists(form) }).toEqual({ form, exists: true });
          const stat = await fs.stat(form);
          expect({ form, type: stat.type }).toEqual({ form, type: "directory" });
          if (name !== undefined) expect({ form, name: stat.name, path: strip(stat.path) }).toEqual({ form, name, path: name });
          expect({ form, names: sortedNames(await fs.readdir(form)) }).toEqual({ form, names });
        }
      }

      test(
        "'', '.' and './' all name the workspace root",
        on(async (fs) => {
          await tree(fs);
          await sameDirectory(fs, ["", ".", "./"], undefined, ["src", "top.txt"]);
        }),
      );

      test(
        "'src', './src' and 'src/' all name the same directory, and './src/a.txt' the same file",
        on(async (fs) => {
          await tree(fs);
          await sameDirectory(fs, ["src", "./src", "src/"], "src", ["a.txt", "b"]);
          expect(await fs.readFile("./src/a.txt", { encoding: "utf-8" })).toBe("A");
          expect(await fs.readFile("src/./b/../a.txt", { encoding: "utf-8" })).toBe("A");
          await fs.writeFile("./src/d.txt", "D");
          expect(await fs.readFile("src/d.txt", { encoding: "utf-8" })).toBe("D");
        }),
      );

      // Mastra's workspace tools, given `filesystem:`, pass paths verbatim, including
      // "/src/a.ts". Installed behaviour: LocalFilesystem (contained, the default) treats "/src" as a
      // host-absolute path outside basePath and throws PermissionError (pinned in the reference test).
      caseFor(
        capabilities.rootedPaths,
        "'/src' names the same directory as 'src', '/' the root, and '/src/a.txt' the same file",
        on(async (fs) => {
          await tree(fs);
          await sameDirectory(fs, ["/src", "/src/"], "src", ["a.txt", "b"]);
          await sameDirectory(fs, ["/"], undefined, ["src", "top.txt"]);
          expect(await fs.readFile("/src/a.txt", { encoding: "utf-8" })).toBe("A");
          await fs.writeFile("/src/e.txt", "E");
          expect(await fs.readFile("src/e.txt", { encoding: "utf-8" })).toBe("E");
          expect(strip((await fs.stat("/src/e.txt")).path)).toBe("src/e.txt");
        }),
      );
    });

    describe("walk", () => {
      async function walkTree(fs: WorkspaceFilesystem) {
        await fs.writeFile("a.txt", "alpha");
        await fs.writeFile("src/main.ts", "main");
        await fs.writeFile("src/lib/util.ts", "util");
        await fs.writeFile("src/lib/deep/more.ts", "more");
        await fs.writeFile("src/.cache.txt", "cache");
        await fs.writeFile(".env", "X=1");
        await fs.writeFile(".hidden/secret.txt", "secret");
      }
      function walkOf(fs: WorkspaceFilesystem) {
        const walk = fs.walk?.bind(fs);
        if (!walk) throw new Error("the fs has no walk(); declare capabilities.walk = { notApplicable }");
        return async (path: string, options?: { maxDepth?: number; includeHidden?: boolean }) => {
          const entries: WalkEntry[] = await walk(path, options);
          return entries;
        };
      }
      const listing = (entries: WalkEntry[]) => entries.map((entry) => `${entry.type}:${entry.path}`).sort();
      const noWalk = () => withFs(async (fs) => expect(fs.walk).toBeUndefined());

      caseFor(
        capabilities.walk,
        "walk returns every entry below the root with POSIX paths relative to it, names and types",
        on(async (fs) => {
          await walkTree(fs);
          const entries = await walkOf(fs)(".");
          expect(listing(entries)).toEqual([
            "directory:src",
            "directory:src/lib",
            "directory:src/lib/deep",
            "file:a.txt",
            "file:src/lib/deep/more.ts",
            "file:src/lib/util.ts",
            "file:src/main.ts",
          ]);
          for (const entry of entries) {
            expect(entry.path.startsWith("./") || entry.path.startsWith("/")).toBe(false);
            expect(entry.name).toBe(entry.path.split("/").pop() ?? "");
            if (entry.type === "file" && entry.size !== undefined) expect(entry.size).toBe(4 + (entry.name === "a.txt" ? 1 : 0));
          }
        }),
        noWalk,
      );

      caseFor(
        capabilities.walk,
        "walk of a subdirectory gives paths relative to that subdirectory, whatever the root form",
        on(async (fs) => {
          await walkTree(fs);
          const walk = walkOf(fs);
          const expected = ["directory:lib", "directory:lib/deep", "file:lib/deep/more.ts", "file:lib/util.ts", "file:main.ts"];
          expect(listing(await walk("src"))).toEqual(expected);
          expect(listing(await walk("./src"))).toEqual(expected);
          expect(listing(await walk("src/"))).toEqual(expected);
          expect(listing(await walk(""))).toEqual(listing(await walk(".")));
        }),
        noWalk,
      );

      caseFor(
        capabilities.walk,
        "walk honours maxDepth, counting root entries as depth 1",
        on(async (fs) => {
          await walkTree(fs);
          const walk = walkOf(fs);
          expect(listing(await walk(".", { maxDepth: 1 }))).toEqual(["directory:src", "file:a.txt"]);
          expect(listing(await walk(".", { maxDepth: 2 }))).toEqual([
            "directory:src",
            "directory:src/lib",
            "file:a.txt",
            "file:src/main.ts",
          ]);
        }),
        noWalk,
      );

      caseFor(
        capabilities.walk,
        "walk leaves out dot-entries and everything below them unless includeHidden is true",
        on(async (fs) => {
          await walkTree(fs);
          const walk = walkOf(fs);
          const hidden = (entries: WalkEntry[]) =>
            listing(entries).filter((line) => line.split(":")[1]?.split("/").some((segment) => segment.startsWith(".")));
          expect(hidden(await walk("."))).toEqual([]);
          expect(hidden(await walk(".", { includeHidden: false }))).toEqual([]);
          expect(hidden(await walk(".", { includeHidden: true }))).toEqual([
            "directory:.hidden",
            "file:.env",
            "file:.hidden/secret.txt",
            "file:src/.cache.txt",
          ]);
        }),
        noWalk,
      );

      caseFor(
        capabilities.walk,
        "walk of a missing path throws DirectoryNotFoundError, and of a file NotDirectoryError",
        on(async (fs) => {
          await walkTree(fs);
          const walk = walkOf(fs);
          await rejectsWith(walk("missing"), DirectoryNotFoundError);
          await rejectsWith(walk("a.txt"), NotDirectoryError);
        }),
        noWalk,
      );
    });

    describe("grep", () => {
      async function grepTree(fs: WorkspaceFilesystem) {
        await fs.writeFile("a.txt", "alpha\nTODO one\nbeta\n");
        await fs.writeFile("src/main.ts", "const x = 1;\n// todo lower\n// TODO upper\nTODO again\n");
        await fs.writeFile("src/lib/util.ts", "export {};\n");
        await fs.writeFile("src/.cache.txt", "TODO cached\n");
        await fs.writeFile(".env", "TODO=1\n");
        await fs.writeFile(".hidden/secret.txt", "x\nTODO hidden\n");
      }
      function grepOf(fs: WorkspaceFilesystem) {
        const grep = fs.grep?.bind(fs);
        if (!grep) throw new Error("the fs has no grep(); declare capabilities.grep = { notApplicable }");
        return async (options: Partial<FilesystemGrepOptions> & { pattern: string }) => {
          const results: FilesystemGrepResult[] = await grep({ path: ".", caseSensitive: true, includeHidden: false, ...options });
          return results
            .filter((result) => result.matches.length > 0)
            .sort((x, y) => (x.path < y.path ? -1 : x.path > y.path ? 1 : 0));
        };
      }
      /** `path:line:column:text` for every match (column 0-based, as the provider reports it). */
      const hits = (results: FilesystemGrepResult[]) =>
        results.flatMap((result) => result.matches.map((match) => `${result.path}:${match.line}:${match.column}:${match.text}`));
      const noGrep = () => withFs(async (fs) => expect(fs.grep).toBeUndefined());

      caseFor(
        capabilities.grep,
        "grep reports 1-based lines, 0-based columns and the line text, with paths relative to the search root",
        on(async (fs) => {
          await grepTree(fs);
          const grep = grepOf(fs);
          expect(hits(await grep({ pattern: "TODO" }))).toEqual([
            "a.txt:2:0:TODO one",
            "src/main.ts:3:3:// TODO upper",
            "src/main.ts:4:0:TODO again",
          ]);
          expect(hits(await grep({ pattern: "TODO", path: "src" }))).toEqual(["main.ts:3:3:// TODO upper", "main.ts:4:0:TODO again"]);
          expect(hits(await grep({ pattern: "T[O]+D\\w a", path: "./src" }))).toEqual(["main.ts:4:0:TODO again"]);
          expect(await grep({ pattern: "no such text anywhere" })).toEqual([]);
        }),
        noGrep,
      );

      caseFor(
        capabilities.grep,
        "grep honours caseSensitive",
        on(async (fs) => {
          await grepTree(fs);
          const grep = grepOf(fs);
          expect(hits(await grep({ pattern: "todo", caseSensitive: true }))).toEqual(["src/main.ts:2:3:// todo lower"]);
          expect(hits(await grep({ pattern: "todo", caseSensitive: false }))).toEqual([
            "a.txt:2:0:TODO one",
            "src/main.ts:2:3:// todo lower",
            "src/main.ts:3:3:// TODO upper",
            "src/main.ts:4:0:TODO again",
          ]);
        }),
        noGrep,
      );

      caseFor(
        capabilities.grep,
        "grep honours includeHidden for hidden files and for files inside hidden directories",
        on(async (fs) => {
          await grepTree(fs);
          const grep = grepOf(fs);
          expect(hits(await grep({ pattern: "TODO", includeHidden: true }))).toEqual([
            ".env:1:0:TODO=1",
            ".hidden/secret.txt:2:0:TODO hidden",
            "a.txt:2:0:TODO one",
            "src/.cache.txt:1:0:TODO cached",
            "src/main.ts:3:3:// TODO upper",
            "src/main.ts:4:0:TODO again",
          ]);
        }),
        noGrep,
      );

      caseFor(
        capabilities.grep,
        "grep honours contextLines with before and after lines clipped at the file's edges",
        on(async (fs) => {
          await grepTree(fs);
          const grep = grepOf(fs);
          const [a] = await grep({ pattern: "TODO one", contextLines: 1 });
          expect(a?.matches).toEqual([{ line: 2, column: 0, text: "TODO one", before: ["alpha"], after: ["beta"] }]);
          const [first] = await grep({ pattern: "alpha", contextLines: 2 });
          const match = first?.matches[0];
          expect(match?.line).toBe(1);
          expect(match?.before ?? []).toEqual([]);
          expect(match?.after).toEqual(["TODO one", "beta"]);
          const [plain] = await grep({ pattern: "beta" });
          expect(plain?.matches[0]?.before ?? []).toEqual([]);
          expect(plain?.matches[0]?.after ?? []).toEqual([]);
        }),
        noGrep,
      );

      caseFor(
        capabilities.grep,
        "grep honours maxCountPerFile and maxTotalMatches",
        on(async (fs) => {
          await grepTree(fs);
          const grep = grepOf(fs);
          expect(hits(await grep({ pattern: "TODO", maxCountPerFile: 1 }))).toEqual(["a.txt:2:0:TODO one", "src/main.ts:3:3:// TODO upper"]);
          const capped = hits(await grep({ pattern: "TODO", caseSensitive: false, maxTotalMatches: 2 }));
          expect(capped.length).toBe(2);
        }),
        noGrep,
      );

      caseFor(
        capabilities.grep,
        "grep reports columns as UTF-16 indexes, not byte offsets",
        on(async (fs) => {
          await fs.writeFile("u.txt", "é😀 TODO\n");
          expect(hits(await grepOf(fs)({ pattern: "TODO" }))).toEqual(["u.txt:1:4:é😀 TODO"]);
        }),
        noGrep,
      );
    });
  });
}
