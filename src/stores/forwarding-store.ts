// ForwardingStore: the base of every store decorator. It declares the inner store's capabilities,
// description and location as its own and sends every request on to it, so a decorator overrides
// only what it changes: `forward` to act around every request (count, retry, delay, inject a
// fault), or single methods to change one kind of request (route a read, refuse a write).

import type {
  GetOptions,
  ListOptions,
  ListPage,
  ObjectInfo,
  ObjectStore,
  PutOptions,
  PutResult,
  StoreCapabilities,
  StoreLocator,
  StoredObject,
} from "./object-store.ts";
import type { StoreOperation } from "./store-errors.ts";

/** One request as it passes a decorator. */
export interface StoreRequest {
  operation: StoreOperation;
  /** The key; for a listing, its prefix. */
  key: string | undefined;
  /** Body bytes sent (a put's body; 0 otherwise). */
  bytesOut: number;
  /** Set on a conditional put. */
  conditional?: "create-only" | "compare-and-swap";
  /** Set on a ranged get. */
  range?: { offset: number; length?: number };
  /** The caller's signal, if it gave one: a decorator that waits (a retry, an injected delay) stops waiting when it aborts. */
  signal?: AbortSignal;
}

export abstract class ForwardingStore implements ObjectStore {
  readonly capabilities: StoreCapabilities;
  readonly description: string;

  constructor(readonly inner: ObjectStore) {
    this.capabilities = inner.capabilities;
    this.description = inner.description;
  }

  get locator(): StoreLocator | undefined {
    return this.inner.locator;
  }

  get(key: string, options?: GetOptions): Promise<StoredObject> {
    const request: StoreRequest = { operation: "get", key, bytesOut: 0 };
    if (options?.range !== undefined) request.range = options.range;
    if (options?.signal !== undefined) request.signal = options.signal;
    return this.forward(request, () => this.inner.get(key, options));
  }

  getIfChanged(key: string, etag: string, options?: { signal?: AbortSignal }): Promise<StoredObject | undefined> {
    return this.forward({ operation: "get", key, bytesOut: 0 }, () => this.inner.getIfChanged(key, etag, options));
  }

  head(key: string, options?: { signal?: AbortSignal }): Promise<ObjectInfo> {
    return this.forward({ operation: "head", key, bytesOut: 0 }, () => this.inner.head(key, options));
  }

  put(key: string, body: Uint8Array, options?: PutOptions): Promise<PutResult> {
    const request: StoreRequest = { operation: "put", key, bytesOut: body.byteLength };
    const conditional = conditionOf(options);
    if (conditional !== undefined) request.conditional = conditional;
    if (options?.signal !== undefined) request.signal = options.signal;
    return this.forward(request, () => this.inner.put(key, body, options));
  }

  delete(key: string, options?: { signal?: AbortSignal }): Promise<void> {
    return this.forward({ operation: "delete", key, bytesOut: 0 }, () => this.inner.delete(key, options));
  }

  list(options?: ListOptions): Promise<ListPage> {
    return this.forward({ operation: "list", key: options?.prefix, bytesOut: 0 }, () => this.inner.list(options));
  }

  async close(): Promise<void> {
    await this.inner.close?.();
  }

  /** Every request passes here on its way to the inner store (`send`); by default unchanged. */
  protected forward<T>(_request: StoreRequest, send: () => Promise<T>): Promise<T> {
    return send();
  }
}

/** Which condition a put carries, if any. */
export function conditionOf(options: PutOptions | undefined): StoreRequest["conditional"] {
  return options?.ifNoneMatch !== undefined ? "create-only" : options?.ifMatch !== undefined ? "compare-and-swap" : undefined;
}

/** Body bytes an answer carried: a get's object; nothing for the other requests. */
export function bytesReceived(answer: unknown): number {
  const body = (answer as { body?: unknown } | undefined)?.body;
  return body instanceof Uint8Array ? body.byteLength : 0;
}
