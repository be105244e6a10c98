// Mounting one filesystem: the object-store stack, format.json, the local index (reused when it
// matches, else rebuilt from the newest snapshot and the log), the writer lease and epoch record
// for a writer, and the refresh loop for a reader. Never lists the bucket.

import { randomUUID } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { FsError, fromStoreError } from "./errors.ts";
import { S3CachedFs, type FsStats, type MountContext } from "./fs.ts";
import type { ResolvedMountConfig } from "./options.ts";
import { Namespace } from "./namespace/namespace.ts";
import { OpApplier } from "./namespace/apply-ops.ts";
import { loadSnapshot } from "./namespace/snapshot.ts";
import { RemoteLog, formatVersion, type HeadDocument } from "./log/remote-log.ts";
import { snapshotKey, type LogPosition } from "./log/record.ts";
import { catchUp, positionFromMeta, positionMeta } from "./commit/replay.ts";
import { Committer } from "./commit/committer.ts";
import { WriterLease } from "./commit/lease.ts";
import { DataReader } from "./data/data-reader.ts";
import { ScanDetector } from "./data/scan-detector.ts";
import { CacheBudget, SegmentCache } from "./data/segment-cache.ts";
import { CountingStore } from "./stores/counting-store.ts";
import { RetryingStore } from "./stores/retrying-store.ts";
import type { ObjectStore } from "./stores/object-store.ts";
import { CorruptObjectError, NotFoundError } from "./stores/store-errors.ts";

export interface MountDependencies {
  cacheRoot: string;
  budget: CacheBudget;
  rawStore: ObjectStore;
  now: () => number;
  onClosed: () => void;
}

/** Mount directories held by this process (another manager must not share one). */
const heldDirectories = new Set<string>();

export function mountDirectoryName(name: string): string {
  const readable = name.replace(/[^A-Za-z0-9._-]+/g, "_").replace(/^[._]+/, "").slice(0, 80) || "mount";
  return `${readable}-${(Bun.hash.xxHash32(name) >>> 0).toString(16).padStart(8, "0")}`;
}

