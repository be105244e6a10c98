// KNOWN FINDINGS: defects the fuzzer found that are being fixed under issue 14 (or are new and
// reported with it). The checker tolerates a violation only when one of these narrow predicates
// matches it (the surface and method called, the flaw in its arguments, which check failed and
// how), and counts each one it tolerated. Delete an entry once its fix is merged: the fuzzer then
// holds the fixed call to the rule like any other.

import type { Violation } from "./fuzzer.ts";

export interface KnownFinding {
  id: string;
  /** The issue-14 item whose fix removes it, or "new" (found by the fuzzer, not in issue 14). */
  item: number | "new";
  summary: string;
  matches(violation: Violation): boolean;
}

const coreSurfaces = ["core", "tx", "reader"] as const;
const calls = (violation: Violation, surfaces: readonly string[], methods: readonly string[]) =>
  violation.call !== undefined && surfaces.includes(violation.call.surface) && methods.includes(violation.call.method);
const tagged = (violation: Violation, tag: string) => violation.call?.tags.includes(tag) === true;
const succeeded = (violation: Violation) => violation.outcome?.status === "ok";
/** The call failed with a plain error (not FsError) of class `name` whose message contains `text`. */
const threw = (violation: Violation, name: string, text: string) =>
  violation.outcome?.status === "error" &&
  violation.outcome.error instanceof Error &&
  violation.outcome.error.constructor.name === name &&
  violation.outcome.error.message.includes(text);

