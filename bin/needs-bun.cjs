// The package's entry for Node.js (the "node" export condition): the library runs on Bun only, so
// loading it elsewhere fails at once with one sentence that says what to use instead.
"use strict";
const { engines } = require("../package.json");
const error = new Error(
  `s3-bun-cached-fs needs Bun ${engines.bun} and does not run on Node.js: run your program with bun (npm install bun puts it in node_modules/.bin).`,
);
error.code = "ERR_S3_BUN_CACHED_FS_NEEDS_BUN";
throw error;
