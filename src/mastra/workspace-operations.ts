// Mastra's WorkspaceFilesystem semantics (@mastra/core 1.71) over the core filesystem, written once
// and served two ways, as the core does: over a mounted S3CachedFs (AcceleratedFS delegates here) and
// over a core Transaction (the `tx` that AcceleratedFS.transaction hands out).
//
// Where the two APIs differ, Mastra's rules are applied here, checked against what its own
// LocalFilesystem does (test/mastra/local-filesystem-reference.test.ts):
// - writeFile, copyFile and moveFile create missing parents, unless `recursive: false`;
// - `overwrite: false` refuses an existing destination (FileExistsError); moveFile honours it too;
// - `expectedMtime` refuses a write when the file's modifiedAt, as stat() reports it, has changed;
// - mkdir is recursive by default and a no-op on an existing directory;
// - deleteFile refuses a directory, rmdir anything else; `force` makes a missing path a no-op.
// A write that needs such a check runs the check and the write in one core transaction, so nothing
// can slip in between (the mtime a StaleFileError protects is compared inside the commit).

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
  type CopyOptions,
  type FileContent,
  type FileEntry,
  type FileStat,
  type FilesystemGrepOptions,
  type FilesystemGrepResult,
  type ListOptions,
  type ReadOptions,
  type RemoveOptions,
  type WalkEntry,
  type WalkOptions,
  type WriteOptions,
} from "@mastra/core/workspace";
import { FsError, S3CachedFs, type FileStats, type MaterializedFile, type TextEncoding, type Transaction } from "../core.ts";
import { translated, type ErrorContext } from "./error-mapping.ts";
import { mimeTypeOf } from "./mime-types.ts";
import { grepFiles, type GrepSettings } from "./native-grep.ts";
import { baseNameOf, isHiddenPath, joinCore, parentAsGiven, toCorePath, toWorkspacePath } from "./workspace-paths.ts";

/** What Mastra operations run on: the mounted filesystem, or one open transaction of it. */
export type FsTarget = S3CachedFs | Transaction;

/**
 * Hands out the target for one operation: `"write"` operations are refused here on a read-only
 * filesystem (before anything is mounted), `"read"` ones may first bring a reader up to date.
 */
export type TargetAccess = (kind: "read" | "write", operation: string) => Promise<FsTarget>;

/** Options of materialize: the core's (allowOversize, onProgress). */
export type MaterializeOptions = NonNullable<Parameters<S3CachedFs["materialize"]>[1]>;

/** Mastra's default depth for a recursive readdir (LocalFilesystem 1.71). */
const defaultReaddirDepth = 100;

export class WorkspaceOperations {
  constructor(
    private readonly access: TargetAccess,
    private readonly grepSettings: GrepSettings,
  ) {}

  // ---- reads ----------------------------------------------------------------------------------

  async readFile(path: string, options?: ReadOptions): Promise<string | Buffer> {
    return this.run("read", { path, operation: "readFile" }, async (fs) => {
      // The core checks the encoding at run time (an unknown one is EINVAL, which Mastra's errors
      // carry); Node's spellings its type leaves out, such as "utf-16le", are accepted there too.
      return options?.encoding === undefined ? fs.readFile(toCorePath(path)) : fs.readText(toCorePath(path), options.encoding as TextEncoding);
    });
  }

  /** Bytes [offset, offset + length) of a file, fetching only the blocks they touch. */
  async readRange(path: string, offset: number, length: number): Promise<Uint8Array> {
    return this.run("read", { path, operation: "readRange" }, (fs) => fs.readRange(toCorePath(path), offset, length));
  }

  /** A real local file with the file's bytes, pinned in the cache until `release()`. */
  async materialize(path: string, options: MaterializeOptions = {}): Promise<MaterializedFile> {
    return this.run("read", { path, operation: "materialize" }, (fs) => fs.materialize(toCorePath(path), options));
  }

  async exists(path: string): Promise<boolean> {
    let corePath: string;
    try {
      corePath = toCorePath(path);
    } catch {
      return false; // outside the workspace: nothing there for this filesystem
    }
    return this.run("read", { path, operation: "exists" }, (fs) => fs.exists(corePath));
  }

  async stat(path: string): Promise<FileStat> {
    return this.run("read", { path, operation: "stat" }, async (fs) => {
      const corePath = toCorePath(path);
      return fileStat(corePath, await fs.stat(corePath));
    });
  }

  /** The canonical path (symbolic links resolved), in the same relative form as stat().path. */
  async realpath(path: string): Promise<string> {
    return this.run("read", { path, operation: "realpath" }, async (fs) => toWorkspacePath(await fs.realpath(toCorePath(path))));
  }

