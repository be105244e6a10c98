// LocalObjectStore: an ObjectStore in a local directory, with S3's precondition semantics, atomic
// even between processes sharing the directory. Demos and most unit tests run on it.
//
// Layout under `root`:
//   <key>                       a symbolic link named by the key (one directory per "/" segment)
//                               pointing at the object's bytes; `cat root/<key>` shows the object
//   .store/blobs/<id>           the bytes of one version of one object, written once, never changed
//                               (without fsync, also one empty blob made ahead for the next put)
//   .store/tmp/                 links being prepared
//   .store/lock.sqlite          a SQLite database used only for its file lock
//
// Why this shape: a version's bytes are written in full before anything can see them, and a key
// switches to a new version by renaming a prepared link over the old one, which is atomic on POSIX
// filesystems; a create-only write makes its link in place instead, since symlink() itself fails
// on a name that exists (one new inode fewer, and no rename, for every commit record). The blob id is the ETag, so an ETag names exactly one version forever. Conditional
// writes must check and switch as one step across processes: that step runs synchronously inside
// `BEGIN EXCLUSIVE` on the lock database. SQLite's locks are POSIX advisory locks, released by the
// kernel when a process dies, so a crash can never leave the store locked. Readers take no lock.
//
// Key segments are stored as file names: "%" is escaped as "%25", a leading "." as "%2E" (so no
// key can reach ".store", "." or ".."), and an empty segment as "%".

import { Database } from "bun:sqlite";
import { randomUUID } from "node:crypto";
import { closeSync, mkdirSync, openSync, readlinkSync, renameSync, rmdirSync, symlinkSync, unlinkSync, writeSync } from "node:fs";
import { mkdir, open, readdir, readlink, stat, unlink } from "node:fs/promises";
import { dirname, join, relative, resolve, sep } from "node:path";
import {
  compareKeys,
  keyProblem,
  rangeProblem,
  type GetOptions,
  type ListOptions,
  type ListPage,
  type ObjectInfo,
  type ObjectStore,
  type PutOptions,
  type PutResult,
  type StoreCapabilities,
  type StoredObject,
} from "./object-store.ts";
import { sameEtag } from "./conditional-put.ts";
import {
  InvalidRequestError,
  NotFoundError,
  PreconditionFailedError,
  UnavailableError,
  describe,
  type StoreOperation,
} from "./store-errors.ts";

export interface LocalObjectStoreOptions {
  /** The directory holding the objects; created if missing. */
  root: string;
  /**
   * fsync each object's bytes before the write is acknowledged (default true). Without it a power
   * loss may lose acknowledged writes; a process crash never does.
   */
  fsync?: boolean;
  /** How long a writer waits for another process's critical section (default 30 s). */
  lockTimeoutMs?: number;
}

const maxNameBytes = 255;
const defaultPage = 1000;
const internalDirectory = ".store";
/** Blobs up to this size are written synchronously when there is no fsync to wait for. */
const syncWriteBytes = 256 * 1024;

export class LocalObjectStore implements ObjectStore {
  readonly capabilities: StoreCapabilities = {
    createOnly: true,
    compareAndSwap: true,
    conditionalGet: true,
    maxListPage: defaultPage,
    keysNestUnderObjects: false,
  };
  readonly description: string;
  readonly root: string;
  private readonly blobs: string;
  private readonly staging: string;
  private readonly fsync: boolean;
  private readonly lock: Database;
  /**
   * Without fsync: an empty blob made in the background after each small put, for the next one to
   * write into. Making a file is most of a small put's cost on some filesystems; made while the
   * caller goes on, it is off the next put's path. Its name is a version no one has seen.
   */
  private spare: { version: string; ready: boolean; made: Promise<void> } | undefined;

  constructor(options: LocalObjectStoreOptions) {
    this.root = resolve(options.root);
    this.description = `local:${this.root}`;
    this.blobs = join(this.root, internalDirectory, "blobs");
    this.staging = join(this.root, internalDirectory, "tmp");
    this.fsync = options.fsync ?? true;
    mkdirSync(this.blobs, { recursive: true });
    mkdirSync(this.staging, { recursive: true });
    this.lock = new Database(join(this.root, internalDirectory, "lock.sqlite"));
    this.lock.exec(`PRAGMA busy_timeout = ${Math.max(1, Math.floor(options.lockTimeoutMs ?? 30_000))}`);
  }

