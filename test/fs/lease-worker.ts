// A process holding the writer lease, for lease-host.test.ts. argv[2] is JSON:
// { store: <LocalObjectStore root>, cacheRoot, action: "exit-without-close" | "end-without-close" | "hold" }.
// "exit-without-close" mounts read-write, writes a file and calls process.exit() without close();
// "end-without-close" does the same but simply ends (its event loop runs empty);
// "hold" mounts, says {"mounted":pid}, and closes once its stdin ends.
import { LocalObjectStore, S3CachedFsManagerImpl } from "../../src/core.ts";

const job = JSON.parse(process.argv[2]!) as { store: string; cacheRoot: string; action: "exit-without-close" | "end-without-close" | "hold" };
const manager = new S3CachedFsManagerImpl({ cacheRoot: job.cacheRoot, storeFactory: () => new LocalObjectStore({ root: job.store, fsync: false }) });
const fs = await manager.mount({ name: "worker", leaseTtlMs: 3_600_000, headDelayMs: 60_000 });
await fs.writeFile(`/from-${process.pid}.txt`, "written before leaving");
if (job.action === "exit-without-close") process.exit(0);
if (job.action === "hold") {
  console.log(JSON.stringify({ mounted: process.pid }));
  for await (const _ of Bun.stdin.stream()) void _;
  await fs.close();
  process.exit(0);
}
