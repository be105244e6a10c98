// just-bash's IFileSystem contract (its src/fs/interface.contract.test.ts, restated in bun:test
// and widened), written once as a function and run against every implementation: just-bash's own
// InMemoryFs (the reference), AcceleratedJustBashFs over a mount (each write its own commit), and
// AcceleratedJustBashFs over a transaction (read-your-writes before anything is published).

import { afterAll, describe, expect, test } from "bun:test";
import { InMemoryFs, type IFileSystem } from "just-bash";
import { AcceleratedJustBashFs } from "../../src/just-bash/index.ts";
import { testWorkspace } from "../support/mounts.ts";
import { removeTempDirectories } from "../support/temp.ts";

type Run = (body: (fs: IFileSystem) => Promise<void>) => Promise<void>;

afterAll(() => removeTempDirectories());

function fileSystemContract(name: string, run: Run): void {
  describe(name, () => {
    test("writeFile then readFile, readFileBuffer and readFileBytes give the content back", () =>
      run(async (fs) => {
        await fs.writeFile("/f.txt", "héllo\n");
        expect(await fs.readFile("/f.txt")).toBe("héllo\n");
        expect(await fs.readFile("/f.txt", "utf8")).toBe("héllo\n");
        expect([...(await fs.readFileBuffer("/f.txt"))]).toEqual([...Buffer.from("héllo\n")]);
        expect(fs.readFileBytes).toBeFunction();
        expect(String(await fs.readFileBytes!("/f.txt"))).toBe(Buffer.from("héllo\n").toString("latin1"));
      }));

    test("writeFile replaces, appendFile appends and creates", () =>
      run(async (fs) => {
        await fs.writeFile("/f", "one");
        await fs.writeFile("/f", "two");
        await fs.appendFile("/f", "+three");
        await fs.appendFile("/new", "created");
        await fs.appendFile("/new", "");
        expect(await fs.readFile("/f")).toBe("two+three");
        expect(await fs.readFile("/new")).toBe("created");
      }));

    test("writes create missing parent directories (commands rely on it)", () =>
      run(async (fs) => {
        await fs.writeFile("/a/b/c.txt", "deep");
        expect((await fs.stat("/a/b")).isDirectory).toBe(true);
        expect(await fs.readFile("/a/b/c.txt")).toBe("deep");
      }));

    test("stat reports type, size, permission bits and a Date mtime", () =>
      run(async (fs) => {
        await fs.mkdir("/d");
        await fs.writeFile("/d/f", "12345");
        const file = await fs.stat("/d/f");
        expect([file.isFile, file.isDirectory, file.isSymbolicLink, file.size, file.mode]).toEqual([true, false, false, 5, 0o644]);
        expect(file.mtime).toBeInstanceOf(Date);
        const directory = await fs.stat("/d");
        expect([directory.isFile, directory.isDirectory, directory.mode]).toEqual([false, true, 0o755]);
      }));

    test("exists answers without throwing, even for a NUL byte", () =>
      run(async (fs) => {
        await fs.writeFile("/e", "");
        expect(await fs.exists("/e")).toBe(true);
        expect(await fs.exists("/e/below")).toBe(false);
        expect(await fs.exists("/missing")).toBe(false);
        expect(await fs.exists("/a\0b")).toBe(false);
      }));

    test("mkdir, mkdir -p and readdir in name order, with typed entries", () =>
      run(async (fs) => {
        await fs.mkdir("/p/q/r", { recursive: true });
        await fs.mkdir("/p/q/r", { recursive: true });
        await fs.writeFile("/p/b.txt", "");
        await fs.writeFile("/p/B.txt", "");
        await fs.writeFile("/p/a.txt", "");
        await fs.symlink("a.txt", "/p/link");
        expect(await fs.readdir("/p")).toEqual(["B.txt", "a.txt", "b.txt", "link", "q"]);
        expect(await fs.readdirWithFileTypes!("/p")).toEqual([
          { name: "B.txt", isFile: true, isDirectory: false, isSymbolicLink: false },
          { name: "a.txt", isFile: true, isDirectory: false, isSymbolicLink: false },
          { name: "b.txt", isFile: true, isDirectory: false, isSymbolicLink: false },
          { name: "link", isFile: false, isDirectory: false, isSymbolicLink: true },
          { name: "q", isFile: false, isDirectory: true, isSymbolicLink: false },
        ]);
      }));

    test("rm removes files and (recursively) trees; force ignores a missing path", () =>
      run(async (fs) => {
        await fs.writeFile("/t/a/b", "x");
        await fs.writeFile("/t/c", "y");
        await fs.rm("/t/c");
        await fs.rm("/t", { recursive: true });
        await fs.rm("/t", { force: true });
        await fs.rm("/nothing", { recursive: true, force: true });
        expect(await fs.exists("/t")).toBe(false);
      }));

    test("cp copies a file, and with recursive a tree, merging into an existing directory", () =>
      run(async (fs) => {
        await fs.writeFile("/src/one", "1");
        await fs.writeFile("/src/sub/two", "2");
        await fs.writeFile("/dst/keep", "k");
        await fs.cp("/src/one", "/copy");
        await fs.cp("/src", "/dst", { recursive: true });
        expect(await fs.readFile("/copy")).toBe("1");
        expect((await fs.readdir("/dst")).sort()).toEqual(["keep", "one", "sub"]);
        expect(await fs.readFile("/dst/sub/two")).toBe("2");
        expect(await fs.readFile("/src/sub/two")).toBe("2");
      }));

    test("mv renames a file and moves a tree", () =>
      run(async (fs) => {
        await fs.writeFile("/m/a", "A");
        await fs.writeFile("/m/sub/b", "B");
        await fs.mv("/m/a", "/m/renamed");
        await fs.mv("/m/sub", "/moved");
        expect(await fs.readdir("/m")).toEqual(["renamed"]);
        expect(await fs.readFile("/moved/b")).toBe("B");
        expect(await fs.exists("/m/sub")).toBe(false);
      }));

    test("symlink, readlink, lstat and stat through the link", () =>
      run(async (fs) => {
        await fs.writeFile("/dir/target.txt", "through");
        await fs.symlink("target.txt", "/dir/rel");
        await fs.symlink("/dir/target.txt", "/abs");
        await fs.symlink("missing", "/dangling");
        expect(await fs.readlink("/dir/rel")).toBe("target.txt");
        expect(await fs.readFile("/dir/rel")).toBe("through");
        expect(await fs.readFile("/abs")).toBe("through");
        const link = await fs.lstat("/dir/rel");
        expect([link.isSymbolicLink, link.isFile, link.mode]).toEqual([true, false, 0o777]);
        expect((await fs.stat("/dir/rel")).isFile).toBe(true);
        expect(await fs.realpath("/abs")).toBe("/dir/target.txt");
        expect((await fs.lstat("/dangling")).isSymbolicLink).toBe(true);
        expect(await fs.exists("/dangling")).toBe(false);
      }));

    test("chmod sets the permission bits and utimes the modification time", () =>
      run(async (fs) => {
        await fs.writeFile("/x.sh", "echo");
        await fs.chmod("/x.sh", 0o755);
        const when = new Date("2021-03-04T05:06:07.000Z");
        await fs.utimes("/x.sh", when, when);
        const stats = await fs.stat("/x.sh");
        expect(stats.mode).toBe(0o755);
        expect(stats.mtime.getTime()).toBe(when.getTime());
      }));

    test("paths are normalised, and '..' at the root stays at the root", () =>
      run(async (fs) => {
        await fs.writeFile("/../../clamped.txt", "c");
        expect(await fs.readFile("/clamped.txt")).toBe("c");
        expect(await fs.readFile("/a/../../clamped.txt")).toBe("c");
        await fs.mkdir("/n/./o/", { recursive: true });
        expect(await fs.readdir("/n/")).toEqual(["o"]);
      }));

    test("a NUL byte in a path is refused by every operation", () =>
      run(async (fs) => {
        const bad = "/bad\0name";
        const calls: [string, () => Promise<unknown>][] = [
          ["open", () => fs.readFile(bad)],
          ["write", () => fs.writeFile(bad, "x")],
          ["stat", () => fs.stat(bad)],
          ["mkdir", () => fs.mkdir(bad)],
          ["scandir", () => fs.readdir(bad)],
          ["rm", () => fs.rm(bad)],
          ["cp", () => fs.cp(bad, "/x")],
          ["mv", () => fs.mv(bad, "/x")],
          ["chmod", () => fs.chmod(bad, 0o644)],
          ["symlink", () => fs.symlink("t", bad)],
        ];
        for (const [, call] of calls) {
          let message = "";
          await call().catch((error: Error) => (message = error.message));
          expect(message).toMatch(/^ENOENT: path contains null byte, /);
        }
        expect(await fs.exists("/bad")).toBe(false);
      }));

    test("resolvePath is synchronous path math", () =>
      run(async (fs) => {
        expect(fs.resolvePath("/home/user", "a/b")).toBe("/home/user/a/b");
        expect(fs.resolvePath("/home/user", "/etc/x")).toBe("/etc/x");
        expect(fs.resolvePath("/home/user", "../x/./y")).toBe("/home/x/y");
        expect(fs.resolvePath("/", "../../..")).toBe("/");
        expect(fs.resolvePath("/a", "b/")).toBe("/a/b");
        expect(fs.resolvePath("/a", ".")).toBe("/a");
      }));

    test("getAllPaths is synchronous and lists what was written", () =>
      run(async (fs) => {
        await fs.writeFile("/g/h.txt", "");
        const paths = fs.getAllPaths();
        expect(paths).toContain("/g");
        expect(paths).toContain("/g/h.txt");
      }));
  });
}

fileSystemContract("InMemoryFs (the reference)", async (body) => body(new InMemoryFs()));

let mounts = 0;
fileSystemContract("AcceleratedJustBashFs over a mount", async (body) => {
  const workspace = await testWorkspace("local", `jb-contract-${++mounts}`);
  const filesystem = await workspace.mount();
  try {
    await body(new AcceleratedJustBashFs(filesystem));
  } finally {
    await filesystem.close();
  }
});

fileSystemContract("AcceleratedJustBashFs over a transaction", async (body) => {
  const workspace = await testWorkspace("local", `jb-contract-${++mounts}`);
  const filesystem = await workspace.mount();
  try {
    await new AcceleratedJustBashFs(filesystem).transaction(body);
  } finally {
    await filesystem.close();
  }
});
