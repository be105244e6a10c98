// S3CachedFs: the filesystem facade. Paths are checked and normalised here, every error leaves as
// an FsError, and each call is answered from the local index (metadata), the cache or the object
// store (bytes), or turned into an operation for the committer (writes).
//
// Reads and writes are written once, in FileSystemOperations, and served two ways:
//   S3CachedFs   reads the committed view; each write is its own commit (grouped with concurrent ones)
//   Transaction  reads the pending view and the batch's own bytes; writes apply to the batch at once
//                and are published together when the transaction's callback returns

import { randomUUID } from "node:crypto";
import { mkdir, rm, stat as localStat } from "node:fs/promises";
import { join } from "node:path";
import type { BunFile } from "bun";
import { FsError, fromLocalError, fromStoreError, mapStoreErrorsAt } from "./base/errors.ts";
import { localCopyError, shortLocalName, writeNewFile } from "./base/local-files.ts";
import { normalizePath, parentOf, baseName, escapeLoneSurrogates } from "./base/paths.ts";
import { FileStats, DirectoryEntry } from "./fs-stats.ts";
import { readContent, withHead, concatenate, type WriteData } from "./base/content.ts";
import type { Extent } from "./log/ops.ts";
import { StoreError } from "./stores/store-errors.ts";
import { LocalIndexCorruptError, type Missing, type NamespaceView, type NodeRow } from "./namespace/namespace.ts";
import { defaultDirectoryMode, defaultFileMode } from "./namespace/apply-ops.ts";
import type { PendingBytes } from "./data/data-reader.ts";
import { uploadChunks } from "./data/data-writer.ts";
import type { SegmentCache } from "./data/segment-cache.ts";
import { gather, type ReadPlan, type ReadPlanner } from "./data/read-planner.ts";
import type { Batch } from "./commit/batch.ts";
import { stateCodes, type PreparedOp, type TransactionIsolation } from "./commit/committer.ts";
import { parseOptions, transactionOptionsSchema } from "./base/options.ts";
import type { ReadSet } from "./commit/read-set.ts";
import type { MaintenanceContext } from "./maintenance/maintenance-context.ts";
import { collectGarbage, type GarbageCollectionOptions, type GarbageReport } from "./maintenance/garbage-collector.ts";
import { checkFilesystem, type FsckOptions, type FsckReport } from "./maintenance/fsck.ts";
import { readHistory, type HistoryEntry, type HistoryOptions } from "./maintenance/history.ts";
import { forkFilesystem, type ForkOptions, type ForkResult } from "./maintenance/fork.ts";

export type { WriteData } from "./base/content.ts";
/** What `probe` answers for a path that leads nowhere. */
export type MissingEntry = Missing;

/** Options of `S3CachedFs.transaction`. */
export type { TransactionIsolation };
export interface TransactionOptions {
  /** On a shared writer: "serializable" (default) re-runs the body on conflict; "blind" runs it once (see `transaction`). */
  isolation?: TransactionIsolation;
  /**
   * A blind transaction of a shared writer first reads the log's end (one GET), so its body starts
   * from the newest state. `false` starts it from the mount's view as it stands, for a caller that
   * has read the log's end itself since its work began (`refresh()`); its writes are still
   * validated against whatever landed in between. No effect otherwise (nothing is read first).
   */
  catchUp?: boolean;
}
export type { GarbageCollectionOptions, GarbageReport, FsckOptions, FsckReport, HistoryEntry, HistoryOptions, ForkOptions, ForkResult };
export { FileStats, DirectoryEntry } from "./fs-stats.ts";

export type TextEncoding = "utf8" | "utf-8" | "ascii" | "latin1" | "binary" | "base64" | "base64url" | "hex" | "ucs2" | "utf16le";

export interface WriteOptions {
  /** Permission bits for a new file (default 0o644); an existing file keeps its own. */
  mode?: number;
  /** How a string is turned into bytes (default utf8). */
  encoding?: TextEncoding;
  /** Called with the bytes uploaded so far, for large writes. */
  onProgress?: (bytes: number) => void;
  signal?: AbortSignal;
  /**
   * writeFile only: "w" (the default) creates or replaces; "wx" creates only, failing with EEXIST
   * if anything is at the path (as node:fs's "wx"), checked and written as one commit, so of
   * several writers creating one path exactly one succeeds.
   */
  flag?: "w" | "wx";
}

/** Options of the reads that fetch bytes (readFile, readRange). */
export interface ReadOptions {
  /**
   * Aborting it rejects the read at once with ECANCELED and aborts its GETs still in flight (a GET
   * another read still waits for goes on for that one). What was fetched before stays in the cache.
   */
  signal?: AbortSignal;
}

