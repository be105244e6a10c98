// Error shapes, table-driven: every failure leaves the adapter as a core FsError with `code`,
// `syscall` and `path`, and a message shaped `CODE: description, <op> '<path>'`, naming the
// operation just-bash called and the path it passed, because just-bash's commands match on that
// text. Where InMemoryFs fails the same way, its message must be ours, word for word.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { InMemoryFs, type IFileSystem } from "just-bash";
import { FsError, type S3CachedFs } from "../../src/core.ts";
import { AcceleratedJustBashFs } from "../../src/just-bash/index.ts";
import { testWorkspace } from "../support/mounts.ts";
import { removeTempDirectories } from "../support/temp.ts";

interface ErrorCase {
  name: string;
  call: (fs: IFileSystem) => Promise<unknown>;
  code: string;
  message: string;
  /** InMemoryFs fails with exactly this message too. */
  sameAsInMemoryFs?: boolean;
  /** Why InMemoryFs differs (it succeeds, or words it otherwise). */
  inMemoryFsDiffers?: string;
}

const w = "/w";
const cases: ErrorCase[] = [
  { name: "readFile of a missing file", call: (fs) => fs.readFile(`${w}/missing`), code: "ENOENT", message: `ENOENT: no such file or directory, open '${w}/missing'`, sameAsInMemoryFs: true },
  { name: "readFileBuffer of a directory", call: (fs) => fs.readFileBuffer(`${w}/dir`), code: "EISDIR", message: `EISDIR: illegal operation on a directory, read '${w}/dir'`, sameAsInMemoryFs: true },
  { name: "stat of a missing path", call: (fs) => fs.stat(`${w}/missing`), code: "ENOENT", message: `ENOENT: no such file or directory, stat '${w}/missing'`, sameAsInMemoryFs: true },
  { name: "lstat of a missing path", call: (fs) => fs.lstat(`${w}/missing`), code: "ENOENT", message: `ENOENT: no such file or directory, lstat '${w}/missing'`, sameAsInMemoryFs: true },
  { name: "readdir of a missing directory", call: (fs) => fs.readdir(`${w}/missing`), code: "ENOENT", message: `ENOENT: no such file or directory, scandir '${w}/missing'`, sameAsInMemoryFs: true },
  { name: "readdir of a file", call: (fs) => fs.readdir(`${w}/file`), code: "ENOTDIR", message: `ENOTDIR: not a directory, scandir '${w}/file'`, sameAsInMemoryFs: true },
  { name: "readdirWithFileTypes of a file", call: (fs) => fs.readdirWithFileTypes!(`${w}/file`), code: "ENOTDIR", message: `ENOTDIR: not a directory, scandir '${w}/file'`, sameAsInMemoryFs: true },
  { name: "mkdir over a file", call: (fs) => fs.mkdir(`${w}/file`), code: "EEXIST", message: `EEXIST: file already exists, mkdir '${w}/file'`, sameAsInMemoryFs: true },
  { name: "mkdir -p over a file", call: (fs) => fs.mkdir(`${w}/file`, { recursive: true }), code: "EEXIST", message: `EEXIST: file already exists, mkdir '${w}/file'`, sameAsInMemoryFs: true },
  {
    name: "mkdir of an existing directory",
    call: (fs) => fs.mkdir(`${w}/dir`),
    code: "EEXIST",
    message: `EEXIST: file already exists, mkdir '${w}/dir'`,
    inMemoryFsDiffers: "InMemoryFs says 'directory already exists'; Node (and we) say 'file already exists'",
  },
  { name: "mkdir below a missing parent", call: (fs) => fs.mkdir(`${w}/a/b`), code: "ENOENT", message: `ENOENT: no such file or directory, mkdir '${w}/a/b'`, sameAsInMemoryFs: true },
  { name: "rm of a missing path", call: (fs) => fs.rm(`${w}/missing`), code: "ENOENT", message: `ENOENT: no such file or directory, rm '${w}/missing'`, sameAsInMemoryFs: true },
  { name: "rm of a non-empty directory", call: (fs) => fs.rm(`${w}/dir`), code: "ENOTEMPTY", message: `ENOTEMPTY: directory not empty, rm '${w}/dir'`, sameAsInMemoryFs: true },
  { name: "cp of a missing source", call: (fs) => fs.cp(`${w}/missing`, `${w}/x`), code: "ENOENT", message: `ENOENT: no such file or directory, cp '${w}/missing'`, sameAsInMemoryFs: true },
  {
    name: "cp of a directory without recursive",
    call: (fs) => fs.cp(`${w}/dir`, `${w}/x`),
    code: "EISDIR",
    message: `EISDIR: illegal operation on a directory, cp '${w}/dir'`,
    inMemoryFsDiffers: "InMemoryFs words it 'is a directory'; we keep Node's standard description",
  },
  { name: "cp -r of a tree into itself", call: (fs) => fs.cp(`${w}/dir`, `${w}/dir/sub`, { recursive: true }), code: "EINVAL", message: `EINVAL: cannot copy '${w}/dir' into itself, '${w}/dir/sub'`, sameAsInMemoryFs: true },
  {
    name: "cp below a regular file",
    call: (fs) => fs.cp(`${w}/file`, `${w}/file/x`),
    code: "ENOTDIR",
    message: `ENOTDIR: not a directory, cp '${w}/file/x'`,
    inMemoryFsDiffers: "InMemoryFs creates an entry below a regular file",
  },
  { name: "mv of a missing source", call: (fs) => fs.mv(`${w}/missing`, `${w}/x`), code: "ENOENT", message: `ENOENT: no such file or directory, mv '${w}/missing'`, sameAsInMemoryFs: true },
  { name: "mv of a tree into itself", call: (fs) => fs.mv(`${w}/dir`, `${w}/dir/sub`), code: "EINVAL", message: `EINVAL: cannot move '${w}/dir' into itself, '${w}/dir/sub'`, sameAsInMemoryFs: true },
  {
    name: "mv of a file onto a directory",
    call: (fs) => fs.mv(`${w}/file`, `${w}/dir`),
    code: "EISDIR",
    message: `EISDIR: illegal operation on a directory, mv '${w}/dir'`,
    inMemoryFsDiffers: "InMemoryFs replaces the directory (and its contents) with the file",
  },
  { name: "chmod of a missing path", call: (fs) => fs.chmod(`${w}/missing`, 0o600), code: "ENOENT", message: `ENOENT: no such file or directory, chmod '${w}/missing'`, sameAsInMemoryFs: true },
  {
    name: "utimes of a missing path",
    call: (fs) => fs.utimes(`${w}/missing`, new Date(0), new Date(0)),
    code: "ENOENT",
    message: `ENOENT: no such file or directory, utimes '${w}/missing'`,
    sameAsInMemoryFs: true,
  },
  { name: "readlink of a regular file", call: (fs) => fs.readlink(`${w}/file`), code: "EINVAL", message: `EINVAL: invalid argument, readlink '${w}/file'`, sameAsInMemoryFs: true },
  { name: "readlink of a missing path", call: (fs) => fs.readlink(`${w}/missing`), code: "ENOENT", message: `ENOENT: no such file or directory, readlink '${w}/missing'`, sameAsInMemoryFs: true },
  { name: "realpath of a missing path", call: (fs) => fs.realpath(`${w}/missing`), code: "ENOENT", message: `ENOENT: no such file or directory, realpath '${w}/missing'`, sameAsInMemoryFs: true },
  { name: "realpath of a dangling link", call: (fs) => fs.realpath(`${w}/dangling`), code: "ENOENT", message: `ENOENT: no such file or directory, realpath '${w}/dangling'`, sameAsInMemoryFs: true },
  { name: "symlink over an existing path", call: (fs) => fs.symlink("x", `${w}/file`), code: "EEXIST", message: `EEXIST: file already exists, symlink '${w}/file'`, sameAsInMemoryFs: true },
  { name: "link of a missing source", call: (fs) => fs.link(`${w}/missing`, `${w}/x`), code: "ENOENT", message: `ENOENT: no such file or directory, link '${w}/missing'`, sameAsInMemoryFs: true },
  { name: "link onto an existing path", call: (fs) => fs.link(`${w}/file`, `${w}/other`), code: "EEXIST", message: `EEXIST: file already exists, link '${w}/other'`, sameAsInMemoryFs: true },
  { name: "link of a directory", call: (fs) => fs.link(`${w}/dir`, `${w}/hard`), code: "EPERM", message: `EPERM: operation not permitted, link '${w}/dir'`, sameAsInMemoryFs: true },
  {
    name: "writeFile below a regular file",
    call: (fs) => fs.writeFile(`${w}/file/child`, "x"),
    code: "ENOTDIR",
    message: `ENOTDIR: not a directory, open '${w}/file/child'`,
    inMemoryFsDiffers: "InMemoryFs writes below a regular file",
  },
  {
    name: "writeFile onto a directory",
    call: (fs) => fs.writeFile(`${w}/dir`, "x"),
    code: "EISDIR",
    message: `EISDIR: illegal operation on a directory, open '${w}/dir'`,
    inMemoryFsDiffers: "InMemoryFs replaces the directory with the file",
  },
  {
    name: "appendFile onto a directory",
    call: (fs) => fs.appendFile(`${w}/dir`, "x"),
    code: "EISDIR",
    message: `EISDIR: illegal operation on a directory, open '${w}/dir'`,
    inMemoryFsDiffers: "InMemoryFs names the operation 'write'; Node's appendFile (and we) name it 'open'",
  },
  {
    name: "stat through a symlink loop",
    call: (fs) => fs.stat(`${w}/loop`),
    code: "ELOOP",
    message: `ELOOP: too many symbolic links encountered, stat '${w}/loop'`,
    inMemoryFsDiffers: "InMemoryFs uses strerror's wording ('too many levels of symbolic links') and names the operation 'open'; we keep Node's",
  },
  {
    name: "writeFile of content that is neither text nor bytes (found by the API-misuse fuzzer)",
    call: (fs) => fs.writeFile(`${w}/new.txt`, 42 as never),
    code: "EINVAL",
    message: `EINVAL: file content must be a string or a Uint8Array, got number, open '${w}/new.txt'`,
    inMemoryFsDiffers: "InMemoryFs throws a raw TypeError",
  },
  {
    name: "appendFile of null content (found by the API-misuse fuzzer)",
    call: (fs) => fs.appendFile(`${w}/file`, null as never),
    code: "EINVAL",
    message: `EINVAL: file content must be a string or a Uint8Array, got null, open '${w}/file'`,
    inMemoryFsDiffers: "InMemoryFs throws a raw TypeError",
  },
  { name: "a path with a NUL byte", call: (fs) => fs.readFile(`${w}/a\0b`), code: "ENOENT", message: `ENOENT: path contains null byte, open '${w}/a\0b'`, sameAsInMemoryFs: true },
  {
    name: "a write into a system directory",
    call: (fs) => fs.writeFile("/proc/self/tool", "#!/bin/sh\n"),
    code: "EROFS",
    message: "EROFS: read-only file system, open '/proc/self/tool'",
    inMemoryFsDiffers: "InMemoryFs keeps /proc in memory and writable; ours is the shell's read-only system tree, never the bucket (users' files below /bin, /usr and /dev/fd are kept)",
  },
];