  async get(key: string, options: GetOptions = {}): Promise<StoredObject> {
    const path = this.pathOf("get", key);
    const problem = options.range === undefined ? undefined : rangeProblem(options.range);
    if (problem !== undefined) throw new InvalidRequestError(describe("get", key, problem), { operation: "get", key });
    for (;;) {
      const version = await this.currentVersion("get", key, path);
      const handle = await open(join(this.blobs, version), "r").catch((error: NodeJS.ErrnoException) => {
        if (error.code === "ENOENT") return undefined; // replaced between readlink and open: look again
        throw wrap("get", key, error);
      });
      if (handle === undefined) continue;
      try {
        const info = await handle.stat();
        let offset = 0;
        let length = info.size;
        if (options.range !== undefined) {
          if (options.range.offset >= info.size) {
            throw new InvalidRequestError(describe("get", key, `range starts at ${options.range.offset}, past the end of a ${info.size}-byte object`), {
              operation: "get",
              key,
              status: 416,
            });
          }
          offset = options.range.offset;
          length = Math.min(options.range.length ?? info.size - offset, info.size - offset);
        }
        const body = new Uint8Array(length);
        let done = 0;
        while (done < length) {
          const { bytesRead } = await handle.read(body, done, length - done, offset + done);
          if (bytesRead === 0) break;
          done += bytesRead;
        }
        const object: StoredObject = { key, etag: quote(version), size: info.size, lastModified: info.mtime, body };
        if (options.range !== undefined) object.range = { offset, length };
        return object;
      } finally {
        await handle.close();
      }
    }
  }

  async getIfChanged(key: string, etag: string): Promise<StoredObject | undefined> {
    const version = await this.currentVersion("get", key, this.pathOf("get", key));
    if (sameEtag(quote(version), etag)) return undefined;
    return this.get(key);
  }

  async head(key: string): Promise<ObjectInfo> {
    const path = this.pathOf("head", key);
    for (;;) {
      const version = await this.currentVersion("head", key, path);
      const info = await stat(join(this.blobs, version)).catch((error: NodeJS.ErrnoException) => {
        if (error.code === "ENOENT") return undefined;
        throw wrap("head", key, error);
      });
      if (info !== undefined) return { key, etag: quote(version), size: info.size, lastModified: info.mtime };
    }
  }

  async put(key: string, body: Uint8Array, options: PutOptions = {}): Promise<PutResult> {
    const path = this.pathOf("put", key);
    if (options.ifMatch !== undefined && options.ifNoneMatch !== undefined) {
      throw new InvalidRequestError(describe("put", key, "ifMatch and ifNoneMatch cannot be combined"), { operation: "put", key });
    }
    const spare = !this.fsync && body.byteLength <= syncWriteBytes ? this.takeSpare() : undefined;
    const version = spare ?? randomUUID();
    const blob = join(this.blobs, version);
    await this.writeBlob(key, blob, body, spare !== undefined);
    let replaced: string | undefined;
    try {
      replaced = this.critical("put", key, () => {
        if (options.ifNoneMatch === "*") return this.create(key, path, blob);
        const current = readVersion(path, "put", key);
        if (options.ifNoneMatch === "*" && current !== undefined) {
          throw new PreconditionFailedError(describe("put", key, "the object already exists (If-None-Match: *)"), { operation: "put", key, status: 412 });
        }
        if (options.ifMatch !== undefined && (current === undefined || !sameEtag(quote(current), options.ifMatch))) {
          throw new PreconditionFailedError(
            describe("put", key, current === undefined ? "the object does not exist (If-Match)" : "the object has changed (If-Match)"),
            { operation: "put", key, status: 412 },
          );
        }
        this.makeParents("put", key, path);
        const link = join(this.staging, version);
        symlinkSync(relative(dirname(path), blob), link);
        try {
          renameSync(link, path);
        } catch (error) {
          unlinkSync(link);
          throw error;
        }
        return current;
      });
    } catch (error) {
      await unlink(blob).catch(() => {});
      throw error;
    }
    if (replaced !== undefined) await unlink(join(this.blobs, replaced)).catch(() => {});
    return { etag: quote(version) };
  }

  async delete(key: string): Promise<void> {
    const path = this.pathOf("delete", key);
    const removed = this.critical("delete", key, () => {
      const current = readVersion(path, "delete", key);
      if (current === undefined) return undefined;
      unlinkSync(path);
      this.removeEmptyParents(path);
      return current;
    });
    if (removed !== undefined) await unlink(join(this.blobs, removed)).catch(() => {});
  }

