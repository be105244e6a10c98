// Configuration mistakes are permanent: a mount fails at once with an error naming the field or
// the cause (EINVAL, EACCES, ENOENT for the bucket), never after retries as "the object store is
// unavailable". Checked against the real Ceph RGW server; each case counts the requests sent.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { S3CachedFsManagerImpl, type MountConfig } from "../../src/core.ts";
import { s3StoreFromConfig } from "../../src/mount/store-from-config.ts";
import { CountingStore } from "../../src/stores/counting-store.ts";
import { RetryingStore } from "../../src/stores/retrying-store.ts";
import { MisconfiguredError } from "../../src/stores/store-errors.ts";
import { expectCode } from "../support/errors.ts";
import { freshBucket, s3Server, s3Store } from "../support/s3-server.ts";
import { removeTempDirectories, tempDirectory } from "../support/temp.ts";

afterAll(removeTempDirectories);

let bucket: string;
beforeAll(async () => {
  bucket = await freshBucket("config-errors");
});

/** A manager whose S3 stores are the real ones, counted (every attempt of the retrying layer shows). */
function countedManager(): { manager: S3CachedFsManagerImpl; requests: () => number; factoryCalls: () => number } {
  const stores: CountingStore[] = [];
  const manager = new S3CachedFsManagerImpl({
    cacheRoot: tempDirectory("config-errors"),
    storeFactory: (config) => {
      const store = new CountingStore(s3StoreFromConfig(config));
      stores.push(store);
      return store;
    },
  });
  return { manager, requests: () => stores.reduce((sum, store) => sum + store.snapshot().total.requests, 0), factoryCalls: () => stores.length };
}

function serverConfig(extra: Partial<MountConfig> = {}): MountConfig {
  const server = s3Server();
  return {
    name: "config",
    bucket,
    prefix: "fs",
    endpoint: server.endpoint,
    region: server.region,
    forcePathStyle: true,
    credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
    leaseTtlMs: 5_000,
    ...extra,
  };
}

describe("configuration mistakes fail at once, naming the field or the cause", () => {
  for (const [label, value] of [
    ["an invalid character", "My_Bucket!"],
    ["a URL", "s3://x"],
  ] as const) {
    test(`a bucket name with ${label} (${value}) is EINVAL naming bucket, before any request`, async () => {
      const { manager, requests, factoryCalls } = countedManager();
      const error = await expectCode(manager.mount(serverConfig({ bucket: value })), "EINVAL", { syscall: "mount" });
      expect(error.message).toContain("bucket");
      expect(factoryCalls()).toBe(0);
      expect(requests()).toBe(0);
    });
  }

  test("an endpoint without a scheme (localhost:9000) is EINVAL naming endpoint, before any request", async () => {
    const { manager, requests, factoryCalls } = countedManager();
    const error = await expectCode(manager.mount(serverConfig({ endpoint: "localhost:9000" })), "EINVAL", { syscall: "mount" });
    expect(error.message).toContain("endpoint");
    expect(error.message).toContain("http://");
    expect(factoryCalls()).toBe(0);
    expect(requests()).toBe(0);
  });

  test("missing credentials are EACCES naming the credentials, after one attempt and no retries", async () => {
    const saved = { ...process.env };
    // Nothing in the default chain: no variables, no files, no instance metadata.
    for (const name of ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"]) delete process.env[name];
    process.env.AWS_SHARED_CREDENTIALS_FILE = "/nonexistent/credentials";
    process.env.AWS_CONFIG_FILE = "/nonexistent/config";
    process.env.AWS_EC2_METADATA_DISABLED = "true";
    try {
      const { manager, requests } = countedManager();
      const { credentials: _omitted, ...config } = serverConfig();
      const error = await expectCode(manager.mount(config), "EACCES", { syscall: "mount" });
      expect(error.message).toContain("credentials");
      expect(error.message).not.toContain("unavailable");
      expect(requests()).toBe(1);
    } finally {
      for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
      Object.assign(process.env, saved);
    }
  });

  test("a wrong secret (AccessDenied from the server) is EACCES after one request, no retries", async () => {
    const { manager, requests } = countedManager();
    const server = s3Server();
    const error = await expectCode(manager.mount(serverConfig({ credentials: { accessKeyId: server.accessKeyId, secretAccessKey: "not-the-secret" } })), "EACCES", { syscall: "mount" });
    expect(error.message).toContain("credentials");
    expect(error.message).not.toContain("unavailable");
    expect(requests()).toBe(1);
  });

  for (const mode of ["readwrite", "readonly"] as const) {
    test(`a bucket that does not exist is ENOENT naming the bucket after one request (${mode})`, async () => {
      const { manager, requests } = countedManager();
      const missing = `no-such-bucket-${crypto.randomUUID().slice(0, 8)}`;
      const error = await expectCode(manager.mount(serverConfig({ bucket: missing, mode })), "ENOENT", { syscall: "mount" });
      expect(error.message).toContain(missing);
      expect(error.message).toContain("bucket");
      expect(error.message).not.toContain("unavailable");
      expect(requests()).toBe(1);
    });
  }

  test("a correct configuration still mounts (the checks refuse only mistakes)", async () => {
    const { manager } = countedManager();
    const fs = await manager.mount(serverConfig({ name: "works", prefix: "works" }));
    await fs.writeFile("/ok.txt", "ok");
    expect(await fs.readText("/ok.txt")).toBe("ok");
    await fs.close();
  });
});

describe("the store's answer to a missing bucket", () => {
  test("is a MisconfiguredError naming the bucket, which the retrying store never retries", async () => {
    const counted = new CountingStore(s3Store(`no-such-bucket-${crypto.randomUUID().slice(0, 8)}`));
    const store = new RetryingStore(counted, { maxAttempts: 6, sleep: async () => {} });
    for (const attempt of [() => store.get("format.json"), () => store.put("wal/1", new Uint8Array(1), { ifNoneMatch: "*" }), () => store.list({ prefix: "wal/" })]) {
      const before = counted.snapshot().total.requests;
      const error = await attempt().then(
        () => undefined,
        (caught: unknown) => caught,
      );
      expect(error).toBeInstanceOf(MisconfiguredError);
      expect((error as MisconfiguredError).field).toBe("bucket");
      expect((error as MisconfiguredError).missing).toBe(true);
      expect((error as MisconfiguredError).retryable).toBe(false);
      expect(counted.snapshot().total.requests - before).toBe(1);
    }
    await store.close();
  });
});
