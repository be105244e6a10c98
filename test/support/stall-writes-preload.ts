// Preloaded into a child process (the CLI): the first write of a local copy goes through, then
// every write stalls for ever after saying "stalled" on stderr, so a test can stop the command
// while it is in the middle of a file.
import { localWrites } from "../../src/base/local-files.ts";

const original = localWrites.write;
let writes = 0;
localWrites.write = async (handle, data, path) => {
  if (writes++ === 0) return original(handle, data, path);
  process.stderr.write("stalled\n");
  return new Promise<number>(() => {});
};
