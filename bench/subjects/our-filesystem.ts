// The subject under test: s3-bun-cached-fs mounted on the benchmark bucket, through its public API.
//
// Store stack of every benchmark mount (outermost first):
//   (the mount's own RetryingStore and CountingStore: fs.stats().requests)
//   CountingStore, recording    which objects each request touched (wal/, packs/, heads/...)
//   LatencyStore                the added round trip, from the shared LatencySwitch
//   CountingStore               store calls over the whole run (compared with the wire count)
//   S3ObjectStore               on Ceph RGW, with a client from bench/wire.ts (counted on the wire)

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CountingStore, LatencyStore, S3CachedFsManagerImpl, S3ObjectStore, type MountConfig, type ObjectStore, type RecordedRequest, type S3CachedFs } from "../../src/core.ts";
import type { S3ServerSettings } from "../../test/support/s3-server.ts";
import { ourStoreClient, WireTally, zeroTotals, type LatencySwitch, type RequestTotals } from "../wire.ts";

export interface OurMount {
  fs: S3CachedFs;
  cacheRoot: string;
  /** This mount's HTTP requests and bytes (what the tables report, as for the baselines). */
  counters(): RequestTotals;
  /** Store calls counted by the mount itself (`fs.stats().requests`). */
  storeCounters(): RequestTotals;
  /** Requests since the last `resetRecording()`, with their keys. */
  recorded(): RecordedRequest[];
  resetRecording(): void;
  close(): Promise<void>;
}

/** Our request totals, from the mount's own counters. */
export function totalsOf(fs: S3CachedFs): RequestTotals {
  const requests = fs.stats().requests;
  const totals = zeroTotals();
  totals.get = requests.get.requests;
  totals.head = requests.head.requests;
  totals.put = requests.put.requests;
  totals.list = requests.list.requests;
  totals.delete = requests.delete.requests;
  totals.total = requests.total.requests;
  totals.bytesIn = requests.total.bytesIn;
  totals.bytesOut = requests.total.bytesOut;
  return totals;
}

/** What each request was for, from the key it touched: "put wal", "get packs", "get heads"... */
export function purposes(requests: readonly RecordedRequest[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const request of requests) {
    const area = (request.key ?? "").split("/")[0]!.replace(/\.json$/, "") || "(list)";
    const name = `${request.operation} ${area}`;
    counts[name] = (counts[name] ?? 0) + 1;
  }
  return counts;
}

/** A mount as the workloads use it: the filesystem, its counters, its recorded requests. */
export function ourMount(fs: S3CachedFs, cacheRoot: string, recording: CountingStore, wire: WireTally, close: () => Promise<void>): OurMount {
  return {
    fs,
    cacheRoot,
    counters: () => wire.snapshot(),
    storeCounters: () => totalsOf(fs),
    recorded: () => [...recording.requests],
    resetRecording: () => recording.reset(),
    close,
  };
}

export class OurFilesystem {
  /** Every request of every benchmark mount, counted at the HTTP layer. */
  readonly wire = new WireTally();
  /** Every store call that reached an S3ObjectStore, one counter per store (never reset). */
  private readonly storeCounters: CountingStore[] = [];
  private readonly temporaryRoot: string;

  constructor(
    private readonly server: S3ServerSettings,
    private readonly bucket: string,
    private readonly latency: LatencySwitch,
    private readonly defaults: Partial<MountConfig>,
  ) {
    this.temporaryRoot = mkdtempSync(join(tmpdir(), "s3bcfs-bench-"));
  }

  /** A new, empty cache root (a machine that has never seen the workspace). */
  freshCacheRoot(): string {
    return mkdtempSync(join(this.temporaryRoot, "cache-"));
  }

  /** The mount settings every benchmark mount starts from (the head delay). */
  get mountDefaults(): Partial<MountConfig> {
    return { ...this.defaults };
  }

  /** A store factory for `prefix` (the stack in the header), and the recording store it made last. */
  storeFor(prefix: string): { factory: () => ObjectStore; recorder: () => CountingStore; wire: WireTally } {
    let recorder: CountingStore | undefined;
    const wire = new WireTally();
    return {
      wire,
      factory: () => {
        const s3 = new S3ObjectStore({ bucket: this.bucket, prefix, endpoint: this.server.endpoint, forcePathStyle: true, client: ourStoreClient(this.server, [this.wire, wire]) });
        const counted = new CountingStore(s3);
        this.storeCounters.push(counted);
        recorder = new CountingStore(new LatencyStore(counted, { roundTripMs: this.latency.roundTripMs, sleep: this.latency.sleep }), { record: true });
        return recorder;
      },
      recorder: () => {
        if (recorder === undefined) throw new Error("the store has not been created yet: mount first");
        return recorder;
      },
    };
  }

  async mount(prefix: string, options: { cacheRoot?: string; config?: Partial<MountConfig> } = {}): Promise<OurMount> {
    const cacheRoot = options.cacheRoot ?? this.freshCacheRoot();
    const store = this.storeFor(prefix);
    const manager = new S3CachedFsManagerImpl({ cacheRoot, storeFactory: store.factory });
    const fs = await manager.mount({ name: "bench", ...this.defaults, ...options.config });
    return ourMount(fs, cacheRoot, store.recorder(), store.wire, () => fs.close());
  }

  /**
   * Store calls (what the LatencyStore delays and `fs.stats()` counts) against HTTP requests, over
   * the whole run. They differ when the S3 store makes more than one HTTP request for one call.
   */
  requestAccounting(): { storeCalls: number; httpRequests: number } {
    return { storeCalls: this.storeCounters.reduce((sum, counter) => sum + counter.snapshot().total.requests, 0), httpRequests: this.wire.snapshot().total };
  }

  /** Deletes every cache root this subject made. */
  cleanup(): void {
    rmSync(this.temporaryRoot, { recursive: true, force: true });
  }
}