async function seed(fs: IFileSystem): Promise<void> {
  await fs.mkdir(`${w}/dir/sub`, { recursive: true });
  await fs.writeFile(`${w}/file`, "content\n");
  await fs.writeFile(`${w}/other`, "other\n");
  await fs.symlink("nowhere", `${w}/dangling`);
  await fs.symlink("loop-b", `${w}/loop`);
  await fs.symlink("loop", `${w}/loop-b`);
}

async function failure(call: () => Promise<unknown>): Promise<Error & { code?: string; syscall?: string; path?: string }> {
  try {
    await call();
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected the call to fail, but it succeeded");
}

let filesystem: S3CachedFs;
let ours: AcceleratedJustBashFs;
const reference = new InMemoryFs();

beforeAll(async () => {
  const workspace = await testWorkspace("local", "jb-errors");
  filesystem = await workspace.mount();
  ours = new AcceleratedJustBashFs(filesystem, { commands: ["ls"] });
  await seed(ours);
  await seed(reference);
});

afterAll(async () => {
  await filesystem.close();
  removeTempDirectories();
});

describe("each failure has the Node-shaped message just-bash matches on", () => {
  for (const c of cases) {
    test(c.name, async () => {
      const error = await failure(() => c.call(ours));
      expect(error).toBeInstanceOf(FsError);
      expect(error.code).toBe(c.code);
      expect(error.message).toBe(c.message);
      expect(error.message.startsWith(`${c.code}: `)).toBe(true);
      // just-bash words a tree copied or moved into itself without the operation suffix.
      if (!error.message.includes("into itself")) expect(error.message).toContain(`, ${error.syscall} '`);
      expect(error.path).toBeDefined();
      if (c.sameAsInMemoryFs) {
        expect((await failure(() => c.call(reference))).message).toBe(c.message);
      } else {
        expect(c.inMemoryFsDiffers).toBeString();
      }
    });
  }
});

test("errors that are not about the path keep the core's own description", async () => {
  const error = await failure(() => ours.chmod(`${w}/file`, 0o70000));
  expect(error).toBeInstanceOf(FsError);
  expect(error.code).toBe("EINVAL");
  expect(error.message).toBe(`EINVAL: mode must be an integer from 0 to 0o7777, got 28672, chmod '${w}/file'`);
});

test("a failed operation changes nothing", async () => {
  const before = ours.getAllPaths();
  for (const c of cases) await failure(() => c.call(ours));
  expect(ours.getAllPaths()).toEqual(before);
});

test("resolvePath of a path or base that is not a string is FsError EINVAL, not a raw TypeError (found by the API-misuse fuzzer)", () => {
  for (const [base, path] of [[w, 42], [w, Symbol("p")], [null, "x"], [{}, "x"]] as const) {
    let thrown: unknown;
    try {
      ours.resolvePath(base as never, path as never);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(FsError);
    expect((thrown as FsError).code).toBe("EINVAL");
    expect((thrown as FsError).message).toContain("must be a string");
  }
  expect(ours.resolvePath(w, "a/../b")).toBe(`${w}/b`);
});
