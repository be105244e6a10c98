// FaultInjectingStore: makes chosen requests fail the way real object stores fail, reproducibly.
//
// Rules pick requests by operation, key prefix, position among the matching requests and a seeded
// probability, and give them a fault:
//   error        the request fails before reaching the store (nothing happens): a throttle,
//                a 500 or 503, a refused connection, a timeout before sending, a 409 or 412
//   lost-answer  the request reaches the store and takes effect, then its answer is lost
//                (a timeout or reset after the server acted): the classic ambiguous write
//   delay        the request waits, then proceeds (aborting the caller's signal ends the wait:
//                the request fails with the signal's reason, as an aborted request does)
//   late         the caller hears a timeout (or reset) at once, but the request is still on its
//                way: it reaches the store later, after `ms` or when the test calls
//                `releaseLate()` (or a `release-late` rule fires). The write a writer gave up
//                on lands behind its back, possibly after its retry
//   release-late every request held by `late` reaches the store (in the order they were held)
//                just before this one proceeds: "the late write lands now"
//   crash        the process "dies" here: the request lands or not (`landed`), and from then on
//                every request through this store fails with StoreCrashedError, as if nothing
//                were left to send it. Tests then mount afresh on the inner store.
// A fault fires at most `times` times (default: once); `after` skips that many matching requests
// first. Fault injection is for tests only; the real store underneath is the one tested.

import { ForwardingStore, type StoreRequest } from "./forwarding-store.ts";
import type { ObjectStore } from "./object-store.ts";
import {
  AmbiguousOutcomeError,
  PreconditionFailedError,
  StoreError,
  UnauthorizedError,
  UnavailableError,
  describe,
  type StoreOperation,
} from "./store-errors.ts";
import { seededRandom, sleep as realSleep, type Sleep } from "./random.ts";

export type InjectedError = "throttle" | "server-error" | "unavailable" | "timeout" | "reset" | "conflict" | "precondition" | "unauthorized";

export type Fault =
  | { kind: "error"; error: InjectedError }
  | { kind: "lost-answer"; error?: "timeout" | "reset" }
  | { kind: "delay"; ms: number }
  | { kind: "late"; error?: "timeout" | "reset"; ms?: number }
  | { kind: "release-late" }
  | { kind: "crash"; landed: boolean };

export interface FaultRule {
  operation?: StoreOperation | StoreOperation[];
  keyPrefix?: string;
  /** Only conditional puts (create-only or compare-and-swap), or only unconditional ones. */
  conditional?: boolean;
  /** Skip this many matching requests before the rule may fire (default 0). */
  after?: number;
  /** Chance that a matching request fires the rule (default 1), drawn from the seeded generator. */
  probability?: number;
  /** How many times the rule fires at most (default 1; Infinity for always). */
  times?: number;
  fault: Fault;
}

/** Thrown by every request after an injected crash: the simulated process is gone. */
export class StoreCrashedError extends Error {
  constructor(readonly operation: StoreOperation, readonly key: string | undefined) {
    super(`simulated crash: ${operation} ${key ?? ""} was never sent (the process died earlier)`);
    this.name = "StoreCrashedError";
  }
}

export interface FiredFault {
  rule: number;
  operation: StoreOperation;
  key: string | undefined;
  fault: Fault;
}

/** What became of a request held by a `late` fault once it reached the store. */
export interface LateLanding {
  operation: StoreOperation;
  key: string | undefined;
  /** Whether the store accepted it (a create-only put whose slot was taken meanwhile does not). */
  landed: boolean;
  error?: unknown;
}

interface HeldRequest {
  operation: StoreOperation;
  key: string | undefined;
  send: () => Promise<LateLanding>;
}

interface RuleState {
  rule: FaultRule;
  matched: number;
  fired: number;
}

export class FaultInjectingStore extends ForwardingStore {
  private readonly random: () => number;
  private readonly sleep: Sleep;
  private rules: RuleState[] = [];
  private crashed = false;
  /** Every fault that fired, in order: print it with the seed when a test fails. */
  readonly fired: FiredFault[] = [];
  /** Requests a `late` fault holds back, oldest first. */
  private held: HeldRequest[] = [];
  /** What every late request did once it reached the store, in order. */
  readonly lateLandings: LateLanding[] = [];

  constructor(inner: ObjectStore, options: { seed?: number; rules?: FaultRule[]; sleep?: Sleep } = {}) {
    super(inner);
    this.random = seededRandom(options.seed ?? 1);
    this.sleep = options.sleep ?? realSleep;
    for (const rule of options.rules ?? []) this.add(rule);
  }

  add(rule: FaultRule): this {
    this.rules.push({ rule, matched: 0, fired: 0 });
    return this;
  }

  clear(): void {
    this.rules = [];
  }

  get hasCrashed(): boolean {
    return this.crashed;
  }

