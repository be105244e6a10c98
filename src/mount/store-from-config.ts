// The S3ObjectStore a mount config describes (bucket, prefix, region, endpoint, path style,
// credentials in whichever shape the config gives them, or the caller's S3Client): the manager's
// default store. A fork reaches its parent's prefix through the store's
// own locator, with the same settings.

import { FsError } from "../base/errors.ts";
import type { ResolvedMountConfig } from "../base/options.ts";
import { S3ObjectStore, type S3ObjectStoreOptions } from "../stores/s3-object-store.ts";

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
    ...credentialsOf(config),
  });
}

/** The one shape of credentials the config gives (the schema refuses two): none means the SDK's default chain. */
function credentialsOf(config: ResolvedMountConfig): Pick<S3ObjectStoreOptions, "credentials" | "client"> {
  if (config.client !== undefined) return { client: config.client as unknown as NonNullable<S3ObjectStoreOptions["client"]> };
  if (typeof config.credentials === "function") return { credentials: config.credentials };
  if (config.credentials !== undefined) return { credentials: { ...config.credentials } as { accessKeyId: string; secretAccessKey: string; sessionToken?: string } };
  if (config.accessKeyId !== undefined && config.secretAccessKey !== undefined) {
    return { credentials: { accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey, ...(config.sessionToken === undefined ? {} : { sessionToken: config.sessionToken }) } };
  }
  return {};
}
