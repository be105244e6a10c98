// The conformance suite on every store decorator at once, stacked around S3ObjectStore on Ceph RGW
// in the order a mount stacks them (retrying, counting, origin) with the test-only ones between:
// the stack must answer exactly as the S3 store alone (object-store-s3.test.ts).
import { beforeAll } from "bun:test";
import { CountingStore, FaultInjectingStore, LatencyStore, RetryingStore, type ObjectStore, type S3ObjectStoreOptions } from "../../src/stores/index.ts";
import { OriginStore } from "../../src/stores/origin-store.ts";
import { LocatedStore } from "../../src/stores/located-store.ts";
import { freshBucket, s3Store } from "../support/s3-server.ts";
import { objectStoreSuite } from "./object-store-suite.ts";

let bucket: string;
beforeAll(async () => {
  bucket = await freshBucket("decorated");
});

function stack(extra: Partial<S3ObjectStoreOptions> = {}): ObjectStore {
  const open = (prefix: string) => s3Store(bucket, { ...extra, prefix });
  const located = new LocatedStore(open("suite"), "suite", open);
  const faults = new FaultInjectingStore(new LatencyStore(new OriginStore(located), { roundTripMs: 0 }), { seed: 5 });
  return new RetryingStore(new CountingStore(faults, { record: true }));
}

objectStoreSuite("every decorator stacked around S3ObjectStore on Ceph RGW", async () => ({
  store: stack(),
  another: () => stack(),
  wrongCredentials: stack({ credentials: { accessKeyId: "testaccess", secretAccessKey: "not-the-secret" } }),
}));
