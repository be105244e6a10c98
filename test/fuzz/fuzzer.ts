// The API-misuse fuzzer: a seeded run of random calls of every public method of the core and of
// the three adapters, with random and often hostile arguments, checked call by call:
//
//   settles   every call settles within a bound (a safety net: "pending for ever" otherwise)
//   errors    every error is an FsError (or the adapter's framework error) with a code, naming
//             the virtual path, never a host path of the mount's local state
//   publishes a call that failed published nothing (no write-ahead record PUT while it ran)
//   model     the core's tree after each call equals the model of node:fs semantics
//             (test/fs/model.ts), and a fresh mount from the store equals it too
//   rejects   no unhandled rejection and no uncaught exception in the whole run
//
// A violation that a narrow entry of known-findings.ts describes is tolerated and counted; any
// other stops the run with its seed, the last calls and a one-line replay command.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CountingStore, FsError, LocalObjectStore, S3CachedFsManagerImpl, seededRandom, type S3CachedFs } from "../../src/core.ts";
import { codeOf, describeError, errorShapeProblem, outcomeCode, settleWithin, type Outcome } from "./checks.ts";
import { knownFindings, type KnownFinding } from "./known-findings.ts";
import { picker, showValue, type Picker } from "./values.ts";

export type Surface = "manager" | "core" | "reader" | "tx" | "handle" | "materialized" | "mastra" | "just-bash" | "shell" | "flue";

export interface CallRecord {
  index: number;
  surface: Surface;
  method: string;
  /** The arguments as shown in the log. */
  args: string;
  /** Where and how it was called: "closed", "readonly", "in-tx", "nested", "concurrent", "aborted-signal", a path flaw, ... */
  tags: string[];
  outcome?: string;
}

/** A call's outcome and its record (for the violation that names it). */
export type Called = Outcome & { record: CallRecord };

export type Check = "settles" | "errors" | "publishes" | "model" | "rejects" | "fresh-mount" | "result";

export interface Violation {
  check: Check;
  message: string;
  call: CallRecord | undefined;
  outcome?: Outcome;
}

export interface FuzzOptions {
  seed: number;
  calls: number;
  /** The settle bound per call, ms (default 10 s). */
  boundMs?: number;
  /** Which surfaces to fuzz (default all). */
  surfaces?: readonly ("core" | "mastra" | "just-bash" | "flue")[];
  log?: (line: string) => void;
  /** Record violations and go on instead of stopping at the first (to survey a build's findings). */
  collect?: boolean;
}

export interface FuzzReport {
  seed: number;
  calls: number;
  seconds: number;
  bySurface: Record<string, number>;
  errors: number;
  /** With `collect`: the violations met, grouped by check, surface, method and tags. */
  collected: Record<string, { count: number; first: string }>;
  /** Violations tolerated by known-findings.ts, by finding id. */
  tolerated: Record<string, { count: number; item: number | "new"; first: string }>;
}

export class FuzzFailure extends Error {}

export const replayCommand = (seed: number, calls: number) => `npm run fuzz -- --seed ${seed} --calls ${calls}`;

/** One surface's calls: the fuzzer asks it for a step (one or more calls) at a time. */
export interface Target {
  readonly name: string;
  /** Share of the steps it gets. */
  readonly weight: number;
  setup(): Promise<void>;
  step(): Promise<void>;
  /** The end-of-run checks (a fresh mount equals the model or the writer's view), then close. */
  finish(): Promise<void>;
  /** Lets go of everything, even after a failure. */
  dispose(): Promise<void>;
}

/** What a target needs from the run: randomness, the call primitive, the checker, a place for files. */
export class FuzzRun {
  readonly p: Picker;
  readonly directory: string;
  /** Host paths that must never appear in an error (every cache root the run creates). */
  readonly hostPaths: string[] = [];
  readonly history: CallRecord[] = [];
  readonly stores: CountingStore[] = [];
  readonly boundMs: number;
  calls = 0;
  errors = 0;
  readonly bySurface: Record<string, number> = {};
  readonly tolerated = new Map<string, { finding: KnownFinding; count: number; first: string }>();
  private readonly unhandled: unknown[] = [];
  private unhandledSeen = 0;
  private cacheRoots = 0;

  constructor(readonly options: FuzzOptions) {
    this.p = picker(seededRandom(options.seed));
    this.boundMs = options.boundMs ?? 10_000;
    this.directory = mkdtempSync(join(tmpdir(), "s3bcfs-fuzz-"));
  }