export const knownFindings: KnownFinding[] = [
  {
    id: "nested-write-in-transaction-deadlocks",
    item: 8,
    summary: "fs.writeFile or fs.transaction called (and awaited) inside a transaction body, or from a callback of a write in it, never settles; nor does the transaction (the core, and through Mastra's and just-bash's transaction())",
    matches: (v) =>
      v.check === "settles" &&
      v.call !== undefined &&
      ((calls(v, ["core", "mastra", "just-bash"], ["writeFile", "transaction"]) && tagged(v, "nested") && (tagged(v, "in-tx-body") || tagged(v, "in-onProgress"))) ||
        (calls(v, ["core", "mastra", "just-bash"], ["transaction"]) && (tagged(v, "nested:outer-write") || tagged(v, "nested:outer-transaction") || tagged(v, "nested:in-callback"))) ||
        // the tx call whose callback made the nested write waits for it
        (calls(v, ["tx"], ["writeFile", "appendFile"]) && v.call.tags.some((tag) => tag.startsWith("onProgress-writes")))),
  },
  {
    id: "materialize-long-name-host-error",
    item: 12,
    summary: "materialize of a file whose name is 206-255 bytes fails with a raw host ENAMETOOLONG naming the staging path (and leaks the cache space it reserved)",
    matches: (v) => (v.check === "errors" || v.check === "model") && calls(v, [...coreSurfaces, "mastra"], ["materialize"]) && threw(v, "Error", "ENAMETOOLONG"),
  },
  {
    id: "invalid-cache-root-host-error",
    item: 14,
    summary: "new S3CachedFsManagerImpl({ cacheRoot }) with a cacheRoot that cannot be created throws the raw host mkdir error (ENOTDIR naming the host path), not FsError EINVAL",
    matches: (v) => (v.check === "errors" || v.check === "model") && calls(v, ["manager"], ["new S3CachedFsManagerImpl"]) && tagged(v, "bad-options") && threw(v, "Error", "mkdir"),
  },
  {
    id: "store-factory-junk-raw-type-error",
    item: 14,
    summary: "mount() on a storeFactory that returns something that is not a store ({}, null, 42, a string) fails with a raw TypeError ('this.inner.get is not a function'), not FsError EINVAL",
    matches: (v) => (v.check === "errors" || v.check === "model") && calls(v, ["manager"], ["mount"]) && tagged(v, "junk-store") && threw(v, "TypeError", ""),
  },
  {
    id: "materialize-after-cache-deleted-host-error",
    item: 14,
    summary: "materialize after the mount's cache directory was deleted fails with a raw ENOENT naming the host staging path, not an FsError",
    matches: (v) => (v.check === "errors" || v.check === "model") && calls(v, ["core"], ["materialize"]) && tagged(v, "cache-deleted") && threw(v, "Error", "ENOENT"),
  },
  {
    id: "huge-chunk-bytes-accepted",
    item: 13,
    summary: "mount({ layout: { chunkBytes: 2 ** 40 } }) is accepted (large writes then die with RangeError: Out of memory)",
    matches: (v) => v.check === "model" && calls(v, ["manager"], ["mount"]) && tagged(v, "bad-options") && succeeded(v) && v.call!.args.includes('"chunkBytes":1099511627776'),
  },
  {
    id: "endpoint-without-scheme-accepted",
    item: 15,
    summary: 'mount({ endpoint: "localhost:9000" }) (no scheme) is accepted instead of EINVAL naming the field',
    matches: (v) => v.check === "model" && calls(v, ["manager"], ["mount"]) && tagged(v, "bad-options") && succeeded(v) && v.call!.args.includes('"endpoint":"localhost:9000"'),
  },
  {
    id: "walk-max-depth-unchecked",
    item: 13,
    summary: "walk({ maxDepth }) with a negative, fractional, NaN, infinite or non-number depth returns entries instead of EINVAL (a BigInt or object: a raw TypeError from SQLite)",
    matches: (v) =>
      calls(v, coreSurfaces, ["walk"]) &&
      tagged(v, "bad-number") &&
      ((v.check === "model" && succeeded(v)) || ((v.check === "errors" || v.check === "model") && (threw(v, "TypeError", "BigInt") || threw(v, "TypeError", "Binding expected")))),
  },
  {
    id: "stream-options-unchecked",
    item: 13,
    summary: "stream({ start, end, windowBytes, windowsAhead }) with NaN, negative, fractional or non-number values returns bytes (often none) instead of EINVAL; a BigInt throws a raw TypeError",
    matches: (v) =>
      calls(v, coreSurfaces, ["stream"]) &&
      tagged(v, "bad-number") &&
      ((v.check === "model" && succeeded(v)) || ((v.check === "errors" || v.check === "model") && threw(v, "TypeError", "BigInt"))),
  },
  {
    id: "trailing-slash-on-a-file",
    item: 13,
    summary: 'a trailing slash on a path that is (or would be) a file is ignored: writeFile("/new/") creates a file, stat("/file/") and rm("/file/") succeed (node:fs: ENOTDIR/EISDIR)',
    matches: (v) =>
      v.call !== undefined &&
      ["core", "tx", "reader", "handle"].includes(v.call.surface) &&
      tagged(v, "trailing-slash") &&
      ((v.check === "model" && succeeded(v)) || (v.check === "result" && v.call.method === "exists" && v.outcome?.status === "ok" && v.outcome.value === true)),
  },
  {
    id: "aborted-signal-ignored-by-small-write",
    item: 13,
    summary: "writeFile/appendFile with an already-aborted signal publishes a small file instead of failing with ECANCELED",
    matches: (v) => v.check === "model" && calls(v, ["core", "tx"], ["writeFile", "appendFile"]) && tagged(v, "aborted-signal") && succeeded(v),
  },
  {
    id: "unknown-encoding-raw-type-error",
    item: 14,
    summary: "an unknown encoding throws Node's raw TypeError ERR_UNKNOWN_ENCODING (readText(path, 'bogus')) or is ignored (writeFile(path, data, { encoding: 42 }) writes utf8), not FsError EINVAL",
    matches: (v) =>
      (v.check === "errors" || v.check === "model") &&
      ((calls(v, [...coreSurfaces, "mastra", "just-bash"], ["readText", "readFile"]) && tagged(v, "bad-encoding")) ||
        (calls(v, ["just-bash"], ["writeFile", "appendFile"]) && tagged(v, "bad-encoding")) || (calls(v, coreSurfaces, ["writeFile", "appendFile"]) && tagged(v, "bad-data:unknown-encoding"))) &&
      (threw(v, "TypeError", "encoding") || threw(v, "TypeError", "Unknown encoding") || (v.check === "model" && succeeded(v))),
  },
  {
    id: "erroring-source-stream-raw-error",
    item: 14,
    summary: "writeFile/appendFile of a ReadableStream that errors rejects with the stream's own raw error, not an FsError",
    matches: (v) => (v.check === "errors" || v.check === "model") && calls(v, coreSurfaces, ["writeFile", "appendFile"]) && tagged(v, "bad-data:erroring-stream") && threw(v, "Error", "the source broke"),
  },
  {
    id: "transaction-of-a-non-function",
    item: 14,
    summary: "transaction(42) (or null, a string, an object) rejects with a raw TypeError 'body is not a function', not FsError EINVAL",
    matches: (v) => (v.check === "errors" || v.check === "model") && calls(v, ["core", "mastra"], ["transaction"]) && tagged(v, "not-a-function") && threw(v, "TypeError", "is not a function"),
  },
  {
    id: "write-handle-closed-after-its-mount",
    item: 14,
    summary: "an openWrite handle closed after its mount closed rejects with a raw ENOENT naming the host staging path, and the written bytes are dropped",
    matches: (v) => v.check === "errors" && calls(v, ["handle"], ["close"]) && tagged(v, "closed") && threw(v, "Error", "ENOENT"),
  },
  {
    id: "stats-after-close-raw-range-error",
    item: "new",
    summary: "stats() on a closed mount throws a raw RangeError 'Cannot use a closed database' (SQLite), not a report or an FsError EBADF",
    matches: (v) => (v.check === "errors" || v.check === "model") && calls(v, ["core"], ["stats"]) && tagged(v, "closed") && threw(v, "RangeError", "closed database"),
  },
  {
    id: "maintenance-options-unchecked",
    item: "new",
    summary:
      "history({ limit, before }), fsck({ concurrency }) and collectGarbage({ graceMs, maxCompactBytes, deleteConcurrency, ... }) accept NaN, negative, fractional, string and object values instead of EINVAL; a BigInt throws a raw TypeError (collectGarbage: EIO 'garbage collection stopped')",
    matches: (v) =>
      calls(v, ["core"], ["history", "fsck", "collectGarbage"]) &&
      tagged(v, "bad-number") &&
      ((v.check === "model" && succeeded(v)) ||
        ((v.check === "errors" || v.check === "model") && (threw(v, "TypeError", "BigInt") || (calls(v, ["core"], ["collectGarbage"]) && threw(v, "GarbageCollectionError", "BigInt"))))),
  },
  {
    id: "realpath-keeps-lone-surrogate",
    item: 13,
    summary: "a lone surrogate in a name reaches the file named with U+FFFD (as node:fs does), but realpath() answers the lone surrogate, not the name stored",
    matches: (v) => v.check === "result" && calls(v, coreSurfaces, ["realpath"]) && tagged(v, "lone-surrogate") && succeeded(v),
  },
  {
    id: "just-bash-content-raw-type-error",
    item: "new",
    summary:
      "AcceleratedJustBashFs.writeFile/appendFile (and so Flue's sandbox writeFile) of content that is neither a string nor bytes throws a raw TypeError, not FsError EINVAL",
    matches: (v) =>
      v.check === "errors" &&
      calls(v, ["just-bash", "flue"], ["writeFile", "appendFile"]) &&
      tagged(v, "bad-content") &&
      threw(v, "TypeError", "file content must be a string or a Uint8Array"),
  },
  {
    id: "flue-non-string-path-raw-type-error",
    item: "new",
    summary: "the Flue sandbox's verbs given a path that is not a string throw a raw TypeError ('p.startsWith is not a function') from Flue's path resolution, not FsError EINVAL",
    matches: (v) =>
      v.check === "errors" && calls(v, ["flue"], ["readFile", "readFileBuffer", "stat", "readdir", "mkdir", "rm", "writeFile", "resolvePath", "exec"]) && tagged(v, "not-a-string") && threw(v, "TypeError", "startsWith"),
  },
  {
    id: "shell-exec-nul-in-path-env-raw-error",
    item: "new",
    summary: "shell.exec with a NUL byte in env.PATH rejects with a plain Error 'ENOENT: path contains null byte, access ...' instead of resolving with a failed command",
    matches: (v) => v.check === "errors" && calls(v, ["shell"], ["exec"]) && tagged(v, "odd-env") && threw(v, "Error", "path contains null byte"),
  },
  {
    id: "mastra-invalid-expected-mtime",
    item: "new",
    summary: "AcceleratedFS.writeFile(path, content, { expectedMtime }) with an invalid Date or a non-Date throws a raw RangeError 'Invalid Date' (or TypeError), not a FilesystemError",
    matches: (v) => v.check === "errors" && calls(v, ["mastra"], ["writeFile"]) && tagged(v, "bad-mtime") && (threw(v, "RangeError", "Invalid Date") || threw(v, "TypeError", "")),
  },
  {
    id: "mastra-ebusy-names-cache-root",
    item: "new",
    summary: "a second AcceleratedFS on a mount name in use fails with EBUSY whose message names the host cache root",
    matches: (v) => v.check === "errors" && calls(v, ["mastra"], ["init"]) && tagged(v, "same-mount-name") && v.message.includes("a host path") && v.message.includes("EBUSY"),
  },
  {
    id: "flue-failed-write-publishes-parents",
    item: "new",
    summary:
      "a Flue sandbox writeFile that fails (bad content, a NUL in the name, ...) has published the parent directories first: Flue's wrapper retries every failed write after mkdir -p of the parent, which the adapter keeps although the core creates parents itself",
    matches: (v) => v.check === "publishes" && calls(v, ["flue"], ["writeFile"]),
  },
  {
    id: "mastra-non-string-path-raw-type-error",
    item: "new",
    summary:
      "AcceleratedFS.writeFile, appendFile, copyFile and moveFile with a path that is not a string throw a raw TypeError ('corePath.lastIndexOf is not a function'; a Symbol: 'Cannot convert a symbol to a string', readRange too), not a FilesystemError EINVAL as the other methods do",
    matches: (v) =>
      v.check === "errors" &&
      v.call?.surface === "mastra" &&
      tagged(v, "not-a-string") &&
      (threw(v, "TypeError", "is not a function") || threw(v, "TypeError", "Cannot convert a symbol")),
  },
  {
    id: "just-bash-resolve-path-raw-type-error",
    item: "new",
    summary: "AcceleratedJustBashFs.resolvePath(base, path) with a path or base that is not a string throws a raw TypeError, not FsError EINVAL",
    matches: (v) => v.check === "errors" && calls(v, ["just-bash"], ["resolvePath"]) && threw(v, "TypeError", ""),
  },
  {
    id: "mastra-grep-options-unchecked",
    item: "new",
    summary: "AcceleratedFS.grep({ maxCountPerFile, contextLines }) given a BigInt throws a raw TypeError (other non-counts are not refused either)",
    matches: (v) => v.check === "errors" && calls(v, ["mastra"], ["grep"]) && tagged(v, "bad-number") && threw(v, "TypeError", "BigInt"),
  },
  {
    id: "symbol-path-in-read-range-message",
    item: "new",
    summary: "readRange(Symbol(), NaN, 1): building the EINVAL for the bad numbers embeds the path in the message and throws a raw TypeError 'Cannot convert a symbol to a string'",
    matches: (v) => (v.check === "errors" || v.check === "model") && calls(v, coreSurfaces, ["readRange"]) && tagged(v, "not-a-string") && threw(v, "TypeError", "Cannot convert a symbol"),
  },
];
