// The simulated object store: one bucket in memory, shared by every simulated process, with S3's
// precondition semantics (create-only puts, If-Match compare-and-swap, ranges, 404s) and the error
// classes of src/stores/store-errors.ts. Nothing happens when a request is sent: it waits in the
// bucket's queue until the scheduler (simulation.ts) decides its fate, in an order of its choosing:
//
//   deliver      it takes effect now and its caller hears the answer
//   fail         it never takes effect; the caller gets one of the error classes real stores produce
//   lose answer  it takes effect now; the caller gets "unknown outcome" (a put) or "unavailable"
//   late         the caller gets a timeout at once; the request itself stays in flight and takes
//                effect at a later step of the scheduler's choosing (or never)
//   duplicate    it takes effect now and its caller hears the answer; a copy of it, delivered by
//                the network twice, takes effect again later (a put landing twice, a late delete)
//   stall        it simply stays queued while other requests overtake it
//
// A bucket may be switched to `direct` for a client: its requests then take effect at once with no
// fault, which the invariant checks use (a check must not reorder the workload's requests).

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
} from "../../src/stores/object-store.ts";
import { sameEtag } from "../../src/stores/conditional-put.ts";
import {
  AmbiguousOutcomeError,
  InvalidRequestError,
  NotFoundError,
  PreconditionFailedError,
  StoreError,
  UnauthorizedError,
  UnavailableError,
  describe,
  type StoreOperation,
} from "../../src/stores/store-errors.ts";

interface StoredVersion {
  body: Uint8Array;
  etag: string;
  lastModified: number;
}

/** One request waiting in the bucket for the scheduler. */
export interface SimRequest {
  /** Issue number, bucket-wide: the order requests were sent in. */
  id: number;
  client: string;
  operation: StoreOperation;
  key: string | undefined;
  /** A put or a delete: it changes the bucket, so a late copy of it matters. */
  write: boolean;
  /** A conditional put (create-only or compare-and-swap). */
  conditional: boolean;
  /** Takes effect against the bucket and returns the answer (or throws the store's own error). */
  execute: () => unknown;
  /** Settles the caller's promise: once only. */
  answer: (outcome: { value: unknown } | { error: unknown }) => void;
  answered: boolean;
  /** The caller's AbortSignal fired: it has been answered already; the request may still land. */
  abandoned?: boolean;
  /** How many times the request took effect. */
  landed: number;
}

export type StoreFault = "deliver" | "fail" | "lose-answer" | "late" | "duplicate";

export interface BucketEvent {
  step: number;
  request: number;
  client: string;
  operation: StoreOperation;
  key: string | undefined;
  fate: string;
}

/** The only keys the format overwrites (docs/s3-layout.md L1). */
const mutableKeys = new Set(["heads/main.json", "writer/lease.json", "gc/clock", "gc/collector.json"]);

const capabilities: StoreCapabilities = { createOnly: true, compareAndSwap: true, conditionalGet: true, maxListPage: 1000, keysNestUnderObjects: true };

export class SimBucket {
  readonly objects = new Map<string, StoredVersion>();
  /** Requests sent and not yet decided. */
  readonly queue: SimRequest[] = [];
  /** Requests whose caller has heard a timeout, still in flight (they may land later). */
  readonly late: SimRequest[] = [];
  /** Clients whose requests take effect at once, faultless (invariant checks). */
  readonly direct = new Set<string>();
  /** Clients whose process has died: nothing more is sent (what was sent may still land). */
  readonly dead = new Set<string>();
  /** Every request takes effect at once (teardown). */
  allDirect = false;
  /** Every delete that took effect, by key, with the step: GC's footprint. */
  readonly deleted: { key: string; client: string; step: number }[] = [];
  /** Keys meant to be written once (L1) that were overwritten with other bytes. */
  readonly rewritten = new Set<string>();
  /** Lanes' records written (each key once). */
  laneRecords = 0;
  readonly events: BucketEvent[] = [];
  private nextRequest = 1;
  private nextVersion = 1;
  /** Bumped on every request sent: the scheduler waits until it stops moving. */
  activity = 0;
  step = 0;
  /** Requests sent so far. */
  get sent(): number {
    return this.nextRequest - 1;
  }
  faults = 0;

