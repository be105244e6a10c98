// The file verbs of the sandbox as Flue's Sandbox contract states them (@flue/runtime 2.1
// `Sandbox`, `FileStat`): paths resolved against cwd, writeFile creating parents, exists never
// throwing, stat giving only what is known, readdir/rm/mkdir exact, and a sandbox whose mount was
// closed failing with Flue's SandboxDiedError.

import { afterAll, expect, test } from "bun:test";
import { SandboxDiedError } from "@flue/runtime";
import { FsError } from "../../src/core.ts";
import { removeTempDirectories } from "../support/temp.ts";
import { testBucket } from "./flue-fixtures.ts";

afterAll(() => removeTempDirectories());

async function sandboxFor(label: string, options: { cwd?: string } = {}) {
  const factory = testBucket(label).factory(options);
  const sandbox = await factory.createSandbox({ id: "verbs" });
  return { factory, sandbox, filesystem: await factory.filesystemFor("verbs") };
}

test("cwd is absolute and exists; resolvePath resolves relative paths against it and passes absolute ones through, normalised", async () => {
  const { factory, sandbox, filesystem } = await sandboxFor("verbs-paths", { cwd: "team/space" });
  try {
    expect(sandbox.cwd).toBe("/team/space");
    expect((await filesystem.stat("/team/space")).isDirectory()).toBe(true);
    expect(sandbox.resolvePath("a/b.txt")).toBe("/team/space/a/b.txt");
    expect(sandbox.resolvePath("./a/../b")).toBe("/team/space/b");
    expect(sandbox.resolvePath("/etc//x/")).toBe("/etc/x");
    expect(sandbox.resolvePath("../../../..")).toBe("/");
    await sandbox.writeFile("relative.txt", "r");
    await sandbox.writeFile("/team/absolute.txt", "a");
    expect(await filesystem.readText("/team/space/relative.txt")).toBe("r");
    expect(await sandbox.readFile("../absolute.txt")).toBe("a");
  } finally {
    await factory.close();
  }
});

test("writeFile creates missing parents, takes text or bytes, and fails with ENOTDIR below a file", async () => {
  const { factory, sandbox } = await sandboxFor("verbs-write");
  try {
    await sandbox.writeFile("out/nested/deeper/report.md", "# report\n");
    expect(await sandbox.readFile("out/nested/deeper/report.md")).toBe("# report\n");
    const bytes = new Uint8Array([0, 1, 2, 255, 0xc3]);
    await sandbox.writeFile("bin/data", bytes);
    expect(await sandbox.readFileBuffer("bin/data")).toEqual(bytes);
    await sandbox.writeFile("text.txt", "héllo ✓");
    expect(await sandbox.readFileBuffer("text.txt")).toEqual(new TextEncoder().encode("héllo ✓"));
    await expect(sandbox.writeFile("text.txt/child", "x")).rejects.toThrow("ENOTDIR: not a directory, open '/workspace/text.txt/child'");
    await expect(sandbox.writeFile("out", "x")).rejects.toThrow("EISDIR");
  } finally {
    await factory.close();
  }
});

test("a write that fails publishes nothing, not even the parents Flue's wrapper would create to retry it (found by the API-misuse fuzzer)", async () => {
  const { factory, sandbox, filesystem } = await sandboxFor("verbs-write-fails");
  try {
    await sandbox.writeFile("kept.txt", "kept");
    const seq = filesystem.stats().seq;
    const refused: [string, unknown][] = [
      ["new/parents/bad-content.txt", 42],
      ["other/parents/null.txt", null],
      ["nul/parents/a\0b", "x"],
    ];
    for (const [path, content] of refused) {
      const error = await sandbox.writeFile(path, content as string).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(FsError);
      expect((error as FsError).code).toBe(path.includes("\0") ? "ENOENT" : "EINVAL");
    }
    expect(filesystem.stats().seq).toBe(seq);
    expect(await filesystem.readdir("/workspace")).toEqual(["kept.txt"]);
  } finally {
    await factory.close();
  }
});

