// The S3ObjectStore a mount config describes (bucket, prefix, region, endpoint, path style,
// credentials): the manager's default store. A fork reaches its parent's prefix through the store's
// own locator, with the same settings.

import { FsError } from "../base/errors.ts";
import type { ResolvedMountConfig } from "../base/options.ts";
import { S3ObjectStore } from "../stores/s3-object-store.ts";

export function s3StoreFromConfig(config: ResolvedMountConfig): S3ObjectStore {
  if (config.bucket === undefined) {
    throw new FsError("EINVAL", "mount", { detail: "invalid mount config: bucket: required unless the manager has a storeFactory" });
  }
  return new S3ObjectStore({
    bucket: config.bucket,
    prefix: config.prefix,
    requestTimeoutMs: config.requestTimeoutMs,
    ...(config.region === undefined ? {} : { region: config.region }),
    ...(config.endpoint === undefined ? {} : { endpoint: config.endpoint }),
    ...(config.forcePathStyle === undefined ? {} : { forcePathStyle: config.forcePathStyle }),
    ...(config.credentials === undefined ? {} : { credentials: { ...config.credentials } as { accessKeyId: string; secretAccessKey: string; sessionToken?: string } }),
  });
}