  async readdir(path: string, options?: ListOptions): Promise<FileEntry[]> {
    return this.run("read", { path, operation: "readdir", expected: "directory" }, async (fs) => {
      const corePath = toCorePath(path);
      await requireDirectory(fs, corePath, path);
      // Mastra's maxDepth counts levels below the direct children (0: children only); the core's walk
      // counts the children as depth 1.
      const levels = options?.maxDepth ?? defaultReaddirDepth;
      const depth = !options?.recursive ? 1 : Number.isFinite(levels) ? Math.max(0, Math.floor(levels)) + 1 : undefined;
      const extensions = options?.extension === undefined ? undefined : [options.extension].flat();
      const entries: FileEntry[] = [];
      for (const entry of await fs.walk(corePath, depth === undefined ? {} : { maxDepth: depth })) {
        const fileEntry = entryFor(entry.path, entry.stats) ?? (await linkEntryFor(fs, joinCore(corePath, entry.path), entry.path));
        // The filter applies to files only, by extension with or without its dot (LocalFilesystem).
        if (extensions !== undefined && fileEntry.type === "file" && !matchesExtension(baseNameOf(entry.path), extensions)) continue;
        entries.push(fileEntry);
      }
      return entries;
    });
  }

  /** Every entry below `path` from one query of the local index (root entries are depth 1). */
  async walk(path: string, options?: WalkOptions): Promise<WalkEntry[]> {
    return this.run("read", { path, operation: "walk", expected: "directory" }, async (fs) => {
      const corePath = toCorePath(path);
      await requireDirectory(fs, corePath, path);
      const maxDepth = options?.maxDepth;
      if (maxDepth !== undefined && maxDepth < 1) return [];
      const walked = await fs.walk(corePath, maxDepth === undefined || !Number.isFinite(maxDepth) ? {} : { maxDepth: Math.floor(maxDepth) });
      const entries: WalkEntry[] = [];
      for (const entry of walked) {
        // A dot-entry hides itself and everything below it.
        if (!options?.includeHidden && isHiddenPath(entry.path)) continue;
        const name = baseNameOf(entry.path);
        const fileEntry = entryFor(name, entry.stats) ?? (await linkEntryFor(fs, joinCore(corePath, entry.path), name));
        entries.push({ ...fileEntry, path: entry.path });
      }
      return entries;
    });
  }

  /** Content search from the index and the cache; see native-grep.ts. */
  async grep(options: FilesystemGrepOptions): Promise<FilesystemGrepResult[]> {
    const root = toCorePath(options.path);
    for (const name of ["maxCountPerFile", "maxTotalMatches", "contextLines"] as const) {
      const value: unknown = options[name];
      if (value !== undefined && !(Number.isSafeInteger(value) && (value as number) >= 0)) {
        throw new FilesystemError(`EINVAL: grep option ${name} must be a whole number >= 0, got ${describeValue(value)}`, "EINVAL", options.path);
      }
    }
    return this.run("read", { path: options.path, operation: "grep" }, (fs) => grepFiles(fs, root, options, this.grepSettings));
  }

  // ---- writes ---------------------------------------------------------------------------------

  async writeFile(path: string, content: FileContent, options?: WriteOptions): Promise<void> {
    const context: ErrorContext = { path, operation: "writeFile" };
    const corePath = toCorePath(path);
    const { recursive, overwrite, expectedMtime } = options ?? {};
    if (expectedMtime !== undefined && !(expectedMtime instanceof Date && Number.isFinite(expectedMtime.getTime()))) {
      throw new FilesystemError(`EINVAL: expectedMtime must be a valid Date, got ${expectedMtime instanceof Date ? "an invalid Date" : describeValue(expectedMtime)}`, "EINVAL", path);
    }
    // options.mimeType is only a hint: a file's type is always derived from its name, as in stat().
    if (recursive !== false && overwrite !== false && expectedMtime === undefined) {
      return this.run("write", context, (fs) => fs.writeFile(corePath, content));
    }
    return this.atomically(context, async (tx) => {
      if (recursive === false) {
        const parent = await statOrUndefined(tx, parentOf(corePath));
        if (parent === undefined) throw new DirectoryNotFoundError(parentAsGiven(path));
        if (!parent.isDirectory()) throw new NotDirectoryError(parentAsGiven(path));
      }
      const existing = await statOrUndefined(tx, corePath);
      // The mtime compared is the one stat() reports (FileStats#mtime), to the millisecond: one source.
      if (expectedMtime !== undefined && existing !== undefined && existing.mtime.getTime() !== expectedMtime.getTime()) {
        throw new StaleFileError(path, expectedMtime, existing.mtime);
      }
      if (overwrite === false && existing !== undefined) throw new FileExistsError(path);
      await tx.writeFile(corePath, content);
    });
  }

