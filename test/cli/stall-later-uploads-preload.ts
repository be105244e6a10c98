// Preloaded into a child process (the CLI): the first upload of file data (a chunk or a pack)
// lands; every later one stalls for ever after saying "stalled" on stderr. A test can then stop a
// writing command that has uploaded data no commit names yet.
import { LocalObjectStore } from "../../src/stores/local-object-store.ts";

const original = LocalObjectStore.prototype.put;
let landed = 0;
LocalObjectStore.prototype.put = function (this: LocalObjectStore, key, body, options) {
  if ((!key.startsWith("chunks/") && !key.startsWith("packs/")) || landed++ === 0) return original.call(this, key, body, options);
  process.stderr.write("stalled\n");
  return new Promise(() => {});
};
