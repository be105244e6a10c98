// The filesystem suite on the real S3 server (Ceph RGW over HTTP), under each layout.
import { afterAll } from "bun:test";
import { removeTempDirectories } from "../support/temp.ts";
import { fsSuite, mountedSubject, suiteLayouts } from "./fs-suite.ts";

afterAll(removeTempDirectories);

for (const [label, layout] of suiteLayouts) fsSuite(`S3ObjectStore on Ceph RGW, ${label}`, () => mountedSubject("s3", layout));
