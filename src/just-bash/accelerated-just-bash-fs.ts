// AcceleratedJustBashFs: just-bash's IFileSystem over the core filesystem (a mount, or one of its
// transactions). Metadata (stat, exists, readdir, the PATH probes before every command) is
// answered by the local index, bytes by the cache or ranged reads, writes by the commit log; the
// shell's system directories (/bin, /usr, /dev, /proc) by an in-memory tree, so they never reach
// the bucket. Errors are core FsErrors with just-bash's message shapes (shell-errors.ts).
//
// Semantics follow POSIX and Node where just-bash's InMemoryFs is looser (it lets a file be
// written below a regular file, moves a directory onto a non-empty one by merging, ...); the
// differential tests name each case where the two differ and why.
//
// It has no `mkdirSync` or `writeFileSync` on purpose: just-bash writes its /bin, /dev and /proc
// layout into any fs that has both, and those writes would land in the bucket.

import { unsafeBytesFromLatin1, type BufferEncoding, type ByteString, type CpOptions, type FileContent, type FsStat, type IFileSystem, type MkdirOptions, type RmOptions } from "just-bash";
import { FsError, S3CachedFs, isWithin, joinPath, maxSymlinkHops, parentOf, resolveLinkTarget, resolveWithin, splitPath, type FileStats, type Transaction } from "../core.ts";
import { bytesToText, contentToBytes, encodingOf } from "./encodings.ts";
import { asShellError, intoItselfError, shellError } from "./shell-errors.ts";
import { isSystemPath, SystemTree, type ProcessInfo, type SystemNode } from "./system-tree.ts";
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

export interface AcceleratedJustBashFsOptions {
  /**
   * The shell's command names, stubbed in /bin and /usr/bin (createAcceleratedJustBashShell passes
   * the exact set). Without them /bin and /usr/bin do not exist, and just-bash runs any command it
   * has registered, custom ones included; only `which` and `ls /usr/bin` then find nothing.
   */
  commands?: Iterable<string>;
  /** Shown in /proc/self/status (just-bash's `processInfo`). */
  processInfo?: ProcessInfo;
  /** Once aborted, every call fails with ECANCELED (exists answers false): the command that was given this fs has ended. */
  signal?: AbortSignal;
}

/** Where a path leads once symbolic links are followed: the bucket's tree, or the system tree. */
interface Location {
  system: boolean;
  path: string;
}

/** `dev` of the system tree's entries, distinct from the core's, so `test a -ef b` stays exact. */
const systemDevice = -1;

export class AcceleratedJustBashFs implements IFileSystem {
  /** The core filesystem (a mount or a transaction) this adapter reads and writes. */
  readonly filesystem: CoreFilesystem;
  #system: SystemTree;
  readonly #options: AcceleratedJustBashFsOptions;

  constructor(filesystem: CoreFilesystem, options: AcceleratedJustBashFsOptions = {}) {
    this.filesystem = filesystem;
    this.#options = options;
    this.#system = new SystemTree({ commands: options.commands, processInfo: options.processInfo });
  }

