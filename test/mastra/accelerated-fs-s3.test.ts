// The Mastra suites against AcceleratedFS on the real S3 server (Ceph RGW, started by `npm test`),
// through the default S3ObjectStore: bucket, prefix, region, endpoint, forcePathStyle, credentials.
// Each subject gets its own prefix in one fresh bucket; the reopen of the agent test mounts from
// the bucket alone, with the local cache directory deleted.

import { afterAll, beforeAll } from "bun:test";
import { freshBucket } from "../support/s3-server.ts";
import { removeTempDirectories } from "../support/temp.ts";
import { acceleratedFilesystemCapabilities, acceleratedSubjects, acceleratedToolsCapabilities } from "./accelerated-subjects.ts";
import { workspaceFilesystemSuite } from "./workspace-filesystem-suite.ts";
import { workspaceToolsSuite } from "./workspace-tools-suite.ts";

let bucket: string | undefined;
beforeAll(async () => {
  bucket = await freshBucket("mastra-accelerated");
});
afterAll(removeTempDirectories);

const onServer = () => {
  if (bucket === undefined) throw new Error("the bucket was not created");
  return bucket;
};

workspaceFilesystemSuite("AcceleratedFS on S3 (Ceph RGW)", acceleratedSubjects("mastra-s3", onServer), acceleratedFilesystemCapabilities);

workspaceToolsSuite("AcceleratedFS on S3 (Ceph RGW)", acceleratedSubjects("mastra-s3-tools", onServer), acceleratedToolsCapabilities);