  async list(options: ListOptions = {}): Promise<ListPage> {
    const prefix = options.prefix ?? "";
    const maxKeys = Math.min(Math.max(1, options.maxKeys ?? defaultPage), defaultPage);
    const after = options.continuationToken ?? options.startAfter;
    // Walk only the deepest directory that the prefix fully names.
    const segments = prefix.split("/");
    segments.pop();
    const keys: ObjectInfo[] = [];
    await this.walk(segments, async (key, path) => {
      if (!key.startsWith(prefix)) return;
      if (after !== undefined && compareKeys(key, after) <= 0) return;
      const version = readVersion(path, "list", key);
      if (version === undefined) return;
      const info = await stat(join(this.blobs, version)).catch(() => undefined);
      if (info !== undefined) keys.push({ key, etag: quote(version), size: info.size, lastModified: info.mtime });
    });
    keys.sort((a, b) => compareKeys(a.key, b.key));
    const page = keys.slice(0, maxKeys);
    const last = page.at(-1);
    return keys.length > maxKeys && last !== undefined ? { objects: page, nextToken: last.key } : { objects: page };
  }

  async close(): Promise<void> {
    const spare = this.spare;
    this.spare = undefined;
    if (spare !== undefined) await spare.made.then(() => unlink(join(this.blobs, spare.version))).catch(() => {});
    this.lock.close();
  }

  /** The spare blob's version, if one is ready (a new one is begun either way). */
  private takeSpare(): string | undefined {
    const spare = this.spare;
    const taken = spare?.ready === true ? spare.version : undefined;
    if (spare === undefined || taken !== undefined) {
      const version = randomUUID();
      const next = { version, ready: false, made: Promise.resolve() };
      next.made = open(join(this.blobs, version), "wx").then(
        (handle) => handle.close().then(() => void (next.ready = true)),
        () => {
          if (this.spare === next) this.spare = undefined; // made again by the next put
        },
      );
      this.spare = next;
    }
    return taken;
  }

