// MemoryObjectStore: an ObjectStore held in this process's memory, for users' own tests and
// demos. It keeps S3's semantics (create-only and compare-and-swap writes, ranged reads, 304-like
// conditional reads, paged listing in UTF-8 byte order, a key and keys under it as separate
// objects), and the object-store conformance suite holds it to them as it holds the real stores.
//
// The objects outlive close(): a test that mounts, closes and mounts again with the same store
// finds its files, as it would in a bucket. Stores at other prefixes of the same memory "bucket"
// (locator.storeAt) share its objects, so forks work too. Nothing is durable past the process.

import { randomUUID } from "node:crypto";
import { normalizePrefix } from "./located-store.ts";
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
  type StoreLocator,
  type StoredObject,
} from "./object-store.ts";
import { InvalidRequestError, NotFoundError, PreconditionFailedError, describe, type StoreOperation } from "./store-errors.ts";
import { sameEtag } from "./conditional-put.ts";

export interface MemoryObjectStoreOptions {
  /** Keys live under `<prefix>/` of the memory bucket; the store's callers never see the prefix. */
  prefix?: string;
}

interface MemoryObject {
  body: Uint8Array;
  etag: string;
  lastModified: Date;
}

const maxListPage = 1000;
let buckets = 0;

export class MemoryObjectStore implements ObjectStore {
  readonly capabilities: StoreCapabilities = {
    createOnly: true,
    compareAndSwap: true,
    conditionalGet: true,
    maxListPage,
    keysNestUnderObjects: true,
  };
  readonly description: string;
  readonly locator: StoreLocator;
  /** The memory bucket's objects by full key, shared with the stores at its other prefixes. */
  readonly #objects: Map<string, MemoryObject>;
  readonly #bucket: string;
  readonly #prefix: string;

  constructor(options: MemoryObjectStoreOptions = {}, shared?: { objects: Map<string, MemoryObject>; bucket: string }) {
    const location = normalizePrefix(options.prefix ?? "");
    this.#objects = shared?.objects ?? new Map();
    this.#bucket = shared?.bucket ?? `memory-${++buckets}`;
    this.#prefix = location === "" ? "" : `${location}/`;
    this.description = `memory://${this.#bucket}/${this.#prefix}`;
    this.locator = { prefix: location, storeAt: (prefix) => new MemoryObjectStore({ prefix }, { objects: this.#objects, bucket: this.#bucket }) };
  }

  async get(key: string, options: GetOptions = {}): Promise<StoredObject> {
    const object = this.#find("get", key);
    if (options.range === undefined) return { ...info(key, object), body: object.body.slice() };
    const problem = rangeProblem(options.range);
    if (problem !== undefined) throw new InvalidRequestError(describe("get", key, problem), { operation: "get", key });
    const size = object.body.byteLength;
    const { offset } = options.range;
    if (offset >= size && size > 0) {
      throw new InvalidRequestError(describe("get", key, `range starts at ${offset}, past the end of a ${size}-byte object`), { operation: "get", key, status: 416 });
    }
    const length = Math.max(0, Math.min(options.range.length ?? size - offset, size - offset));
    return { ...info(key, object), body: object.body.slice(offset, offset + length), range: { offset, length } };
  }

  async getIfChanged(key: string, etag: string): Promise<StoredObject | undefined> {
    const object = this.#find("get", key);
    if (sameEtag(object.etag, etag)) return undefined;
    return { ...info(key, object), body: object.body.slice() };
  }

  async head(key: string): Promise<ObjectInfo> {
    return info(key, this.#find("head", key));
  }

  async put(key: string, body: Uint8Array, options: PutOptions = {}): Promise<PutResult> {
    const fullKey = this.#fullKey("put", key);
    if (options.ifMatch !== undefined && options.ifNoneMatch !== undefined) {
      throw new InvalidRequestError(describe("put", key, "ifMatch and ifNoneMatch cannot be combined"), { operation: "put", key });
    }
    // Checked and written in one step of this single-threaded process: conditional writes are atomic.
    const current = this.#objects.get(fullKey);
    if (options.ifNoneMatch === "*" && current !== undefined) {
      throw new PreconditionFailedError(describe("put", key, "the object already exists (If-None-Match: *)"), { operation: "put", key, status: 412 });
    }
    if (options.ifMatch !== undefined && (current === undefined || !sameEtag(current.etag, options.ifMatch))) {
      const what = current === undefined ? "the object does not exist (If-Match)" : "the object has changed (If-Match)";
      throw new PreconditionFailedError(describe("put", key, what), { operation: "put", key, status: 412 });
    }
    const etag = `"${randomUUID()}"`;
    this.#objects.set(fullKey, { body: body.slice(), etag, lastModified: new Date() });
    return { etag };
  }

  async delete(key: string): Promise<void> {
    this.#objects.delete(this.#fullKey("delete", key));
  }

  async list(options: ListOptions = {}): Promise<ListPage> {
    const prefix = this.#prefix + (options.prefix ?? "");
    const after = options.continuationToken ?? options.startAfter;
    const maxKeys = Math.min(Math.max(1, options.maxKeys ?? maxListPage), maxListPage);
    const keys: string[] = [];
    for (const fullKey of this.#objects.keys()) {
      if (!fullKey.startsWith(prefix)) continue;
      const key = fullKey.slice(this.#prefix.length);
      if (after === undefined || compareKeys(key, after) > 0) keys.push(key);
    }
    keys.sort(compareKeys);
    const page = keys.slice(0, maxKeys).map((key) => info(key, this.#objects.get(this.#prefix + key)!));
    const last = page.at(-1);
    return keys.length > maxKeys && last !== undefined ? { objects: page, nextToken: last.key } : { objects: page };
  }

  /** Keeps the objects: a later mount with this store (or one at the same prefix) finds them. */
  async close(): Promise<void> {}

  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return `MemoryObjectStore(${this.description})`;
  }

  #fullKey(operation: StoreOperation, key: string): string {
    const problem = keyProblem(key);
    if (problem !== undefined) throw new InvalidRequestError(describe(operation, key, problem), { operation, key });
    return this.#prefix + key;
  }

  #find(operation: StoreOperation, key: string): MemoryObject {
    const object = this.#objects.get(this.#fullKey(operation, key));
    if (object === undefined) throw new NotFoundError(describe(operation, key, "no such key"), { operation, key, status: 404 });
    return object;
  }
}

function info(key: string, object: MemoryObject): ObjectInfo {
  return { key, etag: object.etag, size: object.body.byteLength, lastModified: object.lastModified };
}
