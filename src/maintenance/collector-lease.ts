// The collector lease (`gc/collector.json`): with several writers, at most one garbage collection
// runs at a time. Writers never look at it: it orders collectors, not commits.
//
// Unlike the writer lease (src/commit/lease.ts), expiry is judged on the store's clock: the lease's
// lastModified against "now" as the collector measured it (GC1), the clock every grace period is
// already measured on. So a second collector answers at once (EBUSY naming the holder and when its
// lease runs out), and a collector that crashed is replaced as soon as its TTL has passed on the
// store's clock, or at once by a process on the same host that sees the holder's process is gone.
//
// Safety does not rest on this lease: every deletion is covered by the collector's own `collect`
// record (docs/s3-layout.md GC9), so two collectors that overlapped (one paused past its TTL)
// would each delete only what no record after its fence can name. The lease keeps them from
// doing the same work twice, and from compacting the same packs twice.

import { randomUUID } from "node:crypto";
import { z } from "zod";
import { FsError } from "../base/errors.ts";
import { collectorLeaseKey } from "../log/keys.ts";
import { DamagedDocumentError, parseDocument, replacing, writeDocument, type DocumentKind } from "../log/document.ts";
import type { ObjectStore } from "../stores/object-store.ts";
import { NotFoundError, PreconditionFailedError } from "../stores/store-errors.ts";
import { processGone, thisProcess, type ProcessIdentity } from "../commit/lease.ts";

/** How long a collector's lease lasts unrenewed (renewed every third of it while it runs). */
export const defaultCollectorLeaseMs = 60_000;

export interface CollectorLeaseDocument {
  collector: string;
  ttlMs: number;
  nonce: string;
  released: boolean;
  acquired: string;
  process?: ProcessIdentity;
}

const collectorLeaseDocument: DocumentKind<CollectorLeaseDocument> = {
  schema: z.looseObject({
    collector: z.string(),
    ttlMs: z.number().nonnegative(),
    nonce: z.string(),
    released: z.boolean(),
    acquired: z.string(),
  }),
};

export class CollectorLease {
  private etag: string | undefined;
  private document: CollectorLeaseDocument | undefined;
  private timer: ReturnType<typeof setInterval> | undefined;
  private renewing: Promise<void> | undefined;
  private lostTo: string | undefined;

  private constructor(
    private readonly store: ObjectStore,
    private readonly collector: string,
    private readonly ttlMs: number,
  ) {}

  /**
   * Takes the lease, or throws EBUSY naming the live holder. `storeNow` is the store's clock (ms),
   * measured just before: a lease not renewed for its TTL by then has expired.
   */
  static async acquire(store: ObjectStore, collector: string, storeNow: number, ttlMs = defaultCollectorLeaseMs): Promise<CollectorLease> {
    const lease = new CollectorLease(store, collector, ttlMs);
    for (let attempt = 0; ; attempt++) {
      let current: { document: CollectorLeaseDocument | undefined; etag: string; lastModified: number } | undefined;
      try {
        const object = await store.get(collectorLeaseKey);
        let document: CollectorLeaseDocument | undefined;
        try {
          document = parseDocument(collectorLeaseDocument, collectorLeaseKey, object.body, object.etag);
        } catch (error) {
          // A damaged lease names no holder: it is replaced (deletions never rest on the lease).
          if (!(error instanceof DamagedDocumentError)) throw error;
        }
        current = { document, etag: object.etag, lastModified: object.lastModified.getTime() };
      } catch (error) {
        if (!(error instanceof NotFoundError)) throw error;
      }
      if (current?.document !== undefined && !current.document.released && !processGone(current.document.process)) {
        const expires = current.lastModified + current.document.ttlMs;
        if (storeNow < expires) {
          const holder = current.document;
          const where = holder.process === undefined ? "" : ` (pid ${holder.process.pid} on ${holder.process.host})`;
          throw new FsError("EBUSY", "gc", {
            detail: `another garbage collection is running: ${holder.collector}${where} holds ${collectorLeaseKey} until ${new Date(expires).toISOString()} on the store's clock unless it renews it; nothing was done, run again later`,
          });
        }
      }
      try {
        await lease.write(current?.etag);
        return lease;
      } catch (error) {
        // Another collector got there between the read and the write: read again, once or twice.
        if (!(error instanceof PreconditionFailedError) || attempt >= 2) {
          if (error instanceof PreconditionFailedError) throw new FsError("EBUSY", "gc", { detail: `another garbage collection took ${collectorLeaseKey} at the same moment; nothing was done, run again later` });
          throw error;
        }
      }
    }
  }

  /** Renews every third of the TTL until released; a renewal that finds another holder marks the lease lost. */
  startRenewing(): void {
    this.timer = setInterval(() => {
      this.renewing ??= this.write(this.etag)
        .catch((error: unknown) => {
          if (error instanceof PreconditionFailedError) {
            this.lostTo = "another collector";
            this.stop();
          }
        })
        .finally(() => (this.renewing = undefined));
    }, Math.max(10, this.ttlMs / 3));
    this.timer.unref?.();
  }

  /** Throws EBUSY if another collector took the lease over (this one was paused past its TTL). */
  check(): void {
    if (this.lostTo !== undefined) {
      throw new FsError("EBUSY", "gc", { detail: `${collectorLeaseKey} was taken over by ${this.lostTo} while this garbage collection ran (it was paused past its TTL); nothing was deleted` });
    }
  }

  /** Gives the lease up, so the next collector need not wait for its TTL. */
  async release(): Promise<void> {
    this.stop();
    await this.renewing;
    if (this.lostTo !== undefined || this.document === undefined) return;
    await writeDocument(this.store, collectorLeaseKey, collectorLeaseDocument, { ...this.document, released: true, nonce: randomUUID() }, replacing(this.etag)).catch(() => {});
  }

  private stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  private async write(etag: string | undefined): Promise<void> {
    const document: CollectorLeaseDocument = {
      collector: this.collector,
      ttlMs: this.ttlMs,
      nonce: randomUUID(),
      released: false,
      acquired: this.document?.acquired ?? new Date().toISOString(),
      process: thisProcess(),
    };
    this.etag = await writeDocument(this.store, collectorLeaseKey, collectorLeaseDocument, document, replacing(etag));
    this.document = document;
  }
}
