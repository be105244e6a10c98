// One mounted filesystem: the object-store stack, the remote log, the local index, cache and
// reader, and either the writer's committer and lease or a reader's follower. `Mount.open` reads
// format.json and the head, starts the index (./mount/start.ts) and becomes the writer or a
// follower (./mount/follower.ts). Never lists the bucket. A time-travel mount (`atSeq`) stops at
// that seq and never moves; a fork reads its inherited objects from its ancestors' prefixes
// (src/stores/origin-store.ts).
//
// The facade (src/fs.ts) reaches the mount as its MountContext, and maintenance as its
// MaintenanceContext: the same object, seen through two narrow interfaces. The mount names only
// the lower one; the facade's, declared above it, is checked where the manager hands the mount
// to the facade (src/manager.ts), so nothing here refers up.

import { randomUUID } from "node:crypto";
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { FsError, fromStoreError } from "./base/errors.ts";
import { defaultLeaseTtlMs, isExclusiveWriter, type ResolvedMountConfig } from "./base/options.ts";
import type { Namespace, NamespaceView } from "./namespace/namespace.ts";
import { OpApplier } from "./namespace/apply-ops.ts";
import { DamagedHeadError, RemoteLog, formatVersion, type FormatDocument, type HeadDocument } from "./log/remote-log.ts";
import type { LogPosition } from "./log/record.ts";
import { catchUp, indexNeedsRebuild } from "./commit/replay.ts";
import { Committer } from "./commit/committer.ts";
import { WriterLease } from "./commit/lease.ts";
import { DataReader } from "./data/data-reader.ts";
import type { DataLayout } from "./data/data-writer.ts";
import { ReadPlanner } from "./data/read-planner.ts";
import { CacheBudget, SegmentCache } from "./data/segment-cache.ts";
import { CountingStore } from "./stores/counting-store.ts";
import { RetryingStore } from "./stores/retrying-store.ts";
import type { ObjectStore } from "./stores/object-store.ts";
import { OriginStore } from "./stores/origin-store.ts";
import { normalizePrefix, storeLocator, type StoreLocator } from "./stores/located-store.ts";
import { timeTravelBase } from "./maintenance/time-travel.ts";
import type { MaintenanceContext } from "./maintenance/maintenance-context.ts";
import { clearStaging, holdMountDirectory } from "./mount/directory.ts";
import { openAtSeq, openIndex, startIndex, type MountStart } from "./mount/start.ts";
import { Follower } from "./mount/follower.ts";

export { holdDirectory, mountDirectoryName } from "./mount/directory.ts";

export interface MountDependencies {
  cacheRoot: string;
  budget: CacheBudget;
  rawStore: ObjectStore;
  now: () => number;
  onClosed: () => void;
  /** Cancels the mount while it opens (between steps, and while it waits for the writer lease). */
  signal?: AbortSignal;
}

/** The head as the mount found it: what was fetched (perhaps damaged), and the document if it is this filesystem's. */
interface FoundHead {
  fetched: { head: HeadDocument; etag: string } | DamagedHeadError | undefined;
  document: HeadDocument | undefined;
}

export class Mount implements MaintenanceContext {
  readonly mode: "readwrite" | "readonly";
  readonly layout: DataLayout;
  readonly atSeq: number | undefined;
  readonly directory: string;
  readonly stagingDirectory: string;
  /** Local files of the write handles still open: close keeps them (their bytes are not yet committed). */
  readonly stagedWrites = new Set<string>();
  /** A fork's inherited objects are read from its ancestors (configured once format.json is read). */
  private readonly origins: OriginStore;
  private readonly counting: CountingStore;
  /** The mount's store: retrying, counting, and routing a fork's inherited objects. */
  readonly store: RetryingStore;
  readonly locator: StoreLocator | undefined;
  readonly log: RemoteLog;
  readonly cache: SegmentCache;
  readonly reader: DataReader;
  /** What each read fetches now and ahead (shared by the mount's readers and transactions). */
  readonly planner: ReadPlanner;
  private readonly releaseDirectory: () => void;
  // Set by the steps of `open`, before the mount is handed out.
  format!: FormatDocument;
  namespace!: Namespace;
  private applier!: OpApplier;
  /** The writer's committer; a reader has a follower instead. */
  private writer: Committer | undefined;
  private lease: WriterLease | undefined;
  private follower: Follower | undefined;
  /** The index's counts as it closed: stats() still answers on a closed mount, from them. */
  private filesAtClose: ReturnType<NamespaceView["counts"]> | undefined;

