// Stats and directory entries shaped like Node's (fs.Stats, fs.Dirent), built from index rows.

import type { NodeRow } from "./namespace/namespace.ts";

const typeBits = { directory: 0o040000, file: 0o100000, symlink: 0o120000 } as const;
const uid = process.getuid?.() ?? 0;
const gid = process.getgid?.() ?? 0;

/** isFile(), isDirectory(), isSymbolicLink(), as Node's Stats and Dirent answer them. */
abstract class TypedEntry {
  readonly #kind: NodeRow["kind"];

  constructor(kind: NodeRow["kind"]) {
    this.#kind = kind;
  }

  isFile(): boolean {
    return this.#kind === "file";
  }

  isDirectory(): boolean {
    return this.#kind === "directory";
  }

  isSymbolicLink(): boolean {
    return this.#kind === "symlink";
  }
}

export class FileStats extends TypedEntry {
  readonly dev = 0;
  readonly ino: number;
  /** Type bits and permission bits, as Node reports them (0o100644 for a default file). */
  readonly mode: number;
  /** How many names the file has (hard links); 1 for a directory, as the index counts no "." or "..". */
  readonly nlink: number;
  readonly uid = uid;
  readonly gid = gid;
  readonly rdev = 0;
  readonly size: number;
  readonly blksize = 4096;
  readonly blocks: number;
  readonly atimeMs: number;
  readonly mtimeMs: number;
  readonly ctimeMs: number;
  readonly birthtimeMs: number;
  readonly atime: Date;
  readonly mtime: Date;
  readonly ctime: Date;
  readonly birthtime: Date;

  constructor(node: NodeRow) {
    super(node.kind);
    this.ino = node.ino;
    this.nlink = node.nlink;
    this.mode = typeBits[node.kind] | node.mode;
    this.size = node.size;
    this.blocks = Math.ceil(node.size / 512);
    this.atimeMs = node.atime;
    this.mtimeMs = node.mtime;
    this.ctimeMs = node.ctime;
    this.birthtimeMs = node.birthtime;
    this.atime = new Date(node.atime);
    this.mtime = new Date(node.mtime);
    this.ctime = new Date(node.ctime);
    this.birthtime = new Date(node.birthtime);
  }

  isBlockDevice(): boolean {
    return false;
  }

  isCharacterDevice(): boolean {
    return false;
  }

  isFIFO(): boolean {
    return false;
  }

  isSocket(): boolean {
    return false;
  }
}

export class DirectoryEntry extends TypedEntry {
  constructor(
    readonly name: string,
    /** The directory holding the entry, as Node 20's Dirent.parentPath. */
    readonly parentPath: string,
    kind: NodeRow["kind"],
  ) {
    super(kind);
  }
}