  constructor(readonly clock: () => number) {}

  client(name: string): SimStore {
    return new SimStore(this, name);
  }

  /** Queues a request (or runs it at once for a direct client). */
  submit<T>(client: string, operation: StoreOperation, key: string | undefined, write: boolean, execute: () => T, signal?: AbortSignal, conditional = false): Promise<T> {
    this.activity++;
    return new Promise<T>((resolve, reject) => {
      const request: SimRequest = {
        id: this.nextRequest++,
        client,
        operation,
        key,
        write,
        conditional,
        execute,
        answered: false,
        landed: 0,
        answer: (outcome) => {
          if (request.answered) return;
          request.answered = true;
          if ("error" in outcome) reject(outcome.error);
          else resolve(outcome.value as T);
        },
      };
      if (this.dead.has(client)) {
        request.answered = true;
        reject(new UnavailableError(describe(operation, key, "simulated: the process is gone; nothing was sent"), { operation, key, status: "dead" }));
        return;
      }
      if (this.allDirect || this.direct.has(client)) {
        this.land(request, "direct");
        return;
      }
      if (signal !== undefined) {
        if (signal.aborted) {
          request.answer({ error: timeoutError(operation, key, "aborted before it was sent") });
          return;
        }
        signal.addEventListener(
          "abort",
          () => {
            if (request.answered) return;
            // The caller gave up: it hears an unknown outcome; the request may still land.
            request.abandoned = true;
            request.answer({ error: timeoutError(operation, key, "aborted by the caller") });
          },
          { once: true },
        );
      }
      this.queue.push(request);
    });
  }

  /** Takes effect now; answers the caller with the result unless it has been answered already. */
  land(request: SimRequest, fate: string): void {
    let outcome: { value: unknown } | { error: unknown };
    try {
      outcome = { value: request.execute() };
      request.landed++;
    } catch (error) {
      outcome = { error };
    }
    this.record(request, fate);
    request.answer(outcome);
  }

  record(request: SimRequest, fate: string): void {
    this.events.push({ step: this.step, request: request.id, client: request.client, operation: request.operation, key: request.key, fate });
    if (this.events.length > 400) this.events.splice(0, 200);
  }

  /** Removes `request` from the queue and gives it `fate` (the scheduler's choice). */
  decide(request: SimRequest, fate: StoreFault, error?: StoreError): void {
    const index = this.queue.indexOf(request);
    if (index >= 0) this.queue.splice(index, 1);
    if (request.abandoned) {
      // Its caller already heard a timeout: whatever happens now, nobody listens.
      if (fate === "fail") this.record(request, "dropped after its caller gave up");
      else this.land(request, `landed after its caller gave up`);
      return;
    }
    if (fate !== "deliver") this.faults++;
    switch (fate) {
      case "deliver":
        this.land(request, "delivered");
        return;
      case "fail":
        this.record(request, `failed: ${error?.name}`);
        request.answer({ error });
        return;
      case "lose-answer": {
        try {
          request.execute();
          request.landed++;
        } catch {
          // the answer is lost either way
        }
        this.record(request, "landed, answer lost");
        request.answer({ error: timeoutError(request.operation, request.key, "the answer was lost after the request reached the store") });
        return;
      }
      case "late":
        this.record(request, "timed out at the caller; still in flight");
        request.answer({ error: timeoutError(request.operation, request.key, "the request timed out") });
        if (request.write) this.late.push(request);
        return;
      case "duplicate":
        this.land(request, "delivered (a copy stays in flight)");
        if (request.write) this.late.push(request);
        return;
    }
  }

