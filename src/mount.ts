// Mounting one filesystem: the object-store stack, format.json, the local index (reused when it
// matches, else rebuilt from the newest snapshot and the log), the writer lease and epoch record
// for a writer, and the refresh loop for a reader. Never lists the bucket. A time-travel mount
// (`atSeq`) stops at that seq and never moves; a fork reads its inherited objects from its
// ancestors' prefixes (src/maintenance/origin-store.ts).

import { randomUUID } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Database, SQLiteError } from "bun:sqlite";
import { FsError, fromStoreError } from "./errors.ts";
import { S3CachedFs, stagedWriteFiles, type FsStats, type MountContext } from "./fs.ts";
import type { ResolvedMountConfig } from "./options.ts";
import { LocalDiskFullError, LocalIndexCorruptError, Namespace, isDiskFullError, removeIndexFiles } from "./namespace/namespace.ts";
import { OpApplier } from "./namespace/apply-ops.ts";
import { loadSnapshot } from "./namespace/snapshot.ts";
import { DamagedHeadError, RemoteLog, formatVersion, headKey, type FormatDocument, type HeadDocument } from "./log/remote-log.ts";
import { snapshotKey, walKey, type LogPosition } from "./log/record.ts";
import { catchUp, indexNeedsRebuild, positionFromMeta, positionMeta } from "./commit/replay.ts";
import { Committer } from "./commit/committer.ts";
import { WriterLease } from "./commit/lease.ts";
import { DataReader } from "./data/data-reader.ts";
import { SequentialReads } from "./data/sequential-reads.ts";
import { ScanDetector } from "./data/scan-detector.ts";
import { CacheBudget, SegmentCache } from "./data/segment-cache.ts";
import { CountingStore } from "./stores/counting-store.ts";
import { RetryingStore } from "./stores/retrying-store.ts";
import type { ObjectStore } from "./stores/object-store.ts";
import { CorruptObjectError, NotFoundError } from "./stores/store-errors.ts";
import { S3ObjectStore } from "./stores/s3-object-store.ts";
import { OriginStore } from "./maintenance/origin-store.ts";
import { findLocator, normalizePrefix, type StoreLocator } from "./maintenance/located-store.ts";
import { s3StoreFromConfig } from "./store-from-config.ts";
import { retainedFrom, timeTravelBase } from "./maintenance/time-travel.ts";
import { oldestWholeState } from "./maintenance/retention.ts";
import type { MaintenanceContext } from "./maintenance/maintenance-context.ts";
import { clockKey } from "./maintenance/inventory.ts";

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
  // A fork's inherited objects are read from its ancestors (configured once format.json is read).
  const origins = new OriginStore(dependencies.rawStore);
  const locator = locateStore(dependencies.rawStore, config);
  const counting = new CountingStore(origins);
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
      format = await log.createFormat({ format: formatVersion, fsId: randomUUID(), created: new Date().toISOString(), prefix: normalizePrefix(config.prefix) });
    }
    if (format.format !== formatVersion) {
      throw new FsError("EIO", "mount", { path: store.description, detail: `${store.description} holds format ${format.format}; this version reads format ${formatVersion}` });
    }
    const ancestors = format.origins ?? {};
    if (Object.keys(ancestors).length > 0 && locator === undefined) {
      throw new FsError("EINVAL", "mount", {
        path: store.description,
        detail: `${store.description} is a fork of ${Object.values(ancestors).join(", ")}, which this mount's store cannot reach; mount by bucket and prefix, or give the manager a storeFactory returning a LocatedStore`,
      });
    }
    checkPrefix(format.prefix, config.prefix, store.description);
    origins.configure(ancestors, locator);
    // The head is a hint: a damaged one (unreadable, wrong shape or checksum) or one naming another
    // filesystem (left at a reused prefix) says nothing about this one; a writer replaces it.
    const fetchedHead = await log.readHeadOrDamage();
    const readableHead = fetchedHead instanceof DamagedHeadError ? undefined : fetchedHead;
    const head = readableHead?.head.fsId === format.fsId ? readableHead : undefined;
    namespace = openIndex(join(directory, "index.sqlite"));
    const applier = new OpApplier(namespace);
    const created = Date.parse(format.created) || 0;
    const atSeq = config.atSeq;
    let position: LogPosition;
    let start: MountStart | undefined;
    if (atSeq !== undefined) {
      position = await openAtSeq(namespace, applier, log, cache, format.fsId, created, timeTravelBase(head?.head, format, atSeq), atSeq);
    } else {
      const open = (rebuild: boolean) =>
        startIndex({ namespace: namespace!, applier, log, store, cache, format, created, head: head?.head, damagedHead: fetchedHead instanceof DamagedHeadError ? fetchedHead : undefined, rebuild, readonly: config.mode === "readonly" });
      try {
        start = await open(false);
      } catch (error) {
        if (!indexNeedsRebuild(error)) throw error;
        namespace.recreate(); // the index is damaged or disagrees with the log: rebuild it
        start = await open(true);
      }
      position = start.position;
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
        onWait: config.onWriterWait,
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
      }, { position, head: fetchedHead === undefined && start?.document === undefined ? undefined : { etag: fetchedHead?.etag, document: start?.document ?? head?.head } });
      // The epoch record: from here on, a writer of an older epoch cannot publish.
      await committer.submit((batch) => ({ op: "epoch", epoch, writer: writerId, time: batch.time }));
      lease.startRenewing();
    }

    const mounted = namespace;
    let headEtag = fetchedHead?.etag;
    let knownSeq = Math.max(head?.head.seq ?? 0, start?.knownSeq ?? 0);
    let headSnapshot = start?.document?.snapshot ?? head?.head.snapshot ?? 0;
    let readerPosition = position;
    let refreshing: Promise<{ seq: number; changed: boolean }> | undefined;
    /** A reader's index found damaged (or disagreeing with the log) is replaced and filled again from the newest snapshot and the log. */
    const rebuildReaderIndex = async () => {
      mounted.recreate();
      readerPosition = await prepareIndex(mounted, log, readerPosition.fsId, headSnapshot, true, created, "replay");
      readerPosition = (await catchUp(log, mounted, applier, readerPosition, cache)).position;
    };
    const refresh = async (): Promise<{ seq: number; changed: boolean }> => {
      if (committer !== undefined) return { seq: committer.current.seq, changed: false };
      if (atSeq !== undefined) return { seq: atSeq, changed: false }; // time travel stays where it is
      refreshing ??= (async () => {
        try {
          // The head and the next log slot are read at once: an idle refresh is two requests in
          // one round trip, and a reader learns of a new commit one round trip after it lands.
          if (mounted.damaged !== undefined) await rebuildReaderIndex(); // found damaged by a read: rebuilt from the log now
          const before = readerPosition.seq;
          const [changedHead, next] = await Promise.all([log.readHeadIfChanged(headEtag), log.readRecord(before + 1)]);
          if (changedHead !== undefined && changedHead !== "unchanged" && changedHead.head.fsId === format.fsId) {
            headEtag = changedHead.etag;
            headSnapshot = Math.max(headSnapshot, changedHead.head.snapshot);
            knownSeq = Math.max(knownSeq, changedHead.head.seq);
          }
          if (next !== undefined || knownSeq > before) {
            // What the head announced, plus a little: a reader behind a busy writer still returns.
            try {
              readerPosition = (await catchUp(log, mounted, applier, readerPosition, cache, next, knownSeq, Math.max(0, knownSeq - before) + 256)).position;
            } catch (error) {
              if (!indexNeedsRebuild(error)) throw error;
              await rebuildReaderIndex();
            }
          }
          if (readerPosition.seq < headSnapshot) {
            // Following the log stopped short of the head's snapshot: the log after our position
            // was collected (perhaps all but a record kept for its data). Start again from the snapshot.
            readerPosition = await prepareIndex(mounted, log, readerPosition.fsId, headSnapshot, true, created, "replay");
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
    if (committer === undefined && atSeq === undefined && config.refreshIntervalMs !== undefined) {
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
      // Two chunks ahead of a piecewise reader: two 8 MiB ranged GETs in flight by default.
      sequentialReads: new SequentialReads(2 * config.layout.chunkBytes),
      readConcurrency: config.readConcurrency,
      now: dependencies.now,
    };
    const heldLease = lease;
    /** The index's counts as it closed: stats() still answers on a closed mount, from them. */
    let filesAtClose: ReturnType<typeof mounted.committed.counts> | undefined;
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
      files: filesAtClose ?? mounted.committed.counts(),
    });
    const close = async () => {
      if (timer !== undefined) clearInterval(timer);
      try {
        await committer?.close({ snapshot: true });
        await heldLease?.release();
      } finally {
        await refreshing?.catch(() => {});
        await reader.close(); // background prefetches, and the cache writes they start
        await cache.close();
        try {
          filesAtClose = mounted.committed.counts();
        } catch {
          // a damaged index: stats() after close reports it as it would before
        }
        mounted.close();
        await store.close();
        clearStaging(stagingDirectory, stagedWriteFiles(context));
        releaseDirectory();
        dependencies.onClosed();
      }
    };
    const maintenance: MaintenanceContext = {
      name,
      mode: config.mode,
      store,
      log,
      namespace: mounted,
      reader,
      layout: config.layout,
      committer,
      format,
      locator,
      atSeq,
      position: () => committer?.current ?? readerPosition,
      now: dependencies.now,
    };
    return new S3CachedFs(context, { refresh, close, stats, maintenance });
  } catch (error) {
    lease?.stop();
    await lease?.release().catch(() => {});
    namespace?.close();
    await cache.close();
    await store.close().catch(() => {});
    releaseDirectory();
    throw fromStoreError(error, "mount", store.description);
  }
}

/**
 * Refuses a mount whose configured prefix is not the one the filesystem was created at: its store
 * ignores the prefix (a bucket-rooted store from a storeFactory), so this "other" filesystem would
 * be the recorded one, its files and its writer lease shared. Nothing is read or written after it.
 * An empty prefix on either side names no place: a storeFactory may root its store at the
 * filesystem itself and mount it with no prefix, and the same filesystem is then mounted by bucket
 * and prefix (the command line does so); both reach the same objects, so neither is refused.
 */
function checkPrefix(recorded: string | undefined, configured: string, where: string): void {
  if (recorded === undefined) return; // format.json from before the field: nothing to check against
  const wanted = normalizePrefix(configured);
  if (recorded === wanted || recorded === "" || wanted === "") return;
  throw new FsError("EINVAL", "mount", {
    path: where,
    detail: `the mount config's prefix is ${JSON.stringify(wanted)}, but the filesystem its store reaches was created at prefix ${JSON.stringify(recorded)}: the store ignores the prefix, and it must honour config.prefix (a storeFactory returns a store rooted at config.prefix)`,
  });
}

/** Removes the staging directory, but keeps the files of write handles still open (and it, if any). */
function clearStaging(directory: string, keep: ReadonlySet<string>): void {
  if (keep.size === 0) {
    rmSync(directory, { recursive: true, force: true });
    return;
  }
  let names: string[];
  try {
    names = readdirSync(directory);
  } catch {
    return; // already gone
  }
  for (const name of names) {
    const file = join(directory, name);
    if (!keep.has(file)) rmSync(file, { recursive: true, force: true });
  }
}

/**
 * The local index in `file`, checked whole (Namespace.verify) before it is trusted, unless it is
 * byte for byte what the last clean close left (Namespace.closedCleanly). A damaged or
 * unreadable index is only a cache: it is replaced by an empty one, which the mount then fills
 * from the snapshot and the log.
 */
function openIndex(file: string): Namespace {
  let namespace: Namespace | undefined;
  try {
    namespace = new Namespace(file);
    if (!namespace.closedCleanly) namespace.verify(); // a crash, or damage since: check it whole
    return namespace;
  } catch (error) {
    namespace?.close();
    if (isDiskFullError(error)) throw new LocalDiskFullError("mount", { cause: error });
    if (!(error instanceof LocalIndexCorruptError) && !(error instanceof SQLiteError)) throw error;
    removeIndexFiles(file);
    try {
      return new Namespace(file);
    } catch (again) {
      throw isDiskFullError(again) ? new LocalDiskFullError("mount", { cause: again }) : again;
    }
  }
}

/** Where a mount started, and, when the head could not say, what a writer's head should say instead. */
interface MountStart {
  position: LogPosition;
  /** The newest seq known to exist (the head's, or the listing's when the head was no help). */
  knownSeq: number;
  /** The head a writer starts from when the mount did not start where the head said. */
  document: HeadDocument | undefined;
}

/**
 * Brings the index to the newest state it can reach, from the best starting point that works:
 * the head's snapshot, else an older one the head lists, else the log's start (where it is still
 * there). When the head is damaged, names another filesystem, or none of its starting points
 * works, the snapshots and records are listed (a recovery path, never a routine one: M6) and each
 * snapshot is tried, newest first. A starting point works when it loads whole and the log after
 * it reaches every seq known to exist: a damaged snapshot, or one whose log was collected, is
 * passed over. If none works, the mount fails naming every object that stood in the way; it never
 * starts afresh over a filesystem whose log's start was collected.
 */
async function startIndex(options: {
  namespace: Namespace;
  applier: OpApplier;
  log: RemoteLog;
  store: ObjectStore;
  cache: SegmentCache;
  format: FormatDocument;
  created: number;
  head: HeadDocument | undefined;
  damagedHead: DamagedHeadError | undefined;
  rebuild: boolean;
  readonly: boolean;
}): Promise<MountStart> {
  const { namespace, applier, log, cache, format, head } = options;
  const fsId = format.fsId;
  const forkPoint = format.forkedFrom?.seq ?? 0;
  const problems: { key: string; detail: string }[] = options.damagedHead === undefined ? [] : [{ key: headKey, detail: options.damagedHead.problem }];
  const failed = new Set<number>();
  const tried = new Set<number>();
  let known = head?.seq ?? 0;
  let reuseLocal = !options.rebuild;
  let listing: { records: Set<number>; snapshots: number[] } | undefined;

  const attempt = async (seq: number): Promise<LogPosition | undefined> => {
    tried.add(seq);
    const local = positionFromMeta(namespace);
    const fromLocal = reuseLocal && local !== undefined && local.fsId === fsId && local.seq >= seq;
    let position: LogPosition;
    if (fromLocal) position = local!;
    else {
      try {
        position = await prepareIndex(namespace, log, fsId, seq, true, options.created, "throw");
      } catch (error) {
        if (!(error instanceof NotFoundError || error instanceof CorruptObjectError)) throw error;
        failed.add(seq);
        problems.push({ key: snapshotKey(seq), detail: error instanceof NotFoundError ? "it is missing" : error.message });
        return undefined;
      }
    }
    const limit = options.readonly ? Math.max(0, known - position.seq) + 256 : undefined;
    position = (await catchUp(log, namespace, applier, position, cache, undefined, known, limit)).position;
    const reached = Math.max(known, newest(failed));
    if (position.seq < reached) {
      if (fromLocal) reuseLocal = false;
      problems.push({
        key: walKey(position.seq + 1),
        detail: `it is missing, so ${seq === 0 ? "the log's start" : fromLocal ? `the local index (at seq ${local!.seq})` : snapshotKey(seq)} cannot reach seq ${reached}`,
      });
      return undefined;
    }
    if (position.seq === 0 && seq === 0 && listing === undefined && (await collectedBefore(options.store))) {
      // No first record, yet garbage collection has run here: the log's start was collected and
      // nothing said where it now begins. Never start afresh over it: look for its snapshots.
      problems.push({ key: walKey(1), detail: `it is missing, but garbage was collected here (${clockKey} exists): the log's start was collected` });
      return undefined;
    }
    return position;
  };

  const done = (position: LogPosition, seq: number): MountStart => {
    if (listing === undefined && failed.size === 0) return { position, knownSeq: known, document: undefined };
    // The head did not say where to start: what a writer's head should say instead.
    const snapshot = tried.has(seq) && !failed.has(seq) ? seq : 0;
    const good = (listing?.snapshots ?? head?.snapshots ?? []).filter((listed) => !failed.has(listed) && listed <= position.seq);
    const retainedFrom =
      head !== undefined && listing === undefined
        ? (head.retainedFrom ?? 0)
        : listing === undefined
          ? snapshot
          : (oldestWholeState(listing.records, good, Math.max(position.seq, newest(listing.records)), forkPoint) ?? snapshot);
    const snapshots = [...new Set([...good.filter((listed) => listed >= retainedFrom), ...(snapshot > 0 ? [snapshot] : [])])].sort((a, b) => a - b);
    const document: HeadDocument = {
      format: formatVersion,
      fsId,
      seq: position.seq,
      snapshot: newest(snapshots),
      snapshots,
      retainedFrom: Math.min(retainedFrom, snapshot === 0 ? retainedFrom : snapshot),
      epoch: Math.max(position.epoch, head?.epoch ?? 0),
      writer: head?.writer ?? "",
      nonce: head?.nonce ?? "",
      updated: head?.updated ?? "",
    };
    return { position, knownSeq: known, document };
  };

  // The head's starting points: its snapshot, the older ones it lists, then the log's start.
  if (options.damagedHead === undefined) {
    const retained = retainedFrom(head, format);
    const listed = head === undefined ? [] : [head.snapshot, ...(head.snapshots ?? [])].filter((seq) => seq > 0 && seq >= retained);
    const points = [...new Set(listed)].sort((a, b) => b - a);
    if (retained === 0 && forkPoint === 0) points.push(0);
    for (const seq of points) {
      const position = await attempt(seq);
      if (position !== undefined) return done(position, seq);
    }
  }
  // None: list what the store holds, and try every snapshot, newest first, then the log's start.
  listing = { records: await log.listRecords(), snapshots: await log.listSnapshots() };
  // Every listed record and snapshot is a state that existed: starting points must reach it.
  known = Math.max(known, newest(listing.records), newest(listing.snapshots));
  for (const seq of [...listing.snapshots.filter((listed) => listed >= forkPoint && listed > 0).reverse(), ...(forkPoint === 0 ? [0] : [])]) {
    if (failed.has(seq)) continue;
    const position = await attempt(seq);
    if (position !== undefined) return done(position, seq);
  }
  const [first] = problems.filter((problem) => problem.key !== headKey).concat(problems);
  throw new CorruptObjectError(
    `no state to start from: ${problems.map((problem) => `${problem.key}: ${problem.detail}`).join("; ")}${known > 0 ? ` (the filesystem reached seq ${known})` : ""}; run fsck, and restore the damaged object if you can`,
    { operation: "get", key: first?.key },
  );
}

/** The largest seq among `seqs`, 0 for none. */
function newest(seqs: Iterable<number>): number {
  let found = 0;
  for (const seq of seqs) if (seq > found) found = seq;
  return found;
}

/**
 * Makes the index ready to follow the log: kept as it is if it belongs to this filesystem and is
 * not behind `snapshot` (the newest the head names); otherwise emptied and loaded from that
 * snapshot, or left empty at seq 0 if there is none. A missing snapshot means replaying the log
 * from its start (the head is only a hint), or, for time travel, that the seq is gone.
 * Returns the position the index stands at.
 */
async function prepareIndex(
  namespace: Namespace,
  log: RemoteLog,
  fsId: string,
  snapshot: number,
  rebuild: boolean,
  created: number,
  missing: "replay" | "fail" | "throw",
): Promise<LogPosition> {
  const local = positionFromMeta(namespace);
  if (!rebuild && local !== undefined && local.fsId === fsId && local.seq >= snapshot) return local;
  namespace.beginBatch();
  try {
    let position: LogPosition = { fsId, seq: 0, hash: "", epoch: 0 };
    const bytes = snapshot > 0 ? await log.readSnapshot(snapshot).catch((error: unknown) => {
      if (!(error instanceof NotFoundError) || missing === "throw") throw error;
      if (missing === "fail") throw new FsError("ENOENT", "mount", { detail: `${snapshotKey(snapshot)} is gone: that part of the history is no longer retained` });
      return undefined; // the head is only a hint: replay the log from its start instead
    }) : undefined;
    if (bytes !== undefined) position = loadSnapshot(namespace, snapshotKey(snapshot), bytes);
    else namespace.clear(created); // the root was born with the filesystem (format.json), on every mount alike
    if (position.fsId !== fsId) throw new CorruptObjectError(`snapshot ${snapshot} belongs to filesystem ${position.fsId}, not ${fsId}`, { operation: "get", key: snapshotKey(snapshot) });
    namespace.commitBatch(positionMeta(position));
    return position;
  } catch (error) {
    namespace.rollbackBatch();
    throw error;
  }
}

/**
 * The index at exactly `atSeq`: reused if it stands between the base snapshot and `atSeq`, else
 * loaded from the base snapshot; then the log is replayed up to `atSeq` and no further.
 */
async function openAtSeq(
  namespace: Namespace,
  applier: OpApplier,
  log: RemoteLog,
  cache: SegmentCache,
  fsId: string,
  created: number,
  base: number,
  atSeq: number,
): Promise<LogPosition> {
  const local = positionFromMeta(namespace);
  const reusable = local !== undefined && local.fsId === fsId && local.seq >= base && local.seq <= atSeq;
  let position = await prepareIndex(namespace, log, fsId, base, !reusable, created, "fail");
  try {
    position = (await catchUp(log, namespace, applier, position, cache, undefined, atSeq, atSeq - position.seq)).position;
  } catch (error) {
    if (!indexNeedsRebuild(error) || !reusable) throw error;
    namespace.recreate();
    position = await prepareIndex(namespace, log, fsId, base, true, created, "fail");
    position = (await catchUp(log, namespace, applier, position, cache, undefined, atSeq, atSeq - position.seq)).position;
  }
  if (position.seq !== atSeq) {
    throw new FsError("ENOENT", "mount", { detail: `seq ${atSeq} is not in the log: record ${position.seq + 1} does not exist (the log ends at ${position.seq}, or that part of it is no longer retained)` });
  }
  return position;
}

/** Whether garbage collection ever ran on this filesystem (its clock object exists). */
async function collectedBefore(store: ObjectStore): Promise<boolean> {
  try {
    await store.head(clockKey);
    return true;
  } catch (error) {
    if (error instanceof NotFoundError) return false;
    throw error;
  }
}

/**
 * Where the mount's store lives, for forks: a LocatedStore among its decorators, or, for the
 * manager's own S3 store (a mount by bucket and prefix), a new S3 store per prefix.
 */
function locateStore(rawStore: ObjectStore, config: ResolvedMountConfig): StoreLocator | undefined {
  const found = findLocator(rawStore);
  if (found !== undefined) return found;
  if (!(rawStore instanceof S3ObjectStore) || config.bucket === undefined || rawStore.bucket !== config.bucket) return undefined;
  return { prefix: normalizePrefix(config.prefix), storeAt: (prefix) => s3StoreFromConfig(config, prefix) };
}

/**
 * One mount per cache directory, across processes. The lock is an exclusive SQLite transaction
 * held on `mount.lock.sqlite` for the mount's lifetime: taking it is one atomic step (two
 * processes can never both hold it), and the operating system lets go of it when the holder's
 * process ends, however it ends, so a dead holder never blocks the next mount. The file itself
 * stays (removing it could let a process that opened it just before lock a file nobody else
 * sees); `mount.holder` names the holder's pid, for the message of a mount that finds it busy.
 */
export function holdDirectory(directory: string, name: string): () => void {
  if (heldDirectories.has(directory)) {
    throw new FsError("EBUSY", "mount", { path: name, detail: `mount ${JSON.stringify(name)} is already open in this process under the same cacheRoot` });
  }
  const holderFile = join(directory, "mount.holder");
  const busy = (pid: number | undefined) =>
    new FsError("EBUSY", "mount", {
      path: name,
      // The mount's name and the option, never the host path (errors carry virtual names only).
      detail: `the mount's cache directory under cacheRoot is in use by ${pid === undefined ? "another process" : `process ${pid}`}; give each process its own cacheRoot or mount name`,
    });
  // An earlier version's lock: a file naming its holder's pid. Its holder, if alive, still counts.
  const legacyFile = join(directory, "mount.lock");
  const legacyPid = existsSync(legacyFile) ? Number(readFileSync(legacyFile, "utf8").trim()) : undefined;
  if (legacyPid !== undefined && Number.isInteger(legacyPid) && legacyPid !== process.pid && processAlive(legacyPid)) throw busy(legacyPid);
  let lock: Database | undefined;
  const lockFile = join(directory, "mount.lock.sqlite");
  const takeLock = (): Database => {
    const database = new Database(lockFile, { create: true });
    try {
      // Two processes trying at once both take SQLite's shared lock on the way to the exclusive one;
      // without a short wait each would see the other and both would give up.
      database.exec("PRAGMA busy_timeout = 100");
      database.exec("BEGIN EXCLUSIVE");
      return database;
    } catch (error) {
      database.close();
      throw error;
    }
  };
  try {
    try {
      lock = takeLock();
    } catch (error) {
      if (!(error instanceof SQLiteError && (error.code === "SQLITE_NOTADB" || String(error.code).startsWith("SQLITE_CORRUPT")))) throw error;
      // The lock file holds no data, and SQLite found it no database (damaged, or swapped with its
      // journal): nobody holds it (a holder would have made this BUSY). It is emptied in place, never
      // replaced, so whoever races for it still locks the same file.
      truncateSync(lockFile, 0);
      lock = takeLock();
    }
  } catch (error) {
    lock?.close();
    if (error instanceof SQLiteError && (error.code === "SQLITE_BUSY" || error.code === "SQLITE_LOCKED")) {
      let pid: number | undefined;
      try {
        pid = Number(readFileSync(holderFile, "utf8").trim());
      } catch {
        // the holder is still writing its name, or just let go
      }
      throw busy(pid !== undefined && Number.isInteger(pid) && pid > 0 ? pid : undefined);
    }
    if (isDiskFullError(error)) throw new LocalDiskFullError("mount", { cause: error });
    // The message of an error of the host names the host path: say what failed, and its code.
    throw new FsError("EIO", "mount", { path: name, detail: `cannot lock the mount's cache directory (${(error as { code?: string }).code ?? (error as Error).message})`, cause: error });
  }
  const held = lock;
  try {
    writeFileSync(holderFile, String(process.pid));
  } catch (error) {
    held.close(); // a mount that fails lets go of the lock it took
    if (isDiskFullError(error)) throw new LocalDiskFullError("mount", { cause: error });
    throw new FsError("EIO", "mount", { path: name, detail: `cannot name the holder of the mount's cache directory (${(error as { code?: string }).code ?? "unknown"})`, cause: error });
  }
  if (legacyPid !== undefined) rmSync(legacyFile, { force: true });
  heldDirectories.add(directory);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    heldDirectories.delete(directory);
    rmSync(holderFile, { force: true });
    held.close(); // ends the transaction, and with it the lock
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
