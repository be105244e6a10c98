// The ObjectStore contract: the only way the filesystem talks to durable storage.
//
// Every implementation (S3ObjectStore, LocalObjectStore) and every decorator (retrying, counting,
// fault-injecting, latency, origin, located; all built on forwarding-store.ts) speaks exactly this
// interface, and one conformance suite (test/stores/object-store-suite.ts) holds them all to it. Keys are opaque strings of at most
// 1024 UTF-8 bytes, ordered by their UTF-8 bytes as S3 orders them.
//
// What each method throws is part of the contract: callers decide what to do from the class of a
// StoreError (see store-errors.ts), never from a message or an HTTP status.

/** Bytes of a ranged read. `offset` from the start; `length` bytes, or to the end when omitted. */
export interface ByteRange {
  offset: number;
  length?: number;
}

/** What a store can do. Declared, so callers and the conformance suite need not guess. */
export interface StoreCapabilities {
  /** `put(..., { ifNoneMatch: "*" })` is atomic: of concurrent creators exactly one wins. */
  createOnly: boolean;
  /** `put(..., { ifMatch })` is atomic: a stale ETag never overwrites a newer object. */
  compareAndSwap: boolean;
  /** `getIfChanged` answers "unchanged" without sending the body (an HTTP 304). */
  conditionalGet: boolean;
  /** Largest page `list` returns. */
  maxListPage: number;
  /**
   * Whether a key may be both an object and a prefix of other keys ("a" and "a/b"). S3 allows it;
   * a directory tree cannot (a path is a file or a directory). The filesystem never needs it.
   */
  keysNestUnderObjects: boolean;
}

/**
 * Where a store lives in its bucket, and how to reach the rest of that bucket. Forks need it (a
 * fork reads its ancestors' objects where they lie, and registers itself with its parent); nothing
 * else does.
 */
export interface StoreLocator {
  /** This store's prefix in its bucket, normalised ("a/b", "" for the bucket's root). */
  readonly prefix: string;
  /** A store on the same bucket at `prefix` (normalised the same way). */
  storeAt(prefix: string): ObjectStore;
}

export interface ObjectInfo {
  key: string;
  /** Opaque version tag, as the store returns it; pass it back unchanged to `ifMatch`. */
  etag: string;
  size: number;
  lastModified: Date;
}

export interface StoredObject extends ObjectInfo {
  /** The bytes asked for: the whole object, or just the range. */
  body: Uint8Array;
  /** Set on a ranged read: where `body` starts within the object. */
  range?: { offset: number; length: number };
}

export interface PutOptions {
  /** `"*"`: create only; fails with PreconditionFailedError if the key exists. */
  ifNoneMatch?: "*";
  /** Compare-and-swap: write only if the current ETag equals this one, else PreconditionFailedError. */
  ifMatch?: string;
  contentType?: string;
  /** Aborts the request; the outcome of an aborted write is unknown (AmbiguousOutcomeError). */
  signal?: AbortSignal;
}

export interface GetOptions {
  range?: ByteRange;
  signal?: AbortSignal;
}

export interface PutResult {
  etag: string;
}

export interface ListOptions {
  prefix?: string;
  /** Keys strictly after this one (UTF-8 byte order). */
  startAfter?: string;
  /** At most this many keys (the store may return fewer; it never returns more). */
  maxKeys?: number;
  /** From a previous page's `nextToken`. */
  continuationToken?: string;
}

export interface ListPage {
  objects: ObjectInfo[];
  /** Present when there are more keys; pass it as `continuationToken`. */
  nextToken?: string;
}

export interface ObjectStore {
  readonly capabilities: StoreCapabilities;
  /** A short description for messages and `stats()` ("s3://bucket/prefix", "local:/dir"). */
  readonly description: string;
  /**
   * Set when the store can open stores at other prefixes of its bucket (an S3 store, or any store
   * wrapped in a LocatedStore); decorators pass on their inner store's. Forks work only then.
   */
  readonly locator?: StoreLocator | undefined;

  /**
   * The object, or the bytes of `range` within it. A range that starts at or past the end of a
   * non-empty object throws InvalidRequestError; one that runs past the end is cut at the end.
   * @throws NotFoundError, UnavailableError, UnauthorizedError, InvalidRequestError
   */
  get(key: string, options?: GetOptions): Promise<StoredObject>;

  /**
   * The whole object if its ETag differs from `etag`; `undefined` if it is unchanged.
   * @throws NotFoundError, UnavailableError, UnauthorizedError
   */
  getIfChanged(key: string, etag: string, options?: { signal?: AbortSignal }): Promise<StoredObject | undefined>;

  /** @throws NotFoundError, UnavailableError, UnauthorizedError */
  head(key: string, options?: { signal?: AbortSignal }): Promise<ObjectInfo>;

  /**
   * Writes the whole object. With `ifNoneMatch` or `ifMatch` the write is conditional and atomic.
   * @throws PreconditionFailedError (the condition does not hold; nothing was written),
   *   AmbiguousOutcomeError (the write may or may not have landed; read back to settle),
   *   UnavailableError (nothing landed; safe to retry), UnauthorizedError, InvalidRequestError
   */
  put(key: string, body: Uint8Array, options?: PutOptions): Promise<PutResult>;

  /** Deletes the object; deleting a missing key succeeds. @throws UnavailableError, UnauthorizedError */
  delete(key: string, options?: { signal?: AbortSignal }): Promise<void>;

  /** One page of keys in UTF-8 byte order. @throws UnavailableError, UnauthorizedError */
  list(options?: ListOptions): Promise<ListPage>;

  /** Releases sockets, file handles and timers. The store is unusable afterwards. */
  close?(): Promise<void>;
}

/** Every key under `prefix`, following continuation tokens. */
export async function* listAll(store: ObjectStore, options: Omit<ListOptions, "continuationToken"> = {}): AsyncGenerator<ObjectInfo> {
  let continuationToken: string | undefined;
  do {
    const page = await store.list(continuationToken === undefined ? options : { ...options, continuationToken });
    yield* page.objects;
    continuationToken = page.nextToken;
  } while (continuationToken !== undefined);
}

const utf8 = new TextEncoder();

/** S3's key order: by UTF-8 bytes, not by UTF-16 code units. */
export function compareKeys(a: string, b: string): number {
  return Buffer.compare(utf8.encode(a), utf8.encode(b));
}

export const maxKeyBytes = 1024;

/** Rejects keys no S3 provider accepts: empty, over 1024 UTF-8 bytes, or holding a NUL. */
export function keyProblem(key: string): string | undefined {
  if (typeof key !== "string" || key.length === 0) return "the key is empty";
  if (key.includes("\0")) return "the key contains a NUL byte";
  if (utf8.encode(key).byteLength > maxKeyBytes) return `the key is longer than ${maxKeyBytes} UTF-8 bytes`;
  return undefined;
}

/** Rejects ranges S3 cannot express: a negative or fractional offset, a length below 1. */
export function rangeProblem(range: ByteRange): string | undefined {
  if (!Number.isSafeInteger(range.offset) || range.offset < 0) return `invalid range offset ${range.offset}: it must be an integer >= 0`;
  if (range.length !== undefined && (!Number.isSafeInteger(range.length) || range.length < 1)) {
    return `invalid range length ${range.length}: it must be an integer >= 1`;
  }
  return undefined;
}