  /**
   * Runs `body` as one commit of the core filesystem: `body` gets an adapter over the transaction,
   * and nothing is published if it throws. Inside a transaction already, `body` simply joins it.
   */
  async transaction<T>(body: (fs: AcceleratedJustBashFs) => Promise<T>): Promise<T> {
    if (!(this.filesystem instanceof S3CachedFs)) return body(this);
    return this.filesystem.transaction((transaction) => body(this.over(transaction, this.#options.signal)));
  }

  /**
   * An adapter over `filesystem` (typically a transaction of the same mount) sharing this one's
   * system tree, and ending with `signal`. The shell gives one to each command.
   */
  over(filesystem: CoreFilesystem, signal?: AbortSignal): AcceleratedJustBashFs {
    const view = new AcceleratedJustBashFs(filesystem, signal === undefined ? {} : { signal });
    view.#system = this.#system; // its command stubs and process info included
    return view;
  }

  /** Adds /bin and /usr/bin stubs for more command names (a command registered later). */
  addCommands(names: Iterable<string>): void {
    this.#system.addCommands(names);
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
    if (isSystemPath(normalized)) return this.#systemRead(normalized, path);
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
    if (isSystemPath(normalized)) return this.#systemFind(normalized) !== undefined;
    try {
      const found = this.filesystem.probe(normalized);
      if (!("missing" in found)) return true;
      if (!found.throughLink) return false; // no link on the way: the path cannot lead into the system tree
      const location = await this.#locate(normalized, true, "access", path);
      return location.system && this.#systemFind(location.path) !== undefined;
    } catch {
      return false; // a closed filesystem or an ended transaction
    }
  }

  async stat(path: string): Promise<FsStat> {
    const normalized = this.#check("stat", path);
    if (isSystemPath(normalized)) return systemStats(this.#system.get(normalized, "stat", path));
    const found = this.#probe(normalized, true, "stat", path);
    if (found !== undefined) return coreStats(found);
    try {
      return coreStats(await this.filesystem.stat(normalized));
    } catch (error) {
      const location = await this.#locateAfter(error, normalized, true, "stat", path);
      return systemStats(this.#system.get(location.path, "stat", path));
    }
  }

  async lstat(path: string): Promise<FsStat> {
    const normalized = this.#check("lstat", path);
    if (isSystemPath(normalized)) return systemStats(this.#system.get(normalized, "lstat", path));
    const found = this.#probe(normalized, false, "lstat", path);
    if (found !== undefined) return coreStats(found);
    try {
      return coreStats(await this.filesystem.lstat(normalized));
    } catch (error) {
      const location = await this.#locateAfter(error, normalized, false, "lstat", path);
      return systemStats(this.#system.get(location.path, "lstat", path));
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
    if (isSystemPath(normalized)) {
      this.#system.get(normalized, "readlink", path);
      throw shellError("EINVAL", "readlink", path); // the system tree holds no symbolic links
    }
    try {
      return await this.filesystem.readlink(normalized);
    } catch (error) {
      const location = await this.#locateAfter(error, normalized, false, "readlink", path);
      this.#system.get(location.path, "readlink", path);
      throw shellError("EINVAL", "readlink", path);
    }
  }

  async realpath(path: string): Promise<string> {
    const normalized = this.#check("realpath", path);
    if (isSystemPath(normalized)) {
      this.#system.get(normalized, "realpath", path);
      return normalized;
    }
    try {
      return await this.filesystem.realpath(normalized);
    } catch (error) {
      const location = await this.#locateAfter(error, normalized, true, "realpath", path);
      this.#system.get(location.path, "realpath", path);
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
    return [...new Set([...this.filesystem.allPaths(), ...this.#system.paths()])].sort(byName);
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
    const recursive = options.recursive === true;
    const location = await this.#locate(normalized, false, "mkdir", path);
    if (location.system) {
      const existing = this.#systemFind(location.path);
      if (existing !== undefined) {
        if (existing.kind === "directory" && recursive) return;
        throw shellError("EEXIST", "mkdir", path);
      }
      throw this.#system.readOnly("mkdir", path);
    }
    try {
      await this.filesystem.mkdir(normalized, { recursive });
    } catch (error) {
      throw asShellError(error, "mkdir", path);
    }
  }

  async rm(path: string, options: RmOptions = {}): Promise<void> {
    const normalized = this.#check("rm", path);
    const location = await this.#locate(normalized, false, "rm", path);
    if (location.system) {
      if (this.#systemFind(location.path) === undefined) {
        if (options.force === true) return;
        throw shellError("ENOENT", "rm", path);
      }
      throw this.#system.readOnly("rm", path);
    }
    try {
      await this.filesystem.rm(normalized, { recursive: options.recursive === true, force: options.force === true });
    } catch (error) {
      throw asShellError(error, "rm", path);
    }
  }

  async cp(source: string, destination: string, options: CpOptions = {}): Promise<void> {
    const from = this.#check("cp", source);
    const to = this.#check("cp", destination);
    const recursive = options.recursive === true;
    const origin = await this.#locate(from, true, "cp", source);
    const target = await this.#locate(to, true, "cp", destination);
    if (origin.system || target.system) {
      await this.#copyAcross(origin, target, recursive, source, destination);
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
    try {
      await this.filesystem.cp(from, to, { recursive, overwrite: true });
    } catch (error) {
      throw asShellError(error, "cp", destination);
    }
  }

  async mv(source: string, destination: string): Promise<void> {
    const from = this.#check("mv", source);
    const to = this.#check("mv", destination);
    const origin = await this.#locate(from, false, "mv", source);
    const target = await this.#locate(to, false, "mv", destination);
    if (origin.system) {
      if (this.#systemFind(origin.path) === undefined) throw shellError("ENOENT", "mv", source);
      throw this.#system.readOnly("mv", source);
    }
    if (target.system) throw this.#system.readOnly("mv", destination);
    let stats: FileStats;
    try {
      stats = await this.filesystem.lstat(from);
    } catch (error) {
      throw asShellError(error, "mv", source);
    }
    if (stats.isDirectory() && target.path !== origin.path && isWithin(target.path, origin.path)) throw intoItselfError("mv", source, destination);
    try {
      await this.filesystem.rename(from, to);
    } catch (error) {
      throw asShellError(error, "mv", destination);
    }
  }

  async chmod(path: string, mode: number): Promise<void> {
    const normalized = this.#check("chmod", path);
    const location = await this.#locate(normalized, true, "chmod", path);
    if (location.system) {
      this.#system.get(location.path, "chmod", path);
      throw this.#system.readOnly("chmod", path);
    }
    try {
      await this.filesystem.chmod(normalized, mode);
    } catch (error) {
      throw asShellError(error, "chmod", path);
    }
  }

  async utimes(path: string, atime: Date, mtime: Date): Promise<void> {
    const normalized = this.#check("utimes", path);
    const location = await this.#locate(normalized, true, "utimes", path);
    if (location.system) {
      this.#system.touch(location.path, mtime, "utimes", path);
      return;
    }
    try {
      await this.filesystem.utimes(normalized, atime, mtime);
    } catch (error) {
      throw asShellError(error, "utimes", path);
    }
  }

  async symlink(target: string, linkPath: string): Promise<void> {
    const normalized = this.#check("symlink", linkPath);
    const location = await this.#locate(normalized, false, "symlink", linkPath);
    if (location.system) {
      if (this.#systemFind(location.path) !== undefined) throw shellError("EEXIST", "symlink", linkPath);
      throw this.#system.readOnly("symlink", linkPath);
    }
    try {
      await this.filesystem.symlink(target, normalized);
    } catch (error) {
      throw asShellError(error, "symlink", linkPath);
    }
  }

  /**
   * Hard links are refused (EPERM, as just-bash's ReadWriteFs does): the core has no shared
   * inodes, and a copy that later writes would not reach would be a lie. The usual errors for a
   * missing source or an existing destination come first, as link(2) reports them.
   */
  async link(existingPath: string, newPath: string): Promise<void> {
    const source = this.#check("link", existingPath);
    const target = this.#check("link", newPath);
    try {
      await this.lstat(source);
    } catch (error) {
      throw asShellError(error, "link", existingPath);
    }
    if (await this.#entryExists(target)) throw shellError("EEXIST", "link", newPath);
    throw shellError("EPERM", "link", existingPath);
  }

  // ---- helpers --------------------------------------------------------------------------------

  /** Fails once the command holding this adapter has ended; checks and normalises the path. */
  #check(op: string, path: string): string {
    if (this.#options.signal?.aborted) throw shellError("ECANCELED", op, path, "the command that made this call has already ended");
    return checkedPath(path, op);
  }

  /**
   * The entry's stats from one index lookup; for a path of the bucket's tree that leads nowhere
   * without passing a symbolic link (so it cannot lead into the system tree either), its ENOENT
   * or ENOTDIR at once, without the walk of #locate. Undefined when the caller's full path must
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
    if (!found.throughLink) throw shellError(found.missing, op, reported);
    return undefined;
  }

  /** Whether the core's ENOENT or ENOTDIR for `normalized` stands as it is: no link on the way could lead into the system tree. */
  #missingWithoutLink(error: unknown, normalized: string, followLast: boolean): boolean {
    if (!(error instanceof FsError) || (error.code !== "ENOENT" && error.code !== "ENOTDIR")) return false;
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
    const location = await this.#locate(normalized, true, "open", path);
    if (location.system) {
      this.#system.write(location.path, "open", path);
      return;
    }
    try {
      if (kind === "write") await this.filesystem.writeFile(normalized, bytes);
      else await this.filesystem.appendFile(normalized, bytes);
    } catch (error) {
      throw asShellError(error, "open", path);
    }
  }

  async #list(path: string): Promise<ShellDirectoryEntry[]> {
    const normalized = this.#check("scandir", path);
    if (isSystemPath(normalized)) return this.#systemList(normalized, path);
    let entries: ShellDirectoryEntry[];
    try {
      entries = (await this.filesystem.readdir(normalized, { withFileTypes: true })).map((entry) => ({
        name: entry.name,
        isFile: entry.isFile(),
        isDirectory: entry.isDirectory(),
        isSymbolicLink: entry.isSymbolicLink(),
      }));
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

  /**
   * Follows `path` through the index's symbolic links until it lands in the system tree or
   * reaches an entry (or a missing one) of the bucket's tree. Only the index is consulted. Writes
   * use it so that a link such as `out -> /dev/null` writes to the device, never into the bucket.
   */
  async #locate(path: string, followLast: boolean, op: string, reported: string): Promise<Location> {
    if (isSystemPath(path)) return { system: true, path };
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
      if (isSystemPath(next)) return { system: true, path: pending.reduce(joinPath, next) };
      if (pending.length === 0 && !followLast) return { system: false, path: next };
      let stats: FileStats;
      try {
        stats = await filesystem.lstat(next);
      } catch (error) {
        if (error instanceof FsError && (error.code === "ENOENT" || error.code === "ENOTDIR")) return { system: false, path: pending.reduce(joinPath, next) };
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

  #systemFind(path: string): SystemNode | undefined {
    try {
      return this.#system.find(path, "access", path);
    } catch {
      return undefined;
    }
  }

  #systemRead(path: string, reported: string): Uint8Array {
    const node = this.#system.get(path, "open", reported);
    if (node.kind === "directory") throw shellError("EISDIR", "read", reported);
    return node.content.slice();
  }

  #systemList(path: string, reported: string): ShellDirectoryEntry[] {
    const node = this.#system.get(path, "scandir", reported);
    if (node.kind !== "directory") throw shellError("ENOTDIR", "scandir", reported);
    return [...node.children]
      .map(([name, child]) => ({ name, isFile: child.kind === "file", isDirectory: child.kind === "directory", isSymbolicLink: false }))
      .sort((a, b) => byName(a.name, b.name));
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