export interface MaterializedFile {
  /** A real local file holding the file's bytes; do not modify it. */
  path: string;
  file: BunFile;
  /**
   * Deletes the local copy and returns its space to the cache. Also done, if never called, when
   * the mount closes, when the handle leaves an `await using` block, or once neither the handle
   * nor its `file` is reachable any more: keep one of them while a tool uses `path`.
   */
  release(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

export interface WriteHandle {
  /** A real local file to write; `close()` commits its bytes to `target`. */
  path: string;
  file: BunFile;
  target: string;
  /**
   * Commits what was written (the whole local file) to the filesystem. While it uploads, the local
   * file counts against the cache; one that cannot fit is refused with EFBIG, unless the handle was
   * opened with `allowOversize`, and the handle stays open so nothing written is lost: `abort()`
   * discards it. So does any other failed commit: the handle stays open with its bytes, to be
   * closed again or aborted. After the mount closed, close() fails with EBADF and the local file
   * is kept (the mount's close leaves it, and only `abort()` or the next mount of the same name
   * removes it): a handle's bytes are committed or kept, never dropped without an error.
   */
  close(): Promise<void>;
  /** Discards the local file; nothing is published. */
  abort(): Promise<void>;
  /**
   * Leaving an `await using` block discards a handle that was neither closed nor aborted (as
   * `abort()`): only an explicit `close()` publishes, as a transaction publishes only when its body returns.
   */
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * What the facade and its transactions need of their mount (src/mount.ts): what maintenance
 * needs (the store, log, index, reader and committer), plus the cache, the staging directory, the
 * read planner, and the mount's own refresh, statistics and close.
 */
export interface MountContext extends MaintenanceContext {
  readonly cache: SegmentCache;
  readonly stagingDirectory: string;
  /** Local files of the write handles still open: the mount's close keeps them (their bytes are not yet committed). */
  readonly stagedWrites: Set<string>;
  /** Decides what each read fetches now and ahead (scans, sequential ranges, stream windows); the reader carries it out. */
  readonly planner: ReadPlanner;
  /** Catches up with the writer (readers); returns the seq reached and whether anything changed. */
  refresh(): Promise<{ seq: number; changed: boolean }>;
  stats(): FsStats;
  /** Publishes what is queued, writes a final snapshot if needed, releases the lease and everything local. */
  close(): Promise<void>;
}

const textDecoder = new TextDecoder();

interface MaterializationLease {
  local: string;
  /** Pinned bytes to return to the cache (0 for an oversize copy, which pinned nothing). */
  bytes: number;
  cache: SegmentCache;
  released: boolean;
}

async function releaseMaterialization(lease: MaterializationLease): Promise<void> {
  if (lease.released) return;
  lease.released = true;
  try {
    await rm(lease.local, { force: true });
  } finally {
    lease.cache.unpin(lease.bytes); // the reservation goes back even if the copy cannot be removed
  }
}

/** Materialised files whose handle was dropped without `release()`: released then. */
const unreleasedMaterializations = new FinalizationRegistry<MaterializationLease>((lease) => {
  releaseMaterialization(lease).catch(() => {}); // the mount's close removes the copy anyway
});

/** Every read and write, over a view of the index; how writes are published is left to subclasses. */
export abstract class FileSystemOperations {
  constructor(protected readonly context: MountContext) {}

  /** The index view reads consult. */
  protected abstract view(): NamespaceView;
  /** Bytes not yet in the store that reads may need (a transaction's own). */
  protected abstract pendingBytes(): PendingBytes | undefined;
  /** Publishes (or, in a transaction, applies) one operation. */
  protected abstract perform(syscall: string, path: string, prepare: PreparedOp): Promise<void>;
  protected abstract checkOpen(syscall: string, path?: string): void;

  /** Whether calls may still be made (checkOpen would not throw). */
  protected isOpen(): boolean {
    try {
      this.checkOpen("access");
      return true;
    } catch {
      return false;
    }
  }

  // ---- metadata, answered by the index alone --------------------------------------------------

  async stat(path: string): Promise<FileStats> {
    return new FileStats(this.lookup(path, true, "stat").node);
  }

  async lstat(path: string): Promise<FileStats> {
    return new FileStats(this.lookup(path, false, "lstat").node);
  }

  async exists(path: string): Promise<boolean> {
    this.checkOpen("access", typeof path === "string" ? path : undefined);
    let normalized: string;
    try {
      normalized = normalizePath(path, "access");
    } catch {
      return false;
    }
    try {
      const found = this.view().tryResolve(normalized, true, "access");
      return found !== undefined && (!namesDirectory(path, normalized) || found.node.kind === "directory");
    } catch (error) {
      if (error instanceof LocalIndexCorruptError) throw error; // damage is never "no such file"
      return false; // ELOOP
    }
  }

  /**
   * Where `path` leads, from the index alone and at once: its stats (as `stat` gives them, or
   * `lstat` with `followLinks: false`), or, where `stat` would fail with ENOENT or ENOTDIR, why
   * there is none and whether a symbolic link was followed on the way, without building an
   * error. For callers that ask about many paths that do not exist (a shell's PATH search, a
   * loop waiting for a file). A closed filesystem, a path that is no path and ELOOP throw as
   * `stat` does.
   */
  probe(path: string, options: { followLinks?: boolean } = {}): FileStats | MissingEntry {
    this.checkOpen("stat", typeof path === "string" ? path : undefined);
    if (typeof options !== "object" || options === null) {
      throw new FsError("EINVAL", "stat", { path, detail: `options must be an object, got ${options === null ? "null" : typeof options}` });
    }
    const normalized = normalizePath(path, "stat");
    const directoryOnly = namesDirectory(path, normalized);
    const found = this.view().lookup(normalized, options.followLinks !== false || directoryOnly, "stat", path);
    if ("missing" in found) return { missing: found.missing, throughLink: found.throughLink };
    // A trailing "/" names a directory; whether a link led here is not known, so the answer says it may have.
    if (directoryOnly && found.node.kind !== "directory") return { missing: "ENOTDIR", throughLink: true };
    return new FileStats(found.node);
  }

  readdir(path: string): Promise<string[]>;
  readdir(path: string, options: { withFileTypes: true }): Promise<DirectoryEntry[]>;
  readdir(path: string, options?: { withFileTypes?: false }): Promise<string[]>;
  async readdir(path: string, options: { withFileTypes?: boolean } = {}): Promise<string[] | DirectoryEntry[]> {
    const { node, path: canonical } = this.lookup(path, true, "scandir");
    if (node.kind !== "directory") throw new FsError("ENOTDIR", "scandir", { path });
    const children = this.view().children(node.id);
    if (options.withFileTypes) return children.map((child) => new DirectoryEntry(child.name, canonical, child.kind));
    return children.map((child) => child.name);
  }

  async readlink(path: string): Promise<string> {
    const { node } = this.lookup(path, false, "readlink");
    if (node.kind !== "symlink") throw new FsError("EINVAL", "readlink", { path });
    return node.target ?? "";
  }

  async realpath(path: string): Promise<string> {
    return this.lookup(path, true, "realpath").path;
  }

  /** Every path in the filesystem ("/" first), from the index. */
  allPaths(): string[] {
    this.checkOpen("scandir");
    return this.view().allPaths();
  }

  /** Every entry below `path` (not following links), with paths relative to it, parents first. */
  async walk(path: string, options: { maxDepth?: number } = {}): Promise<{ path: string; stats: FileStats; depth: number }[]> {
    const maxDepth = options.maxDepth;
    if (maxDepth !== undefined && maxDepth !== Number.POSITIVE_INFINITY && !(Number.isSafeInteger(maxDepth) && maxDepth >= 0)) {
      throw new FsError("EINVAL", "scandir", { path, detail: `maxDepth must be an integer >= 0 or Infinity (the children are depth 1), got ${String(maxDepth)}` });
    }
    const { node } = this.lookup(path, true, "scandir");
    if (node.kind !== "directory") throw new FsError("ENOTDIR", "scandir", { path });
    if (maxDepth === 0) return [];
    return this.view()
      .descendants(node.id, maxDepth === undefined || maxDepth === Number.POSITIVE_INFINITY ? {} : { maxDepth })
      .map((entry) => ({ path: entry.relative, stats: new FileStats(entry.node), depth: entry.depth }));
  }

  // ---- bytes, from memory, the cache or ranged GETs -------------------------------------------

  async readFile(path: string, options: ReadOptions = {}): Promise<Buffer> {
    const { node } = this.lookup(path, true, "open");
    const signal = checkReadOptions(options, path);
    if (node.kind === "directory") throw new FsError("EISDIR", "read", { path });
    throwIfReadAborted(signal, "read", path);
    const pending = this.pendingBytes();
    const view = this.view();
    const plan = this.context.planner.wholeFile(node, view.extents(node.ino, node), pending === undefined ? view : undefined);
    const reading = this.readPlanned(plan, signal, path);
    const bytes = concatenate(Array.isArray(reading) ? reading : await reading, node.size);
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  async readText(path: string, encoding: TextEncoding = "utf8"): Promise<string> {
    checkEncoding(encoding, "read", path);
    const bytes = await this.readFile(path);
    return encoding === "utf8" || encoding === "utf-8" ? textDecoder.decode(bytes) : bytes.toString(encoding);
  }

  /**
   * Bytes [offset, offset + length) of a file, cut at its end; fetches only the extents touched.
   * A call that starts where the previous one on the file ended also fetches the next two chunks'
   * worth in the background (src/data/read-planner.ts).
   */
  async readRange(path: string, offset: number, length: number, options: ReadOptions = {}): Promise<Uint8Array> {
    if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 0) {
      throw new FsError("EINVAL", "read", { path, detail: `offset and length must be integers >= 0 (got ${String(offset)}, ${String(length)})` });
    }
    const { node } = this.lookup(path, true, "open");
    const signal = checkReadOptions(options, path);
    if (node.kind === "directory") throw new FsError("EISDIR", "read", { path });
    throwIfReadAborted(signal, "read", path);
    const plan = this.context.planner.range(node, this.view().extents(node.ino, node), offset, length);
    const reading = this.readPlanned(plan, signal, path);
    return gather(plan, Array.isArray(reading) ? reading : await reading);
  }

  /**
   * The file's bytes as a stream, fetched a window ahead of the consumer (read-ahead). Pieces are
   * handed on as fetched, without copying; a file larger than half the cache streams past it
   * instead of evicting everything else. Aborting `signal` errors the stream with ECANCELED and
   * aborts the GETs of its windows still in flight, as cancelling the stream does.
   */
  async stream(path: string, options: { start?: number; end?: number; windowBytes?: number; windowsAhead?: number; signal?: AbortSignal } = {}): Promise<ReadableStream<Uint8Array>> {
    this.checkOpen("open", typeof path === "string" ? path : undefined); // a closed mount says so first, whatever the options
    normalizePath(path, "open"); // then a path that is no path (the options' errors name it)
    const signal = checkReadOptions(options, path);
    checkStreamOptions(options, path);
    const { node } = this.lookup(path, true, "open");
    if (node.kind === "directory") throw new FsError("EISDIR", "read", { path });
    throwIfReadAborted(signal, "read", path);
    const plan = this.context.planner.stream(node, this.view().extents(node.ino, node), options);
    // Its reads fail after stream() has returned, past the boundary: the stream maps its own errors.
    const failure = (error: unknown) => (signal?.aborted ? readAborted(signal, "read", path) : fromStoreError(error, "read", path));
    return this.context.reader.stream(plan, this.pendingBytes(), failure, signal);
  }

  /** Fetches a file's (or a whole tree's) bytes into the cache ahead of a scan. */
  async prefetch(path: string): Promise<void> {
    const { node } = this.lookup(path, true, "open");
    const files = node.kind === "directory" ? this.view().descendants(node.id).map((entry) => entry.node).filter((child) => child.kind === "file") : [node];
    const extents = files.flatMap((file) => this.view().extents(file.ino, file));
    await this.context.reader.prefetch(extents, this.pendingBytes());
  }

  /**
   * A real local file with this file's bytes, for tools that need a path. Its space is pinned in
   * the cache until released (ENOSPC if it cannot fit, unless `allowOversize`). Aborting `signal`
   * rejects with ECANCELED, aborts the GETs in flight, and removes the partial copy.
   */
  async materialize(path: string, options: { allowOversize?: boolean; onProgress?: (bytes: number) => void; signal?: AbortSignal } = {}): Promise<MaterializedFile> {
    const { node } = this.lookup(path, true, "open");
    const signal = checkReadOptions(options, path, "materialize");
    if (node.kind === "directory") throw new FsError("EISDIR", "read", { path });
    throwIfReadAborted(signal, "materialize", path);
    const cache = this.context.cache;
    const pinned = await cache.pinSettled(node.size);
    if (!pinned && !options.allowOversize) {
      throw new FsError("ENOSPC", "materialize", {
        path,
        detail: `the file (${node.size} bytes) does not fit in the cache (${cache.maxBytes} bytes, ${cache.pinnedBytes} pinned); pass allowOversize to materialise it anyway`,
      });
    }
    // The local name stays short whatever the file's (up to 255 bytes, and the host's limit is 255 too).
    const local = join(this.context.stagingDirectory, `materialized-${randomUUID()}-${shortLocalName(baseName(path) || "root")}`);
    const lease: MaterializationLease = { local, bytes: pinned ? node.size : 0, cache, released: false };
    try {
      await mkdir(this.context.stagingDirectory, { recursive: true }); // someone may have deleted the cache directory
      // Every write is awaited: a full disk fails the copy (and removes it), never leaving a short file.
      await writeNewFile(local, await this.stream(path, signal === undefined ? {} : { signal }), options.onProgress);
    } catch (error) {
      await releaseMaterialization(lease).catch(() => {}); // the reservation is returned whatever happens to the copy
      if (signal?.aborted) throw readAborted(signal, "materialize", path);
      throw localCopyError(error, "materialize", path, "the local copy"); // the stream's errors are FsErrors already
    }
    const file = Bun.file(local);
    const release = async () => {
      unreleasedMaterializations.unregister(lease);
      await releaseMaterialization(lease);
    };
    // The handle holds `file`, so `file` is unreachable only once the handle is too.
    unreleasedMaterializations.register(file, lease, lease);
    return { path: local, file, release, [Symbol.asyncDispose]: release };
  }

  // ---- writes ---------------------------------------------------------------------------------

  async writeFile(path: string, data: WriteData, options: WriteOptions = {}): Promise<void> {
    if (typeof options === "object" && options !== null && options.flag === "wx") {
      await this.createExclusive(path, data, options);
      return;
    }
    await this.writeData("write", path, data, options);
  }

  /** writeFile with "wx": nothing may be at the path (a link, even a dangling one, counts). */
  protected async createExclusive(path: string, data: WriteData, options: WriteOptions): Promise<void> {
    const normalized = this.writable("open", path);
    if (this.view().place(normalized, false, "open").existing !== undefined) throw new FsError("EEXIST", "open", { path });
    await this.writeData("write", path, data, { ...options, flag: "w" });
  }

  /** Adds bytes at the end (new extents): the file is never read back and rewritten. */
  async appendFile(path: string, data: WriteData, options: WriteOptions = {}): Promise<void> {
    if (typeof options === "object" && options !== null && options.flag !== undefined) {
      throw new FsError("EINVAL", "open", { path, detail: `flag is an option of writeFile ("w" or "wx"); appendFile always appends, got flag ${JSON.stringify(String(options.flag))}` });
    }
    await this.writeData("append", path, data, options);
  }

  async mkdir(path: string, options: { recursive?: boolean; mode?: number } = {}): Promise<void> {
    const normalized = this.writable("mkdir", path);
    const recursive = options.recursive === true;
    const mode = checkMode(options.mode ?? defaultDirectoryMode, "mkdir", normalized);
    if (recursive && this.view().tryResolve(normalized, true, "mkdir")?.node.kind === "directory") return; // nothing to publish
    await this.perform("mkdir", normalized, (batch) => ({ op: "mkdir", path: normalized, mode, recursive, time: batch.time }));
  }

  async rm(path: string, options: { recursive?: boolean; force?: boolean } = {}): Promise<void> {
    const normalized = this.writable("rm", path);
    this.requireDirectoryIfSlashed("rm", path, normalized);
    const force = options.force === true;
    if (force && normalized !== "/" && !this.entryExists(normalized)) return; // nothing to publish
    await this.perform("rm", normalized, (batch) => ({ op: "rm", path: normalized, recursive: options.recursive === true, force, time: batch.time }));
  }

  /** Moves a file or a whole tree: one index update, one operation in the log, no bytes move. */
  async rename(from: string, to: string): Promise<void> {
    const source = this.writable("rename", from, to);
    const target = normalizePath(to, "rename");
    this.requireDirectoryIfSlashed("rename", from, source, to);
    // Only a directory can be renamed to "name/"; a source that cannot be resolved is reported
    // first, as node:fs does (the commit says ENOENT or ENOTDIR).
    const found = namesDirectory(to, target) ? this.view().tryResolve(source, false, "rename") : undefined;
    if (found !== undefined && found.node.kind !== "directory") {
      throw new FsError("ENOTDIR", "rename", { path: from, dest: to });
    }
    await this.perform("rename", source, (batch) => ({ op: "rename", from: source, to: target, time: batch.time }));
  }

  /** Copies a file by sharing its extents: no bytes move. */
  async copyFile(from: string, to: string, options: { overwrite?: boolean } = {}): Promise<void> {
    const source = this.writable("copyfile", from, to);
    const target = normalizePath(to, "copyfile");
    this.checkCopyEnds("copyfile", from, source, to, target);
    const overwrite = options.overwrite !== false;
    await this.perform("copyfile", source, (batch) => ({ op: "copy", from: source, to: target, recursive: false, overwrite, time: batch.time }));
  }

  /** Copies a file or (with `recursive`) a tree, sharing extents, as one operation. */
  async cp(from: string, to: string, options: { recursive?: boolean; overwrite?: boolean } = {}): Promise<void> {
    const source = this.writable("cp", from, to);
    const target = normalizePath(to, "cp");
    this.checkCopyEnds("cp", from, source, to, target);
    const recursive = options.recursive === true;
    const overwrite = options.overwrite !== false;
    await this.perform("cp", source, (batch) => ({ op: "copy", from: source, to: target, recursive, overwrite, time: batch.time }));
  }

  async symlink(target: string, path: string): Promise<void> {
    const normalized = this.writable("symlink", path);
    if (typeof target !== "string" || target === "" || target.includes("\0") || Buffer.byteLength(target) > 4096) {
      throw new FsError("EINVAL", "symlink", { path: String(target), dest: normalized, detail: "the link target must be a non-empty string without NUL bytes, at most 4096 bytes" });
    }
    if (!target.isWellFormed()) {
      throw new FsError("EINVAL", "symlink", { path: escapeLoneSurrogates(target), dest: normalized, detail: "the link target contains a lone UTF-16 surrogate, which has no UTF-8 form" });
    }
    if (namesDirectory(path, normalized) && this.view().tryResolve(normalized, false, "symlink") === undefined) {
      throw new FsError("ENOENT", "symlink", { path: target, dest: path }); // as node:fs: a new link's name cannot end in "/"
    }
    await this.perform("symlink", normalized, (batch) => ({ op: "symlink", target, path: normalized, time: batch.time }));
  }

  /**
   * A hard link: `newPath` becomes another name of the file at `existingPath` (a symbolic link is
   * linked as itself, as node:fs on Linux). Both names share one inode from then on: bytes,
   * size, mode and times, equal `ino`, and `nlink` counting the names; removing one keeps the
   * others. EEXIST if `newPath` exists, ENOENT if `existingPath` or `newPath`'s directory does not,
   * EPERM for a directory.
   */
  async link(existingPath: string, newPath: string): Promise<void> {
    const source = this.writable("link", existingPath, newPath);
    const target = normalizePath(newPath, "link");
    this.requireDirectoryIfSlashed("link", existingPath, source, newPath);
    if (namesDirectory(newPath, target) && this.view().tryResolve(target, false, "link") === undefined) {
      throw new FsError("ENOENT", "link", { path: existingPath, dest: newPath }); // as node:fs: a new name cannot end in "/"
    }
    await this.perform("link", source, (batch) => ({ op: "link", from: source, to: target, time: batch.time }));
  }

  async chmod(path: string, mode: number): Promise<void> {
    const normalized = this.writable("chmod", path);
    this.requireDirectoryIfSlashed("chmod", path, normalized);
    const checked = checkMode(mode, "chmod", normalized);
    await this.perform("chmod", normalized, (batch) => ({ op: "chmod", path: normalized, mode: checked, time: batch.time }));
  }

  /** Sets access and modification times (Dates, or numbers in seconds as Node takes them). */
  async utimes(path: string, atime: Date | number, mtime: Date | number): Promise<void> {
    await this.setTimes("utimes", "utime", path, atime, mtime);
  }

  /** Like `utimes`, but a final symbolic link gets the times itself, not what it points to (as node:fs lutimes). */
  async lutimes(path: string, atime: Date | number, mtime: Date | number): Promise<void> {
    await this.setTimes("lutimes", "lutime", path, atime, mtime);
  }

  private async setTimes(op: "utimes" | "lutimes", syscall: string, path: string, atime: Date | number, mtime: Date | number): Promise<void> {
    const normalized = this.writable(syscall, path);
    this.requireDirectoryIfSlashed(syscall, path, normalized);
    const access = toMilliseconds(atime, syscall, normalized);
    const modification = toMilliseconds(mtime, syscall, normalized);
    await this.perform(syscall, normalized, (batch) => ({ op, path: normalized, atime: access, mtime: modification, time: batch.time }));
  }

  /**
   * A real local file to write, committed to `path` by the handle's `close()`. The local file is
   * outside the cache's bound while it is written (its size is the writer's to decide), and counts
   * against it while it is committed.
   */
  async openWrite(path: string, options: { mode?: number; allowOversize?: boolean } = {}): Promise<WriteHandle> {
    const normalized = this.writable("open", path);
    if (namesDirectory(path, normalized)) throw this.notAFileName("open", path, normalized); // as node:fs: a file's name cannot end in "/"
    if (options.mode !== undefined) checkMode(options.mode, "open", normalized); // refused at open, as node:fs does, not at close
    await this.checkOnView(() => this.precheckWrite(normalized, "open", path));
    const local = join(this.context.stagingDirectory, `write-${randomUUID()}`);
    try {
      await mkdir(this.context.stagingDirectory, { recursive: true }); // someone may have deleted the cache directory
      await Bun.write(local, "");
    } catch (error) {
      throw fromLocalError(error, "open", "the local file for the handle could not be created", normalized);
    }
    const staged = this.context.stagedWrites;
    staged.add(local);
    const cache = this.context.cache;
    let done = false;
    const finish = async (commit: boolean) => {
      if (done) throw new FsError("EBADF", "close", { path: normalized, detail: "the write handle is already closed" });
      if (!commit) {
        done = true;
        staged.delete(local);
        await rm(local, { force: true });
        return;
      }
      if (!this.isOpen()) {
        throw new FsError("EBADF", "close", {
          path: normalized,
          detail: "the filesystem (or the transaction the handle was opened in) closed before this write handle: nothing was published, and the bytes stay in the handle's local file (abort() discards it)",
        });
      }
      this.writable("close", normalized); // a handle of the mount, closed inside a transaction body: EDEADLK, and the handle stays open
      let size: number;
      try {
        size = (await localStat(local)).size;
      } catch (error) {
        throw fromLocalError(error, "close", "the handle's local file cannot be read", normalized);
      }
      let pinned = 0;
      if (await cache.pinSettled(size)) pinned = size;
      else if (!options.allowOversize) {
        throw new FsError("EFBIG", "close", {
          path: normalized,
          detail: `the written file (${size} bytes) does not fit in the cache (${cache.maxBytes} bytes, ${cache.pinnedBytes} pinned); open it with allowOversize to commit it anyway, or abort() to discard it`,
        });
      }
      try {
        await this.writeFile(normalized, Bun.file(local), options.mode === undefined ? {} : { mode: options.mode });
      } catch (error) {
        if (!this.isOpen() || (error instanceof FsError && error.code === "EBADF")) {
          throw new FsError("EBADF", "close", {
            path: normalized,
            detail: "the filesystem (or the transaction the handle was opened in) closed while this write handle committed: nothing was published, and the bytes stay in the handle's local file (abort() discards it)",
            cause: error,
          });
        }
        throw error; // the handle stays open with its bytes: close() again, or abort()
      } finally {
        cache.unpin(pinned);
      }
      done = true;
      staged.delete(local);
      await rm(local, { force: true });
    };
    return {
      path: local,
      file: Bun.file(local),
      target: normalized,
      close: () => finish(true),
      abort: () => finish(false),
      [Symbol.asyncDispose]: async () => {
        if (!done) await finish(false);
      },
    };
  }

  // ---- helpers --------------------------------------------------------------------------------

  protected lookup(path: string, followLast: boolean, syscall: string): { node: NodeRow; path: string } {
    this.checkOpen(syscall, typeof path === "string" ? path : undefined);
    const normalized = normalizePath(path, syscall);
    // A trailing "/" names a directory: a link there is followed, and anything else is ENOTDIR.
    const directoryOnly = namesDirectory(path, normalized);
    const found = this.view().resolve(normalized, followLast || directoryOnly, syscall, path);
    if (directoryOnly && found.node.kind !== "directory") throw new FsError("ENOTDIR", syscall, { path });
    return found;
  }

  /**
   * The error node:fs gives for writing a file at a name that names a directory: EISDIR for a
   * trailing "/"; for a trailing "/." the directory must exist (ENOENT) and be one (ENOTDIR).
   */
  private notAFileName(syscall: string, path: string, normalized: string): FsError {
    if (path.endsWith("/.")) {
      let kind: string;
      try {
        kind = this.view().resolve(normalized, true, syscall, path).node.kind; // ENOENT, or ENOTDIR for a file on the way
      } catch (error) {
        if (error instanceof FsError) return error;
        throw error;
      }
      if (kind !== "directory") return new FsError("ENOTDIR", syscall, { path });
    }
    return new FsError("EISDIR", syscall, { path });
  }

  /** A path written with a trailing "/" must name a directory, if it names anything (ENOTDIR), as in node:fs. */
  private requireDirectoryIfSlashed(syscall: string, path: string, normalized: string, dest?: string): void {
    if (!namesDirectory(path, normalized)) return;
    const found = this.view().tryResolve(normalized, true, syscall);
    if (found !== undefined && found.node.kind !== "directory") throw new FsError("ENOTDIR", syscall, { path, dest });
  }

  /** copyFile and cp with a trailing "/": the source must be a directory, and a file is never copied to a name ending in "/". */
  private checkCopyEnds(syscall: string, from: string, source: string, to: string, target: string): void {
    this.requireDirectoryIfSlashed(syscall, from, source, to);
    // A file copied to "name/" is EISDIR; a source that cannot be resolved is reported first, as
    // node:fs opens the source before the destination (the commit says ENOENT or ENOTDIR).
    const found = namesDirectory(to, target) ? this.view().tryResolve(source, true, syscall) : undefined;
    if (found !== undefined && found.node.kind !== "directory") {
      throw new FsError("EISDIR", syscall, { path: from, dest: to });
    }
  }

  private entryExists(path: string): boolean {
    try {
      return this.view().place(path, false, "rm").existing !== undefined;
    } catch (error) {
      if (error instanceof LocalIndexCorruptError) throw error;
      return false;
    }
  }

  /** Checks the mount may write and normalises the path. */
  protected writable(syscall: string, path: string, dest?: string): string {
    this.checkOpen(syscall, typeof path === "string" ? path : undefined);
    const normalized = normalizePath(path, syscall);
    if (this.context.mode === "readonly") throw new FsError("EROFS", syscall, { path, dest });
    const fenced = this.context.committer?.fenced;
    if (fenced !== undefined) throw fenced;
    return normalized;
  }

  /**
   * A check on this view before work that costs (an upload, a local file). Here it is the check
   * alone; a shared writer, whose view may lag the other writers', checks once more after
   * catching up before it refuses.
   */
  protected async checkOnView(check: () => void): Promise<void> {
    check();
  }

  /** Fails early, before uploading a large file, if the write cannot succeed (the commit re-checks). */
  private precheckWrite(normalized: string, syscall: string, reported: string): void {
    const existing = this.view().tryResolve(normalized, true, syscall);
    if (existing?.node.kind === "directory") throw new FsError("EISDIR", syscall, { path: reported });
    let ancestor = parentOf(normalized);
    for (;;) {
      const found = this.view().tryResolve(ancestor, true, syscall);
      if (found !== undefined) {
        if (found.node.kind !== "directory") throw new FsError("ENOTDIR", syscall, { path: reported });
        return;
      }
      if (ancestor === "/") return;
      ancestor = parentOf(ancestor);
    }
  }

  /**
   * Carries out a read's plan: the reader, with this view's pending bytes; an abort is ECANCELED.
   * Bytes all in memory (a warm small file) are returned as they are, without a wait.
   */
  private readPlanned(plan: ReadPlan, signal?: AbortSignal, path?: string): Uint8Array[] | Promise<Uint8Array[]> {
    const reading = this.context.reader.readPlanned(plan, this.pendingBytes(), signal);
    if (Array.isArray(reading)) return reading;
    return reading.catch((error: unknown) => {
      if (signal?.aborted) throw readAborted(signal, "read", path);
      throw error;
    });
  }

  private async writeData(kind: "write" | "append", path: string, data: WriteData, options: WriteOptions): Promise<void> {
    const syscall = "open";
    const normalized = this.writable(syscall, path);
    if (namesDirectory(path, normalized)) throw this.notAFileName(syscall, path, normalized); // as node:fs: a file's name cannot end in "/"
    const mode = checkMode(options.mode ?? defaultFileMode, syscall, normalized);
    checkWriteOptions(options, syscall, path);
    throwIfAborted(options.signal, path);
    const { layout, store } = this.context;
    let content: Awaited<ReturnType<typeof readContent>>;
    try {
      content = await readContent(data, layout.largeFileBytes, syscall, path, options.encoding);
    } catch (error) {
      throw sourceFailure(error, path);
    }
    throwIfAborted(options.signal, path); // reading the source took a while: the abort may have come meanwhile
    if (content.kind === "bytes" && content.bytes.byteLength <= layout.largeFileBytes) {
      if (kind === "append" && content.bytes.byteLength === 0 && this.view().tryResolve(normalized, true, syscall)?.node.kind === "file") return;
      const bytes = content.bytes;
      await this.perform(syscall, normalized, (batch) => ({ op: kind, path: normalized, mode, extents: batch.addData(bytes), time: batch.time }));
      return;
    }
    await this.checkOnView(() => this.precheckWrite(normalized, syscall, path));
    const source = content.kind === "bytes" ? slices(content.bytes, layout.chunkBytes) : withHead(content.head, content.rest);
    let uploaded: { extents: Extent[]; size: number };
    try {
      uploaded = await uploadChunks(store, source, layout, {
        onUpload: (key) => this.context.committer?.uploading(key),
        ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }),
        ...(options.signal === undefined ? {} : { signal: options.signal }),
      });
    } catch (error) {
      if (options.signal?.aborted) throw new FsError("ECANCELED", "write", { path, detail: "the write was aborted; nothing was published", cause: error });
      throw sourceFailure(error, path);
    }
    if (options.signal?.aborted) throw new FsError("ECANCELED", "write", { path, detail: "the write was aborted; nothing was published", cause: options.signal.reason });
    await this.perform(syscall, normalized, (batch) => ({ op: kind, path: normalized, mode, extents: uploaded.extents, time: batch.time }));
  }
}

/** A mounted filesystem. Obtain one from S3CachedFsManagerImpl.mount(). */
export class S3CachedFs extends FileSystemOperations {
  private closing: Promise<void> | undefined;
  private isClosed = false;

