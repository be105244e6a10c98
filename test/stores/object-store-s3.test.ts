// The conformance suite against a real Ceph RGW server over HTTP (started by `npm test`).
import { beforeAll } from "bun:test";
import { freshBucket, s3Store } from "../support/s3-server.ts";
import { objectStoreSuite } from "./object-store-suite.ts";

let bucket: string;
beforeAll(async () => {
  bucket = await freshBucket("conformance");
});

objectStoreSuite("S3ObjectStore on Ceph RGW", async () => ({
  store: s3Store(bucket, { prefix: "suite" }),
  another: () => s3Store(bucket, { prefix: "suite" }),
  wrongCredentials: s3Store(bucket, { prefix: "suite", credentials: { accessKeyId: "testaccess", secretAccessKey: "not-the-secret" } }),
}));
