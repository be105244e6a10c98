// The filesystem suite against a real directory through node:fs: if a case fails here, the
// suite's expectation (not the kernel) is wrong.
import { afterAll } from "bun:test";
import { realpathSync } from "node:fs";
import { removeTempDirectories, tempDirectory } from "../support/temp.ts";
import { fsSuite } from "./fs-suite.ts";
import { nodeReference } from "./node-reference.ts";

afterAll(removeTempDirectories);

fsSuite("node:fs on a real directory (reference)", async () => ({ fs: nodeReference(realpathSync(tempDirectory("node-reference"))) }));
