// The writer lease (`writer/lease.json`): at most one writer at a time, each with its own epoch.
//
// Acquire: create-only if there is no lease; compare-and-swap to take over a released lease, an
// expired one, or (when asked) a live one. Expiry is judged on the taker's own monotonic clock:
// the lease object must stay unchanged (same ETag) for a full TTL while the taker watches. Wall
// clocks of two hosts are never compared. Every takeover raises the epoch; the new writer then
// writes an epoch record into the next log slot, which fences the old writer at its next commit
// (the lease alone cannot stop a paused writer; the log slot can).
//
// A holder that died without releasing (SIGKILL, process.exit without close()) would make the next
// writer wait a whole TTL. The lease names its holder's process (host name, boot id, pid namespace,
// pid and start time), so a successor on the same host and in the same pid namespace that finds no
// such process takes over at once. Anywhere else it waits, and says so through `onWait`.

import type { LeaseWaitInfo } from "../base/options.ts";
import { randomUUID } from "node:crypto";
import { readFileSync, readlinkSync } from "node:fs";
import { hostname } from "node:os";
import { FsError } from "../base/errors.ts";
import { leaseKey } from "../log/keys.ts";
import type { ObjectStore } from "../stores/object-store.ts";
import { PreconditionFailedError } from "../stores/store-errors.ts";
import { readDocument, replacing, writeDocument, type DocumentKind } from "../log/document.ts";
import { z } from "zod";
import { sleep as realSleep, type Sleep } from "../stores/random.ts";

export interface LeaseDocument {
  writer: string;
  epoch: number;
  ttlMs: number;
  nonce: string;
  released: boolean;
  acquired: string;
  renewed: string;
  /** The holder's process, so a successor on the same host can tell that it is gone. */
  process?: ProcessIdentity;
}

/** Which process holds a lease: enough for another process on the same host to see it is gone. */
export interface ProcessIdentity {
  host: string;
  pid: number;
  /** Linux: /proc/sys/kernel/random/boot_id (a reboot ends every process). */
  bootId?: string;
  /** Linux: /proc/self/ns/pid ("pid:[4026531836]"): pids compare only within one namespace. */
  pidNamespace?: string;
  /** Linux: the process's start time in clock ticks since boot (/proc/<pid>/stat), so a reused pid is told apart. */
  startTime?: string;
}

/** What a writer waiting for the lease waits for, and until when. */

export type { LeaseWaitInfo };

export type LeaseWait = "wait" | "fail" | "takeover";

export interface LeaseOptions {
  writerId: string;
  ttlMs: number;
  /** What to do when another writer holds a live lease. */
  onBusy: LeaseWait;
  /** How long "wait" waits before failing with EBUSY. */
  waitTimeoutMs: number;
  /** Called once if renewal finds another writer in the lease. */
  onLost: (holder: LeaseDocument | undefined) => void;
  /** Called when a wait for a live holder begins, and again if another writer comes to hold it. */
  onWait?: ((wait: LeaseWaitInfo) => void) | undefined;
  monotonicNow?: () => number;
  sleep?: Sleep;
}

const count = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

/**
 * The lease as stored. A lease that is not JSON or lacks a field the protocol needs is damaged
 * (DamagedDocumentError, "writer/lease.json is damaged: ..."): no writer takes over what it cannot
 * read. `process` is only trusted as far as processGone checks it.
 */
const leaseDocument: DocumentKind<LeaseDocument> = {
  schema: z.looseObject({
    writer: z.string(),
    epoch: count,
    ttlMs: z.number().nonnegative(),
    nonce: z.string(),
    released: z.boolean(),
    acquired: z.string(),
    renewed: z.string(),
  }),
};

export class WriterLease {
  private etag: string | undefined;
  private document: LeaseDocument | undefined;
  private timer: ReturnType<typeof setInterval> | undefined;
  private renewing: Promise<void> | undefined;
  /** The lease write in flight, if any (settles, never rejects). */
  private writing: Promise<void> | undefined;
  private lost = false;
  private readonly monotonicNow: () => number;
  private readonly sleep: Sleep;

  constructor(
    private readonly store: ObjectStore,
    private readonly options: LeaseOptions,
  ) {
    this.monotonicNow = options.monotonicNow ?? (() => performance.now());
    this.sleep = options.sleep ?? realSleep;
  }

  get epoch(): number {
    return this.document?.epoch ?? 0;
  }

  /**
   * Takes the lease with an epoch above `minimumEpoch`; returns the epoch. Aborting `signal` ends a
   * wait for a live holder with ECANCELED, having written nothing.
   */
  async acquire(minimumEpoch: number, signal?: AbortSignal): Promise<number> {
    return this.untilFree(minimumEpoch, signal, true);
  }

