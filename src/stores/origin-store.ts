// Reading a fork's inherited objects where they lie. A fork names each object it inherited from
// an ancestor `origin/<fsId>/<key>` (docs/s3-layout.md F1); this decorator sends reads of such a
// name to `<key>` in the ancestor's prefix, found through format.json's `origins` and the store's
// locator. Writes and deletes of inherited names are refused: a filesystem never changes, nor
// collects, another filesystem's objects. Listing shows this filesystem's own objects only.

import { ForwardingStore } from "./forwarding-store.ts";
import type { GetOptions, ObjectInfo, ObjectStore, PutOptions, PutResult, StoreLocator, StoredObject } from "./object-store.ts";
import { InvalidRequestError, describe, type StoreOperation } from "./store-errors.ts";

export const originKeyPrefix = "origin/";

/** The name a fork gives `key` of the filesystem `fsId`. */
export function originKey(fsId: string, key: string): string {
  return `${originKeyPrefix}${fsId}/${key}`;
}

/** `{ fsId, key }` for an inherited object's name; undefined for one of this filesystem's own. */
export function parseOriginKey(name: string): { fsId: string; key: string } | undefined {
  if (!name.startsWith(originKeyPrefix)) return undefined;
  const slash = name.indexOf("/", originKeyPrefix.length);
  if (slash < 0) return undefined;
  return { fsId: name.slice(originKeyPrefix.length, slash), key: name.slice(slash + 1) };
}

export class OriginStore extends ForwardingStore {
  private origins: Record<string, string> = {};
  /** Opens the ancestors' prefixes; undefined when this store cannot reach them. */
  private ancestors: StoreLocator | undefined;
  private readonly opened = new Map<string, ObjectStore>();

  /** Sets where each ancestor lives (from format.json), once the mount has read it. */
  configure(origins: Record<string, string>, locator: StoreLocator | undefined): void {
    this.origins = { ...origins };
    this.ancestors = locator;
  }

  override async get(key: string, options?: GetOptions): Promise<StoredObject> {
    const origin = this.route("get", key);
    if (origin === undefined) return this.inner.get(key, options);
    return { ...(await origin.store.get(origin.key, options)), key };
  }

  override async getIfChanged(key: string, etag: string, options?: { signal?: AbortSignal }): Promise<StoredObject | undefined> {
    const origin = this.route("get", key);
    if (origin === undefined) return this.inner.getIfChanged(key, etag, options);
    const object = await origin.store.getIfChanged(origin.key, etag, options);
    return object === undefined ? undefined : { ...object, key };
  }

  override async head(key: string, options?: { signal?: AbortSignal }): Promise<ObjectInfo> {
    const origin = this.route("head", key);
    if (origin === undefined) return this.inner.head(key, options);
    return { ...(await origin.store.head(origin.key, options)), key };
  }

  override async put(key: string, body: Uint8Array, options?: PutOptions): Promise<PutResult> {
    if (key.startsWith(originKeyPrefix)) throw refused("put", key);
    return this.inner.put(key, body, options);
  }

  override async delete(key: string, options?: { signal?: AbortSignal }): Promise<void> {
    if (key.startsWith(originKeyPrefix)) throw refused("delete", key);
    return this.inner.delete(key, options);
  }

  override async close(): Promise<void> {
    await Promise.allSettled([...this.opened.values()].map((store) => store.close?.()));
    await super.close();
  }

  /** The ancestor store and key for an inherited name; undefined for an own key. */
  private route(operation: StoreOperation, key: string): { store: ObjectStore; key: string } | undefined {
    const parsed = parseOriginKey(key);
    if (parsed === undefined) return undefined;
    const prefix = this.origins[parsed.fsId];
    if (prefix === undefined) {
      throw new InvalidRequestError(describe(operation, key, `no ancestor filesystem ${parsed.fsId} is listed in format.json's origins`), { operation, key });
    }
    if (this.ancestors === undefined) {
      throw new InvalidRequestError(describe(operation, key, `this fork's objects live partly in ${JSON.stringify(prefix)}, which this store cannot reach`), { operation, key });
    }
    let store = this.opened.get(parsed.fsId);
    if (store === undefined) {
      store = this.ancestors.storeAt(prefix);
      this.opened.set(parsed.fsId, store);
    }
    return { store, key: parsed.key };
  }
}

function refused(operation: StoreOperation, key: string): InvalidRequestError {
  return new InvalidRequestError(describe(operation, key, "an object inherited from another filesystem is never written or deleted by this one"), { operation, key });
}
