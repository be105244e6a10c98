// The shell's system directories, /bin, /usr, /dev and /proc, held in memory by the adapter so
// that none of them ever reaches the bucket. just-bash writes the same layout into any fs that
// has `mkdirSync`/`writeFileSync` (its src/fs/init.ts); the adapter deliberately has no
// `mkdirSync`, and its `writeFileSync` takes only the command stubs just-bash registers, so this
// tree is served instead:
//
//   /bin/<command>, /usr/bin/<command>   one stub per shell command, as just-bash writes them, so
//                                       PATH lookups, `which` and `ls /usr/bin` behave as usual
//   /dev/null, zero, stdin, stdout, stderr, and /dev/fd
//   /proc/version, /proc/self/{exe,cmdline,comm,status,fd/0..2}
//
// The users' own files have a place here too, as over just-bash's InMemoryFs: anything written
// below /bin or /usr (a script put on PATH) lives in the bucket like any other file, next to the
// stubs (a file of the stub's name hides it); /dev/fd is a scratch directory in memory (just-bash
// keeps process substitutions' backing files there, and they must not cost a request). The /dev
// files accept writes and discard them. Anything else under /dev and /proc fails with EROFS:
// nothing written there is silently kept in memory and lost.

import { InMemoryFs } from "just-bash";
import { FsError, joinPath, parentOf, splitPath } from "../core.ts";

/** The top-level directories the system tree serves (users' files below /bin and /usr live in the bucket). */
export const systemRoots: readonly string[] = ["/bin", "/dev", "/proc", "/usr"];

/** The same roots as `systemRoots`, in one test: every call of the adapter asks it first. */
const systemPathPattern = /^\/(?:bin|dev|proc|usr)(?:\/|$)/;

export function isSystemPath(path: string): boolean {
  return systemPathPattern.test(path);
}

/** Below /bin or /usr: the users' files there live in the bucket, beside the in-memory stubs. */
export function isCommandPath(path: string): boolean {
  return path.startsWith("/bin/") || path.startsWith("/usr/");
}

/** The scratch directory /dev/fd and everything below it, kept in memory. */
export const scratchRoot = "/dev/fd";

export function isScratchPath(path: string): boolean {
  return path === scratchRoot || path.startsWith(`${scratchRoot}/`);
}

export interface ProcessInfo {
  pid?: number;
  ppid?: number;
  uid?: number;
  gid?: number;
}

export type SystemNode = SystemDirectory | SystemFile;

export interface SystemDirectory {
  kind: "directory";
  mode: number;
  mtime: Date;
  inode: number;
  children: Map<string, SystemNode>;
}

export interface SystemFile {
  kind: "file";
  mode: number;
  mtime: Date;
  inode: number;
  content: Uint8Array;
  /** A device: reads give `content`, writes are accepted and discarded. */
  device: boolean;
}

const encoder = new TextEncoder();
// just-bash's /proc/version text (src/shell-metadata.ts).
const kernelVersion = "Linux version 5.15.0-generic (just-bash) #1 SMP PREEMPT\n";

export class SystemTree {
  /** /dev/fd's files (just-bash's InMemoryFs, holding only /dev/fd), shared by every view of the adapter. */
  readonly scratch: InMemoryFs;
  private readonly root: SystemDirectory;
  private nextInode = 1;
  private readonly created = new Date();

  /**
   * `commands`: the names to stub in /bin and /usr/bin. Without them there is no /bin or /usr,
   * so just-bash falls back to running any command it has registered (its lookup does so when
   * /usr/bin does not exist); with them, `which` and `ls /usr/bin` work as over InMemoryFs.
   */
  constructor(options: { commands?: Iterable<string> | undefined; processInfo?: ProcessInfo | undefined; maxScratchBytes?: number | undefined } = {}) {
    this.scratch = new InMemoryFs(undefined, options.maxScratchBytes === undefined ? {} : { maxTotalBytes: options.maxScratchBytes });
    this.scratch.mkdirSync(scratchRoot, { recursive: true });
    this.root = this.directory();
    const dev = this.mkdir(this.root, "dev");
    this.mkdir(dev, "fd");
    for (const name of ["null", "zero", "stdin", "stdout", "stderr"]) dev.children.set(name, this.file("", 0o666, true));
    const info = { pid: 1, ppid: 0, uid: 1000, gid: 1000, ...options.processInfo };
    const proc = this.mkdir(this.root, "proc");
    proc.children.set("version", this.file(kernelVersion));
    const self = this.mkdir(proc, "self");
    self.children.set("exe", this.file("/bin/bash"));
    self.children.set("cmdline", this.file("bash\0"));
    self.children.set("comm", this.file("bash\n"));
    self.children.set(
      "status",
      this.file(
        `Name:\tbash\nState:\tR (running)\nPid:\t${info.pid}\nPPid:\t${info.ppid}\n` +
          `Uid:\t${info.uid}\t${info.uid}\t${info.uid}\t${info.uid}\nGid:\t${info.gid}\t${info.gid}\t${info.gid}\t${info.gid}\n`,
      ),
    );
    const descriptors = this.mkdir(self, "fd");
    ["/dev/stdin", "/dev/stdout", "/dev/stderr"].forEach((target, index) => descriptors.children.set(String(index), this.file(target)));
    if (options.commands !== undefined) this.addCommands(options.commands);
  }

