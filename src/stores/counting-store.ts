// CountingStore: counts requests and bytes by operation, for `stats()` and for tests that assert
// exactly how many requests an operation cost. Counts are deterministic, unlike timings.

import type { GetOptions, ListOptions, ListPage, ObjectInfo, ObjectStore, PutOptions, PutResult, StoredObject } from "./object-store.ts";
import type { StoreOperation } from "./store-errors.ts";

export interface OperationCounts {
  requests: number;
  errors: number;
  bytesIn: number;
  bytesOut: number;
}

export type RequestCounts = Record<StoreOperation, OperationCounts> & { total: OperationCounts };

export interface RecordedRequest {
  operation: StoreOperation;
  key: string | undefined;
  /** Body bytes sent (put) or received (get). */
  bytes: number;
  ok: boolean;
  conditional?: "create-only" | "compare-and-swap";
  range?: { offset: number; length?: number };
}

const operations: StoreOperation[] = ["get", "head", "put", "delete", "list"];

function zero(): OperationCounts {
  return { requests: 0, errors: 0, bytesIn: 0, bytesOut: 0 };
}

export class CountingStore implements ObjectStore {
  readonly capabilities;
  readonly description;
  private counts = new Map<StoreOperation, OperationCounts>(operations.map((operation) => [operation, zero()]));
  /** Every request since the last reset, when recording is on (tests), oldest first. */
  readonly requests: RecordedRequest[] = [];

  constructor(
    readonly inner: ObjectStore,
    private readonly options: { record?: boolean } = {},
  ) {
    this.capabilities = inner.capabilities;
    this.description = inner.description;
  }

  /** A copy of the counters. */
  snapshot(): RequestCounts {
    const result = { total: zero() } as RequestCounts;
    for (const operation of operations) {
      const counts = { ...(this.counts.get(operation) ?? zero()) };
      result[operation] = counts;
      result.total.requests += counts.requests;
      result.total.errors += counts.errors;
      result.total.bytesIn += counts.bytesIn;
      result.total.bytesOut += counts.bytesOut;
    }
    return result;
  }

  reset(): void {
    this.counts = new Map(operations.map((operation) => [operation, zero()]));
    this.requests.length = 0;
  }

  /** Requests recorded since the last reset that match `filter`. */
  recorded(filter: { operation?: StoreOperation; keyPrefix?: string } = {}): RecordedRequest[] {
    return this.requests.filter(
      (request) =>
        (filter.operation === undefined || request.operation === filter.operation) &&
        (filter.keyPrefix === undefined || (request.key ?? "").startsWith(filter.keyPrefix)),
    );
  }

  async get(key: string, options?: GetOptions): Promise<StoredObject> {
    return this.count("get", key, () => this.inner.get(key, options), (object) => object.body.byteLength, 0, {
      ...(options?.range === undefined ? {} : { range: options.range }),
    });
  }

  async getIfChanged(key: string, etag: string, options?: { signal?: AbortSignal }): Promise<StoredObject | undefined> {
    return this.count("get", key, () => this.inner.getIfChanged(key, etag, options), (object) => object?.body.byteLength ?? 0, 0);
  }

  async head(key: string, options?: { signal?: AbortSignal }): Promise<ObjectInfo> {
    return this.count("head", key, () => this.inner.head(key, options), () => 0, 0);
  }

  async put(key: string, body: Uint8Array, options?: PutOptions): Promise<PutResult> {
    const conditional = options?.ifNoneMatch !== undefined ? "create-only" : options?.ifMatch !== undefined ? "compare-and-swap" : undefined;
    return this.count("put", key, () => this.inner.put(key, body, options), () => 0, body.byteLength, conditional === undefined ? {} : { conditional });
  }

  async delete(key: string, options?: { signal?: AbortSignal }): Promise<void> {
    return this.count("delete", key, () => this.inner.delete(key, options), () => 0, 0);
  }

  async list(options?: ListOptions): Promise<ListPage> {
    return this.count("list", options?.prefix, () => this.inner.list(options), () => 0, 0);
  }

  async close(): Promise<void> {
    await this.inner.close?.();
  }

  private async count<T>(
    operation: StoreOperation,
    key: string | undefined,
    request: () => Promise<T>,
    bytesIn: (result: T) => number,
    bytesOut: number,
    extra: Partial<RecordedRequest> = {},
  ): Promise<T> {
    const counts = this.counts.get(operation) ?? zero();
    counts.requests += 1;
    counts.bytesOut += bytesOut;
    try {
      const result = await request();
      const received = bytesIn(result);
      counts.bytesIn += received;
      if (this.options.record) this.requests.push({ operation, key, bytes: bytesOut + received, ok: true, ...extra });
      return result;
    } catch (error) {
      counts.errors += 1;
      if (this.options.record) this.requests.push({ operation, key, bytes: bytesOut, ok: false, ...extra });
      throw error;
    }
  }
}
