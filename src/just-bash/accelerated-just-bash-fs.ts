// AcceleratedJustBashFs: just-bash's IFileSystem over the core filesystem (a mount, or one of its
// transactions). Metadata (stat, exists, readdir, the PATH probes before every command) is
// answered by the local index, bytes by the cache or ranged reads, writes by the commit log; the
// shell's system directories (/bin, /usr, /dev, /proc) by an in-memory tree, so they never reach
// the bucket (the users' own files below /bin and /usr do, as any file; /dev/fd is scratch space in
// memory). Errors are core FsErrors with just-bash's message shapes (shell-errors.ts).
//
// Semantics follow POSIX and Node where just-bash's InMemoryFs is looser (it lets a file be
// written below a regular file, moves a directory onto a non-empty one by merging, ...); the
// differential tests name each case where the two differ and why.
//
// It has no `mkdirSync` on purpose: just-bash writes its /bin, /dev and /proc layout into any fs
// that has both it and `writeFileSync`, and those writes would land in the bucket. `writeFileSync`
// takes only the command stubs just-bash writes for each command it registers (custom ones
// included), so a plain `new Bash({ fs })` finds every command it has, as over InMemoryFs.

import { InMemoryFs, unsafeBytesFromLatin1, type BufferEncoding, type ByteString, type CpOptions, type FileContent, type FsStat, type IFileSystem, type MkdirOptions, type RmOptions } from "just-bash";
import { FsError, S3CachedFs, isWithin, joinPath, maxSymlinkHops, parentOf, resolveLinkTarget, resolveWithin, splitPath, type FileStats, type FsErrorCode, type Transaction } from "../core.ts";
import { bytesToText, contentToBytes, encodingOf } from "./encodings.ts";
import { asShellError, intoItselfError, shellError } from "./shell-errors.ts";
import { isCommandPath, isScratchPath, isSystemPath, SystemTree, type ProcessInfo, type SystemNode } from "./system-tree.ts";
import { checkedPath } from "./virtual-paths.ts";

/** What just-bash's readdirWithFileTypes returns (its DirentEntry, which it does not export). */
export interface ShellDirectoryEntry {
  name: string;
  isFile: boolean;
  isDirectory: boolean;
  isSymbolicLink: boolean;
}

type ReadFileOptions = { encoding?: BufferEncoding | null } | BufferEncoding;
type WriteFileOptions = { encoding?: BufferEncoding } | BufferEncoding;

/** The core filesystem the adapter works on: a mount (each write its own commit) or a transaction. */
export type CoreFilesystem = S3CachedFs | Transaction;

/**
 * Called before each write that may reach the core filesystem (writes that stay in the in-memory
 * tree, such as `> /dev/null`, never call it). It may refuse the write by throwing, or give the
 * filesystem this write and every later call of the adapter go to instead: the shell opens a
 * command's commit this way at the command's first write, so that until then the command reads
 * the mount's committed state and holds no commit that other commands would wait for.
 */
export type WriteGate = (op: string, path: string) => Promise<CoreFilesystem | undefined>;

export interface AcceleratedJustBashFsOptions {
  /**
   * Command names to stub in /bin and /usr/bin from the start. Not needed with just-bash's `Bash`:
   * it writes a stub for every command it registers (custom ones included) through
   * `writeFileSync`, which the adapter keeps in memory.
   */
  commands?: Iterable<string>;
  /**
   * The most bytes the mount's regular files may hold together (just-bash's InMemoryFs
   * `maxTotalBytes`, which Bash's `executionLimits.maxFileSystemBytes` sets): a write that would
   * exceed it fails with ENOSPC, just-bash's message, and changes nothing. /dev/fd has its own
   * budget of the same size. No limit by default: the files live in the bucket, not in memory.
   */
  maxTotalBytes?: number;
  /** Shown in /proc/self/status (just-bash's `processInfo`). */
  processInfo?: ProcessInfo;
  /** Once aborted, every call fails with ECANCELED (exists answers false): the command that was given this fs has ended. */
  signal?: AbortSignal;
  /**
   * Over a mount, where each write is its own commit: hold a redirection's empty write back, to
   * be published together with the bytes the command writes through it, and answer a write that
   * cannot fail at once, leaving it in flight (see #write). Whoever sets it must call flush()
   * once the command ends. The shell sets it for `commit: "per-write"`.
   */
  joinRedirections?: boolean;
}

/** A write of the bucket's file `target` not yet landed: what calls that could see it meet. */
interface Reach {
  /** The file in the bucket it writes (links followed). */
  target: string;
  /** The path as the caller gave it, for errors. */
  path: string;
  /** The inode of the directory that holds it, and its own (a file it truncates or extends; undefined: it makes the file). */
  directory: number;
  file: number | undefined;
}

/** An empty write (just-bash opening a redirection's target) not yet published. */
interface HeldWrite extends Reach {
  kind: "write" | "append";
}

/** A write answered to the command and not yet given to the mount (see #launch). */
interface DeferredWrite {
  reach: Reach;
  bytes: number;
  write: () => Promise<void>;
}

/**
 * Deferred writes given to the mount at once, without waiting for a turn of the event loop,
 * once this many wait: one record need not carry a whole long script.
 */
const maxDeferredWrites = 1_000;

/** Where a path leads once symbolic links are followed: the bucket's tree, or the system tree. */
interface Location {
  system: boolean;
  path: string;
}

/** `dev` of the system tree's entries, distinct from the core's, so `test a -ef b` stays exact. */
const systemDevice = -1;

export class AcceleratedJustBashFs implements IFileSystem {
  #target: CoreFilesystem;
  /** Consulted before writes until it gives another filesystem (see WriteGate). */
  #gate: WriteGate | undefined;
  #system: SystemTree;
  readonly #options: AcceleratedJustBashFsOptions;
  /** With maxTotalBytes, over a transaction: the bytes of the regular files, as of this view's last write (undefined: to be summed). */
  #usedBytes: number | undefined;
  /** A redirection's empty write, held back to join the command's bytes in one commit (see #write). */
  #held: HeldWrite | undefined;
  /** Writes answered and not yet given to the mount, in the order made (see #launch). */
  #deferred: DeferredWrite[] = [];
  /** Their bytes. */
  #deferredBytes = 0;
  /** A turn of the event loop is asked for, to give the deferred writes to the mount. */
  #submitting = false;
  /** Writes given to the mount and not awaited (see #write), until each lands; their promises never reject. */
  readonly #inFlight = new Map<Promise<void>, Reach>();
  /** Why a write in flight failed (the first one), until flush() reports it. */
  #failure: unknown;

