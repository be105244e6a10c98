// The real S3-compatible server the tests talk to (Ceph RGW, started by `npm test`; see
// scripts/test.sh). Tests that need it fail loudly when it is not there: they never skip.

import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { randomUUID } from "node:crypto";
import { S3ObjectStore, type S3ObjectStoreOptions } from "../../src/stores/index.ts";

export interface S3ServerSettings {
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
}

export function s3Server(): S3ServerSettings {
  const endpoint = process.env.S3_ENDPOINT;
  const accessKeyId = process.env.S3_ACCESS_KEY;
  const secretAccessKey = process.env.S3_SECRET_KEY;
  if (!endpoint || !accessKeyId || !secretAccessKey) {
    throw new Error(
      "S3_ENDPOINT, S3_ACCESS_KEY and S3_SECRET_KEY are not set: this test needs the real S3 server. " +
        "Run `npm test`, which starts Ceph RGW, or start it with scripts/start-s3.sh and export what it prints.",
    );
  }
  return { endpoint, region: process.env.S3_REGION ?? "us-east-1", accessKeyId, secretAccessKey };
}

const created = new Set<string>();

/** A fresh bucket for one test file (bucket names: 3-63 lowercase characters). */
export async function freshBucket(label: string): Promise<string> {
  const server = s3Server();
  const bucket = `${label.toLowerCase().replace(/[^a-z0-9-]/g, "-").slice(0, 40)}-${randomUUID().slice(0, 8)}`;
  const client = new S3Client({
    region: server.region,
    endpoint: server.endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
  });
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  client.destroy();
  created.add(bucket);
  return bucket;
}

/** Options for an S3ObjectStore on the test server. */
export function s3StoreOptions(bucket: string, extra: Partial<S3ObjectStoreOptions> = {}): S3ObjectStoreOptions {
  const server = s3Server();
  return {
    bucket,
    region: server.region,
    endpoint: server.endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
    requestTimeoutMs: 30_000,
    ...extra,
  };
}

export function s3Store(bucket: string, extra: Partial<S3ObjectStoreOptions> = {}): S3ObjectStore {
  return new S3ObjectStore(s3StoreOptions(bucket, extra));
}