  /**
   * A shared writer (`exclusive: false`) takes no lease, but waits (or fails, per `onBusy`) while
   * an exclusive writer holds a live one, exactly as acquire() would, and writes nothing. With
   * "takeover" it goes ahead at once: the exclusive writer is fenced at its next commit, when it
   * finds a shared writer's record of its own epoch in the log. Returns the lease's epoch (0: none).
   */
  async awaitNoExclusiveWriter(signal?: AbortSignal): Promise<number> {
    return this.untilFree(0, signal, false);
  }

  private async untilFree(minimumEpoch: number, signal: AbortSignal | undefined, take: boolean): Promise<number> {
    const claim = async (document: LeaseDocument, etag: string | undefined) => (take ? this.write(document, etag) : true);
    const deadline = this.monotonicNow() + this.options.waitTimeoutMs;
    let watched: { etag: string; since: number } | undefined;
    let announced: string | undefined;
    const cancelled = () => new FsError("ECANCELED", "mount", { detail: "the mount was aborted while it waited for the writer lease", cause: signal?.reason });
    for (;;) {
      if (signal?.aborted) throw cancelled();
      const current = await this.read();
      if (current === undefined) {
        if (await claim(this.fresh(minimumEpoch + 1), undefined)) return take ? this.epoch : 0;
        continue;
      }
      const { document, etag } = current;
      const nextEpoch = Math.max(document.epoch, minimumEpoch) + 1;
      if (document.released || document.writer === this.options.writerId || this.options.onBusy === "takeover" || processGone(document.process)) {
        if (await claim(this.fresh(nextEpoch), etag)) return take ? this.epoch : document.epoch;
        continue;
      }
      const now = this.monotonicNow();
      if (watched === undefined || watched.etag !== etag) watched = { etag, since: now };
      if (now - watched.since >= document.ttlMs) {
        if (await claim(this.fresh(nextEpoch), etag)) return take ? this.epoch : document.epoch;
        continue;
      }
      if (this.options.onBusy === "fail" || now >= deadline) {
        throw new FsError("EBUSY", "mount", {
          detail: `writer ${describeHolder(document)} holds the writer lease (epoch ${document.epoch}, TTL ${document.ttlMs} ms)${this.options.onBusy === "wait" ? "; waited too long" : ""}`,
        });
      }
      if (announced !== document.writer) {
        announced = document.writer;
        const wall = Date.now();
        const expiresBy = new Date(wall + Math.max(0, watched.since + document.ttlMs - now));
        const giveUpAt = new Date(wall + Math.max(0, deadline - now));
        this.options.onWait?.({
          writer: document.writer,
          epoch: document.epoch,
          ...(document.process === undefined ? {} : { host: document.process.host, pid: document.process.pid }),
          expiresBy,
          giveUpAt,
          message: `waiting for the writer lease held by ${describeHolder(document)}: until it is released, or left unrenewed until ${expiresBy.toISOString()} at the earliest (a renewal moves that on); giving up at ${giveUpAt.toISOString()}`,
        });
      }
      if (signal?.aborted) throw cancelled(); // onWait may have aborted it
      await this.sleep(Math.min(Math.max(50, document.ttlMs / 4), 1_000, Math.max(1, deadline - now)), signal).catch((error: unknown) => {
        throw signal?.aborted ? cancelled() : error;
      });
    }
  }

  /** Renews every TTL/3 in the background until released or lost. */
  startRenewing(): void {
    if (this.timer !== undefined) return;
    this.timer = setInterval(() => {
      this.renewing ??= this.renew().finally(() => (this.renewing = undefined));
    }, Math.max(10, this.options.ttlMs / 3));
    this.timer.unref?.();
  }

  async renew(): Promise<void> {
    if (this.document === undefined || this.lost) return;
    const next: LeaseDocument = { ...this.document, nonce: randomUUID(), renewed: new Date().toISOString() };
    try {
      await this.write(next, this.etag, true);
    } catch (error) {
      if (!(error instanceof PreconditionFailedError)) return; // transient: try again next tick
      const current = await this.read().catch(() => undefined);
      this.markLost(current?.document);
    }
  }