  constructor(context: MountContext) {
    super(context);
  }

  get name(): string {
    return this.context.name;
  }

  get mode(): "readwrite" | "readonly" {
    return this.context.mode;
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /**
   * The mount's `layout.largeFileBytes`. A write of at most this many bytes, given as a string or
   * bytes, joins the commit queue as soon as it is called, so writes not awaited one by one are
   * published in the order they were called; a larger one uploads its chunks first and is queued
   * only then (an adapter keeping writes in flight awaits it: the just-bash per-write shell).
   */
  get largeFileBytes(): number {
    return this.context.layout.largeFileBytes;
  }

  protected view(): NamespaceView {
    return this.context.namespace.committed;
  }

  protected pendingBytes(): PendingBytes | undefined {
    return undefined;
  }

  protected checkOpen(syscall: string, path?: string): void {
    if (this.isClosed) throw new FsError("EBADF", syscall, { path, detail: "the filesystem is closed" });
  }

  protected async perform(syscall: string, path: string, prepare: PreparedOp): Promise<void> {
    const committer = this.context.committer;
    if (committer === undefined) throw new FsError("EROFS", syscall, { path });
    await committer.submit(prepare);
  }

  /** The check and the write in one transaction of their own: no other commit comes between them. */
  protected override async createExclusive(path: string, data: WriteData, options: WriteOptions): Promise<void> {
    this.writable("open", path); // a read-only mount, a closed one or a transaction body of this mount says so first
    await this.transaction((tx) => tx.writeFile(path, data, options));
  }

  protected override async checkOnView(check: () => void): Promise<void> {
    try {
      check();
    } catch (error) {
      if (this.context.committer?.shared !== true || !(error instanceof FsError) || !stateCodes.has(error.code)) throw error;
      await this.context.refresh(); // the other writers' commits may have made the write possible
      check();
    }
  }

  /** Inside one of this mount's transaction bodies, writes go through `tx`: this one fails at once (EDEADLK), before any upload. */
  protected override writable(syscall: string, path: string, dest?: string): string {
    const normalized = super.writable(syscall, path, dest);
    this.context.committer?.checkOutsideTransaction(syscall, normalized);
    return normalized;
  }

  /**
   * Runs `body` as one commit: its writes are validated as they happen (an invalid one throws
   * inside `body`) and visible to its own reads; all are published together when it returns, and
   * none if it throws.
   *
   * On a shared writer (`exclusive: false`), `isolation` says what happens when other writers
   * commit first: "serializable" (the default) runs `body` again if anything it read changed;
   * "blind" runs it once and publishes its writes on the new state, or fails whole with the error
   * the first write that no longer applies gets there (what it read is not checked).
   */
  async transaction<T>(body: (tx: Transaction) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
    this.checkOpen("transaction");
    if (typeof body !== "function") {
      throw new FsError("EINVAL", "transaction", { detail: `the transaction body must be a function (tx) => Promise, got ${body === null ? "null" : typeof body}` });
    }
    const { isolation = "serializable", catchUp = true } = parseOptions(transactionOptionsSchema, options, "transaction options", "transaction");
    const committer = this.context.committer;
    if (committer === undefined) throw new FsError("EROFS", "transaction", {});
    return committer.transaction(async (batch, apply, reads) => {
      const tx = new Transaction(this.context, batch, apply, reads);
      try {
        return await body(tx);
      } finally {
        tx.end();
      }
    }, isolation, catchUp);
  }

  /**
   * Catches up with the log: a reader with the writers, a shared writer (`exclusive: false`) with
   * the other writers (an exclusive writer has nothing to catch up with). Returns the seq reached
   * and whether anything changed.
   */
  async refresh(): Promise<{ seq: number; changed: boolean }> {
    this.checkOpen("refresh");
    return this.context.refresh();
  }

  stats(): FsStats {
    return this.context.stats();
  }

  /**
   * Writes a snapshot of the namespace now (the writer only) and points the head at it; cold
   * mounts then start there. Snapshots are also written every `snapshotEveryCommits` commits or
   * `snapshotEveryBytes` of log, and on close if anything changed. Returns the snapshot's seq.
   */
  async snapshot(): Promise<number> {
    this.checkOpen("snapshot");
    const committer = this.context.committer;
    if (committer === undefined) throw new FsError("EROFS", "snapshot", { detail: "only the writer writes snapshots" });
    return committer.snapshot();
  }

  /**
   * Garbage collection and compaction (the writer; a read-only mount may only do a dry run): an
   * object goes only when nothing in the retention window names it and it is older than the grace
   * period. See docs/s3-layout.md GC1-GC8.
   */
  async collectGarbage(options: GarbageCollectionOptions = {}): Promise<GarbageReport> {
    this.checkOpen("gc");
    return collectGarbage(this.context, options);
  }

  /** Checks the filesystem in the bucket: every named object present, every extent's checksum, orphans. */
  async fsck(options: FsckOptions = {}): Promise<FsckReport> {
    this.checkOpen("fsck");
    return checkFilesystem(this.context, options);
  }

  /** The newest commits, newest first (headers only). */
  async history(options: HistoryOptions = {}): Promise<HistoryEntry[]> {
    this.checkOpen("log");
    return readHistory(this.context, options);
  }

  /**
   * Forks this filesystem, as this mount sees it now (or at its `atSeq`), into a new prefix of the
   * same bucket without copying bytes: the fork reads the inherited objects where they lie, and
   * from then on the two change independently. See docs/s3-layout.md F1-F4.
   */
  async fork(options: ForkOptions): Promise<ForkResult> {
    this.checkOpen("fork");
    return forkFilesystem(this.context, options);
  }

  /** Publishes what is queued, writes a snapshot if needed, releases the writer lease. */
  async close(): Promise<void> {
    this.context.committer?.checkOutsideTransaction("close"); // close() waits for the body that waits for it
    if (this.closing === undefined) {
      this.closing = this.context.close().finally(() => {
        this.isClosed = true;
      });
    }
    return this.closing;
  }

  /** `await using fs = await manager.mount(...)`: closed (as `close()`) when the block is left. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/**
 * The filesystem inside `S3CachedFs.transaction`: same API, one commit for all of it. In a shared
 * writer (`exclusive: false`) it records every path its reads look up or list (`reads`), so the
 * commit can tell whether another writer changed what the body saw (src/commit/read-set.ts).
 */
export class Transaction extends FileSystemOperations {
  private ended = false;
  private recording: NamespaceView | undefined;

  constructor(
    context: MountContext,
    private readonly batch: Batch,
    private readonly apply: (prepare: PreparedOp) => void,
    private readonly reads?: ReadSet,
  ) {
    super(context);
  }

  end(): void {
    this.ended = true;
  }

  protected view(): NamespaceView {
    const pending = this.context.namespace.pending;
    if (this.reads === undefined) return pending;
    if (this.recording === undefined) this.recording = recordingView(pending, this.reads);
    return this.recording;
  }

  protected pendingBytes(): PendingBytes {
    return this.batch;
  }

  protected checkOpen(syscall: string, path?: string): void {
    if (this.ended) throw new FsError("EBADF", syscall, { path, detail: "the transaction has ended" });
  }

  protected async perform(_syscall: string, _path: string, prepare: PreparedOp): Promise<void> {
    this.apply(prepare);
    await this.batch.room(); // packs upload as the body goes on; memory holds only those in flight
  }
}

/**
 * `view` with every path looked up noted in `reads`: the path asked for and, when found, the real
 * path it resolved to. Reads by node (children, extents, descendants) follow a lookup of their
 * path; allPaths reads everything ("/").
 */
function recordingView(view: NamespaceView, reads: ReadSet): NamespaceView {
  return new Proxy(view, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== "function") return value;
      if (property === "resolve" || property === "tryResolve" || property === "place" || property === "lookup") {
        return (...args: unknown[]) => {
          if (typeof args[0] === "string") reads.read(args[0]);
          const found = (value as (...args: unknown[]) => unknown).apply(target, args) as { path?: unknown } | undefined;
          if (typeof found?.path === "string") reads.read(found.path);
          return found;
        };
      }
      if (property === "allPaths") reads.read("/");
      return (value as (...args: unknown[]) => unknown).bind(target);
    },
  });
}

