// The filesystem suite, written once and run against every configuration of our filesystem
// (LocalObjectStore and the real S3 server, with small and default layouts) and once against a
// real directory through node:fs (node-reference.ts), which keeps its errno expectations honest.

import { describe, expect, test } from "bun:test";
import { expectCode } from "../support/errors.ts";
import { testWorkspace, wipeCache, type Backend } from "../support/mounts.ts";

/** The part of S3CachedFs the suite drives; node-reference.ts implements it over node:fs. */
export interface SuiteStats {
  size: number;
  mode: number;
  mtimeMs: number;
  ino: number;
  nlink: number;
  isFile(): boolean;
  isDirectory(): boolean;
  isSymbolicLink(): boolean;
}

export interface SuiteFs {
  stat(path: string): Promise<SuiteStats>;
  lstat(path: string): Promise<SuiteStats>;
  exists(path: string): Promise<boolean>;
  readdir(path: string): Promise<string[]>;
  readdir(path: string, options: { withFileTypes: true }): Promise<{ name: string; isFile(): boolean; isDirectory(): boolean; isSymbolicLink(): boolean }[]>;
  readFile(path: string): Promise<Uint8Array>;
  readText(path: string): Promise<string>;
  readRange(path: string, offset: number, length: number): Promise<Uint8Array>;
  writeFile(path: string, data: string | Uint8Array | ArrayBuffer | Blob | Response | ReadableStream<Uint8Array>, options?: { mode?: number }): Promise<void>;
  appendFile(path: string, data: string | Uint8Array): Promise<void>;
  mkdir(path: string, options?: { recursive?: boolean; mode?: number }): Promise<void>;
  rm(path: string, options?: { recursive?: boolean; force?: boolean }): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  copyFile(from: string, to: string, options?: { overwrite?: boolean }): Promise<void>;
  symlink(target: string, path: string): Promise<void>;
  readlink(path: string): Promise<string>;
  realpath(path: string): Promise<string>;
  chmod(path: string, mode: number): Promise<void>;
  utimes(path: string, atime: Date, mtime: Date): Promise<void>;
  lutimes(path: string, atime: Date, mtime: Date): Promise<void>;
  link(existingPath: string, newPath: string): Promise<void>;
}

export interface SuiteSubject {
  fs: SuiteFs;
  /** The same filesystem mounted again from a fresh cache, when the subject has one. */
  remount?: () => Promise<SuiteFs>;
  cleanup?: () => Promise<void>;
}

const text = (value: string) => new TextEncoder().encode(value);
const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

