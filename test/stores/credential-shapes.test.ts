// Credentials in the shapes users have, from the user's side against the real S3 server (Ceph
// RGW): flat keys in the mount config (as @mastra/s3 takes them), `credentials` as keys or as a
// provider function (the AWS SDK's `fromIni()` shape), nothing at all (the SDK's default chain,
// here from the environment), and an S3Client of the user's. Each mounts through the manager's
// default store, writes, and reads back on a fresh mount. Two shapes at once are refused, naming
// both, before any request.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { GetObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { FsError, S3CachedFsManagerImpl, type MountConfig } from "../../src/core.ts";
import { freshBucket, s3Server } from "../support/s3-server.ts";
import { removeTempDirectories, tempDirectory } from "../support/temp.ts";

afterAll(removeTempDirectories);

let bucket: string;
beforeAll(async () => {
  bucket = await freshBucket("credential-shapes");
});

let counter = 0;
/** Where each case's filesystem lives: the server, no credentials yet. */
function place(): MountConfig {
  const server = s3Server();
  return { bucket, prefix: `shape-${++counter}`, endpoint: server.endpoint, region: server.region, forcePathStyle: true, headDelayMs: 60_000 };
}

/** Mounts with `config`, writes a file, closes; mounts again from a fresh cache and reads it back. */
async function writeAndReadBack(config: MountConfig): Promise<string> {
  const writer = await new S3CachedFsManagerImpl({ cacheRoot: tempDirectory("credential-shapes") }).mount(config);
  await writer.writeFile("/hello.txt", "from the bucket");
  await writer.close();
  const reader = await new S3CachedFsManagerImpl({ cacheRoot: tempDirectory("credential-shapes") }).mount({ ...config, mode: "readonly" });
  try {
    return new TextDecoder().decode(await reader.readFile("/hello.txt"));
  } finally {
    await reader.close();
  }
}

describe("credential shapes", () => {
  test("flat accessKeyId and secretAccessKey in the mount config", async () => {
    const server = s3Server();
    expect(await writeAndReadBack({ ...place(), accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey })).toBe("from the bucket");
  });

  test("credentials as keys", async () => {
    const server = s3Server();
    expect(await writeAndReadBack({ ...place(), credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey } })).toBe("from the bucket");
  });

  test("credentials as a provider function (the AWS SDK's fromIni/fromSSO shape)", async () => {
    const server = s3Server();
    let calls = 0;
    const provider = async () => {
      calls += 1;
      return { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey };
    };
    expect(await writeAndReadBack({ ...place(), credentials: provider })).toBe("from the bucket");
    expect(calls).toBeGreaterThan(0);
  });

  test("no credentials: the SDK's default chain (from the environment here)", async () => {
    const server = s3Server();
    const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
    process.env.AWS_ACCESS_KEY_ID = server.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = server.secretAccessKey;
    try {
      expect(await writeAndReadBack(place())).toBe("from the bucket");
    } finally {
      if (saved.id === undefined) delete process.env.AWS_ACCESS_KEY_ID;
      else process.env.AWS_ACCESS_KEY_ID = saved.id;
      if (saved.secret === undefined) delete process.env.AWS_SECRET_ACCESS_KEY;
      else process.env.AWS_SECRET_ACCESS_KEY = saved.secret;
    }
  });

  test("an S3Client of the user's: used for the mount, and still open after the mount closes", async () => {
    const server = s3Server();
    const client = new S3Client({
      endpoint: server.endpoint,
      region: server.region,
      forcePathStyle: true,
      credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
    });
    const config = { ...place(), client };
    expect(await writeAndReadBack(config)).toBe("from the bucket");
    // The user's client still works after both mounts closed: the mount did not destroy it.
    const format = await client.send(new GetObjectCommand({ Bucket: bucket, Key: `${config.prefix}/format.json` }));
    expect(format.ContentLength).toBeGreaterThan(0);
    client.destroy();
  });
});

describe("conflicting credential shapes", () => {
  async function refusal(config: Record<string, unknown>): Promise<FsError> {
    const manager = new S3CachedFsManagerImpl({ cacheRoot: tempDirectory("credential-shapes") });
    const error = await manager.mount({ ...place(), ...config } as MountConfig).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(FsError);
    expect((error as FsError).code).toBe("EINVAL");
    expect((error as FsError).message).not.toContain("very-secret");
    return error as FsError;
  }

  test("flat keys and credentials both: EINVAL naming both", async () => {
    const error = await refusal({ accessKeyId: "AKID", secretAccessKey: "very-secret", credentials: { accessKeyId: "AKID", secretAccessKey: "very-secret" } });
    expect(error.message).toContain("accessKeyId, secretAccessKey and credentials");
  });

  test("client and credentials both: EINVAL naming both", async () => {
    const client = new S3Client({ region: "us-east-1" });
    const error = await refusal({ client, credentials: { accessKeyId: "AKID", secretAccessKey: "very-secret" } });
    expect(error.message).toContain("client and credentials");
    client.destroy();
  });

  test("accessKeyId without secretAccessKey: EINVAL naming the missing one", async () => {
    const error = await refusal({ accessKeyId: "AKID" });
    expect(error.message).toContain("secretAccessKey: required with accessKeyId");
  });

  test("credentials of a wrong type and a client that is not one are refused, naming the field", async () => {
    expect((await refusal({ credentials: "AKID:very-secret" })).message).toContain("credentials:");
    expect((await refusal({ client: { region: "us-east-1" } })).message).toContain("client: expected an S3Client");
  });
});