  /** Opens the filesystem `config` names: the directory and stores, then the steps below, in order. */
  static async open(name: string, config: ResolvedMountConfig, dependencies: MountDependencies): Promise<Mount> {
    const mount = new Mount(name, config, dependencies);
    const { signal } = dependencies;
    const cancelled = () => {
      if (signal?.aborted) throw new FsError("ECANCELED", "mount", { path: name, detail: "the mount was aborted while it opened", cause: signal.reason });
    };
    try {
      await mount.readFormat();
      cancelled();
      const head = await mount.readHead();
      mount.openIndex();
      const start = await mount.startIndex(head);
      cancelled();
      if (config.mode === "readwrite") await mount.becomeWriter(start, head);
      else mount.follow(start, head);
      return mount;
    } catch (error) {
      await mount.abandon();
      throw fromStoreError(error, "mount", mount.store.description); // here, where the store's name is known; the manager names only the mount
    }
  }

  private constructor(
    readonly name: string,
    private readonly config: ResolvedMountConfig,
    private readonly dependencies: MountDependencies,
  ) {
    this.mode = config.mode;
    this.layout = config.layout;
    this.atSeq = config.atSeq;
    // Only an exclusive writer insists on its own directory; a shared writer or a reader whose
    // directory another process holds takes a sibling slot (./mount/directory.ts).
    const held = holdMountDirectory(dependencies.cacheRoot, name, { slots: config.mode === "readonly" || !isExclusiveWriter(config) });
    this.directory = held.directory;
    this.releaseDirectory = held.release;
    try {
      this.origins = new OriginStore(dependencies.rawStore);
      // Where the store lives, for forks: an S3 store or a LocatedStore knows; a local directory does not.
      this.locator = storeLocator(dependencies.rawStore);
      this.counting = new CountingStore(this.origins);
      this.store = new RetryingStore(this.counting, { maxAttempts: config.maxAttempts });
      this.log = new RemoteLog(this.store);
      this.cache = new SegmentCache(join(this.directory, "cache"), config.cacheBytes, dependencies.budget);
      this.stagingDirectory = join(this.directory, "staging");
      rmSync(this.stagingDirectory, { recursive: true, force: true });
      mkdirSync(this.stagingDirectory, { recursive: true });
      this.reader = new DataReader(this.store, this.cache, {
        maxRangeBytes: config.maxRangeBytes,
        coalesceGapBytes: config.coalesceGapBytes,
        concurrency: config.readConcurrency,
      });
      const reader = this.reader;
      this.planner = new ReadPlanner(this.cache, config.layout, config.readConcurrency, config.coalesceGapBytes, (object, offset, length) => reader.fetching(object, offset, length));
    } catch (error) {
      this.releaseDirectory(); // a mount that fails lets go of its directory
      throw error;
    }
  }

  /** format.json: read (or, for the first read-write mount, created) and checked; a fork's ancestors are routed. */
  private async readFormat(): Promise<void> {
    const { config, log, store } = this;
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
    if (Object.keys(ancestors).length > 0 && this.locator === undefined) {
      throw new FsError("EINVAL", "mount", {
        path: store.description,
        detail: `${store.description} is a fork of ${Object.values(ancestors).join(", ")}, which this mount's store cannot reach; mount by bucket and prefix, or give the manager a storeFactory returning an S3ObjectStore (alone or inside decorators) or a LocatedStore`,
      });
    }
    checkPrefix(format.prefix, config.prefix, store.description);
    this.origins.configure(ancestors, this.locator);
    this.format = format;
  }

  /**
   * The head is a hint: a damaged one (unreadable, wrong shape or checksum) or one naming another
   * filesystem (left at a reused prefix) says nothing about this one; a writer replaces it.
   */
  private async readHead(): Promise<FoundHead> {
    const fetched = await this.log.readHeadOrDamage();
    const readable = fetched instanceof DamagedHeadError ? undefined : fetched;
    return { fetched, document: readable?.head.fsId === this.format.fsId ? readable.head : undefined };
  }