  /** Adds /bin/<name> and /usr/bin/<name> stubs (as just-bash's registerCommand writes them). */
  addCommands(names: Iterable<string>): void {
    const bin = this.root.children.get("bin") ?? this.mkdir(this.root, "bin");
    const usr = this.root.children.get("usr") ?? this.mkdir(this.root, "usr");
    const usrBin = (usr.kind === "directory" ? usr.children.get("bin") : undefined) ?? this.mkdir(usr as SystemDirectory, "bin");
    for (const name of names) {
      if (name === "" || name.includes("/") || name.includes("\0")) continue;
      const stub = `#!/bin/bash\n# Built-in command: ${name}\n`;
      for (const directory of [bin, usrBin]) {
        if (directory.kind === "directory" && !directory.children.has(name)) directory.children.set(name, this.file(stub));
      }
    }
  }

  /** Whether `path` is a command stub (a file directly in /bin or /usr/bin). */
  isStub(path: string): boolean {
    const parent = parentOf(path);
    return (parent === "/bin" || parent === "/usr/bin") && this.findQuietly(path)?.kind === "file";
  }

  /** Removes a command stub (`rm /usr/bin/ls`, as over InMemoryFs); the command stays registered. */
  removeStub(path: string): void {
    const parent = this.findQuietly(parentOf(path));
    if (parent?.kind === "directory" && this.isStub(path)) parent.children.delete(path.slice(path.lastIndexOf("/") + 1));
  }

  /** Sets a stub's or a device's permission bits (`chmod +x /bin/ls`), in memory; anything else here is read-only. */
  chmod(path: string, mode: number, syscall: string, reported: string): void {
    const node = this.get(path, syscall, reported);
    if (!(this.isStub(path) || (node.kind === "file" && node.device))) throw this.readOnly(syscall, reported);
    node.mode = mode & 0o7777;
  }

  private findQuietly(path: string): SystemNode | undefined {
    try {
      return this.find(path, "access", path);
    } catch {
      return undefined;
    }
  }

  /** The top-level names the tree adds to a listing of "/". */
  rootNames(): string[] {
    return [...this.root.children.keys()];
  }

  /** The node at a normalised system path, or undefined; ENOTDIR if a file stands in the way. */
  find(path: string, syscall: string, reported: string): SystemNode | undefined {
    let node: SystemNode = this.root;
    for (const name of splitPath(path)) {
      if (node.kind !== "directory") throw new FsError("ENOTDIR", syscall, { path: reported });
      const child: SystemNode | undefined = node.children.get(name);
      if (child === undefined) return undefined;
      node = child;
    }
    return node;
  }

  get(path: string, syscall: string, reported: string): SystemNode {
    const node = this.find(path, syscall, reported);
    if (node === undefined) throw new FsError("ENOENT", syscall, { path: reported });
    return node;
  }

  /** Every path of the tree, parents first. */
  paths(): string[] {
    const out: string[] = [];
    const visit = (directory: SystemDirectory, path: string) => {
      for (const [name, child] of directory.children) {
        const childPath = joinPath(path, name);
        out.push(childPath);
        if (child.kind === "directory") visit(child, childPath);
      }
    };
    visit(this.root, "/");
    out.push(...this.scratch.getAllPaths().filter((path) => path.startsWith(`${scratchRoot}/`)));
    return out;
  }

  /** Accepts a write to a device (discarding its bytes); anything else here is read-only. */
  write(path: string, syscall: string, reported: string): void {
    const node = this.find(path, syscall, reported);
    if (node?.kind === "directory") throw new FsError("EISDIR", syscall, { path: reported });
    if (node?.kind === "file" && node.device) {
      node.mtime = new Date();
      return;
    }
    throw this.readOnly(syscall, reported);
  }

  /** Sets a device's or a stub's modification time (`touch /dev/null`); anything else here is read-only. */
  touch(path: string, mtime: Date, syscall: string, reported: string): void {
    const node = this.get(path, syscall, reported);
    if (node.kind !== "file" || !(node.device || this.isStub(path))) throw this.readOnly(syscall, reported);
    node.mtime = mtime;
  }

  readOnly(syscall: string, reported: string, dest?: string): FsError {
    return new FsError("EROFS", syscall, { path: reported, dest });
  }

  private directory(): SystemDirectory {
    return { kind: "directory", mode: 0o755, mtime: this.created, inode: this.nextInode++, children: new Map() };
  }

  private mkdir(parent: SystemDirectory, name: string): SystemDirectory {
    const directory = this.directory();
    parent.children.set(name, directory);
    return directory;
  }

  private file(content: string, mode = 0o644, device = false): SystemFile {
    return { kind: "file", mode, mtime: this.created, inode: this.nextInode++, content: encoder.encode(content), device };
  }
}
