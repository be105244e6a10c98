// The writer lease (`writer/lease.json`): at most one writer at a time, each with its own epoch.
//
// Acquire: create-only if there is no lease; compare-and-swap to take over a released lease, an
// expired one, or (when asked) a live one. Expiry is judged on the taker's own monotonic clock:
// the lease object must stay unchanged (same ETag) for a full TTL while the taker watches. Wall
// clocks of two hosts are never compared. Every takeover raises the epoch; the new writer then
// writes an epoch record into the next log slot, which fences the old writer at its next commit
// (the lease alone cannot stop a paused writer; the log slot can).

import { randomUUID } from "node:crypto";
import { FsError } from "../errors.ts";
import type { ObjectStore } from "../stores/object-store.ts";
import { NotFoundError, PreconditionFailedError } from "../stores/store-errors.ts";
import { sleep as realSleep, type Sleep } from "../random.ts";

export const leaseKey = "writer/lease.json";

export interface LeaseDocument {
  writer: string;
  epoch: number;
  ttlMs: number;
  nonce: string;
  released: boolean;
  acquired: string;
  renewed: string;
}

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
  monotonicNow?: () => number;
  sleep?: Sleep;
}

const encoder = new TextEncoder();

export class WriterLease {
  private etag: string | undefined;
  private document: LeaseDocument | undefined;
  private timer: ReturnType<typeof setInterval> | undefined;
  private renewing: Promise<void> | undefined;
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

  get held(): boolean {
    return this.document !== undefined && !this.lost;
  }

  /** Takes the lease with an epoch above `minimumEpoch`; returns the epoch. */
  async acquire(minimumEpoch: number): Promise<number> {
    const deadline = this.monotonicNow() + this.options.waitTimeoutMs;
    let watched: { etag: string; since: number } | undefined;
    for (;;) {
      const current = await this.read();
      if (current === undefined) {
        if (await this.write(this.fresh(minimumEpoch + 1), undefined)) return this.epoch;
        continue;
      }
      const { document, etag } = current;
      const nextEpoch = Math.max(document.epoch, minimumEpoch) + 1;
      if (document.released || document.writer === this.options.writerId || this.options.onBusy === "takeover") {
        if (await this.write(this.fresh(nextEpoch), etag)) return this.epoch;
        continue;
      }
      const now = this.monotonicNow();
      if (watched === undefined || watched.etag !== etag) watched = { etag, since: now };
      if (now - watched.since >= document.ttlMs) {
        if (await this.write(this.fresh(nextEpoch), etag)) return this.epoch;
        continue;
      }
      if (this.options.onBusy === "fail" || now >= deadline) {
        throw new FsError("EBUSY", "mount", {
          detail: `writer ${document.writer} holds the writer lease (epoch ${document.epoch}, TTL ${document.ttlMs} ms)${this.options.onBusy === "wait" ? "; waited too long" : ""}`,
        });
      }
      await this.sleep(Math.min(Math.max(50, document.ttlMs / 4), 1_000, Math.max(1, deadline - now)));
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
    if (this.document === undefined || this.lost) return;
    const released: LeaseDocument = { ...this.document, released: true, nonce: randomUUID(), renewed: new Date().toISOString() };
    await this.write(released, this.etag, true).catch(() => {});
    this.document = undefined;
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  private markLost(holder: LeaseDocument | undefined): void {
    if (this.lost) return;
    this.lost = true;
    this.stop();
    this.options.onLost(holder);
  }

  private fresh(epoch: number): LeaseDocument {
    const now = new Date().toISOString();
    return { writer: this.options.writerId, epoch, ttlMs: this.options.ttlMs, nonce: randomUUID(), released: false, acquired: now, renewed: now };
  }

  private async read(): Promise<{ document: LeaseDocument; etag: string } | undefined> {
    try {
      const object = await this.store.get(leaseKey);
      return { document: JSON.parse(new TextDecoder().decode(object.body)) as LeaseDocument, etag: object.etag };
    } catch (error) {
      if (error instanceof NotFoundError) return undefined;
      throw error;
    }
  }

  /** Conditional write; false if someone else got there first (unless `strict`, then it throws). */
  private async write(document: LeaseDocument, etag: string | undefined, strict = false): Promise<boolean> {
    try {
      const result = await this.store.put(leaseKey, encoder.encode(JSON.stringify(document, null, 2)), {
        ...(etag === undefined ? { ifNoneMatch: "*" as const } : { ifMatch: etag }),
        contentType: "application/json",
      });
      this.etag = result.etag;
      this.document = document;
      return true;
    } catch (error) {
      if (error instanceof PreconditionFailedError && !strict) return false;
      throw error;
    }
  }
}
