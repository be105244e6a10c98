// Preloaded into a child process (the CLI): every upload of file data (chunks, packs) stalls for
// ever after saying "stalled" on stderr, so a test can stop a writing command in the middle of its
// work while it holds the writer lease. The lease itself and the log are written as usual.
import { LocalObjectStore } from "../../src/stores/local-object-store.ts";

const original = LocalObjectStore.prototype.put;
LocalObjectStore.prototype.put = function (this: LocalObjectStore, key, body, options) {
  if (!key.startsWith("chunks/") && !key.startsWith("packs/")) return original.call(this, key, body, options);
  process.stderr.write("stalled\n");
  return new Promise(() => {});
};
