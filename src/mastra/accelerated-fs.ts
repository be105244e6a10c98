// AcceleratedFS: a Mastra WorkspaceFilesystem (@mastra/core 1.71) whose files live in an S3 bucket
// through s3-bun-cached-fs, for `new Workspace({ filesystem })`.
//
// This class owns the lifecycle and the description Mastra shows: it mounts (lazily, once, however
// many init() calls race) its own S3CachedFs, or wraps one the caller mounted; it keeps `status`
// right (pending -> initializing -> ready, destroying -> destroyed, error); it refuses writes when
// read-only; it keeps a reader fresh. Every file operation is delegated to WorkspaceOperations,
// which applies Mastra's semantics over the core API.

import { resolve } from "node:path";
import {
  FilesystemError,
  FilesystemNotReadyError,
  MastraFilesystem,
  WorkspaceReadOnlyError,
  type CopyOptions,
  type FileContent,
  type FileEntry,
  type FilesystemIcon,
  type FilesystemInfo,
  type FileStat,
  type FilesystemGrepOptions,
  type FilesystemGrepResult,
  type InstructionsOption,
  type ListOptions,
  type ProviderStatus,
  type ReadOptions,
  type RemoveOptions,
  type WalkEntry,
  type WalkOptions,
  type WorkspaceFilesystem,
  type WriteOptions,
} from "@mastra/core/workspace";
import { FsError, S3CachedFsManagerImpl, defaultCacheRoot, defaultMountName, type MaterializedFile, type S3CachedFs, type Transaction } from "../core.ts";
import { toFilesystemError } from "./error-mapping.ts";
import { checkOptions, mountOptionsOf, type AcceleratedFSOptions, type AcceleratedMountOptions } from "./options.ts";
import type { GrepSettings } from "./native-grep.ts";
import { WorkspaceOperations, type MaterializeOptions } from "./workspace-operations.ts";

/** The filesystem a transaction body works on: the same Mastra-shaped methods, all published in one commit. */
export type AcceleratedTransaction = WorkspaceOperations;

type InstructionsRequest = Parameters<NonNullable<WorkspaceFilesystem["getInstructions"]>>[0];

/** Metadata in getInfo(): where the files are, and how this instance reaches them. */
export interface AcceleratedFSMetadata extends Record<string, unknown> {
  mountName: string | undefined;
  mode: "readwrite" | "readonly";
  bucket?: string;
  prefix?: string;
  region?: string;
  endpoint?: string;
  cacheRoot?: string;
}

const defaultMaxStalenessMs = 1000;
const defaultGrepUnknownTypeMaxBytes = 1024 * 1024;
const grepConcurrency = 8;

/** Mount directories this process holds, by cacheRoot and name, so readers can pick a free one. */
const namesInUse = new Set<string>();

/**
 * Writer mounts open in this process, by cacheRoot and name, shared by every AcceleratedFS of the
 * same workspace: Mastra makes a new filesystem object per request or per test on one prefix and
 * may never destroy the old one, and two mounts of one workspace would fight over its writer lease.
 * The mount closes when the last AcceleratedFS holding it is destroyed.
 */
interface SharedWriter {
  filesystem: Promise<S3CachedFs>;
  holders: Set<AcceleratedFS>;
  /** Where its files are (bucket, endpoint, region, prefix): another workspace under the same name is refused. */
  identity: string;
  closeOnDestroy: boolean;
}
const sharedWriters = new Map<string, SharedWriter>();

export class AcceleratedFS extends MastraFilesystem implements WorkspaceFilesystem {
  readonly id: string;
  readonly name = "AcceleratedFS";
  readonly provider = "s3-bun-cached-fs";
  readonly readOnly: boolean;
  readonly displayName?: string;
  readonly description?: string;
  readonly icon: FilesystemIcon;
  status: ProviderStatus = "pending";

