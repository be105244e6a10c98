// Forking a filesystem into a new prefix without copying its bytes (docs/s3-layout.md F1-F4).
//
// The fork starts from a snapshot of the source's namespace at seq P in which every object the
// source owns is renamed `origin/<source fsId>/<key>` (names already inherited stay as they are);
// its format.json maps each ancestor's fsId to its prefix, and its log continues at P + 1 under its
// own fsId. Reads of inherited names go to the ancestor's prefix (origin-store.ts); writes,
// deletes and garbage collection never touch another filesystem's objects.
//
// The source must keep what the fork inherited: the fork registers itself in the source as
// `forks/<fork fsId>.json` naming P, and the source keeps snapshot P and everything it names for
// as long as the registration stands (GC7). A registration is written before the fork exists
// and checked against the source's retention after, so a concurrent collection either sees it or
// makes the fork fail (F3).

import { randomUUID } from "node:crypto";
import { FsError, fromStoreError } from "../base/errors.ts";
import { forkRegistrationKey, originKey, parseOriginKey, snapshotKey } from "../log/keys.ts";
import { recordFormat } from "../log/record.ts";
import { RemoteLog, formatVersion, type FormatDocument } from "../log/remote-log.ts";
import { encodeSnapshot } from "../namespace/snapshot.ts";
import type { ObjectStore } from "../stores/object-store.ts";
import { RetryingStore } from "../stores/retrying-store.ts";
import { NotFoundError, PreconditionFailedError } from "../stores/store-errors.ts";
import { readDocument, writeDocument, type DocumentKind } from "../log/document.ts";
import { z } from "zod";
import { normalizePrefix } from "../stores/located-store.ts";
import { committedPosition } from "../namespace/position.ts";
import type { MaintenanceContext } from "./maintenance-context.ts";

export interface ForkRegistration {
  /** The fork's fsId. */
  fsId: string;
  /** The fork's prefix in the bucket. */
  prefix: string;
  /** The source's seq the fork started from: the source keeps this state's objects. */
  seq: number;
  created: string;
}

export interface ForkOptions {
  /** The new filesystem's prefix in the same bucket; nothing may live there yet. */
  prefix: string;
}

export interface ForkResult {
  fsId: string;
  prefix: string;
  /** The seq the fork starts from (its first own record is seq + 1). */
  seq: number;
  parent: { fsId: string; prefix: string };
  files: number;
}

/** `forks/<fsId>.json`: create-only, never changed (F2). */
const forkRegistrationDocument: DocumentKind<ForkRegistration> = {
  schema: z.looseObject({ fsId: z.string(), prefix: z.string(), seq: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER), created: z.string() }),
};

/** The registration at `key` (a listed one); NotFoundError if it is gone, DamagedDocumentError if it cannot be used. */
export async function readForkRegistration(store: ObjectStore, key: string): Promise<ForkRegistration> {
  const read = await readDocument(store, key, forkRegistrationDocument);
  if (read === undefined) throw new NotFoundError(`${key}: the fork registration is gone`, { operation: "get", key });
  return read.document;
}

/** Whether one prefix lies inside the other (so one filesystem's listing would show the other's keys). */
function nested(a: string, b: string): boolean {
  return a === b || a === "" || b === "" || a.startsWith(`${b}/`) || b.startsWith(`${a}/`);
}

