// A store that knows where it is: its bucket-relative prefix, and how to open a store on the same
// bucket at another prefix. Forks need both (a fork reads its parent's objects where they lie, and
// registers itself with its parent); nothing else does. A mount finds the locator by looking
// through the decorators around its store, so fault injection and counting stay transparent.

import type { GetOptions, ListOptions, ListPage, ObjectInfo, ObjectStore, PutOptions, PutResult, StoredObject } from "../stores/object-store.ts";

export interface StoreLocator {
  /** This store's prefix in its bucket, normalised ("a/b", "" for the bucket's root). */
  readonly prefix: string;
  /** A store on the same bucket at `prefix` (normalised the same way). */
  storeAt(prefix: string): ObjectStore;
}

/** "/a//b/" -> "a/b": prefixes compare equal however they were typed. */
export function normalizePrefix(prefix: string): string {
  return prefix
    .split("/")
    .filter((part) => part !== "" && part !== ".")
    .join("/");
}

/** Wraps a store with its location; every request goes to the inner store unchanged. */
export class LocatedStore implements ObjectStore, StoreLocator {
  readonly capabilities;
  readonly description;
  readonly prefix: string;

  constructor(
    readonly inner: ObjectStore,
    prefix: string,
    private readonly open: (prefix: string) => ObjectStore,
  ) {
    this.capabilities = inner.capabilities;
    this.description = inner.description;
    this.prefix = normalizePrefix(prefix);
  }

  storeAt(prefix: string): ObjectStore {
    const normalized = normalizePrefix(prefix);
    return new LocatedStore(this.open(normalized), normalized, this.open);
  }

  get(key: string, options?: GetOptions): Promise<StoredObject> {
    return this.inner.get(key, options);
  }

  getIfChanged(key: string, etag: string, options?: { signal?: AbortSignal }): Promise<StoredObject | undefined> {
    return this.inner.getIfChanged(key, etag, options);
  }

  head(key: string, options?: { signal?: AbortSignal }): Promise<ObjectInfo> {
    return this.inner.head(key, options);
  }

  put(key: string, body: Uint8Array, options?: PutOptions): Promise<PutResult> {
    return this.inner.put(key, body, options);
  }

  delete(key: string, options?: { signal?: AbortSignal }): Promise<void> {
    return this.inner.delete(key, options);
  }

  list(options?: ListOptions): Promise<ListPage> {
    return this.inner.list(options);
  }

  async close(): Promise<void> {
    await this.inner.close?.();
  }
}

/** The locator among `store` and the decorators it wraps (each exposes `inner`), if any. */
export function findLocator(store: ObjectStore): StoreLocator | undefined {
  let current: unknown = store;
  for (let depth = 0; depth < 16 && current !== undefined && current !== null; depth++) {
    if (current instanceof LocatedStore) return current;
    current = (current as { inner?: unknown }).inner;
  }
  return undefined;
}