  private async walk(segments: string[], visit: (key: string, path: string) => Promise<void>): Promise<void> {
    const directory = join(this.root, ...segments.map(encodeSegment));
    let entries;
    try {
      entries = await readdir(directory, { withFileTypes: true });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "ENOENT" || code === "ENOTDIR") return;
      throw wrap("list", segments.join("/"), error);
    }
    for (const entry of entries) {
      if (segments.length === 0 && entry.name === internalDirectory) continue;
      const path = join(directory, entry.name);
      const decoded = [...segments, decodeSegment(entry.name)];
      if (entry.isDirectory()) await this.walk(decoded, visit);
      else if (entry.isSymbolicLink()) await visit(decoded.join("/"), path);
    }
  }

  private pathOf(operation: StoreOperation, key: string): string {
    const problem = keyProblem(key);
    if (problem !== undefined) throw new InvalidRequestError(describe(operation, key, problem), { operation, key });
    const names = key.split("/").map(encodeSegment);
    for (const name of names) {
      if (Buffer.byteLength(name) > maxNameBytes) {
        throw new InvalidRequestError(
          describe(operation, key, `a key segment is longer than the ${maxNameBytes}-byte file names LocalObjectStore stores them as`),
          { operation, key },
        );
      }
    }
    return join(this.root, ...names);
  }

  private async currentVersion(operation: StoreOperation, key: string, path: string): Promise<string> {
    try {
      return versionOf(await readlink(path));
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "ENOENT" || code === "ENOTDIR" || code === "EINVAL") {
        throw new NotFoundError(describe(operation, key, "no such key"), { operation, key, status: 404 });
      }
      throw wrap(operation, key, error);
    }
  }

  private async writeBlob(key: string, blob: string, body: Uint8Array, spare = false): Promise<void> {
    if (!this.fsync && body.byteLength <= syncWriteBytes) {
      // Without fsync a small blob is written in a few microseconds: three trips through the
      // thread pool (open, write, close) would cost more than the writing.
      try {
        const descriptor = spare ? openSpare(blob) : openSync(blob, "wx");
        try {
          let done = 0;
          while (done < body.byteLength) done += writeSync(descriptor, body, done, body.byteLength - done);
        } finally {
          closeSync(descriptor);
        }
      } catch (error) {
        await unlink(blob).catch(() => {});
        throw wrap("put", key, error);
      }
      return;
    }
    try {
      const handle = await open(blob, "wx");
      try {
        let done = 0;
        while (done < body.byteLength) done += (await handle.write(body, done, body.byteLength - done)).bytesWritten;
        if (this.fsync) await handle.sync();
      } finally {
        await handle.close();
      }
    } catch (error) {
      await unlink(blob).catch(() => {});
      throw wrap("put", key, error);
    }
  }

  /** Runs `step` synchronously while holding the cross-process lock. */
  private critical<T>(operation: StoreOperation, key: string, step: () => T): T {
    try {
      this.lock.exec("BEGIN EXCLUSIVE");
    } catch (error) {
      throw new UnavailableError(describe(operation, key, `another process holds the store lock (${(error as Error).message})`), {
        operation,
        key,
        cause: error,
      });
    }
    try {
      return step();
    } catch (error) {
      throw error instanceof PreconditionFailedError || error instanceof InvalidRequestError ? error : wrap(operation, key, error);
    } finally {
      this.lock.exec("COMMIT");
    }
  }

  /**
   * A create-only put's link, made in place: symlink() itself refuses a name that exists, so the
   * link needs no staging and no rename, and its directory is made only when it is missing. Each
   * new file costs the filesystem an inode: a commit record is one blob and one link, no more.
   */
  private create(key: string, path: string, blob: string): undefined {
    const target = relative(dirname(path), blob);
    for (let attempt = 0; ; attempt++) {
      try {
        symlinkSync(target, path);
        return undefined;
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === "EEXIST") {
          // A link (the object exists) or a directory (longer keys nest under this one: refused by readVersion).
          if (readVersion(path, "put", key) !== undefined || attempt > 0) {
            throw new PreconditionFailedError(describe("put", key, "the object already exists (If-None-Match: *)"), { operation: "put", key, status: 412 });
          }
        } else if ((code === "ENOENT" || code === "ENOTDIR") && attempt === 0) {
          this.makeParents("put", key, path); // refuses a key below another object's
        } else {
          throw error;
        }
      }
    }
  }

  private makeParents(operation: StoreOperation, key: string, path: string): void {
    try {
      mkdirSync(dirname(path), { recursive: true });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "EEXIST" || code === "ENOTDIR") {
        throw new InvalidRequestError(
          describe(operation, key, "a shorter key that is a prefix of this one already holds an object, and LocalObjectStore keys cannot nest under objects"),
          { operation, key },
        );
      }
      throw error;
    }
  }

  private removeEmptyParents(path: string): void {
    let directory = dirname(path);
    while (directory.startsWith(this.root + sep)) {
      try {
        rmdirSync(directory);
      } catch {
        return; // not empty (or already gone): stop climbing
      }
      directory = dirname(directory);
    }
  }
}

/**
 * The version a key's link names; undefined when the key holds no object. A key whose path is a
 * directory holds none either (longer keys nest under it): there is nothing to delete there, and
 * nothing may be written (keys cannot nest under objects here).
 */
function readVersion(path: string, operation: StoreOperation, key: string): string | undefined {
  try {
    return versionOf(readlinkSync(path));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return undefined;
    if (code === "EINVAL" && operation !== "put") return undefined;
    if (code === "EINVAL") {
      throw new InvalidRequestError(describe(operation, key, "longer keys already hold objects under this one, and LocalObjectStore keys cannot nest under objects"), {
        operation,
        key,
      });
    }
    throw error;
  }
}

/** Opens a spare blob made ahead (LocalObjectStore.takeSpare) to write into it, or makes it again if it has gone. */
function openSpare(blob: string): number {
  try {
    return openSync(blob, "r+");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    return openSync(blob, "wx");
  }
}

function versionOf(target: string): string {
  return target.slice(target.lastIndexOf("/") + 1);
}

function quote(version: string): string {
  return `"${version}"`;
}

function encodeSegment(segment: string): string {
  if (segment === "") return "%";
  const escaped = segment.replaceAll("%", "%25");
  return escaped.startsWith(".") ? `%2E${escaped.slice(1)}` : escaped;
}

function decodeSegment(name: string): string {
  if (name === "%") return "";
  return name.replace(/%(25|2E)/g, (match) => (match === "%25" ? "%" : "."));
}

function wrap(operation: StoreOperation, key: string | undefined, error: unknown): Error {
  if (error instanceof NotFoundError || error instanceof InvalidRequestError || error instanceof PreconditionFailedError) return error;
  const code = (error as NodeJS.ErrnoException).code;
  return new UnavailableError(describe(operation, key, `local storage failed: ${(error as Error).message}`), { operation, key, cause: error, status: code });
}