  /** A late request (or a duplicate copy) takes effect now. */
  landLate(request: SimRequest): void {
    const index = this.late.indexOf(request);
    if (index >= 0) this.late.splice(index, 1);
    try {
      request.execute();
      request.landed++;
      this.record(request, "late copy landed");
    } catch (error) {
      this.record(request, `late copy landed and failed: ${(error as Error).name}`);
    }
  }

  dropLate(request: SimRequest): void {
    const index = this.late.indexOf(request);
    if (index >= 0) this.late.splice(index, 1);
    this.record(request, "late copy dropped in the network");
  }

  // The bucket's own semantics (one step each, atomic).

  getObject(key: string): StoredVersion {
    const version = this.objects.get(key);
    if (version === undefined) throw new NotFoundError(describe("get", key, "no such key"), { operation: "get", key, status: 404 });
    return version;
  }

  putObject(key: string, body: Uint8Array, options: PutOptions): PutResult {
    const current = this.objects.get(key);
    if (options.ifNoneMatch === "*" && current !== undefined) {
      throw new PreconditionFailedError(describe("put", key, "the object already exists (If-None-Match: *)"), { operation: "put", key, status: 412 });
    }
    if (options.ifMatch !== undefined && (current === undefined || !sameEtag(current.etag, options.ifMatch))) {
      throw new PreconditionFailedError(describe("put", key, current === undefined ? "the object does not exist (If-Match)" : "the object has changed (If-Match)"), {
        operation: "put",
        key,
        status: 412,
      });
    }
    if (current !== undefined && !mutableKeys.has(key) && Buffer.compare(current.body, body) !== 0) this.rewritten.add(key);
    if (current === undefined && key.startsWith("lanes/")) this.laneRecords++;
    const etag = `"v${this.nextVersion++}"`;
    this.objects.set(key, { body: body.slice(), etag, lastModified: this.clock() });
    return { etag };
  }

  deleteObject(key: string, client: string): void {
    if (this.objects.delete(key)) this.deleted.push({ key, client, step: this.step });
  }
}

export class SimStore implements ObjectStore {
  readonly capabilities = capabilities;
  readonly description: string;

  constructor(
    readonly bucket: SimBucket,
    readonly client: string,
  ) {
    this.description = `sim:${client}`;
  }

  get(key: string, options: GetOptions = {}): Promise<StoredObject> {
    const problem = keyProblem(key) ?? (options.range === undefined ? undefined : rangeProblem(options.range));
    if (problem !== undefined) return Promise.reject(new InvalidRequestError(describe("get", key, problem), { operation: "get", key }));
    return this.bucket.submit(this.client, "get", key, false, () => {
      const version = this.bucket.getObject(key);
      const info = infoOf(key, version);
      if (options.range === undefined) return { ...info, body: version.body.slice() };
      const size = version.body.byteLength;
      if (options.range.offset >= size && size > 0) {
        throw new InvalidRequestError(describe("get", key, `range starts at ${options.range.offset}, past the end of a ${size}-byte object`), {
          operation: "get",
          key,
          status: 416,
        });
      }
      const offset = Math.min(options.range.offset, size);
      const length = Math.min(options.range.length ?? size - offset, size - offset);
      return { ...info, body: version.body.slice(offset, offset + length), range: { offset, length } };
    }, options.signal);
  }

  getIfChanged(key: string, etag: string, options: { signal?: AbortSignal } = {}): Promise<StoredObject | undefined> {
    return this.bucket.submit(this.client, "get", key, false, () => {
      const version = this.bucket.getObject(key);
      if (sameEtag(version.etag, etag)) return undefined;
      return { ...infoOf(key, version), body: version.body.slice() };
    }, options.signal);
  }

  head(key: string, options: { signal?: AbortSignal } = {}): Promise<ObjectInfo> {
    return this.bucket.submit(this.client, "head", key, false, () => infoOf(key, this.bucket.getObject(key)), options.signal);
  }