  /** Gives the lease up so the next writer need not wait for it to expire. */
  async release(): Promise<void> {
    this.stop();
    await this.renewing;
    await this.writing; // an acquisition on its way: release what it takes
    if (this.document === undefined || this.lost) {
      heldLeases.delete(this);
      return;
    }
    const released: LeaseDocument = { ...this.document, released: true, nonce: randomUUID(), renewed: new Date().toISOString() };
    await this.write(released, this.etag, true).catch(() => {});
    this.document = undefined;
    heldLeases.delete(this);
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  private markLost(holder: LeaseDocument | undefined): void {
    if (this.lost) return;
    this.lost = true;
    heldLeases.delete(this);
    this.stop();
    this.options.onLost(holder);
  }

  private fresh(epoch: number): LeaseDocument {
    const now = new Date().toISOString();
    return { writer: this.options.writerId, epoch, ttlMs: this.options.ttlMs, nonce: randomUUID(), released: false, acquired: now, renewed: now, process: thisProcess() };
  }

  private read(): Promise<{ document: LeaseDocument; etag: string } | undefined> {
    return readDocument(this.store, leaseKey, leaseDocument);
  }

  /** Conditional write; false if someone else got there first (unless `strict`, then it throws). */
  private async write(document: LeaseDocument, etag: string | undefined, strict = false): Promise<boolean> {
    // Counted as held from before the request: a release racing with it (a signal handler) waits
    // for it to settle, and then releases what it took.
    if (!document.released) holdLease(this);
    const attempt = writeDocument(this.store, leaseKey, leaseDocument, document, replacing(etag));
    this.writing = attempt.then(
      () => undefined,
      () => undefined,
    );
    try {
      this.etag = await attempt;
      this.document = document;
      if (document.released) heldLeases.delete(this);
      return true;
    } catch (error) {
      if (this.document === undefined || this.document.released) heldLeases.delete(this);
      if (error instanceof PreconditionFailedError && !strict) return false;
      throw error;
    }
  }
}

/** Leases this process holds now. */
const heldLeases = new Set<WriterLease>();
let releasingBeforeExit = false;

function holdLease(lease: WriterLease): void {
  heldLeases.add(lease);
  if (releasingBeforeExit) return;
  releasingBeforeExit = true;
  // A script that ends without close() (its event loop empty: nothing left to publish) gives its
  // leases back before it exits, so the next writer, wherever it runs, need not wait for the TTL.
  process.on("beforeExit", () => {
    if (heldLeases.size > 0) void releaseHeldLeases();
  });
}

/**
 * Releases every writer lease this process holds, at once (for a signal handler about to exit):
 * the next writer takes over without waiting for a TTL. A mount whose lease is released this way
 * must not go on writing: its next commit is fenced once another writer takes over.
 */
export async function releaseHeldLeases(): Promise<void> {
  await Promise.allSettled([...heldLeases].map((lease) => lease.release()));
}

let ownIdentity: ProcessIdentity | undefined;

/** This process, as its leases name it. */
export function thisProcess(): ProcessIdentity {
  if (ownIdentity !== undefined) return ownIdentity;
  const bootId = readProc(() => readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim());
  const pidNamespace = readProc(() => readlinkSync("/proc/self/ns/pid"));
  const startTime = processStat(process.pid)?.startTime;
  ownIdentity = {
    host: hostname(),
    pid: process.pid,
    ...(bootId === undefined ? {} : { bootId }),
    ...(pidNamespace === undefined ? {} : { pidNamespace }),
    ...(startTime === undefined ? {} : { startTime }),
  };
  return ownIdentity;
}

/**
 * Whether the process `holder` names is certainly gone: it ran on this host, since this boot, in
 * this pid namespace, and no process with its pid and start time exists. Anything less certain
 * (another host or container, no /proc to look in) is "not gone": the caller then waits for the TTL.
 */
export function processGone(holder: ProcessIdentity | undefined): boolean {
  if (typeof holder !== "object" || holder === null || !Number.isSafeInteger(holder.pid) || holder.pid <= 0) return false; // the lease is read from the store: trust no shape
  const self = thisProcess();
  if (holder.host !== self.host || self.bootId === undefined || holder.bootId !== self.bootId) return false;
  if (self.pidNamespace === undefined || holder.pidNamespace !== self.pidNamespace) return false;
  try {
    process.kill(holder.pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ESRCH") return true;
    if ((error as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  // A process has that pid: the holder only if it started when the holder did, and still runs
  // (an exited process its parent has not reaped yet is a zombie, "Z").
  const found = processStat(holder.pid);
  if (found === undefined) return false;
  if (holder.startTime !== undefined && found.startTime !== holder.startTime) return true;
  return found.state === "Z" || found.state === "X"; // whichever process it is, the holder no longer runs
}

/** The state (field 3) and start time (field 22) of /proc/<pid>/stat, after the command name, which may hold spaces. */
function processStat(pid: number): { state: string; startTime: string } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const [state, startTime] = [fields[0], fields[19]];
    return state === undefined || startTime === undefined || startTime === "" ? undefined : { state, startTime };
  } catch {
    return undefined;
  }
}

function readProc(read: () => string | undefined): string | undefined {
  try {
    const value = read();
    return value === "" ? undefined : value;
  } catch {
    return undefined;
  }
}

function describeHolder(document: LeaseDocument): string {
  const where = document.process === undefined ? "" : ` (pid ${document.process.pid} on ${document.process.host})`;
  return `${document.writer}${where}`;
}