export async function openMount(name: string, config: ResolvedMountConfig, dependencies: MountDependencies): Promise<S3CachedFs> {
  const directory = join(dependencies.cacheRoot, mountDirectoryName(name));
  mkdirSync(directory, { recursive: true });
  const releaseDirectory = holdDirectory(directory, name);
  const counting = new CountingStore(dependencies.rawStore);
  const store = new RetryingStore(counting, { maxAttempts: config.maxAttempts });
  const log = new RemoteLog(store);
  const cache = new SegmentCache(join(directory, "cache"), config.cacheBytes, dependencies.budget);
  const stagingDirectory = join(directory, "staging");
  rmSync(stagingDirectory, { recursive: true, force: true });
  mkdirSync(stagingDirectory, { recursive: true });
  let namespace: Namespace | undefined;
  let lease: WriterLease | undefined;
  try {
    let format = await log.readFormat();
    if (format === undefined) {
      if (config.mode === "readonly") {
        throw new FsError("ENOENT", "mount", { path: store.description, detail: `no filesystem at ${store.description} (format.json is missing); mount it read-write once to create it` });
      }
      format = await log.createFormat();
    }
    if (format.format !== formatVersion) {
      throw new FsError("EIO", "mount", { path: store.description, detail: `${store.description} holds format ${format.format}; this version reads format ${formatVersion}` });
    }
    const head = await log.readHead();
    namespace = openIndex(join(directory, "index.sqlite"));
    const applier = new OpApplier(namespace);
    const created = Date.parse(format.created) || 0;
    let position = await prepareIndex(namespace, log, format.fsId, head?.head, false, created);
    try {
      const knownSeq = head?.head.seq ?? 0;
      position = (await catchUp(log, namespace, applier, position, cache, undefined, knownSeq, config.mode === "readonly" ? Math.max(0, knownSeq - position.seq) + 256 : undefined)).position;
    } catch (error) {
      if (!(error instanceof CorruptObjectError) || !String(error.message).includes("local index")) throw error;
      position = await prepareIndex(namespace, log, format.fsId, head?.head, true, created); // the index disagrees with the log: rebuild it
      position = (await catchUp(log, namespace, applier, position, cache)).position;
    }

    const reader = new DataReader(store, cache, {
      maxRangeBytes: config.maxRangeBytes,
      coalesceGapBytes: config.coalesceGapBytes,
      concurrency: config.readConcurrency,
    });
    let committer: Committer | undefined;
    if (config.mode === "readwrite") {
      const writerId = `${name}@${process.pid}:${randomUUID().slice(0, 8)}`;
      lease = new WriterLease(store, {
        writerId,
        ttlMs: config.leaseTtlMs,
        onBusy: config.onWriterBusy,
        waitTimeoutMs: config.leaseWaitTimeoutMs,
        onLost: (holder) => committer?.fence(holder?.epoch),
      });
      const epoch = await lease.acquire(Math.max(position.epoch, head?.head.epoch ?? 0));
      committer = new Committer(namespace, applier, log, store, cache, {
        layout: config.layout,
        writerId,
        epoch,
        snapshotEveryCommits: config.snapshotEveryCommits,
        snapshotEveryBytes: config.snapshotEveryBytes,
        headDelayMs: config.headDelayMs,
        now: dependencies.now,
      }, { position, head: head === undefined ? undefined : { etag: head.etag, document: head.head } });
      // The epoch record: from here on, a writer of an older epoch cannot publish.
      await committer.submit((batch) => ({ op: "epoch", epoch, writer: writerId, time: batch.time }));
      lease.startRenewing();
    }

    const mounted = namespace;
    let headEtag = head?.etag;
    let knownSeq = head?.head.seq ?? 0;
    let readerPosition = position;
    let refreshing: Promise<{ seq: number; changed: boolean }> | undefined;
    const refresh = async (): Promise<{ seq: number; changed: boolean }> => {
      if (committer !== undefined) return { seq: committer.current.seq, changed: false };
      refreshing ??= (async () => {
        try {
          const changedHead = await log.readHeadIfChanged(headEtag);
          let snapshotAhead = false;
          if (changedHead !== undefined && changedHead !== "unchanged") {
            headEtag = changedHead.etag;
            snapshotAhead = changedHead.head.snapshot > readerPosition.seq;
          }
          const before = readerPosition.seq;
          knownSeq = changedHead !== undefined && changedHead !== "unchanged" ? Math.max(knownSeq, changedHead.head.seq) : knownSeq;
          // What the head announced, plus a little: a reader behind a busy writer still returns.
          const caught = await catchUp(log, mounted, applier, readerPosition, cache, undefined, knownSeq, Math.max(0, knownSeq - readerPosition.seq) + 256);
          readerPosition = caught.position;
          if (snapshotAhead && caught.records.length === 0 && changedHead !== undefined && changedHead !== "unchanged") {
            // The log after our position is gone (collected): start again from the newest snapshot.
            readerPosition = await prepareIndex(mounted, log, readerPosition.fsId, changedHead.head, true, created);
            readerPosition = (await catchUp(log, mounted, applier, readerPosition, cache)).position;
          }
          return { seq: readerPosition.seq, changed: readerPosition.seq !== before };
        } catch (error) {
          throw fromStoreError(error, "refresh");
        } finally {
          refreshing = undefined;
        }
      })();
      return refreshing;
    };

    let timer: ReturnType<typeof setInterval> | undefined;
    if (committer === undefined && config.refreshIntervalMs !== undefined) {
      timer = setInterval(() => void refresh().catch(() => {}), config.refreshIntervalMs);
      timer.unref?.();
    }

    const context: MountContext = {
      name,
      mode: config.mode,
      store,
      namespace: mounted,
      reader,
      cache,
      layout: config.layout,
      stagingDirectory,
      committer,
      scans: new ScanDetector(),
      readConcurrency: config.readConcurrency,
      now: dependencies.now,
    };
    const heldLease = lease;
    const stats = (): FsStats => ({
      name,
      mode: config.mode,
      store: store.description,
      seq: committer?.current.seq ?? readerPosition.seq,
      epoch: committer?.epoch ?? readerPosition.epoch,
      requests: counting.snapshot(),
      cache: {
        ...cache.counters,
        usedBytes: cache.usedBytes,
        pinnedBytes: cache.pinnedBytes,
        maxBytes: cache.maxBytes,
        segments: cache.segmentCount,
      },
      commits: committer === undefined ? undefined : { ...committer.stats },
      files: mounted.committed.counts(),
    });
    const close = async () => {
      if (timer !== undefined) clearInterval(timer);
      try {
        await committer?.close({ snapshot: true });
        await heldLease?.release();
      } finally {
        await refreshing?.catch(() => {});
        cache.close();
        mounted.close();
        await store.close();
        rmSync(stagingDirectory, { recursive: true, force: true });
        releaseDirectory();
        dependencies.onClosed();
      }
    };
    return new S3CachedFs(context, { refresh, close, stats });
  } catch (error) {
    lease?.stop();
    await lease?.release().catch(() => {});
    namespace?.close();
    cache.close();
    await store.close().catch(() => {});
    releaseDirectory();
    throw fromStoreError(error, "mount", store.description);
  }
}