// The errno boundary: a store error thrown below one of these methods (reading bytes, uploading
// them, publishing a commit, following the log, maintenance) leaves it as an FsError with the
// method's syscall and paths; the layers below throw store errors as they are. A stream's reads
// fail after `stream()` has returned, so the stream maps its own (DataReader.stream).
mapStoreErrorsAt(FileSystemOperations.prototype, {
  readFile: { syscall: "read", path: 0 },
  readRange: { syscall: "read", path: 0 },
  writeFile: { syscall: "write", path: 0 },
  appendFile: { syscall: "write", path: 0 },
  mkdir: { syscall: "mkdir", path: 0 },
  rm: { syscall: "rm", path: 0 },
  rename: { syscall: "rename", path: 0, dest: 1 },
  copyFile: { syscall: "copyfile", path: 0, dest: 1 },
  cp: { syscall: "cp", path: 0, dest: 1 },
  symlink: { syscall: "symlink", path: 0, dest: 1 },
  link: { syscall: "link", path: 0, dest: 1 },
  chmod: { syscall: "chmod", path: 0 },
  utimes: { syscall: "utime", path: 0 },
  lutimes: { syscall: "lutime", path: 0 },
});
mapStoreErrorsAt(S3CachedFs.prototype, {
  transaction: { syscall: "transaction" },
  refresh: { syscall: "refresh" },
  snapshot: { syscall: "snapshot" },
  collectGarbage: { syscall: "gc" },
  fsck: { syscall: "fsck" },
  history: { syscall: "log" },
  close: { syscall: "close" },
});