export async function forkFilesystem(context: MaintenanceContext, options: ForkOptions): Promise<ForkResult> {
  const locator = context.locator;
  if (locator === undefined) {
    throw new FsError("EINVAL", "fork", {
      detail: "this mount's store cannot open other prefixes; mount by bucket and prefix, or give the manager a storeFactory that returns an S3ObjectStore (alone or inside decorators) or a LocatedStore",
    });
  }
  if (typeof options?.prefix !== "string") throw new FsError("EINVAL", "fork", { detail: "give the fork's prefix" });
  const source = locator.prefix;
  const target = normalizePrefix(options.prefix);
  for (const taken of [source, ...Object.values(context.format.origins ?? {})]) {
    if (nested(target, taken)) {
      throw new FsError("EINVAL", "fork", { path: target, detail: `the fork's prefix ${JSON.stringify(target)} must lie outside ${JSON.stringify(taken)} (and neither may be the bucket's root)` });
    }
  }
  // The state to fork, encoded twice in one synchronous step (no commit can come between).
  const view = context.namespace.committed;
  const position = committedPosition(context.namespace);
  if (position === undefined || position.seq === 0) throw new FsError("EINVAL", "fork", { detail: "nothing to fork: the filesystem has no commits yet" });
  const fsId = randomUUID();
  const sourceFsId = context.format.fsId;
  const parentSnapshot = encodeSnapshot(view, position);
  // The fork's position is the source's under the fork's fsId, `voided` included: its log goes on from there.
  const forkSnapshot = encodeSnapshot(view, { ...position, fsId }, (object) =>
    parseOriginKey(object) === undefined ? originKey(sourceFsId, object) : object,
  );
  const files = view.counts().files;
  const created = new Date(context.now()).toISOString();
  const registrationKey = forkRegistrationKey(fsId);
  const targetStore = new RetryingStore(locator.storeAt(target));
  try {
    // The source keeps a snapshot at the fork point (the same bytes its writer would write).
    await context.log.writeSnapshot(position.seq, parentSnapshot, { createOnly: true }).catch((error: unknown) => {
      if (!(error instanceof PreconditionFailedError)) throw error;
    });
    const registration: ForkRegistration = { fsId, prefix: target, seq: position.seq, created };
    await writeDocument(context.store, registrationKey, forkRegistrationDocument, registration, { create: true });
    try {
      // F3: with the registration visible, the fork point must still be retained.
      const head = await context.log.readHead();
      const retainedFrom = head?.head.retainedFrom ?? 0;
      if (position.seq < retainedFrom) {
        throw new FsError("ENOENT", "fork", { detail: `seq ${position.seq} is no longer retained (the oldest seq kept is ${retainedFrom})` });
      }
      await context.store.head(snapshotKey(position.seq));
      const targetLog = new RemoteLog(targetStore);
      if ((await targetLog.readFormat()) !== undefined) {
        throw new FsError("EEXIST", "fork", { path: target, detail: `a filesystem already lives at ${JSON.stringify(target)}` });
      }
      await targetLog.writeSnapshot(position.seq, forkSnapshot);
      const staleHead = await targetLog.readHead(); // left by a fork attempt that failed before its format.json
      await targetLog.writeHead(
        {
          format: recordFormat,
          fsId,
          seq: position.seq,
          snapshot: position.seq,
          snapshots: [position.seq],
          retainedFrom: position.seq,
          epoch: position.epoch,
          writer: `fork of ${sourceFsId}`,
          nonce: randomUUID(),
          updated: created,
        },
        staleHead?.etag,
      );
      // format.json last: until it exists, nothing mounts the half-made fork.
      const format: FormatDocument = {
        format: formatVersion,
        fsId,
        created,
        prefix: target,
        origins: { ...context.format.origins, [sourceFsId]: source },
        forkedFrom: { fsId: sourceFsId, prefix: source, seq: position.seq, hash: position.hash, epoch: position.epoch },
      };
      const standing = await targetLog.createFormat(format);
      if (standing.fsId !== fsId) throw new FsError("EEXIST", "fork", { path: target, detail: `a filesystem was created at ${JSON.stringify(target)} meanwhile` });
    } catch (error) {
      await context.store.delete(registrationKey).catch(() => {});
      throw error;
    }
  } catch (error) {
    throw fromStoreError(error, "fork", target); // names the new prefix, which the boundary cannot take from the options
  } finally {
    await targetStore.close().catch(() => {});
  }
  return { fsId, prefix: target, seq: position.seq, parent: { fsId: sourceFsId, prefix: source }, files };
}
