// What every workload shares in one benchmark run: the settings, the server and bucket, the
// latency switch, the subjects (our filesystem and the baselines' clients and counters), unique
// prefixes, and cleanup.

import type { S3Client } from "@aws-sdk/client-s3";
import type { S3Filesystem } from "@mastra/s3";
import type { S3ServerSettings } from "../test/support/s3-server.ts";
import type { BenchSettings } from "./settings.ts";
import { mapLimited } from "./measure.ts";
import { OurFilesystem } from "./subjects/our-filesystem.ts";
import { RawS3Files } from "./subjects/raw-s3.ts";
import { mastraS3Filesystem } from "./subjects/mastra-s3.ts";
import { LocalDiskFiles } from "./subjects/local-disk.ts";
import { benchClient, LatencySwitch, sleep, WireTally } from "./wire.ts";

export class BenchContext {
  readonly latency: LatencySwitch;
  readonly ours: OurFilesystem;
  /** Requests of the raw-client baseline, and of Mastra's S3Filesystem, each on its own tally. */
  readonly rawTally = new WireTally();
  readonly mastraTally = new WireTally();
  readonly rawClient: S3Client;
  private readonly locals: LocalDiskFiles[] = [];
  private readonly extraClients: S3Client[] = [];
  private readonly fixtures = new Map<string, Promise<unknown>>();
  private counter = 0;

  constructor(
    readonly settings: BenchSettings,
    readonly server: S3ServerSettings,
    readonly bucket: string,
    readonly log: (line: string) => void,
  ) {
    this.latency = new LatencySwitch(settings.roundTripMs);
    this.ours = new OurFilesystem(server, bucket, this.latency, { headDelayMs: settings.headDelayMs });
    this.rawClient = benchClient(server, { tally: this.rawTally, latency: this.latency });
  }

  /** A prefix no other scenario or repetition uses. */
  prefix(label: string): string {
    return `${label}-${++this.counter}`;
  }

  /** Raw S3 on `prefix`, counted on `rawTally` (or on `tally`, with a client of its own). */
  raw(prefix: string, tally?: WireTally): RawS3Files {
    if (tally === undefined) return new RawS3Files(this.rawClient, this.bucket, prefix);
    const client = benchClient(this.server, { tally, latency: this.latency });
    this.extraClients.push(client);
    return new RawS3Files(client, this.bucket, prefix);
  }

  /** S3Filesystem on `prefix`, counted on `mastraTally` (or on `tally`). */
  mastra(prefix: string, tally: WireTally = this.mastraTally): Promise<S3Filesystem> {
    return mastraS3Filesystem(this.server, this.bucket, prefix, this.latency, tally);
  }

  local(label: string): LocalDiskFiles {
    const files = new LocalDiskFiles(label);
    this.locals.push(files);
    return files;
  }

  /** Seeds one object per file (untimed, no latency), for the raw and Mastra baselines. */
  async seedObjects(prefix: string, files: readonly { path: string; body: Uint8Array | string }[]): Promise<void> {
    const raw = this.raw(prefix);
    const encoder = new TextEncoder();
    await mapLimited(files, this.settings.sizes.seedConcurrency, (file) => raw.write(file.path, typeof file.body === "string" ? encoder.encode(file.body) : file.body));
  }

  /** A fixture several workloads share (a seeded tree), made once per run. */
  fixture<T>(key: string, create: () => Promise<T>): Promise<T> {
    if (!this.fixtures.has(key)) this.fixtures.set(key, create());
    return this.fixtures.get(key) as Promise<T>;
  }

  /** Lets our writer's deferred head update (headDelayMs after its last commit) land, so it is counted. */
  settleOurWriter = async (): Promise<void> => {
    await sleep(this.settings.headDelayMs + 4 * this.settings.roundTripMs + 150);
  };

  cleanup(): void {
    this.rawClient.destroy();
    for (const client of this.extraClients.splice(0)) client.destroy();
    this.ours.cleanup();
    for (const files of this.locals.splice(0)) files.cleanup();
  }
}