export interface FsStats {
  name: string;
  mode: "readwrite" | "readonly";
  store: string;
  seq: number;
  epoch: number;
  /** Remote requests and bytes by operation, since the mount. */
  requests: import("./stores/counting-store.ts").RequestCounts;
  cache: { hits: number; misses: number; evictions: number; corruptions: number; usedBytes: number; pinnedBytes: number; maxBytes: number; segments: number };
  commits: import("./commit/committer.ts").CommitStats | undefined;
  files: { files: number; directories: number; symlinks: number; bytes: number };
}

function* slices(bytes: Uint8Array, size: number): Generator<Uint8Array> {
  for (let offset = 0; offset < bytes.byteLength; offset += size) yield bytes.subarray(offset, offset + size);
}

function checkMode(mode: unknown, syscall: string, path: string): number {
  if (typeof mode !== "number" || !Number.isInteger(mode) || mode < 0 || mode > 0o7777) {
    throw new FsError("EINVAL", syscall, { path, detail: `mode must be an integer from 0 to 0o7777, got ${String(mode)}` });
  }
  return mode;
}

function toMilliseconds(time: Date | number, syscall: string, path: string): number {
  const ms = time instanceof Date ? time.getTime() : typeof time === "number" ? time * 1000 : Number.NaN;
  if (!Number.isFinite(ms)) throw new FsError("EINVAL", syscall, { path, detail: `invalid time ${String(time)}` });
  return ms;
}