  log(line: string): void {
    this.options.log?.(line);
  }

  /** A new cache root, registered as a host path no error may show. */
  cacheRoot(label: string): string {
    const root = join(this.directory, `cache-${label}-${++this.cacheRoots}`);
    this.hostPaths.push(root);
    return root;
  }

  /** A store factory over `root` whose stores count every request (to see what a call published). */
  storeFactory(root: string): () => CountingStore {
    return () => {
      const store = new CountingStore(new LocalObjectStore({ root, fsync: false }), { record: true });
      this.stores.push(store);
      return store;
    };
  }

  /** A manager over the store at `root`, with a cache root of its own. */
  manager(root: string, label: string): S3CachedFsManagerImpl {
    return new S3CachedFsManagerImpl({ cacheRoot: this.cacheRoot(label), storeFactory: this.storeFactory(root) });
  }

  /** Write-ahead records published so far (successful PUTs of wal/ keys), across every store. */
  publishedRecords(): number {
    let total = 0;
    for (const store of this.stores) for (const request of store.requests) if (request.ok && request.operation === "put" && request.key?.startsWith("wal/")) total++;
    return total;
  }

  trimRecordings(): void {
    for (const store of this.stores) if (store.requests.length > 50_000) store.reset();
  }

  onUnhandled = (reason: unknown): void => {
    this.unhandled.push(reason);
  };

  /**
   * Calls `run` and checks it settles within the bound and that an error has the surface's shape.
   * `sequential`: nothing else runs meanwhile, so a failed call must have published nothing.
   * `consume` reads what the call returned (a stream) within the same bound. `own` lists errors
   * the fuzzer's own callbacks threw: passing one through unchanged is right.
   */
  async call(
    surface: Surface,
    method: string,
    args: readonly unknown[] | string,
    tags: readonly string[],
    run: () => unknown,
    options: { sequential?: boolean; consume?: (value: unknown) => Promise<unknown>; own?: readonly unknown[]; allowed?: (error: unknown) => boolean } = {},
  ): Promise<Called> {
    const record: CallRecord = { index: this.calls++, surface, method, args: typeof args === "string" ? args : args.map(showValue).join(", "), tags: [...tags] };
    this.bySurface[surface] = (this.bySurface[surface] ?? 0) + 1;
    this.history.push(record);
    if (this.history.length > 200) this.history.splice(0, this.history.length - 200);
    const before = options.sequential ? this.publishedRecords() : 0;
    let promise: Promise<unknown>;
    try {
      promise = Promise.resolve(run());
    } catch (error) {
      promise = Promise.reject(error);
    }
    let settled = await settleWithin(
      promise.then((value) => (options.consume === undefined ? value : options.consume(value))),
      this.boundMs,
    );
    let outcome: Outcome;
    if (!settled.settled) outcome = { status: "pending" };
    else if ("error" in settled) outcome = { status: "error", error: settled.error, code: codeOf(settled.error) };
    else outcome = { status: "ok", value: settled.value };
    record.outcome = outcome.status === "error" ? `${outcome.code} ${describeError(outcome.error).slice(0, 160)}` : outcome.status;
    if (outcome.status === "pending") {
      this.violate({ check: "settles", message: `${method} did not settle within ${this.boundMs} ms (pending for ever)`, call: record, outcome });
      settled = { settled: false };
    }
    if (outcome.status === "error") {
      this.errors++;
      const own = options.own?.includes(outcome.error) === true;
      if (!own) {
        const problem = errorShapeProblem(outcome.error, options.allowed ?? ((error) => error instanceof FsError), this.hostPaths);
        if (problem !== undefined) this.violate({ check: "errors", message: problem, call: record, outcome });
      }
      if (options.sequential) {
        const published = this.publishedRecords() - before;
        if (published > 0) this.violate({ check: "publishes", message: `${method} failed (${outcomeCode(outcome)}) but published ${published} record(s)`, call: record, outcome });
      }
    }
    this.checkUnhandled(record);
    return { ...outcome, record };
  }

  /** Unhandled rejections since the last call: blamed on the latest call (the log shows the ones before). */
  checkUnhandled(record: CallRecord | undefined): void {
    if (this.unhandled.length === this.unhandledSeen) return;
    const fresh = this.unhandled.slice(this.unhandledSeen);
    this.unhandledSeen = this.unhandled.length;
    for (const reason of fresh) this.violate({ check: "rejects", message: `an unhandled rejection: ${describeError(reason)}`, call: record });
  }