  put(key: string, body: Uint8Array, options: PutOptions = {}): Promise<PutResult> {
    const problem = keyProblem(key);
    if (problem !== undefined) return Promise.reject(new InvalidRequestError(describe("put", key, problem), { operation: "put", key }));
    if (options.ifMatch !== undefined && options.ifNoneMatch !== undefined) {
      return Promise.reject(new InvalidRequestError(describe("put", key, "ifMatch and ifNoneMatch cannot be combined"), { operation: "put", key }));
    }
    const bytes = body.slice(); // the caller may reuse its buffer once the request is sent
    const conditions: PutOptions = {};
    if (options.ifMatch !== undefined) conditions.ifMatch = options.ifMatch;
    if (options.ifNoneMatch !== undefined) conditions.ifNoneMatch = options.ifNoneMatch;
    return this.bucket.submit(this.client, "put", key, true, () => this.bucket.putObject(key, bytes, conditions), options.signal, Object.keys(conditions).length > 0);
  }

  delete(key: string, options: { signal?: AbortSignal } = {}): Promise<void> {
    return this.bucket.submit(this.client, "delete", key, true, () => this.bucket.deleteObject(key, this.client), options.signal);
  }

  list(options: ListOptions = {}): Promise<ListPage> {
    return this.bucket.submit(this.client, "list", options.prefix, false, () => {
      const prefix = options.prefix ?? "";
      const maxKeys = Math.min(Math.max(1, options.maxKeys ?? 1000), 1000);
      const after = options.continuationToken ?? options.startAfter;
      const keys = [...this.bucket.objects.keys()]
        .filter((key) => key.startsWith(prefix) && (after === undefined || compareKeys(key, after) > 0))
        .sort(compareKeys);
      const page = keys.slice(0, maxKeys).map((key) => infoOf(key, this.bucket.objects.get(key)!));
      const last = page.at(-1);
      return keys.length > maxKeys && last !== undefined ? { objects: page, nextToken: last.key } : { objects: page };
    });
  }

  async close(): Promise<void> {}
}

function infoOf(key: string, version: StoredVersion): ObjectInfo {
  return { key, etag: version.etag, size: version.body.byteLength, lastModified: new Date(version.lastModified) };
}

/** What a caller hears when its request timed out: for a write, the outcome is unknown. */
export function timeoutError(operation: StoreOperation, key: string | undefined, what: string): StoreError {
  const message = describe(operation, key, `simulated: ${what}`);
  if (operation === "put") return new AmbiguousOutcomeError(message, { operation, key, status: "timeout" });
  return new UnavailableError(message, { operation, key, status: "timeout" });
}

/** The error classes a real store answers a request with, without it taking effect. */
export function failureFor(operation: StoreOperation, key: string | undefined, choice: number, conditional: boolean): StoreError {
  const message = (what: string) => describe(operation, key, `simulated: ${what}`);
  const details = (status: number | string) => ({ operation, key, status });
  const kinds = ["throttle", "server-error", "refused", "timeout-before-send", "unauthorized"];
  if (conditional) kinds.push("spurious-412", "conflict-409");
  switch (kinds[choice % kinds.length]) {
    case "throttle":
      return new UnavailableError(message("503 SlowDown"), details(503));
    case "server-error":
      return new UnavailableError(message("500 InternalError"), details(500));
    case "refused":
      return new UnavailableError(message("connection refused"), details("ECONNREFUSED"));
    case "timeout-before-send":
      return timeoutError(operation, key, "timed out before it was sent");
    case "unauthorized":
      return new UnauthorizedError(message("403 AccessDenied (expired credentials)"), details(403));
    case "spurious-412":
      return new PreconditionFailedError(message("412 PreconditionFailed"), details(412));
    default:
      return new UnavailableError(message("409 ConditionalRequestConflict"), details(409));
  }
}