test("a path that is not a string is FsError EINVAL in every verb, before Flue's path resolution reads it (found by the API-misuse fuzzer)", async () => {
  const { factory, sandbox } = await sandboxFor("verbs-not-strings");
  try {
    const calls: [string, (path: never) => unknown][] = [
      ["readFile", (path) => sandbox.readFile(path)],
      ["readFileBuffer", (path) => sandbox.readFileBuffer(path)],
      ["writeFile", (path) => sandbox.writeFile(path, "x")],
      ["stat", (path) => sandbox.stat(path)],
      ["readdir", (path) => sandbox.readdir(path)],
      ["mkdir", (path) => sandbox.mkdir(path, { recursive: true })],
      ["rm", (path) => sandbox.rm(path, { force: true })],
      ["resolvePath", (path) => sandbox.resolvePath(path)],
      ["exec cwd", (path) => sandbox.exec("pwd", { cwd: path })],
    ];
    for (const [name, call] of calls) {
      for (const path of [42, null, Symbol("p"), {}]) {
        let error: unknown;
        try {
          await call(path as never);
        } catch (caught) {
          error = caught;
        }
        expect([name, error instanceof FsError && error.code]).toEqual([name, "EINVAL"]);
      }
    }
  } finally {
    await factory.close();
  }
});

test("readFile and readFileBuffer throw for a missing path or a directory", async () => {
  const { factory, sandbox } = await sandboxFor("verbs-read");
  try {
    await expect(sandbox.readFile("missing.txt")).rejects.toThrow("ENOENT: no such file or directory, open '/workspace/missing.txt'");
    await expect(sandbox.readFileBuffer("missing.txt")).rejects.toThrow("ENOENT");
    await sandbox.mkdir("folder");
    await expect(sandbox.readFile("folder")).rejects.toThrow("EISDIR");
  } finally {
    await factory.close();
  }
});

test("exists never throws: missing paths, NUL bytes, non-strings and a closed sandbox are all false", async () => {
  const { factory, sandbox } = await sandboxFor("verbs-exists");
  await sandbox.writeFile("here.txt", "x");
  expect(await sandbox.exists("here.txt")).toBe(true);
  expect(await sandbox.exists(".")).toBe(true);
  expect(await sandbox.exists("/dev/null")).toBe(true);
  expect(await sandbox.exists("nowhere")).toBe(false);
  expect(await sandbox.exists("here.txt/below")).toBe(false);
  expect(await sandbox.exists("a\0b")).toBe(false);
  expect(await sandbox.exists("")).toBe(true); // "" resolves to the cwd, as in Flue's own sandboxes
  expect(await sandbox.exists(undefined as unknown as string)).toBe(false);
  expect(await sandbox.exists(42 as unknown as string)).toBe(false);
  await factory.close();
  expect(await sandbox.exists("here.txt")).toBe(false);
});

test("stat gives the type, size and mtime it knows, isSymbolicLink from the entry itself, and never makes one up", async () => {
  const { factory, sandbox, filesystem } = await sandboxFor("verbs-stat");
  try {
    await sandbox.writeFile("file.txt", "12345");
    const file = await sandbox.stat("file.txt");
    const core = await filesystem.stat("/workspace/file.txt");
    expect(file).toEqual({ isFile: true, isDirectory: false, isSymbolicLink: false, size: 5, mtime: core.mtime });

    // A directory has no byte size in the core: size is left out, its (real) mtime is given.
    const directory = await sandbox.stat(".");
    expect(directory).toEqual({ isFile: false, isDirectory: true, isSymbolicLink: false, mtime: (await filesystem.stat("/workspace")).mtime });
    expect("size" in directory).toBe(false);

    // A link: the entry is a link; type, size and time are its target's.
    expect((await sandbox.exec("ln -s file.txt link && ln -s /dev/null sink && ln -s gone dangling")).exitCode).toBe(0);
    expect(await sandbox.stat("link")).toEqual({ isFile: true, isDirectory: false, isSymbolicLink: true, size: 5, mtime: core.mtime });

    // The shell's in-memory system files were never stored: no time is given for them.
    expect(await sandbox.stat("/dev/null")).toEqual({ isFile: true, isDirectory: false, isSymbolicLink: false, size: 0 });
    expect(await sandbox.stat("sink")).toEqual({ isFile: true, isDirectory: false, isSymbolicLink: true, size: 0 });
    expect(await sandbox.stat("/proc")).toEqual({ isFile: false, isDirectory: true, isSymbolicLink: false });

    await expect(sandbox.stat("missing")).rejects.toThrow("ENOENT: no such file or directory, lstat '/workspace/missing'");
    await expect(sandbox.stat("dangling")).rejects.toThrow("ENOENT");
  } finally {
    await factory.close();
  }
});