  /** Settles the process's pending callbacks, then checks for unhandled rejections (end of run). */
  async drainUnhandled(): Promise<void> {
    for (let turn = 0; turn < 5; turn++) await new Promise((resolve) => setTimeout(resolve, 20));
    this.checkUnhandled(this.history.at(-1));
  }

  /** Tolerates a known finding (true), or stops the run. */
  violate(violation: Violation): true {
    const finding = knownFindings.find((candidate) => candidate.matches(violation));
    if (finding !== undefined) {
      const seen = this.tolerated.get(finding.id);
      if (seen === undefined) {
        const first = `call ${violation.call?.index ?? "-"}: ${violation.call === undefined ? "" : this.show(violation.call)} -> ${violation.message.slice(0, 300)}`;
        this.tolerated.set(finding.id, { finding, count: 1, first });
        this.log(`known finding ${finding.id} (${finding.item === "new" ? "new" : `issue ${finding.item}`}) tolerated: ${first}`);
      } else seen.count++;
      return true;
    }
    if (this.options.collect) {
      const call = violation.call;
      const key = `${violation.check} ${call?.surface ?? "-"}.${call?.method ?? "-"} [${(call?.tags ?? []).filter((tag) => !tag.startsWith("onProgress-writes")).sort().join(",")}] ${violation.message.replace(/[0-9]+/g, "N").slice(0, 90)}`;
      const seen = this.collected.get(key);
      if (seen === undefined) this.collected.set(key, { count: 1, first: this.failureText(violation) });
      else seen.count++;
      return true;
    }
    throw new FuzzFailure(this.failureText(violation));
  }

  readonly collected = new Map<string, { count: number; first: string }>();

  show(record: CallRecord): string {
    return `${record.surface}.${record.method}(${record.args})${record.tags.length > 0 ? ` [${record.tags.join(",")}]` : ""} => ${record.outcome ?? "(running)"}`;
  }

  failureText(violation: Violation): string {
    const calls = this.history.slice(-15).map((record) => `  #${record.index} ${this.show(record)}`);
    return [
      `API-misuse fuzzer: ${violation.check} violated at call ${violation.call?.index ?? "(end of run)"} (seed ${this.options.seed})`,
      `  ${violation.message}`,
      "last calls:",
      ...calls,
      `replay: ${replayCommand(this.options.seed, this.options.calls)}`,
    ].join("\n");
  }

  report(seconds: number): FuzzReport {
    return {
      seed: this.options.seed,
      calls: this.calls,
      seconds,
      bySurface: { ...this.bySurface },
      errors: this.errors,
      collected: Object.fromEntries(this.collected),
      tolerated: Object.fromEntries([...this.tolerated].map(([id, entry]) => [id, { count: entry.count, item: entry.finding.item, first: entry.first }])),
    };
  }

  cleanup(): void {
    rmSync(this.directory, { recursive: true, force: true });
  }
}

/** Runs the fuzzer: `options.calls` calls spread over the surfaces, then the end-of-run checks. */
export async function runFuzz(options: FuzzOptions, targets: (run: FuzzRun) => Target[]): Promise<FuzzReport> {
  const started = performance.now();
  const run = new FuzzRun(options);
  process.on("unhandledRejection", run.onUnhandled);
  process.on("uncaughtException", run.onUnhandled);
  const all = targets(run);
  try {
    for (const target of all) await target.setup();
    const total = all.reduce((sum, target) => sum + target.weight, 0);
    while (run.calls < options.calls) {
      let roll = run.p.random() * total;
      const target = all.find((candidate) => (roll -= candidate.weight) < 0) ?? all.at(-1)!;
      await target.step();
      run.trimRecordings();
    }
    for (const target of all) await target.finish();
    await run.drainUnhandled();
    return run.report((performance.now() - started) / 1000);
  } finally {
    for (const target of all) await target.dispose().catch(() => {});
    process.off("unhandledRejection", run.onUnhandled);
    process.off("uncaughtException", run.onUnhandled);
    run.cleanup();
  }
}

export type { Outcome };
export { outcomeCode };
export const isFsError = (error: unknown): boolean => error instanceof FsError;
export type { S3CachedFs };