  /** Adds bytes at the end as new extents: the file is never read back and rewritten. */
  async appendFile(path: string, content: FileContent): Promise<void> {
    const corePath = toCorePath(path);
    return this.run("write", { path, operation: "appendFile" }, (fs) => fs.appendFile(corePath, content));
  }

  async deleteFile(path: string, options?: RemoveOptions): Promise<void> {
    const corePath = toCorePath(path);
    return this.atomically({ path, operation: "deleteFile" }, async (tx) => {
      const existing = await lstatOrUndefined(tx, corePath);
      if (existing === undefined) {
        if (options?.force) return;
        throw new FileNotFoundError(path);
      }
      if (existing.isDirectory()) throw new IsDirectoryError(path);
      await tx.rm(corePath);
    });
  }

  async copyFile(source: string, destination: string, options?: CopyOptions): Promise<void> {
    const from = toCorePath(source);
    const to = toCorePath(destination);
    return this.atomically({ path: source, destination, operation: "copyFile" }, async (tx) => {
      const original = await statOrUndefined(tx, from);
      if (original === undefined) throw new FileNotFoundError(source);
      const existing = await statOrUndefined(tx, to);
      if (original.isDirectory()) {
        if (!options?.recursive) throw new IsDirectoryError(source);
        if (existing !== undefined && !existing.isDirectory()) throw new NotDirectoryError(destination);
        await ensureParent(tx, to, destination);
        if (options.overwrite === false) await mergeTree(tx, from, to);
        else await tx.cp(from, to, { recursive: true, overwrite: true });
        return;
      }
      if (existing?.isDirectory()) throw new IsDirectoryError(destination);
      if (options?.overwrite === false && existing !== undefined) throw new FileExistsError(destination);
      await ensureParent(tx, to, destination);
      await tx.copyFile(from, to, { overwrite: true });
    });
  }

  /** Renames a file or a whole tree: one index update, no bytes move. */
  async moveFile(source: string, destination: string, options?: CopyOptions): Promise<void> {
    const from = toCorePath(source);
    const to = toCorePath(destination);
    return this.atomically({ path: source, destination, operation: "moveFile" }, async (tx) => {
      if ((await lstatOrUndefined(tx, from)) === undefined) throw new FileNotFoundError(source);
      if (options?.overwrite === false && (await lstatOrUndefined(tx, to)) !== undefined) throw new FileExistsError(destination);
      await ensureParent(tx, to, destination);
      await tx.rename(from, to);
    });
  }

  async mkdir(path: string, options?: { recursive?: boolean }): Promise<void> {
    const corePath = toCorePath(path);
    const recursive = options?.recursive ?? true; // Mastra's default (LocalFilesystem and the mkdir tool)
    return this.run("write", { path, operation: "mkdir" }, async (fs) => {
      const existing = await statOrUndefined(fs, corePath);
      if (existing?.isDirectory()) return; // already there: nothing to publish, with or without recursive
      if (existing !== undefined) throw new FileExistsError(path);
      if (!recursive) {
        const parent = await statOrUndefined(fs, parentOf(corePath));
        if (parent === undefined) throw new DirectoryNotFoundError(parentAsGiven(path));
        if (!parent.isDirectory()) throw new NotDirectoryError(path);
      }
      await fs.mkdir(corePath, { recursive });
    });
  }

  async rmdir(path: string, options?: RemoveOptions): Promise<void> {
    const corePath = toCorePath(path);
    return this.atomically({ path, operation: "rmdir", expected: "directory" }, async (tx) => {
      const existing = await lstatOrUndefined(tx, corePath);
      if (existing === undefined) {
        if (options?.force) return;
        throw new DirectoryNotFoundError(path);
      }
      if (!existing.isDirectory()) throw new NotDirectoryError(path); // a link too, as POSIX rmdir
      const children = await tx.readdir(corePath);
      if (children.length > 0 && !options?.recursive) throw new DirectoryNotEmptyError(path);
      if (corePath === "/") {
        // The root cannot go; removing it recursively empties it, which is what remains of
        // LocalFilesystem's `rm -r basePath` once the next init recreates the directory.
        if (children.length === 0) throw new PermissionError(path, "rmdir (the workspace root cannot be removed)");
        for (const child of children) await tx.rm(joinCore("/", child), { recursive: true });
        return;
      }
      await tx.rm(corePath, { recursive: options?.recursive === true });
    });
  }

  // ---- helpers --------------------------------------------------------------------------------