export function fsSuite(name: string, make: () => Promise<SuiteSubject>): void {
  describe(`filesystem: ${name}`, () => {
    async function run(body: (fs: SuiteFs, subject: SuiteSubject) => Promise<void>): Promise<void> {
      const subject = await make();
      try {
        await body(subject.fs, subject);
      } finally {
        await subject.cleanup?.();
      }
    }

    describe("files", () => {
      test("text, bytes, binary, empty and unicode content round-trip", () =>
        run(async (fs) => {
          const binary = new Uint8Array(256).map((_, index) => index);
          await fs.writeFile("/text.txt", "hello\nworld\n");
          await fs.writeFile("/binary.bin", binary);
          await fs.writeFile("/empty", "");
          await fs.writeFile("/unicode-名前.md", "naïve café ☕ 日本語");
          expect(await fs.readText("/text.txt")).toBe("hello\nworld\n");
          expect(Buffer.compare(await fs.readFile("/binary.bin"), binary)).toBe(0);
          expect((await fs.readFile("/empty")).byteLength).toBe(0);
          expect(await fs.readText("/unicode-名前.md")).toBe("naïve café ☕ 日本語");
          expect((await fs.stat("/binary.bin")).size).toBe(256);
        }));

      test("every kind of data is written whole: ArrayBuffer, Blob, Response, ReadableStream", () =>
        run(async (fs) => {
          await fs.writeFile("/array-buffer", text("from an ArrayBuffer").buffer as ArrayBuffer);
          await fs.writeFile("/blob", new Blob(["from ", "a Blob"]));
          await fs.writeFile("/response", new Response("from a Response"));
          const stream = new ReadableStream<Uint8Array>({
            start(controller) {
              controller.enqueue(text("from "));
              controller.enqueue(text("a stream"));
              controller.close();
            },
          });
          await fs.writeFile("/stream", stream);
          expect(await fs.readText("/array-buffer")).toBe("from an ArrayBuffer");
          expect(await fs.readText("/blob")).toBe("from a Blob");
          expect(await fs.readText("/response")).toBe("from a Response");
          expect(await fs.readText("/stream")).toBe("from a stream");
        }));

      test("writeFile creates missing parent directories, but not under a file", () =>
        run(async (fs) => {
          await fs.writeFile("/a/b/c/deep.txt", "deep");
          expect(await fs.readText("/a/b/c/deep.txt")).toBe("deep");
          expect((await fs.stat("/a/b")).isDirectory()).toBe(true);
          await expectCode(fs.writeFile("/a/b/c/deep.txt/child", "x"), "ENOTDIR");
          await expectCode(fs.writeFile("/a/b/c/deep.txt/x/y", "x"), "ENOTDIR");
        }));

      test("writing onto a directory is EISDIR and changes nothing", () =>
        run(async (fs) => {
          await fs.mkdir("/dir");
          await expectCode(fs.writeFile("/dir", "x"), "EISDIR");
          expect((await fs.stat("/dir")).isDirectory()).toBe(true);
        }));

      test("an overwrite replaces the content and keeps the mode", () =>
        run(async (fs) => {
          await fs.writeFile("/f", "a much longer first version");
          await fs.chmod("/f", 0o600);
          await fs.writeFile("/f", "short");
          expect(await fs.readText("/f")).toBe("short");
          expect((await fs.stat("/f")).size).toBe(5);
          expect((await fs.stat("/f")).mode & 0o777).toBe(0o600);
        }));

      test("a new file takes the mode it is given", () =>
        run(async (fs) => {
          await fs.writeFile("/script.sh", "#!/bin/sh\n", { mode: 0o755 });
          expect((await fs.stat("/script.sh")).mode & 0o777).toBe(0o755);
          await fs.writeFile("/plain", "x");
          expect((await fs.stat("/plain")).mode & 0o777).toBe(0o644);
        }));

      test("appendFile adds to the end, and creates a missing file", () =>
        run(async (fs) => {
          await fs.appendFile("/log", "one\n");
          await fs.appendFile("/log", "two\n");
          await fs.appendFile("/log", "");
          await fs.appendFile("/log", text("three\n"));
          expect(await fs.readText("/log")).toBe("one\ntwo\nthree\n");
          expect((await fs.stat("/log")).size).toBe(14);
          await expectCode(fs.mkdir("/d").then(() => fs.appendFile("/d", "x")), "EISDIR");
        }));

      test("readRange returns just the bytes asked for, cut at the end", () =>
        run(async (fs) => {
          await fs.writeFile("/digits", "0123456789");
          expect(decode(await fs.readRange("/digits", 2, 3))).toBe("234");
          expect(decode(await fs.readRange("/digits", 8, 10))).toBe("89");
          expect((await fs.readRange("/digits", 10, 5)).byteLength).toBe(0);
          expect((await fs.readRange("/digits", 50, 5)).byteLength).toBe(0);
          expect(decode(await fs.readRange("/digits", 0, 10))).toBe("0123456789");
        }));

      test("reading a missing file is ENOENT; reading a directory is EISDIR", () =>
        run(async (fs) => {
          await fs.mkdir("/dir");
          await expectCode(fs.readFile("/missing"), "ENOENT");
          await expectCode(fs.readFile("/missing/deeper"), "ENOENT");
          await expectCode(fs.readFile("/dir"), "EISDIR");
          await expectCode(fs.stat("/missing"), "ENOENT");
        }));

      test("a path through a file is ENOTDIR", () =>
        run(async (fs) => {
          await fs.writeFile("/file", "x");
          await expectCode(fs.stat("/file/child"), "ENOTDIR");
          await expectCode(fs.readFile("/file/child"), "ENOTDIR");
          await expectCode(fs.readdir("/file"), "ENOTDIR");
        }));
    });

    describe("directories", () => {
      test("mkdir without recursive needs the parent, and refuses what exists", () =>
        run(async (fs) => {
          await expectCode(fs.mkdir("/no/parent"), "ENOENT");
          await fs.mkdir("/made");
          await expectCode(fs.mkdir("/made"), "EEXIST");
          await fs.writeFile("/file", "x");
          await expectCode(fs.mkdir("/file"), "EEXIST");
          expect(await fs.readdir("/made")).toEqual([]);
          expect(await fs.exists("/no")).toBe(false);
        }));

      test("mkdir with recursive makes the chain, accepts an existing directory, and not a file", () =>
        run(async (fs) => {
          await fs.mkdir("/x/y/z", { recursive: true });
          await fs.mkdir("/x/y/z", { recursive: true });
          await fs.mkdir("/x", { recursive: true });
          expect((await fs.stat("/x/y/z")).isDirectory()).toBe(true);
          await fs.writeFile("/x/file", "x");
          await expectCode(fs.mkdir("/x/file", { recursive: true }), "EEXIST");
          await expectCode(fs.mkdir("/x/file/sub", { recursive: true }), "ENOTDIR");
        }));

      test("mkdir honours the mode", () =>
        run(async (fs) => {
          await fs.mkdir("/private", { mode: 0o700 });
          expect((await fs.stat("/private")).mode & 0o777).toBe(0o700);
        }));

      test("readdir lists names in order, with types", () =>
        run(async (fs) => {
          await fs.mkdir("/list");
          for (const name of ["b.txt", "a.txt", "C.txt", "sub"]) {
            if (name === "sub") await fs.mkdir("/list/sub");
            else await fs.writeFile(`/list/${name}`, name);
          }
          await fs.symlink("a.txt", "/list/link");
          expect([...(await fs.readdir("/list"))].sort()).toEqual(["C.txt", "a.txt", "b.txt", "link", "sub"]);
          const entries = await fs.readdir("/list", { withFileTypes: true });
          const kinds = Object.fromEntries(entries.map((entry) => [entry.name, entry.isDirectory() ? "dir" : entry.isSymbolicLink() ? "link" : entry.isFile() ? "file" : "?"]));
          expect(kinds).toEqual({ "C.txt": "file", "a.txt": "file", "b.txt": "file", link: "link", sub: "dir" });
          await expectCode(fs.readdir("/nowhere"), "ENOENT");
        }));

      test("rm removes files and trees, refuses a non-empty directory without recursive", () =>
        run(async (fs) => {
          await fs.writeFile("/tree/a/1.txt", "1");
          await fs.writeFile("/tree/a/2.txt", "2");
          await fs.writeFile("/tree/b.txt", "b");
          await fs.mkdir("/tree/empty");
          await expectCode(fs.rm("/tree"), "ENOTEMPTY");
          await fs.rm("/tree/b.txt");
          expect(await fs.exists("/tree/b.txt")).toBe(false);
          await fs.rm("/tree/empty");
          expect(await fs.exists("/tree/empty")).toBe(false);
          await fs.rm("/tree", { recursive: true });
          expect(await fs.exists("/tree")).toBe(false);
          expect(await fs.exists("/tree/a/1.txt")).toBe(false);
        }));

      test("rm of a missing path is ENOENT, unless forced", () =>
        run(async (fs) => {
          await expectCode(fs.rm("/missing"), "ENOENT");
          await fs.rm("/missing", { force: true });
          await fs.rm("/missing/deeper", { force: true, recursive: true });
        }));

      test("rm of a symbolic link removes the link, not its target", () =>
        run(async (fs) => {
          await fs.writeFile("/target/keep.txt", "kept");
          await fs.symlink("/target", "/link");
          await fs.rm("/link", { recursive: true });
          expect(await fs.readText("/target/keep.txt")).toBe("kept");
          expect(await fs.exists("/link")).toBe(false);
        }));
    });

    describe("rename", () => {
      test("moves a file, replacing a file at the destination", () =>
        run(async (fs) => {
          await fs.writeFile("/from.txt", "moving");
          await fs.writeFile("/to.txt", "replaced");
          await fs.rename("/from.txt", "/to.txt");
          expect(await fs.readText("/to.txt")).toBe("moving");
          expect(await fs.exists("/from.txt")).toBe(false);
        }));

      test("moves a whole tree with its contents", () =>
        run(async (fs) => {
          await fs.writeFile("/src/a/1.txt", "one");
          await fs.writeFile("/src/b.txt", "b");
          await fs.mkdir("/dest");
          await fs.rename("/src", "/dest/moved");
          expect(await fs.readText("/dest/moved/a/1.txt")).toBe("one");
          expect(await fs.readText("/dest/moved/b.txt")).toBe("b");
          expect(await fs.exists("/src")).toBe(false);
        }));

      test("a directory may replace an empty directory but not a non-empty one", () =>
        run(async (fs) => {
          await fs.writeFile("/d1/f", "1");
          await fs.mkdir("/empty");
          await fs.rename("/d1", "/empty");
          expect(await fs.readText("/empty/f")).toBe("1");
          await fs.writeFile("/d2/g", "2");
          await expectCode(fs.rename("/d2", "/empty"), "ENOTEMPTY");
          expect(await fs.readText("/empty/f")).toBe("1");
          expect(await fs.readText("/d2/g")).toBe("2");
        }));

      test("type mismatches, missing sources, missing parents and moves into itself are refused", () =>
        run(async (fs) => {
          await fs.writeFile("/file", "f");
          await fs.mkdir("/dir/sub", { recursive: true });
          await expectCode(fs.rename("/file", "/dir"), "EISDIR");
          await expectCode(fs.rename("/dir", "/file"), "ENOTDIR");
          await expectCode(fs.rename("/missing", "/x"), "ENOENT");
          await expectCode(fs.rename("/file", "/no/parent/x"), "ENOENT");
          await expectCode(fs.rename("/dir", "/dir/sub/inside"), "EINVAL");
          await fs.rename("/file", "/file");
          expect(await fs.readText("/file")).toBe("f");
        }));

      test("renaming a symbolic link moves the link itself", () =>
        run(async (fs) => {
          await fs.writeFile("/real.txt", "real");
          await fs.symlink("real.txt", "/old-link");
          await fs.rename("/old-link", "/new-link");
          expect(await fs.readlink("/new-link")).toBe("real.txt");
          expect(await fs.readText("/new-link")).toBe("real");
          expect(await fs.readText("/real.txt")).toBe("real");
        }));
    });

    describe("copyFile", () => {
      test("copies bytes; the copy is independent of the source", () =>
        run(async (fs) => {
          await fs.writeFile("/original", "v1");
          await fs.copyFile("/original", "/copy");
          await fs.writeFile("/original", "v2 changed");
          expect(await fs.readText("/copy")).toBe("v1");
          expect(await fs.readText("/original")).toBe("v2 changed");
        }));

      test("overwrites by default, refuses with overwrite false, refuses directories and missing sources", () =>
        run(async (fs) => {
          await fs.writeFile("/a", "a");
          await fs.writeFile("/b", "b");
          await fs.copyFile("/a", "/b");
          expect(await fs.readText("/b")).toBe("a");
          await fs.writeFile("/c", "c");
          await expectCode(fs.copyFile("/a", "/c", { overwrite: false }), "EEXIST");
          expect(await fs.readText("/c")).toBe("c");
          await fs.mkdir("/dir");
          await expectCode(fs.copyFile("/dir", "/d2"), "EISDIR");
          await expectCode(fs.copyFile("/a", "/dir"), "EISDIR");
          await expectCode(fs.copyFile("/missing", "/e"), "ENOENT");
        }));
    });

    describe("symbolic links", () => {
      test("a link to a file reads through; lstat, readlink and realpath see the link", () =>
        run(async (fs) => {
          await fs.writeFile("/data/file.txt", "through the link");
          await fs.symlink("data/file.txt", "/link");
          expect(await fs.readText("/link")).toBe("through the link");
          expect((await fs.lstat("/link")).isSymbolicLink()).toBe(true);
          expect((await fs.stat("/link")).isFile()).toBe(true);
          expect(await fs.readlink("/link")).toBe("data/file.txt");
          expect(await fs.realpath("/link")).toBe("/data/file.txt");
          await expectCode(fs.readlink("/data/file.txt"), "EINVAL");
        }));

      test("a link to a directory is followed in the middle of a path", () =>
        run(async (fs) => {
          await fs.writeFile("/real/inner/x.txt", "x");
          await fs.symlink("/real", "/alias");
          expect(await fs.readdir("/alias")).toEqual(["inner"]);
          expect(await fs.readText("/alias/inner/x.txt")).toBe("x");
          expect(await fs.realpath("/alias/inner")).toBe("/real/inner");
        }));

      test("a dangling link: lstat works, stat and read are ENOENT, exists is false", () =>
        run(async (fs) => {
          await fs.symlink("/nowhere", "/dangling");
          expect((await fs.lstat("/dangling")).isSymbolicLink()).toBe(true);
          await expectCode(fs.stat("/dangling"), "ENOENT");
          await expectCode(fs.readFile("/dangling"), "ENOENT");
          expect(await fs.exists("/dangling")).toBe(false);
        }));

      test("symlink over an existing entry is EEXIST; a loop is ELOOP", () =>
        run(async (fs) => {
          await fs.writeFile("/taken", "x");
          await expectCode(fs.symlink("/elsewhere", "/taken"), "EEXIST");
          await fs.symlink("/loop-b", "/loop-a");
          await fs.symlink("/loop-a", "/loop-b");
          await expectCode(fs.stat("/loop-a"), "ELOOP");
        }));
    });

    describe("attributes", () => {
      test("chmod and utimes persist; a missing path is ENOENT", () =>
        run(async (fs) => {
          await fs.writeFile("/f", "x");
          await fs.chmod("/f", 0o640);
          const when = new Date("2024-05-06T07:08:09.000Z");
          await fs.utimes("/f", when, when);
          const stats = await fs.stat("/f");
          expect(stats.mode & 0o777).toBe(0o640);
          expect(stats.mtimeMs).toBe(when.getTime());
          await expectCode(fs.chmod("/missing", 0o600), "ENOENT");
          await expectCode(fs.utimes("/missing", when, when), "ENOENT");
        }));

      test("lutimes sets a link's own times and utimes those of its target; both persist; a missing path is ENOENT", () =>
        run(async (fs, subject) => {
          await fs.writeFile("/f", "x");
          await fs.symlink("f", "/l");
          const linkTime = new Date("2001-02-03T04:05:06.789Z");
          const targetTime = new Date("2011-12-13T14:15:16.000Z");
          await fs.lutimes("/l", linkTime, linkTime);
          await fs.utimes("/l", targetTime, targetTime);
          const check = async (view: SuiteFs) => {
            expect((await view.lstat("/l")).mtimeMs).toBe(linkTime.getTime());
            expect((await view.stat("/l")).mtimeMs).toBe(targetTime.getTime());
            expect((await view.stat("/f")).mtimeMs).toBe(targetTime.getTime());
          };
          await check(fs);
          await expectCode(fs.lutimes("/missing", linkTime, linkTime), "ENOENT");
          if (subject.remount !== undefined) await check(await subject.remount()); // replayed from the log
        }));

      test("a write moves the modification time forward", () =>
        run(async (fs) => {
          await fs.writeFile("/f", "x");
          const old = new Date("2020-01-01T00:00:00.000Z");
          await fs.utimes("/f", old, old);
          await fs.writeFile("/f", "y");
          expect((await fs.stat("/f")).mtimeMs).toBeGreaterThan(old.getTime());
        }));

      test("exists is true for files, directories and links to them, false otherwise", () =>
        run(async (fs) => {
          await fs.writeFile("/f", "x");
          await fs.mkdir("/d");
          await fs.symlink("/f", "/l");
          for (const path of ["/", "/f", "/d", "/l"]) expect(await fs.exists(path)).toBe(true);
          for (const path of ["/missing", "/f/under-file", "/d/missing"]) expect(await fs.exists(path)).toBe(false);
        }));
    });

    describe("hard links", () => {
      test("a second name shares the file: same bytes, equal ino, nlink counting names; a write, append, chmod or utimes through one name shows through the other", () =>
        run(async (fs, subject) => {
          await fs.writeFile("/a", "one");
          await fs.mkdir("/d");
          await fs.link("/a", "/d/b");
          expect(await fs.readText("/d/b")).toBe("one");
          expect((await fs.stat("/a")).nlink).toBe(2);
          expect((await fs.stat("/d/b")).ino).toBe((await fs.stat("/a")).ino);
          await fs.writeFile("/d/b", "two, longer");
          expect(await fs.readText("/a")).toBe("two, longer");
          await fs.appendFile("/a", "+");
          expect(await fs.readText("/d/b")).toBe("two, longer+");
          await fs.chmod("/d/b", 0o600);
          const when = new Date("2003-04-05T06:07:08.000Z");
          await fs.utimes("/a", when, when);
          await fs.link("/d/b", "/c");
          const check = async (view: SuiteFs) => {
            const stats = await Promise.all(["/a", "/d/b", "/c"].map((path) => view.stat(path)));
            for (const stat of stats) {
              expect(stat.nlink).toBe(3);
              expect(stat.ino).toBe(stats[0]!.ino);
              expect(stat.size).toBe(12);
              expect(stat.mode & 0o777).toBe(0o600);
              expect(stat.mtimeMs).toBe(when.getTime());
            }
            expect(await view.readText("/c")).toBe("two, longer+");
            expect((await view.stat("/d")).ino).not.toBe(stats[0]!.ino);
          };
          await check(fs);
          if (subject.remount !== undefined) await check(await subject.remount());
        }));

      test("removing a name keeps the others and the bytes; rename keeps the link; rm -r of a directory holding a name counts one link less", () =>
        run(async (fs, subject) => {
          await fs.writeFile("/a", "shared");
          await fs.mkdir("/d");
          await fs.link("/a", "/b");
          await fs.link("/a", "/d/c");
          await fs.rm("/a");
          expect(await fs.exists("/a")).toBe(false);
          expect(await fs.readText("/b")).toBe("shared");
          expect((await fs.stat("/b")).nlink).toBe(2);
          await fs.rename("/b", "/moved");
          expect((await fs.stat("/moved")).nlink).toBe(2);
          expect((await fs.stat("/moved")).ino).toBe((await fs.stat("/d/c")).ino);
          await fs.writeFile("/moved", "changed");
          expect(await fs.readText("/d/c")).toBe("changed");
          await fs.rm("/d", { recursive: true });
          expect((await fs.stat("/moved")).nlink).toBe(1);
          expect(await fs.readText("/moved")).toBe("changed");
          // A new file never takes the inode of the name removed first.
          await fs.writeFile("/new", "new");
          expect((await fs.stat("/new")).ino).not.toBe((await fs.stat("/moved")).ino);
          const check = async (view: SuiteFs) => {
            expect([...(await view.readdir("/"))].sort()).toEqual(["moved", "new"]);
            expect(await view.readText("/moved")).toBe("changed");
            expect((await view.stat("/moved")).nlink).toBe(1);
          };
          await check(fs);
          if (subject.remount !== undefined) await check(await subject.remount());
        }));

      test("renaming a name onto another name of the same file changes nothing; copying onto a linked name writes through to every name", () =>
        run(async (fs) => {
          await fs.writeFile("/a", "same");
          await fs.link("/a", "/b");
          await fs.rename("/a", "/b");
          expect(await fs.exists("/a")).toBe(true);
          expect((await fs.stat("/b")).nlink).toBe(2);
          await fs.writeFile("/source", "copied");
          await fs.copyFile("/source", "/b");
          expect(await fs.readText("/a")).toBe("copied");
          expect((await fs.stat("/a")).nlink).toBe(2);
          expect((await fs.stat("/a")).ino).toBe((await fs.stat("/b")).ino);
        }));

      test("a symbolic link is linked as itself, dangling or not", () =>
        run(async (fs, subject) => {
          await fs.writeFile("/f", "target");
          await fs.symlink("f", "/s");
          await fs.symlink("nowhere", "/dangling");
          await fs.link("/s", "/s2");
          await fs.link("/dangling", "/dangling2");
          const check = async (view: SuiteFs) => {
            expect((await view.lstat("/s2")).isSymbolicLink()).toBe(true);
            expect(await view.readlink("/s2")).toBe("f");
            expect((await view.lstat("/s2")).nlink).toBe(2);
            expect((await view.lstat("/s2")).ino).toBe((await view.lstat("/s")).ino);
            expect((await view.stat("/f")).nlink).toBe(1);
            expect(await view.readText("/s2")).toBe("target");
            expect(await view.readlink("/dangling2")).toBe("nowhere");
          };
          await check(fs);
          if (subject.remount !== undefined) await check(await subject.remount());
        }));

      test("errors: EEXIST for a taken name, ENOENT for a missing source or directory, EPERM for a directory; nothing changes", () =>
        run(async (fs) => {
          await fs.writeFile("/f", "x");
          await fs.mkdir("/d");
          await expectCode(fs.link("/f", "/d"), "EEXIST");
          await expectCode(fs.link("/f", "/f"), "EEXIST");
          await expectCode(fs.link("/d", "/f"), "EEXIST");
          await expectCode(fs.link("/missing", "/x"), "ENOENT");
          await expectCode(fs.link("/missing", "/f"), "ENOENT");
          await expectCode(fs.link("/f", "/nodir/x"), "ENOENT");
          await expectCode(fs.link("/d", "/d2"), "EPERM");
          expect([...(await fs.readdir("/"))].sort()).toEqual(["d", "f"]);
          expect((await fs.stat("/f")).nlink).toBe(1);
        }));
    });

    test("everything survives a remount from a fresh cache", async () => {
      const subject = await make();
      try {
        if (subject.remount === undefined) {
          // node:fs has no cache to lose; the property is checked against our filesystem.
          return;
        }
        const fs = subject.fs;
        await fs.writeFile("/keep/a.txt", "a");
        await fs.mkdir("/keep/empty", { mode: 0o700 });
        await fs.symlink("a.txt", "/keep/link");
        await fs.writeFile("/keep/b.bin", new Uint8Array([0, 1, 2, 255]));
        await fs.rename("/keep/b.bin", "/keep/moved.bin");
        await fs.rm("/keep/a.txt");
        await fs.writeFile("/keep/a.txt", "a again");
        const again = await subject.remount();
        expect([...(await again.readdir("/keep"))].sort()).toEqual(["a.txt", "empty", "link", "moved.bin"]);
        expect(await again.readText("/keep/link")).toBe("a again");
        expect([...(await again.readFile("/keep/moved.bin"))]).toEqual([0, 1, 2, 255]);
        expect((await again.stat("/keep/empty")).mode & 0o777).toBe(0o700);
      } finally {
        await subject.cleanup?.();
      }
    });
  });
}

/** Layouts the suite runs under: the default, and a tiny one forcing packs, chunks and many extents. */
export const suiteLayouts = [
  ["default layout", undefined],
  ["tiny layout (packs, chunks, 4-byte extents)", { blockBytes: 4, chunkBytes: 16, largeFileBytes: 8, inlineRecordBytes: 32, packBytes: 64, uploadConcurrency: 2 }],
] as const;

/** Our filesystem as a suite subject: a fresh workspace, remounted read-only from a wiped cache. */
export async function mountedSubject(backend: Backend, layout: (typeof suiteLayouts)[number][1]): Promise<SuiteSubject> {
  const workspace = await testWorkspace(backend, `fs-${backend}`);
  const config = layout === undefined ? {} : { layout };
  let current = await workspace.mount(config);
  return {
    fs: current,
    remount: async () => {
      await current.close();
      wipeCache(workspace.cacheRoot);
      current = await workspace.mount({ ...config, mode: "readonly" });
      return current;
    },
    cleanup: () => current.close(),
  };
}