function openIndex(file: string): Namespace {
  try {
    return new Namespace(file);
  } catch {
    // An unreadable index is only a cache: start a new one.
    for (const suffix of ["", "-wal", "-shm"]) rmSync(`${file}${suffix}`, { force: true });
    return new Namespace(file);
  }
}

/**
 * Makes the index ready to follow the log: kept as it is if it belongs to this filesystem and is
 * not behind the newest snapshot; otherwise emptied and loaded from that snapshot (or left empty
 * at seq 0 if there is none). Returns the position the index stands at.
 */
async function prepareIndex(namespace: Namespace, log: RemoteLog, fsId: string, head: HeadDocument | undefined, rebuild: boolean, created: number): Promise<LogPosition> {
  const local = positionFromMeta(namespace);
  const snapshot = head?.fsId === fsId ? head.snapshot : 0;
  if (!rebuild && local !== undefined && local.fsId === fsId && local.seq >= snapshot) return local;
  namespace.beginBatch();
  try {
    let position: LogPosition = { fsId, seq: 0, hash: "", epoch: 0 };
    const bytes = snapshot > 0 ? await log.readSnapshot(snapshot).catch((error: unknown) => {
      if (error instanceof NotFoundError) return undefined; // the head is only a hint: replay the log from its start instead
      throw error;
    }) : undefined;
    if (bytes !== undefined) position = loadSnapshot(namespace, snapshotKey(snapshot), bytes);
    else namespace.clear(created); // the root was born with the filesystem (format.json), on every mount alike
    if (position.fsId !== fsId) throw new CorruptObjectError(`snapshot ${snapshot} belongs to filesystem ${position.fsId}, not ${fsId}`, { operation: "get" });
    namespace.commitBatch(positionMeta(position));
    return position;
  } catch (error) {
    namespace.rollbackBatch();
    throw error;
  }
}

/** One mount per cache directory, across processes: a lock file naming the holder's pid. */
function holdDirectory(directory: string, name: string): () => void {
  const lockFile = join(directory, "mount.lock");
  if (heldDirectories.has(directory)) {
    throw new FsError("EBUSY", "mount", { path: name, detail: `mount ${JSON.stringify(name)} is already open in this process (${directory})` });
  }
  if (existsSync(lockFile)) {
    const pid = Number(readFileSync(lockFile, "utf8").trim());
    if (Number.isInteger(pid) && pid !== process.pid && processAlive(pid)) {
      throw new FsError("EBUSY", "mount", { path: name, detail: `the cache directory ${directory} is in use by process ${pid}; give each process its own cacheRoot or mount name` });
    }
  }
  writeFileSync(lockFile, String(process.pid));
  heldDirectories.add(directory);
  return () => {
    heldDirectories.delete(directory);
    rmSync(lockFile, { force: true });
  };
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
