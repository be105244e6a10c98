// RetryingStore: retries what may succeed later, never what cannot, and settles writes whose
// outcome is unknown by reading them back.
//
// - UnavailableError (throttling, 5xx, refused connections): retried with exponential backoff and
//   full jitter, up to `maxAttempts`.
// - AmbiguousOutcomeError on an unconditional put: sent again (a whole-object PUT is idempotent).
// - AmbiguousOutcomeError on a conditional put: the key is read back (conditional-put.ts). Our bytes
//   there: success. Someone else's: PreconditionFailedError. Nothing yet: the same conditional put
//   is sent again, which is safe because a late landing of the first attempt makes the second
//   fail its condition, and that failure is settled by reading back too.
// - PreconditionFailedError, NotFoundError, UnauthorizedError, CorruptObjectError,
//   InvalidRequestError: never retried; they are answers.

import { settleConditionalPut } from "./conditional-put.ts";
import { ForwardingStore, conditionOf, type StoreRequest } from "./forwarding-store.ts";
import type { ObjectStore, PutOptions, PutResult } from "./object-store.ts";
import { AmbiguousOutcomeError, StoreError, type StoreOperation } from "./store-errors.ts";
import { sleep as realSleep, type Sleep } from "./random.ts";

export interface RetryingStoreOptions {
  /** Attempts per operation, the first included (default 6). */
  maxAttempts?: number;
  /** First backoff ceiling in ms (default 50); doubles per attempt. */
  baseDelayMs?: number;
  /** Largest backoff ceiling in ms (default 2,000). */
  maxDelayMs?: number;
  /** Source of jitter in [0, 1) (default Math.random; seed it in tests). */
  random?: () => number;
  sleep?: Sleep;
  /** Called before each retry, for metrics and logs. */
  onRetry?: (event: { operation: StoreOperation; key: string | undefined; attempt: number; error: StoreError; delayMs: number }) => void;
}

export class RetryingStore extends ForwardingStore {
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly random: () => number;
  private readonly sleep: Sleep;
  private readonly onRetry: RetryingStoreOptions["onRetry"];

  constructor(inner: ObjectStore, options: RetryingStoreOptions = {}) {
    super(inner);
    this.maxAttempts = Math.max(1, options.maxAttempts ?? 6);
    this.baseDelayMs = options.baseDelayMs ?? 50;
    this.maxDelayMs = options.maxDelayMs ?? 2_000;
    this.random = options.random ?? Math.random;
    this.sleep = options.sleep ?? realSleep;
    this.onRetry = options.onRetry;
  }

  override put(key: string, body: Uint8Array, options: PutOptions = {}): Promise<PutResult> {
    const conditional = conditionOf(options) !== undefined;
    return this.retry("put", key, options.signal, async () => {
      try {
        return await this.inner.put(key, body, options);
      } catch (error) {
        if (!(error instanceof AmbiguousOutcomeError)) throw error;
        if (!conditional) throw new RetryAfterAmbiguity(error);
        const settlement = await settleConditionalPut(this, key, body, options, error);
        if (settlement.landed) return settlement.result;
        throw new RetryAfterAmbiguity(error);
      }
    });
  }

  protected override forward<T>(request: StoreRequest, send: () => Promise<T>): Promise<T> {
    return this.retry(request.operation, request.key, request.signal, send);
  }

  private async retry<T>(operation: StoreOperation, key: string | undefined, signal: AbortSignal | undefined, attempt: () => Promise<T>): Promise<T> {
    for (let number = 1; ; number++) {
      try {
        return await attempt();
      } catch (error) {
        const retry = error instanceof RetryAfterAmbiguity ? error.original : error;
        const retryable = error instanceof RetryAfterAmbiguity || (error instanceof StoreError && error.retryable);
        // An aborted request is not tried again: its caller has gone.
        if (!retryable || number >= this.maxAttempts || signal?.aborted) throw retry;
        const ceiling = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** (number - 1));
        const delayMs = Math.floor(this.random() * ceiling);
        this.onRetry?.({ operation, key, attempt: number, error: retry as StoreError, delayMs });
        await this.sleep(delayMs, signal);
      }
    }
  }
}

/** Marks an ambiguous failure as safe to repeat, keeping the original for the final throw. */
class RetryAfterAmbiguity extends Error {
  constructor(readonly original: AmbiguousOutcomeError) {
    super(original.message);
  }
}