  /** The local index, checked before it is trusted (a damaged one is replaced by an empty one). */
  private openIndex(): void {
    this.namespace = openIndex(join(this.directory, "index.sqlite"));
    this.applier = new OpApplier(this.namespace);
  }

  /**
   * Brings the index to where the mount starts: exactly `atSeq` for time travel, else the newest
   * state it can reach (an index that is damaged or disagrees with the log is rebuilt once).
   */
  private async startIndex(head: FoundHead): Promise<MountStart> {
    const { namespace, applier, log, store, cache, format } = this;
    const created = this.created;
    if (this.atSeq !== undefined) {
      const position = await openAtSeq(namespace, applier, log, cache, format.fsId, created, timeTravelBase(head.document, format, this.atSeq), this.atSeq);
      return { position, knownSeq: head.document?.seq ?? 0, document: undefined, inherited: [], writersRead: [] };
    }
    const damagedHead = head.fetched instanceof DamagedHeadError ? head.fetched : undefined;
    const start = (rebuild: boolean) =>
      startIndex({ namespace, applier, log, store, cache, format, created, head: head.document, damagedHead, rebuild, readonly: this.mode === "readonly" });
    try {
      return await start(false);
    } catch (error) {
      if (!indexNeedsRebuild(error)) throw error;
      namespace.recreate(); // the index is damaged or disagrees with the log: rebuild it
      return await start(true);
    }
  }

  /**
   * The writer: takes the lease, starts the committer, and publishes its epoch record. A shared
   * writer (`exclusive: false`) takes no lease and writes no epoch record: it waits while an
   * exclusive writer holds a live lease (as a second exclusive writer would), then reads the log to
   * its end and writes in the epoch found there; a later exclusive writer's epoch record fences it.
   */
  private async becomeWriter(start: MountStart, head: FoundHead): Promise<void> {
    const { config } = this;
    const writerId = `${this.name}@${process.pid}:${randomUUID().slice(0, 8)}`;
    const leaseOptions = {
      writerId,
      ttlMs: config.leaseTtlMs ?? defaultLeaseTtlMs,
      onBusy: config.onWriterBusy,
      onWait: config.onWriterWait,
      waitTimeoutMs: config.leaseWaitTimeoutMs,
    };
    const exclusive = isExclusiveWriter(config);
    if (!exclusive) {
      await new WriterLease(this.store, { ...leaseOptions, onLost: () => {} }).awaitNoExclusiveWriter(this.dependencies.signal);
      // The log as it stands once no exclusive writer is live: an exclusive writer that released
      // the lease meanwhile wrote its last record before, and this writer takes its epoch from there.
      const caught = await catchUp(this.log, this.namespace, this.applier, start.position, this.cache, { snapshot: start.document?.snapshot ?? head.document?.snapshot ?? 0 });
      // Void records are log bytes too: the snapshot cadence counts them.
      const read = [...caught.records, ...caught.voided].sort((a, b) => a.header.seq - b.header.seq);
      start = {
        ...start,
        position: caught.position,
        inherited: [...start.inherited, ...read.map((record) => ({ seq: record.header.seq, bytes: record.bytes.byteLength }))],
        writersRead: [...start.writersRead, ...[...caught.records, ...caught.laneRecords.map(({ record }) => record)].map(({ header }) => header)],
      };
    }
    const lease = !exclusive ? undefined : (this.lease = new WriterLease(this.store, { ...leaseOptions, onLost: (holder) => this.committer?.fence(holder?.epoch) }));
    const epoch = lease === undefined ? start.position.epoch : await lease.acquire(Math.max(start.position.epoch, head.document?.epoch ?? 0), this.dependencies.signal);
    // The head the committer starts from: the one read, unless the mount started elsewhere.
    const startHead = head.fetched === undefined && start.document === undefined ? undefined : { etag: head.fetched?.etag, document: start.document ?? head.document };
    const committer = (this.writer = new Committer(
      this.namespace,
      this.applier,
      this.log,
      this.store,
      this.cache,
      {
        layout: config.layout,
        writerId,
        epoch,
        snapshotEveryCommits: config.snapshotEveryCommits,
        snapshotEveryBytes: config.snapshotEveryBytes,
        headDelayMs: config.headDelayMs,
        maxRecordsInFlight: config.maxRecordsInFlight,
        lanes: config.lanes,
        now: this.dependencies.now,
        shared: !exclusive,
      },
      { position: start.position, head: startHead, inherited: start.inherited },
    ));
    if (lease === undefined) {
      if (config.refreshIntervalMs === undefined) committer.catchUpWhileOthersWrite();
      else if (config.refreshIntervalMs > 0) committer.poll(config.refreshIntervalMs);
      committer.meetOthers(start.writersRead); // a workspace others are writing to: met at once
      return;
    }
    // The epoch record: from here on, a writer of an older epoch cannot publish.
    await committer.submit((batch) => ({ op: "epoch", epoch, writer: writerId, time: batch.time }));
    lease.startRenewing();
  }