test("readdir lists names only and throws for a file or a missing directory", async () => {
  const { factory, sandbox } = await sandboxFor("verbs-readdir");
  try {
    await sandbox.writeFile("b.txt", "b");
    await sandbox.writeFile("a/inner.txt", "a");
    await sandbox.writeFile(".hidden", "h");
    expect(await sandbox.readdir(".")).toEqual([".hidden", "a", "b.txt"]);
    expect(await sandbox.readdir("/")).toEqual(["bin", "dev", "proc", "usr", "workspace"]); // as the shell sees "/"
    await expect(sandbox.readdir("b.txt")).rejects.toThrow("ENOTDIR: not a directory, scandir '/workspace/b.txt'");
    await expect(sandbox.readdir("nope")).rejects.toThrow("ENOENT");
  } finally {
    await factory.close();
  }
});

test("mkdir honours recursive; rm honours recursive and force exactly", async () => {
  const { factory, sandbox } = await sandboxFor("verbs-mkdir-rm");
  try {
    await expect(sandbox.mkdir("x/y/z")).rejects.toThrow("ENOENT");
    await sandbox.mkdir("x/y/z", { recursive: true });
    expect((await sandbox.stat("x/y/z")).isDirectory).toBe(true);
    await expect(sandbox.mkdir("x")).rejects.toThrow("EEXIST");
    await sandbox.mkdir("x", { recursive: true });
    await sandbox.writeFile("x/y/file.txt", "f");

    await expect(sandbox.rm("x")).rejects.toThrow(); // a directory without recursive
    expect(await sandbox.exists("x/y/file.txt")).toBe(true);
    await expect(sandbox.rm("missing")).rejects.toThrow("ENOENT");
    await sandbox.rm("missing", { force: true });
    await sandbox.rm("x/y/file.txt");
    expect(await sandbox.exists("x/y/file.txt")).toBe(false);
    await sandbox.rm("x", { recursive: true });
    expect(await sandbox.exists("x")).toBe(false);
    await expect(sandbox.rm("/dev/null")).rejects.toThrow("EROFS");
  } finally {
    await factory.close();
  }
});

test("every verb of a sandbox whose mount was closed fails with Flue's SandboxDiedError", async () => {
  const { factory, sandbox } = await sandboxFor("verbs-died");
  await sandbox.writeFile("kept.txt", "k");
  await factory.close();
  for (const operation of [
    () => sandbox.readFile("kept.txt"),
    () => sandbox.readFileBuffer("kept.txt"),
    () => sandbox.writeFile("new.txt", "n"),
    () => sandbox.stat("kept.txt"),
    () => sandbox.readdir("."),
    () => sandbox.mkdir("d"),
    () => sandbox.rm("kept.txt"),
    () => sandbox.exec("ls"),
  ]) {
    await expect(operation()).rejects.toBeInstanceOf(SandboxDiedError);
  }
  await expect(factory.createSandbox({ id: "verbs" })).rejects.toThrow("EBADF");
});
