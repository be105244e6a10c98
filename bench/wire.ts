// The wire, as every subject of the benchmark sees it: the added round trip, the request and
// byte counters, and the one HTTP setting all S3 clients share.
//
// - Our filesystem gets its round trip from the core's LatencyStore (src/stores/latency-store.ts),
//   in front of its S3ObjectStore. Baselines that talk S3 (@aws-sdk/client-s3 directly, and
//   @mastra/s3's S3Filesystem) get the same delay from a middleware on their S3Client, placed
//   around each HTTP attempt: one sleep of `roundTripMs` before every request, for everyone.
// - The latency is switched on only while a workload is being timed; seeding data and mounting
//   for a later measurement run without it, so setup costs no wall time.
// - Every S3 client, ours included, sends `Connection: close`. Ceph RGW's beast frontend, on a
//   kept-alive loopback connection, stalls about 40 ms before each response that has a body (Nagle
//   against delayed ACK): a 10 KiB GET took 46 ms kept alive and 2.4 ms on a new connection, a
//   LIST 50 ms against 4 ms. That stall is an artifact of this server, not the round trip the
//   benchmark models, so no client keeps connections alive (a new loopback connection costs well
//   under 1 ms).
// - A WireTally counts requests and bytes at the HTTP layer, for every subject: the tables report
//   HTTP requests (what is billed). Our mounts also count store calls (`fs.stats().requests`);
//   the two differ when the S3 store makes several HTTP requests for one call (on Ceph RGW, the
//   first compare-and-swap of a mount learns that If-Match must be unquoted: a 412, a HEAD and a
//   retry), and the report says by how much.

import { S3Client, type S3ClientConfig } from "@aws-sdk/client-s3";
import { NodeHttpHandler } from "@smithy/node-http-handler";
import { Agent as HttpAgent } from "node:http";
import type { S3ServerSettings } from "../test/support/s3-server.ts";

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The request kinds prices are quoted for. */
export type RequestKind = "get" | "head" | "put" | "list" | "delete";
export const requestKinds: RequestKind[] = ["get", "head", "put", "list", "delete"];

export interface RequestTotals {
  get: number;
  head: number;
  put: number;
  list: number;
  delete: number;
  total: number;
  bytesIn: number;
  bytesOut: number;
}

export function zeroTotals(): RequestTotals {
  return { get: 0, head: 0, put: 0, list: 0, delete: 0, total: 0, bytesIn: 0, bytesOut: 0 };
}

export function subtractTotals(after: RequestTotals, before: RequestTotals): RequestTotals {
  const result = zeroTotals();
  for (const key of Object.keys(result) as (keyof RequestTotals)[]) result[key] = after[key] - before[key];
  return result;
}

/** The added round trip, on only while a measurement runs. */
export class LatencySwitch {
  enabled = false;
  constructor(readonly roundTripMs: number) {}

  /** A sleep for the LatencyStore: real while enabled, nothing otherwise. */
  readonly sleep = (ms: number): Promise<void> => (this.enabled && ms > 0 ? sleep(ms) : Promise.resolve());

  /** Runs `body` with the latency on. */
  async during<T>(body: () => Promise<T>): Promise<T> {
    this.enabled = true;
    try {
      return await body();
    } finally {
      this.enabled = false;
    }
  }
}

/** Requests and bytes seen on the wire by one or more S3 clients. */
export class WireTally {
  private counts = zeroTotals();

  record(kind: RequestKind, bytesOut: number, bytesIn: number): void {
    this.counts[kind] += 1;
    this.counts.total += 1;
    this.counts.bytesOut += bytesOut;
    this.counts.bytesIn += bytesIn;
  }

  snapshot(): RequestTotals {
    return { ...this.counts };
  }
}

const kindByCommand: Record<string, RequestKind> = {
  GetObjectCommand: "get",
  HeadObjectCommand: "head",
  HeadBucketCommand: "head",
  PutObjectCommand: "put",
  CopyObjectCommand: "put",
  CreateMultipartUploadCommand: "put",
  UploadPartCommand: "put",
  CompleteMultipartUploadCommand: "put",
  CreateBucketCommand: "put",
  ListObjectsV2Command: "list",
  ListObjectsCommand: "list",
  DeleteObjectCommand: "delete",
  DeleteObjectsCommand: "delete",
  AbortMultipartUploadCommand: "delete",
};

interface WireOptions {
  /** Where each request is counted (one tally, or several: a run-wide one and a per-mount one). */
  tally: WireTally | WireTally[];
  /** Adds the switch's round trip before each request (baselines); omitted for our store, whose LatencyStore adds it. */
  latency?: LatencySwitch;
}

/** Installs the benchmark's middleware on an S3 client: `Connection: close`, the delay, the counters. */
export function instrumentClient(client: S3Client, options: WireOptions): S3Client {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const request = args.request as { headers?: Record<string, string> };
      if (request.headers !== undefined) request.headers["connection"] = "close";
      const latency = options.latency;
      if (latency !== undefined && latency.enabled && latency.roundTripMs > 0) await sleep(latency.roundTripMs);
      const kind = kindByCommand[context.commandName ?? ""] ?? "put";
      const tallies = Array.isArray(options.tally) ? options.tally : [options.tally];
      const bytesOut = Number(request.headers?.["content-length"] ?? 0) || 0;
      try {
        const result = await next(args);
        const response = result.response as { headers?: Record<string, string> } | undefined;
        // A HEAD response's Content-Length is the object's size; no body comes with it.
        const bytesIn = kind === "head" ? 0 : Number(response?.headers?.["content-length"] ?? 0) || 0;
        for (const tally of tallies) tally.record(kind, bytesOut, bytesIn);
        return result;
      } catch (error) {
        for (const tally of tallies) tally.record(kind, bytesOut, 0);
        throw error;
      }
    },
    // Inside the retry loop and the deserializer: one call per HTTP attempt, errors included.
    { step: "deserialize", priority: "low", name: "benchWire" },
  );
  return client;
}

/** A plain S3 client on the benchmark server (the SDK's defaults, as a user would create it), instrumented. */
export function benchClient(server: S3ServerSettings, options: WireOptions & { config?: Partial<S3ClientConfig> }): S3Client {
  const client = new S3Client({
    region: server.region,
    endpoint: server.endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
    ...options.config,
  });
  return instrumentClient(client, options);
}

/**
 * The client our S3ObjectStore uses in the benchmark: the settings S3ObjectStore gives its own
 * client (no SDK retries, 64 sockets, the same timeouts), plus the wire middleware without delay.
 */
export function ourStoreClient(server: S3ServerSettings, tally: WireTally | WireTally[]): S3Client {
  return benchClient(server, {
    tally,
    config: {
      maxAttempts: 1,
      requestHandler: new NodeHttpHandler({ connectionTimeout: 5_000, requestTimeout: 60_000, httpAgent: new HttpAgent({ keepAlive: true, maxSockets: 64 }) }),
    },
  });
}