/** Whether the caller's path ends in "/" (or "/."): it names a directory, as in node:fs. */
function namesDirectory(path: string, normalized: string): boolean {
  return normalized !== "/" && /\/\.?$/.test(path);
}

function checkStreamOptions(options: { start?: number; end?: number; windowBytes?: number; windowsAhead?: number }, path: string): void {
  const problem = (name: string, value: unknown, minimum: number) =>
    new FsError("EINVAL", "read", { path, detail: `${name} must be an integer >= ${minimum}, got ${String(value)}` });
  const { start, end, windowBytes, windowsAhead } = options;
  if (start !== undefined && !(Number.isSafeInteger(start) && start >= 0)) throw problem("start", start, 0);
  if (end !== undefined && !(Number.isSafeInteger(end) && end >= 0)) throw problem("end", end, 0);
  if (start !== undefined && end !== undefined && start > end + 1) {
    throw new FsError("EINVAL", "read", { path, detail: `start (${start}) must be <= end + 1 (end ${end} is inclusive)` });
  }
  if (windowBytes !== undefined && !(Number.isSafeInteger(windowBytes) && windowBytes >= 1)) throw problem("windowBytes", windowBytes, 1);
  if (windowsAhead !== undefined && !(Number.isSafeInteger(windowsAhead) && windowsAhead >= 1)) throw problem("windowsAhead", windowsAhead, 1);
}

