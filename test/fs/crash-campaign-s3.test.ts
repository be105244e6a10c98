// Guarantee 5 (docs/guarantees.md) on the real S3 server (Ceph RGW): crashes before and after each request lands,
// and lost answers, at every request of the workload.
import { afterAll, expect, test } from "bun:test";
import { removeTempDirectories } from "../support/temp.ts";
import { testWorkspace } from "../support/mounts.ts";
import { countRequests, faults, runWithFault } from "./crash-campaign.ts";

afterAll(removeTempDirectories);

const requests = await countRequests(await testWorkspace("s3", "campaign-count"));
// The lost-answer variants share one path (settled by reading back); one of them runs here.
const chosen = faults.filter((entry) => entry.fault.kind === "crash" || entry.label === "answer lost after it landed");

for (const { label, fault } of chosen) {
  test(`${label}, at each of the workload's ${requests} requests, on Ceph RGW`, async () => {
    let landed = 0;
    for (let at = 0; at < requests; at++) if ((await runWithFault(() => testWorkspace("s3", "campaign"), at, fault, label)).landed) landed++;
    console.log(`${label} (S3): ${requests} runs, in-flight operation landed in ${landed}`);
    expect(requests).toBeGreaterThan(20);
  }, 900_000);
}