  /** How many requests a `late` fault holds back, not yet sent to the store. */
  get lateRequests(): number {
    return this.held.length;
  }

  /** Sends every held late request to the store, oldest first; resolves with what each did. */
  async releaseLate(): Promise<LateLanding[]> {
    const landings: LateLanding[] = [];
    while (this.held.length > 0) landings.push(await this.held.shift()!.send());
    return landings;
  }

  protected override forward<T>(request: StoreRequest, send: () => Promise<T>): Promise<T> {
    return this.apply(request.operation, request.key, request.conditional !== undefined, send, request.signal);
  }

  private pick(operation: StoreOperation, key: string | undefined, conditional: boolean): Fault | undefined {
    for (const [index, state] of this.rules.entries()) {
      const { rule } = state;
      const operations = rule.operation === undefined ? undefined : Array.isArray(rule.operation) ? rule.operation : [rule.operation];
      if (operations !== undefined && !operations.includes(operation)) continue;
      if (rule.keyPrefix !== undefined && !(key ?? "").startsWith(rule.keyPrefix)) continue;
      if (rule.conditional !== undefined && rule.conditional !== conditional) continue;
      if (state.fired >= (rule.times ?? 1)) continue;
      state.matched += 1;
      if (state.matched <= (rule.after ?? 0)) continue;
      if (rule.probability !== undefined && this.random() >= rule.probability) continue;
      state.fired += 1;
      this.fired.push({ rule: index, operation, key, fault: rule.fault });
      return rule.fault;
    }
    return undefined;
  }

  private async apply<T>(operation: StoreOperation, key: string | undefined, conditional: boolean, request: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (this.crashed) throw new StoreCrashedError(operation, key);
    const fault = this.pick(operation, key, conditional);
    if (fault === undefined) return request();
    switch (fault.kind) {
      case "delay":
        await this.sleep(fault.ms, signal);
        return request();
      case "error":
        throw injected(operation, key, fault.error);
      case "release-late":
        await this.releaseLate();
        return request();
      case "late": {
        this.hold(operation, key, request, fault.ms);
        const what = fault.error ?? "timeout";
        throw unanswered(operation, key, what, `injected: no answer (${what}); the request is still on its way and reaches the store later`);
      }
      case "lost-answer": {
        await request().catch(() => {}); // whatever the store answered, the caller never hears it
        const what = fault.error ?? "timeout";
        throw unanswered(operation, key, what, `injected: the answer was lost (${what}) after the request reached the store`);
      }
      case "crash": {
        if (fault.landed) await request().catch(() => {});
        this.crashed = true;
        throw new StoreCrashedError(operation, key);
      }
    }
  }

  private hold<T>(operation: StoreOperation, key: string | undefined, request: () => Promise<T>, ms: number | undefined): void {
    let sent: Promise<LateLanding> | undefined;
    const held: HeldRequest = {
      operation,
      key,
      send: () =>
        (sent ??= request().then(
          (): LateLanding => ({ operation, key, landed: true }),
          (error: unknown): LateLanding => ({ operation, key, landed: false, error }),
        ).then((landing) => {
          this.lateLandings.push(landing);
          return landing;
        })),
    };
    this.held.push(held);
    if (ms !== undefined) {
      void this.sleep(ms).then(() => {
        const index = this.held.indexOf(held);
        if (index >= 0) this.held.splice(index, 1);
        return held.send();
      });
    }
  }
}

function injected(operation: StoreOperation, key: string | undefined, error: InjectedError): StoreError {
  const message = (what: string) => describe(operation, key, `injected: ${what}`);
  const details = (status: number | string) => ({ operation, key, status });
  switch (error) {
    case "throttle":
      return new UnavailableError(message("503 SlowDown"), details(503));
    case "server-error":
      return new UnavailableError(message("500 InternalError"), details(500));
    case "unavailable":
      return new UnavailableError(message("connection refused"), details("ECONNREFUSED"));
    case "conflict":
      return new UnavailableError(message("409 ConditionalRequestConflict"), details(409));
    case "precondition":
      return new PreconditionFailedError(message("412 PreconditionFailed"), details(412));
    case "unauthorized":
      return new UnauthorizedError(message("403 AccessDenied"), details(403));
    case "timeout":
    case "reset":
      // Failed before the request was sent; for a put the caller still cannot know that.
      return unanswered(operation, key, error, `injected: ${error === "timeout" ? "the request timed out" : "the connection was reset"}`);
  }
}

/** A request that got no answer: for a put the outcome is unknown; any other may be sent again. */
function unanswered(operation: StoreOperation, key: string | undefined, status: "timeout" | "reset", what: string): StoreError {
  const message = describe(operation, key, what);
  return operation === "put" ? new AmbiguousOutcomeError(message, { operation, key, status }) : new UnavailableError(message, { operation, key, status });
}