  constructor(filesystem: CoreFilesystem, options: AcceleratedJustBashFsOptions = {}) {
    const limit = options.maxTotalBytes;
    if (limit !== undefined && !(limit === Number.POSITIVE_INFINITY || (Number.isSafeInteger(limit) && limit >= 0))) {
      throw new FsError("EINVAL", "AcceleratedJustBashFs", { detail: `maxTotalBytes: expected a non-negative integer number of bytes, got ${String(limit)}` });
    }
    this.#target = filesystem;
    this.#options = options;
    this.#system = new SystemTree({ commands: options.commands, processInfo: options.processInfo, maxScratchBytes: limit === Number.POSITIVE_INFINITY ? undefined : limit });
  }

  /** The core filesystem (a mount or a transaction) this adapter reads and writes now. */
  get filesystem(): CoreFilesystem {
    return this.#target;
  }

  /**
   * Runs `body` as one commit of the core filesystem: `body` gets an adapter over the transaction,
   * and nothing is published if it throws. Inside a transaction already, `body` simply joins it.
   */
  async transaction<T>(body: (fs: AcceleratedJustBashFs) => Promise<T>): Promise<T> {
    if (this.#pending()) await this.#landed();
    if (!(this.filesystem instanceof S3CachedFs)) return body(this);
    return this.filesystem.transaction((transaction) => body(this.over(transaction, this.#options.signal)));
  }

  /**
   * An adapter over `filesystem` (a transaction of the same mount, or the mount itself) sharing
   * this one's system tree, and ending with `signal`. The shell gives one to each command, with
   * a `gate` that opens the command's commit at its first write.
   */
  over(filesystem: CoreFilesystem, signal?: AbortSignal, options: { joinRedirections?: boolean; gate?: WriteGate } = {}): AcceleratedJustBashFs {
    const view = new AcceleratedJustBashFs(filesystem, {
      ...(signal === undefined ? {} : { signal }),
      ...(this.#options.maxTotalBytes === undefined ? {} : { maxTotalBytes: this.#options.maxTotalBytes }),
      ...(options.joinRedirections === true ? { joinRedirections: true } : {}),
    });
    view.#system = this.#system; // its command stubs and process info included
    view.#gate = options.gate;
    return view;
  }

  /**
   * Publishes a redirection's empty write this adapter still holds and waits for every write it
   * left in flight (joinRedirections): resolves once all of them are durable, and rejects with
   * the first one's error if one failed (that error may have reached no call of the command, or
   * only one that answers without throwing, such as exists). Resolves at once when nothing is
   * held or in flight.
   */
  async flush(): Promise<void> {
    try {
      if (this.#pending()) await this.#landed();
    } finally {
      this.#failure = undefined;
    }
  }

  /** Adds /bin and /usr/bin stubs for more command names (a command registered later). */
  addCommands(names: Iterable<string>): void {
    this.#system.addCommands(names);
  }

  /**
   * Takes the command stubs just-bash's `Bash` writes for every command it registers
   * (`/bin/<name>`, `/usr/bin/<name>`), into the in-memory tree: a plain `new Bash({ fs })` then
   * finds each of its commands, custom ones included, along PATH. Every other synchronous write
   * is refused (EROFS): the bucket is written asynchronously only.
   */
  writeFileSync(path: string, content: FileContent): void {
    const normalized = this.#check("open", path);
    const name = normalized.slice(normalized.lastIndexOf("/") + 1);
    const directory = parentOf(normalized);
    const stub = `#!/bin/bash\n# Built-in command: ${name}\n`;
    if ((directory === "/bin" || directory === "/usr/bin") && (content === stub || (content instanceof Uint8Array && bytesToText(content, "utf8") === stub))) {
      this.#system.addCommands([name]);
      return;
    }
    throw shellError("EROFS", "open", path, "synchronous writes take only just-bash's command stubs (/bin/<name>, /usr/bin/<name>)");
  }

  // ---- reads ----------------------------------------------------------------------------------

  async readFile(path: string, options?: ReadFileOptions): Promise<string> {
    return bytesToText(await this.readFileBuffer(path), encodingOf(options));
  }

  async readFileBytes(path: string): Promise<ByteString> {
    return unsafeBytesFromLatin1(bytesToText(await this.readFileBuffer(path), "latin1"));
  }

  async readFileBuffer(path: string): Promise<Uint8Array> {
    const normalized = this.#check("open", path);
    if (this.#pending() && this.#mightSee(normalized, true)) await this.#landed();
    if (this.#inMemory(normalized) || (isCommandPath(normalized) && (await this.#stubOnly(normalized)))) return this.#systemRead(normalized, path);
    try {
      const bytes = await this.filesystem.readFile(normalized);
      return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    } catch (error) {
      if (this.#missingWithoutLink(error, normalized, true)) throw asShellError(error, "open", path);
      const location = await this.#locateAfter(error, normalized, true, "open", path);
      return this.#systemRead(location.path, path);
    }
  }

  /** Never throws (just-bash probes with it before every command): anything unusable is "no". */
  async exists(path: string): Promise<boolean> {
    if (typeof path !== "string" || path.includes("\0") || path === "") return false;
    if (this.#options.signal?.aborted) return false;
    const normalized = resolveWithin("/", path);
    try {
      if (this.#pending() && this.#mightSee(normalized, true)) await this.#landed();
      if (this.#inMemory(normalized) || (isCommandPath(normalized) && (await this.#stubOnly(normalized)))) return await this.#memoryExists(normalized);
      const found = this.filesystem.probe(normalized);
      if (!("missing" in found)) return true;
      // No link on the way and outside the system directories: the path cannot reach the in-memory tree.
      if (!found.throughLink && !isSystemPath(normalized)) return false;
      const location = await this.#locate(normalized, true, "access", path);
      return location.system && (await this.#memoryExists(location.path));
    } catch {
      return false; // a closed filesystem or an ended transaction
    }
  }

  async stat(path: string): Promise<FsStat> {
    const normalized = this.#check("stat", path);
    if (this.#pending() && this.#mightSee(normalized, true)) await this.#landed();
    if (this.#inMemory(normalized) || (isCommandPath(normalized) && (await this.#stubOnly(normalized)))) return this.#memoryStat(normalized, true, "stat", path);
    const found = this.#probe(normalized, true, "stat", path);
    if (found !== undefined) return coreStats(found);
    try {
      return coreStats(await this.filesystem.stat(normalized));
    } catch (error) {
      const location = await this.#locateAfter(error, normalized, true, "stat", path);
      return this.#memoryStat(location.path, true, "stat", path);
    }
  }

  async lstat(path: string): Promise<FsStat> {
    const normalized = this.#check("lstat", path);
    if (this.#pending() && this.#mightSee(normalized, false)) await this.#landed();
    if (this.#inMemory(normalized) || (isCommandPath(normalized) && (await this.#stubOnly(normalized)))) return this.#memoryStat(normalized, false, "lstat", path);
    const found = this.#probe(normalized, false, "lstat", path);
    if (found !== undefined) return coreStats(found);
    try {
      return coreStats(await this.filesystem.lstat(normalized));
    } catch (error) {
      const location = await this.#locateAfter(error, normalized, false, "lstat", path);
      return this.#memoryStat(location.path, false, "lstat", path);
    }
  }

  async readdir(path: string): Promise<string[]> {
    return (await this.#list(path)).map((entry) => entry.name);
  }

  async readdirWithFileTypes(path: string): Promise<ShellDirectoryEntry[]> {
    return this.#list(path);
  }

  async readlink(path: string): Promise<string> {
    const normalized = this.#check("readlink", path);
    if (this.#pending() && this.#mightSee(normalized, false)) await this.#landed();
    const location: Location = { system: true, path: normalized };
    if (!this.#inMemory(normalized)) {
      try {
        return await this.filesystem.readlink(normalized);
      } catch (error) {
        Object.assign(location, await this.#locateAfter(error, normalized, false, "readlink", path));
      }
    }
    if (isCommandPath(location.path)) {
      const link = await this.filesystem.readlink(location.path).catch(() => undefined);
      if (link !== undefined) return link;
    }
    await this.#memoryStat(location.path, false, "readlink", path);
    throw shellError("EINVAL", "readlink", path); // the in-memory tree holds no symbolic links
  }

  async realpath(path: string): Promise<string> {
    const normalized = this.#check("realpath", path);
    if (this.#pending() && this.#mightSee(normalized, true)) await this.#landed();
    if (this.#inMemory(normalized)) {
      await this.#memoryStat(normalized, false, "realpath", path);
      return normalized;
    }
    try {
      return await this.filesystem.realpath(normalized);
    } catch (error) {
      const location = await this.#locateAfter(error, normalized, true, "realpath", path);
      if (isCommandPath(location.path)) {
        const real = await this.filesystem.realpath(location.path).catch(() => undefined);
        if (real !== undefined) return real;
      }
      await this.#memoryStat(location.path, false, "realpath", path);
      return location.path;
    }
  }

  resolvePath(base: string, path: string): string {
    for (const [name, value] of [["base", base], ["path", path]] as const) {
      if (typeof value !== "string") throw new FsError("EINVAL", "resolvePath", { detail: `${name} must be a string, got ${value === null ? "null" : typeof value}` });
    }
    return resolveWithin(base, path);
  }

  /** Every path, from the local index and the system tree (synchronous, as just-bash requires). */
  getAllPaths(): string[] {
    // A held write's file, and those of writes in flight, are there for the command already.
    const pending = this.#pendingReaches().map((reach) => reach.target);
    return [...new Set([...this.filesystem.allPaths(), ...pending, ...this.#system.paths()])].sort(byName);
  }

  // ---- writes ---------------------------------------------------------------------------------

  async writeFile(path: string, content: FileContent, options?: WriteFileOptions): Promise<void> {
    await this.#write("write", path, content, options);
  }

  async appendFile(path: string, content: FileContent, options?: WriteFileOptions): Promise<void> {
    await this.#write("append", path, content, options);
  }

  async mkdir(path: string, options: MkdirOptions = {}): Promise<void> {
    const normalized = this.#check("mkdir", path);
    if (this.#pending()) await this.#landed();
    await this.#writing("mkdir", path, normalized);
    const recursive = options.recursive === true;
    const location = await this.#locate(normalized, false, "mkdir", path);
    if (location.system) {
      if (isScratchPath(location.path)) return this.#scratchCall("mkdir", path, (scratch) => scratch.mkdir(location.path, { recursive }));
      const existing = await this.#memoryStat(location.path, false, "mkdir", path).catch(() => undefined);
      if (existing !== undefined) {
        if (existing.isDirectory && recursive) return;
        throw shellError("EEXIST", "mkdir", path);
      }
      if (!isCommandPath(location.path)) throw this.#system.readOnly("mkdir", path);
      await this.#bucketParents(location.path);
      try {
        await this.filesystem.mkdir(location.path, { recursive });
      } catch (error) {
        throw asShellError(error, "mkdir", path);
      }
      return;
    }
    try {
      await this.filesystem.mkdir(normalized, { recursive });
    } catch (error) {
      throw asShellError(error, "mkdir", path);
    }
  }

  async rm(path: string, options: RmOptions = {}): Promise<void> {
    const normalized = this.#check("rm", path);
    if (this.#pending()) await this.#landed();
    await this.#writing("rm", path, normalized);
    this.#usedBytes = undefined; // what a removal releases is summed again at the next write
    const location = await this.#locate(normalized, false, "rm", path);
    const force = options.force === true;
    const recursive = options.recursive === true;
    if (location.system) {
      if (isScratchPath(location.path)) return this.#scratchCall("rm", path, (scratch) => scratch.rm(location.path, { recursive, force }));
      if (isCommandPath(location.path) && (await this.#bucketHas(location.path))) return this.#bucketRm(location.path, recursive, force, path);
      if (this.#systemFind(location.path) === undefined) {
        if (force) return;
        throw shellError("ENOENT", "rm", path);
      }
      if (!this.#system.isStub(location.path)) throw this.#system.readOnly("rm", path);
      this.#system.removeStub(location.path);
      return;
    }
    await this.#bucketRm(normalized, recursive, force, path);
  }

  /**
   * Copies as GNU cp does (just-bash's cp passes only `recursive`, for -r and -R): without it a
   * symbolic link is followed and its target's bytes copied; with it the link itself is copied,
   * at the top as inside the tree (GNU's -r implies -P).
   */
  async cp(source: string, destination: string, options: CpOptions = {}): Promise<void> {
    const from = this.#check("cp", source);
    const to = this.#check("cp", destination);
    if (this.#pending()) await this.#landed();
    await this.#writing("cp", destination, from, to);
    const recursive = options.recursive === true;
    const origin = await this.#locate(from, !recursive, "cp", source);
    if (recursive && !origin.system) {
      const stats = await this.filesystem.lstat(from).catch(() => undefined);
      if (stats?.isSymbolicLink()) return this.#copyLink(from, to, source, destination);
    }
    const followed = recursive ? await this.#locate(from, true, "cp", source) : origin;
    const target = await this.#locate(to, true, "cp", destination);
    if (followed.system || target.system) {
      await this.#copyAcross(followed, target, recursive, source, destination);
      return;
    }
    let stats: FileStats;
    try {
      stats = await this.filesystem.stat(from);
    } catch (error) {
      throw asShellError(error, "cp", source);
    }
    if (stats.isDirectory()) {
      if (!recursive) throw shellError("EISDIR", "cp", source);
      if (isWithin(target.path, await this.filesystem.realpath(from))) throw intoItselfError("cp", source, destination);
    }
    const quota = await this.#checkQuota("cp", destination, () => (stats.isDirectory() ? this.#treeBytes(from) : Promise.resolve(stats.size)), () => this.#fileBytes(to));
    try {
      await this.filesystem.cp(from, to, { recursive, overwrite: true });
    } catch (error) {
      this.#usedBytes = undefined;
      throw asShellError(error, "cp", destination);
    }
    this.#counted(quota);
  }

  async mv(source: string, destination: string): Promise<void> {
    const from = this.#check("mv", source);
    const to = this.#check("mv", destination);
    if (this.#pending()) await this.#landed();
    await this.#writing("mv", destination, from, to);
    this.#usedBytes = undefined; // a move may replace a file: summed again at the next write
    const origin = await this.#locate(from, false, "mv", source);
    const target = await this.#locate(to, false, "mv", destination);
    const originInBucket = !origin.system || (isCommandPath(origin.path) && (await this.#bucketHas(origin.path)));
    const targetInBucket = !target.system || isCommandPath(target.path);
    if (!originInBucket || !targetInBucket) {
      // Between the bucket and memory (/dev/fd, a command stub): a copy and a removal, as mv does across devices.
      if (origin.system && !isScratchPath(origin.path) && !this.#system.isStub(origin.path)) {
        if (this.#systemFind(origin.path) === undefined) throw shellError("ENOENT", "mv", source);
        throw this.#system.readOnly("mv", source);
      }
      if (target.system && !isScratchPath(target.path) && !isCommandPath(target.path)) throw this.#system.readOnly("mv", destination);
      await this.cp(source, destination, { recursive: true });
      await this.rm(source, { recursive: true, force: true });
      return;
    }
    const fromPath = origin.system ? origin.path : from;
    const toPath = target.system ? target.path : to;
    let stats: FileStats;
    try {
      stats = await this.filesystem.lstat(fromPath);
    } catch (error) {
      throw asShellError(error, "mv", source);
    }
    if (stats.isDirectory() && target.path !== origin.path && isWithin(target.path, origin.path)) throw intoItselfError("mv", source, destination);
    if (target.system) await this.#bucketParents(target.path);
    try {
      await this.filesystem.rename(fromPath, toPath);
    } catch (error) {
      throw asShellError(error, "mv", destination);
    }
  }

  async chmod(path: string, mode: number): Promise<void> {
    const normalized = this.#check("chmod", path);
    if (this.#pending()) await this.#landed();
    await this.#writing("chmod", path, normalized);
    const location = await this.#locate(normalized, true, "chmod", path);
    if (location.system) {
      if (isScratchPath(location.path)) return this.#scratchCall("chmod", path, (scratch) => scratch.chmod(location.path, mode));
      if (isCommandPath(location.path) && (await this.#bucketHas(location.path))) {
        try {
          await this.filesystem.chmod(location.path, mode);
        } catch (error) {
          throw asShellError(error, "chmod", path);
        }
        return;
      }
      this.#system.chmod(location.path, mode, "chmod", path);
      return;
    }
    try {
      await this.filesystem.chmod(normalized, mode);
    } catch (error) {
      throw asShellError(error, "chmod", path);
    }
  }

  async utimes(path: string, atime: Date, mtime: Date): Promise<void> {
    const normalized = this.#check("utimes", path);
    if (this.#pending()) await this.#landed();
    await this.#writing("utimes", path, normalized);
    const location = await this.#locate(normalized, true, "utimes", path);
    if (location.system) {
      if (isScratchPath(location.path)) return this.#scratchCall("utimes", path, (scratch) => scratch.utimes(location.path, atime, mtime));
      if (isCommandPath(location.path) && (await this.#bucketHas(location.path))) {
        try {
          await this.filesystem.utimes(location.path, atime, mtime);
        } catch (error) {
          throw asShellError(error, "utimes", path);
        }
        return;
      }
      this.#system.touch(location.path, mtime, "utimes", path);
      return;
    }
    try {
      await this.filesystem.utimes(normalized, atime, mtime);
    } catch (error) {
      throw asShellError(error, "utimes", path);
    }
  }

  /** As symlink(2) and Node's fs.symlink: the link's directory must exist (`ln -s t a/b/l` fails when a/b does not). */
  async symlink(target: string, linkPath: string): Promise<void> {
    const normalized = this.#check("symlink", linkPath);
    if (this.#pending()) await this.#landed();
    await this.#writing("symlink", linkPath, normalized);
    const location = await this.#locate(normalized, false, "symlink", linkPath);
    let path = normalized;
    if (location.system) {
      if ((await this.#memoryStat(location.path, false, "symlink", linkPath).catch(() => undefined)) !== undefined) throw shellError("EEXIST", "symlink", linkPath);
      // EROFS rather than EPERM, which just-bash's ln words as "hard link not allowed for directory".
      if (isScratchPath(location.path)) throw shellError("EROFS", "symlink", linkPath, "read-only file system: /dev/fd holds no symbolic links");
      if (!isCommandPath(location.path)) throw this.#system.readOnly("symlink", linkPath);
      await this.#bucketParents(location.path);
      path = location.path;
    }
    try {
      await this.filesystem.symlink(target, path);
    } catch (error) {
      throw asShellError(error, "symlink", linkPath);
    }
  }

  /**
   * A hard link (link(2)): `newPath` becomes another name of the file at `existingPath`, sharing
   * its bytes, mode and times (`ino` equal, `test a -ef b` true). A symbolic link is linked as
   * itself. Errors as InMemoryFs words them: ENOENT and EPERM (a directory) name the source,
   * EEXIST the new name. The in-memory tree (/dev, /proc, the command stubs) takes no hard links
   * (EROFS); users' files below /bin and /usr are the bucket's and do.
   */
  async link(existingPath: string, newPath: string): Promise<void> {
    const source = this.#check("link", existingPath);
    const target = this.#check("link", newPath);
    if (this.#pending()) await this.#landed();
    await this.#writing("link", newPath, source, target);
    const from = await this.#locate(source, false, "link", existingPath);
    const to = await this.#locate(target, false, "link", newPath);
    let fromPath = from.path;
    let toPath = to.path;
    if (from.system || to.system) {
      try {
        await this.lstat(source);
      } catch (error) {
        throw asShellError(error, "link", existingPath);
      }
      if (await this.#entryExists(target)) throw shellError("EEXIST", "link", newPath);
      const bucketSource = !from.system || (isCommandPath(from.path) && (await this.#bucketHas(from.path)));
      // EROFS rather than EPERM, which just-bash's ln words as "hard link not allowed for directory".
      if (to.system && !isCommandPath(to.path)) throw this.#system.readOnly("link", newPath);
      if (!bucketSource) throw shellError("EROFS", "link", existingPath, "read-only file system: the in-memory tree's files take no hard links");
      if (to.system) await this.#bucketParents(to.path);
      fromPath = from.path;
      toPath = to.path;
    }
    try {
      await this.filesystem.link(fromPath, toPath);
    } catch (error) {
      if (error instanceof FsError && error.code === "EEXIST") throw shellError("EEXIST", "link", newPath);
      throw asShellError(error, "link", existingPath);
    }
  }

  // ---- helpers --------------------------------------------------------------------------------

  /** Fails once the command holding this adapter has ended; checks and normalises the path. */
  #check(op: string, path: string): string {
    if (this.#options.signal?.aborted) throw shellError("ECANCELED", op, path, "the command that made this call has already ended");
    return checkedPath(path, op);
  }

  /**
   * Before a write that may reach the core filesystem (any of `paths` outside /dev and /proc):
   * the gate may refuse it or move the adapter onto another filesystem (the command's commit).
   */
  async #writing(op: string, reported: string, ...paths: string[]): Promise<void> {
    const gate = this.#gate;
    if (gate === undefined || paths.every((path) => this.#inMemory(path))) return;
    const target = await gate(op, reported);
    if (target !== undefined && this.#gate === gate) {
      this.#target = target;
      this.#gate = undefined;
      this.#usedBytes = undefined; // summed afresh on the new filesystem
    }
    this.#check(op, reported); // the command may have ended while its commit opened
  }

  /**
   * Whether `path` is answered from memory before the bucket is asked: /dev and /proc, and the
   * stubs' directories /bin, /usr and /usr/bin while the tree has them. Below /bin and /usr the
   * bucket is asked first (the users' files), then the stubs.
   */
  #inMemory(path: string): boolean {
    if (!isSystemPath(path)) return false;
    if (path === "/bin" || path === "/usr" || path === "/usr/bin") return this.#systemFind(path) !== undefined;
    return !isCommandPath(path);
  }

  /**
   * The entry's stats from one index lookup; for a path outside the system directories that leads
   * nowhere without passing a symbolic link (so it cannot lead into the in-memory tree either), its
   * ENOENT or ENOTDIR at once, without the walk of #locate. Undefined when the caller's full path must
   * answer: missing through a link, or a call the core refuses (a closed filesystem, ELOOP).
   */
  #probe(normalized: string, followLast: boolean, op: string, reported: string): FileStats | undefined {
    let found: ReturnType<CoreFilesystem["probe"]>;
    try {
      found = this.filesystem.probe(normalized, { followLinks: followLast });
    } catch {
      return undefined; // the call itself reports it, as it always has
    }
    if (!("missing" in found)) return found;
    if (!found.throughLink && !isSystemPath(normalized)) throw shellError(found.missing, op, reported);
    return undefined;
  }

  /** Whether the core's ENOENT or ENOTDIR for `normalized` stands as it is: outside the system directories, no link on the way could lead into the in-memory tree. */
  #missingWithoutLink(error: unknown, normalized: string, followLast: boolean): boolean {
    if (!(error instanceof FsError) || (error.code !== "ENOENT" && error.code !== "ENOTDIR") || isSystemPath(normalized)) return false;
    try {
      const found = this.filesystem.probe(normalized, { followLinks: followLast });
      return "missing" in found && !found.throughLink;
    } catch {
      return false;
    }
  }

  async #write(kind: "write" | "append", path: string, content: FileContent, options: WriteFileOptions | undefined): Promise<void> {
    const normalized = this.#check("open", path);
    const bytes = contentToBytes(content, encodingOf(options), "open", path);
    await this.#writing("open", path, normalized);
    const location = await this.#locate(normalized, true, "open", path);
    let target = normalized;
    if (location.system) {
      if (isScratchPath(location.path)) {
        return this.#scratchCall("open", path, (scratch) => (kind === "write" ? scratch.writeFile(location.path, bytes) : scratch.appendFile(location.path, bytes)));
      }
      if (!isCommandPath(location.path) || (await this.#memoryStat(location.path, true, "open", path).catch(() => undefined))?.isDirectory === true) {
        this.#system.write(location.path, "open", path);
        return;
      }
      target = location.path; // a user's file below /bin or /usr: the bucket keeps it
    }
    // Nothing the command writes after a write of it failed is published.
    if (this.#failure !== undefined) throw this.#failure;
    // just-bash opens a redirection's target with an empty write, then writes the command's
    // output with a second one. Where each write is a commit (joinRedirections), the empty one is
    // held back and joins the next write to the same file: truncating and then writing the bytes
    // is writing them, so the redirection is one commit instead of two. Any other call publishes
    // the held write first, so every call the command makes finds it in place, as it would have;
    // only the moment others can see the empty file moves, to just before its bytes land.
    const held = this.#held;
    const joined = held !== undefined && !location.system && held.target === target ? held : undefined;
    if (joined !== undefined) {
      this.#held = undefined;
      if (joined.kind === "write") kind = "write";
    } else this.#release(); // before this write, in the order made
    if (!location.system) {
      const holding = bytes.byteLength === 0 ? this.#holdable(kind, target, path) : undefined;
      if (holding !== undefined) {
        this.#held = holding;
        return;
      }
      // Where each write is a commit, a write that cannot fail is answered at once and left in
      // flight: the command goes on while its record is PUT, and the mount's records in flight
      // (docs/s3-layout.md C8) carry the next writes meanwhile. The mount queues it now, behind
      // the command's earlier writes, so the writes still land in the order made; a call that
      // could see it waits for it (#mightSee), and flush() waits for all of them.
      const flying = this.#flyable(target, path, bytes.byteLength);
      if (flying !== undefined) {
        const filesystem = this.filesystem;
        this.#launch(flying, bytes.byteLength, () => (kind === "write" ? filesystem.writeFile(target, bytes) : filesystem.appendFile(target, bytes)));
        return;
      }
    }
    // A write that might fail is checked on a state that has every earlier write of the command.
    if (this.#pending()) await this.#landed();
    let quota: number | undefined;
    try {
      quota = await this.#checkQuota("open", path, () => Promise.resolve(bytes.byteLength), () => (kind === "write" ? this.#fileBytes(target) : Promise.resolve(0)));
      if (kind === "write") await this.filesystem.writeFile(target, bytes);
      else await this.filesystem.appendFile(target, bytes);
    } catch (error) {
      this.#usedBytes = undefined;
      // The bytes failed, not the redirection: its empty write stands, as it would have on its own.
      if (joined !== undefined) await this.#publish(joined).catch(() => {});
      throw asShellError(error, "open", path);
    }
    this.#counted(quota);
    // A user's file of a stub's name replaces the stub, as over InMemoryFs: removing the file then leaves neither.
    if (location.system) this.#system.removeStub(target);
  }

  /** Whether a write is held or in flight, or one failed: calls that could see it wait for it first. */
  #pending(): boolean {
    return this.#held !== undefined || this.#deferred.length > 0 || this.#inFlight.size > 0 || this.#failure !== undefined;
  }

  /**
   * What a write to `target` reaches, when it cannot fail: over a writable mount where each
   * write is a commit (joinRedirections), its directory is there and the file is a regular one or
   * missing (not through a link). Only another writer's commit meanwhile could make it fail.
   */
  #reach(target: string, path: string): Reach | undefined {
    const filesystem = this.filesystem;
    if (this.#options.joinRedirections !== true || !(filesystem instanceof S3CachedFs) || filesystem.mode !== "readwrite") return undefined;
    try {
      const found = filesystem.probe(target, { followLinks: false });
      const parent = filesystem.probe(parentOf(target));
      if ("missing" in parent || !parent.isDirectory()) return undefined;
      if (!("missing" in found)) return found.isFile() ? { target, path, directory: parent.ino, file: found.ino } : undefined;
      if (found.missing !== "ENOENT" || found.throughLink) return undefined;
      return { target, path, directory: parent.ino, file: undefined };
    } catch {
      return undefined; // a name too long, a closed filesystem: the write itself reports it
    }
  }

  /**
   * The write to hold, when an empty write to `target` may be held (#reach). A regular file is
   * truncated; a missing one is made. Appending nothing to an existing file publishes nothing already.
   */
  #holdable(kind: "write" | "append", target: string, path: string): HeldWrite | undefined {
    const reach = this.#reach(target, path);
    if (reach === undefined || (reach.file !== undefined && kind !== "write")) return undefined;
    return { ...reach, kind };
  }

  /**
   * What a write of `size` bytes reaches, when it may be left in flight: it cannot fail (#reach),
   * the mount queues it as soon as it is called (at most largeFileBytes: a larger one uploads its
   * chunks first, and a later write would overtake it), and no byte cap needs the tree's size
   * (maxTotalBytes sums the index, which has only the writes that landed).
   */
  #flyable(target: string, path: string, size: number): Reach | undefined {
    const filesystem = this.filesystem;
    const limit = this.#options.maxTotalBytes;
    if (!(filesystem instanceof S3CachedFs) || size > filesystem.largeFileBytes || (limit !== undefined && limit !== Number.POSITIVE_INFINITY)) return undefined;
    return this.#reach(target, path);
  }

  /**
   * Answers `write` at once and gives it to the mount at the next turn of the event loop, together
   * with every other write the command made meanwhile, in the order made: the mount queues them
   * at once and publishes them in one record (or several, docs/s3-layout.md C8), where giving
   * each on its own as it comes would make each its own commit (on a local store its PUT ends
   * before the command's next write). The mount commits a batch queued behind another after such
   * a turn too. A call that could see one of them gives them to the mount at once (#landed).
   */
  #launch(reach: Reach, bytes: number, write: () => Promise<void>): void {
    this.#deferred.push({ reach, bytes, write });
    this.#deferredBytes += bytes;
    const filesystem = this.filesystem;
    if (this.#deferred.length >= maxDeferredWrites || (filesystem instanceof S3CachedFs && this.#deferredBytes >= filesystem.largeFileBytes)) {
      this.#submit();
      return;
    }
    if (this.#submitting) return;
    this.#submitting = true;
    setImmediate(() => {
      this.#submitting = false;
      this.#submit();
    });
  }

  /**
   * Gives the deferred writes to the mount, in the order made and without waiting between them
   * (each is queued as it is called: #flyable): they are in flight until each lands, and the
   * first failure is kept for the calls that wait and for flush(). After a failed write nothing
   * more is given: the writes still deferred are dropped.
   */
  #submit(): void {
    const writes = this.#deferred;
    this.#deferred = [];
    this.#deferredBytes = 0;
    if (this.#failure !== undefined) return;
    for (const { reach, write } of writes) {
      const landing: Promise<void> = write()
        .catch((error: unknown) => {
          this.#failure ??= asShellError(error, "open", reach.path);
        })
        .finally(() => this.#inFlight.delete(landing));
      this.#inFlight.set(landing, reach);
    }
  }

  /** Defers the held write on its own (another call came first). After a failed write, drops it: nothing later is published. */
  #release(): void {
    const held = this.#held;
    if (held === undefined) return;
    this.#held = undefined;
    if (this.#failure !== undefined) return;
    this.#launch(held, 0, () => this.#publish(held));
  }

  /** Gives the held and deferred writes to the mount, then waits until every write in flight has landed; rejects with the first one's error if one failed. */
  async #landed(): Promise<void> {
    this.#release();
    this.#submit();
    while (this.#inFlight.size > 0) await Promise.all(this.#inFlight.keys());
    if (this.#failure !== undefined) throw this.#failure;
  }

  /** What the held, deferred and in-flight writes reach. */
  #pendingReaches(): Reach[] {
    const reaches = [...this.#inFlight.values(), ...this.#deferred.map((deferred) => deferred.reach)];
    if (this.#held !== undefined) reaches.push(this.#held);
    return reaches;
  }

  /**
   * Whether a call reading `path` could tell that a held write or a write in flight has not
   * landed: the path is its file, lies below it, is its directory, or leads to the file or its
   * directory (by any link). Only then does a read wait (for all of them); the shell's PATH
   * probes, and reads of other files, between the command's writes do not.
   */
  #mightSee(path: string, followLinks: boolean): boolean {
    const reaches = this.#pendingReaches();
    if (reaches.length === 0) return false;
    for (const reach of reaches) {
      if (path === reach.target || path.startsWith(`${reach.target}/`) || path === parentOf(reach.target)) return true;
    }
    try {
      const found = this.filesystem.probe(path, { followLinks });
      if ("missing" in found) return found.throughLink;
      return reaches.some((reach) => found.ino === reach.directory || found.ino === reach.file);
    } catch {
      return true;
    }
  }

  async #publish(held: HeldWrite): Promise<void> {
    try {
      if (held.kind === "write") await this.filesystem.writeFile(held.target, new Uint8Array(0));
      else await this.filesystem.appendFile(held.target, new Uint8Array(0));
    } catch (error) {
      throw asShellError(error, "open", held.path);
    }
  }

  async #list(path: string): Promise<ShellDirectoryEntry[]> {
    const normalized = this.#check("scandir", path);
    if (this.#pending() && this.#mightSee(normalized, true)) await this.#landed();
    if (this.#inMemory(normalized)) return this.#systemList(normalized, path);
    let entries: ShellDirectoryEntry[];
    try {
      entries = await this.#bucketList(normalized);
    } catch (error) {
      const location = await this.#locateAfter(error, normalized, true, "scandir", path);
      return this.#systemList(location.path, path);
    }
    if (normalized === "/") {
      const names = new Set(entries.map((entry) => entry.name));
      for (const name of this.#system.rootNames()) {
        if (!names.has(name)) entries.push({ name, isFile: false, isDirectory: true, isSymbolicLink: false });
      }
    }
    // The index lists in byte order; just-bash's filesystems sort by UTF-16 code units.
    return entries.sort((a, b) => byName(a.name, b.name));
  }

  async #bucketList(path: string): Promise<ShellDirectoryEntry[]> {
    return (await this.filesystem.readdir(path, { withFileTypes: true })).map((entry) => ({
      name: entry.name,
      isFile: entry.isFile(),
      isDirectory: entry.isDirectory(),
      isSymbolicLink: entry.isSymbolicLink(),
    }));
  }

  /**
   * Follows `path` through the index's symbolic links until it lands in the system tree or
   * reaches an entry (or a missing one) of the bucket's tree. Only the index is consulted. Writes
   * use it so that a link such as `out -> /dev/null` writes to the device, never into the bucket.
   * A location in the system tree below /bin or /usr may still be a user's file in the bucket:
   * the callers ask the bucket first there.
   */
  async #locate(path: string, followLast: boolean, op: string, reported: string): Promise<Location> {
    if (this.#inMemory(path) || (isCommandPath(path) && this.#inMemory(parentOf(path)))) return { system: true, path };
    if (path === "/") return { system: false, path };
    const filesystem = this.filesystem;
    // Fast path: the parent resolves without leaving the index, so only the last name can be a link.
    const parent = parentOf(path);
    const name = path.slice(parent === "/" ? 1 : parent.length + 1);
    let realParent: string | undefined;
    try {
      realParent = await filesystem.realpath(parent);
    } catch {
      realParent = undefined;
    }
    if (realParent !== undefined && !isSystemPath(realParent)) {
      const last = joinPath(realParent, name);
      if (isSystemPath(last)) return { system: true, path: last };
      if (!followLast) return { system: false, path: last };
      const stats = await filesystem.lstat(last).catch(() => undefined);
      if (stats === undefined || !stats.isSymbolicLink()) return { system: false, path: last };
    }
    // Slow path: walk component by component.
    let pending = splitPath(path);
    let current = "/";
    for (let hops = 0; pending.length > 0; ) {
      const next = joinPath(current, pending[0]!);
      pending = pending.slice(1);
      if (this.#inMemory(next)) return { system: true, path: pending.reduce(joinPath, next) };
      if (pending.length === 0 && !followLast) return { system: isSystemPath(next), path: next };
      let stats: FileStats;
      try {
        stats = await filesystem.lstat(next);
      } catch (error) {
        if (error instanceof FsError && (error.code === "ENOENT" || error.code === "ENOTDIR")) {
          const missing = pending.reduce(joinPath, next);
          return { system: isSystemPath(missing), path: missing };
        }
        throw asShellError(error, op, reported);
      }
      if (stats.isSymbolicLink()) {
        if (++hops > maxSymlinkHops) throw shellError("ELOOP", op, reported);
        pending = [...splitPath(resolveLinkTarget(current, await filesystem.readlink(next))), ...pending];
        current = "/";
        continue;
      }
      current = next;
    }
    return { system: false, path: current };
  }

  /**
   * After the index answered ENOENT or ENOTDIR: if the path leads into the system tree through a
   * link, that is where to serve it from; otherwise the index's answer stands.
   */
  async #locateAfter(error: unknown, path: string, followLast: boolean, op: string, reported: string): Promise<Location> {
    if (error instanceof FsError && (error.code === "ENOENT" || error.code === "ENOTDIR")) {
      const location = await this.#locate(path, followLast, op, reported);
      if (location.system) return location;
    }
    throw asShellError(error, op, reported);
  }

  async #entryExists(path: string): Promise<boolean> {
    try {
      await this.lstat(path);
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Whether `path`, below /bin or /usr, is answered by the in-memory tree alone: its directory is
   * one of the stubs' and the bucket has no users' files there (the PATH probes before every
   * command then cost one index lookup, not a failed one per probe).
   */
  async #stubOnly(path: string): Promise<boolean> {
    const parent = parentOf(path);
    return this.#inMemory(parent) && !(await this.filesystem.exists(parent).catch(() => false));
  }

  /** Whether the bucket has an entry at `path` (not following a last link). */
  async #bucketHas(path: string): Promise<boolean> {
    return (await this.filesystem.lstat(path).catch(() => undefined)) !== undefined;
  }

  /** Before a user's entry is made below /bin or /usr: the stubs' directories above it, made in the bucket too. */
  async #bucketParents(path: string): Promise<void> {
    const parent = parentOf(path);
    if (!isSystemPath(parent) || (await this.filesystem.exists(parent))) return;
    if (this.#systemFind(parent)?.kind !== "directory") return;
    try {
      await this.filesystem.mkdir(parent, { recursive: true });
    } catch (error) {
      throw asShellError(error, "mkdir", parent);
    }
  }

  async #bucketRm(path: string, recursive: boolean, force: boolean, reported: string): Promise<void> {
    try {
      await this.filesystem.rm(path, { recursive, force });
    } catch (error) {
      throw asShellError(error, "rm", reported);
    }
  }

  /** `cp -r` of a symbolic link: the link itself, its target text unchanged, replacing a file (never a directory) at the destination. */
  async #copyLink(from: string, to: string, source: string, destination: string): Promise<void> {
    this.#usedBytes = undefined; // the link may replace a file: summed again at the next write
    const target = await this.#locate(to, false, "cp", destination);
    if (target.system && !isCommandPath(target.path)) {
      // Into memory (/dev/fd, a device): what the link leads to, as bytes.
      const origin = await this.#locate(from, true, "cp", source);
      await this.#copyAcross(origin, await this.#locate(to, true, "cp", destination), true, source, destination);
      return;
    }
    const linkTarget = await this.filesystem.readlink(from);
    const existing = await this.filesystem.lstat(target.path).catch(() => undefined);
    if (existing?.isDirectory()) throw shellError("EISDIR", "cp", destination, "illegal operation on a directory: cannot overwrite a directory with a symbolic link");
    if (target.system) await this.#bucketParents(target.path);
    try {
      if (existing !== undefined) await this.filesystem.rm(target.path);
      await this.filesystem.symlink(linkTarget, target.path);
    } catch (error) {
      throw asShellError(error, "cp", destination);
    }
  }

  // ---- the byte quota (maxTotalBytes) ------------------------------------------------------------

  /**
   * Fails with just-bash's ENOSPC unless `adding` more bytes (`releasing` fewer) fit under
   * maxTotalBytes; resolves with the change in use, for #counted once the write has succeeded.
   * Over a transaction (one command) the bytes in use are summed from the index once and then
   * kept up to date by this view's own writes (nothing else writes the transaction); over a mount,
   * where others may commit between two calls, they are summed afresh each time.
   */
  async #checkQuota(op: string, reported: string, adding: () => Promise<number>, releasing: () => Promise<number>): Promise<number | undefined> {
    const limit = this.#options.maxTotalBytes;
    if (limit === undefined || limit === Number.POSITIVE_INFINITY) return undefined;
    const added = await adding();
    const released = await releasing();
    const used = this.#usedBytes ?? (await this.#treeBytes("/"));
    if (added > released && added > limit - used + released) throw shellError("ENOSPC", op, reported, `in-memory filesystem byte limit exceeded (${limit} bytes)`);
    if (!(this.filesystem instanceof S3CachedFs)) this.#usedBytes = used;
    return added - released;
  }

  /** After a write checked by #checkQuota: the bytes in use, kept up to date (see there). */
  #counted(change: number | undefined): void {
    if (change !== undefined && this.#usedBytes !== undefined) this.#usedBytes += change;
  }

  /** The bytes of the regular files at and below `path` (from the index; links are not followed below the top). */
  async #treeBytes(path: string): Promise<number> {
    const stats = await this.filesystem.stat(path).catch(() => undefined);
    if (stats === undefined) return 0;
    if (!stats.isDirectory()) return stats.isFile() ? stats.size : 0;
    let total = 0;
    for (const entry of await this.filesystem.walk(path)) if (entry.stats.isFile()) total += entry.stats.size;
    return total;
  }

  /** The size of the regular file at `path` (following links), or 0: what overwriting it releases. */
  async #fileBytes(path: string): Promise<number> {
    const stats = await this.filesystem.stat(path).catch(() => undefined);
    return stats?.isFile() ? stats.size : 0;
  }

  // ---- the in-memory tree and /dev/fd -------------------------------------------------------------

  /** Runs `call` on /dev/fd's InMemoryFs; its errors become FsErrors naming `op` and the caller's path. */
  async #scratchCall<T>(op: string, reported: string, call: (scratch: InMemoryFs) => Promise<T>): Promise<T> {
    try {
      return await call(this.#system.scratch);
    } catch (error) {
      throw scratchError(error, op, reported);
    }
  }

  #systemFind(path: string): SystemNode | undefined {
    try {
      return this.#system.find(path, "access", path);
    } catch {
      return undefined;
    }
  }

  /** stat or lstat of an in-memory location: /dev/fd, a user's file below /bin or /usr, or the tree. */
  async #memoryStat(path: string, follow: boolean, op: string, reported: string): Promise<FsStat> {
    if (isScratchPath(path)) return this.#scratchCall(op, reported, async (scratch) => ({ ...(follow ? await scratch.stat(path) : await scratch.lstat(path)), dev: systemDevice }));
    if (isCommandPath(path) && !this.#inMemory(path) && !(await this.#stubOnly(path))) {
      const stats = await (follow ? this.filesystem.stat(path) : this.filesystem.lstat(path)).catch(() => undefined);
      if (stats !== undefined) return coreStats(stats);
    }
    return systemStats(this.#system.get(path, op, reported));
  }

  async #memoryExists(path: string): Promise<boolean> {
    return (await this.#memoryStat(path, true, "access", path).catch(() => undefined)) !== undefined;
  }

  async #systemRead(path: string, reported: string): Promise<Uint8Array> {
    if (isScratchPath(path)) return this.#scratchCall("open", reported, (scratch) => scratch.readFileBuffer(path));
    if (isCommandPath(path) && !this.#inMemory(path) && !(await this.#stubOnly(path))) {
      const bytes = await this.filesystem.readFile(path).catch(() => undefined);
      if (bytes !== undefined) return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    }
    const node = this.#system.get(path, "open", reported);
    if (node.kind === "directory") throw shellError("EISDIR", "read", reported);
    return node.content.slice();
  }

  /** A listing in memory; /bin, /usr and /usr/bin add the users' entries the bucket has there (which hide stubs of the same name). */
  async #systemList(path: string, reported: string): Promise<ShellDirectoryEntry[]> {
    if (isScratchPath(path)) return this.#scratchCall("scandir", reported, (scratch) => scratch.readdirWithFileTypes(path));
    const users = isSystemPath(path) && !path.startsWith("/dev") && !path.startsWith("/proc") ? await this.#bucketList(path).catch(() => undefined) : undefined;
    const node = this.#systemFind(path);
    if (node === undefined) {
      if (users !== undefined) return users.sort((a, b) => byName(a.name, b.name));
      throw shellError("ENOENT", "scandir", reported);
    }
    if (node.kind !== "directory") throw shellError("ENOTDIR", "scandir", reported);
    const entries = new Map<string, ShellDirectoryEntry>();
    for (const [name, child] of node.children) entries.set(name, { name, isFile: child.kind === "file", isDirectory: child.kind === "directory", isSymbolicLink: false });
    for (const entry of users ?? []) entries.set(entry.name, entry);
    return [...entries.values()].sort((a, b) => byName(a.name, b.name));
  }

  /** cp with the system tree on either side: bytes are read and written (devices discard them). */
  async #copyAcross(origin: Location, target: Location, recursive: boolean, source: string, destination: string): Promise<void> {
    const stats = await this.stat(origin.path).catch((error: unknown) => {
      throw asShellError(error, "cp", source);
    });
    if (stats.isDirectory) {
      if (!recursive) throw shellError("EISDIR", "cp", source);
      if (isWithin(target.path, origin.path)) throw intoItselfError("cp", source, destination);
      await this.mkdir(target.path, { recursive: true });
      for (const name of await this.readdir(origin.path)) {
        await this.cp(joinPath(origin.path, name), joinPath(target.path, name), { recursive });
      }
      return;
    }
    const bytes = await this.readFileBuffer(origin.path);
    await this.writeFile(target.path, bytes);
  }
}

/** An error of /dev/fd's InMemoryFs ("ENOENT: no such file or directory, open '...'") as an FsError naming `op` and `path`. */
function scratchError(error: unknown, op: string, path: string): unknown {
  if (error instanceof FsError || !(error instanceof Error)) return error;
  const code = /^(E[A-Z]+):/.exec(error.message)?.[1];
  if (code === undefined || !scratchCodes.has(code)) return error;
  const detail = code === "ENOSPC" ? error.message.replace(/^ENOSPC: /, "") : undefined;
  return shellError(code as FsErrorCode, op, path, detail);
}

const scratchCodes = new Set<string>(["ENOENT", "EEXIST", "ENOTDIR", "EISDIR", "ENOTEMPTY", "EINVAL", "ENOSPC", "EPERM", "ELOOP"]);

/** just-bash's filesystems order names by UTF-16 code units. */
function byName(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** just-bash's FsStat from core stats: permission bits only in `mode`, as InMemoryFs reports them. */
function coreStats(stats: FileStats): FsStat {
  return {
    isFile: stats.isFile(),
    isDirectory: stats.isDirectory(),
    isSymbolicLink: stats.isSymbolicLink(),
    mode: stats.mode & 0o7777,
    size: stats.size,
    mtime: stats.mtime,
    dev: stats.dev,
    ino: stats.ino,
  };
}

function systemStats(node: SystemNode): FsStat {
  return {
    isFile: node.kind === "file",
    isDirectory: node.kind === "directory",
    isSymbolicLink: false,
    mode: node.mode,
    size: node.kind === "file" ? node.content.byteLength : 0,
    mtime: node.mtime,
    dev: systemDevice,
    ino: node.inode,
  };
}