  private readonly options: AcceleratedFSOptions;
  private readonly mountOptions: AcceleratedMountOptions;
  private readonly cacheRoot: string | undefined;
  private readonly maxStalenessMs: number;
  private readonly closeOnDestroy: boolean;
  private readonly instructionsOverride: InstructionsOption | undefined;
  private readonly operations: WorkspaceOperations;
  private mounted: S3CachedFs | undefined;
  private opening: Promise<S3CachedFs> | undefined;
  /** The key of the shared writer mount this instance holds, while it holds one. */
  private sharedWriter: string | undefined;
  /** This instance's hold on its mount name in `namesInUse`, while mounted. */
  private reservedName: string | undefined;
  /** The name of its own mount (kept after destroy, for getInfo). */
  private mountName: string | undefined;
  private lastRefresh = 0;

  constructor(options: AcceleratedFSOptions) {
    checkOptions(options);
    super({
      name: "AcceleratedFS",
      ...(options.onInit === undefined ? {} : { onInit: options.onInit }),
      ...(options.onDestroy === undefined ? {} : { onDestroy: options.onDestroy }),
      ...(options.textExtensions === undefined ? {} : { textExtensions: options.textExtensions }),
    });
    this.options = options;
    this.mountOptions = mountOptionsOf(options);
    this.id = options.id ?? `accelerated-fs-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
    this.readOnly = options.readOnly ?? options.filesystem?.mode === "readonly";
    if (options.displayName !== undefined) this.displayName = options.displayName;
    if (options.description !== undefined) this.description = options.description;
    this.icon = options.icon ?? iconFor(this.mountOptions.endpoint, options.storeFactory !== undefined || options.filesystem !== undefined);
    this.cacheRoot = options.filesystem === undefined ? resolve(options.cacheRoot ?? defaultCacheRoot()) : undefined;
    this.maxStalenessMs = options.maxStalenessMs ?? defaultMaxStalenessMs;
    this.closeOnDestroy = options.closeOnDestroy ?? options.filesystem === undefined;
    this.instructionsOverride = options.instructions;
    this.operations = new WorkspaceOperations((kind, operation) => this.current(kind, operation), this.grepSettings());
  }

  // ---- lifecycle ------------------------------------------------------------------------------

  /**
   * Mounts (or adopts the given mount). Safe to call many times and concurrently: one mount. A plain
   * init() sets `status` itself, so a caller that skips Mastra's `_init()` wrapper sees 'ready' too.
   */
  override async init(): Promise<void> {
    if (this.mounted !== undefined) {
      this.status = "ready";
      return;
    }
    this.opening ??= this.open();
    try {
      await this.opening;
    } finally {
      this.opening = undefined;
    }
  }

  private async open(): Promise<S3CachedFs> {
    this.status = "initializing";
    delete this.error;
    try {
      const fs = this.options.filesystem ?? (await this.mountOwn());
      this.mounted = fs;
      // A new mount has just read the log (a read-only one up to the head's announced records and
      // 256 more, as a refresh does); a given one may be old, so it catches up first.
      this.lastRefresh = this.options.filesystem === undefined ? Date.now() : 0;
      this.status = "ready";
      return fs;
    } catch (error) {
      this.status = "error";
      this.error = error instanceof Error ? error.message : String(error);
      throw toFilesystemError(error, this.subject(), "init");
    }
  }

  private async mountOwn(): Promise<S3CachedFs> {
    const cacheRoot = this.cacheRoot!;
    if (!this.readOnly) return this.joinWriter(cacheRoot);
    const manager = new S3CachedFsManagerImpl({ cacheRoot, ...(this.options.storeFactory === undefined ? {} : { storeFactory: this.options.storeFactory }) });
    const name = this.reserveMountName(cacheRoot);
    try {
      return await manager.mount({ ...this.mountOptions, name, mode: this.readOnly ? "readonly" : "readwrite" });
    } catch (error) {
      this.releaseMountName();
      throw error;
    }
  }

  /**
   * The workspace's writer mount: the one already open in this process under the same cacheRoot
   * and name (another AcceleratedFS of the same workspace), or a new one.
   */
  private async joinWriter(cacheRoot: string): Promise<S3CachedFs> {
    const { bucket, prefix, endpoint, region } = this.mountOptions;
    const name = this.options.mountName ?? defaultMountName({ bucket, prefix }) ?? "workspace";
    const key = `${cacheRoot}\0${name}`;
    const identity = JSON.stringify({ bucket, endpoint, region, prefix: defaultMountName({ prefix }) ?? "" });
    for (;;) {
      let entry = sharedWriters.get(key);
      if (entry === undefined) {
        if (namesInUse.has(key)) throw this.nameBusy(name, "a reader");
        const manager = new S3CachedFsManagerImpl({ cacheRoot, ...(this.options.storeFactory === undefined ? {} : { storeFactory: this.options.storeFactory }) });
        const opening: SharedWriter = { filesystem: manager.mount({ ...this.mountOptions, name, mode: "readwrite" }), holders: new Set(), identity, closeOnDestroy: this.closeOnDestroy };
        sharedWriters.set(key, opening);
        namesInUse.add(key);
        opening.filesystem.catch(() => forgetWriter(key, opening));
        entry = opening;
      } else if (entry.identity !== identity) {
        throw this.nameBusy(name, `another workspace (${entry.identity})`);
      }
      entry.holders.add(this);
      let fs: S3CachedFs;
      try {
        fs = await entry.filesystem;
      } catch (error) {
        entry.holders.delete(this);
        throw error;
      }
      if (fs.closed) {
        // Closed behind the holders' backs (a fenced or failed mount closed by its owner): open it afresh.
        entry.holders.delete(this);
        forgetWriter(key, entry);
        continue;
      }
      this.sharedWriter = key;
      this.mountName = name;
      return fs;
    }
  }

  private nameBusy(name: string, holder: string): FilesystemError {
    return new FilesystemError(
      `EBUSY: ${holder} in this process has mounted ${JSON.stringify(name)} under the same cacheRoot; give this one its own mountName or cacheRoot`,
      "EBUSY",
      name,
    );
  }

  /** Lets go of the shared writer mount; true when this was its last holder, so it is this one's to close. */
  private leaveWriter(): boolean {
    const key = this.sharedWriter;
    this.sharedWriter = undefined;
    const entry = key === undefined ? undefined : sharedWriters.get(key);
    if (key === undefined || entry === undefined || !entry.holders.delete(this)) return false;
    if (entry.holders.size > 0 || !entry.closeOnDestroy) return false;
    forgetWriter(key, entry);
    return true;
  }

  /** Publishes what is queued and closes the mount (unless it was the caller's, or is still shared); a later operation remounts. */
  override async destroy(): Promise<void> {
    await this.opening?.catch(() => {});
    const fs = this.mounted;
    this.mounted = undefined;
    this.status = "destroying";
    try {
      const shared = this.sharedWriter !== undefined;
      const last = this.leaveWriter();
      if (fs !== undefined && (shared ? last : this.closeOnDestroy)) await fs.close();
      this.status = "destroyed";
    } catch (error) {
      this.status = "error";
      this.error = error instanceof Error ? error.message : String(error);
      throw toFilesystemError(error, this.subject(), "destroy");
    } finally {
      this.releaseMountName(); // the core releases the directory even when closing fails
    }
  }

  /**
   * The mount's name, which is also its directory under cacheRoot: one mount per directory. Readers
   * each get one of their own (the first free one, so it keeps its cache across restarts); a second
   * writer of the same workspace in this process is refused here, before it would wait for the lease.
   */
  private reserveMountName(cacheRoot: string): string {
    const { bucket, prefix } = this.mountOptions;
    const base = this.options.mountName ?? defaultMountName({ bucket, prefix }) ?? "workspace";
    let name = base;
    if (this.readOnly && this.options.mountName === undefined) {
      name = `${base}~reader`;
      for (let index = 2; namesInUse.has(`${cacheRoot}\0${name}`); index++) name = `${base}~reader-${index}`;
    }
    const key = `${cacheRoot}\0${name}`;
    if (namesInUse.has(key)) {
      throw new FilesystemError(
        `EBUSY: another AcceleratedFS in this process has mounted ${JSON.stringify(name)} under the same cacheRoot; give this one its own mountName or cacheRoot`,
        "EBUSY",
        name,
      );
    }
    namesInUse.add(key);
    this.reservedName = key;
    this.mountName = name;
    return name;
  }

  private releaseMountName(): void {
    if (this.reservedName !== undefined) namesInUse.delete(this.reservedName);
    this.reservedName = undefined;
  }

  /** The mounted S3CachedFs for one operation: mounts on first use, keeps a reader fresh. */
  private async current(kind: "read" | "write", operation: string): Promise<S3CachedFs> {
    if (kind === "write" && this.readOnly) throw new WorkspaceReadOnlyError(operation);
    await this.ensureReady();
    const fs = this.mounted;
    if (fs === undefined) throw new FilesystemNotReadyError(this.id);
    if (fs.mode === "readonly" && Date.now() - this.lastRefresh >= this.maxStalenessMs) {
      const started = Date.now();
      await fs.refresh();
      this.lastRefresh = started;
    }
    return fs;
  }

  // ---- what Mastra shows ----------------------------------------------------------------------

  getInfo(): FilesystemInfo<AcceleratedFSMetadata> {
    const info: FilesystemInfo<AcceleratedFSMetadata> = {
      id: this.id,
      name: this.name,
      provider: this.provider,
      status: this.status,
      readOnly: this.readOnly,
      icon: this.icon,
      metadata: this.metadata(),
    };
    if (this.error !== undefined) info.error = this.error;
    return info;
  }

  getInstructions(request?: InstructionsRequest): string {
    const defaultInstructions = this.defaultInstructions();
    const override = this.instructionsOverride;
    if (override === undefined) return defaultInstructions;
    if (typeof override === "string") return override;
    const requestContext = request?.requestContext;
    return override(requestContext === undefined ? { defaultInstructions } : { defaultInstructions, requestContext });
  }

  private defaultInstructions(): string {
    const { bucket, prefix } = this.mountOptions;
    const where =
      bucket !== undefined
        ? `the object-storage bucket "${bucket}"${prefix ? ` under the prefix "${prefix}"` : ""}`
        : `object storage (mount "${this.metadata().mountName ?? "workspace"}")`;
    return [
      `Workspace files are stored durably in ${where} and persist across sessions and restarts.`,
      `Paths are relative to the workspace root: "src/app.ts", "./src/app.ts" and "/src/app.ts" all name the same file, and "." is the root.`,
      "Listing and searching (list_files, grep) are answered from a local index and cache, so they are cheap even for large trees.",
      this.readOnly ? "This filesystem is read-only: files can be read, listed and searched, not changed." : "",
    ]
      .filter((line) => line !== "")
      .join(" ");
  }

  /** What errors about the whole filesystem name: its mount. */
  private subject(): string {
    return this.metadata().mountName ?? this.id;
  }

  private metadata(): AcceleratedFSMetadata {
    const given = this.options.filesystem;
    const { bucket, prefix, region, endpoint } = this.mountOptions;
    const metadata: AcceleratedFSMetadata = {
      mountName: given?.name ?? this.mountName ?? this.options.mountName,
      mode: this.readOnly ? "readonly" : "readwrite",
    };
    if (bucket !== undefined) metadata.bucket = bucket;
    if (prefix !== undefined) metadata.prefix = prefix;
    if (region !== undefined) metadata.region = region;
    if (endpoint !== undefined) metadata.endpoint = endpoint;
    if (this.cacheRoot !== undefined) metadata.cacheRoot = this.cacheRoot;
    return metadata;
  }

  // ---- extras beyond WorkspaceFilesystem ------------------------------------------------------

  /** The underlying S3CachedFs (after init), for everything the core offers: stats(), stream(), openWrite(), ... */
  get filesystem(): S3CachedFs {
    if (this.mounted === undefined) throw new FilesystemNotReadyError(this.id);
    return this.mounted;
  }

  /**
   * Runs `body` as one commit: its writes are visible to its own reads, and published together when
   * it returns, or not at all if it throws. `tx` has this filesystem's methods, with Mastra's rules.
   */
  async transaction<T>(body: (tx: AcceleratedTransaction) => Promise<T>): Promise<T> {
    const fs = await this.current("write", "transaction");
    try {
      if (typeof body !== "function") {
        throw new FsError("EINVAL", "transaction", { detail: `the transaction body must be a function (tx) => Promise, got ${body === null ? "null" : typeof body}` });
      }
      return await fs.transaction(async (tx: Transaction) => {
        const operations = new WorkspaceOperations(async (kind, operation) => {
          if (kind === "write" && this.readOnly) throw new WorkspaceReadOnlyError(operation);
          return tx;
        }, this.grepSettings());
        return body(operations);
      });
    } catch (error) {
      throw toFilesystemError(error, this.subject(), "transaction");
    }
  }

  /** Bytes [offset, offset + length) of a file; only the blocks they touch are fetched. */
  async readRange(path: string, offset: number, length: number): Promise<Uint8Array> {
    return this.operations.readRange(path, offset, length);
  }

  /** A real local file with the file's bytes (for tools that need a path), pinned in the cache until released. */
  async materialize(path: string, options: MaterializeOptions = {}): Promise<MaterializedFile> {
    return this.operations.materialize(path, options);
  }

  /** Catches a reader up with the writer now (a writer is always current); returns the log position reached. */
  async refresh(): Promise<{ seq: number; changed: boolean }> {
    await this.ensureReady();
    const fs = this.filesystem;
    try {
      const started = Date.now();
      const result = await fs.refresh();
      this.lastRefresh = started;
      return result;
    } catch (error) {
      throw toFilesystemError(error, this.subject(), "refresh");
    }
  }

  private grepSettings(): GrepSettings {
    return {
      isTextFile: (name: string) => this.isTextFile(name),
      unknownTypeMaxBytes: this.options.grepUnknownTypeMaxBytes ?? defaultGrepUnknownTypeMaxBytes,
      concurrency: grepConcurrency,
    };
  }

  // ---- WorkspaceFilesystem, delegated ---------------------------------------------------------

  readFile(path: string, options?: ReadOptions): Promise<string | Buffer> {
    return this.operations.readFile(path, options);
  }

  writeFile(path: string, content: FileContent, options?: WriteOptions): Promise<void> {
    return this.operations.writeFile(path, content, options);
  }

  appendFile(path: string, content: FileContent): Promise<void> {
    return this.operations.appendFile(path, content);
  }

  deleteFile(path: string, options?: RemoveOptions): Promise<void> {
    return this.operations.deleteFile(path, options);
  }

  copyFile(source: string, destination: string, options?: CopyOptions): Promise<void> {
    return this.operations.copyFile(source, destination, options);
  }

  moveFile(source: string, destination: string, options?: CopyOptions): Promise<void> {
    return this.operations.moveFile(source, destination, options);
  }

  mkdir(path: string, options?: { recursive?: boolean }): Promise<void> {
    return this.operations.mkdir(path, options);
  }

  rmdir(path: string, options?: RemoveOptions): Promise<void> {
    return this.operations.rmdir(path, options);
  }

  readdir(path: string, options?: ListOptions): Promise<FileEntry[]> {
    return this.operations.readdir(path, options);
  }

  walk(path: string, options?: WalkOptions): Promise<WalkEntry[]> {
    return this.operations.walk(path, options);
  }

  grep(options: FilesystemGrepOptions): Promise<FilesystemGrepResult[]> {
    return this.operations.grep(options);
  }

  exists(path: string): Promise<boolean> {
    return this.operations.exists(path);
  }

  stat(path: string): Promise<FileStat> {
    return this.operations.stat(path);
  }

  realpath(path: string): Promise<string> {
    return this.operations.realpath(path);
  }
}

/** An icon for Mastra's UI from the endpoint, as @mastra/s3 picks one. */
function iconFor(endpoint: string | undefined, custom: boolean): FilesystemIcon {
  if (endpoint === undefined) return custom ? "database" : "aws-s3";
  if (typeof endpoint !== "string") return "s3"; // the core refuses it at mount, naming the option
  const host = endpoint.toLowerCase();
  if (host.includes("r2.cloudflarestorage")) return "r2";
  if (host.includes("storage.googleapis")) return "gcs";
  if (host.includes("minio")) return "minio";
  return "s3";
}

/** Drops a shared writer mount from the registry (if it is still the one registered) and frees its name. */
function forgetWriter(key: string, entry: SharedWriter): void {
  if (sharedWriters.get(key) !== entry) return;
  sharedWriters.delete(key);
  namesInUse.delete(key);
}