  private async run<T>(kind: "read" | "write", context: ErrorContext, body: (fs: FsTarget) => Promise<T>): Promise<T> {
    return translated(context, async () => body(await this.access(kind, context.operation)));
  }

  /** Runs `body` as one commit: a core transaction, or the transaction this object already serves. */
  private async atomically(context: ErrorContext, body: (tx: FsTarget) => Promise<void>): Promise<void> {
    return this.run("write", context, (fs) => (fs instanceof S3CachedFs ? fs.transaction(body) : body(fs)));
  }
}

function fileStat(corePath: string, stats: FileStats): FileStat {
  const name = baseNameOf(corePath);
  const directory = stats.isDirectory();
  const stat: FileStat = {
    name,
    path: toWorkspacePath(corePath),
    type: directory ? "directory" : "file",
    size: directory ? 0 : stats.size,
    createdAt: stats.birthtime,
    modifiedAt: stats.mtime,
  };
  if (!directory) stat.mimeType = mimeTypeOf(name);
  return stat;
}

/** A FileEntry from the index row alone; undefined for a symbolic link, which needs linkEntryFor. */
function entryFor(name: string, stats: FileStats): FileEntry | undefined {
  if (stats.isSymbolicLink()) return undefined;
  return stats.isDirectory() ? { name, type: "directory" } : { name, type: "file", size: stats.size };
}

/** A link reports the type of what it points at, and its target, as LocalFilesystem does. */
async function linkEntryFor(fs: FsTarget, corePath: string, name: string): Promise<FileEntry> {
  const target = await fs.stat(corePath).catch(() => undefined); // dangling: listed as a file
  return { name, type: target?.isDirectory() ? "directory" : "file", isSymlink: true, symlinkTarget: await fs.readlink(corePath) };
}

async function requireDirectory(fs: FsTarget, corePath: string, reported: string): Promise<void> {
  const stats = await fs.stat(corePath); // ENOENT -> DirectoryNotFoundError through the error context
  if (!stats.isDirectory()) throw new NotDirectoryError(reported);
}

function matchesExtension(name: string, extensions: string[]): boolean {
  const dot = name.lastIndexOf(".");
  const extension = dot <= 0 ? "" : name.slice(dot); // Node's path.extname, as LocalFilesystem uses
  return extensions.some((wanted) => wanted === extension || wanted === extension.slice(1));
}

/** The stats of what `corePath` names, following links; undefined if nothing is there. */
async function statOrUndefined(fs: FsTarget, corePath: string): Promise<FileStats | undefined> {
  return fs.stat(corePath).catch(absentAsUndefined);
}

/** The stats of the entry itself (a link is not followed); undefined if nothing is there. */
async function lstatOrUndefined(fs: FsTarget, corePath: string): Promise<FileStats | undefined> {
  return fs.lstat(corePath).catch(absentAsUndefined);
}

function absentAsUndefined(error: unknown): undefined {
  if (error instanceof FsError && (error.code === "ENOENT" || error.code === "ENOTDIR")) return undefined;
  throw error;
}

function parentOf(corePath: string): string {
  const index = corePath.lastIndexOf("/");
  return index <= 0 ? "/" : corePath.slice(0, index);
}

/** Creates the missing parents of a destination; a parent that is a file is NotDirectoryError. */
async function ensureParent(tx: FsTarget, corePath: string, reported: string): Promise<void> {
  const parent = await statOrUndefined(tx, parentOf(corePath));
  if (parent === undefined) await tx.mkdir(parentOf(corePath), { recursive: true });
  else if (!parent.isDirectory()) throw new NotDirectoryError(reported);
}

/**
 * copyFile(dir, dest, { recursive: true, overwrite: false }): copies what is missing and keeps what
 * is there, as LocalFilesystem's copyDirectory does (it skips each existing file).
 */
async function mergeTree(tx: FsTarget, from: string, to: string): Promise<void> {
  await tx.mkdir(to, { recursive: true });
  for (const entry of await tx.walk(from)) {
    const source = joinCore(from, entry.path);
    const target = joinCore(to, entry.path);
    const existing = await lstatOrUndefined(tx, target);
    if (entry.stats.isDirectory()) {
      if (existing === undefined) await tx.mkdir(target);
      continue;
    }
    if (existing !== undefined) continue;
    if (entry.stats.isSymbolicLink()) await tx.symlink(await tx.readlink(source), target);
    else await tx.copyFile(source, target, { overwrite: false });
  }
}

/** A caller's value for a message: its type, and the value itself when it is a plain number. */
function describeValue(value: unknown): string {
  if (typeof value === "number") return String(value);
  return value === null ? "null" : typeof value;
}
