// Baseline: Mastra's own S3 filesystem, @mastra/s3's S3Filesystem, on the same server and with the
// same added round trip (bench/wire.ts's middleware on the S3Client it builds for itself).

import { S3Filesystem } from "@mastra/s3";
import type { S3ServerSettings } from "../../test/support/s3-server.ts";
import { instrumentClient, type LatencySwitch, type WireTally } from "../wire.ts";

/** An initialised S3Filesystem on `bucket/prefix`, its requests counted and delayed like everyone's. */
export async function mastraS3Filesystem(server: S3ServerSettings, bucket: string, prefix: string, latency: LatencySwitch, tally: WireTally): Promise<S3Filesystem> {
  const filesystem = new S3Filesystem({
    bucket,
    prefix,
    region: server.region,
    endpoint: server.endpoint,
    forcePathStyle: true,
    accessKeyId: server.accessKeyId,
    secretAccessKey: server.secretAccessKey,
  });
  // `client` builds S3Filesystem's client (the SDK's defaults); the middleware goes on that one.
  // S3Filesystem.destroy() drops the client, so these instances are never destroyed mid-run.
  instrumentClient(filesystem.client, { tally, latency });
  await filesystem._init(); // the lifecycle entry a Workspace uses (a plain init() leaves the status pending)
  return filesystem;
}
