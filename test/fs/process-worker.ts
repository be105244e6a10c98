// A separate process playing one role against a shared filesystem, for tests with real processes
// (processes.test.ts): it is killed with SIGKILL, paused with SIGSTOP, or runs beside others.
// argv[2] is JSON: { role, store: { local: root } | { s3: { bucket, prefix } }, cacheRoot, ... }.

import { LocalObjectStore, S3CachedFsManagerImpl, S3ObjectStore, type ObjectStore } from "../../src/core.ts";
import { s3StoreOptions } from "../support/s3-server.ts";

interface Job {
  role: "big-transaction" | "sustained-writer" | "checking-reader" | "takeover-writer";
  store: { local: string } | { s3: { bucket: string; prefix: string } };
  cacheRoot: string;
  seconds?: number;
  files?: number;
  leaseTtlMs?: number;
}

const job = JSON.parse(process.argv[2]!) as Job;
const makeStore = (): ObjectStore =>
  "local" in job.store ? new LocalObjectStore({ root: job.store.local, fsync: false }) : new S3ObjectStore(s3StoreOptions(job.store.s3.bucket, { prefix: job.store.s3.prefix }));
const manager = new S3CachedFsManagerImpl({ cacheRoot: job.cacheRoot, storeFactory: makeStore });
const say = (message: Record<string, unknown>) => console.log(JSON.stringify(message));

switch (job.role) {
  case "big-transaction": {
    // Writes a generation of files in one transaction, again and again, until killed.
    const fs = await manager.mount({ name: "writer", onWriterBusy: "takeover", leaseTtlMs: job.leaseTtlMs ?? 60_000, layout: { inlineRecordBytes: 64 * 1024, packBytes: 256 * 1024 } });
    for (let generation = 1; ; generation++) {
      await fs.transaction(async (tx) => {
        for (let index = 0; index < (job.files ?? 2_000); index++) {
          await tx.writeFile(`/batch/${index}.txt`, `generation ${generation} `.repeat(20));
          if (index === 100) say({ writing: generation });
        }
        await tx.writeFile("/batch/generation", String(generation));
      });
      say({ committed: generation });
    }
  }
  case "sustained-writer": {
    const fs = await manager.mount({ name: "writer", onWriterBusy: "takeover", headDelayMs: 50 });
    const until = Date.now() + (job.seconds ?? 5) * 1000;
    let commits = 0;
    while (Date.now() < until) {
      commits++;
      await fs.transaction(async (tx) => {
        await tx.writeFile("/inv/a", String(commits));
        await tx.writeFile(`/inv/log/${commits % 20}`, String(commits));
        await tx.writeFile("/inv/b", String(commits));
      });
    }
    await fs.close();
    say({ commits });
    process.exit(0);
  }
  case "checking-reader": {
    // Files written in one transaction must always agree: /inv/a and /inv/b hold the same number.
    const fs = await manager.mount({ name: "reader", mode: "readonly" });
    const until = Date.now() + (job.seconds ?? 5) * 1000;
    let checks = 0;
    let violations = 0;
    let highest = 0;
    let moves = 0;
    while (Date.now() < until) {
      const { seq, changed } = await fs.refresh();
      if (changed) moves++;
      if (await fs.exists("/inv/a")) {
        const a = Number(await fs.readText("/inv/a"));
        const b = Number(await fs.readText("/inv/b"));
        checks++;
        if (a !== b || a < highest) violations++;
        highest = Math.max(highest, a);
      }
      void seq;
      await Bun.sleep(5);
    }
    await fs.close();
    say({ checks, violations, highest, moves });
    process.exit(0);
  }
  case "takeover-writer": {
    const fs = await manager.mount({ name: "writer", onWriterBusy: "takeover" });
    await fs.writeFile("/taken-over.txt", "yes");
    await fs.close();
    say({ done: true });
    process.exit(0);
  }
}
