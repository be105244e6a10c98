// CountingStore: counts requests and bytes by operation, for `stats()` and for tests that assert
// exactly how many requests an operation cost. Counts are deterministic, unlike timings.

import { ForwardingStore, bytesReceived, type StoreRequest } from "./forwarding-store.ts";
import type { ObjectStore } from "./object-store.ts";
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

export class CountingStore extends ForwardingStore {
  private counts = new Map<StoreOperation, OperationCounts>(operations.map((operation) => [operation, zero()]));
  /** Every request since the last reset, when recording is on (tests), oldest first. */
  readonly requests: RecordedRequest[] = [];

  constructor(
    inner: ObjectStore,
    private readonly options: { record?: boolean } = {},
  ) {
    super(inner);
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

  protected override async forward<T>(request: StoreRequest, send: () => Promise<T>): Promise<T> {
    const { operation, key, bytesOut } = request;
    const extra: Partial<RecordedRequest> = {};
    if (request.conditional !== undefined) extra.conditional = request.conditional;
    if (request.range !== undefined) extra.range = request.range;
    const counts = this.counts.get(operation) ?? zero();
    counts.requests += 1;
    counts.bytesOut += bytesOut;
    try {
      const result = await send();
      const received = bytesReceived(result);
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