function checkWriteOptions(options: WriteOptions, syscall: string, path: string): void {
  if (options.flag !== undefined && options.flag !== "w" && options.flag !== "wx") {
    throw new FsError("EINVAL", syscall, { path, detail: `flag must be "w" or "wx", got ${JSON.stringify(String(options.flag))}` });
  }
  if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) {
    throw new FsError("EINVAL", syscall, { path, detail: "signal must be an AbortSignal" });
  }
  if (options.onProgress !== undefined && typeof options.onProgress !== "function") {
    throw new FsError("EINVAL", syscall, { path, detail: "onProgress must be a function" });
  }
  if (options.encoding !== undefined) checkEncoding(options.encoding, syscall, path);
}

function checkEncoding(encoding: unknown, syscall: string, path: string): void {
  if (typeof encoding !== "string" || !Buffer.isEncoding(encoding)) {
    throw new FsError("EINVAL", syscall, { path, detail: `unknown encoding ${JSON.stringify(String(encoding))}: use utf8, ascii, latin1, base64, base64url, hex or utf16le` });
  }
}

/**
 * A write's data source (a stream, a Blob, a Response) that failed: EIO naming the virtual path.
 * A store error is the upload's, not the source's: it passes on to the errno boundary.
 */
function sourceFailure(error: unknown, path: string): Error {
  if (error instanceof FsError || error instanceof StoreError) return error;
  return new FsError("EIO", "write", { path, detail: `the data source failed: ${error instanceof Error ? error.message : String(error)}; nothing was published`, cause: error });
}

/** Checks a read's options object and its `signal`; returns the signal. */
function checkReadOptions(options: unknown, path: string, syscall = "read"): AbortSignal | undefined {
  if (typeof options !== "object" || options === null) {
    throw new FsError("EINVAL", syscall, { path, detail: `options must be an object, got ${options === null ? "null" : typeof options}` });
  }
  const signal = (options as { signal?: unknown }).signal;
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw new FsError("EINVAL", syscall, { path, detail: "signal must be an AbortSignal" });
  return signal;
}

function readAborted(signal: AbortSignal, syscall: string, path: string | undefined): FsError {
  return new FsError("ECANCELED", syscall, { path, detail: "the read was aborted", cause: signal.reason });
}

/** A read whose signal has already aborted fetches nothing. */
function throwIfReadAborted(signal: AbortSignal | undefined, syscall: string, path: string): void {
  if (signal?.aborted) throw readAborted(signal, syscall, path);
}

/** An aborted write publishes nothing, however small. */
function throwIfAborted(signal: AbortSignal | undefined, path: string): void {
  if (signal?.aborted) throw new FsError("ECANCELED", "write", { path, detail: "the write was aborted; nothing was published", cause: signal.reason });
}