  /** A reader (or a time-travel mount, pinned): follows the log from where the index started. */
  private follow(start: MountStart, head: FoundHead): void {
    const follower = (this.follower = new Follower(
      { log: this.log, namespace: this.namespace, applier: this.applier, cache: this.cache, created: this.created },
      {
        position: start.position,
        headEtag: head.fetched?.etag,
        knownSeq: Math.max(head.document?.seq ?? 0, start.knownSeq),
        headSnapshot: start.document?.snapshot ?? head.document?.snapshot ?? 0,
        pinned: this.atSeq !== undefined,
      },
    ));
    const interval = this.config.refreshIntervalMs ?? 0; // 0: never on a timer
    if (interval > 0) follower.poll(interval);
  }

  get committer(): Committer | undefined {
    return this.writer;
  }

  /** When the filesystem was created: the root's times when the index starts from the log's start. */
  private get created(): number {
    return Date.parse(this.format.created) || 0;
  }

  /** The position of the committed view. */
  position(): LogPosition {
    return this.committer?.current ?? this.follower!.current;
  }

  /** Wall clock, ms (the manager's, injectable). */
  now(): number {
    return this.dependencies.now();
  }

  /** Catches up with the writer (readers); returns the seq reached and whether anything changed. */
  refresh(): Promise<{ seq: number; changed: boolean }> {
    if (this.committer !== undefined) return this.committer.refresh();
    return this.follower!.refresh();
  }

  /** What the facade reports as its FsStats (checked against it where the manager hands the mount to the facade). */
  stats() {
    const { cache, committer } = this;
    const position = this.position();
    return {
      name: this.name,
      mode: this.mode,
      store: this.store.description,
      seq: position.seq,
      epoch: committer?.epoch ?? position.epoch,
      requests: this.counting.snapshot(),
      cache: {
        ...cache.counters,
        usedBytes: cache.usedBytes,
        pinnedBytes: cache.pinnedBytes,
        maxBytes: cache.maxBytes,
        segments: cache.segmentCount,
      },
      commits: committer === undefined ? undefined : { ...committer.stats },
      files: this.filesAtClose ?? this.namespace.committed.counts(),
    };
  }

  /** Publishes what is queued, writes a final snapshot if needed, releases the lease; then lets go of everything local. */
  async close(): Promise<void> {
    try {
      await this.committer?.close({ snapshot: true });
      await this.lease?.release();
    } finally {
      await this.follower?.stop();
      await this.reader.close(); // background prefetches, and the cache writes they start
      await this.cache.close();
      try {
        this.filesAtClose = this.namespace.committed.counts();
      } catch {
        // a damaged index: stats() after close reports it as it would before
      }
      this.namespace.close();
      await this.store.close();
      clearStaging(this.stagingDirectory, this.stagedWrites);
      this.releaseDirectory();
      this.dependencies.onClosed();
    }
  }

  /** A mount that failed to open lets go of what it took. */
  private async abandon(): Promise<void> {
    this.lease?.stop();
    await this.lease?.release().catch(() => {});
    await this.follower?.stop();
    (this.namespace as Namespace | undefined)?.close(); // absent if the mount failed before its index
    await this.cache.close();
    await this.store.close().catch(() => {});
    this.releaseDirectory();
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
