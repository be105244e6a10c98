// One shared writer (`exclusive: false`) in a process of its own, for several-writers.test.ts:
// it increments /counter in `increments` transactions and appends `appends` lines to /appends,
// then prints what was acknowledged as one JSON line and closes.
// argv[2] is JSON: { store: { local: root } | { s3: { bucket, prefix } }, cacheRoot, name, increments, appends }.

import { LocalObjectStore, S3CachedFsManagerImpl, S3ObjectStore, type ObjectStore } from "../../src/core.ts";
import { s3StoreOptions } from "../support/s3-server.ts";

interface Job {
  store: { local: string } | { s3: { bucket: string; prefix: string } };
  cacheRoot: string;
  name: string;
  increments: number;
  appends: number;
}

const job = JSON.parse(process.argv[2]!) as Job;
const makeStore = (): ObjectStore =>
  "local" in job.store ? new LocalObjectStore({ root: job.store.local, fsync: false }) : new S3ObjectStore(s3StoreOptions(job.store.s3.bucket, { prefix: job.store.s3.prefix }));
const manager = new S3CachedFsManagerImpl({ cacheRoot: job.cacheRoot, storeFactory: makeStore });
const fs = await manager.mount({ name: job.name, exclusive: false, headDelayMs: 60_000 });
let increments = 0;
const appended: string[] = [];
const failures: string[] = [];
await Promise.all([
  (async () => {
    for (let index = 0; index < job.increments; index++) {
      try {
        await fs.transaction(async (tx) => {
          const value = (await tx.exists("/counter")) ? Number(await tx.readText("/counter")) : 0;
          await tx.writeFile("/counter", String(value + 1));
        });
        increments++;
      } catch (error) {
        failures.push(`increment: ${(error as Error).message}`);
      }
    }
  })(),
  (async () => {
    for (let index = 0; index < job.appends; index++) {
      const line = `${job.name}-${index}`;
      try {
        await fs.appendFile("/appends", `${line}\n`);
        appended.push(line);
      } catch (error) {
        failures.push(`append: ${(error as Error).message}`);
      }
    }
  })(),
]);
await fs.close();
console.log(JSON.stringify({ increments, appended, failures }));
process.exit(0);
