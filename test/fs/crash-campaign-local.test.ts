// Guarantee 5 (docs/guarantees.md) on LocalObjectStore: every kind of fault at every remote request of a workload
// (mount, commits, packs, chunks, snapshot, head, lease release), then a fresh mount.
import { afterAll, expect, test } from "bun:test";
import { removeTempDirectories } from "../support/temp.ts";
import { testWorkspace } from "../support/mounts.ts";
import { countRequests, faults, runWithFault } from "./crash-campaign.ts";

afterAll(removeTempDirectories);

const requests = await countRequests(await testWorkspace("local", "campaign-count"));

for (const { label, fault } of faults) {
  test(`${label}, at each of the workload's ${requests} requests: the last acknowledged state stands, whole`, async () => {
    let landed = 0;
    for (let at = 0; at < requests; at++) {
      const result = await runWithFault(() => testWorkspace("local", "campaign"), at, fault, label);
      if (result.landed) landed++;
    }
    console.log(`${label}: ${requests} runs, in-flight operation landed in ${landed}`);
    expect(requests).toBeGreaterThan(20);
  }, 600_000);
}
