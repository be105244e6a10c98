// The deterministic simulation: one seeded scheduler drives simulated processes (a writer, readers
// that refresh, a takeover writer, garbage collection with compaction, snapshots and fsck) through
// the public API, over the simulated store of sim-store.ts, and checks invariants as it goes. In
// about a third of the seeds the writers are two or three shared ones (`exclusive: false`) instead,
// with a counter incremented in transactions and a file only appended to, checked at the end; in
// a fifth (idle-catch-up runs) shared writers whose catch-up and poll timers, and readers whose
// polls, fire beside their operations, on virtual time that moves in small steps.
// docs/simulation.md describes what is simulated, the faults, the invariants and how to replay.
//
// Load this module only after determinism.ts is installed (run.ts does so).

import { mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { S3CachedFsManagerImpl, type S3CachedFs, type MountConfig } from "../../src/core.ts";
import { Committer } from "../../src/commit/committer.ts";
import { Follower } from "../../src/mount/follower.ts";
import { FsError } from "../../src/base/errors.ts";
import { defaultMaxRecordsInFlight } from "../../src/base/options.ts";
import { CorruptObjectError, NotFoundError } from "../../src/stores/store-errors.ts";
import { seededRandom } from "../../src/stores/random.ts";
import { SimBucket, failureFor, type SimRequest } from "./sim-store.ts";
import { VirtualTime, ioInFlight, realNow, withVirtual } from "./determinism.ts";

export interface SimOptions {
  seed: number;
  /** Scheduler steps before the final checks (default 160). */
  steps?: number;
  /** Print every step as it happens. */
  verbose?: boolean;
  /**
   * Check L1 (a write-once key is never overwritten with other bytes) after every step (default
   * true). Off, a key reuse shows only through what it breaks: wrong bytes, a checksum, fsck.
   */
  checkWriteOnce?: boolean;
}

export interface SimResult {
  seed: number;
  ok: boolean;
  violation?: string;
  /** Set when the violation is the symptom of a known, filed bug (see `knownBugs`). */
  knownBug?: string;
  /** Steps the scheduler took (the final phase included). */
  steps: number;
  /** Requests sent to the store, and faults injected into them. */
  requests: number;
  faults: number;
  operations: number;
  /** Lanes' records written (docs/s3-layout.md, "Lanes"): how often shared writers used lanes. */
  laneRecords: number;
  /** Catch-ups while idle that a timer started (every run counts them; idle-catch-up runs are made for them). */
  idle: IdleCounts;
  /** Whether this seed is an idle-catch-up run (`isIdleCatchUpRun`). */
  idleRun: boolean;
  /** The last steps, for a failure report. */
  trace: string[];
  /** A digest of the whole run: two runs of one seed must give the same one. */
  digest: string;
  elapsedMs: number;
}

/**
 * What the library's timers did while a run went on, counted by wrapping two of its methods (the
 * wrappers call the originals and change nothing they do): a shared writer's idle catch-up
 * (`Committer.refreshWhileIdle`, which only its timers call: `catchUpWhileOthersWrite`'s pause,
 * or `poll` when `refreshIntervalMs` is set) and a reader's polling refresh (`Follower.refresh`
 * called from its `poll` interval). A fire finds the writer busy (a batch under way or in flight,
 * or a catch-up still running) and does nothing, or starts a `refresh()` under the mutex.
 */
export interface IdleCounts {
  /** The catch-up-while-others-write timer fired: a refresh started, or the writer was busy. */
  catchUps: number;
  catchUpsBusy: number;
  /** Those refreshes that took in records (another writer's commits). */
  catchUpsChanged: number;
  /** A shared writer's `refreshIntervalMs` poll fired: a refresh started, or the writer was busy. */
  writerPolls: number;
  writerPollsBusy: number;
  writerPollsChanged: number;
  /** A reader's `refreshIntervalMs` poll fired (a refresh, or joined one under way). */
  readerPolls: number;
  /** Operations of a writer (writes, transactions, refresh, GC, snapshot, close...) started while a refresh its timer started ran. */
  raced: number;
}

export const noIdleCounts = (): IdleCounts => ({ catchUps: 0, catchUpsBusy: 0, catchUpsChanged: 0, writerPolls: 0, writerPollsBusy: 0, writerPollsChanged: 0, readerPolls: 0, raced: 0 });

/** The run whose timers are counted now, and its readers' polls still running. */
let counting:
  | {
      time: VirtualTime;
      counts: IdleCounts;
      readerPollsRunning: number;
      readerPollsStarted: number;
      /** Refreshes a writer's timer started, still running, by the writer's name. */
      writerRefreshing: Map<string, number>;
      /** Idle-catch-up runs note each fire in their trace (the other runs' traces stay as they were). */
      note?: (line: string) => void;
    }
  | undefined;

/** Wraps the methods the library's idle timers call, to count what they start (once per process). */
function countIdleCatchUps(): void {
  const committer = Committer.prototype as unknown as Record<string, unknown>;
  const follower = Follower.prototype as unknown as Record<string, unknown>;
  const idle = committer.refreshWhileIdle;
  const refresh = committer.refresh;
  const follow = follower.refresh;
  if (typeof idle !== "function" || typeof refresh !== "function" || typeof follow !== "function") {
    throw new Error("the simulation counts idle catch-ups through Committer.refreshWhileIdle, Committer.refresh and Follower.refresh: one of them is gone");
  }
  committer.refreshWhileIdle = function (this: { pollTimer?: unknown; options?: { writerId?: string } }) {
    const started = (idle as () => Promise<void> | undefined).call(this);
    if (counting?.time.firing === true) {
      const counts = counting.counts;
      const polled = this.pollTimer !== undefined;
      if (polled) {
        counts.writerPolls++;
        if (started === undefined) counts.writerPollsBusy++;
      } else {
        counts.catchUps++;
        if (started === undefined) counts.catchUpsBusy++;
      }
      const who = this.options?.writerId?.split("@")[0] ?? "a writer";
      counting.note?.(`${who}'s ${polled ? "poll" : "catch-up"} timer fires: ${started === undefined ? "busy, nothing done" : "a refresh starts"}`);
    }
    return started;
  };
  committer.refresh = function (this: { pollTimer?: unknown; options?: { writerId?: string } }) {
    const result = (refresh as () => Promise<{ seq: number; changed: boolean }>).call(this);
    const run = counting;
    if (run?.time.firing === true) {
      const polled = this.pollTimer !== undefined;
      const who = this.options?.writerId?.split("@")[0] ?? "";
      run.writerRefreshing.set(who, (run.writerRefreshing.get(who) ?? 0) + 1);
      const done = () => run.writerRefreshing.set(who, run.writerRefreshing.get(who)! - 1);
      result.then(
        (outcome) => {
          done();
          if (!outcome.changed) return;
          if (polled) run.counts.writerPollsChanged++;
          else run.counts.catchUpsChanged++;
        },
        done,
      );
    }
    return result;
  };
  follower.refresh = function (this: unknown) {
    const result = (follow as () => Promise<{ seq: number; changed: boolean }>).call(this);
    const run = counting;
    if (run?.time.firing === true) {
      run.counts.readerPolls++;
      run.note?.("a reader's poll timer fires: a refresh");
      run.readerPollsRunning++;
      run.readerPollsStarted++;
      const done = () => {
        run.readerPollsRunning--;
      };
      result.then(done, done);
    }
    return result;
  };
}
countIdleCatchUps();

/**
 * Idle-catch-up runs, chosen by a generator of their own so every other seed's run stays as it
 * was (the constant leaves the regression seeds of simulation.test.ts out, and takes 5 of the 12
 * seeds of its replay check): two or three shared writers, virtual time moving in gaps of a few
 * milliseconds to a second (now and then longer, while nothing is written) so the writers' catch-up
 * timers fire between, and beside, their operations; some mounts poll (`refreshIntervalMs`).
 */
export function isIdleCatchUpRun(seed: number): boolean {
  return seededRandom(seed ^ 0x1d1e031)() < 0.2;
}

class Violation extends Error {
  override name = "Violation";
  constructor(
    message: string,
    /** The store keys the violation is about, when known (to recognise a known bug). */
    readonly keys: string[] = [],
  ) {
    super(message);
  }
}

/** Bugs known and filed, recognised by their symptom so a search can go on past them. */
export const knownBugs = {
  packKeyReuse: "issue 14 item 1: a pack key reused by a retried batch (packs/<epoch>-<seq>-<n> rewritten with other bytes)",
};

/** Error codes that mean "refused by validation, nothing published". */
const refusedCodes = new Set(["ENOENT", "EEXIST", "EISDIR", "ENOTDIR", "ENOTEMPTY", "EINVAL", "EROFS", "EBADF", "ENAMETOOLONG", "EAGAIN"]);

/** Shared runs: a counter file incremented only in transactions, and a file only appended to. */
const counterPath = "/counter";
const appendLogPath = "/appends";

const filePaths = ["/a", "/b", "/c", "/d1/a", "/d1/b", "/d2/a"];
const dirPaths = ["/d1", "/d2"];
const groupPaths = ["/t/x", "/t/y"];
const allPaths = [...filePaths, ...dirPaths, ...groupPaths];

type Value = string; // "absent" | "dir" | "f:<tag>"
type Effects = [string, Value[]][];

/**
 * A piece of a file's bytes: it names the write that made it and its own length, and the rest is
 * generated from both, so any bytes read back can be checked on their own. A file is a sequence
 * of pieces (appends add one); the value "f:3+7" is a file made by write 3 then append 7, "f:"
 * an empty file.
 */
function contentFor(tag: number, size: number): Uint8Array {
  if (size === 0) return new Uint8Array(0);
  const headerBytes = String(tag).length + 9; // "#<tag>:<6-digit length>#"
  const total = Math.max(size, headerBytes);
  const bytes = new Uint8Array(total);
  bytes.set(new TextEncoder().encode(`#${tag}:${String(total).padStart(6, "0")}#`));
  const random = seededRandom(tag * 7919 + total);
  for (let i = headerBytes; i < total; i++) bytes[i] = Math.floor(random() * 256);
  return bytes;
}

/** The writes whose pieces these bytes are ("f:3+7"), or a violation if they are nobody's. */
function valueOf(bytes: Uint8Array, path: string, who: string): Value {
  const tags: number[] = [];
  for (let offset = 0; offset < bytes.byteLength; ) {
    const text = new TextDecoder().decode(bytes.subarray(offset, Math.min(offset + 24, bytes.byteLength)));
    const match = /^#(\d+):(\d{6})#/.exec(text);
    if (match === null) throw new Violation(`${who} read ${bytes.byteLength} bytes at ${path} that no write produced (at offset ${offset}: ${JSON.stringify(text.slice(0, 16))})`);
    const tag = Number(match[1]);
    const expected = contentFor(tag, Number(match[2]));
    const piece = bytes.subarray(offset, offset + expected.byteLength);
    if (Buffer.compare(expected, piece) !== 0) {
      throw new Violation(`${who} read wrong bytes at ${path}: at offset ${offset} they claim write #${tag} (${expected.byteLength} bytes) but differ from it`);
    }
    tags.push(tag);
    offset += expected.byteLength;
  }
  return `f:${tags.join("+")}`;
}

/** A file's value after appending write `tag` to a file holding `value` (or to no file). */
function appended(value: Value, tag: number, size: number): Value {
  if (size === 0) return value === "absent" ? "f:" : value;
  return value === "absent" || value === "f:" ? `f:${tag}` : `${value}+${tag}`;
}

/** A write creates its missing parent directory (writeFile and friends make parents). */
function parentOf(path: string): Effects {
  const parent = path.slice(0, path.lastIndexOf("/"));
  return dirPaths.includes(parent) ? [[parent, ["dir"]]] : [];
}

function codeOf(error: unknown): string | undefined {
  return error instanceof FsError ? error.code : (error as { code?: string } | undefined)?.code;
}

/** Whether a CorruptObjectError (wrong bytes from the store, a checksum mismatch) is behind `error`. */
function corruptCause(error: unknown): CorruptObjectError | undefined {
  for (let cause = error, depth = 0; cause !== undefined && cause !== null && depth < 8; depth++) {
    if (cause instanceof CorruptObjectError) return cause;
    cause = (cause as { cause?: unknown }).cause;
  }
  return undefined;
}

function notFoundCause(error: unknown): NotFoundError | undefined {
  for (let cause = error, depth = 0; cause !== undefined && cause !== null && depth < 8; depth++) {
    if (cause instanceof NotFoundError) return cause;
    cause = (cause as { cause?: unknown }).cause;
  }
  return undefined;
}

/** What reading a view needs: a mount, or a transaction's `tx`. */
type ViewReader = Pick<S3CachedFs, "stat" | "readFile">;

interface Process {
  name: string;
  manager: S3CachedFsManagerImpl;
  fs?: S3CachedFs;
  mounting: boolean;
  role: "writer" | "reader" | "checker";
  busy: number;
  closed: boolean;
  crashed?: boolean;
  lastSeq: number;
}

interface RunningOp {
  id: number;
  label: string;
  process: Process;
  done: boolean;
}


/** One write as the model knows it: when it was sent and answered, and what it may have done. */
interface WriteRecord {
  start: number;
  end?: number;
  status: "pending" | "acknowledged" | "refused" | "unknown";
  effects: Effects;
  /** Its effects computed anew (an append, copy or rename depends on what its source may hold). */
  plan: (record: WriteRecord) => Effects;
}

/**
 * The model of acknowledged state: for each path, the values it may hold now. Writes in flight
 * together may be published in any order their callers cannot see (a group commit acknowledges
 * several at once, and answers arrive in an order of their own), so an acknowledged write leaves
 * its path holding its value or that of any write overlapping it in time; a write with an unknown
 * outcome adds its value to what the path may hold.
 */
class Model {
  readonly possible = new Map<string, Set<Value>>();
  /** Every value a path ever might have held (a lagging reader may show any of them). */
  readonly ever = new Map<string, Set<Value>>();
  private clock = 0;
  private records: WriteRecord[] = [];

  constructor() {
    for (const path of allPaths) {
      this.possible.set(path, new Set(["absent"]));
      this.ever.set(path, new Set(["absent"]));
    }
  }

  get(path: string): Set<Value> {
    return this.possible.get(path)!;
  }

  private set(path: string, values: Iterable<Value>): void {
    const set = new Set(values);
    this.possible.set(path, set);
    for (const value of set) this.ever.get(path)!.add(value);
  }

  private add(path: string, values: Iterable<Value>): void {
    this.set(path, [...this.get(path), ...values]);
  }

  /** A write is sent: from now on a reader may see it (its record can land before the answer). */
  begin(plan: (record: WriteRecord | undefined) => Effects): WriteRecord {
    const record: WriteRecord = { start: ++this.clock, status: "pending", effects: plan(undefined), plan };
    this.records.push(record);
    this.foreseePending();
    if (this.records.length > 400) this.records = this.records.filter((other) => other.status === "pending" || other.end! > this.clock - 200);
    return record;
  }

  /**
   * What every write in flight may yet produce, recomputed: a write sent later can still be
   * published before an append, copy or rename sent earlier (its data uploads first), and change
   * what that one produces.
   */
  private foreseePending(): void {
    for (const record of this.records) {
      if (record.status !== "pending") continue;
      record.effects = record.plan(record);
      this.foresee(record.effects);
    }
  }

  private foresee(effects: Effects): void {
    for (const [path, values] of effects) for (const value of values) this.ever.get(path)!.add(value);
  }

  /** Values for `path` of the writes overlapping `record` in time (not refused ones). */
  overlapping(record: WriteRecord, path: string): Value[] {
    const values: Value[] = [];
    const end = record.end ?? Infinity;
    for (const other of this.records) {
      if (other === record || other.status === "refused") continue;
      if (other.start > end || (other.end !== undefined && other.end < record.start)) continue;
      for (const [otherPath, otherValues] of other.effects) if (otherPath === path) values.push(...otherValues);
    }
    return values;
  }

  /** The write's answer: its final effects (computed now) apply for sure, maybe, or not at all. */
  finish(record: WriteRecord, status: "acknowledged" | "refused" | "unknown", effects: Effects): void {
    record.end = ++this.clock;
    record.status = status;
    record.effects = effects;
    this.foresee(effects);
    if (status !== "refused") {
      for (const [path, values] of effects) {
        if (status === "acknowledged") this.set(path, [...values, ...this.overlapping(record, path)]);
        else this.add(path, values);
      }
    }
    this.foreseePending();
  }

  /** Files the source of a rename or copy may hold while it is in flight. */
  sourceFiles(record: WriteRecord | undefined, path: string, atStart: Value[]): Value[] {
    return this.sourceValues(record, path, atStart).filter((value) => value.startsWith("f:"));
  }

  /** Values a path may hold while `record` is in flight: at its start, now, and by writes pending or overlapping it. */
  sourceValues(record: WriteRecord | undefined, path: string, atStart: Value[]): Value[] {
    const pending = this.records.filter((other) => other.status === "pending" && other !== record).flatMap((other) => other.effects.filter(([p]) => p === path).flatMap(([, values]) => values));
    const values = new Set<Value>([...atStart, ...this.get(path), ...pending, ...(record === undefined ? [] : this.overlapping(record, path))]);
    return [...values];
  }
}

let runCount = 0;

export function runSeed(options: SimOptions): Promise<SimResult> {
  const time = new VirtualTime(1_767_225_600_000, seededRandom(options.seed ^ 0x5bd1e995));
  return withVirtual(time, () => simulate(options, time));
}

async function simulate(options: SimOptions, time: VirtualTime): Promise<SimResult> {
  const started = realNow();
  const seed = options.seed;
  const idleCounts = noIdleCounts();
  const polls: NonNullable<typeof counting> = (counting = { time, counts: idleCounts, readerPollsRunning: 0, readerPollsStarted: 0, writerRefreshing: new Map() });
  const random = seededRandom(seed);
  const bucket = new SimBucket(() => time.now);
  // A directory of its own per run (a replay of the same seed included): a run that stopped on a
  // violation may leave mounts open, which must not meet the next run's.
  const root = join(existsShm() ? "/dev/shm" : tmpdir(), `s3bcfs-sim-${process.pid}-${seed}-${++runCount}`);
  rmSync(root, { recursive: true, force: true });
  mkdirSync(root, { recursive: true });

  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const chance = (p: number) => random() < p;
  const between = (low: number, high: number) => low + Math.floor(random() * (high - low + 1));

  // The shape of this run (an idle-catch-up run spends steps letting time pass: it takes more).
  const idleRun = isIdleCatchUpRun(seed);
  const steps = options.steps ?? (idleRun ? 240 : 160);
  const faultRate = pick([0.02, 0.08, 0.15, 0.25]);
  const layout = {
    blockBytes: 64,
    chunkBytes: 256,
    largeFileBytes: pick([192, 384]),
    inlineRecordBytes: pick([48, 96, 160]),
    packBytes: pick([128, 256]),
    uploadConcurrency: between(1, 3),
  };
  const mountBase: Partial<MountConfig> = {
    layout,
    maxAttempts: between(1, 3),
    headDelayMs: pick([0, 20, 500]),
    leaseTtlMs: pick([3_000, 30_000]),
    snapshotEveryCommits: between(3, 12),
    leaseWaitTimeoutMs: 120_000,
    // Writers that never pipeline (format-1 records only), from a generator of their own so every
    // other seed's run stays as it was.
    maxRecordsInFlight: seededRandom(seed ^ 0x51a7e0f)() < 0.15 ? 1 : defaultMaxRecordsInFlight,
  };
  // Shared runs are chosen by a generator of their own, so every other seed's run stays as it was
  // (the constant leaves the regression seeds of simulation.test.ts exclusive runs, as they were found).
  const sharedWriterCount = seededRandom(seed ^ 0x2f6b1db)() < 0.35 || idleRun ? between(2, 3) : 0;
  const shared = sharedWriterCount > 0;
  // In half the shared runs (a generator of their own again) each writer also appends to a log in
  // a top-level directory of its own, where it soon opens a lane (docs/s3-layout.md, "Lanes"), and
  // now and then to another writer's, closing that one's lane; no hard links are made there (a
  // lane opens only while the filesystem holds none).
  const laneRun = shared && seededRandom(seed ^ 0x1a4e5b7)() < 0.5;
  // A snapshot closes every lane (it is a state with none open): in lane runs they come rarer, so
  // lanes live long enough to take records.
  if (laneRun) mountBase.snapshotEveryCommits = 20 + Math.floor(seededRandom(seed ^ 0x1a4e5b8)() * 40);
  // A second writer: it takes over from a live first writer, or mounts after the first one's
  // process died without closing (it then waits for the lease to expire). Not in a shared run.
  const takeoverAt = !shared && chance(0.6) ? between(20, Math.max(21, steps - 30)) : undefined;
  const succession = pick(["takeover", "takeover", "crash"] as const);
  const readers = between(1, 2);
  // Idle-catch-up runs: the chance of a step being a gap of virtual time, and the operations a
  // writer has under way at most (fewer than 3 leave it idle more often, for its timer to find).
  const idle = idleRun ? { gapChance: pick([0.3, 0.5, 0.7]), latencyChance: pick([0.3, 0.6, 0.9]), writerBusy: between(1, 3) } : undefined;

  const trace: string[] = [];
  let digest = 0x811c9dc5;
  let step = 0;
  const note = (line: string) => {
    const text = `${step}: ${line}`;
    trace.push(text);
    if (trace.length > 80) trace.splice(0, trace.length - 80);
    for (let i = 0; i < text.length; i++) digest = Math.imul(digest ^ text.charCodeAt(i), 16777619) >>> 0;
    if (options.verbose) console.log(text);
  };
  note(`seed ${seed}: faults ${faultRate}, layout ${JSON.stringify(layout)}, config ${JSON.stringify({ ...mountBase, layout: undefined })}, takeover ${takeoverAt ?? "none"}, readers ${readers}${shared ? `, ${sharedWriterCount} shared writers` : ""}`);

  const model = new Model();
  const processes = new Map<string, Process>();
  const makeProcess = (name: string, role: Process["role"], skewMs: number): Process => {
    const manager = new S3CachedFsManagerImpl({
      cacheRoot: join(root, name),
      storeFactory: () => bucket.client(name),
      now: () => time.now + skewMs,
    });
    const created: Process = { name, manager, mounting: false, role, busy: 0, closed: false, lastSeq: 0 };
    processes.set(name, created);
    return created;
  };

  const running = new Set<RunningOp>();
  let violation: string | undefined;
  let nextOp = 1;
  let nextTag = 1;
  let operations = 0;
  let completions = 0;
  let maintenanceBusy = false;
  const unhandled = (reason: unknown) => {
    violation ??= `unhandled rejection: ${(reason as Error)?.stack ?? String(reason)}`;
  };
  process.on("unhandledRejection", unhandled);

  let violationKeys: string[] = [];
  const fail = (message: string, keys: string[] = []): never => {
    throw new Violation(message, keys);
  };

  /** Starts an operation; its outcome updates the model in the order outcomes arrive. */
  const start = (process: Process, label: string, body: () => Promise<void>) => {
    const op: RunningOp = { id: nextOp++, label, process, done: false };
    if ((polls.writerRefreshing.get(process.name) ?? 0) > 0) idleCounts.raced++;
    running.add(op);
    process.busy++;
    operations++;
    note(`start #${op.id} ${process.name} ${label}`);
    body().then(
      () => finish(op, "ok"),
      (error: unknown) => {
        if (error instanceof Violation && violation === undefined) {
          violation = `${process.name} ${label}: ${error.message}`;
          violationKeys = error.keys;
        }
        finish(op, `error ${codeOf(error) ?? (error as Error)?.name}: ${String((error as Error)?.message ?? error).slice(0, 160)}`);
      },
    );
  };
  const finish = (op: RunningOp, outcome: string) => {
    op.done = true;
    running.delete(op);
    op.process.busy--;
    completions++;
    note(`end #${op.id} ${op.process.name} ${op.label}: ${outcome}`);
  };

  /** A write's outcome: acknowledged, refused (nothing published) or unknown (maybe published). */
  /**
   * A write's outcome. `mayBeNoOp`: its success may publish nothing (an empty append to a file the
   * writer sees), so a writer fenced without knowing it yet may acknowledge it from its own, older
   * view: it then says nothing about the filesystem, and only adds what it may have done.
   */
  const writeOutcome = async (fs: S3CachedFs, who: string, work: () => Promise<void>, effects: (record?: WriteRecord) => Effects, mayBeNoOp = false) => {
    const record = model.begin(effects);
    try {
      await work();
    } catch (error) {
      const corrupt = corruptCause(error);
      if (corrupt !== undefined) fail(`a write met corrupt data: ${corrupt.message}`, corrupt.key === undefined ? [] : [corrupt.key]);
      const code = codeOf(error);
      if (code !== undefined && refusedCodes.has(code) && (fs.mode === "readwrite" || code === "EROFS")) {
        model.finish(record, "refused", []); // refused: nothing changed
        return;
      }
      model.finish(record, "unknown", effects(record));
      throw error;
    }
    if (fs.mode === "readonly") fail(`${who}: a write on a read-only mount succeeded`);
    model.finish(record, mayBeNoOp ? "unknown" : "acknowledged", effects(record));
  };

  // Reading one path of a view: its value, checked against the bytes' own claim.
  const readValue = async (fs: ViewReader, path: string, who: string): Promise<Value> => {
    try {
      const stats = await fs.stat(path);
      if (stats.isDirectory()) return "dir";
      const bytes = await fs.readFile(path);
      return valueOf(bytes, path, who);
    } catch (error) {
      if (error instanceof Violation) throw error;
      const corrupt = corruptCause(error);
      if (corrupt !== undefined) fail(`${who} got a checksum failure reading ${path}: ${(error as Error).message}`, corrupt.key === undefined ? [] : [corrupt.key]);
      if (codeOf(error) === "ENOENT") return "absent";
      throw error;
    }
  };

  /** Every path of a view; in the final checks (no faults) any error is a violation. */
  const readView = async (fs: ViewReader, who: string, final = false): Promise<Map<string, Value>> => {
    const view = new Map<string, Value>();
    for (const path of allPaths) {
      const value = await readValue(fs, path, who).catch((error: unknown) => {
        if (final && !(error instanceof Violation)) fail(`${who} cannot read ${path}: ${(error as Error).message}`);
        throw error;
      });
      view.set(path, value);
    }
    return view;
  };

  /** A view is a committed state: the transaction's files agree; each value is one the path may hold. */
  const checkView = (view: Map<string, Value>, who: string, strict: boolean, whole = true) => {
    const x = view.get("/t/x")!;
    const y = view.get("/t/y")!;
    if (whole && ((x === "absent") !== (y === "absent") || (x.startsWith("f:") && x !== y))) {
      fail(`${who} sees part of a transaction: /t/x is ${x}, /t/y is ${y}`);
    }
    for (const [path, value] of view) {
      const allowed = strict ? model.get(path) : model.ever.get(path)!;
      if (!allowed.has(value)) {
        fail(`${who} shows ${path} as ${value}, which ${strict ? "is not among the values it may hold now" : "it never held"}: ${[...allowed].join(", ")}`);
      }
    }
  };

  const mountConfig = (name: string, extra: Partial<MountConfig>): MountConfig => ({ ...mountBase, name, ...extra }) as MountConfig;

  const mountProcess = (process: Process, extra: Partial<MountConfig>) => {
    process.mounting = true;
    start(process, `mount ${JSON.stringify(extra)}`, async () => {
      try {
        process.fs = await process.manager.mount(mountConfig(process.name, extra));
        process.lastSeq = 0;
      } finally {
        process.mounting = false;
      }
    });
  };

  // Shared runs: increments and appends acknowledged, and those whose outcome is unknown.
  const counter = { acknowledged: 0, unknown: 0 };
  const appendTags = { acknowledged: new Set<number>(), unknown: new Set<number>() };
  /** Lane runs: each writer's own directory's log, and the tags appended to it. */
  const ownLogs = new Map<string, { acknowledged: Set<number>; unknown: Set<number> }>();

  // The processes.
  const writer1 = makeProcess("w1", "writer", 0);
  let writer2: Process | undefined;
  const sharedProcesses = shared ? [writer1, ...Array.from({ length: sharedWriterCount - 1 }, (_, index) => makeProcess(`w${index + 2}`, "writer", between(-5_000, 5_000)))] : [];
  const writerMount: Partial<MountConfig> = shared ? { exclusive: false } : {};
  const readerProcesses = Array.from({ length: readers }, (_, index) => makeProcess(`r${index + 1}`, "reader", between(-5_000, 5_000)));
  let formatExists = false;
  // Idle-catch-up runs: each mount's `refreshIntervalMs`. A shared writer mostly keeps the default
  // (undefined: it catches up while the others write), or polls at a fixed interval, or never (0);
  // a reader polls, or never (0, its default).
  const refreshIntervals = new Map<Process, number | undefined>();
  if (idle !== undefined) {
    for (const writer of sharedProcesses) refreshIntervals.set(writer, pick([undefined, undefined, undefined, undefined, 0, 30, 120, 500]));
    for (const reader of readerProcesses) refreshIntervals.set(reader, pick([0, 0, 50, 200, 1_000]));
    polls.note = note;
    note(`idle catch-ups: gaps of time at ${idle.gapChance} of the steps with no request waiting, a request's latency at ${idle.latencyChance} of the others, ${idle.writerBusy} operation(s) per writer at most, refreshIntervalMs ${[...refreshIntervals].map(([process, ms]) => `${process.name} ${ms ?? "unset"}`).join(", ")}`);
  }
  const polling = (process: Process): Partial<MountConfig> => {
    const ms = refreshIntervals.get(process);
    return ms === undefined ? {} : { refreshIntervalMs: ms };
  };

  /** Starts one random operation of a process; false if it had none to start. */
  const operate = (process: Process): boolean => {
    const before = operations;
    operateOn(process);
    return operations !== before;
  };
  const operateOn = (process: Process) => {
    const fs = process.fs;
    if (fs === undefined || fs.closed) {
      if (process.mounting || process.closed) return;
      if (process.role === "writer") {
        if (shared && process !== writer1 && !formatExists) return;
        const takeover = process === writer2 && succession === "takeover";
        mountProcess(process, takeover ? { onWriterBusy: "takeover" } : { onWriterBusy: "wait", ...writerMount, ...polling(process) });
      } else if (process.role === "reader") {
        if (!formatExists && !chance(0.1)) return;
        mountProcess(process, { mode: "readonly", ...polling(process) });
      }
      return;
    }
    const who = process.name;
    if (process.role === "reader") {
      const roll = random();
      if (roll < 0.75) {
        start(process, "refresh and read everything", async () => {
          const refreshed = await fs.refresh();
          if (refreshed.seq < process.lastSeq) fail(`${who} went back from seq ${process.lastSeq} to ${refreshed.seq}`);
          process.lastSeq = refreshed.seq;
          // A polling reader's view may move while it is read path by path: the transaction's
          // files are checked together only when no poll of a reader ran meanwhile.
          const pollsBefore = polls.readerPollsStarted;
          const still = polls.readerPollsRunning === 0;
          const view = await readView(fs, who);
          checkView(view, `${who} at seq ${refreshed.seq}`, false, still && polls.readerPollsStarted === pollsBefore);
        });
      } else if (roll < 0.85) {
        const path = pick(filePaths);
        start(process, `invalid: writeFile ${path} on a read-only mount`, () =>
          writeOutcome(fs, who, () => fs.writeFile(path, "nope"), () => [[path, ["f:0"]]]),
        );
      } else if (roll < 0.9) {
        start(process, "invalid: gc on a read-only mount", async () => {
          await fs.collectGarbage({ retentionMs: 0, graceMs: 0 }).then(
            () => fail("garbage collection ran on a read-only mount"),
            (error: unknown) => {
              if (codeOf(error) !== "EROFS") throw error;
            },
          );
        });
      } else {
        start(process, "close", async () => {
          await fs.close();
        });
      }
      return;
    }
    // A writer.
    if (shared && chance(laneRun ? 0.6 : 0.25)) {
      sharedOperation(process, fs);
      return;
    }
    const roll = random();
    const tag = nextTag++;
    if (roll < 0.24) {
      const path = pick(filePaths);
      const size = pick([0, between(1, 40), between(40, 200), between(200, 700)]);
      start(process, `writeFile ${path} #${tag} (${size} bytes)`, () =>
        writeOutcome(fs, who, () => fs.writeFile(path, contentFor(tag, size)), () => [[path, [size === 0 ? "f:" : `f:${tag}`]], ...parentOf(path)]),
      );
    } else if (roll < 0.31) {
      const path = pick(filePaths);
      const size = pick([0, between(1, 40), between(40, 200), between(200, 700)]);
      const atStart = [...model.get(path)];
      start(process, `appendFile ${path} #${tag} (${size} bytes)`, () =>
        writeOutcome(fs, who, () => fs.appendFile(path, contentFor(tag, size)), (record) => {
          const before = model.sourceValues(record, path, atStart).filter((value) => value === "absent" || value.startsWith("f:"));
          return [[path, [...new Set(before.map((value) => appended(value, tag, size)))]], ...parentOf(path)];
        }, size === 0),
      );
    } else if (roll < 0.38) {
      const dir = pick(dirPaths);
      start(process, `mkdir ${dir}`, () => writeOutcome(fs, who, () => fs.mkdir(dir), () => [[dir, ["dir"]]]));
    } else if (roll < 0.44) {
      const path = pick([...filePaths, ...dirPaths]);
      const isDir = dirPaths.includes(path);
      start(process, `rm ${path}${isDir ? " -r" : ""}`, () =>
        writeOutcome(fs, who, () => fs.rm(path, { recursive: isDir }), () => [
          [path, ["absent"]],
          ...(isDir ? filePaths.filter((file) => file.startsWith(`${path}/`)).map((file): [string, Value[]] => [file, ["absent"]]) : []),
        ]),
      );
    } else if (roll < 0.52) {
      const from = pick(filePaths);
      const to = pick(filePaths.filter((path) => path !== from));
      const kind = random();
      if (kind < 0.4 && !laneRun) {
        // A hard link to a name the model never reads: writes, appends, copies onto, renames and
        // removals of the source then act on a file with two names, and replay, snapshots, gc
        // and compaction must keep what each path the model does read holds.
        start(process, `link ${from} /hard-${tag}`, () => writeOutcome(fs, who, () => fs.link(from, `/hard-${tag}`), () => []));
        return;
      }
      const copy = kind < 0.4 + 0.6 * 0.4;
      // The effect is computed when the outcome arrives, from what the source may hold then.
      start(process, `${copy ? "copyFile" : "rename"} ${from} ${to}`, async () => {
        const atStart = [...model.get(from)];
        await writeOutcome(fs, who, () => (copy ? fs.copyFile(from, to) : fs.rename(from, to)), (record) => {
          const sources = model.sourceFiles(record, from, atStart);
          return copy ? [[to, sources], ...parentOf(to)] : [[to, sources], [from, ["absent"]], ...parentOf(to)];
        });
      });
    } else if (roll < 0.62) {
      const extraPath = chance(0.5) ? pick(filePaths) : undefined;
      const abort = chance(0.15);
      const size = between(1, 300);
      // Idle-catch-up runs: a shared writer's transaction may also be blind (its body runs once;
      // its writes are validated again on the log's end), from the log's end it reads first, or
      // (`catchUp: false`) from its own view just after a `refresh()`, which a catch-up may follow.
      const isolation = idle !== undefined && shared ? pick(["serializable", "blind", "blind after refresh"] as const) : "serializable";
      start(process, `transaction #${tag}${extraPath === undefined ? "" : ` +${extraPath}`}${abort ? " (throws)" : ""}${isolation === "serializable" ? "" : ` (${isolation})`}`, async () => {
        await writeOutcome(
          fs,
          who,
          async () => {
            if (isolation === "blind after refresh") await fs.refresh();
            const options = isolation === "serializable" ? undefined : { isolation: "blind" as const, ...(isolation === "blind after refresh" ? { catchUp: false } : {}) };
            await fs
              .transaction(async (tx) => {
                await tx.mkdir("/t", { recursive: true });
                await tx.writeFile("/t/x", contentFor(tag, size));
                if (abort) throw new FsError("EINVAL", "transaction", { detail: "the body gave up" });
                await tx.writeFile("/t/y", contentFor(tag, size));
                if (extraPath !== undefined) await tx.writeFile(extraPath, contentFor(tag, size));
              }, options)
              .catch((error: unknown) => {
                // A transaction whose extra write is invalid (a missing directory) is refused whole.
                throw error;
              });
          },
          () => [
            ["/t/x", [`f:${tag}`]],
            ["/t/y", [`f:${tag}`]],
            ...(extraPath === undefined ? [] : [[extraPath, [`f:${tag}`]] as [string, Value[]], ...parentOf(extraPath)]),
          ],
        );
      });
    } else if (roll < 0.7) {
      const path = pick(allPaths);
      start(process, `read ${path}`, async () => {
        const before = new Set(model.get(path));
        const value = await readValue(fs, path, who);
        if (!before.has(value) && !model.get(path).has(value) && !model.ever.get(path)!.has(value)) {
          fail(`${who} read ${path} as ${value}, never a value of it`);
        }
      });
    } else if (roll < 0.76) {
      const invalid = pick(["write-dir", "write-orphan", "rm-missing", "mkdir-exists", "rename-missing", "relative"] as const);
      start(process, `invalid: ${invalid}`, () => {
        switch (invalid) {
          case "write-dir":
            return writeOutcome(fs, who, () => fs.writeFile("/", "x"), () => []);
          case "write-orphan":
            return writeOutcome(fs, who, () => fs.mkdir("/nowhere/x"), () => []);
          case "rm-missing":
            return writeOutcome(fs, who, () => fs.rm("/missing"), () => []);
          case "mkdir-exists":
            return writeOutcome(fs, who, () => fs.mkdir("/"), () => []);
          case "rename-missing":
            return writeOutcome(fs, who, () => fs.rename("/missing", "/a"), () => []);
          case "relative":
            return writeOutcome(fs, who, () => fs.writeFile("", "x"), () => []);
        }
      });
    } else if (roll < 0.8) {
      start(process, "snapshot", async () => {
        await fs.snapshot();
      });
    } else if (roll < 0.86) {
      if (maintenanceBusy) return;
      maintenanceBusy = true;
      const gcOptions = { retentionMs: pick([0, 2_000, 60_000]), graceMs: shared ? pick([0, 60_000, 120_000]) : pick([60_000, 120_000]), compact: chance(0.6), compactBelow: pick([0.5, 0.9]), dryRun: chance(0.15) };
      start(process, `gc ${JSON.stringify(gcOptions)}`, async () => {
        try {
          if (shared) {
            // Any shared writer collects (docs/s3-layout.md GC9); a collector lease left by a run a
            // fault stopped before it could release it makes the next one EBUSY until it expires.
            await fs.collectGarbage(gcOptions).catch((error: unknown) => {
              if (codeOf(error) !== "EBUSY") throw error;
            });
            return;
          }
          await fs.collectGarbage(gcOptions);
        } finally {
          maintenanceBusy = false;
        }
      });
    } else if (roll < 0.9) {
      if (maintenanceBusy) return;
      maintenanceBusy = true;
      start(process, "fsck", async () => {
        try {
          // A checker reads the store directly: a fault would be a finding about that object.
          const checker = processes.get("fsck") ?? makeProcess("fsck", "checker", 0);
          if (checker.fs === undefined) {
            bucket.direct.add("fsck");
            checker.fs = await checker.manager.mount(mountConfig("fsck", { mode: "readonly" }));
          }
          const report = await checker.fs.fsck();
          if (!report.sound) fail(`fsck found the filesystem unsound: ${JSON.stringify(report.problems.slice(0, 3))}`, report.problems.map((problem) => problem.key));
        } finally {
          maintenanceBusy = false;
        }
      });
    } else if (roll < 0.93 && process === writer1 && writer2 !== undefined) {
      start(process, "close (old writer)", async () => {
        await fs.close();
        process.closed = true;
      });
    } else {
      // Let time pass (lease renewals, backoffs, head updates, retention windows and grace
      // periods). Long only while no write is in flight: GC4's grace period assumes a record lands
      // within it of its data's upload (a writer paused for longer is the documented hazard).
      const writing = writingNow();
      const ms = idle !== undefined ? idleGapMs(writing) : writing ? pick([10, 100]) : pick([100, 1_000, 10_000, 40_000, 180_000]);
      note(`time passes: ${ms} ms`);
      advance(ms);
    }
  };

  /**
   * A shared writer's own operations: a transaction incrementing the counter (read, then write
   * one more), an append to the append-only file, or a refresh followed by a read of everything
   * (a writer sees the other writers' commits whole).
   */
  function sharedOperation(process: Process, fs: S3CachedFs): void {
    const who = process.name;
    if (laneRun && chance(0.7)) {
      // Mostly its own directory; one time in eight another writer's.
      const owner = chance(0.875) ? who : pick(sharedProcesses.map((other) => other.name));
      const log = `/own-${owner}/log`;
      const tags = ownLogs.get(log) ?? { acknowledged: new Set<number>(), unknown: new Set<number>() };
      ownLogs.set(log, tags);
      const tag = nextTag++;
      start(process, `append #${tag} to ${log}`, async () => {
        try {
          await fs.mkdir(`/own-${owner}`, { recursive: true });
          await fs.appendFile(log, `${tag}\n`);
        } catch (error) {
          const code = codeOf(error);
          if (code === undefined || !refusedCodes.has(code)) tags.unknown.add(tag);
          throw error;
        }
        tags.acknowledged.add(tag);
      });
      return;
    }
    if (idle !== undefined && chance(0.3)) {
      // Idle-catch-up runs: a refresh of the writer's own (beside its timer's), or a close (it
      // mounts again later, from its own cache directory), racing the catch-up under way.
      if (chance(0.8)) {
        start(process, "refresh", async () => {
          const refreshed = await fs.refresh();
          if (refreshed.seq < process.lastSeq) fail(`${who} went back from seq ${process.lastSeq} to ${refreshed.seq}`);
          process.lastSeq = refreshed.seq;
        });
      } else {
        start(process, "close", async () => {
          await fs.close();
        });
      }
      return;
    }
    const roll = random();
    if (roll < 0.45) {
      start(process, "increment the counter in a transaction", async () => {
        try {
          await fs.transaction(async (tx) => {
            const value = (await tx.exists(counterPath)) ? Number(await tx.readText(counterPath)) : 0;
            if (!Number.isSafeInteger(value)) fail(`${who} read the counter as ${value}`);
            await tx.writeFile(counterPath, String(value + 1));
          });
        } catch (error) {
          const code = codeOf(error);
          if (code === undefined || !refusedCodes.has(code)) counter.unknown++;
          throw error;
        }
        counter.acknowledged++;
      });
    } else if (roll < 0.8) {
      const tag = nextTag++;
      start(process, `append #${tag} to ${appendLogPath}`, async () => {
        try {
          await fs.appendFile(appendLogPath, `${tag}\n`);
        } catch (error) {
          const code = codeOf(error);
          if (code === undefined || !refusedCodes.has(code)) appendTags.unknown.add(tag);
          throw error;
        }
        appendTags.acknowledged.add(tag);
      });
    } else {
      // In a transaction: a writer's committed view moves whenever one of its own operations
      // commits, so reading path after path through the mount would mix states; a transaction's
      // view starts from the log's end and holds still while its body runs.
      start(process, "read everything in a transaction", async () => {
        await fs.transaction(async (tx) => {
          const view = await readView(tx, who);
          checkView(view, `${who} in a transaction`, false);
        });
      });
    }
  }

  /** Shared runs, at the end: every acknowledged increment and append is in the view, and nothing else. */
  async function checkSharedFiles(fs: S3CachedFs, who: string): Promise<string> {
    const counterText = (await fs.exists(counterPath)) ? await fs.readText(counterPath) : "0";
    const value = Number(counterText);
    if (value < counter.acknowledged || value > counter.acknowledged + counter.unknown) {
      fail(`${who} shows the counter as ${counterText}: ${counter.acknowledged} increments were acknowledged and ${counter.unknown} have an unknown outcome`);
    }
    const appendsText = (await fs.exists(appendLogPath)) ? await fs.readText(appendLogPath) : "";
    const tags = appendsText.split("\n").filter((line) => line !== "").map(Number);
    const seen = new Set<number>();
    for (const tag of tags) {
      if (seen.has(tag)) fail(`${who} shows append #${tag} twice in ${appendLogPath}`);
      seen.add(tag);
      if (!appendTags.acknowledged.has(tag) && !appendTags.unknown.has(tag)) fail(`${who} shows append #${tag}, which was never acknowledged nor in doubt`);
    }
    for (const tag of appendTags.acknowledged) if (!seen.has(tag)) fail(`${who} lost the acknowledged append #${tag} to ${appendLogPath}`);
    let own = "";
    for (const [log, expected] of [...ownLogs].sort(([a], [b]) => a.localeCompare(b))) {
      const text = (await fs.exists(log)) ? await fs.readText(log) : "";
      const found = new Set<number>();
      for (const tag of text.split("\n").filter((line) => line !== "").map(Number)) {
        if (found.has(tag)) fail(`${who} shows append #${tag} twice in ${log}`);
        found.add(tag);
        if (!expected.acknowledged.has(tag) && !expected.unknown.has(tag)) fail(`${who} shows append #${tag} in ${log}, which was never acknowledged nor in doubt`);
      }
      for (const tag of expected.acknowledged) if (!found.has(tag)) fail(`${who} lost the acknowledged append #${tag} to ${log}`);
      own += `|${log}:${text}`;
    }
    return `${counterText}|${appendsText}${own}`;
  }

  /** L1: every key but the head, the leases and gc/clock is written once (same bytes if twice). */
  const checkWrittenOnce = () => {
    if (bucket.rewritten.size === 0 || violation !== undefined || options.checkWriteOnce === false) return;
    const keys = [...bucket.rewritten];
    violation = `${keys.join(", ")} ${keys.length === 1 ? "was" : "were"} overwritten with other bytes: a key written once (docs/s3-layout.md L1) changed under every record naming it`;
    violationKeys = keys;
  };

  /** A write is under way or in flight (long gaps of time wait for none: GC4's grace period). */
  const writingNow = () => [...running].some((op) => op.process.role === "writer") || bucket.late.length > 0 || bucket.queue.some((request) => request.write);

  /**
   * Idle-catch-up runs: a gap of virtual time between steps, a few milliseconds to a second (the
   * catch-up pause is 50 ms to 1 s, the polls 30 ms to 1 s), or while nothing is written, up to
   * 12 s, past which the other writers count as silent (10 s) and the catch-up stops until one
   * of their records is taken in again, and now and then 3 or 11 minutes (a shared collection
   * takes only log records 10 minutes old).
   */
  const idleGapMs = (writing: boolean) => (writing ? pick([5, 20, 50, 100, 200, 400, 800]) : pick([5, 20, 50, 100, 200, 400, 800, 1_500, 4_000, 12_000, 180_000, 660_000]));

  /** Fires every timer due within `ms`, in order, then sets the clock. */
  const advance = (ms: number) => {
    const until = time.now + ms;
    for (let fired = 0; fired < 50; fired++) {
      const timer = time.next();
      if (timer === undefined || timer.due > until) break;
      time.fireNext();
    }
    time.now = Math.max(time.now, until);
  };

  /**
   * Waits until nothing moves: no request sent, no timer set, no operation ended, for five turns of
   * the event loop in a row, and no local file operation in flight (those are waited for however
   * long they take: their real duration must not decide what the scheduler sees).
   */
  const settle = async () => {
    let last = -1;
    let quiet = 0;
    const since = realNow();
    while (quiet < 5) {
      if (ioInFlight() > 0) {
        quiet = 0;
        if (realNow() - since > 60_000) throw new Error("a local file operation has not finished for 60 s");
        await new Promise((resolve) => setImmediate(resolve));
        continue;
      }
      await new Promise((resolve) => setImmediate(resolve));
      const activity = bucket.activity + time.activity + completions;
      if (activity === last) quiet++;
      else {
        quiet = 0;
        last = activity;
      }
    }
  };

  /** The scheduler decides one queued request's fate. */
  const decide = (request: SimRequest, faults: boolean) => {
    const describeRequest = `#${request.id} ${request.client} ${request.operation} ${request.key ?? ""}`;
    if (!faults || !chance(faultRate)) {
      note(`deliver ${describeRequest}`);
      bucket.decide(request, "deliver");
      return;
    }
    const roll = random();
    if (roll < 0.35) {
      const error = failureFor(request.operation, request.key, Math.floor(random() * 1000), request.conditional);
      note(`fail ${describeRequest}: ${error.name} ${error.status}`);
      bucket.decide(request, "fail", error);
    } else if (roll < 0.55) {
      note(`lose the answer of ${describeRequest}`);
      bucket.decide(request, "lose-answer");
    } else if (roll < 0.85) {
      note(`time out ${describeRequest}; it stays in flight`);
      bucket.decide(request, "late");
    } else {
      note(`deliver ${describeRequest} and keep a duplicate in flight`);
      bucket.decide(request, "duplicate");
    }
  };

  const stepOnce = (faults: boolean, startOps: boolean) => {
    step++;
    bucket.step = step;
    if (idle !== undefined && startOps) {
      // A writer whose timer's refresh runs starts something beside it, now and then, before that
      // refresh's requests are answered.
      const racing = sharedProcesses.filter((writer) => (polls.writerRefreshing.get(writer.name) ?? 0) > 0 && writer.busy < idle.writerBusy && writer.fs !== undefined && !writer.fs.closed);
      if (racing.length > 0 && chance(0.3) && operate(pick(racing))) return;
      if (bucket.queue.length > 0) {
        // Requests take time: a few milliseconds pass before the step, now and then, and a timer
        // may fire between two answers (finding its writer busy, or idle while others work).
        if (chance(idle.latencyChance)) {
          const ms = pick([2, 10, 20, 40, 80, 150]);
          note(`time passes: ${ms} ms`);
          advance(ms);
        }
      } else if (chance(idle.gapChance)) {
        // No request waits: the writers idle, or wait for a timer.
        const ms = idleGapMs(writingNow());
        note(`time passes: ${ms} ms`);
        advance(ms);
        return;
      }
    }
    const roll = random();
    if (bucket.late.length > 0 && roll < 0.12) {
      const request = pick(bucket.late);
      if (chance(0.9)) {
        note(`late ${request.operation} ${request.key} (#${request.id} ${request.client}) lands`);
        bucket.landLate(request);
      } else {
        note(`late ${request.operation} ${request.key} (#${request.id} ${request.client}) is lost`);
        bucket.dropLate(request);
      }
      return;
    }
    if (bucket.queue.length > 0 && (roll < 0.75 || !startOps)) {
      // Any queued request may go next: requests overtake each other, and some stall.
      decide(pick(bucket.queue), faults);
      return;
    }
    if (startOps && shared) {
      const candidates: Process[] = [];
      for (const writer of sharedProcesses) {
        if (writer.busy >= (idle?.writerBusy ?? 3) || writer.closed) continue;
        candidates.push(writer, writer);
        // Idle-catch-up runs: a writer whose timer's refresh runs is likelier to start something beside it.
        if (idle !== undefined && (polls.writerRefreshing.get(writer.name) ?? 0) > 0) candidates.push(writer, writer, writer, writer);
      }
      for (const reader of readerProcesses) if (reader.busy === 0) candidates.push(reader);
      if (candidates.length > 0 && operate(pick(candidates))) return;
    } else if (startOps) {
      const candidates: Process[] = [];
      const active = writer2 !== undefined && (writer2.fs !== undefined || writer1.crashed === true) ? writer2 : writer1;
      if (active.busy < 3) candidates.push(active, active);
      if (writer2 !== undefined && writer1.fs !== undefined && !writer1.closed && writer1.busy < 2) candidates.push(writer1);
      if (writer1.crashed) candidates.splice(0, candidates.length, ...candidates.filter((candidate) => candidate !== writer1));
      if (writer2 !== undefined && writer2.fs === undefined && !writer2.mounting) candidates.push(writer2);
      for (const reader of readerProcesses) if (reader.busy === 0) candidates.push(reader);
      if (candidates.length > 0 && operate(pick(candidates))) return;
    }
    if (bucket.queue.length === 0 && time.next() !== undefined) {
      const timer = time.next()!;
      note(`time moves to +${timer.due - time.now} ms and a timer fires`);
      time.fireNext();
    }
  };

  let finalSteps = 0;
  try {
    // The first writer creates the filesystem.
    mountProcess(writer1, { onWriterBusy: "wait", ...writerMount, ...polling(writer1) });
    for (; step < steps && violation === undefined; ) {
      await settle();
      if (!formatExists && bucket.objects.has("format.json")) formatExists = true;
      if (takeoverAt !== undefined && step >= takeoverAt && writer2 === undefined && writer1.fs !== undefined) {
        writer2 = makeProcess("w2", "writer", between(-30_000, 30_000));
        if (succession === "crash") {
          // The process dies: it sends nothing more; what it sent may still land.
          note("the first writer's process dies; a second writer mounts and waits for the lease");
          bucket.dead.add(writer1.name);
          writer1.closed = true;
          writer1.crashed = true;
          mountProcess(writer2, { onWriterBusy: "wait" });
        } else {
          note("a second writer takes over");
          mountProcess(writer2, { onWriterBusy: "takeover" });
        }
      }
      stepOnce(true, true);
      checkWrittenOnce();
    }
    if (violation === undefined) await finalChecks();
  } catch (error) {
    if (error instanceof Violation) violation ??= error.message;
    else violation ??= `the simulation itself failed: ${(error as Error).stack ?? String(error)}`;
  } finally {
    if (counting === polls) counting = undefined; // the teardown's timers are not counted
    process.off("unhandledRejection", unhandled);
    // Close whatever is still open, without faults, and discard the run.
    bucket.allDirect = true;
    for (const request of bucket.queue.splice(0)) bucket.land(request, "delivered at teardown");
    let closed = false;
    const closing = Promise.allSettled([...processes.values()].map((process) => process.manager.closeAll())).then(() => (closed = true));
    for (let round = 0; round < 500 && !closed; round++) {
      await settle();
      if (closed) break;
      if (!time.fireNext()) break;
    }
    if (!closed) violation ??= "close() never settled";
    await Promise.race([closing, new Promise((resolve) => setImmediate(resolve))]);
    // Nothing of this run may still be running when the next one starts (it would draw on the
    // next run's clock and generators).
    for (const request of bucket.queue.splice(0)) bucket.land(request, "delivered at teardown");
    await settle();
    rmSync(root, { recursive: true, force: true });
  }

  async function finalChecks() {
    // 1. Let every operation finish, without new faults (requests still overtake each other).
    note("final: no more faults; every operation finishes");
    const live = () => [...running].some((op) => !op.process.crashed);
    for (let round = 0; round < 2_000 && (live() || bucket.queue.length > 0); round++) {
      await settle();
      if (violation !== undefined) return;
      finalSteps++;
      stepOnce(false, false);
      checkWrittenOnce();
    }
    const unsettled = [...running].filter((op) => !op.process.crashed);
    if (unsettled.length > 0) fail(`operations never settled: ${unsettled.map((op) => `${op.process.name} ${op.label}`).join("; ")}`);
    // 2. The network delivers or loses what is still in flight.
    while (bucket.late.length > 0) {
      const request = pick(bucket.late);
      step++;
      if (chance(0.85)) {
        note(`final: late ${request.operation} ${request.key} (#${request.id} ${request.client}) lands`);
        bucket.landLate(request);
      } else {
        note(`final: late ${request.operation} ${request.key} (#${request.id} ${request.client}) is lost`);
        bucket.dropLate(request);
      }
    }
    checkWrittenOnce();
    if (violation !== undefined) return;
    // 3. The writer commits once more: it must converge with the store (a record of its that
    //    landed late is in the log, and the next commit follows it).
    const active = shared
      ? sharedProcesses.find((candidate) => candidate.fs !== undefined && !candidate.fs.closed && !candidate.closed)
      : [writer2, writer1].find((candidate) => candidate?.fs !== undefined && !candidate.fs.closed && candidate.closed === false);
    let writerView: Map<string, Value> | undefined;
    let writerSeq = 0;
    if (active?.fs !== undefined) {
      const fs = active.fs;
      bucket.direct.add(active.name);
      for (let attempt = 0; attempt < 3; attempt++) {
        const tag = nextTag++;
        note(`final: ${active.name} writes /sync #${tag}`);
        const done = await drive(fs.writeFile("/sync", contentFor(tag, 10)).then(
          () => "ok",
          (error: unknown) => codeOf(error) ?? String(error),
        ));
        if (done === "ok") break;
        if (done === "EFENCED") break;
      }
      if (!fs.closed && active.fs !== undefined) {
        writerView = await drive(readView(fs, `${active.name} (final)`, true));
        writerSeq = fs.stats().seq;
        checkView(writerView, `${active.name} (final, seq ${writerSeq})`, true);
      }
    }
    // 4. A fresh mount from the store equals the writer's view and the model; fsck finds it sound.
    const fresh = makeProcess("fresh", "checker", 0);
    bucket.direct.add("fresh");
    const freshFs = await drive(fresh.manager.mount(mountConfig("fresh", { mode: "readonly" })).catch((error: unknown) => {
      if (!formatExists && codeOf(error) === "ENOENT") return undefined;
      fail(`a fresh mount failed: ${(error as Error).message}`);
    }));
    if (freshFs === undefined) return;
    fresh.fs = freshFs;
    const freshView = await drive(readView(freshFs, "a fresh mount", true));
    const freshSeq = freshFs.stats().seq;
    checkView(freshView, `a fresh mount (seq ${freshSeq})`, true);
    if (writerView !== undefined && freshSeq === writerSeq) {
      for (const [path, value] of freshView) {
        if (writerView.get(path) !== value) fail(`at seq ${freshSeq} the writer shows ${path} as ${writerView.get(path)}, a fresh mount as ${value}`);
      }
    }
    if (shared) {
      // Each shared writer, caught up, shows what a fresh mount shows; the counter and the appends hold every acknowledged one.
      const freshShared = await drive(checkSharedFiles(freshFs, "a fresh mount"));
      for (const writer of sharedProcesses) {
        const fs = writer.fs;
        if (fs === undefined || fs.closed) continue;
        bucket.direct.add(writer.name);
        const refreshed = await drive(fs.refresh());
        if (refreshed.seq !== freshSeq) fail(`${writer.name} caught up to seq ${refreshed.seq}, a fresh mount is at ${freshSeq}`);
        const view = await drive(readView(fs, `${writer.name} (final)`, true));
        for (const [path, value] of freshView) if (view.get(path) !== value) fail(`at seq ${freshSeq} ${writer.name} shows ${path} as ${view.get(path)}, a fresh mount as ${value}`);
        const own = await drive(checkSharedFiles(fs, `${writer.name} (final)`));
        if (own !== freshShared) fail(`at seq ${freshSeq} ${writer.name} shows the counter and appends as ${JSON.stringify(own)}, a fresh mount as ${JSON.stringify(freshShared)}`);
      }
    }
    const report = await drive(freshFs.fsck());
    if (!report.sound) fail(`fsck found the filesystem unsound: ${JSON.stringify(report.problems.slice(0, 3))}`, report.problems.map((problem) => problem.key));
    checkWrittenOnce();
    // 5. Every reader catches up to a committed state.
    for (const reader of readerProcesses) {
      if (reader.fs === undefined || reader.fs.closed) continue;
      bucket.direct.add(reader.name);
      const fs = reader.fs;
      const refreshed = await drive(fs.refresh());
      const view = await drive(readView(fs, `${reader.name} (final)`, true));
      checkView(view, `${reader.name} (final, seq ${refreshed.seq})`, refreshed.seq >= freshSeq);
      if (refreshed.seq === freshSeq) {
        for (const [path, value] of view) {
          if (freshView.get(path) !== value) fail(`at seq ${freshSeq} ${reader.name} shows ${path} as ${value}, a fresh mount as ${freshView.get(path)}`);
        }
      }
    }
  }

  /** Runs the scheduler (no faults) until `promise` settles. */
  async function drive<T>(promise: Promise<T>): Promise<T> {
    let settled = false;
    let outcome: { value: T } | { error: unknown } | undefined;
    promise.then(
      (value) => {
        outcome = { value };
        settled = true;
      },
      (error: unknown) => {
        outcome = { error };
        settled = true;
      },
    );
    for (let round = 0; round < 5_000 && !settled; round++) {
      await settle();
      if (settled) break;
      step++;
      finalSteps++;
      if (bucket.queue.length > 0) decide(pick(bucket.queue), false);
      else if (time.next() !== undefined) {
        note("final: a timer fires");
        time.fireNext();
      } else break;
    }
    if (!settled || outcome === undefined) fail("a final check never settled");
    if ("error" in outcome!) throw outcome.error;
    return outcome!.value;
  }

  const packKeyReuse = violationKeys.length > 0 && violationKeys.every((key) => key.startsWith("packs/") && bucket.rewritten.has(key));
  return {
    seed,
    ok: violation === undefined,
    ...(violation === undefined ? {} : { violation }),
    ...(violation !== undefined && packKeyReuse ? { knownBug: knownBugs.packKeyReuse } : {}),
    steps: step,
    requests: bucket.sent,
    faults: bucket.faults,
    operations,
    laneRecords: bucket.laneRecords,
    idle: idleCounts,
    idleRun,
    trace,
    digest: digest.toString(16).padStart(8, "0"),
    elapsedMs: realNow() - started,
  };
}

function existsShm(): boolean {
  try {
    mkdirSync("/dev/shm", { recursive: true });
    return process.platform === "linux";
  } catch {
    return false;
  }
}
